"""What both engines need to know about a problem: who could take which slot, and the running
state of a roster (load, limits, conflicts) while placements are added."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from signupflow.scheduling.solver.calendar import LocalSlot, localise
from signupflow.scheduling.solver.problem import Person, Placement, Problem, Slot
from signupflow.scheduling.solver.rules import pair_conflict, unavailable_reason

W_FAIR = 100  # per assignment outside a person's fair range
W_PREFERENCE = 20  # preferred role, or an avoided weekday (negative)
W_FILL = 1000  # > any change of fairness (200) and preference (40) one placement can cause


@dataclass
class Index:
    problem: Problem
    slots: dict[int, Slot]
    people: dict[int, Person]
    local: dict[int, LocalSlot]
    open_seats: dict[int, int]  # capacity left after the fixed placements
    candidates: dict[int, list[int]]  # slot -> people who could take it (before conflicts)
    eligible: Counter[int]  # person -> slots they could take: their "availability"
    preference: dict[Placement, int]
    fair_share: dict[int, int]  # person -> hundredths of an assignment
    seats: int
    busy: dict[int, list[Slot]]  # person -> places held outside the range
    outside_week: Counter[tuple[int, tuple[int, int]]]  # (person, week) -> places outside
    outside_month: Counter[tuple[int, tuple[int, int]]]

    @property
    def keep_weight(self) -> int:
        # Above any number of fills: a still-valid published placement is never moved.
        return W_FILL * (self.seats + 1)


def build_index(problem: Problem) -> Index:
    zone = ZoneInfo(problem.timezone)
    slots = {s.id: s for s in problem.slots}
    people = {p.id: p for p in problem.people}
    local = {s.id: localise(s, zone) for s in problem.slots}
    fixed = [f for f in problem.fixed if f.slot_id in slots and f.person_id in people]
    # Every kept place takes a seat, also one held by a person the problem does not list
    # (inactive now): only the per-person rules need the person.
    fixed_in_slot = Counter(f.slot_id for f in problem.fixed if f.slot_id in slots)
    fixed_of: dict[int, list[int]] = defaultdict(list)
    for f in fixed:
        fixed_of[f.person_id].append(f.slot_id)
    by_role: dict[str, list[Person]] = defaultdict(list)
    for person in sorted(problem.people, key=lambda p: p.id):
        for role in person.roles:
            by_role[role].append(person)
    busy: dict[int, list[Slot]] = defaultdict(list)
    outside_week: Counter[tuple[int, tuple[int, int]]] = Counter()
    outside_month: Counter[tuple[int, tuple[int, int]]] = Counter()
    for c in problem.outside:
        outside = localise(c.slot, zone)
        busy[c.person_id].append(c.slot)
        outside_week[c.person_id, outside.week] += 1
        outside_month[c.person_id, outside.month] += 1
    excluded = set(problem.excluded)
    candidates: dict[int, list[int]] = {}
    eligible: Counter[int] = Counter()
    preference: dict[Placement, int] = {}
    for slot in sorted(problem.slots, key=lambda s: s.id):
        found = []
        for person in by_role.get(slot.role, ()):
            if unavailable_reason(person, local[slot.id]) is not None:
                continue
            eligible[person.id] += 1
            if (
                Placement(slot.id, person.id) in excluded
                or any(
                    sid == slot.id or pair_conflict(person, slot, slots[sid])
                    for sid in fixed_of.get(person.id, ())
                )
                or any(pair_conflict(person, slot, held) for held in busy.get(person.id, ()))
            ):
                continue
            found.append(person.id)
            score = W_PREFERENCE * (slot.role in person.preferred_roles) - W_PREFERENCE * (
                local[slot.id].start.weekday() in person.avoid_weekdays
            )
            if score:
                preference[Placement(slot.id, person.id)] = score
        candidates[slot.id] = found
    seats = sum(s.capacity for s in problem.slots)
    total_eligible = sum(eligible.values()) or 1
    fair_share = {pid: 100 * seats * n // total_eligible for pid, n in eligible.items()}
    return Index(
        problem=problem,
        slots=slots,
        people=people,
        local=local,
        open_seats={s.id: max(0, s.capacity - fixed_in_slot[s.id]) for s in problem.slots},
        candidates=candidates,
        eligible=eligible,
        preference=preference,
        fair_share=fair_share,
        seats=seats,
        busy=busy,
        outside_week=outside_week,
        outside_month=outside_month,
    )


@dataclass
class Roster:
    """Placements so far, with the counters the hard rules need."""

    index: Index
    placed: list[Placement] = field(default_factory=list)
    taken: Counter[int] = field(default_factory=Counter)  # slot -> new placements
    slots_of: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    load: Counter[int] = field(default_factory=Counter)  # person -> all placements, fixed too
    per_week: Counter[tuple[int, tuple[int, int]]] = field(default_factory=Counter)
    per_month: Counter[tuple[int, tuple[int, int]]] = field(default_factory=Counter)

    @classmethod
    def starting_with_fixed(cls, index: Index) -> Roster:
        roster = cls(
            index, per_week=index.outside_week.copy(), per_month=index.outside_month.copy()
        )
        for f in index.problem.fixed:
            if f.slot_id in index.slots and f.person_id in index.people:
                roster._count(f)
        return roster

    def _count(self, placement: Placement) -> None:
        local = self.index.local[placement.slot_id]
        self.slots_of[placement.person_id].append(placement.slot_id)
        self.load[placement.person_id] += 1
        self.per_week[placement.person_id, local.week] += 1
        self.per_month[placement.person_id, local.month] += 1

    def can_place(self, placement: Placement) -> bool:
        index, slot_id, person_id = self.index, placement.slot_id, placement.person_id
        if self.taken[slot_id] >= index.open_seats[slot_id]:
            return False
        person, slot, local = index.people[person_id], index.slots[slot_id], index.local[slot_id]
        if person.max_per_week is not None and (
            self.per_week[person_id, local.week] >= person.max_per_week
        ):
            return False
        if person.max_per_month is not None and (
            self.per_month[person_id, local.month] >= person.max_per_month
        ):
            return False
        return not any(
            other == slot_id or pair_conflict(person, slot, index.slots[other])
            for other in self.slots_of[person_id]
        )

    def place(self, placement: Placement) -> None:
        self.placed.append(placement)
        self.taken[placement.slot_id] += 1
        self._count(placement)


def fair_range(index: Index, person_id: int) -> tuple[int, int]:
    """A person's fair share of the seats, in proportion to the slots they could fill,
    rounded down and up: loads inside the range cost nothing, each one outside costs W_FAIR.
    Whole-assignment bounds let CP-SAT prove optimality; a fractional target never can."""
    share = index.fair_share.get(person_id, 0)
    return share // 100, -(-share // 100)


def score(index: Index, placements: list[Placement]) -> int:
    """The objective both engines maximise, for comparing their answers."""
    previous = set(index.problem.previous)
    load = Counter(p.person_id for p in placements)
    load.update(f.person_id for f in index.problem.fixed if f.person_id in index.people)
    unfair = 0
    for person_id in index.fair_share:
        low, high = fair_range(index, person_id)
        unfair += max(0, load[person_id] - high, low - load[person_id])
    return (
        index.keep_weight * sum(p in previous for p in placements)
        + W_FILL * len(placements)
        + sum(index.preference.get(p, 0) for p in placements)
        - W_FAIR * unfair
    )


def upper_bound(index: Index) -> int:
    """No schedule scores more: every open seat filled by its most preferred candidates,
    every still-possible published placement kept, nobody outside their fair range. A greedy
    answer that reaches it is optimal and CP-SAT has nothing to add."""
    bound = 0
    for slot_id, people in index.candidates.items():
        seats = index.open_seats[slot_id]
        bound += W_FILL * min(seats, len(people))
        gains = sorted(
            (index.preference.get(Placement(slot_id, p), 0) for p in people), reverse=True
        )
        bound += sum(g for g in gains[:seats] if g > 0)
    possible = {
        p for p in index.problem.previous if p.person_id in index.candidates.get(p.slot_id, ())
    }
    return bound + index.keep_weight * len(possible)
