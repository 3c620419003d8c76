"""The contract every stage of the study has, generate -> filter -> publish -> finetune-compare.

Each stage package exports one `Stage` (`sarcgen.generate.STAGE`, ...): how to check its settings
before anything runs, what it reads from a run folder (fingerprints) and its settings hash (the
two things its completion record holds), and how to run it. The stage records its completion with
those same two functions that `current` compares against, so "is it done" cannot drift from "what
was recorded". `sarcgen run` (`sarcgen.pipeline`) is a loop over these objects; only its top-up
(generate more while the filter keeps fewer than n) names two of them. Building a `Stage` is cheap: every function imports its heavy libraries inside.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sarcgen import runfolder as rf

if TYPE_CHECKING:
    from sarcgen.recipe import Recipe

Inputs = Mapping[str, "str | None"]
"""{what a stage reads: its fingerprint}, as `rf.record_stage` records it."""


@dataclass(frozen=True)
class NotReady:
    """Why a stage cannot be current whatever its record says ("nothing published")."""

    why: str


@dataclass(frozen=True)
class Stage:
    """One stage as `sarcgen run` drives it.

    - `preflight(recipe)`: raise the stage's own error for a bad setting or a missing file; loads no
      model and reads no data (runs for every stage before the first one starts).
    - `inputs(recipe, run)`: fingerprints of what the stage reads from the run folder, or `NotReady`.
    - `settings_hash(recipe, run)`: the hash of the settings the stage records in `run` (generate's
      is the data fingerprint under the folder's own fingerprint version).
    - `run(recipe, run, progress)`: do the work; returns (status "ran" or "skipped", a detail line).
    """

    name: str
    preflight: Callable[[Recipe], None]
    inputs: Callable[[Recipe, Path], Inputs | NotReady]
    settings_hash: Callable[[Recipe, Path], str]
    run: Callable[[Recipe, Path, bool], tuple[str, str]]

    def current(self, recipe: Recipe, run: Path) -> tuple[bool, str]:
        """Whether the stage's completion record still holds for `recipe` in `run` (same inputs,
        same settings, outputs intact), and why not or what was found."""
        found = self.inputs(recipe, run)
        if isinstance(found, NotReady):
            return False, found.why
        return rf.stage_is_current(run, self.name, found, self.settings_hash(recipe, run))
