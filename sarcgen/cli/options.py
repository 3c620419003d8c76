"""Options shared by several commands."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem

F = TypeVar("F", bound=Callable[..., object])
"""A click command function, before or after its options are added."""

recipe_option = click.option(
    "--recipe",
    "-r",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="YAML recipe (see recipes/). Flags override its values.",
)


class BackendName(click.ParamType):
    """A registered backend's name (builtins and plug-ins), read from the registry when parsed or
    shown, so `--backend` and `--help` know every backend `generate.backend` accepts."""

    name = "backend"

    def _names(self) -> list[str]:
        from sarcgen.backends.registry import names

        return names()

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str:
        return "[" + "|".join(self._names()) + "]"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from sarcgen.backends.registry import find

        if find(str(value)) is None:  # the plug-ins' entry points are read only for a name that is not a builtin
            self.fail(f"{value!r} is not a registered backend: choose one of {', '.join(self._names())}", param, ctx)
        return str(value)

    def shell_complete(self, ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
        from click.shell_completion import CompletionItem

        return [CompletionItem(n) for n in self._names() if n.startswith(incomplete)]


class _BackendOption(click.Option):
    """`--backend`, whose help lists each registered backend with its spec's description."""

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        from sarcgen.backends.registry import specs

        described = "; ".join(f"{name}: {spec.description}" if spec.description else name for name, spec in specs().items())
        self.help = f"Which engine generates (generate.backend). {described}."
        return super().get_help_record(ctx)


def backend_option(f: F) -> F:
    """`--backend NAME`, any registered backend (generate.backend), the same in every command."""
    return click.option("--backend", cls=_BackendOption, type=BackendName(), default=None)(f)


THREADS = click.IntRange(min=1)
"""The one rule for --threads in every command: a count of at least 1; leave it out for all cores."""


def threads_option(what: str) -> Callable[[F], F]:
    """`--threads N` (N >= 1; default: all cores), the same in every command."""
    return click.option("--threads", type=THREADS, default=None, help=f"CPU threads for {what} (at least 1) [all cores]")


class Overrides(dict[str, object]):
    """Recipe overrides from command-line flags (dotted key -> value) that can say which flag set
    a key, so a bad value is blamed on `--temperature -1`, not on the recipe file's line."""

    def __init__(self, values: dict[str, object], flags: dict[str, str]) -> None:
        super().__init__(values)
        self.flags = flags

    def source(self, key: str) -> str | None:
        flag = self.flags.get(key)
        return f"{flag} {self[key]!r}" if flag and key in self else None

    def __setitem__(self, key: str, value: object) -> None:
        super().__setitem__(key, value)
        self.flags.setdefault(key, _flag_for(key))


def _flag_for(dotted: str) -> str:
    """The current command's option whose name ends the dotted key (generate.n_threads: --threads)."""
    ctx = click.get_current_context(silent=True)
    flat = dotted.replace(".", "_")
    if ctx is not None:
        names = [p for p in ctx.command.params if isinstance(p, click.Option) and p.name and flat.endswith(p.name)]
        if names:
            best = max(names, key=lambda p: len(p.name or ""))
            return max(best.opts, key=len)
    return f"override {dotted}"


def overrides(**dotted: object) -> Overrides:
    """Turn keyword args named with '__' for '.' into recipe overrides (None means 'not given')."""
    values = {k.replace("__", "."): v for k, v in dotted.items() if v is not None}
    return Overrides(values, {k: _flag_for(k) for k in values})


def url_option(urls: tuple[str, ...], url_file: Path | None) -> str | list[str] | None:
    """--base-url (repeatable) plus --base-url-file -> one URL, a list (a fleet), or None (not given)."""
    from sarcgen.backends.fleet import read_url_file

    found = list(urls) + (read_url_file(url_file) if url_file else [])
    if not found:
        return None
    return found[0] if len(found) == 1 else found


def grounding_options(f: F) -> F:
    """--mode, --sources, --examples: grounded generation (`sarcgen.generate.grounding`)."""
    f = click.option("--examples", default=None, metavar="FILE",
                     help="Few-shot examples from your own data (csv/jsonl/parquet: text, label[, device]; label 0 = "
                          "sarcastic negative, 1 = sincere positive) instead of the template's (generate.grounding.examples).")(f)
    f = click.option("--sources", default=None, metavar="DIR|FILE|embedded",
                     help="Real reviews to rewrite in --mode rewrite: an IMDB folder (its train files), a text,label "
                          "file, or `embedded` (default: finetune.base_data).")(f)
    return click.option("--mode", type=click.Choice(["free", "rewrite"]), default=None,
                        help="free: compose reviews from the plan's attributes; rewrite: sarcastic edits of real "
                             "negative reviews and sincere edits of real positive ones (generate.grounding.mode).")(f)


def grounding_overrides(mode: str | None, sources: str | None, examples: str | None) -> dict[str, str | None]:
    return {"generate__grounding__mode": mode, "generate__grounding__sources": sources,
            "generate__grounding__examples": examples}
