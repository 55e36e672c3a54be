"""The operator docs' commands, checked against the real programs without running them.

Commands come from fenced `sh`/`shell`/`bash`/`console` blocks (strict: each must be runnable as
written, bar placeholders) and from inline code spans that start with a program this project
ships (lenient: a synopsis such as `signupflow backup create|list` may leave arguments out).
For each command:

- `signupflow ...`: the subcommands and options exist in the real click tree (parsed, not run);
- `python3 deploy/....py ...` and `deploy/....py ...`: the script exists and its own argparse
  parser accepts the arguments (the script runs with `parse_args` stopping it right after a
  successful parse, so nothing is done);
- `make TARGET`: the target exists in the Makefile;
- `docker compose -f FILE ... SUB [OPTIONS]`: the files exist, `docker-compose config -q` accepts
  them with a sample environment, the subcommand and its options exist (`SUB --help`);
- every repository path an argument names exists, or is git-ignored (made by an earlier step:
  `.env`, the secrets directory).

`$VAR` set earlier in the same block is substituted; other `$VAR` and `$(...)` are placeholders.
"""

from __future__ import annotations

import functools
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import click

from harness.compose import ENV_EXAMPLE, compose_binary, run_compose
from harness.repository import REPO
from signupflow.cli.main import cli

SHELL_LANGUAGES = {"sh", "shell", "bash", "console"}
PLACEHOLDER = "PLACEHOLDER"
# Where operator docs live; every Markdown file under them is checked.
DOC_ROOTS = ("docs", "deploy")
TOP_LEVEL_DOCS = ("README.md",)
REPO_DIRS = ("deploy", "docs", "src", "bench", "harness", "tests", "web", ".ci", ".github")
INLINE_PROGRAMS = ("signupflow ", "python3 ", "deploy/", "make ", "docker ", "pgbackrest ")
# What `docker compose` needs to interpolate the production files (as .env would give).
SAMPLE_ENV = {
    "APP_IMAGE": "signupflow:1.4.0",
    "WORKER_IMAGE": "signupflow-worker:1.4.0",
    "DOMAINS": "signup.example.org",
    "PUBLIC_URL": "https://signup.example.org",
    "SMTP_HOST": "smtp.example.org",
}
SHELL_WORDS = {"if", "then", "else", "fi", "until", "while", "do", "done", "for", "in", "!"}
PARSE_ONLY = """
import argparse, runpy, sys
# Until the arguments are parsed the script may not start processes, connect or write files.
BLOCKED = {"subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "socket.connect"}
def guard(event, args):
    if event in BLOCKED or (event == "open" and args[1] and any(c in str(args[1]) for c in "wax+")):
        raise RuntimeError(f"doc check: the script did {event} before parsing its arguments")
sys.addaudithook(guard)
original = argparse.ArgumentParser.parse_args
def parse_then_stop(self, args=None, namespace=None):
    original(self, args, namespace)
    print("PARSED")
    raise SystemExit(0)
argparse.ArgumentParser.parse_args = parse_then_stop
script = sys.argv[1]
sys.argv = sys.argv[1:]
sys.path.insert(0, __import__("os").path.dirname(script))
runpy.run_path(script, run_name="__main__")
"""


@dataclass(frozen=True)
class Command:
    doc: Path
    line: int
    text: str
    words: tuple[str, ...]
    strict: bool

    def where(self) -> str:
        shown = self.doc.relative_to(REPO) if self.doc.is_relative_to(REPO) else self.doc
        return f"{shown}:{self.line}"


def doc_files(root: Path = REPO) -> list[Path]:
    found = [root / name for name in TOP_LEVEL_DOCS if (root / name).exists()]
    for folder in DOC_ROOTS:
        found += sorted((root / folder).rglob("*.md"))
    return found


def _substitute_command_output(text: str) -> str:
    """`$(...)` (nested parentheses included) becomes a placeholder word."""
    out = []
    i = 0
    while i < len(text):
        if text.startswith("$(", i):
            depth, j = 0, i + 1
            while j < len(text):
                depth += {"(": 1, ")": -1}.get(text[j], 0)
                if depth == 0:
                    break
                j += 1
            out.append(PLACEHOLDER)
            i = j + 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _expand(text: str, variables: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        return variables.get(match.group(1) or match.group(2), PLACEHOLDER)

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)[^}]*\}|\$([A-Za-z_][A-Za-z0-9_]*)", value, text)


def split_commands(text: str, variables: dict[str, str]) -> Iterator[list[str]]:
    """Simple commands of one logical shell line: pipes, `&&`, `;` split them; assignments
    of the form NAME=value alone on a line are remembered in `variables`."""
    text = _substitute_command_output(text)
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        tokens = list(lexer)
    except ValueError as exc:
        raise ValueError(f"cannot split {text!r}: {exc}") from None
    current: list[str] = []
    in_compose_dir = subshell = False
    for token in [*tokens, ";"]:
        if token and set(token) <= set(";&|"):
            if current and current[-1].endswith(")") and subshell:
                current[-1] = current[-1][:-1]  # the end of `(cd DIR && command)`
            if current and current[0].startswith("("):
                subshell = True
            if current:
                assignments = [w for w in current if re.fullmatch(r"[A-Za-z_]\w*=.*", w)]
                if assignments and len(assignments) == len(current):
                    for word in assignments:
                        name, _, raw = word.partition("=")
                        variables[name] = _expand(raw, variables)
                elif [w.lstrip("(") for w in current[:2]] == ["cd", "deploy/compose"]:
                    in_compose_dir = True
                elif (
                    in_compose_dir
                    and current[:2] == ["docker", "compose"]
                    and not ({"-f", "--file"} & set(current))
                ):
                    # In deploy/compose Compose reads .env, whose COMPOSE_FILE names the files.
                    yield [*current[:2], *_env_compose_files(), *current[2:]]
                else:
                    yield current
            current = []
        else:
            current.append(token)


# Subcommands that create or recreate containers from the files they are given.
CREATING = {"up", "create", "run"}
# A rehearsal with Let's Encrypt's test CA (deploy/README.md) may leave pgBackRest out.
REHEARSAL = "deploy/compose/compose.pebble.yml"


def _check_overlays_kept(files: Sequence[str], subcommand: str) -> list[str]:
    """A command that (re)creates containers from compose.prod.yml must also name every
    overlay .env's COMPOSE_FILE adds (pgBackRest's PostgreSQL), or it would put the service
    back without it: e.g. PostgreSQL without WAL archiving."""
    named = set(_env_compose_files()[1::2])
    if subcommand not in CREATING or not named & set(files) or REHEARSAL in files:
        return []
    missing = sorted(named - set(files))
    if not missing:
        return []
    return [
        f"docker compose {subcommand} without {', '.join(missing)}, which COMPOSE_FILE in "
        ".env names: it would recreate services without them; run it as "
        "`(cd deploy/compose && docker compose ...)` or name every file"
    ]


@functools.cache
def _env_compose_files() -> tuple[str, ...]:
    """`-f` options for the files COMPOSE_FILE in .env.example names (relative to it)."""
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.startswith("COMPOSE_FILE="):
            names = line.partition("=")[2].split(":")
            base = ENV_EXAMPLE.parent.relative_to(REPO)
            return tuple(word for name in names for word in ("-f", str(base / name)))
    raise ValueError(f"{ENV_EXAMPLE}: no COMPOSE_FILE")


def _logical_lines(block: str, console: bool) -> Iterator[tuple[int, str]]:
    pending, start = "", 0
    for number, line in enumerate(block.splitlines()):
        if console and not pending:
            if not line.startswith("$ "):
                continue
            line = line[2:]
        if not pending:
            start = number
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        yield start, pending + line
        pending = ""
    if pending:
        yield start, pending


def extract(doc: Path) -> list[Command]:
    text = doc.read_text()
    commands: list[Command] = []
    fence = re.compile(r"^(```|~~~)([\w-]*)[^\n]*\n(.*?)^\1[ \t]*$", re.MULTILINE | re.DOTALL)
    covered: list[tuple[int, int]] = []
    for match in fence.finditer(text):
        covered.append(match.span())
        language = match.group(2).lower()
        if language not in SHELL_LANGUAGES:
            continue
        first_line = text.count("\n", 0, match.start(3)) + 1
        variables: dict[str, str] = {}
        for offset, line in _logical_lines(match.group(3), console=language == "console"):
            for words in split_commands(line, variables):
                expanded = tuple(
                    word
                    for token in words
                    for word in (
                        shlex.split(_expand(token, variables)) if "$" in token else [token]
                    )
                )
                commands.append(Command(doc, first_line + offset, line.strip(), expanded, True))
    for match in re.finditer(r"(?<!`)`([^`\n]+)`(?!`)", text):
        if any(start <= match.start() < end for start, end in covered):
            continue
        span = match.group(1).replace("\\|", "|").strip()
        if not span.startswith(INLINE_PROGRAMS) and not span.startswith("sudo "):
            continue
        line = text.count("\n", 0, match.start()) + 1
        # A synopsis keeps `a|b` inside a word (alternatives); ` | ` with spaces is a pipe.
        for part in re.split(r"\s\|\s|&&|;", _substitute_command_output(span)):
            try:
                words = shlex.split(part, comments=True)
            except ValueError:
                continue
            # One word (`deploy/deploy.py`) names a file; it is not an invocation.
            if len(words) == 1:
                words = ["ls", *words]
            if words:
                commands.append(Command(doc, line, span, tuple(words), False))
    return commands


# --- checks -----------------------------------------------------------------------------------


def _strip_prefix(words: Sequence[str]) -> list[str]:
    """Without `sudo`, `env`, leading NAME=value assignments and shell keywords."""
    rest = list(words)
    while rest and (
        rest[0] in {"sudo", "env", "exec", "time"} | SHELL_WORDS
        or re.fullmatch(r"[A-Za-z_]\w*=.*", rest[0])
    ):
        rest.pop(0)
    return rest


def _alternatives(word: str, strict: bool) -> list[str]:
    if not strict and "|" in word:
        return [part for part in word.split("|") if part]
    return [word]


def _synopsis_words(words: Sequence[str], strict: bool) -> list[str]:
    if strict:
        return list(words)
    kept = []
    for word in words:
        word = word.strip("[]")
        if word and word not in {"...", "…"}:
            kept.append(word)
    return kept


def _variants(args: Sequence[str], strict: bool) -> list[list[str]]:
    """Every invocation a synopsis stands for: one per choice of each `a|b` word."""
    variants: list[list[str]] = [[]]
    for word in args:
        variants = [[*v, o] for v in variants for o in _alternatives(word, strict)]
    return variants


def check_signupflow(args: Sequence[str], strict: bool) -> list[str]:
    problems: list[str] = []
    for variant in _variants(args, strict):
        problem = _parse_click(variant, strict)
        if problem:
            problems.append(f"signupflow {' '.join(variant)}: {problem}")
    return problems


def _parse_click(args: list[str], strict: bool) -> str | None:
    command: click.Command = cli
    parent: click.Context | None = None
    name = "signupflow"
    remaining = list(args)
    try:
        while True:
            if isinstance(command, click.Group):
                if not remaining or remaining[0].startswith("-"):
                    if remaining and remaining[0] in {"--help", "--version"}:
                        return None
                    return "names no subcommand" if strict else None
                sub = command.get_command(click.Context(command, info_name=name), remaining[0])
                if sub is None:
                    return f"no such command {remaining[0]!r} (of {name})"
                name, command, remaining = remaining[0], sub, remaining[1:]
                continue
            if "--help" in remaining:
                return None
            with command.make_context(name, remaining, parent=parent, resilient_parsing=False):
                return None
    except click.MissingParameter as exc:
        return exc.format_message() if strict else None
    except click.BadParameter:
        return None  # the option exists; a placeholder value did not convert
    except click.UsageError as exc:
        return exc.format_message()


def check_argparse_script(script: Path, args: Sequence[str], strict: bool) -> list[str]:
    if not script.exists():
        return [f"{script.relative_to(REPO)}: no such script"]
    if not _uses_argparse(script):
        return []  # no options to check
    problems = []
    for variant in _variants(args, strict):
        done = _run_parse_only(str(script), tuple(variant))
        if "PARSED" in done[1] or done[0] == 0:
            continue
        message = done[2].strip().splitlines()[-1] if done[2].strip() else f"exit {done[0]}"
        if not strict and "the following arguments are required" in message:
            continue
        problems.append(f"{script.relative_to(REPO)} {' '.join(variant)}: {message}")
    return problems


@functools.cache
def _uses_argparse(script: Path) -> bool:
    """The script or a package beside it (deploy.py runs deploytool/) builds a parser."""
    if "argparse" in script.read_text():
        return True
    packages = [p for p in script.parent.iterdir() if (p / "__init__.py").exists()]
    return any("argparse" in f.read_text() for p in packages for f in p.glob("*.py"))


@functools.cache
def _run_parse_only(script: str, args: tuple[str, ...]) -> tuple[int, str, str]:
    done = subprocess.run(
        [sys.executable, "-c", PARSE_ONLY, script, *args],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=REPO,
        check=False,
    )
    return done.returncode, done.stdout, done.stderr


@functools.cache
def make_targets(makefile: Path = REPO / "Makefile") -> frozenset[str]:
    targets = set()
    for line in makefile.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+(?:\s+[A-Za-z0-9_.-]+)*)\s*:(?!=)", line)
        if match and not line.startswith("\t"):
            targets.update(match.group(1).split())
    return frozenset(targets)


def check_make(args: Sequence[str]) -> list[str]:
    targets = [a for a in args if not a.startswith("-") and "=" not in a]
    return [
        f"make {target}: no such target in the Makefile"
        for target in targets
        if target not in make_targets()
    ]


@functools.cache
def _compose_commands() -> frozenset[str]:
    done = subprocess.run(
        [compose_binary(), "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    found = set()
    for section in re.findall(
        r"^(?:Management )?Commands:\n(.*?)(?:\n\n|\Z)", done.stdout, re.M | re.S
    ):
        found |= {line.split()[0] for line in section.splitlines() if line.strip()}
    return frozenset(found)


@functools.cache
def _compose_options(subcommand: str) -> frozenset[str]:
    done = subprocess.run(
        [compose_binary(), subcommand, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return frozenset(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", done.stdout))


@functools.cache
def _compose_config(files: tuple[str, ...]) -> str | None:
    paths = [REPO / name for name in files]
    result = run_compose(paths, "config", "-q", env=SAMPLE_ENV, env_file=ENV_EXAMPLE)
    if result.returncode != 0 or result.stderr.strip():
        return (result.stderr or result.stdout).strip()[-500:]
    return None


def check_compose(args: Sequence[str], strict: bool) -> list[str]:
    files: list[str] = []
    rest = list(args)
    # Compose's global options that take a value (`docker compose --help`).
    global_options = {"-f", "--file", "-p", "--project-name", "--env-file", "--profile"}
    while rest and rest[0] in global_options:
        flag, value = rest[0], rest[1] if len(rest) > 1 else ""
        if flag in {"-f", "--file"}:
            files.append(value)
        rest = rest[2:]
    if not files and strict:
        return ["docker compose without -f FILE: say which files (as the operator must)"]
    problems = [f"{name}: no such file" for name in files if not (REPO / name).is_file()]
    if problems:
        return problems
    failed = _compose_config(tuple(files)) if files else None
    if failed:
        problems.append(f"docker compose config rejects {' '.join(files)}: {failed}")
    if not rest:
        return [*problems, "docker compose: no subcommand"] if strict else problems
    subcommand = rest[0]
    if subcommand not in _compose_commands():
        return [*problems, f"docker compose {subcommand}: no such subcommand"]
    problems += _check_overlays_kept(files, subcommand)
    known = _compose_options(subcommand)
    for word in rest[1:]:
        if word.startswith("-") and word != "--":
            flag = word.split("=", 1)[0]
            if flag not in known:
                problems.append(f"docker compose {subcommand} {flag}: no such option")
        elif subcommand in {"exec", "run", "cp"}:
            break  # the service's own command follows
    return problems


@functools.cache
def _ignored(path: str) -> bool:
    # As a file and as a directory; exit 0 when either is ignored.
    names = [path, f"{path.rstrip('/')}/"]
    done = subprocess.run(
        ["git", "check-ignore", "--no-index", *names],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        timeout=30,
        check=False,
    )
    return done.returncode == 0


def _exists(path: str) -> bool:
    if any(char in path for char in "*?["):
        return any(REPO.glob(path))
    return (REPO / path).exists()


def check_paths(words: Sequence[str]) -> list[str]:
    """Repository paths named as arguments exist (or are git-ignored: made by a step)."""
    problems = []
    program = words[0] if words else ""
    destinations = {words[-1]} if program in {"cp", "install", "mv"} and len(words) > 2 else set()
    previous = ""
    for word in words[1:]:
        candidate = word.split("=", 1)[1] if word.startswith("--") and "=" in word else word
        candidate = candidate.split(":", 1)[0] if ":" in candidate else candidate
        if (
            candidate.split("/", 1)[0] in REPO_DIRS
            and "/" in candidate
            and PLACEHOLDER not in candidate
            and word not in destinations
            and previous not in {"--out", "--output", "-o"}
            and not _exists(candidate)
            and not _ignored(candidate)
        ):
            problems.append(f"{candidate}: no such file or directory in the repository")
        previous = word
    return problems


def check(command: Command) -> list[str]:
    words = _synopsis_words(_strip_prefix(command.words), command.strict)
    if not words:
        return []
    problems = check_paths(words)
    program, args = words[0], words[1:]
    if program == "signupflow":
        problems += check_signupflow(args, command.strict)
    elif program in {"python3", "python"} and args and args[0].endswith(".py"):
        problems += check_argparse_script(REPO / args[0], args[1:], command.strict)
    elif program.startswith("deploy/") and program.endswith(".py"):
        problems += check_argparse_script(REPO / program, args, command.strict)
    elif program == "make":
        problems += check_make(args)
    elif program == "docker" and args[:1] == ["compose"]:
        problems += check_compose(args[1:], command.strict)
    elif program == "docker-compose":
        problems += check_compose(args, command.strict)
    return [f"{command.where()}: {problem}  [{command.text}]" for problem in problems]


def check_docs(docs: Sequence[Path]) -> tuple[int, list[str]]:
    """(commands checked, problems found) over these Markdown files."""
    count, problems = 0, []
    for doc in docs:
        for command in extract(doc):
            count += 1
            problems += check(command)
    return count, problems
