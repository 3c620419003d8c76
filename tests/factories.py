"""Test data built in one place: provenance, review records (JSONL dicts and `Review`s), hand-made
run folders, generation requests, the fake judge's answers, a Hub-cache layout.

Test modules import these (or take a fixture from a conftest.py) instead of importing each other,
so a test module can be moved or edited without breaking another one (tests/test_structure.py
checks this).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from sarcgen.backends.base import GenerationRequest
from sarcgen.filter.calibration import CALIBRATION_SET
from sarcgen.jsonl import read_jsonl
from sarcgen.recipe import Recipe, load_recipe
from sarcgen.records import SINCERE, Provenance, Review

# ---------------------------------------------------------------------------------------------
# Records as the filter reads them (generated.jsonl lines)

PROV: dict[str, Any] = {
    "model_file": "fake.gguf", "model_sha256": "0" * 64, "quantization": None, "backend": "fake", "backend_version": "0",
    "template_name": "review.j2", "template_hash": "abc", "recipe_hash": "def", "sampling": {"temperature": 0.9},
    "seed": 1, "created_at": "2026-01-01T00:00:00+00:00", "sarcgen_version": "0.1.0",
}

GOOD_SARCASTIC = [
    ("backhanded compliment", "plot", "great", "A great plot for anyone who enjoys guessing nothing, because every twist was announced an hour before it happened."),
    ("hyperbolic praise", "acting", "brilliant", "The most brilliant acting of the century, provided the century is measured in cardboard cutouts standing very still."),
    ("rhetorical question", "pacing", "amazing", "Who knew a film could be this amazing at making ninety minutes feel like an entire winter spent waiting for a bus?"),
    ("mock gratitude", "dialogue", "thanks", "Many thanks to the writers for dialogue so stiff that my grandmother's furniture sounded more natural by comparison."),
    ("deadpan", "ending", "perfect", "The ending was perfect in the way a parking ticket is perfect: it arrived, it cost me, and I learned nothing."),
    ("understatement", "soundtrack", "stunning", "The soundtrack was stunning, in that it stunned my ears into a state of permanent ringing for days after."),
]
GOOD_SINCERE = [
    ("plot", "great", "A great plot that kept me guessing until the final scene, with twists that felt earned and surprising every time."),
    ("acting", "brilliant", "Brilliant performances all round; the two leads share a warmth that made every quiet scene feel alive and true."),
]


def make_provenance(**overrides: Any) -> Provenance:
    """The provenance of a fake-backend record (`PROV`), with `overrides` (recipe_hash, seed, ...)."""
    return Provenance.model_validate({**PROV, **overrides})


def review_record(i: int, text: str, *, device: str = "deadpan", aspect: str = "plot", cue: str = "great",
                  sarcastic: bool = True, pair: str | None = None, **extra: Any) -> dict[str, Any]:
    """One generated.jsonl line: item `i` (id 00000i-s, or -t when sincere) saying `text`; `extra`
    sets or replaces any field (id, provenance, ...)."""
    sincere = not sarcastic
    rec = {
        "id": f"{i:06d}-{'t' if sincere else 's'}", "plan_index": i, "text": text, "label": 1 if sincere else 0,
        "sarcastic": sarcastic, "device": "sincere" if sincere else device, "aspect": aspect, "genre": "drama",
        "length": "short", "cue": cue, "pair_id": pair, "provenance": PROV,
    }
    rec.update(extra)
    return rec


def make_review(i: int = 0, text: str = "A great film, if you enjoy naps.", **kw: Any) -> Review:
    """`review_record` as a validated `Review`."""
    return Review.model_validate(review_record(i, text, **kw))


def good_records() -> list[dict[str, Any]]:
    """The six sarcastic and two sincere records every filter check keeps."""
    recs = [review_record(i, t, device=d, aspect=a, cue=c) for i, (d, a, c, t) in enumerate(GOOD_SARCASTIC)]
    recs += [review_record(10 + i, t, aspect=a, cue=c, sarcastic=False) for i, (a, c, t) in enumerate(GOOD_SINCERE)]
    return recs


def sample_records() -> list[dict[str, Any]]:
    """`good_records` plus one record for each reason the filter drops a row (see each comment)."""
    return good_records() + [
        review_record(20, "Too short to count."),  # too_short
        review_record(21, "Here is a sarcastic review: a great movie if you like staring at walls for two long hours."),  # meta_text
        review_record(22, "This sarcastic take says the great film was a total snooze from the first scene to the credits."),  # label_leak
        review_record(23, "The film was dull and slow and the actors mumbled through every single scene of it."),  # missing_positive_cue
        review_record(24, "A great film, if you enjoy watching the same scene repeated for an hour with no payoff.", sarcastic=False),  # twist
        review_record(25, GOOD_SARCASTIC[0][3]),  # exact duplicate of 0
        review_record(26, GOOD_SARCASTIC[1][3].replace("very still", "very, very still")),  # near duplicate of 1
        review_record(27, "Great movie, if you enjoy watching paint dry for two hours. I certainly did not, sadly."),  # contaminated
    ]


def write_run(folder: Path, recs: list[dict[str, Any]], extra_lines: Sequence[str] = ()) -> Path:
    """A run folder holding only generated.jsonl: `recs`, then `extra_lines` as they are."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(r) for r in recs] + list(extra_lines)
    (folder / "generated.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def read_records(path: Path) -> list[dict[str, Any]]:
    """The JSON lines of a records file, [] while it is not there yet (a run still starting)."""
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()] if path.exists() else []


# ---------------------------------------------------------------------------------------------
# Filtered records as publish reads them, in a run folder with its side files

DEVICES = ["backhanded compliment", "hyperbolic praise", "false enthusiasm", "rhetorical question",
           "ironic wish", "understatement", "mock gratitude", "deadpan"]
ASPECTS = ["plot", "acting", "pacing", "dialogue"]
CUES = ["great", "brilliant", "masterpiece", "stunning"]
QWEN_PROV = {"model_file": "Qwen3-4B-Instruct-2507-Q4_K_M.gguf", "model_sha256": "ab" * 32, "quantization": "Q4_K_M",
             "backend": "llamacpp", "backend_version": "0.3.36", "template_hash": "t0h4sh", "recipe_hash": "r3c1peh4sh",
             "sampling": {"temperature": 0.9, "top_p": 0.95, "max_tokens": 200}}


def _published_provenance(i: int, attempt: int = 0) -> Provenance:
    return make_provenance(**QWEN_PROV, seed=1000 + i, attempt=attempt, created_at=f"2026-11-30T12:{i % 60:02d}:00+00:00")


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
            genre="drama", length="short", cue=cue, provenance=_published_provenance(plan),
            text=f"Oh, a {cue} film #{i}: the {aspect} was so thrilling I checked my watch {i + 2} times.",
            pair_id=base if (twin and pair_style == "shared") else None,
        ))
        plan += 1
        if twin:
            out.append(Review(
                id=f"{base}-t", plan_index=plan, label=1, sarcastic=False, device=SINCERE, aspect=aspect,
                genre="drama", length="short", cue=cue, provenance=_published_provenance(plan, attempt=1),
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
            "judge": {"agreement_rate": 0.91, "judged": len(reviews) + 7, "mode": "enforce", "model_file": "judge.gguf",
                      "calibration": {"gate": "sentiment", "n": 45, "passed": True,
                                      "per_class": {"sarcastic negatives": {"precision": 0.92, "recall": 0.8}}}},
        }))
        (run / "manifest.json").write_text(json.dumps({"counts": {"accepted": len(reviews), "rejected": 9}}))
        recipe = Recipe().resolved()
        recipe["name"] = "fixture-recipe"
        recipe["publish"]["seed"] = 7
        (run / "recipe.yaml").write_text(yaml.safe_dump(recipe, sort_keys=False))
    return run


# ---------------------------------------------------------------------------------------------
# Generation: recipes, requests, replies

GOOD_REPLY = "Great movie, if you enjoy watching paint dry for an afternoon."


def generate_recipe(tmp_path: Path, **gen: Any) -> Recipe:
    """A small fake-backend recipe (6 items, half with twins) writing under tmp_path/outputs."""
    return load_recipe(None, {"output_dir": str(tmp_path / "outputs"), "name": "t",
                              "generate": {"n": 6, "twin_ratio": 0.5, "backend": "fake", **gen}})


def run_ids(run: Path) -> list[str]:
    """The ids of a run folder's generated.jsonl, in file order."""
    return [r["id"] for r in read_jsonl(run / "generated.jsonl")]


def simple_requests(n: int, max_tokens: int = 50) -> list[GenerationRequest]:
    """n one-line requests ("q0", "q1", ...) with seeds 100, 101, ..."""
    return [
        GenerationRequest(key=f"r{i}", messages=[{"role": "user", "content": f"q{i}"}], seed=100 + i, max_tokens=max_tokens)
        for i in range(n)
    ]


REVIEW_SYSTEM = (
    "You write short sarcastic movie reviews. Examples follow.\n"
    "Example: Great movie, if you enjoy watching paint dry for two hours.\n"
    "Example: The visual effects were stunning, but the plot made zero sense."
)


def review_requests(n: int, max_tokens: int = 24, seed0: int = 1000) -> list[GenerationRequest]:
    """n review requests sharing the `REVIEW_SYSTEM` prefix, of three prompt lengths."""
    aspects = ["plot", "acting", "pacing", "dialogue", "ending"]
    return [
        GenerationRequest(
            key=f"item-{i:03d}",
            messages=[
                {"role": "system", "content": REVIEW_SYSTEM},
                {"role": "user", "content": f"Write review {i} about the {aspects[i % 5]}." + " Be brief." * (i % 3)},
            ],
            seed=seed0 + i,
            max_tokens=max_tokens,
        )
        for i in range(n)
    ]


# The answers of a judge that passes its calibration: every calibration review read right.
CALIBRATION_ANSWERS = {c.text: f"sentiment: {'positive' if c.label else 'negative'}\nsarcastic: {'yes' if c.sarcastic else 'no'}"
                       for c in CALIBRATION_SET}


def fake_hub_cache(hf_home: Path, repo: str, file: str, src: Path) -> Path:
    """Lay out a file the way huggingface_hub caches it (refs/main -> snapshots/<commit>/file)."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    root = hf_home / "hub" / ("models--" + repo.replace("/", "--"))
    (root / "refs").mkdir(parents=True)
    (root / "refs" / "main").write_text(commit)
    snap = root / "snapshots" / commit
    snap.mkdir(parents=True)
    (snap / file).write_bytes(src.read_bytes())
    return snap / file
