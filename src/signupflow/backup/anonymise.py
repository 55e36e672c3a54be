"""Make a restored copy safe for staging: deterministic fake names and e-mails (the same id
always gets the same fake, so bug reports stay reproducible), no usable password or token."""

from __future__ import annotations

from sqlalchemy import String, cast, delete, func, literal, update

from signupflow.backup.postgres import Database
from signupflow.db.models import Base

FAKE_DOMAIN = "example.invalid"  # RFC 2606: can never deliver mail
UNUSABLE_PASSWORD_HASH = "!anonymised"  # noqa: S105  # not bcrypt: every login fails


def anonymise(database: Database) -> None:
    tables = Base.metadata.tables
    people, users = tables["people"], tables["users"]
    invitations, refresh_tokens = tables["invitations"], tables["refresh_tokens"]
    engine = database.engine()
    try:
        with engine.begin() as connection:
            person_id = cast(people.c.id, String)
            connection.execute(
                update(people).values(
                    name=func.concat(literal("Person "), person_id),
                    email=func.concat(literal("person-"), person_id, literal(f"@{FAKE_DOMAIN}")),
                )
            )
            connection.execute(
                update(users).values(
                    email=func.concat(
                        literal("user-"), cast(users.c.id, String), literal(f"@{FAKE_DOMAIN}")
                    ),
                    password_hash=UNUSABLE_PASSWORD_HASH,
                    token_version=users.c.token_version + 1,
                )
            )
            connection.execute(
                update(invitations).values(
                    email=func.concat(
                        literal("invitee-"),
                        cast(invitations.c.id, String),
                        literal(f"@{FAKE_DOMAIN}"),
                    ),
                    revoked_at=func.coalesce(invitations.c.revoked_at, func.now()),
                )
            )
            connection.execute(delete(refresh_tokens))
            # Unconfirmed sign-ups and their mails: addresses, names, password hashes, tokens.
            connection.execute(delete(tables["pending_signups"]))
            notifications = tables["notifications"]
            connection.execute(
                delete(notifications).where(notifications.c.organisation_id.is_(None))
            )
    finally:
        engine.dispose()
