"""Every read request the app answers, filled from a sized organisation
(tests/support/sized_organisation.py): one per GET route (walked from `app.routes`), per
labelled path value and per filter the route takes (each alone, on a full page of 500).

A route whose path or query parameter these tables do not know has no request: see
`unknown_parameters`, which the tests that use this module assert is empty, so a new route
fails until it is added here."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

from tests.support.route_walk import GetRoute
from tests.support.sized_organisation import Organisation

# Path parameter -> its values in an organisation, by label (one request each).
PATH_VALUES: dict[str, Callable[[Organisation], dict[str, str]]] = {
    "person_id": lambda org: {"": str(org.person_id)},
    "team_id": lambda org: {"": str(org.team_id)},
    "event_id": lambda org: {"": str(org.event_id)},
    "series_id": lambda org: {"": str(org.series_id)},
    "schedule_id": lambda org: {"": str(org.schedule_id)},
    "swap_id": lambda org: {"": str(org.swap_id)},
    "token": lambda org: {
        "person feed": org.person_feed_token,
        "organisation feed": org.organisation_feed_token,
    },
}
# Filter -> a value that keeps many rows (paging is always limit=500, offset=0).
QUERY_VALUES: dict[str, Callable[[Organisation], str]] = {
    "q": lambda org: "Volunteer",
    "role": lambda org: "usher",
    "active": lambda org: "true",
    "status": lambda org: "published",  # events and schedules both have it
    "from": lambda org: (org.first_event_at - timedelta(days=1)).isoformat(),
    "to": lambda org: (org.last_event_at + timedelta(days=1)).isoformat(),
    "team_id": lambda org: str(org.team_id),
    "person_id": lambda org: str(org.person_id),
    "against": lambda org: str(org.published_schedule_id),
    "state": lambda org: "open",
    "takeable": lambda org: "true",
    "entity": lambda org: "event",
}


@dataclass(frozen=True)
class Request:
    label: str  # "GET /api/v1/swaps?takeable": the route, the path value's label, the filter
    route: GetRoute
    path_label: str
    filter: str | None

    def url(self, org: Organisation) -> str:
        values = {}
        for name in self.route.path_parameters:
            labelled = PATH_VALUES[name](org)
            values[name] = labelled.get(self.path_label, labelled.get("", ""))
        return self.route.url(values)

    def params(self, org: Organisation) -> dict[str, str]:
        params = {"limit": "500", "offset": "0"} if self.route.pages else {}
        if self.filter is not None:
            params[self.filter] = QUERY_VALUES[self.filter](org)
        return params


def requests_for(routes: list[GetRoute], sample: Organisation) -> Iterator[Request]:
    for route in routes:
        # One request per labelled value (the feed token's two kinds of feed).
        labels = {label for name in route.path_parameters for label in PATH_VALUES[name](sample)}
        for path_label in sorted(labels or {""}):
            for query in (None, *route.filters):
                label = f"GET {route.path}"
                if path_label:
                    label += f" ({path_label})"
                if query:
                    label += f"?{query}"
                yield Request(label, route, path_label, query)


def unknown_parameters(routes: list[GetRoute]) -> set[str]:
    return {
        f"{route.path}: {name}"
        for route in routes
        for name in route.path_parameters
        if name not in PATH_VALUES
    } | {
        f"{route.path}: ?{name}"
        for route in routes
        for name in route.filters
        if name not in QUERY_VALUES
    }
