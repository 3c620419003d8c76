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
- ``malformed``: not one plain review (markdown, lists, JSON, code, several numbered reviews);
- ``placeholder``: a template slot left unfilled ("(insert more words here)");
- ``prompt_copy``: the reply reproduces a few-shot example or another part of the prompt
  (`sarcgen.prompts.prompt_copy`). Seen with SmolLM2-135M: a sarcastic item answered with the
  prompt's *sincere* example, which would enter the data with the wrong label.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sarcgen.text import (
    QUOTE_PAIRS,
    find_markdown,
    find_meta_text,
    find_placeholder,
    strip_think,
    wrapping_quote,
)

BACKEND_ERROR = "backend_error"
TRUNCATED = "truncated"
EMPTY = "empty"
META_TEXT = "meta_text"
MALFORMED = "malformed"
PROMPT_COPY = "prompt_copy"
PLACEHOLDER = "placeholder"
REASONS = (BACKEND_ERROR, TRUNCATED, EMPTY, META_TEXT, MALFORMED, PROMPT_COPY, PLACEHOLDER)

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")
_LABELS = r"review|movie review|sarcastic review|sincere review|rewrite|rewritten review|sarcastic version|sincere version"
_LABEL_PREFIX = re.compile(rf"^\s*(?:\*\*)?(?:{_LABELS})(?:\*\*)?\s*:\s*", re.I)
# Not one review: JSON or code instead of prose, or several numbered reviews ("Review 2:").
_NOT_ONE_REVIEW = re.compile(r"^\s*(?:\{|\[)|^\s*(?:review|option|version)\s*(?:#\s*)?\d+\s*[:.)-]", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class ParseOutcome:
    """`text` is set when accepted; otherwise `reason` names why not."""

    text: str | None
    reason: str | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.reason is None


def strip_wrapping_quotes(text: str) -> str:
    """`"A review."` -> `A review.` (only when one pair of quotes wraps the whole text)."""
    while (opener := wrapping_quote(text)) is not None:
        closer = QUOTE_PAIRS[opener]
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
    text: str, finish_reason: str = "stop", error: str | None = None, *, accept_truncated: bool = False,
    prompt: list[dict[str, str]] | None = None,
) -> ParseOutcome:
    """Turn one model reply into accepted review text or a rejection reason.

    `prompt` (the chat messages the reply answers) enables the `prompt_copy` check.
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
    if prompt:
        from sarcgen.prompts import prompt_copy

        copied = prompt_copy(cleaned, prompt)
        if copied:
            return ParseOutcome(None, PROMPT_COPY, copied)
    meta = find_meta_text(cleaned)
    if meta is not None:
        return ParseOutcome(None, META_TEXT, meta[:80])
    m = _NOT_ONE_REVIEW.search(cleaned)
    if m:
        return ParseOutcome(None, MALFORMED, f"not a single plain-prose review (found {m.group(0).strip()[:20]!r})")
    markdown = find_markdown(cleaned)
    if markdown is not None:
        return ParseOutcome(None, MALFORMED, f"markdown ({markdown[:20]!r})")
    slot = find_placeholder(cleaned)
    if slot is not None:
        return ParseOutcome(None, PLACEHOLDER, slot[:60])
    return ParseOutcome(cleaned)
