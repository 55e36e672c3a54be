"""`signupflow-logs search` (deploy/images/logstore/signupflow_logs.py): filters by request
id, level, time and service over plain and compressed days; bad input is refused with a
message and exit 2; nothing found is exit 1."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from types import ModuleType

import pytest

from harness.logstore import load_script, stored_line, write_hour
from tests.logstore.store import compress, run

UTC = dt.UTC


@pytest.fixture(scope="module")
def logs() -> ModuleType:
    return load_script()


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """Two days; the first one's hours compressed, as the store leaves a past hour."""
    root = tmp_path / "store"
    early = write_hour(
        root,
        "2026-12-01T09",
        "app",
        [stored_line("2026-12-01T09:59:59.999999999Z", level="info", request_id="r-early")],
    )
    compress(early)
    ten = write_hour(
        root,
        "2026-12-01T10",
        "app",
        [
            stored_line("2026-12-01T10:00:00.5Z", level="error", request_id="r-1", message="x"),
            stored_line("2026-12-01T10:30:00Z", level="warning", request_id="r-2"),
        ],
    )
    compress(ten)
    write_hour(
        root,
        "2026-12-01T10",
        "edge",
        [stored_line("2026-12-01T10:00:00.4Z", "edge", level="info", request={"id": ["r-1"]})],
    )
    write_hour(
        root,
        "2026-12-02T08",
        "app",
        [
            stored_line("2026-12-02T08:00:00Z", level="critical", request_id="r-3"),
            stored_line("2026-12-02T08:00:01Z", level="debug", request_id="r-1"),
            stored_line("2026-12-02T08:00:01.5Z", level="WARNING", request_id="r-4"),
            '{ "time": "2026-12-02T08:00:02Z", "service": "app", "message": "not JSON\\n" }',
        ],
    )
    return root


def found(store: Path, *args: str) -> list[dict[str, object]]:
    result = run("--dir", str(store), "search", *args)
    assert result.returncode in (0, 1), result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def request_ids(lines: list[dict[str, object]]) -> list[object]:
    return [line["fields"].get("request_id") for line in lines]  # type: ignore[attr-defined]


def test_request_id_finds_its_lines_of_every_service_and_day_in_time_order(store: Path) -> None:
    lines = found(store, "--request-id", "r-1")
    assert [(line["service"], line["time"]) for line in lines] == [
        ("edge", "2026-12-01T10:00:00.4Z"),
        ("app", "2026-12-01T10:00:00.5Z"),
        ("app", "2026-12-02T08:00:01Z"),
    ]


def test_request_id_matches_a_whole_value_not_a_part(store: Path) -> None:
    result = run("--dir", str(store), "search", "--request-id", "r-")
    assert (result.returncode, result.stdout) == (1, "")


def test_level_means_at_least_that_level(store: Path) -> None:
    assert request_ids(found(store, "--level", "warning")) == ["r-1", "r-2", "r-3", "r-4"]
    assert request_ids(found(store, "--level", "ERROR")) == ["r-1", "r-3"]
    assert request_ids(found(store, "--level", "critical", "--service", "app")) == ["r-3"]


def test_since_is_inclusive_and_until_exclusive(store: Path) -> None:
    window = found(store, "--since", "2026-12-01T10:00", "--until", "2026-12-01T10:30")
    assert [(line["service"], line["time"]) for line in window] == [
        ("edge", "2026-12-01T10:00:00.4Z"),
        ("app", "2026-12-01T10:00:00.5Z"),
    ]
    offset = found(store, "--since", "2026-12-01T11:30:00+01:00", "--until", "2026-12-01T11:31+01")
    assert request_ids(offset) == ["r-2"]
    day = found(store, "--since", "2026-12-02", "--service", "app")
    assert [line.get("time") for line in day] == [
        "2026-12-02T08:00:00Z",
        "2026-12-02T08:00:01Z",
        "2026-12-02T08:00:01.5Z",
        "2026-12-02T08:00:02Z",
    ]


def test_filters_combine(store: Path) -> None:
    lines = found(
        store,
        "--request-id",
        "r-1",
        "--level",
        "error",
        "--since",
        "2026-12-01",
        "--service",
        "app",
    )
    assert [line["time"] for line in lines] == ["2026-12-01T10:00:00.5Z"]


def test_only_the_hours_and_services_asked_for_are_read(logs: ModuleType, store: Path) -> None:
    def chosen(since: str | None, until: str | None, service: str | None = None) -> list[str]:
        found = logs.files_for(
            store,
            logs.parse_time(since) if since else None,
            logs.parse_time(until) if until else None,
            service,
        )
        return [p.relative_to(store).as_posix() for p in found]

    assert chosen("2026-12-02T00:00", None) == ["2026-12-02/08/app.log"]
    assert chosen(None, "2026-12-01T10:00", "app") == ["2026-12-01/09/app.log.zst"]
    assert chosen("2026-12-01T09:59:59", "2026-12-01T10:00:01", "edge") == [
        "2026-12-01/10/edge.log"
    ]
    assert logs.is_log_file("app.log.3.zst", "app")
    assert not logs.is_log_file("app.log.compressing", "app")
    assert not logs.is_log_file("app.log.zst.partial", "app")
    assert not logs.is_log_file("app-2.log", "app")


def test_times_read_iso_8601_in_utc_and_ages(logs: ModuleType) -> None:
    now = dt.datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    assert logs.parse_time("2026-12-01T10:00") == dt.datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    assert logs.parse_time("2026-12-01") == dt.datetime(2026, 12, 1, tzinfo=UTC)
    assert logs.parse_time("2026-12-01T10:00:00Z") == dt.datetime(2026, 12, 1, 10, tzinfo=UTC)
    assert logs.parse_time("2026-12-01T11:00+01:00") == dt.datetime(2026, 12, 1, 10, tzinfo=UTC)
    assert logs.parse_time("15m", now=now) == dt.datetime(2026, 12, 5, 11, 45, tzinfo=UTC)
    assert logs.parse_time("2d", now=now) == dt.datetime(2026, 12, 3, 12, tzinfo=UTC)
    assert logs.line_time({"time": "2026-12-01T10:00:00.123456789Z"}) == dt.datetime(
        2026, 12, 1, 10, 0, 0, 123456, tzinfo=UTC
    )


def test_text_output_is_one_readable_line(store: Path) -> None:
    result = run("--dir", str(store), "search", "--request-id", "r-1", "--level", "error", "--text")
    assert result.returncode == 0
    assert result.stdout == "2026-12-01T10:00:00.5Z app-1 error x request_id=r-1\n"


def test_limit_stops_early(store: Path) -> None:
    assert len(found(store, "--since", "2026-12-01", "--limit", "2")) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--since", "yesterday"), "cannot read the time 'yesterday'"),
        (("--until", "2026-13-01"), "cannot read the time '2026-13-01'"),
        (("--since", "2026-12-02", "--until", "2026-12-01"), "is not after --since"),
        (("--level", "loud"), "unknown level 'loud'"),
        (("--request-id", " "), "--request-id is empty"),
        (("--service", "../etc"), "is not a Compose service name"),
        (("--service", "app", "--limit", "-1"), "--limit must be 0"),
        ((), "say what to look for"),
    ],
)
def test_bad_input_is_refused_with_a_message(
    store: Path, args: tuple[str, ...], message: str
) -> None:
    result = run("--dir", str(store), "search", *args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert message in result.stderr
    assert result.stderr.startswith("signupflow-logs: error:")


def test_a_missing_store_is_an_error_not_an_empty_answer(tmp_path: Path) -> None:
    result = run("--dir", str(tmp_path / "nowhere"), "search", "--request-id", "r-1")
    assert result.returncode == 2
    assert "no log store at" in result.stderr


def test_an_unknown_option_is_refused() -> None:
    result = run("search", "--request", "r-1", "--colour")
    assert result.returncode == 2
    assert "unrecognized arguments: --colour" in result.stderr


def test_grep_reads_only_the_minutes_of_a_window(logs: ModuleType) -> None:
    hour = logs.parse_time("2026-12-01T10:00")
    window = logs.Query(
        since=logs.parse_time("2026-12-01T10:00:30"), until=logs.parse_time("2026-12-01T10:02")
    )
    assert window.needles(hour) == [
        '"time": "2026-12-01T10:00',
        '"time":"2026-12-01T10:00',
        '"time": "2026-12-01T10:01',
        '"time":"2026-12-01T10:01',
    ]
    late = logs.Query(since=logs.parse_time("2026-12-01T10:58:10"))
    assert late.needles(hour) == [
        '"time": "2026-12-01T10:58',
        '"time":"2026-12-01T10:58',
        '"time": "2026-12-01T10:59',
        '"time":"2026-12-01T10:59',
    ]
    # A window covering the whole hour reads every line: no filter to apply.
    assert logs.Query(since=logs.parse_time("2026-11-30")).needles(hour) == []
    assert logs.Query(request_id='a"b').needles(hour) == ['"a\\"b"']


def test_a_damaged_file_is_reported_and_the_rest_still_read(store: Path) -> None:
    damaged = store / "2026-12-01" / "09" / "app.log.zst"
    damaged.write_bytes(damaged.read_bytes()[:20])
    result = run("--dir", str(store), "search", "--request-id", "r-1")
    assert result.returncode == 0
    assert len(result.stdout.splitlines()) == 3
    assert f"warning: {damaged} is damaged" in result.stderr
