"""organisation data versions, for the entity tags of reads

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# A fresh random token (below 2**58) per organisation, its first shard, drawn by the database:
# a copy restored from before this migration and migrated again gets other tokens than the
# ones clients saw meanwhile.
BACKFILL = {
    "postgresql": "INSERT INTO organisation_data_versions (organisation_id, shard, token) "
    "SELECT id, 0, floor(random() * 288230376151711743)::bigint + 1 FROM organisations",
    "sqlite": "INSERT INTO organisation_data_versions (organisation_id, shard, token) "
    "SELECT id, 0, (random() & 288230376151711743) + 1 FROM organisations",
}


def upgrade() -> None:
    op.create_table(
        "organisation_data_versions",
        sa.Column("organisation_id", ID, nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("token", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_organisation_data_versions_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "organisation_id", "shard", name=op.f("pk_organisation_data_versions")
        ),
    )
    op.execute(BACKFILL[op.get_context().dialect.name])


def downgrade() -> None:
    op.drop_table("organisation_data_versions")
