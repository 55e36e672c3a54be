"""indexes for reads: an organisation's events by start, an entity's audit history

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 00:20:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("ix_events_organisation_id_starts_at", "events", ["organisation_id", "starts_at"]),
    (
        "ix_audit_log_organisation_id_entity",
        "audit_log",
        ["organisation_id", "entity", "entity_id"],
    ),
)


def upgrade() -> None:
    # Built while the tables take writes (PostgreSQL); the release still running ignores them.
    with op.get_context().autocommit_block():
        for name, table, columns in INDEXES:
            op.create_index(name, table, columns, postgresql_concurrently=True, if_not_exists=True)


def downgrade() -> None:
    with op.get_context().autocommit_block():
        for name, table, _columns in INDEXES:
            op.drop_index(name, table_name=table, postgresql_concurrently=True, if_exists=True)
