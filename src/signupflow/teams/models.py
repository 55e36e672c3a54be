from __future__ import annotations

from sqlalchemy import Column, ForeignKey, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from signupflow.db.base import Base, BigId, IdMixin, TimestampMixin
from signupflow.people.models import Person

team_members = Table(
    "team_members",
    Base.metadata,
    Column("team_id", BigId, ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True),
    Column("person_id", BigId, ForeignKey("people.id", ondelete="CASCADE"), primary_key=True),
)


class Team(IdMixin, TimestampMixin, Base):
    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("organisation_id", "name"),)

    organisation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")

    members: Mapped[list[Person]] = relationship(
        secondary=team_members, lazy="raise", order_by=Person.id
    )

    @property
    def member_ids(self) -> list[int]:
        return [person.id for person in self.members]
