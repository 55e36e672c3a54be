"""pending sign-ups, refresh-token successors, sign-up mails without an organisation

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 13:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Reviewed after the fact: applied to production before the migration lint (docs/migrations.md).
CONTRACT = (
    "Dropping NOT NULL on notifications.organisation_id and person_id breaks no read of the "
    "previous release's app (it selects notifications only by kind shift_reminder), but the "
    "previous release's worker claims any due notification and cannot load the new kinds "
    "(signup_confirm, signup_existing) queued without them: its task fails and logs, and the "
    "mail is sent when the new release's worker claims it again after the lease."
)

OLD_KINDS = (
    "schedule_published",
    "assignment_changed",
    "shift_reminder",
    "invitation",
    "password_reset",
)
NEW_KINDS = ("signup_confirm", "signup_existing")
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "pending_signups",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sa.String(length=100), nullable=False),
        sa.Column("admin_name", sa.String(length=200), nullable=False),
        sa.Column("organisation_name", sa.String(length=200), nullable=False),
        sa.Column("slug", sa.String(length=63), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", ID, nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_signups")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_pending_signups_token_hash")),
    )
    with op.batch_alter_table("pending_signups", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pending_signups_expires_at"), ["expires_at"], unique=False
        )
    with op.batch_alter_table("refresh_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("successor_sealed", sa.String(length=128), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        # Not usable inside this transaction, and not used here: PostgreSQL 12+ allows it.
        for kind in NEW_KINDS:
            op.execute(f"ALTER TYPE notification_kind ADD VALUE IF NOT EXISTS '{kind}'")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.alter_column("organisation_id", existing_type=ID, nullable=True)
        batch_op.alter_column("person_id", existing_type=ID, nullable=True)


def downgrade() -> None:
    op.execute(
        "DELETE FROM notifications WHERE kind IN ('signup_confirm', 'signup_existing') "
        "OR organisation_id IS NULL OR person_id IS NULL"
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.alter_column("person_id", existing_type=ID, nullable=False)
        batch_op.alter_column("organisation_id", existing_type=ID, nullable=False)
    if op.get_bind().dialect.name == "postgresql":
        # PostgreSQL cannot drop an enum value: rebuild the type without the new ones.
        old = ", ".join(f"'{kind}'" for kind in OLD_KINDS)
        op.execute("ALTER TYPE notification_kind RENAME TO notification_kind_0005")
        op.execute(f"CREATE TYPE notification_kind AS ENUM ({old})")
        op.execute(
            "ALTER TABLE notifications ALTER COLUMN kind TYPE notification_kind "
            "USING kind::text::notification_kind"
        )
        op.execute("DROP TYPE notification_kind_0005")
    with op.batch_alter_table("refresh_tokens", schema=None) as batch_op:
        batch_op.drop_column("successor_sealed")
    with op.batch_alter_table("pending_signups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pending_signups_expires_at"))
    op.drop_table("pending_signups")
