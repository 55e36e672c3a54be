"""volunteer flows: waitlists, swap requests, recurring event series

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 15:24:41.896730
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Reviewed after the fact: applied to production before the migration lint (docs/migrations.md).
CONTRACT = (
    "ix_events_series_id is built without CONCURRENTLY, so writes to events wait while the "
    "index scans the table (reads go on); the column it indexes is added by this revision and "
    "is NULL in every row. Already applied everywhere, so it stays as it ran; a new index on a "
    "populated table is created CONCURRENTLY in a revision of its own."
)


def upgrade() -> None:
    op.create_table(
        "event_series",
        sa.Column(
            "organisation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("rrule", sa.String(length=500), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_event_series_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_series")),
    )
    with op.batch_alter_table("event_series", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_event_series_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "waitlist_entries",
        sa.Column(
            "organisation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("slot_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_waitlist_entries_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_waitlist_entries_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_waitlist_entries_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["slot_id"],
            ["event_slots.id"],
            name=op.f("fk_waitlist_entries_slot_id_event_slots"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist_entries")),
        sa.UniqueConstraint(
            "slot_id", "person_id", name=op.f("uq_waitlist_entries_slot_id_person_id")
        ),
    )
    with op.batch_alter_table("waitlist_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_waitlist_entries_event_id"), ["event_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_waitlist_entries_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_waitlist_entries_person_id"), ["person_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_waitlist_entries_slot_id"), ["slot_id"], unique=False)

    op.create_table(
        "swap_requests",
        sa.Column(
            "organisation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "assignment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column(
            "offered_by_person_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "offered_to_person_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column(
            "taken_by_person_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column(
            "decided_by_user_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "open", "awaiting_approval", "completed", "rejected", "cancelled", name="swap_state"
            ),
            nullable=False,
        ),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["assignments.id"],
            name=op.f("fk_swap_requests_assignment_id_assignments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_user_id"],
            ["users.id"],
            name=op.f("fk_swap_requests_decided_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_swap_requests_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["offered_by_person_id"],
            ["people.id"],
            name=op.f("fk_swap_requests_offered_by_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["offered_to_person_id"],
            ["people.id"],
            name=op.f("fk_swap_requests_offered_to_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_swap_requests_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["taken_by_person_id"],
            ["people.id"],
            name=op.f("fk_swap_requests_taken_by_person_id_people"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_swap_requests")),
    )
    with op.batch_alter_table("swap_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_swap_requests_assignment_id"), ["assignment_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_swap_requests_event_id"), ["event_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_swap_requests_offered_by_person_id"),
            ["offered_by_person_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_swap_requests_organisation_id"), ["organisation_id"], unique=False
        )

    # Plain ALTER TABLE on both backends: a batch rebuild of `events` on SQLite would
    # cascade-delete its slots and assignments when the old table is dropped.
    op.add_column(
        "events",
        sa.Column("series_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
    )
    op.create_index(op.f("ix_events_series_id"), "events", ["series_id"], unique=False)
    op.add_column(
        "organisations",
        sa.Column("swaps_need_approval", sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("organisations", "swaps_need_approval")
    op.drop_index(op.f("ix_events_series_id"), table_name="events")
    op.drop_column("events", "series_id")

    with op.batch_alter_table("swap_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_swap_requests_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_swap_requests_offered_by_person_id"))
        batch_op.drop_index(batch_op.f("ix_swap_requests_event_id"))
        batch_op.drop_index(batch_op.f("ix_swap_requests_assignment_id"))

    op.drop_table("swap_requests")
    with op.batch_alter_table("waitlist_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_waitlist_entries_slot_id"))
        batch_op.drop_index(batch_op.f("ix_waitlist_entries_person_id"))
        batch_op.drop_index(batch_op.f("ix_waitlist_entries_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_waitlist_entries_event_id"))

    op.drop_table("waitlist_entries")
    with op.batch_alter_table("event_series", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_series_organisation_id"))

    op.drop_table("event_series")
    sa.Enum(name="swap_state").drop(op.get_bind(), checkfirst=True)
