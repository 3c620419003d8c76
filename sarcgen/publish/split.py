"""The one train/validation/test split of synthetic reviews, used by `sarcgen publish` and by
`sarcgen finetune-compare` (whatever form the reviews come in), so the same reviews always land
in the same splits.

Seeded and stratified by (label, device); a review and its contrast twin (same pair_id, or a
pair_id naming the other's id) stay together.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Protocol, TypeVar

from sarcgen.errors import PublishError
from sarcgen.recipe import PublishSettings

if TYPE_CHECKING:
    import datasets

SPLITS = ("train", "validation", "test")


class Splittable(Protocol):
    """What the split looks at: a `Review` has it, and so does a hand-made row wrapped for it."""

    @property
    def id(self) -> str: ...
    @property
    def plan_index(self) -> int: ...
    @property
    def pair_id(self) -> str | None: ...
    @property
    def label(self) -> int: ...
    @property
    def device(self) -> str: ...
    @property
    def sarcastic(self) -> bool: ...


R = TypeVar("R", bound=Splittable)


def check_fractions(settings: PublishSettings) -> dict[str, float]:
    """Split fractions that are > 0, checked to sum to 1."""
    fr = {s: float(getattr(settings, s)) for s in SPLITS}
    total = sum(fr.values())
    if abs(total - 1.0) > 1e-6:
        raise PublishError(
            f"publish.train + publish.validation + publish.test = {total:g}, not 1",
            "fix the recipe's publish section or the --train/--validation/--test flags",
        )
    return {s: f for s, f in fr.items() if f > 0}


def _units(records: Sequence[R]) -> list[list[R]]:
    """Group records that must share a split: same pair_id, or a pair_id naming another record's id."""
    parent = list(range(len(records)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    by_id = {r.id: i for i, r in enumerate(records)}
    first_with_pair: dict[str, int] = {}
    for i, r in enumerate(records):
        if r.pair_id is None:
            continue
        for j in (first_with_pair.setdefault(r.pair_id, i), by_id.get(r.pair_id, i)):
            parent[find(i)] = find(j)
    groups: dict[int, list[R]] = defaultdict(list)
    for i, r in enumerate(records):
        groups[find(i)].append(r)
    return list(groups.values())


def _stratum(unit: list[R]) -> tuple[int, str]:
    """A unit is stratified by its sarcastic member (the twin follows it), else its first member."""
    primary = next((r for r in unit if r.sarcastic), unit[0])
    return (primary.label, primary.device)


def _allot(n: int, fractions: dict[str, float], done_units: int, given: dict[str, int]) -> dict[str, int]:
    """How many of a stratum's `n` units each split gets (largest remainder, drift-corrected)."""
    counts = {s: math.floor(n * f) for s, f in fractions.items()}
    spare = n - sum(counts.values())
    if n >= len(fractions):  # every split gets one unit of every technique
        for s in fractions:
            if counts[s] == 0:
                if spare:
                    spare -= 1
                else:
                    counts[max(counts, key=lambda d: counts[d])] -= 1
                counts[s] = 1
    done = done_units + n
    for _ in range(spare):
        # largest remainder, plus how far each split is below its running overall target
        s = max(fractions, key=lambda s: (n * fractions[s] - counts[s]) + (fractions[s] * done - given[s] - counts[s]))
        counts[s] += 1
    return counts


def split_records(records: Iterable[R], settings: PublishSettings) -> dict[str, list[R]]:
    """Seeded, stratified split. Returns {split: records sorted by plan order} for splits with f > 0.

    Within each (label, device) stratum, units (a review, or a review with its contrast twin) are
    shuffled with a seed derived from `settings.seed` and the stratum, then allotted by largest
    remainder. A stratum with at least one unit per split gives every split at least one unit, so
    every technique is seen everywhere when counts allow. Leftover units go to the split furthest
    below its overall target, so small strata do not drift the totals.
    """
    fractions = check_fractions(settings)
    recs = sorted(records, key=lambda r: (r.plan_index, r.id))
    strata: dict[tuple[int, str], list[list[R]]] = defaultdict(list)
    for unit in _units(recs):
        strata[_stratum(unit)].append(unit)

    out: dict[str, list[R]] = {s: [] for s in fractions}
    done_units = 0
    given = {s: 0 for s in fractions}
    for key in sorted(strata):
        units = sorted(strata[key], key=lambda u: min((r.plan_index, r.id) for r in u))
        random.Random(f"{settings.seed}|{key[0]}|{key[1]}").shuffle(units)
        counts = _allot(len(units), fractions, done_units, given)
        done_units += len(units)
        start = 0
        for s in fractions:
            for unit in units[start:start + counts[s]]:
                out[s].extend(unit)
            start += counts[s]
            given[s] += counts[s]
    for part in out.values():
        part.sort(key=lambda r: (r.plan_index, r.id))
    return out


def split_warnings(dd: datasets.DatasetDict, settings: PublishSettings, total: int) -> list[str]:
    """Say when a split is missing, or far from its requested share (small strata, see split_records)."""
    out = []
    for split, frac in check_fractions(settings).items():
        if split not in dd:
            out.append(f"the {split} split would be empty ({total} reviews in all): left out")
        elif abs(len(dd[split]) / total - frac) > 0.05:
            out.append(f"the {split} split holds {len(dd[split]) / total:.0%} of the reviews, not {frac:.0%}: with "
                       "few reviews per technique, every split still gets at least one of each")
    return out
