"""Record checks that hold a review to what its prompt asked for, found by reading real replies.

SmolLM2-135M (the embedded model) accepted 100% of its replies at generation time, yet reading a
few hundred showed reviews that miss the request in ways a stronger model also can:

- ``wrong_length``: far outside the requested length bucket (a "short" 12-35 word review of 95 words);
- ``names_technique``: a sarcastic review names the technique it was asked for ("...if you have to
  use a rhetorical question"): it explains the joke and leaks the label;
- ``negated_cue``: every use of the cue word in a sincere positive is negated ("it's not too amazing"):
  the twin becomes negative;
- ``twin_missing_cue``: a sincere twin without its cue word, so it no longer contrasts with its
  sarcastic partner (the reason twins exist).

``off_topic`` (no word of a film vocabulary list) was removed after the gate audit: it rejected 4
good reviews of the capable writer and caught none ("The first scare arrives at minute
seventy-one", "whoever scored this"); what it caught of SmolLM2-135M (12) was incoherent rather
than off topic. The encoder's similarity to the centroid of IMDB reviews did not separate them
either (good short reviews at cosine 0.17-0.26, SmolLM2 junk at 0.18-0.58).

Each check takes a `Review` and returns None (keep) or a `Drop`, like `sarcgen.filter.validate`.
"""

from __future__ import annotations

from sarcgen.filter.check import Drop, KeepOrDrop, RecordCheck
from sarcgen.recipe import Attributes
from sarcgen.records import SINCERE, Review
from sarcgen.text import find_phrase, tokens

LENGTH_SLACK = (0.5, 1.5)  # accepted: from half the bucket's min_words to 1.5x its max_words
NEGATORS = frozenset("not isnt wasnt arent werent dont doesnt didnt hardly barely".split())



def check_length_bucket(attributes: Attributes) -> RecordCheck:
    """Words far outside the requested bucket (see LENGTH_SLACK); unknown buckets pass."""
    buckets = {b.name: b for b in attributes.lengths}
    lo, hi = LENGTH_SLACK

    def wrong_length(r: Review) -> KeepOrDrop:
        b = buckets.get(r.length)
        n = len(r.text.split())
        if b is None or b.min_words * lo <= n <= b.max_words * hi:
            return None
        return Drop("wrong_length", f"{n} words for a {b.name} review ({b.min_words}-{b.max_words} asked)")

    return wrong_length


def check_names_technique(attributes: Attributes) -> RecordCheck:
    """A sarcastic review names its own technique ("...if you have to use a rhetorical question"):
    it explains the joke and leaks the label. Only the record's own device counts: "perfect deadpan
    timing" in a sincere review, or "a revolutionary technique" in hyperbolic praise, is film talk
    (the gate audit found 3 such good reviews of the capable writer rejected, and no bad one caught,
    when every device name and the word "technique" counted)."""
    phrases = {d: tokens(d) for d in attributes.devices if d != SINCERE}

    def names_technique(r: Review) -> KeepOrDrop:
        if not r.sarcastic:
            return None
        words = phrases.get(r.device) or tokens(r.device)
        toks = tokens(r.text)
        n = len(words)
        if n and any(toks[i:i + n] == words for i in range(len(toks) - n + 1)):
            return Drop("names_technique", repr(r.device))
        return None

    return names_technique


def check_negated_cue(r: Review) -> KeepOrDrop:
    """A sincere positive whose every use of the cue has a negator in the three words before it
    ("it's not too amazing"): the praise is taken back, so the review no longer reads positive.
    Sarcastic negatives are left alone: "Not quite the fantastic story I'd been promised" is
    understatement, negative as labelled (the gate audit found 6 such good reviews of the capable
    writer rejected when the check applied to every record)."""
    if r.label != 1 or r.sarcastic:
        return None
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
    return Drop("negated_cue", repr(" ".join(toks[max(0, i - 3):i + 1])))


def check_twin_cue(r: Review) -> KeepOrDrop:
    """A sincere twin must use its cue: the same surface word as its sarcastic partner."""
    if not (r.device == SINCERE or (r.label == 1 and not r.sarcastic)):
        return None
    return None if find_phrase(tokens(r.text), r.cue) else Drop("twin_missing_cue", f"no {r.cue!r}")


def request_checks(attributes: Attributes | None) -> list[RecordCheck]:
    """The checks above, in order, for a recipe's attributes; without them (records checked on
    their own) the length buckets are unknown, and the default techniques are named."""
    a = attributes or Attributes()
    by_bucket = [check_length_bucket(attributes)] if attributes is not None else []
    return [*by_bucket, check_names_technique(a), check_negated_cue, check_twin_cue]
