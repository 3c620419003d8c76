"""The deterministic generation plan: which review to ask for, in which order, with which seed.

The plan is an infinite sequence of *groups*. Group g holds a sarcastic item (label 0) and, for a
`twin_ratio` share of groups, a sincere positive twin (label 1, device "sincere") with the same
aspect, genre, length, cue and pair_id, so the data never teaches "Great" => negative.

Balanced coverage: the sarcastic items walk through the cartesian product device x aspect x genre
x length in shuffled blocks: every combination appears once per block of |product| groups, in an
order fixed by the seed. Cues cycle through their own shuffled blocks. Everything is a pure
function of (settings, seed, group index), so a resumed or sharded run sees the same plan.

Shards: `shard=(k, n)` keeps the groups with `group_index % n == k`, so twins stay with their
parent and the shards of one seed are disjoint and together cover the whole plan.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Literal, TypedDict

from sarcgen.errors import RecipeError
from sarcgen.generate.grounding import Shot
from sarcgen.records import SINCERE

if TYPE_CHECKING:
    from sarcgen.recipe import GenerateSettings

TWIN_BLOCK = 600
REWRITE_GENRE = "unknown"


def derive_seed(*parts: object) -> int:
    """A 31-bit seed from any parts (stable across Python versions and platforms)."""
    h = hashlib.blake2b("\x1f".join(str(p) for p in parts).encode(), digest_size=8).digest()
    return int.from_bytes(h, "little") & 0x7FFFFFFF


class _Grounded(TypedDict, total=False):
    """An item's grounded fields: its few-shot examples and rewrite source."""

    examples: tuple[Shot, ...]
    source_key: str
    source_text: str
    source_label: int
    source_words: int


@dataclass(frozen=True)
class PlanItem:
    """One review to generate."""

    id: str
    plan_index: int
    group_index: int
    pair_id: str | None
    sarcastic: bool
    label: Literal[0, 1]
    device: str
    aspect: str
    genre: str
    length: str
    min_words: int
    max_words: int
    cue: str
    seed: int
    # grounded generation (sarcgen.generate.grounding): the real review to rewrite, the few-shot examples
    source_key: str | None = None
    source_text: str | None = None
    source_label: int | None = None
    source_words: int | None = None
    examples: tuple[Shot, ...] = ()

    def seed_for(self, attempt: int) -> int:
        """The sampling seed of retry `attempt` (0 = first try): a new seed per attempt."""
        return self.seed if attempt == 0 else derive_seed(self.seed, "attempt", attempt)

    def prompt_vars(self) -> dict[str, object]:
        """The variables a prompt template sees as `item`."""
        return asdict(self)


ShardSpec = str | Sequence[int] | Mapping[str, int] | None
"""How a shard is written: "K/N", a (k, n) pair, or {"k": K, "n": N} (older manifests)."""


def parse_shard(value: ShardSpec) -> tuple[int, int] | None:
    """`"K/N"` (0 <= K < N), a (k, n) pair or {"k": K, "n": N} -> (k, n); None stays None."""
    if value is None:
        return None
    try:
        if isinstance(value, str):
            k_s, n_s = value.split("/")
            k, n = int(k_s), int(n_s)
        elif isinstance(value, Mapping):
            k, n = int(value["k"]), int(value["n"])
        else:
            k, n = int(value[0]), int(value[1])
            if len(value) != 2:
                raise ValueError(value)
    except (ValueError, IndexError, KeyError, TypeError):
        raise RecipeError(f"shard {value!r}: expected K/N such as 0/4", "K counts from 0 and must be below N") from None
    if n < 1 or not 0 <= k < n:
        raise RecipeError(f"shard {value!r}: need 0 <= K < N", "for 4 machines use 0/4, 1/4, 2/4 and 3/4")
    return k, n


class Plan:
    """The plan of a `GenerateSettings` under a seed (optionally one shard of it)."""

    def __init__(self, settings: GenerateSettings, *, seed: int | None = None, shard: ShardSpec = None,
                 against: Sequence[str] = ()) -> None:
        self.settings = settings
        self.seed = settings.seed if seed is None else seed
        self.shard = parse_shard(shard)
        a = settings.attributes
        self.grounding = settings.grounding
        self.against = tuple(against)  # evaluation files whose texts are never rewrite sources
        self.rewrite = self.grounding.mode == "rewrite"
        genres = [REWRITE_GENRE] if self.rewrite else a.genres  # a real review's genre is not known
        self.combos = list(itertools.product(a.devices, a.aspects, genres, a.lengths))
        self.cues = list(a.cues)
        self.twin_ratio = float(settings.twin_ratio)
        self._blocks: dict[tuple[str, int], list[int]] = {}

    def _block(self, kind: str, b: int, size: int) -> list[int]:
        key = (kind, b)
        if key not in self._blocks:
            if len(self._blocks) > 64:
                self._blocks.clear()
            order = list(range(size))
            random.Random(derive_seed(self.seed, kind, b)).shuffle(order)
            self._blocks[key] = order
        return self._blocks[key]

    def has_twin(self, g: int) -> bool:
        """Exactly round(twin_ratio * 600) twins in every block of 600 groups, at shuffled positions
        (not every third group: a periodic pattern would put all twins in one shard of three)."""
        quota = round(self.twin_ratio * TWIN_BLOCK)
        return self._block("twin", g // TWIN_BLOCK, TWIN_BLOCK)[g % TWIN_BLOCK] < quota

    def group(self, g: int) -> list[PlanItem]:
        """The items of group `g` (sarcastic first, then its twin if any)."""
        n_combo, n_cue = len(self.combos), len(self.cues)
        device, aspect, genre, length = self.combos[self._block("combo", g // n_combo, n_combo)[g % n_combo]]
        cue = self.cues[self._block("cue", g // n_cue, n_cue)[g % n_cue]]
        twin = self.has_twin(g)
        gid = f"{g:06d}"
        common = functools.partial(  # the fields a group's items share
            PlanItem,
            group_index=g, pair_id=gid if twin else None, aspect=aspect, genre=genre,
            length=length.name, min_words=length.min_words, max_words=length.max_words, cue=cue,
        )
        grounded = self._grounded(g, length.name)
        items = [
            common(id=f"{gid}-s", plan_index=2 * g, sarcastic=True, label=0, device=device,
                   seed=derive_seed(self.seed, gid, "s"), **grounded.get(0, {}))
        ]
        if twin:
            items.append(
                common(id=f"{gid}-t", plan_index=2 * g + 1, sarcastic=False, label=1, device=SINCERE,
                       seed=derive_seed(self.seed, gid, "t"), **grounded.get(1, {}))
            )
        return items

    def _occurrence(self, g: int, length: str) -> int:
        """How many earlier groups of the plan had this length bucket."""
        n_combo = len(self.combos)
        order = self._block("combo", g // n_combo, n_combo)[: g % n_combo]
        per_block = n_combo // len(self.settings.attributes.lengths)
        return (g // n_combo) * per_block + sum(self.combos[i][3].name == length for i in order)

    def _grounded(self, g: int, length: str) -> dict[int, _Grounded]:
        """label -> the grounded fields of the group's items: their rewrite source and few-shot examples."""
        from sarcgen.generate.grounding import draw_examples, load_examples, load_sources

        gr = self.grounding
        out: dict[int, _Grounded] = {0: {}, 1: {}}
        if gr.examples is not None:
            shots = tuple(draw_examples(load_examples(gr.examples), gr.examples_per_prompt, self.seed, g // gr.examples_block))
            out = {0: {"examples": shots}, 1: {"examples": shots}}
        if self.rewrite:
            a = self.settings.attributes
            lengths = tuple((b.name, b.min_words, b.max_words) for b in a.lengths)
            pool = load_sources(str(gr.sources), lengths, self.against)
            k = self._occurrence(g, length)
            for label in (0, 1):
                src = pool.draw(label, length, k, self.seed)
                out[label].update({"source_key": src.key, "source_text": src.text, "source_label": src.label,
                                   "source_words": src.words})
        return out

    def group_indices(self, start: int = 0) -> Iterator[int]:
        """Group indices of this shard, from `start` on, forever."""
        if self.shard is None:
            yield from itertools.count(start)
            return
        k, n = self.shard
        first = start + (k - start) % n
        yield from itertools.count(first, n)

    def groups(self, start: int = 0) -> Iterator[list[PlanItem]]:
        for g in self.group_indices(start):
            yield self.group(g)

    def __iter__(self) -> Iterator[PlanItem]:
        for items in self.groups():
            yield from items

    def item(self, item_id: str) -> PlanItem | None:
        """The plan item with this id (`<group>-s` / `<group>-t`), or None when no plan position has it."""
        group = item_id.split("-", 1)[0]
        if not group.isdigit():
            return None
        return next((it for it in self.group(int(group)) if it.id == item_id), None)

    def items(self, limit: int) -> list[PlanItem]:
        """The first `limit` items of the plan (for dry runs and tests)."""
        return list(itertools.islice(iter(self), limit))
