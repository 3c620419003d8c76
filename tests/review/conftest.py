"""A real run folder for the review tests: `sarcgen generate --backend fake` (varied replies, one of
them carrying markup) + `sarcgen filter --judge` (the same fake as the judge), both through the CLI."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from sarcgen.backends import BACKENDS
from sarcgen.backends.base import GenerationRequest
from sarcgen.backends.fake import FakeBackend
from tests.cli_helpers import run_cli
from tests.factories import CALIBRATION_ANSWERS
from tests.study_helpers import SARC, varied_reply

XSS = "<img src=x onerror=alert(1)>"
XSS_ID = "000003-s"
JUDGED_OUT = "000008-s"  # the judge reads it as sincere praise
REPO = Path(__file__).resolve().parents[2]


def reply(req: GenerationRequest) -> str:
    """Varied plausible reviews, plus: 000003-s carries an HTML payload, 000005-s repeats 000004-s
    (a near-duplicate cluster), 000006-s fails its first attempt, 000007-t fails validation, and the
    judge disagrees with 000008-s."""
    if req.messages[0]["content"].startswith("You label movie reviews"):  # the blind judge (filter --judge)
        review = req.messages[-1]["content"].removeprefix("Review: ")
        if review in CALIBRATION_ANSWERS:  # it passes its calibration, so its verdicts count
            return CALIBRATION_ANSWERS[review]
        if "Truthfully" in review:  # the judge disagrees with this one
            return "sentiment: positive\nsarcastic: no"
        sarcastic = any(tail in review for tail in SARC) or "paint dry" in review
        return "sentiment: negative\nsarcastic: yes" if sarcastic else "sentiment: positive\nsarcastic: no"
    if req.key.startswith(JUDGED_OUT):
        return "Truthfully, the acting was stunning if you enjoy watching paint dry for two hours, said the crowd tonight."
    if req.key.startswith(XSS_ID):
        return f"Great acting {XSS} if you enjoy watching paint dry, said nobody after the long show ended."
    if req.key.startswith(("000004-s", "000005-s")):
        cue = re.search(r'Use the word "([^"]+)"', req.messages[-1]["content"]).group(1)  # type: ignore[union-attr]
        return (f"Honestly, the finale was {cue} if you enjoy watching paint dry for two hours, said my "
                "cousin about the whole evening at the late show downtown.")
    if req.key == "000006-s#0":  # a failed first attempt (rejected.jsonl), then a good retry
        return ""
    if req.key.startswith("000007-t"):  # a sincere twin with a sarcastic twist: dropped by validate
        return "Great cast and stunning camera work, if you enjoy watching paint dry for two long hours tonight."
    return varied_reply(req)


@pytest.fixture(scope="session")
def filtered_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A filtered run folder (read-only for tests: copy it with `fresh_run` to write decisions)."""
    run = tmp_path_factory.mktemp("review") / "run"
    saved = BACKENDS["fake"]
    BACKENDS["fake"] = lambda recipe, spec=None: FakeBackend(reply)
    try:
        capsys = _NullCapture()
        code, out, err = run_cli(["generate", "-r", str(REPO / "recipes" / "smoke.yaml"), "--backend", "fake",
                                  "--n", "40", "--out", str(run), "-q"], capsys)  # type: ignore[arg-type]
        assert code == 0, err
        code, _out, err = run_cli(["filter", str(run), "--judge", "-q"], capsys)  # type: ignore[arg-type]
        assert code == 0, err
    finally:
        BACKENDS["fake"] = saved
    return run


class _NullCapture:
    """run_cli wants capsys; a session fixture cannot have it, so output is simply not captured."""

    def readouterr(self) -> tuple[str, str]:
        return "", ""


@pytest.fixture()
def fresh_run(filtered_run: Path, tmp_path: Path) -> Path:
    """A private copy of the filtered run, for tests that write review.jsonl or publish."""
    dst = tmp_path / "run"
    shutil.copytree(filtered_run, dst)
    (dst / ".lock").unlink(missing_ok=True)
    return dst
