"""The one YAML reader for recipes: YAML as people write it, less what YAML 1.1 lets pass silently.

PyYAML (YAML 1.1) keeps the last of two equal keys, reads `010` as octal 8 and `1:30` as the
base-60 number 90, and builds an unordered set from `!!set`. A recipe refuses each of these with
the file and line; it accepts what means one thing only (hex `0x10`, `1_000`, anchors, aliases and
`<<:` merge keys). A value YAML reads as a boolean, a number, a date or null where the recipe
wants text is refused by validation; `sarcgen.recipe_errors` then says how YAML read it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, NoReturn, get_args

import yaml
from pydantic import BaseModel, ValidationInfo

from sarcgen.errors import RecipeError
from sarcgen.jsonl import read_text

_OCTAL = re.compile(r"[-+]?0[0-7_]+")  # YAML 1.1 octal; YAML 1.2 (and most people) read 010 as ten
_INT_OR_FLOAT = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
_MERGE = "tag:yaml.org,2002:merge"


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses `!!set` (its order, and so the plan built from it, would vary)."""


def _no_set(loader: yaml.SafeLoader, node: yaml.Node) -> NoReturn:
    raise yaml.constructor.ConstructorError(
        None, None, "a YAML set (!!set) has no order: write a list such as [a, b]", node.start_mark)


_Loader.add_constructor("tag:yaml.org,2002:set", _no_set)


def line_of(node: yaml.Node) -> int:
    """The 1-based line a YAML node starts on."""
    return int(node.start_mark.line) + 1


def _check_scalar(node: yaml.ScalarNode, source: str) -> None:
    if node.style is not None or node.tag not in _INT_OR_FLOAT:
        return  # quoted, or read as text: nothing guessed
    where = f"{source}:{line_of(node)}"
    if _OCTAL.fullmatch(node.value):
        raise RecipeError(f"{where}: YAML 1.1 reads {node.value} as an octal number ({int(node.value.replace('_', ''), 8)})",
                          f"write the number without its leading zero, or quote it ('{node.value}') if it is text")
    if ":" in node.value:
        raise RecipeError(f"{where}: YAML 1.1 reads {node.value} as a base-60 number",
                          f"quote it ('{node.value}') if it is text, or write the number itself")


def _check_mapping(node: yaml.MappingNode, source: str) -> None:
    seen: dict[str, yaml.Node] = {}
    for key, _ in node.value:
        if not isinstance(key, yaml.ScalarNode) or key.tag == _MERGE:
            continue
        if key.value in seen:
            first = line_of(seen[key.value])
            raise RecipeError(f"{source}:{line_of(key)}: key {key.value!r} is given twice (lines {first} and {line_of(key)}); "
                              "YAML would silently keep only the last", "delete or merge one of the two")
        seen[key.value] = key


def check_nodes(root: yaml.Node, source: str) -> None:
    """Refuse duplicate keys, octal and base-60 numbers anywhere in the document (aliases once)."""
    todo, visited = [root], set()
    while todo:
        node = todo.pop()
        if id(node) in visited:
            continue
        visited.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            _check_scalar(node, source)
        elif isinstance(node, yaml.MappingNode):
            _check_mapping(node, source)
            todo += [n for pair in node.value for n in pair]
        elif isinstance(node, yaml.SequenceNode):
            todo += node.value


def _yaml_error(exc: yaml.YAMLError, source: str) -> RecipeError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f"{source}:{mark.line + 1}" if mark else source
    problem = str(getattr(exc, "problem", None) or exc).strip()
    hint = None
    if "'\\t'" in problem:
        hint = "indent with spaces: YAML does not allow tabs there"
    elif "another document" in problem or "single document" in problem:
        hint = "a recipe is one YAML document: remove the '---' line and what follows, or merge the two"
    return RecipeError(f"{where}: invalid YAML: {problem}", hint)


def load_yaml(text: str, source: str) -> tuple[object, yaml.Node | None]:
    """The data of one YAML document and its node tree (for line numbers), checked by `check_nodes`.
    Invalid YAML, or several documents, raise RecipeError naming `source` and the line."""
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None, None
        check_nodes(root, source)
        return loader.construct_document(root), root
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, source) from None
    finally:
        loader.dispose()


def _admits(annotation: object, kinds: tuple[object, ...]) -> bool:
    return annotation in kinds or any(_admits(a, kinds) for a in get_args(annotation))


def no_bool_numbers(cls: type[BaseModel], value: object, info: ValidationInfo) -> object:
    """A pydantic "before" validator for every field: refuse a boolean (or a list holding one)
    where the field takes a number and no boolean: pydantic would read `seed: yes` as 1 and `top_k:
    no` as 0. (Text fields refuse a boolean themselves.)"""
    values = value if isinstance(value, list) else [value]
    if not info.field_name or not any(isinstance(v, bool) for v in values):
        return value
    annotation = cls.model_fields[info.field_name].annotation
    if _admits(annotation, (int, float)) and not _admits(annotation, (bool, str, Any)):  # a field of any type takes a bool
        raise ValueError("got a boolean (YAML reads yes/no/on/off/true/false unquoted so) where a number is expected")
    return value


def read_recipe_file(path: str | Path) -> tuple[dict[str, Any], yaml.Node | None]:
    """A recipe file's mapping and its YAML node tree (for line numbers in errors)."""
    p = Path(path)
    if not p.is_file():
        raise RecipeError(f"{p}: recipe file not found", "pass a YAML file such as recipes/imdb-sarcasm.yaml")
    loaded, root = load_yaml(read_text(p), str(p))
    if loaded is None:
        loaded = {}
    if not isinstance(loaded, dict):
        raise RecipeError(f"{p}: a recipe must be a mapping of sections, got {type(loaded).__name__}")
    return loaded, root
