"""Errors of a recipe in words a user can act on: `file:line: key.path: message`, or the flag that
set the bad value (`--temperature -1.0: generate.sampling.temperature: ...`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, get_args

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticCustomError

from sarcgen.backends.options import misplaced
from sarcgen.errors import RecipeError
from sarcgen.recipe_yaml import line_of

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails


def _yaml_node(node: yaml.Node | None, loc: tuple[int | str, ...]) -> tuple[int | None, yaml.Node | None]:
    """Line (1-based) of the YAML node at `loc`, as close as the document gets, and that node
    (None when `loc` leads past what the document holds)."""
    line = line_of(node) if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if k.value == part:
                    line = line_of(k)
                    node = v
                    break
            else:
                return line, None
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = line_of(node)
        else:
            return line, None
    return line, node


def _yaml_reading(node: yaml.Node | None, err: ErrorDetails) -> str | None:
    """What to say when YAML, not the user, made the value wrong: an unquoted `no` read as the
    boolean false where text is wanted, `1.10` read as the number 1.1, an empty `n:` read as null."""
    value = err["input"]
    if not isinstance(node, yaml.ScalarNode) or node.style is not None or isinstance(value, str):
        return None
    if value is None:
        if not node.value:
            return "no value given (YAML reads an empty value as null): give one, or delete the key to keep the default"
        return (f"YAML reads an unquoted {node.value} as null (no value): quote it ('{node.value}') if it is text, "
                "or delete the key to keep the default")
    shown = str(value).lower() if isinstance(value, bool) else str(value)
    kind = "boolean" if isinstance(value, bool) else "number" if isinstance(value, (int, float)) else type(value).__name__
    read = f"YAML reads {node.value} as a {kind}" if shown == node.value else f"YAML reads {node.value} as the {kind} {shown}"
    if err["type"] == "string_type":
        return f"{read}, not text: quote it ('{node.value}')"
    if isinstance(value, bool) and err["type"] == "value_error":
        return f"{read}, not a number: write the number itself"
    return None


def _set_dotted(data: dict[str, object], dotted: str, value: object) -> None:
    keys = dotted.split(".")
    cur = data
    for k in keys[:-1]:
        nxt = cur.setdefault(k, {})
        if not isinstance(nxt, dict):
            raise RecipeError(f"override {dotted!r}: {k!r} is not a section")
        cur = nxt
    cur[keys[-1]] = value


def override_source(overrides: Mapping[str, object] | None, key: str) -> str | None:
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


def _did_you_mean(model: type[BaseModel] | None, loc: tuple[int | str, ...]) -> str:
    """" (did you mean 'generate'?)" for an unknown key at `loc` close to a key of its section."""
    import difflib

    for part in loc[:-1]:
        field = model.model_fields.get(str(part)) if model is not None else None
        if field is None:
            return ""
        model = next((t for t in (field.annotation, *get_args(field.annotation))
                      if isinstance(t, type) and issubclass(t, BaseModel)), None)
    if model is None:
        return ""
    close = difflib.get_close_matches(str(loc[-1]).lower(), list(model.model_fields), n=1, cutoff=0.75)
    return f" (did you mean {close[0]!r}?)" if close else ""


def format_validation_error(source: str, exc: ValidationError, root: yaml.Node | None = None,
                            overrides: Mapping[str, object] | None = None, model: type[BaseModel] | None = None) -> str:
    """One line per problem: `file:line: key.path: message`, or `--flag VALUE: key.path: message`
    when the bad value came from a command-line flag (an override), not from the file."""
    lines = []
    for err in exc.errors():
        at = (err.get("ctx") or {}).get("at")  # a recipe-level check that names its own key (`at_key`)
        loc = tuple(str(at).split(".")) if at else tuple(err["loc"])
        key = ".".join(str(p) for p in loc) or "(top level)"
        line, node = _yaml_node(root, loc) if root is not None else (None, None)
        flag = override_source(overrides, key)
        where = flag or (f"{source}:{line}" if line else source)
        msg = (misplaced(loc) or "unknown key" + _did_you_mean(model, loc)) if err["type"] == "extra_forbidden" else err["msg"]
        msg = (None if flag else _yaml_reading(node, err)) or msg
        lines.append(f"{where}: {key}: {msg}")
    return "; ".join(lines)


def at_key(key: str, message: str) -> PydanticCustomError:
    """A recipe-level validation error blamed on `key` ("generate.judge_template"): reported with that
    key's line, like a field's own error."""
    return PydanticCustomError("recipe_key", message, {"at": key})
