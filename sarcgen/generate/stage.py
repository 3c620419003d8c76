"""The generate stage as `sarcgen run` drives it (`sarcgen.stage.Stage`).

Its completion record is written by `sarcgen.generate.manifest` from the data fingerprint (under the
folder's fingerprint version, `folder_fingerprint`) and the target count; `inputs` and
`settings_hash` below are the one place `sarcgen run` reads them from.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sarcgen.stage import Inputs, Stage

if TYPE_CHECKING:
    from sarcgen.recipe import Recipe


def preflight(recipe: Recipe) -> None:
    """The template, grounded generation's files (sources named and present, examples readable),
    and the embedded model's package when the recipe names one."""
    from sarcgen.embedded import embedded_gguf
    from sarcgen.errors import InputError
    from sarcgen.generate.grounded_plan import resolve_sources, template_for
    from sarcgen.generate.grounding import load_examples

    resolved = resolve_sources(recipe)
    template_for(resolved)
    g = resolved.generate
    if g.grounding.examples:
        load_examples(g.grounding.examples)
    src = g.grounding.sources
    if g.grounding.mode == "rewrite" and src and src != "embedded" and not Path(src).exists():
        raise InputError(f"generate.grounding.sources: {src}: no such file or folder", "pass --sources DIR_OR_FILE")
    if recipe.model.embedded:  # the package must be installed (one line naming the extra otherwise)
        embedded_gguf(recipe.model.embedded)


def settings_hash(recipe: Recipe, run: Path) -> str:
    """What generate records as its settings: the data fingerprint, under the folder's fingerprint version."""
    from sarcgen.generate.manifest import folder_fingerprint

    return folder_fingerprint(run, recipe)


def inputs(recipe: Recipe, run: Path) -> Inputs:
    """What a generate completion depends on: the recipe (its hash) and the target count."""
    from sarcgen.generate.manifest import generate_inputs

    return generate_inputs(settings_hash(recipe, run), recipe.generate.n)


def run(recipe: Recipe, folder: Path, progress: bool) -> tuple[str, str]:
    """Generate (or resume) into `folder`; "skipped" when every record was already there."""
    from sarcgen.generate.run import generate_run

    s = generate_run(recipe, out_dir=folder, progress=progress)
    if s.new_accepted:
        return "ran", f"{s.accepted}/{s.target} accepted, {s.tokens_per_s:.1f} tok/s"
    return "skipped", f"{s.accepted} records already in {folder}"


STAGE = Stage("generate", preflight, inputs, settings_hash, run)
