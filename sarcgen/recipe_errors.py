"""Errors of a recipe in words a user can act on: `file:line: key.path: message`, or the flag that
set the bad value (`--temperature -1.0: generate.sampling.temperature: ...`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml
from pydantic import ValidationError

from sarcgen.backends.options import misplaced
from sarcgen.errors import RecipeError


def _yaml_line(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """Line (1-based) of the YAML node at `loc`, as close as the document gets."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if k.value == part:
                    line = k.start_mark.line + 1
                    node = v
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    cur = data
    for k in keys[:-1]:
        nxt = cur.setdefault(k, {})
        if not isinstance(nxt, dict):
            raise RecipeError(f"override {dotted!r}: {k!r} is not a section")
        cur = nxt
    cur[keys[-1]] = value


def override_source(overrides: Mapping[str, Any] | None, key: str) -> str | None:
    """Who set `key` (a dotted path) through `overrides`, e.g. "--temperature -1", or None when
    the value came from the file. A CLI passes an `Overrides` mapping whose `source(key)` names
    the flag; a plain mapping gives "override KEY=VALUE"."""
    if not overrides:
        return None
    # the key itself, a section it lies in, or (a check across fields of a section) a key inside it
    hits = [k for k, v in overrides.items()
            if v is not None and (key == k or key.startswith(k + ".") or k.startswith(key + "."))]
    if not hits:
        return None
    k = max(hits, key=len)
    named = getattr(overrides, "source", None)
    label = named(k) if callable(named) else None
    return label or f"override {k}={overrides[k]!r}"


def format_validation_error(source: str, exc: ValidationError, root: yaml.Node | None = None,
                            overrides: Mapping[str, Any] | None = None) -> str:
    """One line per problem: `file:line: key.path: message`, or `--flag VALUE: key.path: message`
    when the bad value came from a command-line flag (an override), not from the file."""
    lines = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        key = ".".join(str(p) for p in loc) or "(top level)"
        line = _yaml_line(root, loc) if root is not None else None
        where = override_source(overrides, key) or (f"{source}:{line}" if line else source)
        msg = (misplaced(loc) or "unknown key") if err["type"] == "extra_forbidden" else err["msg"]
        lines.append(f"{where}: {key}: {msg}")
    return "; ".join(lines)
