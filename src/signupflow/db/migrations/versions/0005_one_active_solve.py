"""one queued or running schedule per organisation

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 13:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Reviewed after the fact: applied to production before the migration lint (docs/migrations.md).
CONTRACT = (
    "The unique index is built without CONCURRENTLY because it must commit with the UPDATE "
    "that settles extra waiting runs: a concurrent build runs outside the transaction, and a "
    "run queued between the two would make it fail. Writes to schedules (one row per solve "
    "run, so the table is small) wait for the build; reads go on."
)

ACTIVE = "status IN ('queued', 'running')"


def upgrade() -> None:
    # Before the index: of several waiting runs of one organisation, the oldest (the one a
    # worker would take first) stays; the others are marked failed, as a refused run would be.
    op.execute(
        "UPDATE schedules SET status = 'failed' "
        "WHERE status IN ('queued', 'running') AND id NOT IN ("
        "SELECT MIN(id) FROM schedules WHERE status IN ('queued', 'running') "
        "GROUP BY organisation_id)"
    )
    op.create_index(
        "uq_schedules_one_active_run",
        "schedules",
        ["organisation_id"],
        unique=True,
        sqlite_where=sa.text(ACTIVE),
        postgresql_where=sa.text(ACTIVE),
    )


def downgrade() -> None:
    op.drop_index("uq_schedules_one_active_run", table_name="schedules")
