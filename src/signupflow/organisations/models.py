from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, String, false
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
    """Changes whenever anything an organisation's reads show changes (written only by
    organisations/data_versions.py, in the transaction that makes the change): the part of a
    read's entity tag that its data contributes (conditional.py). A random token, not a
    counter: a database restored to an earlier point brings back the token that went with
    that content, and the writes after it draw new ones, so a tag can never name two
    different contents."""

    __tablename__ = "organisation_data_versions"

    organisation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[str] = mapped_column(String(32))
