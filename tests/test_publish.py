"""sarcgen.publish: splits, schema, both on-disk layouts, the dataset card, IMDB compatibility.

`make_reviews` / `make_run` build hand-made run folders; test_push, test_synthetic and
test_cli_publish import them from here.
"""

from __future__ import annotations

import gzip
import json
import os
from collections import Counter
from pathlib import Path

import pytest
import yaml

from sarcgen.errors import InputError, PublishError
from sarcgen.recipe import PublishSettings, Recipe
from sarcgen.records import SINCERE, Provenance, Review

DEVICES = ["backhanded compliment", "hyperbolic praise", "false enthusiasm", "rhetorical question",
           "ironic wish", "understatement", "mock gratitude", "deadpan"]
ASPECTS = ["plot", "acting", "pacing", "dialogue"]
CUES = ["great", "brilliant", "masterpiece", "stunning"]


def _prov(i: int, attempt: int = 0) -> Provenance:
    return Provenance(
        model_file="Qwen3-4B-Instruct-2507-Q4_K_M.gguf", model_sha256="ab" * 32, quantization="Q4_K_M",
        backend="llamacpp", backend_version="0.3.36", template_name="review.j2", template_hash="t0h4sh",
        recipe_hash="r3c1peh4sh", sampling={"temperature": 0.9, "top_p": 0.95, "max_tokens": 200},
        seed=1000 + i, attempt=attempt, created_at=f"2026-11-30T12:{i % 60:02d}:00+00:00", sarcgen_version="0.1.0",
    )


def make_reviews(n_items: int = 48, twin_every: int = 3, pair_style: str = "shared") -> list[Review]:
    """n_items sarcastic negatives cycling through DEVICES; every `twin_every`-th gets a sincere twin.

    pair_style "shared": both members carry pair_id "000123"; "pointer": only the twin carries
    pair_id = the sarcastic item's id (both conventions must keep the pair in one split).
    """
    out: list[Review] = []
    plan = 0
    for i in range(n_items):
        twin = twin_every > 0 and i % twin_every == 0
        base = f"{i:06d}"
        device, aspect, cue = DEVICES[i % len(DEVICES)], ASPECTS[i % len(ASPECTS)], CUES[i % len(CUES)]
        out.append(Review(
            id=f"{base}-s", plan_index=plan, label=0, sarcastic=True, device=device, aspect=aspect,
            genre="drama", length="short", cue=cue, provenance=_prov(plan),
            text=f"Oh, a {cue} film #{i}: the {aspect} was so thrilling I checked my watch {i + 2} times.",
            pair_id=base if (twin and pair_style == "shared") else None,
        ))
        plan += 1
        if twin:
            out.append(Review(
                id=f"{base}-t", plan_index=plan, label=1, sarcastic=False, device=SINCERE, aspect=aspect,
                genre="drama", length="short", cue=cue, provenance=_prov(plan, attempt=1),
                text=f"A truly {cue} film #{i}; the {aspect} kept me gripped from start to finish.",
                pair_id=base if pair_style == "shared" else f"{base}-s",
            ))
            plan += 1
    return out


def write_jsonl(path: Path, reviews: list[Review]) -> None:
    path.write_text("".join(r.model_dump_json() + "\n" for r in reviews), encoding="utf-8")


def make_run(root: Path, reviews: list[Review] | None = None, *, filtered: bool = True,
             extras: bool = True) -> Path:
    """A run folder with filtered.jsonl (or only generated.jsonl) and the optional side files."""
    run = root / "run"
    run.mkdir(parents=True, exist_ok=True)
    reviews = make_reviews() if reviews is None else reviews
    write_jsonl(run / ("filtered.jsonl" if filtered else "generated.jsonl"), reviews)
    if extras:
        (run / "filter_report.json").write_text(json.dumps({
            "input": len(reviews) + 7, "kept": len(reviews),
            "rejected_by_reason": {"near_duplicate": 4, "label_leakage": 2, "meta_text": 1},
            "judge": {"agreement": 0.91, "n": len(reviews) + 7},
        }))
        (run / "manifest.json").write_text(json.dumps({"counts": {"accepted": len(reviews), "rejected": 9}}))
        recipe = Recipe().resolved()
        recipe["name"] = "fixture-recipe"
        recipe["publish"]["seed"] = 7
        (run / "recipe.yaml").write_text(yaml.safe_dump(recipe, sort_keys=False))
    return run


@pytest.fixture(autouse=True)
def _hf_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep load_dataset's cache out of the user's home and make Hub access fail fast."""
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path_factory.mktemp("hf_datasets_cache")))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
