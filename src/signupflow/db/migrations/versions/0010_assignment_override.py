"""an assignment names the availability rule an admin overrode to make it

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 06:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable, no default: existing places overrode nothing, and adding it rewrites no row.
    op.add_column("assignments", sa.Column("overridden_rule", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("assignments") as batch:
        batch.drop_column("overridden_rule")
