"""Every command the operator docs give exists as written: programs, subcommands, options, make
targets, repository paths and Compose files (tests/support/doc_commands.py says how each is
checked). Every Markdown file under docs/ and deploy/ and the README is read, so a new guide is
checked the day it lands."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.compose import compose_binary
from harness.services import ServiceMissing
from tests.support.doc_commands import check_docs, doc_files, extract
from tests.support.services import require_service

# What a careless edit produces: each line is one defect the checker must report.
BROKEN_GUIDE = """\
# A guide with mistakes

```sh
sudo python3 deploy/deploy.py deploy signupflow:1.4.0 --wroker-image signupflow-worker:1.4.0
signupflow backup restor NAME --yes
signupflow backup create --no-prune --compress
make bench-restor
docker compose -f deploy/compose/compose.prod.yml -f deploy/compose/compose.nope.yml up -d
docker compose -f deploy/compose/compose.prod.yml up -d --wiat
docker compose ... exec postgres pgbackrest info
docker compose -f deploy/compose/compose.prod.yml up -d --wait postgres
(cd deploy/compose && docker compose up -d --wiat)
python3 deploy/secrets/create_secret.py deploy/compose/secrets
cp deploy/pgbackrest/pgbackrest.conff /etc/pgbackrest/pgbackrest.conf
```

Inline, a synopsis may leave arguments out, but not name what does not exist:
`signupflow backup create|lists` and `python3 deploy/deploy.py rollbak`.
"""

EXPECTED_DEFECTS = [
    "unrecognized arguments: --wroker-image",
    "no such command 'restor'",
    "No such option '--compress'",
    "make bench-restor: no such target",
    "compose.nope.yml: no such file",
    "docker compose up --wiat: no such option",
    "docker compose without -f FILE",
    "docker compose up without deploy/compose/compose.pgbackrest.yml, which COMPOSE_FILE",
    "docker compose up --wiat: no such option  [(cd deploy/compose",
    "deploy/secrets/create_secret.py: no such file or directory",
    "deploy/pgbackrest/pgbackrest.conff: no such file or directory",
    "signupflow backup lists: no such command 'lists'",
    "invalid choice: 'rollbak'",
]


@pytest.fixture(scope="module")
def compose() -> str:
    try:
        return compose_binary()
    except ServiceMissing as exc:
        require_service(str(exc))
        raise


def test_every_markdown_file_under_docs_and_deploy_is_read() -> None:
    docs = {
        path.relative_to(Path(__file__).resolve().parents[1]).as_posix() for path in doc_files()
    }
    assert {"README.md", "docs/operations.md", "deploy/README.md"} <= docs
    assert {"deploy/pgbackrest/README.md", "deploy/compose/README.md"} <= docs
    assert all(name.endswith(".md") for name in docs)


def test_the_operator_docs_commands_exist_as_written(compose: str) -> None:
    count, problems = check_docs(doc_files())
    assert count > 100, f"only {count} commands found: is the extraction broken?"
    assert not problems, "\n".join(problems)


def test_a_guide_with_mistakes_is_reported_line_by_line(compose: str, tmp_path: Path) -> None:
    guide = tmp_path / "broken.md"
    guide.write_text(BROKEN_GUIDE)
    _, problems = check_docs([guide])
    report = "\n".join(problems)
    for defect in EXPECTED_DEFECTS:
        assert defect in report, f"not reported: {defect}\n{report}"
    # Every fenced line is wrong, and each problem names its file and line.
    assert all(problem.startswith(f"{guide}:") for problem in problems)


def test_console_blocks_take_only_the_prompted_lines(tmp_path: Path) -> None:
    guide = tmp_path / "console.md"
    guide.write_text(
        "```console\n$ make check\nruff ... ok\n$ FILES='-f a.yml' \\\n  make test\n```\n"
    )
    words = [command.words for command in extract(guide)]
    assert words == [("make", "check"), ("FILES=-f a.yml", "make", "test")]


def test_variables_set_in_a_block_are_substituted(tmp_path: Path) -> None:
    guide = tmp_path / "vars.md"
    guide.write_text(
        '```sh\nFILES="-f deploy/compose/compose.prod.yml"\n'
        "docker compose $FILES up -d  # comment\n```\n"
    )
    (command,) = extract(guide)
    assert command.words == (
        "docker",
        "compose",
        "-f",
        "deploy/compose/compose.prod.yml",
        "up",
        "-d",
    )
