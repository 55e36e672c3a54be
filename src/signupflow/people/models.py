from __future__ import annotations

import enum
from typing import Any

from sqlalchemy import Boolean, Enum, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from signupflow.db.base import Base, BigId, IdMixin, Json, TimestampMixin


class MemberRole(enum.StrEnum):
    ADMIN = "admin"
    SCHEDULER = "scheduler"
    VOLUNTEER = "volunteer"

    @property
    def rank(self) -> int:
        return {"volunteer": 0, "scheduler": 1, "admin": 2}[self.value]


class Membership(IdMixin, TimestampMixin, Base):
    """What a user may do inside one organisation."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("organisation_id", "user_id"),)

    organisation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[MemberRole] = mapped_column(
        Enum(MemberRole, name="member_role", values_callable=lambda e: [m.value for m in e])
    )


class Person(IdMixin, TimestampMixin, Base):
    """Someone who can be scheduled; may or may not have a login (user_id)."""

    __tablename__ = "people"
    __table_args__ = (UniqueConstraint("organisation_id", "email"),)

    organisation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL"), index=True, default=None
    )
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(16), default="en")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Scheduling limits and wishes (the solver's per-person rules); None: no limit / no wish.
    max_per_week: Mapped[int | None] = mapped_column(Integer, default=None)
    max_per_month: Mapped[int | None] = mapped_column(Integer, default=None)
    min_rest_hours: Mapped[int | None] = mapped_column(Integer, default=None)
    preferred_roles: Mapped[list[Any] | None] = mapped_column(Json, default=None)
    avoid_weekdays: Mapped[list[Any] | None] = mapped_column(Json, default=None)

    skills: Mapped[list[PersonSkill]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="PersonSkill.role"
    )

    @property
    def roles(self) -> list[str]:
        return [skill.role for skill in self.skills]

    @property
    def has_login(self) -> bool:
        return self.user_id is not None


class PersonSkill(Base):
    """A role a person can fill (musician, usher, ...)."""

    __tablename__ = "person_skills"

    person_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("people.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
