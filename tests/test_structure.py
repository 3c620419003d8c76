"""The package's shape: no import cycles, modules under ~400 lines, functions under ~60 lines; and
the tests' shape: no test module imports another (shared code lives in conftest.py fixtures,
tests/factories.py and tests/*_helpers.py).

Read from the source with `ast` (nothing is imported), so the checks are fast and see lazy
imports inside functions too. `if TYPE_CHECKING:` imports never run, but they are dependencies all
the same (a cycle hidden behind one still ties two modules together), so the strictest check counts
them too.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sarcgen"
TESTS = Path(__file__).resolve().parent
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


def _test_modules_imported(tree: ast.AST, me: str) -> Iterator[tuple[int, str]]:
    """(line, module) for each import in `tree` of a `test_*` module other than `me` (its own name)."""
    package = me.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from .test_x import y / from . import test_x
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            names = [base] + [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            if name.split(".")[0] == "tests" and name.rpartition(".")[2].startswith("test_") and name != me:
                yield node.lineno, name


def test_import_checker_finds_a_test_module_import() -> None:
    tree = ast.parse("from tests.filter.test_run import x\nfrom tests import factories\nfrom . import test_b\n"
                     "import tests.review.test_a as me\n")
    assert list(_test_modules_imported(tree, "tests.review.test_a")) == [(1, "tests.filter.test_run"), (3, "tests.review.test_b")]


def test_no_test_module_imports_another() -> None:
    """Tests share fixtures through conftest.py and data through tests/factories.py (or a *_helpers
    module), never by importing another test module: a test file then moves or changes on its own."""
    found = []
    for path in sorted(TESTS.rglob("*.py")):
        me = ".".join(path.relative_to(TESTS.parent).with_suffix("").parts)
        for line, name in _test_modules_imported(ast.parse(path.read_text(encoding="utf-8")), me):
            found.append(f"{path.relative_to(TESTS.parent).as_posix()}:{line} imports {name}")
    assert found == [], "test modules importing another test module (move what they share to tests/factories.py " \
                        "or a conftest.py fixture): " + ", ".join(found)


ANY_CEILING = 80
"""Uses of `typing.Any` in the package outside import lines: 406 before the contracts issue asked for
fewer than 150; 48 after it. Values of a known shape get a type (TypedDict, pydantic model, Protocol);
JSON passed through is `object` and narrowed where read."""


def test_any_stays_rare() -> None:
    uses = []
    for path in MODULES.values():
        for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if "import" not in line:
                uses += [f"{_rel(path)}:{no}"] * len(re.findall(r"\bAny\b", line))
    assert len(uses) < ANY_CEILING, f"{len(uses)} uses of Any (ceiling {ANY_CEILING}): " + ", ".join(uses[:20])
