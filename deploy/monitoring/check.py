#!/usr/bin/env python3
"""Offline checks of the monitoring configuration (`make monitoring-check`).

- every rule file in rules/ passes `promtool check rules`, every test in tests/ passes
  `promtool test rules`, and every rule file is loaded by a test;
- every alert carries `severity` (page|ticket) and `summary`, `description`, `runbook_url`
  (`docs/runbook.md#<alert name in lower case>`), that heading exists in docs/runbook.md, and
  some promtool test expects the alert firing and, later in the same test, cleared again;
- the Grafana dashboard in grafana/ matches grafana/dashboard.schema.json (the subset of
  Grafana's dashboard JSON model it uses), every panel query parses (promtool, through a
  synthetic rule file), and every series a panel reads is recorded by a rule or read by one.

Grafana does not run here; these checks are what stands in for loading the dashboard. Needs
promtool (Debian package `prometheus`), PyYAML and jsonschema.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

MONITORING = Path(__file__).resolve().parent
ROOT = MONITORING.parents[1]
SEVERITIES = ("page", "ticket")
ANNOTATIONS = ("summary", "description", "runbook_url")
RUNBOOK = "docs/runbook.md"
PROMTOOL_TIMEOUT_S = 120
# Series Prometheus makes itself rather than scrapes.
PROMETHEUS_SERIES = frozenset({"up", "ALERTS", "ALERTS_FOR_STATE"})
# Recorded by a rule prometheus-start.sh writes at start from APP_REPLICAS (compose.prod.yml).
RENDERED_SERIES = frozenset({"signupflow:app_replicas_expected"})
# Prometheus' duration units (model.ParseDuration), for the promtool tests' eval_time.
DURATION_UNITS_S = {
    "ms": 0.001,
    "s": 1,
    "m": 60,
    "h": 3600,
    "d": 86400,
    "w": 7 * 86400,
    "y": 365 * 86400,
}
# Grafana's interval variables, replaced by a duration before promtool parses a panel query.
GRAFANA_DURATIONS = re.compile(r"\$\{?(?:__rate_interval|__interval|__range)\b\}?")

PROMQL_KEYWORDS = frozenset(
    {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring"}
    | {"group_left", "group_right", "inf", "nan", "atan2"}
)


@dataclass(frozen=True)
class Layout:
    """Where the files are; tests point it at a modified copy."""

    rules: Path
    tests: Path
    grafana: Path
    runbook: Path

    @classmethod
    def of(cls, monitoring: Path = MONITORING, runbook: Path = ROOT / RUNBOOK) -> Layout:
        return cls(monitoring / "rules", monitoring / "tests", monitoring / "grafana", runbook)

    def rule_files(self) -> list[Path]:
        return sorted(self.rules.glob("*.yml"))

    def test_files(self) -> list[Path]:
        return sorted(self.tests.glob("*.test.yml"))

    def dashboards(self) -> list[Path]:
        return sorted(p for p in self.grafana.glob("*.json") if not p.name.endswith(".schema.json"))


class PromtoolMissing(RuntimeError):
    pass


def promtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    if shutil.which("promtool") is None:
        raise PromtoolMissing("promtool is not installed (apt-get install -y prometheus)")
    return subprocess.run(
        ["promtool", *args],
        capture_output=True,
        text=True,
        timeout=PROMTOOL_TIMEOUT_S,
        check=False,
        cwd=cwd,
    )


def _load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def rules_of(files: Iterable[Path]) -> Iterator[dict[str, Any]]:
    for path in files:
        for group in (_load_yaml(path) or {}).get("groups", []):
            yield from group.get("rules", [])


def alert_names(files: Iterable[Path]) -> set[str]:
    return {rule["alert"] for rule in rules_of(files) if "alert" in rule}


def recorded_series(files: Iterable[Path]) -> set[str]:
    return {rule["record"] for rule in rules_of(files) if "record" in rule}


def series_in(expr: str) -> set[str]:
    """Metric names a PromQL expression selects (the subset of PromQL these files use)."""
    text = re.sub(r'"(?:\\.|[^"\\])*"' + r"|'(?:\\.|[^'\\])*'", " ", expr)
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # ranges and subqueries
    text = re.sub(
        r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text
    )  # label lists
    names = set()
    for match in re.finditer(r"(?<![\w.])([A-Za-z_:][\w:]*)(\s*\()?", text):
        name, call = match.group(1), match.group(2)
        if call or name.lower() in PROMQL_KEYWORDS:
            continue
        names.add(name)
    return names


def read_by_rules(files: Iterable[Path]) -> set[str]:
    """The series the rules read that no rule records: what must be scraped."""
    files = list(files)
    read = set().union(*(series_in(str(rule["expr"])) for rule in rules_of(files)))
    return read - recorded_series(files)


# --- rules ---------------------------------------------------------------------------------


def check_rule_syntax(layout: Layout) -> list[str]:
    files = layout.rule_files()
    if not files:
        return [f"no rule files in {layout.rules}"]
    done = promtool("check", "rules", *map(str, files))
    return [] if done.returncode == 0 else [f"promtool check rules:\n{done.stdout}{done.stderr}"]


def run_rule_tests(layout: Layout) -> list[str]:
    files = layout.test_files()
    if not files:
        return [f"no promtool tests in {layout.tests}"]
    problems = []
    for path in files:
        done = promtool("test", "rules", path.name, cwd=path.parent)
        if done.returncode != 0:
            problems.append(f"promtool test rules {path.name}:\n{done.stdout}{done.stderr}")
    return problems


def _tests_of(layout: Layout) -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in layout.test_files():
        yield path, _load_yaml(path) or {}


def check_every_rule_file_is_tested(layout: Layout) -> list[str]:
    loaded = {
        (path.parent / name).resolve()
        for path, test in _tests_of(layout)
        for name in test.get("rule_files", [])
    }
    return [
        f"{path.name}: no promtool test in {layout.tests} loads it"
        for path in layout.rule_files()
        if path.resolve() not in loaded
    ]


def alerts_expected_firing(layout: Layout) -> set[str]:
    return {
        case["alertname"]
        for _, test in _tests_of(layout)
        for group in test.get("tests", [])
        for case in group.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }


def check_every_alert_is_tested(layout: Layout) -> list[str]:
    untested = alert_names(layout.rule_files()) - alerts_expected_firing(layout)
    return [f"{name}: no promtool test expects it firing" for name in sorted(untested)]


def duration_seconds(text: object) -> float | None:
    """A Prometheus duration (`27h5m`, `90s`) in seconds; None when it is not one (promtool's
    own run reports that)."""
    value = str(text)
    if not re.fullmatch(r"(?:\d+(?:ms|[ywdhms]))+", value):
        return None
    return sum(
        int(number) * DURATION_UNITS_S[unit]
        for number, unit in re.findall(r"(\d+)(ms|[ywdhms])", value)
    )


def alerts_expected_cleared(layout: Layout) -> set[str]:
    """Alerts a test expects firing and then, at a later eval_time of the same input series,
    not firing (`exp_alerts: []`): the cause ends and the alert resolves."""
    cleared = set()
    for _, test in _tests_of(layout):
        for group in test.get("tests", []):
            first_firing: dict[str, float] = {}
            quiet: dict[str, list[float]] = {}
            for case in group.get("alert_rule_test", []):
                at = duration_seconds(case.get("eval_time"))
                if at is None:
                    continue
                name = case["alertname"]
                if case.get("exp_alerts"):
                    first_firing[name] = min(at, first_firing.get(name, at))
                else:
                    quiet.setdefault(name, []).append(at)
            cleared |= {
                name
                for name, fired in first_firing.items()
                if any(at > fired for at in quiet.get(name, []))
            }
    return cleared


def check_every_alert_is_tested_clearing(layout: Layout) -> list[str]:
    # An expression that stays true after its cause ends (a counter compared with a constant
    # instead of its rate, say) pages until someone silences it, and the webhook never hears
    # the resolution.
    stuck = alert_names(layout.rule_files()) - alerts_expected_cleared(layout)
    return [
        f"{name}: no promtool test expects it cleared (exp_alerts: [] at an eval_time after "
        "it fired, in the same test)"
        for name in sorted(stuck)
    ]


def heading_anchors(markdown: str) -> set[str]:
    """The anchors GitHub makes of a Markdown file's headings."""
    anchors = set()
    for line in markdown.splitlines():
        heading = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading:
            slug = re.sub(r"[^\w\- ]", "", heading.group(1).strip().lower()).replace(" ", "-")
            anchors.add(slug)
    return anchors


def check_alert_metadata(layout: Layout) -> list[str]:
    anchors = heading_anchors(layout.runbook.read_text()) if layout.runbook.exists() else set()
    problems = []
    for rule in rules_of(layout.rule_files()):
        if "alert" not in rule:
            continue
        name = rule["alert"]
        severity = rule.get("labels", {}).get("severity")
        if severity not in SEVERITIES:
            problems.append(f"{name}: severity {severity!r}, not one of {', '.join(SEVERITIES)}")
        annotations = rule.get("annotations", {})
        problems += [
            f"{name}: no {key} annotation" for key in ANNOTATIONS if not annotations.get(key)
        ]
        url = annotations.get("runbook_url")
        if url is None:
            continue
        expected = f"{RUNBOOK}#{name.lower()}"
        if url != expected:
            problems.append(f"{name}: runbook_url {url!r}, expected {expected!r}")
        elif name.lower() not in anchors:
            problems.append(f"{name}: {layout.runbook.name} has no heading for #{name.lower()}")
    return problems


# --- dashboards ----------------------------------------------------------------------------


def panels_of(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])  # a collapsed row holds its panels


def panel_queries(dashboard: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for panel in panels_of(dashboard):
        for target in panel.get("targets", []):
            yield f"{panel.get('title', '?')} ({target.get('refId', '?')})", target.get("expr", "")


def check_dashboard_model(dashboard: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema)
    problems = [
        f"schema: {'/'.join(map(str, error.absolute_path)) or '(top)'}: {error.message}"
        for error in sorted(validator.iter_errors(dashboard), key=lambda e: list(e.path))
    ]
    ids = [str(panel.get("id")) for panel in panels_of(dashboard)]
    problems += [
        f"panel id {i} is used twice" for i in sorted({i for i in ids if ids.count(i) > 1})
    ]
    for panel in panels_of(dashboard):
        grid = panel.get("gridPos", {})
        if grid.get("x", 0) + grid.get("w", 0) > 24:
            problems.append(f"panel {panel.get('title')!r} is wider than the 24-column grid")
        refs = [target.get("refId") for target in panel.get("targets", [])]
        if len(refs) != len(set(refs)):
            problems.append(f"panel {panel.get('title')!r} repeats a refId")
    return problems


def check_panel_queries(dashboard: dict[str, Any], known: set[str]) -> list[str]:
    queries = list(panel_queries(dashboard))
    rules = [
        {"record": f"dashboard:query_{n}", "expr": GRAFANA_DURATIONS.sub("5m", expr)}
        for n, (_, expr) in enumerate(queries)
    ]
    problems = []
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "dashboard-queries.yml"
        path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
        done = promtool("check", "rules", str(path))
        if done.returncode != 0:
            output = done.stdout + done.stderr
            for n, (where, expr) in enumerate(queries):
                if f'"dashboard:query_{n}"' in output:
                    problems.append(f"{where}: promtool cannot parse {expr!r}")
            if not problems:
                problems.append(f"panel queries: promtool check rules:\n{output}")
    for where, expr in queries:
        unknown = series_in(expr) - known
        if unknown:
            problems.append(
                f"{where}: reads {', '.join(sorted(unknown))}, which no rule records or reads"
            )
    return problems


def check_dashboards(layout: Layout) -> list[str]:
    schema_path = layout.grafana / "dashboard.schema.json"
    dashboards = layout.dashboards()
    if not dashboards:
        return [f"no dashboards in {layout.grafana}"]
    schema = json.loads(schema_path.read_text())
    files = layout.rule_files()
    known = recorded_series(files) | read_by_rules(files) | PROMETHEUS_SERIES | RENDERED_SERIES
    problems = []
    for path in dashboards:
        try:
            dashboard = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            problems.append(f"{path.name}: not JSON: {error}")
            continue
        found = check_dashboard_model(dashboard, schema)
        found += check_panel_queries(dashboard, known)
        problems += [f"{path.name}: {problem}" for problem in found]
    return problems


CHECKS = (
    check_rule_syntax,
    run_rule_tests,
    check_every_rule_file_is_tested,
    check_every_alert_is_tested,
    check_every_alert_is_tested_clearing,
    check_alert_metadata,
    check_dashboards,
)


def problems_in(layout: Layout) -> list[str]:
    return list(dict.fromkeys(problem for check in CHECKS for problem in check(layout)))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--monitoring", type=Path, default=MONITORING)
    parser.add_argument("--runbook", type=Path, default=ROOT / RUNBOOK)
    args = parser.parse_args(argv)
    layout = Layout.of(args.monitoring, args.runbook)
    try:
        problems = problems_in(layout)
    except PromtoolMissing as error:
        print(error, file=sys.stderr)
        return 2
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"monitoring check: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    rules = layout.rule_files()
    print(
        f"monitoring check: {len(rules)} rule files, {len(alert_names(rules))} alerts, "
        f"{len(recorded_series(rules))} recorded series, {len(layout.test_files())} promtool "
        f"tests, {len(layout.dashboards())} dashboard(s): ok"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
