from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, ForeignKey, SmallInteger, String, false
from sqlalchemy.orm import Mapped, mapped_column

from signupflow.db.base import Base, BigId, IdMixin, TimestampMixin


class Organisation(IdMixin, TimestampMixin, Base):
    """A tenant. Every other organisation-owned row points here."""

    __tablename__ = "organisations"

    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    locale: Mapped[str] = mapped_column(String(16), default="en")
    # Whether a taken swap offer waits for an admin before the assignment moves.
    swaps_need_approval: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )


class OrganisationDataVersion(Base):
    """One of the shards of an organisation's data version (organisations/data_versions.py,
    the only writer): the sum of its shards' tokens changes whenever anything the
    organisation's reads show changes, in the transaction that makes the change, and is the
    data's part of a read's entity tag (conditional.py). A writer draws one shard at random
    for its new token, so concurrent writers of one organisation seldom wait for the same row.
    Random tokens, not counters: a database restored to an earlier point brings back the
    tokens that went with its content, and the writes after it draw new ones, so a tag never
    names two different contents."""

    __tablename__ = "organisation_data_versions"

    organisation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True
    )
    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    # Below 2**58: the sum of 16 stays within a signed 64-bit integer (SQLite's sum() raises
    # beyond it).
    token: Mapped[int] = mapped_column(BigInteger)
