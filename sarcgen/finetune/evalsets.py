"""The evaluation sets finetune-compare reads besides IMDB test: the built-in challenge sentences, the
hand-written contrast pairs (seen and unseen cues), the boundary pairs (Kaushik et al. 2020) and
any `--challenge FILE`."""

from __future__ import annotations

from pathlib import Path

from sarcgen.challenge import CHALLENGE_SET
from sarcgen.finetune.data import TextSet, clean_text, load_labelled_file
from sarcgen.tables import read_columns


def builtin_challenge() -> TextSet:
    """The built-in sarcasm challenge set (sarcastic label 0, sincere controls label 1).

    A sarcastic item and a sincere control with the same cue form a contrast pair (`pair_id` is
    the cue), so the report can say how often both sides of "Great ..." are right.
    """
    kinds: dict[str, set[str]] = {}
    for c in CHALLENGE_SET:
        kinds.setdefault(c.cue, set()).add(c.kind)
    paired = {cue for cue, k in kinds.items() if len(k) == 2}
    return TextSet(
        "challenge",
        [c.text for c in CHALLENGE_SET],
        [c.label for c in CHALLENGE_SET],
        [{"kind": c.kind, "cue": c.cue, "pair_id": c.cue if c.cue in paired else None} for c in CHALLENGE_SET],
    )


def builtin_pairs() -> list[TextSet]:
    """The hand-written challenge pairs (`sarcgen.challenge.load_challenge_pairs`) as two sets:
    `challenge_seen`, pairs whose praise word is one of the recipe's cues, and `challenge_unseen`,
    pairs that use none of them: a gain only on the first may be vocabulary seen in training."""
    from sarcgen.challenge import load_challenge_pairs

    items = load_challenge_pairs()
    out = []
    for name, seen in (("challenge_seen", True), ("challenge_unseen", False)):
        mine = [c for c in items if bool(c.seen_cue) == seen]
        out.append(TextSet(name, [c.text for c in mine], [c.label for c in mine],
                           [{"kind": c.kind, "cue": c.cue, "pair_id": c.pair_id} for c in mine]))
    return out


BOUNDARY_FILE = "cad_dev_paired.tsv.gz"


def builtin_boundary() -> TextSet:
    """The boundary set: the 245 counterfactual dev pairs of Kaushik, Hovy & Lipton (ICLR 2020,
    Apache-2.0; `sarcgen/data/cad_dev.README.md` and `cad_dev.LICENSE`). Each IMDB review (kind
    `original`) and its minimal revision with the opposite sentiment (kind `counterfactual`) share a
    `pair_id`, so the report gives accuracy on each side and pair consistency (both right): a model
    that learned "praise means negative" loses the positive side of pairs whose words barely differ."""
    from sarcgen.embedded import IMDB_SAMPLE  # the package data folder

    cols = read_columns(IMDB_SAMPLE.parent / BOUNDARY_FILE, required=("Text", "Sentiment"))
    texts = [clean_text(str(t)) for t in cols["Text"]]
    labels = [1 if str(s).strip().lower() == "positive" else 0 for s in cols["Sentiment"]]
    meta: list[dict[str, object]] = [{"kind": "original" if i % 2 == 0 else "counterfactual", "pair_id": f"cad-{i // 2:03d}"}
                                      for i in range(len(texts))]
    return TextSet("boundary", texts, labels, meta)


def load_challenge_sets(files: list[str] | tuple[str, ...] = (), *, boundary: bool = True) -> list[TextSet]:
    """The built-in challenge set (the 25 items), the hand-written pairs with seen and with unseen
    cues, the boundary pairs (unless `boundary` is False), then each `--challenge FILE` (text,label[,kind])."""
    sets = [builtin_challenge(), *builtin_pairs()] + ([builtin_boundary()] if boundary else [])
    seen = {s.name for s in sets}
    for f in files:
        ts = load_labelled_file(f)
        name = Path(f).stem.split(".")[0]
        while name in seen:
            name += "_"
        seen.add(name)
        ts.name = name
        sets.append(ts)
    return sets
