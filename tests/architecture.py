"""The architecture rules `make check` enforces, read from the source with `ast`: nothing is
imported, so a rule holds even for code that would not import, and no database is needed.

Each checker takes the repository root and returns its findings (file:line and what is wrong),
so the tests run it on the real tree and on small synthetic trees that show it can fail.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "signupflow"

# Top-level folders whose Python files are checked. `harness/` (shared by bench and tests) may
# not exist yet; deploy/ holds scripts that ship in images.
SHIPPED_ROOTS = ("src", "bench", "harness", "deploy")
ALL_ROOTS = (*SHIPPED_ROOTS, "tests")


@dataclass(frozen=True, order=True)
class Finding:
    """One breach of a rule, at the line that breaks it."""

    path: str
    line: int
    detail: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.detail}"


def report(findings: Iterable[Finding]) -> str:
    return "\n".join(f"  {finding}" for finding in findings)


@dataclass(frozen=True)
class SourceModule:
    name: str  # dotted, as it is imported
    is_package: bool
    relpath: str  # from the repository root, for messages
    source: str
    tree: ast.Module


@dataclass(frozen=True)
class Import:
    """One `import` or `from ... import` statement, relative imports made absolute."""

    line: int
    module: str  # `import a.b` -> "a.b"; `from a import x, y` -> "a"
    members: tuple[str, ...]  # ("x", "y") for `from a import x, y`; () for `import a.b`
    type_checking: bool  # inside `if TYPE_CHECKING:`

    def named(self) -> tuple[str, ...]:
        """Every dotted name the statement may import: the module and, for a from-import,
        each member as a possible submodule (`from signupflow import deps`)."""
        return (self.module, *(f"{self.module}.{m}" for m in self.members if m != "*"))


def _load(path: Path, *, import_root: Path, repo_root: Path) -> SourceModule:
    parts = path.relative_to(import_root).with_suffix("").parts
    is_package = parts[-1] == "__init__"
    source = path.read_text(encoding="utf-8")
    return SourceModule(
        name=".".join(parts[:-1] if is_package else parts),
        is_package=is_package,
        relpath=path.relative_to(repo_root).as_posix(),
        source=source,
        tree=ast.parse(source, filename=str(path)),
    )


def package_modules(root: Path) -> list[SourceModule]:
    """The importable modules of src/signupflow. A folder without `__init__.py` is not part
    of the package: db/migrations, which Alembic loads by path, is not an importable module."""
    src = root / "src"
    modules: list[SourceModule] = []
    for path in sorted((src / PACKAGE).rglob("*.py")):
        folders = path.relative_to(src).parts[:-1]
        if all(
            (src.joinpath(*folders[: i + 1]) / "__init__.py").is_file() for i in range(len(folders))
        ):
            modules.append(_load(path, import_root=src, repo_root=root))
    return modules


def python_files(root: Path, folders: Iterable[str]) -> list[SourceModule]:
    """Every Python file under the given top-level folders; src/ is imported from src/, the
    others from the repository root."""
    modules: list[SourceModule] = []
    for folder in folders:
        base = root / folder
        import_root = base if folder == "src" else root
        modules.extend(
            _load(path, import_root=import_root, repo_root=root)
            for path in sorted(base.rglob("*.py"))
        )
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _nodes(tree: ast.AST) -> Iterator[tuple[ast.AST, bool]]:
    """Every node, with whether it sits in the body of an `if TYPE_CHECKING:`."""
    stack: list[tuple[ast.AST, bool]] = [(tree, False)]
    while stack:
        node, guarded = stack.pop()
        yield node, guarded
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend((child, True) for child in node.body)
            stack.extend((child, guarded) for child in node.orelse)
        else:
            stack.extend((child, guarded) for child in ast.iter_child_nodes(node))


def _absolute(module: SourceModule, level: int, name: str | None) -> str:
    if level == 0:
        return name or ""
    package = module.name if module.is_package else module.name.rpartition(".")[0]
    parts = package.split(".")
    base = parts[: len(parts) - (level - 1)] if level - 1 <= len(parts) else []
    return ".".join([*base, *([name] if name else [])])


def imports(module: SourceModule) -> list[Import]:
    """Every import at any depth (inside functions too: a deferred import is still a
    dependency, and the way an import cycle usually hides)."""
    found: list[Import] = []
    for node, guarded in _nodes(module.tree):
        if isinstance(node, ast.Import):
            found.extend(Import(node.lineno, alias.name, (), guarded) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.append(
                Import(
                    node.lineno,
                    _absolute(module, node.level, node.module),
                    tuple(alias.name for alias in node.names),
                    guarded,
                )
            )
    return sorted(found, key=lambda statement: statement.line)


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


# --- Seat counts ------------------------------------------------------------------------------

LEDGER = f"{PACKAGE}.assignments.ledger"
MIGRATIONS = f"{PACKAGE}.db.migrations"  # they create and backfill the column
_NAMES_SLOT = re.compile(r"\bEventSlot\b")


def _assigned(target: ast.expr) -> Iterator[ast.Attribute]:
    if isinstance(target, ast.Attribute) and target.attr == "filled":
        yield target
    elif isinstance(target, ast.Tuple | ast.List):
        for element in target.elts:
            yield from _assigned(element)
    elif isinstance(target, ast.Starred):
        yield from _assigned(target.value)


def _is_slot_filled(key: ast.expr | None) -> bool:
    return (
        isinstance(key, ast.Attribute)
        and key.attr == "filled"
        and isinstance(key.value, ast.Name)
        and key.value.id == "EventSlot"
    )


def _names_filled(key: ast.expr | None) -> bool:
    return (isinstance(key, ast.Constant) and key.value == "filled") or (
        isinstance(key, ast.Attribute) and key.attr == "filled"
    )


def _values_dicts(call: ast.Call) -> Iterator[ast.Dict]:
    """The dicts given to `.values(...)`, one or a list of them (a multi-row insert)."""
    for argument in call.args:
        if isinstance(argument, ast.Dict):
            yield argument
        elif isinstance(argument, ast.List | ast.Tuple):
            yield from (e for e in argument.elts if isinstance(e, ast.Dict))


def _seat_writes(tree: ast.Module, *, names_slot: bool) -> Iterator[tuple[int, str]]:
    values_dicts: set[int] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "values"
        ):
            values_dicts.update(map(id, _values_dicts(node)))
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            for attribute in _assigned(target):
                yield attribute.lineno, f"`{ast.unparse(attribute)}` is assigned"
        if isinstance(node, ast.Call):
            func = node.func
            if (
                isinstance(func, ast.Name)
                and func.id == "setattr"
                and len(node.args) > 1
                and _names_filled(node.args[1])
            ):
                yield node.lineno, "`setattr(..., 'filled', ...)`"
            is_values = isinstance(func, ast.Attribute) and func.attr == "values"
            # `filled=` is a common keyword (the solver's result has one): outside `.values()`
            # it counts only in a module that names EventSlot, as `EventSlot(filled=...)`.
            if is_values or names_slot:
                called = f".{func.attr}" if isinstance(func, ast.Attribute) else ast.unparse(func)
                for keyword in node.keywords:
                    if keyword.arg == "filled":
                        yield keyword.value.lineno, f"`{called}(filled=...)`"
        if isinstance(node, ast.Dict):
            in_values = id(node) in values_dicts
            for key in node.keys:
                if key is not None and (_is_slot_filled(key) or (in_values and _names_filled(key))):
                    yield key.lineno, f"a dict keyed by `{ast.unparse(key)}`"


def seat_count_writes(root: Path) -> list[Finding]:
    """Writes of `EventSlot.filled` outside the seat ledger. An attribute write (`x.filled =`,
    `+=`, `setattr`) and a `.values()` that sets `filled` count in every module (a slot reached
    as `event.slots` need not be named); a `filled=` keyword in any other call and a dict keyed
    by `EventSlot.filled` count in the modules that name EventSlot."""
    findings: list[Finding] = []
    for module in package_modules(root):
        if module.name == LEDGER or _within(module.name, MIGRATIONS):
            continue
        names_slot = bool(_NAMES_SLOT.search(module.source))
        findings.extend(
            Finding(module.relpath, line, f"{detail} writes a seat count")
            for line, detail in _seat_writes(module.tree, names_slot=names_slot)
        )
    return sorted(set(findings))


# Where the ledger records: modules that import no domain service themselves.
LEDGER_SINKS = {
    f"{PACKAGE}.audit.service": "the audit log",
    f"{PACKAGE}.notifications.service": "the outbox",
}


def services_imported_by_the_ledger(root: Path) -> list[Finding]:
    """Imports of a domain service (a `*.service` module) by the seat ledger: every domain
    builds on the ledger, so the ledger building on one of them is a cycle in the making."""
    findings: list[Finding] = []
    for module in package_modules(root):
        if module.name != LEDGER:
            continue
        for statement in imports(module):
            for name in sorted(statement.named()):
                if name.rpartition(".")[2] == "service" and name not in LEDGER_SINKS:
                    findings.append(Finding(module.relpath, statement.line, f"imports {name}"))
    return sorted(findings)


# --- The web layer ----------------------------------------------------------------------------

WEB_MODULES = tuple(
    f"{PACKAGE}.{name}" for name in ("deps", "api", "app", "frontend", "conditional", "responses")
)
WEB_FRAMEWORKS = ("fastapi", "starlette")

# Modules that are not the service layer, each with why; a routes.py is never one.
NOT_SERVICES = {
    f"{PACKAGE}.deps": "the dependencies routes take (session, caller, settings)",
    f"{PACKAGE}.api": "mounts every domain's router",
    f"{PACKAGE}.app": "builds the ASGI application",
    f"{PACKAGE}.frontend": "serves the browser app's static files",
    f"{PACKAGE}.conditional": "ETags and 304s: a dependency step and an ASGI middleware",
    f"{PACKAGE}.responses": "answers the routes return (JSON pages written without models)",
    f"{PACKAGE}.errors": "the problem+json handler lives next to the domain error base class",
    f"{PACKAGE}.ops": "ASGI middleware, the health probes and /metrics (the whole package)",
    f"{PACKAGE}.auth.secret_checks": "a FastAPI dependency that charges the routes' budgets",
}


def is_service(name: str) -> bool:
    return name.rpartition(".")[2] != "routes" and not any(
        _within(name, exempt) for exempt in NOT_SERVICES
    )


def is_web(name: str) -> bool:
    parts = name.split(".")
    return (
        parts[0] in WEB_FRAMEWORKS
        or any(_within(name, web) for web in WEB_MODULES)
        or (parts[0] == PACKAGE and "routes" in parts[1:])
    )


def web_imports_from_services(root: Path) -> list[Finding]:
    """Imports of the web layer from a service-layer module, at any depth; one under
    `if TYPE_CHECKING:` counts too (a type from the web layer is still a dependency on it)."""
    findings: list[Finding] = []
    for module in package_modules(root):
        if not is_service(module.name):
            continue
        for statement in imports(module):
            web = sorted({name for name in statement.named() if is_web(name)})
            if web:
                findings.append(Finding(module.relpath, statement.line, f"imports {web[0]}"))
    return sorted(findings)


# --- Import cycles ----------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Edge:
    source: str
    target: str
    relpath: str
    line: int


def _ancestors(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def import_graph(root: Path) -> list[Edge]:
    """Module-to-module edges inside signupflow. `from a import b` is an edge to `a.b` when
    that is a module, else to `a`; an edge to a module also reaches each package above it,
    whose `__init__` runs first, except the importer's own packages (they started running
    before it did). `if TYPE_CHECKING:` imports never run, so they are no edges."""
    modules = package_modules(root)
    known = {module.name for module in modules}
    edges: set[Edge] = set()
    for module in modules:
        own = set(_ancestors(module.name))
        for statement in imports(module):
            if statement.type_checking or not _within(statement.module, PACKAGE):
                continue
            if statement.members:
                named = [
                    f"{statement.module}.{m}"
                    if f"{statement.module}.{m}" in known
                    else statement.module
                    for m in statement.members
                ]
            else:
                named = [statement.module]
            for target in named:
                while target not in known and "." in target:
                    target = target.rpartition(".")[0]
                reached = [target, *(a for a in _ancestors(target) if a not in own)]
                edges.update(
                    Edge(module.name, t, module.relpath, statement.line)
                    for t in reached
                    if t in known and t != module.name
                )
    return sorted(edges)


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative: a long import chain cannot reach the recursion limit."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph.get(successor, ())))))
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component: list[str] = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    components.append(sorted(component))
    return components


def import_cycles(root: Path) -> list[list[Edge]]:
    """Each import cycle among signupflow's modules, as the import statements inside it."""
    edges = import_graph(root)
    graph: dict[str, set[str]] = {}
    for edge in edges:
        graph.setdefault(edge.source, set()).add(edge.target)
        graph.setdefault(edge.target, set())
    cycles: list[list[Edge]] = []
    for component in strongly_connected(graph):
        if len(component) > 1:
            members = set(component)
            cycles.append([e for e in edges if e.source in members and e.target in members])
    return sorted(cycles)


def describe_cycle(cycle: list[Edge]) -> str:
    modules = sorted({edge.source for edge in cycle})
    lines = [f"  cycle among {', '.join(modules)}:"]
    lines.extend(f"    {e.relpath}:{e.line}: {e.source} -> {e.target}" for e in cycle)
    return "\n".join(lines)


# --- Tests stay tests ---------------------------------------------------------------------------


def shipped_code_importing_tests(root: Path) -> list[Finding]:
    """Imports of `tests` from src/, bench/, harness/ or deploy/: what they share with the
    tests lives in harness/ (or in the app), never in the test suite."""
    findings: list[Finding] = []
    for module in python_files(root, (f for f in SHIPPED_ROOTS if (root / f).is_dir())):
        for statement in imports(module):
            named = [n for n in statement.named() if _within(n, "tests")]
            if named:
                findings.append(Finding(module.relpath, statement.line, f"imports {named[0]}"))
    return sorted(findings)


def conftest_imports(root: Path) -> list[Finding]:
    """Imports of a conftest module anywhere: pytest loads conftests itself, and a name other
    modules need belongs in a module of its own."""
    findings: list[Finding] = []
    for module in python_files(root, (f for f in ALL_ROOTS if (root / f).is_dir())):
        for statement in imports(module):
            named = [n for n in statement.named() if "conftest" in n.split(".")]
            if named:
                findings.append(Finding(module.relpath, statement.line, f"imports {named[0]}"))
    return sorted(findings)
