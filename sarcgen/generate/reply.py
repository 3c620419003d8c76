"""Model reply -> clean review text, or a named rejection reason.

The output format is plain text, not JSON: the attributes (device, aspect, cue, label) are known
from the plan, so only the review itself is needed, and JSON-schema grammar sampling through
llama-cpp-python ran ~8x slower than unconstrained decoding. Parsing plain text costs
microseconds.

Reasons (counted in the manifest, kept in rejected.jsonl):
- ``backend_error``: the engine failed on this request;
- ``truncated``: the reply hit max_tokens (finish_reason "length"), so the review is cut off;
- ``empty``: nothing left after removing think blocks, quotes and whitespace;
- ``meta_text``: the model talked about the task ("Here is a review", "As an AI", "Sure!");
- ``malformed``: not one plain review (markdown, lists, JSON, code, several numbered reviews).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

BACKEND_ERROR = "backend_error"
TRUNCATED = "truncated"
EMPTY = "empty"
META_TEXT = "meta_text"
MALFORMED = "malformed"
REASONS = (BACKEND_ERROR, TRUNCATED, EMPTY, META_TEXT, MALFORMED)

_THINK_BLOCK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_THINK_OPEN = re.compile(r"<think>.*", re.DOTALL | re.IGNORECASE)
_THINK_CLOSE = re.compile(r"^.*</think>", re.DOTALL | re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")
_LABEL_PREFIX = re.compile(r"^\s*(?:\*\*)?(?:review|movie review|sarcastic review|sincere review)(?:\*\*)?\s*:\s*", re.I)
_QUOTES = {'"': '"', "\u201c": "\u201d", "'": "'", "\u2018": "\u2019", "\u00ab": "\u00bb"}

# The model talking about the task instead of doing it. Anchored at the start of the reply (or of a
# line for notes), so reviews that merely contain "here is" are not caught.
_META_START = re.compile(
    r"^(?:"
    r"(?:sure|certainly|of course|okay|ok|absolutely|alright)\b\s*[!,.:-]"
    r"|here(?:'s| is| are)\b"
    r"|below is\b"
    r"|as an ai\b|as a language model\b|i'm an ai\b|as an assistant\b"
    r"|i (?:cannot|can't|won't|am unable to)\b"
    r"|i'm sorry\b|sorry, i\b"
    r"|(?:this|the following) (?:is a|review)\b"
    r")",
    re.IGNORECASE,
)
_META_ANYWHERE = re.compile(
    r"\bas an ai\b|\bas a (?:large )?language model\b|^\s*\(?(?:note|word count|words)\s*:"
    r"|\bthis review (?:uses|employs|is written)\b|\bhope (?:this|that) helps\b",
    re.IGNORECASE | re.MULTILINE,
)
_MALFORMED = re.compile(
    r"^\s*(?:#{1,6}\s|[-*\u2022]\s+\S|\d+[.)]\s+\S|```|\{|\[)"  # headings, bullets, numbered lists, code, JSON
    r"|^\s*(?:review|option|version)\s*(?:#\s*)?\d+\s*[:.)-]",  # "Review 2:" - several reviews
    re.IGNORECASE | re.MULTILINE,
)


@dataclass(frozen=True)
class ParseOutcome:
    """`text` is set when accepted; otherwise `reason` names why not."""

    text: str | None
    reason: str | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.reason is None


def strip_think(text: str) -> str:
    """Remove `<think>...</think>` blocks, an unterminated `<think>...`, and anything before a stray
    `</think>` (templates that open the block themselves)."""
    text = _THINK_BLOCK.sub("", text)
    text = _THINK_OPEN.sub("", text)
    if re.search(r"</think>", text, re.IGNORECASE):
        text = _THINK_CLOSE.sub("", text)
    return text


def strip_wrapping_quotes(text: str) -> str:
    """`"A review."` -> `A review.` (only when one pair of quotes wraps the whole text)."""
    while len(text) >= 2 and text[0] in _QUOTES and text[-1] == _QUOTES[text[0]]:
        opener, closer = text[0], _QUOTES[text[0]]
        inner = text[1:-1]
        if opener == "'":
            if "'" in re.sub(r"\w'\w", "", inner):  # apostrophes inside words are fine
                break
        elif opener in inner or closer in inner:
            break  # quotes inside: the outer ones are not one wrapper ("Great" ... "fun")
        text = inner.strip()
    return text


def clean_text(text: str) -> str:
    """Think blocks, control characters, label prefixes and wrapping quotes removed; whitespace tidied."""
    text = strip_think(text).replace("\r\n", "\n")
    text = _CONTROL.sub("", text).strip()
    text = _LABEL_PREFIX.sub("", text).strip()
    text = strip_wrapping_quotes(text)
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def parse_reply(
    text: str, finish_reason: str = "stop", error: str | None = None, *, accept_truncated: bool = False
) -> ParseOutcome:
    """Turn one model reply into accepted review text or a rejection reason.

    `accept_truncated` keeps replies cut at max_tokens: for benchmarks that need a fixed token
    budget per item, never for real data.
    """
    if finish_reason == "error" or error:
        return ParseOutcome(None, BACKEND_ERROR, (error or "backend error")[:300])
    if finish_reason == "length" and not accept_truncated:
        return ParseOutcome(None, TRUNCATED, "reply reached max_tokens; raise generate.sampling.max_tokens if this is frequent")
    cleaned = clean_text(text or "")
    if not cleaned:
        return ParseOutcome(None, EMPTY, "no text after removing think blocks and quotes")
    if _META_START.search(cleaned):
        return ParseOutcome(None, META_TEXT, cleaned[:80])
    m = _META_ANYWHERE.search(cleaned)
    if m:
        return ParseOutcome(None, META_TEXT, m.group(0).strip()[:80])
    m = _MALFORMED.search(cleaned)
    if m:
        return ParseOutcome(None, MALFORMED, f"not a single plain-prose review (found {m.group(0).strip()[:20]!r})")
    if "**" in cleaned or "__" in cleaned:
        return ParseOutcome(None, MALFORMED, "markdown emphasis")
    return ParseOutcome(cleaned)
