"""docs/configuration.md, rendered from the settings models: `signupflow config reference`.

The models are the single source: a variable's type, bounds, default per profile, whether the
strict profiles require it and whether it may come from a file are read from the model, and its
description is the field's docstring. tests/test_configuration_reference.py fails when the
committed file and the models drift.
"""

from __future__ import annotations

import ast
import difflib
import inspect
import re
import textwrap
import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import annotated_types
import click
from pydantic import SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from signupflow.backup.schedule import ScheduleSettings
from signupflow.backup.settings import BackupSettings
from signupflow.settings import DEV_SECRET_KEY, STRICT_PROFILES, Settings

PROFILES: tuple[str, ...] = typing.get_args(Settings.model_fields["app_env"].annotation)
SOURCE_TREE = Path(__file__).resolve().parents[2]
REFERENCE_PATH = Path("docs/configuration.md")
MAKE_COMMAND = "make config-docs"


@dataclass(frozen=True)
class Section:
    model: type[BaseSettings]
    title: str
    readers: str


SECTIONS = (
    Section(Settings, "Application", "`serve`, `worker`, `db`, `schedule`, `people`, `config`"),
    Section(BackupSettings, "Logical backups", "`backup create|list|verify|restore|prune`"),
    Section(ScheduleSettings, "The backup service", "`backup schedule`"),
)


class _ProfileDefaults(Settings):
    """Settings reading nothing but their arguments: no environment, `.env` or files."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def _profile_settings() -> dict[str, Settings]:
    return {profile: _ProfileDefaults(app_env=profile) for profile in PROFILES}


def _required(by_profile: dict[str, Settings]) -> dict[str, list[str]]:
    """Variable -> the strict profiles whose rules refuse its default."""
    required: dict[str, list[str]] = {}
    for profile in sorted(STRICT_PROFILES, key=PROFILES.index, reverse=True):
        for problem in by_profile[profile].problems():
            name = problem.partition(":")[0].strip()
            if re.fullmatch(r"[A-Z0-9_]+", name):
                required.setdefault(name, []).append(profile)
    return required


def _code(value: object) -> str:
    return f"`{value}`"


def _show(value: object) -> str:
    if value is None:
        return "unset"
    if isinstance(value, SecretStr):
        raw = value.get_secret_value()
        if raw == DEV_SECRET_KEY:
            return "a development-only key"
        return _code(raw)
    if isinstance(value, bool):
        return _code(str(value).lower())
    if isinstance(value, list):
        return _code(",".join(str(item) for item in value)) if value else "empty"
    if isinstance(value, Path):
        try:
            return _code(f"<source tree>/{value.relative_to(SOURCE_TREE)}")
        except ValueError:
            return _code(value)
    return _code(value)


def _bounds(field: FieldInfo) -> str:
    low = high = ""
    for item in field.metadata:
        if isinstance(item, annotated_types.Ge):
            low = f"≥ {item.ge}"
        elif isinstance(item, annotated_types.Gt):
            low = f"> {item.gt}"
        elif isinstance(item, annotated_types.Le):
            high = f"≤ {item.le}"
        elif isinstance(item, annotated_types.Lt):
            high = f"< {item.lt}"
    return ", ".join(part for part in (low, high) if part)


def _type_name(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(arg) for arg in get_args(annotation) if arg is not type(None))
    if origin is typing.Annotated:
        return _type_name(get_args(annotation)[0])
    if origin is Literal:
        return "one of " + ", ".join(_code(arg) for arg in get_args(annotation))
    if origin is list:
        return "comma-separated list"
    names = {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "string",
        Path: "path",
        SecretStr: "string, secret",
    }
    if annotation in names:
        return names[annotation]
    raise TypeError(f"no reference name for the type {annotation!r}: add one")


def _type(field: FieldInfo) -> str:
    bounds = _bounds(field)
    return _type_name(field.annotation) + (f" ({bounds})" if bounds else "")


def _from_file(name: str, field: FieldInfo) -> str:
    if name.endswith("_file"):
        return "no (names a file itself)"
    return "yes; use it (secret)" if _type_name(field.annotation).endswith("secret") else "yes"


def field_docstrings(model: type[BaseSettings]) -> dict[str, str]:
    """Field name -> the string under its definition, in `model` and its bases. Read from the
    source here, when the reference is rendered: pydantic's `use_attribute_docstrings` would
    parse each model's source at import, on every process's start."""
    found: dict[str, str] = {}
    for cls in reversed(model.__mro__):
        if not issubclass(cls, BaseSettings) or cls is BaseSettings:
            continue
        body = ast.parse(textwrap.dedent(inspect.getsource(cls))).body[0]
        assert isinstance(body, ast.ClassDef)
        for node, after in zip(body.body, body.body[1:], strict=False):
            if (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                found[node.target.id] = after.value.value
    return found


def _description(docs: dict[str, str], name: str, model: type[BaseSettings]) -> str:
    if not docs.get(name):
        raise ValueError(f"{model.__name__}.{name} has no docstring: describe it in the model")
    return " ".join(docs[name].split()).replace("|", "\\|")


def _default(name: str, by_profile: dict[str, Settings] | None, field: FieldInfo) -> str:
    if by_profile is None:
        return _show(field.get_default(call_default_factory=True))
    effective = Settings.PROFILE_DEFAULTS.get(name)
    shown: dict[str, list[str]] = {}
    for profile, settings in by_profile.items():
        value = getattr(settings, effective or name)
        if name == "app_env":
            value = "development"
        shown.setdefault(_show(value), []).append(profile)
    if len(shown) == 1:
        return next(iter(shown))
    return "; ".join(f"{', '.join(profiles)}: {value}" for value, profiles in shown.items())


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _section(section: Section, seen: set[str]) -> list[str]:
    by_profile = _profile_settings() if section.model is Settings else None
    docs = field_docstrings(section.model)
    required = _required(by_profile) if by_profile is not None else {}
    lines = [f"## {section.title}", "", f"Read by {section.readers}.", ""]
    repeated = [name.upper() for name in section.model.model_fields if name.upper() in seen]
    if repeated:
        lines += [f"Also reads {', '.join(_code(n) for n in repeated)} (above).", ""]
    lines += [
        _row(["variable", "type", "default", "required in", "from a file", "description"]),
        _row(["---"] * 6),
    ]
    for name, field in section.model.model_fields.items():
        variable = name.upper()
        if variable in seen:
            continue
        seen.add(variable)
        lines.append(
            _row(
                [
                    _code(variable),
                    _type(field),
                    _default(name, by_profile, field),
                    ", ".join(required.get(variable, [])) or "-",
                    _from_file(name, field),
                    _description(docs, name, section.model),
                ]
            )
        )
    return [*lines, ""]


def command_variables(group: click.Command) -> list[tuple[str, str, str, str]]:
    """(variable, command, option, help) for every parameter a `signupflow` command reads from
    the environment."""
    found: list[tuple[str, str, str, str]] = []

    def walk(command: click.Command, path: str) -> None:
        for param in command.params:
            names = param.envvar if isinstance(param.envvar, list | tuple) else [param.envvar]
            for envvar in names:
                if isinstance(envvar, str) and envvar:
                    option = "/".join(param.opts)
                    help_text = getattr(param, "help", None) or f"the {param.name} argument"
                    found.append((envvar, path, option, " ".join(help_text.split())))
        if isinstance(command, click.Group):
            for name in sorted(command.commands):
                walk(command.commands[name], f"{path} {name}")

    walk(group, "signupflow")
    return sorted(found)


INTRO = """\
# Configuration reference

Generated from the settings models (`src/signupflow/settings.py`,
`src/signupflow/backup/settings.py`, `src/signupflow/backup/schedule.py`) by
`{make}`; do not edit by hand. A test fails when this file and the models differ.

How a value is read, first match wins:
1. the environment (names are case-insensitive; an empty variable counts as unset, so
   Compose's `${{VAR:-}}` passes an optional one as unset);
2. the file that `<NAME>_FILE` names (Docker and Kubernetes secrets; "from a file": yes),
   whose content is read and stripped, e.g. `SECRET_KEY_FILE=/run/secrets/secret_key`; a
   file that cannot be read stops the process with the variable's name. Settings that name
   a file themselves (`..._FILE`) have no `_FILE_FILE`;
3. `.env` in the working directory (also for `<NAME>_FILE`);
4. the default below.

`APP_ENV` chooses the profile. `staging` and `production` are strict: the process exits with
status 2 before it listens and names every problem at once. Besides the variables marked
"required in", the strict rules refuse: `DEBUG=true`; `DRAIN_DELAY_S + SHUTDOWN_TIMEOUT_S` of
30 s or more; `MAX_CONCURRENT_SOLVES` not below `DB_POOL_SIZE + DB_MAX_OVERFLOW - 1`;
`BCRYPT_ROUNDS` under 12; `SMTP_USERNAME` without `SMTP_PASSWORD`, or with
`SMTP_SECURITY=none`; a `MAIL_FROM` without an address; a weak `PREVIOUS_SECRET_KEYS` entry.
`signupflow config check` prints the effective configuration (secrets masked) and exits 2 when
it is invalid.

Bounds in the type column are enforced in every profile. Durations end in `_S` (seconds) or
`_MS` (milliseconds). The production stack's own variables (`deploy/compose/.env.example`) are
explained in that file and deploy/README.md.
"""


def render(commands: click.Command, sections: Sequence[Section] = SECTIONS) -> str:
    """The reference: the settings models' variables, then those of the `commands` tree's
    options (the `signupflow` group, passed in: the CLI imports this module)."""
    lines = INTRO.format(make=MAKE_COMMAND).splitlines()
    lines.append("")
    seen: set[str] = set()
    for section in sections:
        lines += _section(section, seen)
    lines += [
        "## Command options read from the environment",
        "",
        _row(["variable", "command", "option", "description"]),
        _row(["---"] * 4),
    ]
    for variable, command, option, help_text in command_variables(commands):
        lines.append(_row([_code(variable), _code(command), _code(option), help_text]))
    return "\n".join(lines) + "\n"


def variables(commands: click.Command) -> set[str]:
    """Every variable the reference lists."""
    names = {name.upper() for section in SECTIONS for name in section.model.model_fields}
    return names | {variable for variable, *_ in command_variables(commands)}


def unknown_variables(names: Iterable[str], commands: click.Command) -> list[str]:
    """Names that are neither a listed variable nor `<NAME>_FILE` of one."""
    known = variables(commands)
    return sorted(
        name
        for name in names
        if name not in known and not (name.endswith("_FILE") and name[: -len("_FILE")] in known)
    )


def drift(
    path: Path, commands: click.Command, sections: Sequence[Section] = SECTIONS
) -> str | None:
    """None when `path` holds the current reference; otherwise what differs and what to do."""
    try:
        current = path.read_text()
    except OSError as exc:
        return f"{path}: cannot read ({exc.strerror}); run `{MAKE_COMMAND}`"
    expected = render(commands, sections)
    if current == expected:
        return None
    changed = [
        line
        for line in difflib.unified_diff(
            current.splitlines(), expected.splitlines(), "committed", "models", n=0, lineterm=""
        )
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    shown = "\n".join(f"  {line}" for line in changed[:10])
    more = f"\n  ... {len(changed) - 10} more" if len(changed) > 10 else ""
    return (
        f"{path} differs from the settings models (- committed, + models):\n{shown}{more}\n"
        f"run `{MAKE_COMMAND}` and commit it"
    )
