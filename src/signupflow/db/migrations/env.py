"""Alembic environment: run with a connection handed in by signupflow.db.migrate, or offline
(`--sql`) for a dialect it names, to render a migration's SQL for the migration linter."""

from __future__ import annotations

from alembic import context

from signupflow.db.models import Base

if context.is_offline_mode():
    dialect = context.config.attributes.get("dialect_name")
    if dialect is None:
        raise SystemExit("render SQL with `signupflow db lint`, which names the dialect")
    context.configure(
        dialect_name=dialect,
        target_metadata=Base.metadata,
        literal_binds=True,
        transactional_ddl=True,
        transaction_per_migration=True,
    )
else:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise SystemExit(
            "run migrations with `signupflow db upgrade`, which supplies the connection"
        )
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying
        compare_type=True,
    )
with context.begin_transaction():
    context.run_migrations()
