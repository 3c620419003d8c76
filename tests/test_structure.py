"""The package's shape: no import cycles, modules under ~400 lines, functions under ~60 lines.

Read from the source with `ast` (nothing is imported), so the checks are fast and see lazy
imports inside functions too. `if TYPE_CHECKING:` imports never run, but they are dependencies all
the same (a cycle hidden behind one still ties two modules together), so the strictest check counts
them too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sarcgen"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60

# Functions allowed to be longer, each with the reason.
LONG_FUNCTIONS = {
    # The training loop: read top to bottom, nanoGPT-style (epochs, batches, eval, early stopping).
    "sarcgen/finetune/train.py:train_classifier",
}
def _modules() -> dict[str, Path]:
    out = {}
    for f in sorted(PACKAGE.rglob("*.py")):
        parts = list(f.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = f
    return out


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    return "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(tree: ast.AST, *, lazy: bool, type_checking: bool = False) -> Iterator[str]:
    """The sarcgen modules `tree` imports: at module level, or anywhere when `lazy`; the imports
    under `if TYPE_CHECKING:` only when `type_checking`."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node) and not type_checking:
            for child in node.orelse:
                yield from _imports(ast.Module(body=[child], type_ignores=[]), lazy=lazy)
            continue
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) and not lazy:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                name = alias.name
                while name and name not in MODULES:
                    name = name.rpartition(".")[0]
                if name:
                    yield name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and node.module.split(".")[0] == "sarcgen":
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                yield sub if sub in MODULES else node.module
        yield from _imports(node, lazy=lazy, type_checking=type_checking)


def _graph(*, lazy: bool, type_checking: bool = False) -> dict[str, set[str]]:
    graph = {}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        graph[name] = {m for m in _imports(tree, lazy=lazy, type_checking=type_checking) if m != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            v, edges = work[-1]
            w = next(edges, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = set()
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.add(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    found.append(comp)
    return found


def test_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]


def test_no_import_cycle_at_module_level() -> None:
    assert _cycles(_graph(lazy=False)) == []


def test_no_import_cycle_through_lazy_imports() -> None:
    cycles = _cycles(_graph(lazy=True))
    assert cycles == [], "modules that import each other (inside functions too): " + "; ".join(map(str, cycles))


def test_no_import_cycle_including_type_checking_imports() -> None:
    """A type two modules share lives in the lower one (or behind a Protocol), so the layering holds
    for the type checker too, not only at run time."""
    cycles = _cycles(_graph(lazy=True, type_checking=True))
    assert cycles == [], ("modules that import each other (`if TYPE_CHECKING:` and inside functions too; move the "
                          "shared type to the lower module or use a Protocol): " + "; ".join(map(str, cycles)))


def test_graph_sees_type_checking_imports() -> None:
    tree = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from sarcgen.errors import InputError\n")
    assert list(_imports(tree, lazy=False)) == []
    assert list(_imports(tree, lazy=False, type_checking=True)) == ["sarcgen.errors"]


def _rel(path: Path) -> str:
    return path.relative_to(PACKAGE.parent).as_posix()


@pytest.mark.parametrize("path", sorted(MODULES.values()), ids=_rel)
def test_module_is_short(path: Path) -> None:
    n = len(path.read_text(encoding="utf-8").splitlines())
    assert n <= MAX_MODULE_LINES, f"{_rel(path)}: {n} lines (split it by responsibility)"


def test_functions_are_short() -> None:
    long = []
    for path in MODULES.values():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                key = f"{_rel(path)}:{node.name}"
                n = (node.end_lineno or node.lineno) - node.lineno + 1
                if n > MAX_FUNCTION_LINES and key not in LONG_FUNCTIONS:
                    long.append(f"{key} ({n} lines, line {node.lineno})")
    assert long == [], "functions over ~60 lines (name steps as functions): " + ", ".join(sorted(long))


def test_allow_lists_name_real_functions() -> None:
    names = {f"{_rel(p)}:{n.name}" for p in MODULES.values() for n in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
             if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    assert names >= LONG_FUNCTIONS, LONG_FUNCTIONS - names
