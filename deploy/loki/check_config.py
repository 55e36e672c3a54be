#!/usr/bin/env python3
"""Check the Loki overlay's configuration offline (Loki and Alloy do not run here):

    python3 deploy/loki/check_config.py [deploy/loki/loki.yml] [deploy/loki/config.alloy]

loki.yml: loki-config.schema.json (written from Loki 3's configuration reference), then the
start-up rules of Loki 3 that concern this file and that a schema cannot say: the TSDB index
period is 24h; structured metadata needs TSDB and schema v13; the schema periods start in
order; retention is at least 24h and its compactor has a delete-request store.

config.alloy: the structure Alloy's parser needs (balanced braces, brackets and quotes; one
block per component label) and the wiring: every `<component>.<label>.receiver` or
`.targets` it uses is a component it declares, and every component is one this checker
knows from Alloy's reference (the ones this file may use).

Exit 0 when both pass, 1 with one line per problem, 2 on bad usage. Needs PyYAML and
jsonschema (the project's dev extras). docs/logs.md says what is and is not validated.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

HERE = Path(__file__).resolve().parent
SCHEMA = HERE / "loki-config.schema.json"
DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h|d|w|y)")
SECONDS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1,
    "m": 60,
    "h": 3600,
    "d": 86400,
    "w": 604800,
    "y": 31536000,
}
# Alloy components this stack's config may use (Alloy reference, "Components").
ALLOY_COMPONENTS = {
    "local.file_match",
    "loki.source.file",
    "loki.process",
    "loki.relabel",
    "loki.write",
    "discovery.relabel",
}


def duration_seconds(text: str) -> float:
    """Seconds of a Prometheus-style duration (`24h`, `1h30m`, `0`) whose form the schema's
    duration pattern has already checked."""
    return sum(float(number) * SECONDS[unit] for number, unit in DURATION_PART.findall(text))


def check_loki(config: Any) -> list[str]:
    schema = json.loads(SCHEMA.read_text())
    problems = [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(top)'}: {error.message}"
        for error in sorted(
            Draft202012Validator(schema).iter_errors(config), key=lambda e: list(e.path)
        )
    ]
    if problems or not isinstance(config, dict):
        return problems
    periods = config["schema_config"]["configs"]
    starts = [period["from"] for period in periods]
    if starts != sorted(starts) or len(set(starts)) != len(starts):
        problems.append(f"schema_config/configs: periods must start in increasing order: {starts}")
    for index, period in enumerate(periods):
        where = f"schema_config/configs/{index}"
        try:
            dt.date.fromisoformat(period["from"])
        except ValueError:
            problems.append(f"{where}/from: not a date: {period['from']!r}")
        if period["store"] == "tsdb" and period["index"].get("period") != "24h":
            problems.append(f"{where}/index/period: the tsdb index needs 24h")
    limits = config.get("limits_config") or {}
    latest = periods[-1]
    if limits.get("allow_structured_metadata", True) and (
        latest["store"] != "tsdb" or latest["schema"] != "v13"
    ):
        problems.append(
            "limits_config/allow_structured_metadata: needs the latest schema period on "
            "store tsdb with schema v13 (or set it to false)"
        )
    compactor = config.get("compactor") or {}
    if compactor.get("retention_enabled"):
        retention = limits.get("retention_period")
        if retention is None:
            problems.append("limits_config/retention_period: missing while retention is enabled")
        elif duration_seconds(retention) < 86400:
            problems.append(f"limits_config/retention_period: {retention} is under 24h")
    return problems


def strip_alloy(text: str) -> tuple[str, list[str]]:
    """The text with comments and string contents blanked, and any structural problems."""
    problems = []
    out = []
    index = 0
    stack: list[tuple[str, int]] = []
    pairs = {"{": "}", "[": "]", "(": ")"}
    line = 1
    while index < len(text):
        char = text[index]
        if char == "\n":
            line += 1
        if text.startswith("//", index):
            end = text.find("\n", index)
            index = len(text) if end < 0 else end
            continue
        if text.startswith("/*", index):
            end = text.find("*/", index + 2)
            if end < 0:
                problems.append(f"line {line}: unterminated /* comment")
                break
            line += text.count("\n", index, end)
            index = end + 2
            continue
        if char == '"':
            end = index + 1
            while end < len(text) and text[end] != '"':
                if text[end] == "\n":
                    problems.append(f"line {line}: string not closed on its line")
                    break
                end += 2 if text[end] == "\\" else 1
            out.append('""')
            index = end + 1
            continue
        if char in pairs:
            stack.append((char, line))
        elif char in pairs.values():
            if not stack or pairs[stack[-1][0]] != char:
                problems.append(f"line {line}: unexpected {char!r}")
            else:
                stack.pop()
        out.append(char)
        index += 1
    problems += [f"line {opened}: {char!r} never closed" for char, opened in stack]
    return "".join(out), problems


def check_alloy(text: str) -> list[str]:
    code, problems = strip_alloy(text)
    if problems:
        return problems
    # Labels were blanked with the strings: read the declarations from the original text.
    declared = re.findall(r'^([a-z_]+(?:\.[a-z_]+)+)\s+"([A-Za-z0-9_]+)"\s*\{', text, re.M)
    seen = set()
    for component, label in declared:
        if component not in ALLOY_COMPONENTS:
            problems.append(f"{component} {label!r}: not a component this checker knows")
        if (component, label) in seen:
            problems.append(f"{component} {label!r}: declared twice")
        seen.add((component, label))
    for head, label in re.findall(r"^([a-z_][\w.]*)\s*([^{\n]*)\{", code, re.M):
        if label.strip() != '""':
            problems.append(f'{head}: a top-level block is not `component.name "label" {{`')
    names = {f"{component}.{label}" for component, label in declared}
    for used in re.findall(r"\b((?:[a-z_]+\.)+[A-Za-z0-9_]+)\.(receiver|targets|output)\b", code):
        if used[0] not in names:
            problems.append(f"{used[0]}.{used[1]}: no such component in this file")
    if not any(component == "loki.write" for component, _ in declared):
        problems.append("no loki.write component: nothing reaches Loki")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) > 2:
        print("usage: check_config.py [loki.yml] [config.alloy]", file=sys.stderr)
        return 2
    loki_path = Path(argv[0]) if argv else HERE / "loki.yml"
    alloy_path = Path(argv[1]) if len(argv) > 1 else HERE / "config.alloy"
    problems = []
    try:
        problems += [f"{loki_path}: {p}" for p in check_loki(yaml.safe_load(loki_path.read_text()))]
        problems += [f"{alloy_path}: {p}" for p in check_alloy(alloy_path.read_text())]
    except (OSError, yaml.YAMLError, ValueError) as exc:
        problems.append(str(exc))
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(f"{loki_path} and {alloy_path}: valid")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
