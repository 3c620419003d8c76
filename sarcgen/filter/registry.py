"""The filter's checks, registered once, in the order they run.

Everything that lists the checks is derived from here: the pipeline `run_filter` applies
(`build`), the stage names in filter_rejected.jsonl, the order of its rows and of the report's
per-stage table (`stages`), and the names the gate audit measures each check under. Adding a
check is one file (a class with `apply`, see `sarcgen.filter.check.Check`) and one `register`
call below. A factory imports its check inside, so naming the checks loads no model or numpy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sarcgen.backends.base import Backend
    from sarcgen.filter.check import Check
    from sarcgen.recipe import Recipe

READ = "read"
"""Not a check: the stage of rows that could not be read (malformed JSON) before any check ran."""

Factory = Callable[["Recipe", "Backend | None", bool], "Check | None"]
"""(recipe, judge backend override, progress) -> the check, or None when the recipe leaves it out."""


@dataclass(frozen=True)
class Registration:
    """One check: the stage name its drops are recorded under, and how to build it for a recipe."""

    stage: str
    make: Factory


@dataclass(frozen=True)
class Active:
    """A check built for one filter run, with its stage name."""

    stage: str
    check: Check


_REGISTERED: list[Registration] = []


def register(stage: str, make: Factory) -> Registration:
    """Add a check after those registered before it. A second check under a taken name is a bug."""
    if stage == READ or any(r.stage == stage for r in _REGISTERED):
        raise ValueError(f"filter check {stage!r} is already registered")
    reg = Registration(stage, make)
    _REGISTERED.append(reg)
    return reg


def registered() -> tuple[Registration, ...]:
    """Every registered check, in order."""
    return tuple(_REGISTERED)


def stages() -> tuple[str, ...]:
    """Every stage a rejection can name, in order: `read`, then each check's."""
    return (READ, *(r.stage for r in _REGISTERED))


def build(recipe: Recipe, backend: Backend | None = None, *, progress: bool = True) -> list[Active]:
    """The checks this recipe runs, in order (a factory returning None leaves its check out)."""
    out = []
    for reg in _REGISTERED:
        check = reg.make(recipe, backend, progress)
        if check is not None:
            out.append(Active(reg.stage, check))
    return out


def _validate(recipe: Recipe, backend: Backend | None, progress: bool) -> Check:
    from sarcgen.filter.validate import Validate

    return Validate(recipe.filter, recipe)


def _dedupe(recipe: Recipe, backend: Backend | None, progress: bool) -> Check:
    from sarcgen.filter.dedupe import Dedupe

    return Dedupe(recipe.filter.near_dup_threshold)


def _decontaminate(recipe: Recipe, backend: Backend | None, progress: bool) -> Check:
    from sarcgen.filter.decontaminate import Decontaminate

    return Decontaminate(recipe.filter)


def _judge(recipe: Recipe, backend: Backend | None, progress: bool) -> Check | None:
    """Only with filter.judge: it loads a model."""
    from sarcgen.filter.judge import Judge

    return Judge(recipe, backend, progress=progress) if recipe.filter.judge else None


register("validate", _validate)
register("dedupe", _dedupe)
register("decontaminate", _decontaminate)
register("judge", _judge)
