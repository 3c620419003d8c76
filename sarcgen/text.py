"""Text rules shared by every stage: one definition each.

- `strip_think`: a model's `<think>` blocks (generate's reply parser and the filter's judge);
- `QUOTE_PAIRS` / `CURLY_QUOTES`: which quotes wrap a text, and their straight forms;
- `find_meta_text`: the model talking about the task instead of doing it ("Here is a review",
  "As an AI", "(Word count: 80)");
- `find_markdown`: headings, emphasis, lists, code fences, block quotes;
- `clean` / `tokens` / `normalize` / `sentences`: the normalisation the quality stages compare on.

generate rejects a reply with these rules and filter rejects a record with the same ones, so a
record that generate accepted cannot fail filter for a rule generate did not know.
"""

from __future__ import annotations

import re
import unicodedata

# -------------------------------------------------------------------------------------- think
_THINK_BLOCK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_THINK_OPEN = re.compile(r"<think>.*", re.DOTALL | re.IGNORECASE)
_THINK_CLOSE = re.compile(r"^.*</think>", re.DOTALL | re.IGNORECASE)
_THINK_TAG = re.compile(r"</think>", re.IGNORECASE)


def strip_think(text: str) -> str:
    """Remove `<think>...</think>` blocks, an unterminated `<think>...`, and anything before a stray
    `</think>` (templates that open the block themselves)."""
    text = _THINK_BLOCK.sub("", text)
    text = _THINK_OPEN.sub("", text)
    if _THINK_TAG.search(text):
        text = _THINK_CLOSE.sub("", text)
    return text


# ------------------------------------------------------------------------------------- quotes
QUOTE_PAIRS: dict[str, str] = {
    '"': '"', "\u201c": "\u201d", "'": "'", "\u2018": "\u2019", "\u00ab": "\u00bb", "`": "`",
}
"""Opening quote -> its closing quote: what may wrap a whole reply."""

CURLY_QUOTES: dict[str, str] = {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'}
"""Typographic quotes -> their straight form (for comparing texts)."""

_STRAIGHTEN = str.maketrans({**CURLY_QUOTES, "\u2013": "-", "\u2014": "-"})


def wrapping_quote(text: str) -> str | None:
    """The quote character that opens `text` when its partner closes it, else None."""
    if len(text) >= 2 and QUOTE_PAIRS.get(text[0]) == text[-1]:
        return text[0]
    return None


# ---------------------------------------------------------------------------------- meta-text
# Anchored at the start of the text, so reviews that merely contain "here is" are not caught.
_META_AT_START = (
    r"\A\s*(?:"
    r"(?:sure|certainly|of course|okay|ok|absolutely|alright)\b\s*[!,.:-]"
    r"|here(?:'s| is| are)\b"
    r"|below is\b"
    r"|as an ai\b|as a language model\b|i'm an ai\b|as an assistant\b"
    r"|i'm sorry, but i\b|sorry, i (?:cannot|can't|won't|am unable)\b"
    r"|(?:this|the following) is an? (?:\w+ ){0,2}review\b|(?:this|the following) review\b"
    r")"
)
# Anchored at the start of any line: an opener or a note after the review.
_META_AT_LINE = (
    r"^\s*(?:here\s+(?:is|are)|here's|sure[,!.]|certainly[,!.]|of course[,!.]|okay[,!.]|ok[,!.]"
    r"|absolutely[,!.]\s+here)"
    r"|^\s*\(?(?:note|word count|words|title)\s*:|^\s*review\s*:"
)
_META_ANYWHERE = (
    r"\bas an ai\b|\blanguage model\b|\bi (?:cannot|can't|can not|won't|am unable to) (?:write|help|create|produce|generate)"
    r"|\b(?:sarcastic|sincere|positive|negative) review\s*:|\(\s*\d+\s+words?\s*\)|\bword count\b"
    r"|</?think>|\bthis review (?:uses|employs|is written)\b|\bhope (?:this|that) helps\b"
)
_META = re.compile(f"{_META_AT_START}|{_META_AT_LINE}|{_META_ANYWHERE}", re.IGNORECASE | re.MULTILINE)


def find_meta_text(text: str) -> str | None:
    """The first words in which the model talks about the task instead of writing the review, else None."""
    m = _META.search(text)
    return m.group(0).strip() if m else None


# ----------------------------------------------------------------------------------- markdown
_MARKDOWN = re.compile(
    r"^\s*#{1,6}\s"  # heading
    r"|\*\*[^*\n]+\*\*|__[^_\n]+__|^\s*(?:\*\*|__)(?=\w)"  # emphasis: a pair, or an unclosed opener
    r"|```"  # code fence
    r"|^\s*[-*+\u2022]\s+\S|^\s*\d+[.)]\s+\S"  # bullets, numbered lists
    r"|^\s*>\s",  # block quote
    re.MULTILINE,
)


def find_markdown(text: str) -> str | None:
    """The first markdown construct in `text` (reviews are plain prose), else None."""
    m = _MARKDOWN.search(text)
    return m.group(0).strip() if m else None


# ------------------------------------------------------------------------------ normalisation
_TAG = re.compile(r"<[^>]{0,40}>")
_WORD = re.compile(r"\w+")
_SENT = re.compile(r"(?<=[.!?])\s+|\n+")


def clean(text: str) -> str:
    """Unicode-normalised text with HTML tags (IMDB's `<br />`) removed and curly quotes straightened."""
    return _TAG.sub(" ", unicodedata.normalize("NFKC", text)).translate(_STRAIGHTEN)


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens (apostrophes dropped, so "it's" and "its" compare equal)."""
    return _WORD.findall(clean(text).lower().replace("'", ""))


def find_phrase(toks: list[str], phrase: str) -> list[int]:
    """Where `phrase` starts in `toks` (from `tokens`), each word allowed an inflection (love ~ loved ~ loving)."""
    words = tokens(phrase)
    if not words:
        return []
    stems = [w[: max(4, len(w) - 2)] for w in words]
    return [i for i in range(len(toks) - len(words) + 1)
            if all(toks[i + k].startswith(stems[k]) and abs(len(toks[i + k]) - len(words[k])) <= 3 for k in range(len(words)))]


def normalize(text: str) -> str:
    """The canonical form used for exact duplicates: lower-case words joined by single spaces."""
    return " ".join(tokens(text))


def word_count(text: str) -> int:
    """Words as whitespace-separated chunks (what the length limits count)."""
    return len(text.split())


def sentences(text: str) -> list[str]:
    """Sentences split at . ! ? or line breaks (good enough for reviews)."""
    return [s.strip() for s in _SENT.split(clean(text)) if s.strip()]


# ------------------------------------------------------------------------------- placeholders
# Found by reading SmolLM2-135M replies: template slots left in the text ("(insert more words here)").
_PLACEHOLDER = re.compile(
    r"[\[(<{]\s*(?:insert|add|your|movie|film|title|name|director|actor|genre|x{2,})\b[^\])>}\n]{0,40}[\])>}]"
    r"|\binsert (?:more |a |the )?(?:words?|text|name|title|details?|here)\b|\blorem ipsum\b",
    re.IGNORECASE,
)


def find_placeholder(text: str) -> str | None:
    """A template slot left unfilled ("(insert more words here)", "[Movie Title]"), else None."""
    m = _PLACEHOLDER.search(text)
    return m.group(0).strip() if m else None
