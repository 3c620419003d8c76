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

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class BackendOptions(BaseModel):
    """Base of a backend's options: unknown keys are errors. A field that changes how fast records come
    but not which (threads, URLs, timeouts) is marked ``json_schema_extra={"fingerprint": False}``: it stays out
    of the data fingerprint (sarcgen.fingerprint)."""

    model_config = ConfigDict(extra="forbid")


class LlamaCppOptions(BackendOptions):
    """In-process llama.cpp (`llamacpp`, and its continuous-batching variant at parallel > 1)."""

    n_ctx: int = Field(default=4096, ge=256, description="context per sequence (prompt + reply)")
    n_threads: int | None = Field(default=None, ge=1, description="llama.cpp threads (default: all cores)",
                                     json_schema_extra={"fingerprint": False})
    n_gpu_layers: int = Field(default=-1, description="-1 offloads every layer when llama.cpp was built with a GPU",
                              json_schema_extra={"fingerprint": False})


class OpenAIOptions(BackendOptions):
    """Any OpenAI-compatible server (`openai`): one URL, or a list (a fleet of replicas)."""

    base_url: str | list[str] | None = Field(default=None, description="OpenAI-compatible server URL, or a list (a fleet)",
                                                    json_schema_extra={"fingerprint": False})
    api_model: str | None = Field(default=None, description="model name sent to an OpenAI-compatible server")
    request_timeout: float = Field(default=120.0, gt=0, json_schema_extra={"fingerprint": False})


# backend name -> its options (the section of the same name under `generate`). `fake` has none.
BACKEND_OPTIONS: dict[str, type[BackendOptions]] = {"llamacpp": LlamaCppOptions, "openai": OpenAIOptions}


def owner_of(key: str) -> str | None:
    """The backend whose option `key` is, or None."""
    return next((name for name, cls in BACKEND_OPTIONS.items() if key in cls.model_fields), None)


def place_flat_options(data: Any) -> Any:
    """Move flat backend options of a `generate` mapping into their backend's section (see the
    module docstring). A flat option of another backend than the selected one stays where it is,
    so validation reports it (with its line) as misplaced; one holding its default is dropped."""
    if not isinstance(data, dict):
        return data
    data = dict(data)
    backend = data.get("backend", "llamacpp")
    for key in [k for k in data if owner_of(k)]:
        owner = owner_of(key)
        assert owner is not None
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
