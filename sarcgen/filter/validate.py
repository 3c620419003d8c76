"""Per-record validation: each check takes a `Review` and returns None (keep) or a `Drop`
(a short snake_case reason and a detail, e.g. ``Drop("label_leak", "'sarcastic'")``).
`sarcgen.filter.run` counts drops per reason."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from sarcgen.filter.check import Drop, KeepOrDrop, RecordCheck
from sarcgen.recipe import Attributes, FilterSettings, Recipe
from sarcgen.records import SINCERE, Review
from sarcgen.text import find_markdown, find_meta_text, find_phrase, tokens, wrapping_quote

if TYPE_CHECKING:
    from sarcgen.filter.report import FilterReport

STOPWORDS = frozenset(
    "a an the and or but if of to in on at for with as by from this that these those it its is are was were be been "
    "being i you he she we they me my your his her our their them what which who whom how why when where not no so "
    "than too very just only can could would should will do does did have has had there here all any some such more "
    "most much one about into over after before while because".split()
)

POSITIVE_WORDS = frozenset(
    "great brilliant masterpiece amazing love loved loving lovely stunning perfect perfectly wonderful best fantastic "
    "beautiful beautifully unforgettable incredible awesome superb excellent outstanding magnificent breathtaking "
    "gorgeous spectacular marvelous marvellous delightful thrilling riveting gripping captivating impressive "
    "remarkable flawless terrific fabulous stellar phenomenal genius masterful masterclass sublime exquisite "
    "enjoyable enjoyed charming dazzling triumph bravo wow thanks thank grateful treat gem classic must-see "
    "highlight unbelievable extraordinary mesmerizing mesmerising astonishing glorious".split()
)

NEGATIVE_WORDS = frozenset(
    "boring bored dull tedious terrible awful worst bad badly waste wasted mess messy nonsense pointless painful "
    "disappointing disappointment disaster horrible horrendous unwatchable forgettable lifeless wooden flat "
    "cringe cringeworthy clumsy lazy predictable incoherent confusing confused stupid dumb ridiculous laughable "
    "failed fails failure sloppy tiresome bland insufferable unbearable excruciating snooze zero garbage trash "
    "headache asleep sleep".split()
)
NEGATIONS = frozenset("not never no nothing nor isnt wasnt arent dont doesnt didnt cant couldnt hardly barely without".split())

_LEAK = re.compile(r"\b(sarcas\w*|iron(y|ic|ical|ically)|satir\w*)\b|(^|\s)/s\b", re.IGNORECASE)
_TWIST = re.compile(
    r"\bif you (enjoy|like|love|want|prefer)\b|\bif your idea of\b|\bsaid no one\b|\byeah,? right\b|\boh,? sure\b"
    r"|\bso-called\b|\bnot!|\bwho needs\b|\bassuming\b"
    r"|\bthanks for (nothing|that)\b|\bwhat a waste\b|\bbecause it meant\b|\bonly (checked|looked at) my watch\b",
    re.IGNORECASE,
)
_CONTRAST = frozenset("but however though although yet except unfortunately sadly".split())


def check_length(settings: FilterSettings) -> RecordCheck:
    def length(r: Review) -> KeepOrDrop:
        n = len(r.text.split())
        if n < settings.min_words:
            return Drop("too_short", f"{n} words < {settings.min_words}")
        if n > settings.max_words:
            return Drop("too_long", f"{n} words > {settings.max_words}")
        return None

    return length


@lru_cache(maxsize=1)
def _langdetect():  # deterministic: langdetect samples, so fix its seed once
    try:
        from langdetect import DetectorFactory, detect_langs

        DetectorFactory.seed = 0
        return detect_langs
    except ImportError:  # pragma: no cover - langdetect is a dependency
        return None


def detect_language(text: str) -> str | None:
    """langdetect's best guess (seeded, so deterministic), or None when it cannot tell."""
    detect = _langdetect()
    if detect is None:
        return None
    try:
        langs = detect(text)
    except Exception:  # langdetect raises on text without features
        return None
    return langs[0].lang if langs else None


def check_language(settings: FilterSettings) -> RecordCheck:
    """English: a cheap stopword / ASCII test, with langdetect as the tie-breaker for short or
    list-like texts that have few stopwords. Other languages: langdetect."""

    def language(r: Review) -> KeepOrDrop:
        letters = [c for c in r.text if c.isalpha()]
        if not letters:
            return Drop("not_english", "no letters")
        if settings.language != "en":
            lang = detect_language(r.text)
            return None if lang in (None, settings.language) else Drop("wrong_language", f"detected {lang}")
        non_ascii = sum(1 for c in letters if not c.isascii()) / len(letters)
        if non_ascii > 0.1:
            return Drop("not_english", f"{non_ascii:.0%} non-ASCII letters")
        toks = tokens(r.text)
        share = sum(t in STOPWORDS for t in toks) / max(1, len(toks))
        if share >= 0.12:
            return None
        lang = detect_language(r.text)
        if lang == "en":
            return None
        return Drop("not_english", f"stopword share {share:.2f}, langdetect {lang}")

    return language


def check_meta_text(r: Review) -> KeepOrDrop:
    found = find_meta_text(r.text)
    return Drop("meta_text", repr(found)) if found is not None else None


def check_label_leak(r: Review) -> KeepOrDrop:
    m = _LEAK.search(r.text)
    return Drop("label_leak", repr(m.group(0).strip())) if m else None


def check_formatting(r: Review) -> KeepOrDrop:
    t = r.text.strip()
    quote = wrapping_quote(t)
    if quote is not None and quote not in t[1:-1]:
        return Drop("wrapping_quotes")
    found = find_markdown(r.text)
    return Drop("markdown", repr(found)) if found is not None else None


def check_positive_cue(r: Review) -> KeepOrDrop:
    """Sarcastic negatives must praise on the surface: the contrast is what makes it sarcasm."""
    if not (r.sarcastic and r.label == 0):
        return None
    toks = tokens(r.text)
    if find_phrase(toks, r.cue) or any(t in POSITIVE_WORDS for t in toks):
        return None
    return Drop("missing_positive_cue", f"no {r.cue!r} and no positive word")


STRONG_NEGATIVE = frozenset({"worst", "awful", "terrible", "unwatchable", "waste", "garbage", "trash"})


def check_negative_twist(r: Review) -> KeepOrDrop:
    """Sincere twins must stay sincere: no sarcasm marker ("if you enjoy", "yeah, right"), no
    "but ... boring" turn (a negative word within eight words after a contrast word). A strong
    negative word elsewhere ("the characters in their worst moments", "feel awful in the best
    way") counts only when the literal-sentiment head (`sarcgen.filter.encoder`) also reads the
    review as negative: as a word rule alone it rejected 5 good sincere reviews of the capable
    writer and caught none. ("as if", once a marker, is a simile in 5 good Qwen2.5-1.5B reviews.)"""
    if not (r.device == SINCERE or (r.label == 1 and not r.sarcastic)):
        return None
    m = _TWIST.search(r.text)
    if m:
        return Drop("negative_twist", repr(m.group(0)))
    toks = tokens(r.text)
    strong: str | None = None
    for i, t in enumerate(toks):
        if t in NEGATIVE_WORDS and not any(p in NEGATIONS for p in toks[max(0, i - 3) : i]):
            if any(c in _CONTRAST for c in toks[max(0, i - 8) : i]):
                return Drop("negative_twist", repr(" ".join(toks[max(0, i - 4) : i + 1])))
            if t in STRONG_NEGATIVE and strong is None:
                strong = " ".join(toks[max(0, i - 4) : i + 1])
    if strong is not None:
        from sarcgen.filter.encoder import literal_positive

        p = literal_positive(r.text)
        if p < 0.5:
            return Drop("negative_twist", f"{strong!r}, and it reads negative (literal P(positive) {p:.2f})")
    return None


def check_prompt_copy(messages: Callable[[Review], list[dict[str, str]]]) -> RecordCheck:
    """The generate-time `prompt_copy` guard again, for records made before it existed.
    `messages` gives the prompt a record was generated from (`sarcgen.prompts.record_messages`)."""
    from sarcgen.generate.reply import PROMPT_COPY
    from sarcgen.prompts import prompt_copy

    def copied(r: Review) -> KeepOrDrop:
        what = prompt_copy(r.text, messages(r))
        return Drop(PROMPT_COPY, what) if what else None

    return copied


def check_placeholder(r: Review) -> KeepOrDrop:
    """The generate-time placeholder rule again, for records made before it."""
    from sarcgen.generate.reply import PLACEHOLDER
    from sarcgen.text import find_placeholder

    slot = find_placeholder(r.text)
    return Drop(PLACEHOLDER, repr(slot[:60])) if slot is not None else None


def build_checks(settings: FilterSettings, messages: Callable[[Review], list[dict[str, str]]] | None = None,
                 attributes: Attributes | None = None) -> list[RecordCheck]:
    """The record checks, in order (the first reason wins). `messages` (a record's prompt) adds
    the prompt-copy check; `attributes` are the recipe's (length buckets, techniques) for the
    checks against the request (`sarcgen.filter.request`)."""
    from sarcgen.filter.request import request_checks

    return [
        *([check_prompt_copy(messages)] if messages is not None else []),
        check_length(settings),
        check_meta_text,
        check_label_leak,
        check_formatting,
        check_placeholder,
        check_language(settings),
        check_positive_cue,
        check_negative_twist,
        *request_checks(attributes),
    ]


def parse_record(obj: dict[str, Any]) -> tuple[Review | None, str]:
    """A dict as a `Review`, or (None, "field: message") naming the first schema problem."""
    try:
        return Review.model_validate(obj), ""
    except ValidationError as exc:
        errs = exc.errors()
        loc = ".".join(str(p) for p in errs[0]["loc"]) or "(record)"
        msg = "unknown field" if errs[0]["type"] == "extra_forbidden" else errs[0]["msg"]
        more = f" (+{len(errs) - 1} more)" if len(errs) > 1 else ""
        return None, f"{loc}: {msg}{more}"


def validate_record(record: Review, checks: Sequence[RecordCheck]) -> KeepOrDrop:
    """None when every check keeps the record, else the `Drop` of the first that does not."""
    for check in checks:
        drop = check(record)
        if drop is not None:
            return drop
    return None


class Validate:
    """The record checks as one filter stage: each review is kept or dropped on its own."""

    def __init__(self, settings: FilterSettings, recipe: Recipe | None = None) -> None:
        self.settings, self.recipe = settings, recipe

    def apply(self, reviews: Sequence[Review], report: FilterReport) -> list[KeepOrDrop]:
        """The first failing check's reason for each review, or None."""
        checks = self._checks(report)
        return [validate_record(r, checks) for r in reviews]

    def each_alone(self, reviews: Sequence[Review], report: FilterReport) -> list[tuple[str, str]]:
        """Every (reason, review id) each record check would give on its own (for the gate audit:
        a check behind another one is measured too)."""
        out = []
        for check in self._checks(report):
            for r in reviews:
                drop = check(r)
                if drop is not None:
                    out.append((drop.reason, r.id))
        return out

    def _checks(self, report: FilterReport) -> list[RecordCheck]:
        attrs = self.recipe.generate.attributes if self.recipe is not None else None
        return build_checks(self.settings, self._prompt_source(report), attrs)

    def _prompt_source(self, report: FilterReport) -> Callable[[Review], list[dict[str, str]]] | None:
        """Review -> the messages it was generated from (for the prompt-copy check); None, with a
        warning in the report, when the run's template cannot be loaded."""
        from sarcgen.errors import RecipeError, SarcgenError
        from sarcgen.prompts import load_template, record_messages

        if self.recipe is None:
            return None
        if self.recipe.generate.grounding.active():  # the prompt held a real review or the user's examples
            from sarcgen.generate.grounded_plan import grounded_messages

            try:
                return grounded_messages(self.recipe)
            except SarcgenError as exc:
                report.warnings.append(f"prompt_copy check skipped: {exc.message}")
                return None
        try:
            template = load_template(self.recipe.generate.template)
        except RecipeError as exc:
            report.warnings.append(f"prompt_copy check skipped: {exc.message}")
            return None
        attrs = self.recipe.generate.attributes
        return lambda r: record_messages(template, r, attrs)
