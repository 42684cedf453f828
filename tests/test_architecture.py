"""The rules of ARCHITECTURE.md that a machine can check: no import circles among src modules, no
module over 500 lines, sources that never import the model, prediction or pipeline code, and one
store (tables and write SQL only in ``trackmood.store``; tracks and features written only by the
pipeline and the library commands).

Imports are read with :mod:`ast` (nothing is imported). A circle counts the imports a module runs
when it is imported (module level, not under ``if TYPE_CHECKING``); an import inside a function
is a deliberate late import and breaks no load order, but the source rule counts those too.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "trackmood"
MAX_LINES = 500
#: Modules being split by other branches of the same issue; the test fails once one of them is
#: short enough, so the entry is removed, and fails for any module not listed.
PENDING_SPLIT: set[str] = set()
#: Sources allowed to import prediction code (none).
PENDING_SOURCES: set[str] = set()
FORBIDDEN_IN_SOURCES = ("trackmood.model", "trackmood.predict", "trackmood.pipeline")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {
        module_name(p): p
        for p in (SRC / PACKAGE).rglob("*.py")
        if "static" not in p.relative_to(SRC).parts
    }


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING"
    )


def imports(path: Path, known: set[str], *, module_level: bool) -> set[str]:
    """The trackmood modules ``path`` imports (at module level only, or anywhere)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()

    def target(base: str, names: list[str]) -> None:
        for n in names:
            full = f"{base}.{n}" if base else n
            if full in known:
                found.add(full)
            elif base in known:
                found.add(base)

    def visit(nodes) -> None:
        for node in nodes:
            if isinstance(node, ast.Import):
                for a in node.names:
                    parts = a.name.split(".")
                    for k in range(len(parts), 0, -1):
                        if ".".join(parts[:k]) in known:
                            found.add(".".join(parts[:k]))
                            break
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base_parts = package.split(".")
                    base_parts = base_parts[: len(base_parts) - node.level + 1]
                    base = ".".join(base_parts + ([node.module] if node.module else []))
                else:
                    base = node.module or ""
                target(base, [a.name for a in node.names])
            elif isinstance(node, ast.If) and _is_type_checking(node):
                if not module_level:
                    visit(node.body)
                visit(node.orelse)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                if not module_level:
                    visit(ast.iter_child_nodes(node))
            elif isinstance(node, ast.ClassDef) or hasattr(node, "body"):
                visit(ast.iter_child_nodes(node))

    visit(tree.body)
    found.discard(name)
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def strong(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


def import_graph(*, module_level: bool = True) -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {m: imports(p, known, module_level=module_level) for m, p in mods.items()}


def test_cycle_finder_finds_a_planted_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circles():
    found = cycles(import_graph())
    assert not found, "import circles: " + "; ".join(" ↔ ".join(c) for c in found)


#: Circles through late (in-function) imports that other branches of the issue remove; the test
#: fails on any other one, and once one of these is gone (so the entry is removed).
PENDING_LATE_CYCLES = []


def test_no_circles_even_through_late_imports():
    found = [set(c) for c in cycles(import_graph(module_level=False))]
    new = [sorted(c) for c in found if c not in PENDING_LATE_CYCLES]
    assert not new, "import circles (late imports): " + "; ".join(" ↔ ".join(c) for c in new)
    gone = [sorted(c) for c in PENDING_LATE_CYCLES if c not in found]
    assert not gone, f"gone: remove {gone} from PENDING_LATE_CYCLES"


def test_cli_package_has_no_circle_even_with_late_imports():
    graph = import_graph(module_level=False)
    cli = {m: {d for d in deps if d.startswith("trackmood.cli")} for m, deps in graph.items()}
    cli = {m: d for m, d in cli.items() if m.startswith("trackmood.cli")}
    assert cycles(cli) == []
    for m, deps in cli.items():
        if m != "trackmood.cli":
            assert "trackmood.cli" not in deps - {m}, f"{m} imports from cli/__init__"


def test_modules_are_short():
    long = {
        m: n
        for m, p in modules().items()
        if (n := len(p.read_text().splitlines())) > MAX_LINES and m not in PENDING_SPLIT
    }
    assert not long, f"modules over {MAX_LINES} lines: {long}"
    done = {m for m in PENDING_SPLIT if len(modules()[m].read_text().splitlines()) <= MAX_LINES}
    assert not done, f"split already: remove {done} from PENDING_SPLIT"


@pytest.mark.parametrize(
    "source",
    sorted(m for m in modules() if m.startswith("trackmood.sources.") and m != "trackmood.sources"),
)
def test_sources_only_produce_features(source):
    deps = imports(modules()[source], set(modules()), module_level=False)
    bad = sorted(d for d in deps if d.startswith(FORBIDDEN_IN_SOURCES))
    if source in PENDING_SOURCES:
        assert bad, f"{source} is clean now: remove it from PENDING_SOURCES"
        pytest.xfail(f"{source} still predicts until its rewrite is merged: {bad}")
    assert not bad, f"{source} imports {bad}"


# -- one store: tables and writes of the library only in trackmood.store ----------------------
STORE_PACKAGE = "trackmood.store"
#: SQL that makes a table or changes rows (in any string literal, f-strings included).
WRITE_SQL = re.compile(
    r"\b(CREATE\s+(TEMP\s+|TEMPORARY\s+)?TABLE|CREATE\s+(UNIQUE\s+)?INDEX|ALTER\s+TABLE|"
    r"DROP\s+TABLE|INSERT\s+(OR\s+\w+\s+)?INTO|REPLACE\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b",
    re.IGNORECASE,
)
#: Modules outside the store that still write the library with their own SQL. The test fails for
#: any other module, and once one of these is clean (remove it then).
PENDING_STORE_WRITERS: dict[str, str] = {
    # owned by other branches of issues 15/16; the Store methods to call instead exist:
}


def store_offences(path: Path) -> list[str]:
    """Write SQL in string literals, and ``<x>.conn.execute…`` calls, of one module."""
    tree = ast.parse(path.read_text(), filename=str(path))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) not in docstrings and (m := WRITE_SQL.search(node.value)):
                found.append(f"line {node.lineno}: {m.group(0)!r}")
        elif (
            isinstance(node, ast.Attribute)
            and node.attr in ("execute", "executemany", "executescript")
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "conn"
        ):
            found.append(f"line {node.lineno}: .conn.{node.attr}")
    return found


def test_store_offence_finder_finds_planted_sql(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        '"""CREATE TABLE in a docstring is prose."""\n'
        "def f(store, t):\n"
        '    store.conn.execute("SELECT 1")\n'
        '    q = f"insert or replace into {t} VALUES (1)"\n'
        '    return "CREATE TABLE x (a)", "update lib_files set a=1", "DELETE FROM kv"\n'
    )
    assert [o.split(": ", 1)[1] for o in store_offences(bad)] == [
        ".conn.execute",
        "'insert or replace into'",
        "'CREATE TABLE'",
        "'update lib_files set'",
        "'DELETE FROM'",
    ]


def test_only_the_store_makes_tables_and_writes_the_library():
    found = {
        m: o
        for m, p in modules().items()
        if not (m == STORE_PACKAGE or m.startswith(STORE_PACKAGE + "."))
        and (o := store_offences(p))
    }
    new = {m: o for m, o in found.items() if m not in PENDING_STORE_WRITERS}
    assert not new, f"tables or library writes outside {STORE_PACKAGE}: {new}"
    clean = sorted(set(PENDING_STORE_WRITERS) - set(found))
    assert not clean, f"clean now: remove {clean} from PENDING_STORE_WRITERS"


#: The Store's methods that write tracks, features, labels, predictions and library files.
STORE_WRITE_METHODS = {
    "upsert_tracks",
    "delete_track",
    "put_features",
    "put_features_many",
    "mark_missing",
    "put_provider_results",
    "put_labels",
    "delete_labels",
    "add_labeled_tracks",
    "put_predictions",
    "upsert_files",
    "update_file",
    "set_file_results",
    "mark_files_missing",
    "delete_files",
    "record_tag_changes",
    "mark_tag_undone",
}
#: Who may call them: the pipeline, the library commands, collecting labels, the remote feature
#: providers' caches, the web's DELETE /tracks and the CLI.
STORE_WRITERS = (
    "trackmood.store",
    "trackmood.pipeline",
    "trackmood.persist",  # the pipeline's store writes (split out of pipeline.py)
    "trackmood.library",
    "trackmood.collect",
    "trackmood.sources.provider",
    "trackmood.sources.spotify",
    "trackmood.web.routes",
    "trackmood.cli",
)
#: Other modules that still write tracks or features (the test fails once one is clean).
PENDING_OTHER_WRITERS: dict[str, str] = {}


def store_write_calls(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        f"line {n.lineno}: .{n.func.attr}()"
        for n in ast.walk(tree)
        if isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and n.func.attr in STORE_WRITE_METHODS
    ]


def test_only_the_pipeline_and_library_commands_write_tracks_and_features():
    found = {
        m: c
        for m, p in modules().items()
        if not any(m == w or m.startswith(w + ".") for w in STORE_WRITERS)
        and (c := store_write_calls(p))
    }
    new = {m: c for m, c in found.items() if m not in PENDING_OTHER_WRITERS}
    assert not new, f"library writes outside {STORE_WRITERS}: {new}"
    clean = sorted(set(PENDING_OTHER_WRITERS) - set(found))
    assert not clean, f"clean now: remove {clean} from PENDING_OTHER_WRITERS"
