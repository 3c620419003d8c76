"""Versioned fingerprints of the settings that shape the generated data.

A generate run folder stores the fingerprint of the settings its records were made with (manifest.json
`recipe_hash`, and each record's provenance `recipe_hash`) and, since version 2, the version of the
formula (`fingerprint_version`). `sarcgen generate` resumes a folder only when the recipe resolves to the
same fingerprint *under the folder's version*: a folder made by an older sarcgen keeps working with the
formula it was made with, and a folder made by a newer sarcgen is refused with a message naming both.

Version 2 (this sarcgen) hashes the model and the generate section's own settings, leaving out every
field marked ``json_schema_extra={"fingerprint": False}`` (throughput knobs: the target count, top-up
rounds, parallelism, executor, threads, server URLs, timeouts: they change how fast records come, not
which plan items exist or how they are prompted), and of the backend options only the *selected*
backend's. The judge template is the filter's (`filter.judge_template`), so it is not in it.

Version 1 (sarcgen before the fingerprint had a version) folded every backend's options and
`generate.judge_template` into the hash: changing only the judge template refused to resume a run.
It is kept, byte for byte, so the folders it made resume.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic.json_schema import JsonDict

FINGERPRINT_VERSION = 2
"""The version this sarcgen writes."""
VERSIONS = (1, 2)
"""The versions this sarcgen can check (newest last)."""
THROUGHPUT_ONLY: JsonDict = {"fingerprint": False}
"""`Field(json_schema_extra=THROUGHPUT_ONLY)`: a setting that changes speed, never the data (left out of
the fingerprint, so a run resumes with another value)."""

# Version 1's throughput exclusions and the backend sections it flattened, as they were.
_V1_SKIP = ("n", "top_up_rounds", "max_generated", "n_threads", "request_timeout", "base_url", "parallel", "executor",
            "workers", "ray_address", "gpus_per_worker")
_V1_BACKENDS = ("llamacpp", "openai")
_V1_FIELDS = ("n", "top_up_rounds", "max_generated", "seed", "template", "judge_template", "twin_ratio", "max_retries",
              "sampling", "attributes", "backend", "parallel", "llamacpp", "openai", "executor", "workers",
              "ray_address", "gpus_per_worker", "grounding")


def fingerprinted(info: FieldInfo) -> bool:
    """Whether a settings field shapes the data (False when marked ``{"fingerprint": False}``)."""
    extra = info.json_schema_extra
    return not (isinstance(extra, dict) and extra.get("fingerprint") is False)


def data_settings(settings: BaseModel | None) -> dict[str, object]:
    """`settings` dumped as JSON values, without the fields that do not shape the data ({} for None)."""
    if settings is None:
        return {}
    dump = settings.model_dump(mode="json")
    return {name: dump[name] for name, info in type(settings).model_fields.items() if fingerprinted(info) and name in dump}


def _digest(key: Mapping[str, object]) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


def generate_fingerprint(model: BaseModel, generate: BaseModel, options: BaseModel | None, *, grounded: bool,
                         judge_template: str, version: int = FINGERPRINT_VERSION) -> str:
    """The fingerprint of the generated data's settings under `version` (see the module docstring).

    `model`: the recipe's model section; `generate`: its generate section; `options`: the selected
    backend's options (None for a backend without any); `grounded`: whether grounding is active;
    `judge_template`: the filter's judge template (version 1 counted it).
    """
    if version == 1:
        return _v1(model, generate, grounded=grounded, judge_template=judge_template)
    if version != 2:
        raise ValueError(f"fingerprint version {version} is not one of {VERSIONS}")
    # every backend's section is marked THROUGHPUT_ONLY: the selected backend's data-shaping options go in under "options"
    section = data_settings(generate)
    section["options"] = data_settings(options)
    if not grounded:  # recipes that do not ground keep one fingerprint whatever the grounding defaults become
        section.pop("grounding", None)
    return _digest({"version": 2, "model": model.model_dump(mode="json"), "generate": section})


def _v1(model: BaseModel, generate: BaseModel, *, grounded: bool, judge_template: str) -> str:
    dump = generate.model_dump(mode="json")
    section: dict[str, object] = {k: dump[k] for k in _V1_FIELDS if k in dump}
    section["judge_template"] = judge_template
    for name in _V1_BACKENDS:  # flat, as before backends had their own sections
        options = section.pop(name, None)
        if isinstance(options, dict):
            section.update(options)
    if not grounded:
        section.pop("grounding", None)
    for k in _V1_SKIP:
        section.pop(k, None)
    return _digest({"model": model.model_dump(mode="json"), "generate": section})
