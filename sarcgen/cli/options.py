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
