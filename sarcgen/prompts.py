"""Jinja2 prompt templates (packaged in sarcgen/templates/): chat messages with a static prefix and a variable tail.

A template renders a small text format: each chat message starts with a marker line `[[system]]`,
`[[user]]` or `[[assistant]]`, so a template reads like the conversation it produces. Templates
shipped in sarcgen/templates/ (or a user's $SARCGEN_PROMPTS_DIR) use a normal environment; a user template (any path given as
`generate.template` or `--template`) is rendered in a `SandboxedEnvironment`. Both use
`StrictUndefined`, so a misspelt variable fails instead of silently vanishing.

Each template has a name and a sha256 over its source and every file it includes or imports;
both go into every record's provenance.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sarcgen.errors import RecipeError
from sarcgen.jsonl import read_text

if TYPE_CHECKING:
    import jinja2

    from sarcgen.generate.plan import PlanItem
    from sarcgen.recipe import Attributes
    from sarcgen.records import Review

ROLES = ("system", "user", "assistant")
_MARKER = re.compile(r"^\[\[(system|user|assistant)\]\][ \t]*$", re.MULTILINE)


PACKAGED = Path(__file__).resolve().parent / "templates"


def template_dirs() -> list[Path]:
    """Where named templates are looked up, first match wins: $SARCGEN_PROMPTS_DIR (a user's own
    folder, which overrides any packaged template of the same name), then the packaged templates/."""
    env = os.environ.get("SARCGEN_PROMPTS_DIR")
    return [Path(env).expanduser(), PACKAGED] if env else [PACKAGED]


def find_template(name: str) -> Path | None:
    """The file a template name resolves to, or None."""
    for base in template_dirs():
        if (base / name).is_file():
            return base / name
    return None


@dataclass(frozen=True)
class PromptTemplate:
    """A loaded template: render it to text or to chat messages."""

    name: str
    path: Path
    sha256: str
    sandboxed: bool
    template: jinja2.Template

    def render(self, **variables: object) -> str:
        import jinja2

        try:
            return str(self.template.render(**variables))
        except jinja2.UndefinedError as exc:
            raise RecipeError(f"{self.path}: template uses an undefined variable: {exc.message}") from None
        except jinja2.TemplateError as exc:
            line = getattr(exc, "lineno", None)
            where = f"{self.path}:{line}" if line else str(self.path)
            raise RecipeError(f"{where}: template error: {exc}") from None

    def messages(self, **variables: object) -> list[dict[str, str]]:
        """Render and split into chat messages at the `[[role]]` marker lines."""
        return parse_messages(self.render(**variables), str(self.path))


def parse_messages(text: str, source: str = "<template>") -> list[dict[str, str]]:
    """Split rendered template text into `[{"role", "content"}]` at `[[role]]` marker lines."""
    marks = list(_MARKER.finditer(text))
    if not marks:
        raise RecipeError(
            f"{source}: the template produced no chat messages",
            "start each message with a line [[system]], [[user]] or [[assistant]]",
        )
    if text[: marks[0].start()].strip():
        raise RecipeError(f"{source}: text before the first [[role]] marker", "put a [[system]] or [[user]] line first")
    out = []
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        content = text[m.end() : end].strip("\n").strip()
        out.append({"role": m.group(1), "content": content})
    if out[-1]["role"] != "user":
        raise RecipeError(f"{source}: the last message must be [[user]] (the model answers it)")
    return out


def _environment(search: list[Path], sandboxed: bool) -> jinja2.Environment:
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

    cls = SandboxedEnvironment if sandboxed else jinja2.Environment
    return cls(
        loader=jinja2.FileSystemLoader([str(p) for p in search]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        autoescape=False,
    )


def _hash(env: jinja2.Environment, name: str) -> str:
    """sha256 over the template's source and, recursively, everything it includes/imports."""
    from jinja2 import meta

    loader = env.loader
    assert loader is not None  # _environment always gives one
    h = hashlib.sha256()
    seen: set[str] = set()
    todo = [name]
    while todo:
        n = todo.pop(0)
        if n in seen:
            continue
        seen.add(n)
        source, _, _ = loader.get_source(env, n)
        h.update(n.encode() + b"\0" + source.encode() + b"\0")
        todo += sorted(t for t in meta.find_referenced_templates(env.parse(source)) if isinstance(t, str))
    return h.hexdigest()


def load_template(spec: str) -> PromptTemplate:
    """Load a template: a packaged template name (trusted), or a path to a user template (sandboxed).

    User templates may include the shipped partials (the template folders are on their search path too).
    """
    import jinja2

    dirs = template_dirs()
    candidate = Path(spec).expanduser()
    named = find_template(spec) if not candidate.is_absolute() else None
    if named is not None:
        path, sandboxed, search, name = named, False, dirs, spec
    elif candidate.is_file():
        path, sandboxed, name = candidate.resolve(), True, candidate.name
        search = [path.parent, *dirs]
    else:
        looked = ", ".join(str(d) for d in dirs)
        raise RecipeError(
            f"generate.template: template {spec!r} not found (looked in {looked} and as a path)",
            "pass the name of a packaged template (review.j2) or a path to a Jinja2 template",
        )
    read_text(path)  # a byte that is not UTF-8 fails here, naming the file and line
    env = _environment(search, sandboxed)
    try:
        template = env.get_template(name)
        digest = _hash(env, name)
    except UnicodeDecodeError:
        raise RecipeError(f"{path}: a template it includes is not UTF-8", "save every template as UTF-8") from None
    except jinja2.TemplateSyntaxError as exc:
        raise RecipeError(f"{exc.filename or path}:{exc.lineno}: template syntax error: {exc.message}") from None
    except jinja2.TemplateNotFound as exc:
        raise RecipeError(f"{path}: includes a template that does not exist: {exc.name}") from None
    return PromptTemplate(name=name, path=path, sha256=digest, sandboxed=sandboxed, template=template)


def review_messages(template: PromptTemplate, item: PlanItem, attributes: Attributes) -> list[dict[str, str]]:
    """Chat messages for one plan item under the recipe's attributes."""
    return template.messages(
        item=item.prompt_vars(),
        devices=list(attributes.devices),
        aspects=list(attributes.aspects),
        genres=list(attributes.genres),
    )


def record_messages(template: PromptTemplate, review: Review, attributes: Attributes) -> list[dict[str, str]]:
    """The chat messages a stored `Review` was generated from (re-rendered from its attributes),
    so later stages can check a record against its prompt."""
    bucket = next((b for b in attributes.lengths if b.name == review.length), None)
    item = {
        "id": review.id, "plan_index": review.plan_index, "group_index": review.plan_index, "pair_id": review.pair_id,
        "sarcastic": review.sarcastic, "label": review.label, "device": review.device, "aspect": review.aspect,
        "genre": review.genre, "length": review.length, "cue": review.cue, "seed": review.provenance.seed,
        "min_words": bucket.min_words if bucket else 0, "max_words": bucket.max_words if bucket else 0,
        "examples": (), "source_text": None,  # a grounded record is re-rendered from its plan (generate.grounding)
    }
    return template.messages(item=item, devices=list(attributes.devices), aspects=list(attributes.aspects),
                             genres=list(attributes.genres))


# ---------------------------------------------------------------------------------------------
# Replies that copy the prompt

COPY_RATIO = 85.0  # rapidfuzz ratio (0-100) of the whole reply against one part of the prompt
COPY_NGRAM = 6  # word n-grams shared with the prompt ...
COPY_SHARE = 0.5  # ... covering at least this share of the reply's words


def _prompt_parts(messages: list[dict[str, str]]) -> list[tuple[str, str]]:
    """(where, text): each few-shot answer whole, and every line of the other messages."""
    parts = []
    answers = 0
    for m in messages:
        if m["role"] == "assistant":
            answers += 1
            parts.append((f"few-shot example {answers}", m["content"]))
        else:
            parts += [(f"{m['role']} message", line) for line in m["content"].splitlines() if line.strip()]
    return parts


def prompt_copy(text: str, messages: list[dict[str, str]]) -> str | None:
    """None, or what part of the prompt `text` reproduces near-verbatim.

    Two tests, on lower-cased words: the whole reply against each few-shot answer (and each line
    of the instructions) with rapidfuzz `ratio` >= COPY_RATIO; and the share of the reply's words
    covered by word 6-grams that also occur in the prompt (>= COPY_SHARE), which catches a copied
    example with a sentence added or a word changed. A review of its own shares no 6-gram with
    the prompt (measured on real replies: see `sarcgen.generate.reply`).
    """
    from rapidfuzz import fuzz

    from sarcgen.text import tokens

    words = tokens(text)
    if len(words) < 4:
        return None
    joined = " ".join(words)
    parts = _prompt_parts(messages)
    for where, part in parts:
        ptoks = tokens(part)
        if len(ptoks) >= 4:
            score = fuzz.ratio(joined, " ".join(ptoks))
            if score >= COPY_RATIO:
                return f"reproduces the {where} (ratio {score:.0f}): {part[:80]!r}"
    n = COPY_NGRAM
    if len(words) < n:
        return None
    grams: dict[tuple[str, ...], str] = {}
    for where, part in parts:
        ptoks = tokens(part)
        for i in range(len(ptoks) - n + 1):
            grams.setdefault(tuple(ptoks[i:i + n]), where)
    covered = [False] * len(words)
    sources: dict[str, int] = {}
    for i in range(len(words) - n + 1):
        found = grams.get(tuple(words[i:i + n]))
        if found:
            covered[i:i + n] = [True] * n
            sources[found] = sources.get(found, 0) + 1
    share = sum(covered) / len(words)
    if share >= COPY_SHARE:
        top = max(sources, key=lambda k: sources[k])
        return f"{share:.0%} of its words are runs of {n}+ words from the prompt (mostly the {top})"
    return None
