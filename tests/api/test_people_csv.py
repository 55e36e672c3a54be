"""People CSV export and all-or-nothing import, through the API and the CLI."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import Org, add_person, invite_member, new_org, ok

API = "/api/v1"
PROBLEM_JSON = "application/problem+json"
CSV = {"Content-Type": "text/csv"}
SIGNUPFLOW = Path(sys.executable).with_name("signupflow")


def export(org: Org) -> str:
    response = org.get(f"{API}/people/export")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert (
        response.headers["content-disposition"] == f'attachment; filename="people-{org.slug}.csv"'
    )
    return response.content.decode("utf-8")


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


def upload(org: Org, body: str | bytes, *, dry_run: bool = False, headers: Any = None) -> Any:
    return org.client.post(
        f"{API}/people/import",
        params={"dry_run": str(dry_run).lower()},
        content=body.encode() if isinstance(body, str) else body,
        headers={**org.headers, **(headers or CSV)},
    )


def people(org: Org) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = ok(org.get(f"{API}/people", params={"limit": 500}))["items"]
    return sorted(items, key=lambda p: p["email"])


def test_export_lists_everyone_with_roles_member_role_and_language(client: TestClient) -> None:
    org = new_org(client)
    invite_member(org, role="scheduler", roles=["usher", "greeter"])
    offline = add_person(org, roles=["reader"], name="Offline")
    text = export(org)
    assert text.startswith("\ufeffname,email,roles,member_role,language,active\r\n")
    found = {row["email"]: row for row in rows(text)}
    assert found[org.email]["member_role"] == "admin"
    assert found[offline["email"]] == {
        "name": "Offline",
        "email": offline["email"],
        "roles": "reader",
        "member_role": "",
        "language": "en",
        "active": "true",
    }
    scheduler = next(r for r in found.values() if r["member_role"] == "scheduler")
    assert scheduler["roles"] == "greeter;usher"


def test_export_neutralises_formulas(client: TestClient) -> None:
    org = new_org(client)
    for name in ('=HYPERLINK("http://evil")', "+1+1", "-2", "@SUM(A1)"):
        ok(org.post(f"{API}/people", json={"name": name, "email": f"{abs(hash(name))}@x.org"}), 201)
    names = {row["name"] for row in rows(export(org))}
    assert {'\'=HYPERLINK("http://evil")', "'+1+1", "'-2", "'@SUM(A1)"} <= names


def test_an_export_imports_back_unchanged(client: TestClient) -> None:
    org = new_org(client)
    add_person(org, roles=["usher"], name="=cmd")
    invite_member(org)
    before = people(org)
    result = ok(upload(org, export(org)))
    assert result == {"dry_run": False, "created": 0, "updated": 0, "unchanged": len(before)}
    assert people(org) == before


def test_import_creates_and_updates_and_a_dry_run_writes_nothing(client: TestClient) -> None:
    org = new_org(client)
    existing = add_person(org, roles=["usher"], name="Old Name")
    body = (
        "Name,E-mail,Roles,Language,Active\n"
        f"New Name,{existing['email'].upper()},usher;greeter,fr,false\n"
        "Zoë Ng,zoe@example.org,,zh-TW,\n"
    )
    before = people(org)
    audit_before = ok(org.get(f"{API}/audit"))["total"]
    assert ok(upload(org, body, dry_run=True)) == {
        "dry_run": True,
        "created": 1,
        "updated": 1,
        "unchanged": 0,
    }
    assert people(org) == before
    assert ok(org.get(f"{API}/audit"))["total"] == audit_before

    assert ok(upload(org, body))["created"] == 1
    found = {p["email"]: p for p in people(org)}
    updated = found[existing["email"]]
    assert (updated["name"], updated["roles"], updated["language"], updated["active"]) == (
        "New Name",
        ["greeter", "usher"],
        "fr",
        False,
    )
    assert found["zoe@example.org"]["language"] == "zh-TW"
    assert found["zoe@example.org"]["active"] is True


def test_bad_rows_reject_the_whole_file_with_every_error(client: TestClient) -> None:
    org = new_org(client)
    before = people(org)
    body = (
        "name,email,language,active\n"
        "Good,good@example.org,en,true\n"
        ",no-name@example.org,en,true\n"
        "Bad Mail,not-an-address,en,true\n"
        "Bad Lang,lang@example.org,klingon,maybe\n"
        "Twice,good@example.org,en,true\n"
        "Short,short@example.org\n"
    )
    response = upload(org, body)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_JSON
    problem = response.json()
    assert problem["type"] == "/problems/invalid-csv"
    assert problem["error_count"] == 6
    assert [(e["line"], e["column"]) for e in problem["errors"]] == [
        (3, "name"),
        (4, "email"),
        (5, "active"),
        (5, "language"),
        (6, "email"),
        (7, None),
    ]
    assert "line 2" in problem["errors"][4]["message"]
    # Each error says why by a code and its params, for the page to say in its language.
    assert [(e["code"], e["params"]) for e in problem["errors"]] == [
        ("name", {}),
        ("email", {}),
        ("active", {}),
        ("language", {"allowed": "en, es, fr, pt, zh-CN, zh-TW"}),
        ("duplicate_email", {"first": 2}),
        ("cell_count", {"expected": 4, "found": 2}),
    ]
    assert people(org) == before


def test_names_and_roles_with_line_breaks_or_tabs_are_refused(client: TestClient) -> None:
    org = new_org(client)
    before = people(org)
    body = (
        "name,email,roles\r\n"
        '"Eve\r\nBcc: all@example.org",eve@example.org,usher\r\n'
        '"Tab\tName",tab@example.org,usher\r\n'
        'Role,role@example.org,"usher;sound\nlight"\r\n'
        '"Fine ",fine@example.org,usher\r\n'
    )
    response = upload(org, body)
    assert response.status_code == 422
    problem = response.json()
    assert [(e["line"], e["column"]) for e in problem["errors"]] == [
        (2, "name"),
        (4, "name"),
        (5, "roles"),
    ]
    assert all("one line" in e["message"] for e in problem["errors"])
    assert people(org) == before


@pytest.mark.parametrize(
    ("body", "column", "message"),
    [
        ("", None, "empty"),
        ("nom,courriel\nA,a@example.org\n", "courriel", "unknown column"),
        ("name\nA\n", "email", "required column is missing"),
    ],
)
def test_a_bad_header_is_a_problem(
    client: TestClient, body: str, column: str | None, message: str
) -> None:
    org = new_org(client)
    response = upload(org, body)
    assert response.status_code == 422
    first = response.json()["errors"][0]
    assert (first["line"], first["column"]) == (1, column)
    assert message in first["message"]


def test_bom_semicolons_and_utf16_are_read(client: TestClient) -> None:
    org = new_org(client)
    text = "name;email;roles\r\nJosé;jose@example.org;usher\r\n"
    assert ok(upload(org, "\ufeff" + text))["created"] == 1
    utf16 = "name\temail\nLi Wei 李伟\tli@example.org\n".encode("utf-16")
    assert ok(upload(org, utf16))["created"] == 1
    names = {p["name"] for p in people(org)}
    assert {"José", "Li Wei 李伟"} <= names


def test_latin1_is_refused_with_a_hint(client: TestClient) -> None:
    org = new_org(client)
    response = upload(org, "name,email\nJos\xe9,j@example.org\n".encode("latin-1"))
    assert response.status_code == 422
    assert "UTF-8" in response.json()["detail"]


def test_too_large_and_wrong_type_and_wrong_role_are_refused(client: TestClient) -> None:
    org = new_org(client)
    huge = "name,email\n" + "x" * (2 * 1024 * 1024)
    too_large = upload(org, huge)
    assert too_large.status_code == 413
    assert too_large.headers["content-type"] == PROBLEM_JSON
    as_json = upload(org, "{}", headers={"Content-Type": "application/json"})
    assert as_json.status_code == 415
    assert as_json.headers["content-type"] == PROBLEM_JSON
    volunteer = invite_member(org)
    assert volunteer.get(f"{API}/people/export").status_code == 403
    assert upload(volunteer, "name,email\n").status_code == 403


def test_member_roles_are_not_changed_by_import(client: TestClient) -> None:
    org = new_org(client)
    body = f"name,email,member_role\nAdmin,{org.email},volunteer\n"
    response = upload(org, body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["column"] == "member_role"


def test_the_cli_exports_and_imports(client: TestClient, database_url: str, tmp_path: Path) -> None:
    org = new_org(client)
    add_person(org, name="From API")
    env = {**os.environ, "APP_ENV": "test", "DATABASE_URL": database_url, "LOG_LEVEL": "ERROR"}
    out = tmp_path / "people.csv"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(SIGNUPFLOW), "people", *args], env=env, capture_output=True, text=True, timeout=120
        )

    exported = run("export", "--org", org.slug, str(out))
    assert exported.returncode == 0, exported.stderr
    assert {r["name"] for r in rows(out.read_text(encoding="utf-8"))} == {"Admin", "From API"}

    out.write_text(
        out.read_text(encoding="utf-8") + "By CLI,cli@example.org,,,,\n", encoding="utf-8"
    )
    dry = run("import", "--org", org.slug, "--dry-run", str(out))
    assert dry.returncode == 0, dry.stderr
    assert '"created": 1' in dry.stdout
    assert "cli@example.org" not in {p["email"] for p in people(org)}
    done = run("import", "--org", org.slug, str(out))
    assert done.returncode == 0, done.stderr
    assert "cli@example.org" in {p["email"] for p in people(org)}

    bad = tmp_path / "bad.csv"
    bad.write_text("name,email\nX,nope\n")
    refused = run("import", "--org", org.slug, str(bad))
    assert refused.returncode == 1
    assert "line 2, column email: not a valid e-mail address" in refused.stderr
    assert run("export", "--org", "no-such-org", str(out)).returncode == 2
