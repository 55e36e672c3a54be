"""The Grafana dashboard (deploy/monitoring/grafana/signupflow.json), validated offline: Grafana
does not run here. Each check is shown refusing a broken copy."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.ops.monitoring_files import LAYOUT, MONITORING, check
from tests.support.settings import BACKEND

pytestmark = [
    pytest.mark.skipif(
        BACKEND != "sqlite", reason="offline checks of files: run once, in the SQLite pass"
    ),
    pytest.mark.usefixtures("promtool"),
]

DASHBOARD = MONITORING / "grafana" / "signupflow.json"


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def test_the_dashboard_passes_every_check() -> None:
    assert check.check_dashboards(LAYOUT) == []


def test_the_dashboard_is_an_importable_export_with_the_datasource_as_an_input() -> None:
    model = dashboard()
    assert model["schemaVersion"] >= 37
    assert [entry["name"] for entry in model["__inputs"]] == ["DS_PROMETHEUS"]
    sources = [panel["datasource"] for panel in check.panels_of(model) if panel["type"] != "row"]
    sources += [
        t["datasource"] for panel in check.panels_of(model) for t in panel.get("targets", [])
    ]
    assert sources
    assert all(source == {"type": "prometheus", "uid": "${DS_PROMETHEUS}"} for source in sources)


def test_the_dashboard_shows_the_slo_saturation_queue_backups_and_certificates() -> None:
    shown = {
        series for _, expr in check.panel_queries(dashboard()) for series in check.series_in(expr)
    }
    assert {
        "signupflow:http_request_duration_seconds:p99_rate5m",
        "signupflow:slo_latency_p99_target_seconds",
        "signupflow:http_requests_errors:ratio_rate2m",
        "signupflow:node_cpu_utilisation:ratio_rate5m",
        "signupflow:node_memory_utilisation:ratio",
        "signupflow:node_filesystem_usage:ratio",
        "signupflow:db_pool_utilisation:ratio",
        "signupflow:pg_connections_utilisation:ratio",
        "signupflow:worker_queue_depth",
        "signupflow:backup_age_seconds",
        "signupflow:wal_archive_age_seconds",
        "signupflow:certificate_expiry:days",
    } <= shown
    # The same figures as the recording rules: every panel reads a recorded series.
    assert shown <= check.recorded_series(LAYOUT.rule_files()) | check.RENDERED_SERIES


def first_data_panel(model: dict[str, Any]) -> dict[str, Any]:
    return next(panel for panel in model["panels"] if panel["type"] != "row")


def _old_schema(model: dict[str, Any]) -> None:
    model["schemaVersion"] = 30


def _fixed_datasource(model: dict[str, Any]) -> None:
    first_data_panel(model)["datasource"] = {"type": "prometheus", "uid": "P1809F7CD0C75ACF3"}


def _unknown_key(model: dict[str, Any]) -> None:
    first_data_panel(model)["fieldConfig"]["defaults"]["unti"] = "s"


def _broken_query(model: dict[str, Any]) -> None:
    first_data_panel(model)["targets"][0]["expr"] = "sum(rate(signupflow_http_requests_total[5m])"


def _unknown_series(model: dict[str, Any]) -> None:
    first_data_panel(model)["targets"][0]["expr"] = "signupflow:http_request_latency:p99"


def _duplicate_id(model: dict[str, Any]) -> None:
    model["panels"][2]["id"] = model["panels"][1]["id"]


def _too_wide(model: dict[str, Any]) -> None:
    first_data_panel(model)["gridPos"].update(x=20, w=8)


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (_old_schema, "schemaVersion: 30 is less than the minimum of 37"),
        (_fixed_datasource, "'${DS_PROMETHEUS}' was expected"),
        (_unknown_key, "'unti' was unexpected"),
        (_broken_query, "promtool cannot parse"),
        (
            _unknown_series,
            "reads signupflow:http_request_latency:p99, which no rule records or reads",
        ),
        (_duplicate_id, "is used twice"),
        (_too_wide, "wider than the 24-column grid"),
    ],
)
def test_a_broken_dashboard_is_refused(
    copy: check.Layout, breakage: Callable[[dict[str, Any]], None], message: str
) -> None:
    model = dashboard()
    breakage(model)
    (copy.grafana / "signupflow.json").write_text(json.dumps(model))
    problems = check.check_dashboards(copy)
    assert problems
    assert any(message in problem for problem in problems), problems


def test_a_dashboard_that_is_not_json_is_refused(copy: check.Layout) -> None:
    (copy.grafana / "signupflow.json").write_text("{")
    [problem] = check.check_dashboards(copy)
    assert problem.startswith("signupflow.json: not JSON")
