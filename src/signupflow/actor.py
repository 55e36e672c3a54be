"""Who is acting: the one type every service takes to know on whose behalf it changes or reads
an organisation's data, whoever calls it.

- A request: `deps.current_actor` builds it from the access token and a membership that still
  exists (the organisation never comes from the URL).
- The CLI, the worker, the demo loader and the benchmarks: `Actor.system(organisation)`, an
  administrator's rights in one organisation and in nobody's login session; `user_id` names
  whoever asked for the work, if anyone did (the audit log shows it).

It lives outside the web layer so services never import FastAPI code to learn who is calling."""

from __future__ import annotations

from dataclasses import dataclass

from signupflow.organisations.models import Organisation
from signupflow.people.models import MemberRole


@dataclass(frozen=True)
class Actor:
    """Someone acting inside one organisation with one role."""

    organisation: Organisation
    role: MemberRole
    user_id: int | None
    person_id: int | None = None
    # The login session behind a request; None for the CLI, the worker and other system work.
    session_family: str | None = None

    @classmethod
    def system(cls, organisation: Organisation, *, user_id: int | None = None) -> Actor:
        """Work without a request, with an administrator's rights in `organisation`."""
        return cls(organisation=organisation, role=MemberRole.ADMIN, user_id=user_id)

    @property
    def organisation_id(self) -> int:
        return self.organisation.id

    def at_least(self, role: MemberRole) -> bool:
        return self.role.rank >= role.rank

    def may_act_for(self, person_id: int | None) -> bool:
        """On their own behalf, or a scheduler's on anyone's in the organisation."""
        return person_id == self.person_id or self.at_least(MemberRole.SCHEDULER)
