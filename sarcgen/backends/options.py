"""Each backend's own options, validated strictly (`extra="forbid"`), in its own recipe section:

    generate:
      backend: llamacpp            # which engine runs
      parallel: 4                  # shared: sequences decoded at once / requests in flight
      llamacpp: {n_ctx: 2048, n_threads: 8, n_gpu_layers: -1}
      openai: {base_url: http://127.0.0.1:8080/v1, api_model: qwen, request_timeout: 120}

An option under the wrong backend (`generate.llamacpp.base_url`) is an unknown key, reported as
`file:line: key.path`. The flat spelling of older recipes and of the CLI flags (`generate.n_ctx`,
`--base-url`) is still read: each key moves into its backend's section, and one that belongs to a
backend other than `generate.backend` is refused unless it holds its default (as a resolved
recipe.yaml of an older sarcgen does), so it can never be accepted and ignored.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from sarcgen.backends import registry
from sarcgen.fingerprint import THROUGHPUT_ONLY


class BackendOptions(BaseModel):
    """Base of a backend's options: unknown keys are errors. A field that changes how fast records come
    but not which (threads, URLs, timeouts) is marked ``json_schema_extra={"fingerprint": False}``: it stays out
    of the data fingerprint (sarcgen.fingerprint)."""

    model_config = ConfigDict(extra="forbid")


class LlamaCppOptions(BackendOptions):
    """In-process llama.cpp (`llamacpp`, and its continuous-batching variant at parallel > 1)."""

    n_ctx: int = Field(default=4096, ge=256, description="context per sequence (prompt + reply)")
    n_threads: int | None = Field(default=None, ge=1, description="llama.cpp threads (default: all cores)",
                                  json_schema_extra=THROUGHPUT_ONLY)
    n_gpu_layers: int = Field(default=-1, description="-1 offloads every layer when llama.cpp was built with a GPU",
                              json_schema_extra=THROUGHPUT_ONLY)


class OpenAIOptions(BackendOptions):
    """Any OpenAI-compatible server (`openai`): one URL, or a list (a fleet of replicas)."""

    base_url: str | list[str] | None = Field(default=None, description="OpenAI-compatible server URL, or a list (a fleet)",
                                             json_schema_extra=THROUGHPUT_ONLY)
    api_model: str | None = Field(default=None, description="model name sent to an OpenAI-compatible server")
    request_timeout: float = Field(default=120.0, gt=0, json_schema_extra=THROUGHPUT_ONLY)


class _OptionModels(Mapping[str, type[BackendOptions]]):
    """`BACKEND_OPTIONS`: backend name -> its options model (the section of the same name under
    `generate`), a live view of `sarcgen.backends.registry`; a backend without options (`fake`) is absent."""

    def __getitem__(self, name: str) -> type[BackendOptions]:
        spec = registry.find(name)
        model = spec.options_model() if spec is not None else None
        if model is None or not issubclass(model, BackendOptions):
            raise KeyError(name)
        return model

    def __iter__(self) -> Iterator[str]:
        return iter([name for name, spec in registry.specs().items() if spec.options is not None])

    def __len__(self) -> int:
        return sum(1 for _ in self)


BACKEND_OPTIONS: Mapping[str, type[BackendOptions]] = _OptionModels()


def owner_of(key: str, prefer: str | None = None) -> str | None:
    """The backend whose option `key` is (`prefer` when several have it), or None. The builtins are
    asked first; the plug-ins' entry points are read only for a key no builtin has."""
    def owners(specs: dict[str, registry.BackendSpec]) -> list[str]:
        models = {name: spec.options_model() for name, spec in specs.items() if spec.options is not None}
        return [name for name, model in models.items() if model is not None and key in model.model_fields]

    found = owners(registry.known_specs()) or owners(registry.specs())
    return prefer if prefer in found else next(iter(found), None)


def place_flat_options(data: Any, fields: Collection[str] = ()) -> Any:
    """Move flat backend options of a `generate` mapping into their backend's section (see the
    module docstring). A flat option of another backend than the selected one stays where it is,
    so validation reports it (with its line) as misplaced; one holding its default is dropped.
    Keys in `fields` (the settings' own) are never a backend's option."""
    if not isinstance(data, dict):
        return data
    data = dict(data)
    backend = data.get("backend", "llamacpp")
    owners = {k: owner_of(k, prefer=backend) for k in data if k not in fields}
    for key, owner in owners.items():
        if owner is None:
            continue
        default = BACKEND_OPTIONS[owner].model_fields[key].default
        if owner != backend and data[key] != default:
            continue  # misplaced: left for validation to report
        value = data.pop(key)
        section = data.get(owner)
        if section is None or isinstance(section, dict):
            data[owner] = {**(section or {}), key: value}
    return data


def misplaced(loc: tuple[Any, ...]) -> str | None:
    """The message for an unknown key at `loc` that is another backend's option, else None."""
    if len(loc) < 2 or loc[0] != "generate" or not isinstance(loc[-1], str):
        return None
    owner = owner_of(loc[-1])
    if owner is None:
        return None
    if len(loc) == 3 and loc[1] in BACKEND_OPTIONS:
        return (f"not an option of the {loc[1]} backend ({', '.join(BACKEND_OPTIONS[str(loc[1])].model_fields)}); "
                f"it belongs to the {owner} backend: generate.{owner}.{loc[-1]}")
    if len(loc) == 2:
        return (f"an option of the {owner} backend, but generate.backend is another one: set generate.backend "
                f"(--backend) to {owner}, or leave it out")
    return None


def plugin_sections(data: dict[str, Any], fields: Collection[str]) -> dict[str, Any]:
    """`data` (a `generate` mapping) with the sections of registered backends that have no field
    of their own (`generate.<plug-in>`) validated against their options model into `plugins`; the
    selected backend's section is filled with its defaults when absent. A bad option raises the
    `ValidationError` at `generate.<name>.<key>`, so it is reported with its file and line."""
    if "plugins" in data:  # the sections' store, not a key a recipe may spell
        raise ValidationError.from_exception_data(
            "GenerateSettings", [{"type": "extra_forbidden", "loc": ("plugins",), "input": data["plugins"]}])
    models = {k: BACKEND_OPTIONS[k] for k in data if k not in fields and k in BACKEND_OPTIONS}
    selected = data.get("backend")
    if isinstance(selected, str) and selected not in fields and selected in BACKEND_OPTIONS:
        models[selected] = BACKEND_OPTIONS[selected]
    if not models:
        return data
    sections = {name: data.get(name, {}) for name in models}
    checked = _sections_model(tuple(sorted(models.items()))).model_validate(sections)
    rest = {k: v for k, v in data.items() if k not in models}
    return {**rest, "plugins": {name: getattr(checked, f"s_{name}") for name in models}}


@lru_cache(maxsize=64)
def _sections_model(models: tuple[tuple[str, type[BackendOptions]], ...]) -> type[BaseModel]:
    """A model of these backends' sections (fields aliased by backend name, so errors say `<name>.<key>`)."""
    fields: dict[str, Any] = {f"s_{name}": (model, Field(alias=name)) for name, model in models}
    return create_model("BackendSections", __config__=ConfigDict(extra="forbid", protected_namespaces=()), **fields)
