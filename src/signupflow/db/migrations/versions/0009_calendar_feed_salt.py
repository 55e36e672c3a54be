"""calendar feeds keep the salt their token is derived from, so its owner can see it again

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 03:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: feeds made before keep working; their link can be seen again once replaced.
    op.add_column("calendar_feeds", sa.Column("token_salt", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("calendar_feeds") as batch:
        batch.drop_column("token_salt")
