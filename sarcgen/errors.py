"""One exception family. Messages say what went wrong *and* what to do next.

The library raises these; the CLI turns them into a one-line error and a non-zero exit in one place
(`sarcgen.cli.main`). Nothing in the library imports click.
"""

from __future__ import annotations


class SarcgenError(Exception):
    """Base class: every error a user can cause or fix."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class RecipeError(SarcgenError):
    """A recipe file or override is invalid (names the file and key)."""

    exit_code = 2


class InputError(SarcgenError):
    """An input file (JSONL, CSV, run folder) is missing, empty or malformed."""

    exit_code = 2


class ModelError(SarcgenError):
    """A model cannot be found, downloaded or loaded."""

    exit_code = 3


class BackendError(SarcgenError):
    """A generation backend failed in a way retries could not fix."""

    exit_code = 4


class ReplicaUnavailable(BackendError):
    """One server or worker of several could not answer; another replica may (the request is re-sent)."""


class PublishError(SarcgenError):
    """Building, saving or pushing a dataset failed."""

    exit_code = 5


class TrainingError(SarcgenError):
    """Fine-tuning or evaluation cannot run with the given data or model."""

    exit_code = 6


class QualityError(SarcgenError):
    """A quality gate failed: the judge missed its calibration set, or a class of reviews vanished."""

    exit_code = 7
