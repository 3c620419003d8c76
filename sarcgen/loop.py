"""`sarcgen loop`: generate where the classifier fails, round after round.

Round 0 trains A (IMDB only) and reads a human-labelled development set the user gives (`--dev FILE`:
text, label, optionally device). Each later round:

1. takes the dev reviews the last round's classifier got wrong and counts them per cell: the
   technique (the dev file's `device` column, where it has one), the aspect the review talks about
   (the recipe's aspects, matched as words), the recipe's length bucket, and the class it missed;
2. generates the next batch (`generate.n` kept by the filter's gates, the round's own run folder,
   seed + round) with the recipe's attributes narrowed to the cells that hold at least their share
   of the errors, and a twin for every item when sincere positives are the ones missed;
3. filters it (every gate, per-row verdicts in the round's folder), then trains again on the IMDB
   sample plus the kept rows of every round so far (at `finetune.synthetic_ratio`, no row twice);
4. stops when dev accuracy does not improve on the best round, or after `--rounds`.

The dev set is never trained on: it only chooses cells and rounds, so the note beside its figures
says it is a selection set, and the comparison (`finetune-compare`) stays the test. Each finished
round is written to `loop.json` at once; a rerun after a crash, kill or Ctrl-C resumes from the
first unfinished round (generation itself resumes inside its folder).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict, TypeVar

from sarcgen.jsonl import write_json

if TYPE_CHECKING:
    from sarcgen.backends.base import Backend
    from sarcgen.finetune.data import BaseSplits, TextSet
    from sarcgen.recipe import Attributes, Recipe

LOOP_FILE = "loop.json"
T = TypeVar("T")


class Reading(TypedDict):
    """What one round's classifier did on the dev set (`train_and_read`)."""

    dev_accuracy: float
    wrong: list[int]  # 1 where the dev review was misclassified
    synthetic_rows: int
    imdb_val_loss: float


class Round(TypedDict, total=False):
    """One round of loop.json: round 0 has only the number and the reading."""

    round: int
    cells: dict[str, dict[str, int]]
    focus: dict[str, object]
    generated: int
    kept: int
    dev_accuracy: float
    wrong: list[int]
    synthetic_rows: int
    imdb_val_loss: float


class LoopState(TypedDict, total=False):
    """loop.json: the dev file, every finished round, why the loop stopped and its best round."""

    dev: str
    rounds: list[Round]
    stopped: str
    best_round: int


def _aspect_of(text: str, aspects: list[str]) -> str | None:
    low = text.lower()
    hits = [a for a in aspects if re.search(rf"\b{re.escape(a.lower())}", low)]
    return hits[0] if hits else None


def error_cells(dev: TextSet, wrong: list[bool], attrs: Attributes) -> dict[str, Counter[str]]:
    """Errors per technique, aspect, length bucket and missed class ("sarcastic"/"sincere")."""
    cells: dict[str, Counter[str]] = {k: Counter() for k in ("device", "aspect", "length", "class")}
    meta = dev.meta or [{}] * len(dev)
    for text, label, m, bad in zip(dev.texts, dev.labels, meta, wrong):
        if not bad:
            continue
        if m.get("device") in attrs.devices:
            cells["device"][str(m["device"])] += 1
        aspect = _aspect_of(text, list(attrs.aspects))
        if aspect:
            cells["aspect"][aspect] += 1
        words = len(text.split())
        bucket = min(attrs.lengths, key=lambda b: 0 if b.min_words <= words <= b.max_words else
                     min(abs(words - b.min_words), abs(words - b.max_words)))
        cells["length"][bucket.name] += 1
        cells["class"]["sarcastic" if label == 0 else "sincere"] += 1
    return cells


def _top(values: list[T], counts: Counter[str], name: Callable[[T], str] = str) -> list[T]:
    """The values holding at least their equal share of the errors (all of them when none is counted)."""
    total = sum(counts.values())
    if not total:
        return values
    keep = [v for v in values if counts[name(v)] >= total / len(values)]
    return keep or values


def focus(recipe: Recipe, cells: dict[str, Counter[str]], round_no: int) -> Recipe:
    """The round's recipe: attributes narrowed to the cells of the errors, its own seed."""
    g = recipe.generate
    a = g.attributes
    attrs = a.model_copy(update={"devices": _top(list(a.devices), cells["device"]),
                                 "aspects": _top(list(a.aspects), cells["aspect"]),
                                 "lengths": _top(list(a.lengths), cells["length"], lambda b: b.name)})
    sincere_missed = cells["class"]["sincere"] > cells["class"]["sarcastic"]
    update = {"attributes": attrs, "seed": g.seed + round_no, "twin_ratio": 1.0 if sincere_missed else g.twin_ratio}
    return recipe.model_copy(update={"generate": g.model_copy(update=update)})


@dataclass
class LoopData:
    base: BaseSplits
    dev: TextSet
    held_out: set[str]  # source keys of the IMDB validation and test samples: never trained on as rewrites


def load_loop_data(recipe: Recipe, dev_path: str | Path) -> LoopData:
    """The IMDB sample (evaluation texts and the dev set out of its pool) and the dev set."""
    from sarcgen.finetune.data import load_base_data, load_labelled_file, source_key
    from sarcgen.finetune.evalsets import load_challenge_sets

    s = recipe.finetune
    dev = load_labelled_file(dev_path)
    dev.name = "dev"
    exclude = [*load_challenge_sets(list(s.challenge), boundary=s.boundary), dev]
    base = load_base_data(s.base_data, s.hub_dataset, s.n_train, s.n_validation, s.n_test, s.seed, exclude=exclude)
    return LoopData(base, dev, {source_key(t) for t in base.validation.texts + base.test.texts})


def kept_rows(rounds_dir: list[Path], held_out: Collection[str] = ()) -> TextSet:
    """The filter's kept records of the given round folders, as one training set (twins keep pair ids),
    less the rewrites of a real review in `held_out` (source keys of the IMDB validation and test samples)."""
    from sarcgen import runfolder as rf
    from sarcgen.finetune.data import TextSet, clean_text
    from sarcgen.finetune.synthetic_data import read_records

    out = TextSet("synthetic", [], [], [])
    for d in rounds_dir:
        for r in read_records(d / rf.FILTERED) if (d / rf.FILTERED).is_file() else ():
            if r.meta.get("source_key") in held_out:
                continue
            out.texts.append(clean_text(r.text))
            out.labels.append(r.label)
            out.meta.append({"pair_id": f"{d.name}:{r.pair_id}" if r.pair_id else None})
    return out


def train_and_read(recipe: Recipe, data: LoopData, synthetic: TextSet, out: Path, progress: bool) -> Reading:
    """Train on IMDB train (+ the synthetic rows at finetune.synthetic_ratio) and read the dev set."""
    import numpy as np

    from sarcgen.finetune.compare import model_logits
    from sarcgen.finetune.frozen import FeatureCache, frozen_logits, train_head
    from sarcgen.finetune.synthetic_data import sample_synthetic
    from sarcgen.finetune.train import train_classifier

    s = recipe.finetune
    added = sample_synthetic(synthetic, s.synthetic_ratio, len(data.base.train), s.seed) if len(synthetic) else synthetic
    train = data.base.train + added if len(added) else data.base.train
    if s.freeze_encoder:
        cache = FeatureCache(out.parent / "features", s.base_model, s.max_length)
        res = train_head(s.base_model, train, data.base.validation, s, out / "checkpoint", seed=s.seed, cache=cache)
        logits = frozen_logits(res.model, res.tokenizer, cache)(data.dev)
    else:
        res = train_classifier(s.base_model, train, data.base.validation, s, out / "checkpoint", progress=progress)
        logits = model_logits(res.model, res.tokenizer, s)(data.dev)
    wrong = (np.asarray(logits).argmax(-1) != np.asarray(data.dev.labels)).tolist()
    return {"dev_accuracy": round(1 - sum(wrong) / len(wrong), 4), "wrong": [int(w) for w in wrong],
            "synthetic_rows": len(added), "imdb_val_loss": round(res.best_val_loss, 4)}


def _round(recipe: Recipe, data: LoopData, out: Path, r: int, prev: Round | None,
           backend: Backend | None, progress: bool, echo: Callable[[str], None]) -> Round:
    from sarcgen.filter.run import run_filter
    from sarcgen.generate.run import generate_run

    folder = out / f"round-{r:02d}"
    folder.mkdir(parents=True, exist_ok=True)
    info: Round = {"round": r}
    if prev is not None:
        cells = error_cells(data.dev, [bool(w) for w in prev["wrong"]], recipe.generate.attributes)
        rec = focus(recipe, cells, r)
        a = rec.generate.attributes
        info["cells"] = {k: dict(v.most_common()) for k, v in cells.items()}
        info["focus"] = {"devices": list(a.devices), "aspects": list(a.aspects), "lengths": [b.name for b in a.lengths],
                         "twin_ratio": rec.generate.twin_ratio}
        echo(f"[loop] round {r}: generating where round {r - 1} erred: {info['focus']}")
        generate_run(rec, out_dir=folder, backend=backend, progress=progress)
        rep = run_filter([folder], rec, folder, recipe_source="loop", progress=progress)
        info["generated"], info["kept"] = rep.total, rep.kept
    rounds = sorted(p for p in out.glob("round-*") if p.is_dir() and p.name != "round-00" and p.name <= folder.name)
    info.update(train_and_read(recipe, data, kept_rows(rounds, data.held_out), folder, progress))
    echo(f"[loop] round {r}: dev accuracy {info['dev_accuracy']:.3f} with {info['synthetic_rows']} synthetic rows")
    return info


def _read_state(path: Path, dev_path: str | Path) -> LoopState:
    import json

    from sarcgen.errors import InputError
    from sarcgen.jsonl import read_text

    if not path.is_file():
        return {"dev": str(dev_path), "rounds": []}
    try:
        state = json.loads(read_text(path))
    except ValueError as exc:
        raise InputError(f"{path}: not valid JSON ({exc})", "delete it to start the loop again") from None
    if state.get("dev") != str(dev_path):
        raise InputError(f"{path}: this loop was run with --dev {state.get('dev')}, not {dev_path}",
                         "pass the same --dev, or another --out for a new loop")
    return LoopState(**state)


def run_loop(recipe: Recipe, dev_path: str | Path, out: str | Path, *, max_rounds: int = 3, backend: Backend | None = None,
             progress: bool = True, echo: Callable[[str], None] = print) -> LoopState:
    """Run (or resume) the loop in `out`; returns loop.json's content."""
    out = Path(out)
    state_path = out / LOOP_FILE
    state = _read_state(state_path, dev_path)
    data = load_loop_data(recipe, dev_path)  # a bad --dev fails before anything is written
    out.mkdir(parents=True, exist_ok=True)
    rounds = state["rounds"]
    while len(rounds) <= max_rounds and not state.get("stopped"):
        r = len(rounds)
        rounds.append(_round(recipe, data, out, r, rounds[-1] if rounds else None, backend, progress, echo))
        best = max(x["dev_accuracy"] for x in rounds[:-1]) if r else None
        if best is not None and rounds[-1]["dev_accuracy"] <= best:
            state["stopped"] = f"round {r} did not improve dev accuracy ({rounds[-1]['dev_accuracy']:.3f} <= {best:.3f})"
        elif r == max_rounds:
            state["stopped"] = f"--rounds {max_rounds} reached"
        state["best_round"] = max(range(len(rounds)), key=lambda i: (rounds[i]["dev_accuracy"], -i))
        write_json(state_path, state, durable=True)  # a finished round is never lost or redone
    echo(f"[loop] stopped: {state.get('stopped')}; best round {state['best_round']} "
         f"(dev accuracy {rounds[state['best_round']]['dev_accuracy']:.3f}, round 0: {rounds[0]['dev_accuracy']:.3f})")
    return state
