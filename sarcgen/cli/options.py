"""Options shared by several commands."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

recipe_option = click.option(
    "--recipe",
    "-r",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="YAML recipe (see recipes/). Flags override its values.",
)


def overrides(**dotted: Any) -> dict[str, Any]:
    """Turn keyword args named with '__' for '.' into recipe overrides (None means 'not given')."""
    return {k.replace("__", "."): v for k, v in dotted.items() if v is not None}


def url_option(urls: tuple[str, ...], url_file: Path | None) -> str | list[str] | None:
    """--base-url (repeatable) plus --base-url-file -> one URL, a list (a fleet), or None (not given)."""
    from sarcgen.backends.fleet import read_url_file

    found = list(urls) + (read_url_file(url_file) if url_file else [])
    if not found:
        return None
    return found[0] if len(found) == 1 else found
