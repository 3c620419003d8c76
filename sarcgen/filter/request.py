"""Record checks that hold a review to what its prompt asked for, found by reading real replies.

SmolLM2-135M (the embedded model) accepted 100% of its replies at generation time, yet reading a
few hundred showed reviews that miss the request in ways a stronger model also can:

- ``wrong_length``: far outside the requested length bucket (a "short" 12-35 word review of 95 words);
- ``names_technique``: the review names the sarcasm technique it was asked for ("...if you have to
  use a rhetorical question"): it explains the joke and leaks the label;
- ``negated_cue``: every use of the cue word is negated ("it's not too amazing"): a sincere twin
  becomes negative, a sarcastic review loses its positive surface;
- ``twin_missing_cue``: a sincere twin without its cue word, so it no longer contrasts with its
  sarcastic partner (the reason twins exist);
- ``off_topic``: not about a film at all (no film vocabulary: "My latest job has brought me amazing wonder").

Each check takes a `Review` and returns None (keep) or "reason: detail", like `sarcgen.filter.validate`.
"""

from __future__ import annotations

from collections.abc import Callable

from sarcgen.recipe import Attributes
from sarcgen.records import SINCERE, Review
from sarcgen.text import find_phrase, tokens

RecordCheck = Callable[[Review], "str | None"]
LENGTH_SLACK = (0.5, 1.5)  # accepted: from half the bucket's min_words to 1.5x its max_words
NEGATORS = frozenset("not isnt wasnt arent werent dont doesnt didnt hardly barely".split())
FILM_WORDS = frozenset(
    "movie movies film films cinema cinematic director directed directing direction actor actors actress cast casting "
    "scene scenes plot story script screenplay writing acting performance performances character characters dialogue "
    "soundtrack score music effects visuals cinematography ending pacing sequel prequel remake theater theatre screen "
    "camera shot shots editing comedy comedies drama horror romance romantic thriller animation animated action "
    "hero heroine villain lead leads role trailer watch watched watching audience minutes hours twist franchise "
    "studio box office premiere credits genre actors' sci fi".split()
)


def check_length_bucket(attributes: Attributes) -> RecordCheck:
    """Words far outside the requested bucket (see LENGTH_SLACK); unknown buckets pass."""
    buckets = {b.name: b for b in attributes.lengths}
    lo, hi = LENGTH_SLACK

    def wrong_length(r: Review) -> str | None:
        b = buckets.get(r.length)
        n = len(r.text.split())
        if b is None or b.min_words * lo <= n <= b.max_words * hi:
            return None
        return f"wrong_length: {n} words for a {b.name} review ({b.min_words}-{b.max_words} asked)"

    return wrong_length


def check_names_technique(attributes: Attributes) -> RecordCheck:
    """The review names a sarcasm technique of the recipe (or the word "technique")."""
    names = sorted({d.lower() for d in attributes.devices} | {"technique"}, key=len, reverse=True)
    phrases = [(name, tokens(name)) for name in names]

    def names_technique(r: Review) -> str | None:
        toks = tokens(r.text)
        for name, words in phrases:
            n = len(words)
            if n and any(toks[i:i + n] == words for i in range(len(toks) - n + 1)):
                return f"names_technique: {name!r}"
        return None

    return names_technique


def check_negated_cue(r: Review) -> str | None:
    """Every use of the cue has a negator in the three words before it ("not too amazing")."""
    toks = tokens(r.text)
    where = find_phrase(toks, r.cue)
    if not where:
        return None
    for i in where:
        before = toks[max(0, i - 3):i]
        if not any(t in NEGATORS and (k + 1 >= len(before) or before[k + 1] not in ("only", "just"))
                   for k, t in enumerate(before)):
            return None
    i = where[0]
    return f"negated_cue: {' '.join(toks[max(0, i - 3):i + 1])!r}"


def check_twin_cue(r: Review) -> str | None:
    """A sincere twin must use its cue: the same surface word as its sarcastic partner."""
    if not (r.device == SINCERE or (r.label == 1 and not r.sarcastic)):
        return None
    return None if find_phrase(tokens(r.text), r.cue) else f"twin_missing_cue: no {r.cue!r}"


def check_off_topic(attributes: Attributes) -> RecordCheck:
    """Not one film word (nor the record's aspect or genre): not a movie review."""

    def off_topic(r: Review) -> str | None:
        toks = set(tokens(r.text))
        extra = set(tokens(r.aspect)) | set(tokens(r.genre))
        if toks & (FILM_WORDS | extra):
            return None
        return "off_topic: no film vocabulary"

    return off_topic


def request_checks(attributes: Attributes | None) -> list[RecordCheck]:
    """The checks above, in order, for a recipe's attributes; without them (records checked on
    their own) the length buckets are unknown, and the default techniques are named."""
    a = attributes or Attributes()
    by_bucket = [check_length_bucket(attributes)] if attributes is not None else []
    return [*by_bucket, check_names_technique(a), check_off_topic(a), check_negated_cue, check_twin_cue]
