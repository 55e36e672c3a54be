"""The problem codes of src/signupflow, found by reading its source (AST), not by importing it:
every place a DomainError subclass is constructed must name a literal `code` and give its
`params` as a literal dict, so tests can check each code against the locale files. The
validation errors of input shapes (`schemas.invalid(field, code, message, **params)`) are
codes too."""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "signupflow"
ROOT = "DomainError"
INVALID = "invalid"  # signupflow.schemas.invalid: a model validator's coded error


@dataclass(frozen=True)
class Site:
    where: str
    code: str | None
    # The names in `params={...}`; None when params is not a literal dict.
    params: frozenset[str] | None
    problem: str | None  # why the site is refused, None when it is fine


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def domain_classes(trees: Iterable[ast.Module]) -> set[str]:
    bases: dict[str, set[str]] = {}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases[node.name] = {n for b in node.bases if (n := _name(b))}
    found = {ROOT}
    while True:
        more = {name for name, parents in bases.items() if parents & found} - found
        if not more:
            return found
        found |= more


def _coded(call: ast.Call, where: str) -> Site:
    keywords = {k.arg: k.value for k in call.keywords if k.arg}
    code = keywords.get("code")
    if not (isinstance(code, ast.Constant) and isinstance(code.value, str)):
        return Site(where, None, None, "no literal code=")
    params = keywords.get("params")
    if params is None:
        names: frozenset[str] | None = frozenset()
    elif isinstance(params, ast.Dict) and all(
        isinstance(k, ast.Constant) and isinstance(k.value, str) for k in params.keys
    ):
        names = frozenset(k.value for k in params.keys if isinstance(k, ast.Constant))
    else:
        return Site(where, code.value, None, "params= is not a literal dict")
    return Site(where, code.value, names, None)


def _own_init_passes_code(node: ast.ClassDef) -> Site | None:
    """A subclass with its own __init__ supplies the code in its super().__init__ call."""
    for item in node.body:
        if isinstance(item, ast.FunctionDef) and item.name == "__init__":
            for call in ast.walk(item):
                if (
                    isinstance(call, ast.Call)
                    and isinstance(call.func, ast.Attribute)
                    and call.func.attr == "__init__"
                ):
                    return _coded(call, f"{node.name}.__init__")
            return Site(f"{node.name}.__init__", None, None, "no super().__init__(code=...)")
    return None


def scan(sources: dict[str, str]) -> list[Site]:
    """Every construction of a DomainError subclass in `sources` (name -> Python text)."""
    trees = {name: ast.parse(text) for name, text in sources.items()}
    classes = domain_classes(trees.values())
    own_init: dict[str, Site] = {}
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name in classes - {ROOT}:
                site = _own_init_passes_code(node)
                if site:
                    own_init[node.name] = site
    sites = list(own_init.values())
    for name, tree in sorted(trees.items()):
        for node in ast.walk(tree):
            where = f"{name}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Raise) and node.exc is not None:
                raised = _name(node.exc)
                # `raise NotFound` (no call) would carry no code.
                if raised in classes and raised not in own_init:
                    sites.append(Site(where, None, None, "raised without a call"))
            if not isinstance(node, ast.Call):
                continue
            called = _name(node.func)
            if called in classes and called not in own_init:
                sites.append(_coded(node, where))
            elif called == INVALID:
                sites.append(_invalid(node, where))
    return sites


def _invalid(call: ast.Call, where: str) -> Site:
    code = call.args[1] if len(call.args) > 1 else None
    if not (isinstance(code, ast.Constant) and isinstance(code.value, str)):
        return Site(where, None, None, "invalid() without a literal code")
    return Site(where, code.value, frozenset(k.arg for k in call.keywords if k.arg), None)


def source_sites() -> list[Site]:
    sources = {
        str(path.relative_to(SRC.parent)): path.read_text("utf-8") for path in SRC.rglob("*.py")
    }
    return scan(sources)


def source_codes() -> set[str]:
    return {site.code for site in source_sites() if site.code}
