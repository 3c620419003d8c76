"""The blind judge: an LLM labels each review from its text alone (sentiment, sarcastic or not).

It runs on the same backend code as `sarcgen generate` (`sarcgen.backends.create_backend`), with
the recipe's model or `filter.judge_model`. Answers are two plain-text lines ("sentiment:
negative" / "sarcastic: yes"), parsed leniently; no JSON grammar (8x slower on llama.cpp). An
answer that cannot be parsed is a named reason (`judge_unparseable`), never a crash.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sarcgen.backends.base import Backend, GenerationRequest, ModelInfo
from sarcgen.filter.calibration import CALIBRATION_SET, Calibration, score
from sarcgen.filter.check import Drop, KeepOrDrop
from sarcgen.records import Review
from sarcgen.text import strip_think

if TYPE_CHECKING:
    from sarcgen.filter.report import Agreement, FilterReport
    from sarcgen.prompts import PromptTemplate
    from sarcgen.recipe import Recipe

UNPARSEABLE = "judge_unparseable"
ERROR = "judge_error"
SENTIMENT = "judge_sentiment_disagrees"
SARCASM = "judge_sarcasm_disagrees"
BOTH = "judge_both_disagree"
CALIBRATION_FILE = "judge_calibration.json"

_SENT = re.compile(r"sentiment\W{0,4}(?:is\s+)?(positive|negative|pos|neg)\b", re.IGNORECASE)
_SARC = re.compile(r"sarcas\w*\W{0,4}(?:is\s+)?(yes|no|true|false|y|n)\b", re.IGNORECASE)
_NOT_SARC = re.compile(r"\b(not|isn'?t|no)\s+(sarcastic|sarcasm|ironic)\b|\bsincere\b|\bgenuine\b", re.IGNORECASE)
_IS_SARC = re.compile(r"\b(sarcastic|sarcasm|ironic|irony)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Verdict:
    """What the judge said: label (0/1) and sarcastic, each None when it could not be read."""

    label: int | None
    sarcastic: bool | None
    raw: str

    @property
    def parsed(self) -> bool:
        return self.label is not None and self.sarcastic is not None


def parse_verdict(text: str) -> Verdict:
    """Read "sentiment: negative / sarcastic: yes" from a free-form answer, leniently."""
    clean = strip_think(text or "").strip()
    label: int | None = None
    sarcastic: bool | None = None
    m = _SENT.search(clean)
    if m:
        label = 1 if m.group(1).lower().startswith("pos") else 0
    else:  # a bare word, when exactly one of the two appears
        pos = re.search(r"\bpositive\b", clean, re.IGNORECASE)
        neg = re.search(r"\bnegative\b", clean, re.IGNORECASE)
        if bool(pos) != bool(neg):
            label = 1 if pos else 0
    m = _SARC.search(clean)
    if m:
        sarcastic = m.group(1).lower() in ("yes", "true", "y")
    elif _NOT_SARC.search(clean):
        sarcastic = False
    elif _IS_SARC.search(clean):
        sarcastic = True
    else:  # "negative\nyes": a bare yes/no on its own line
        m = re.search(r"^\W*(yes|no)\W*$", clean, re.IGNORECASE | re.MULTILINE)
        if m:
            sarcastic = m.group(1).lower() == "yes"
    return Verdict(label, sarcastic, text or "")


@dataclass(frozen=True)
class JudgeOutcome:
    """Per review: the verdict and None (agrees) or a reason."""

    id: str
    verdict: Verdict
    reason: str | None
    detail: str = ""


def compare(review: Review, verdict: Verdict, gate: str = "sentiment_and_sarcasm") -> tuple[str | None, str]:
    """None when the judge confirms what `gate` asks of the record (its label, or its label and sarcasm),
    else (reason, detail)."""
    said = f"judge said sentiment={verdict.label} sarcastic={verdict.sarcastic}; record has label={review.label} sarcastic={review.sarcastic}"
    if not verdict.parsed:
        return UNPARSEABLE, f"unparseable answer: {verdict.raw.strip()[:120]!r}"
    s_bad = verdict.label != review.label
    z_bad = verdict.sarcastic != review.sarcastic and gate != "sentiment"
    if s_bad and z_bad:
        return BOTH, said
    if s_bad:
        return SENTIMENT, said
    if z_bad:
        return SARCASM, said
    return None, said


def judge_requests(keyed_texts: Sequence[tuple[str, str]], template: PromptTemplate, *, seed: int = 0,
                   max_tokens: int = 16) -> list[GenerationRequest]:
    """One greedy, short request per (key, review text); the judge sees only the text."""
    return [
        GenerationRequest(
            key=key,
            messages=template.messages(review=text),
            seed=seed,
            max_tokens=max_tokens,
            temperature=0.0,
            top_p=1.0,
            top_k=1,
            min_p=0.0,
            repeat_penalty=1.0,
        )
        for key, text in keyed_texts
    ]


def judge_reviews(
    reviews: Sequence[Review],
    backend: Backend,
    *,
    template_name: str = "judge.j2",
    seed: int = 0,
    max_tokens: int = 16,
    progress: bool = True,
    gate: str = "sentiment_and_sarcasm",
) -> list[JudgeOutcome]:
    """Ask `backend` (loaded here if needed) about each review; outcomes in input order."""
    from tqdm import tqdm

    from sarcgen.prompts import load_template

    if not reviews:
        return []
    template = load_template(template_name)
    requests = judge_requests([(r.id, r.text) for r in reviews], template, seed=seed, max_tokens=max_tokens)
    by_id = {r.id: r for r in reviews}
    outcomes: dict[str, JudgeOutcome] = {}
    bar = tqdm(total=len(requests), desc="judge", unit="review", file=sys.stderr, disable=not progress, leave=False)
    for res in backend.generate(iter(requests)):
        review = by_id[res.key]
        if res.finish_reason == "error" or res.error:
            outcomes[res.key] = JudgeOutcome(res.key, Verdict(None, None, res.text or ""), ERROR, res.error or "backend error")
        else:
            verdict = parse_verdict(res.text)
            reason, detail = compare(review, verdict, gate)
            outcomes[res.key] = JudgeOutcome(res.key, verdict, reason, detail)
        bar.update(1)
    bar.close()
    missing = [r.id for r in reviews if r.id not in outcomes]
    for rid in missing:  # a backend that stopped early: say so per item
        outcomes[rid] = JudgeOutcome(rid, Verdict(None, None, ""), ERROR, "no answer from the backend")
    return [outcomes[r.id] for r in reviews]


def agreement(outcomes: Sequence[JudgeOutcome]) -> Agreement:
    """Agreement rates: overall (over all judged), and per question over parsed answers."""
    n = len(outcomes)
    parsed = [o for o in outcomes if o.verdict.parsed]
    agree = sum(o.reason is None for o in outcomes)
    sent_ok = sum(o.reason in (None, SARCASM) for o in parsed)
    sarc_ok = sum(o.reason in (None, SENTIMENT) for o in parsed)
    return {  # agreement_rate first: readers that look for the first "agreement" key get the rate
        "agreement_rate": round(agree / n, 4) if n else None,
        "judged": n,
        "parsed": len(parsed),
        "agreements": agree,
        "sentiment_agreement_rate": round(sent_ok / len(parsed), 4) if parsed else None,
        "sarcasm_agreement_rate": round(sarc_ok / len(parsed), 4) if parsed else None,
        "unparseable": sum(o.reason == UNPARSEABLE for o in outcomes),
        "errors": sum(o.reason == ERROR for o in outcomes),
    }


def judge_recipe(recipe: Recipe) -> Recipe:
    """The recipe the judge's backend is built from. A `filter.judge_model` (a GGUF) runs in-process
    with llama.cpp even when the run generated through OpenAI-compatible servers: their backend
    would ask the servers' model and silently ignore the GGUF."""
    g = recipe.generate
    if recipe.filter.judge_model is None or g.backend != "openai":
        return recipe
    from sarcgen.backends.options import OpenAIOptions

    return recipe.model_copy(update={"generate": g.model_copy(update={"backend": "llamacpp", "parallel": 1,
                                                                         "openai": OpenAIOptions()})})


def calibrate(backend: Backend, template: PromptTemplate, min_precision: float, min_recall: float = 0.1,
              gate: str = "sentiment_and_sarcasm", *, seed: int = 0) -> Calibration:
    """Ask the (loaded) judge `backend` about every calibration review and score its answers."""
    keyed = [(f"calibration-{i:02d}", item.text) for i, item in enumerate(CALIBRATION_SET)]
    answers: dict[str, str] = {}
    for res in backend.generate(iter(judge_requests(keyed, template, seed=seed))):
        answers[res.key] = "" if res.error else (res.text or "")
    return score([parse_verdict(answers.get(key, "")) for key, _ in keyed], min_precision, min_recall, gate)


class Judge:
    """The LLM judge as one filter stage (opt-in): it confirms each record's label (filter.judge_gate:
    the label, or the label and the sarcasm flag) from the text alone, and a record it does not
    confirm is dropped. Every verdict is kept in `rows` (label_checks.jsonl), disagreements also in
    `disagreements` (judge_disagreements.jsonl).

    It first answers the calibration set, scored as a gate (`sarcgen.filter.calibration`); below
    filter.judge_min_precision or judge_min_recall it stops the filter (`QualityError`), unless
    filter.judge_mode is "advisory", where every verdict is recorded and nothing is dropped."""

    def __init__(self, recipe: Recipe, backend: Backend | None = None, *, progress: bool = True) -> None:
        self.recipe = recipe
        self.backend = backend  # None: built from filter.judge_model (or model), loaded and closed here
        self.progress = progress
        self.disagreements: list[dict[str, object]] = []
        self.rows: list[dict[str, object]] = []
        # Verdicts per review id, and what the calibration gave: the gate audit runs this stage over
        # every record first; the filter's own pass afterwards reuses the answers.
        self._known: dict[str, JudgeOutcome] = {}
        self._asked: tuple[ModelInfo, Calibration] | None = None

    def apply(self, reviews: Sequence[Review], report: FilterReport) -> list[KeepOrDrop]:
        """A Drop with the judge's reason for each disagreement; agreement rates go into the report."""
        if not reviews:  # nothing left to judge: do not load a model for it
            report.judge = {**agreement([]), "model_file": None, "model_sha256": None, "backend": None}
            return []
        outcomes, info, calibration = self._ask(reviews, report)
        advisory = self.recipe.filter.judge_mode == "advisory"
        if not calibration.passed:  # enforce mode raised in _calibrate
            report.warnings.append(f"the judge {info.model_file} failed its calibration: {calibration.summary()}; advisory "
                                   "mode: its verdicts are recorded, nothing was dropped by it, the labels are NOT verified")
        verdicts: list[KeepOrDrop] = []
        self.disagreements = []
        in_pass = {r.id for r in reviews}
        for r, o in zip(reviews, outcomes):
            verdicts.append(None if o.reason is None or advisory else Drop(o.reason, o.detail))
            if o.reason is not None:
                self.disagreements.append({
                    "id": r.id, "plan_index": r.plan_index, "reason": o.reason, "label": r.label, "sarcastic": r.sarcastic,
                    "device": r.device, "judge_label": o.verdict.label, "judge_sarcastic": o.verdict.sarcastic,
                    "answer": o.verdict.raw, "text": r.text})
        # every verdict this judge gave (with --audit: on every record, not only those that reached it)
        self.rows = [{"id": rid, "check": "judge", "confirmed": o.reason is None, "reason": o.reason,
                      "judge_label": o.verdict.label, "judge_sarcastic": o.verdict.sarcastic, "answer": o.verdict.raw.strip()[:200],
                      "acted": rid in in_pass and not advisory} for rid, o in self._known.items()]
        report.judge = {**agreement(outcomes), "model_file": info.model_file, "model_sha256": info.model_sha256,
                        "backend": info.backend, "mode": self.recipe.filter.judge_mode,
                        "calibration": {k: v for k, v in calibration.to_json().items() if k != "answers"}}
        return verdicts

    def _ask(self, reviews: Sequence[Review], report: FilterReport) -> tuple[list[JudgeOutcome], ModelInfo, Calibration]:
        new = [r for r in reviews if r.id not in self._known]
        if new or self._asked is None:
            outcomes, self._asked = self._ask_backend(new, report)
            self._known.update((o.id, o) for o in outcomes)
        return [self._known[r.id] for r in reviews], *self._asked

    def _ask_backend(self, reviews: Sequence[Review], report: FilterReport) -> tuple[list[JudgeOutcome], tuple[ModelInfo, Calibration]]:
        from sarcgen.backends import checked, create_backend

        own = self.backend is None
        backend = (create_backend(judge_recipe(self.recipe), self.recipe.filter.judge_model or self.recipe.model)
                   if self.backend is None else checked(self.backend, "the judge was given a"))
        try:
            if own or not backend.loaded:
                backend.load()
            info = backend.info()
            calibration = self._asked[1] if self._asked else self._calibrate(backend, report, info.model_file)
            outcomes = judge_reviews(reviews, backend, template_name=self.recipe.filter.judge_template,
                                     progress=self.progress, gate=self.recipe.filter.judge_gate)
        finally:
            if own:
                backend.close()
        return outcomes, (info, calibration)

    def _calibrate(self, backend: Backend, report: FilterReport, model_file: str) -> Calibration:
        """Score the judge on the calibration set (all answers in judge_calibration.json). Below
        filter.judge_min_precision or judge_min_recall: a QualityError in enforce mode, a report warning in advisory mode."""
        from sarcgen.errors import QualityError
        from sarcgen.jsonl import write_json
        from sarcgen.prompts import load_template

        fs = self.recipe.filter
        cal = calibrate(backend, load_template(self.recipe.filter.judge_template), fs.judge_min_precision,
                        fs.judge_min_recall, fs.judge_gate)
        report.out_dir.mkdir(parents=True, exist_ok=True)
        write_json(report.out_dir / CALIBRATION_FILE, {"model_file": model_file, **cal.to_json()})
        if cal.passed or fs.judge_mode == "advisory":
            return cal
        raise QualityError(
            f"the judge {model_file} failed its calibration {cal.summary()}; as a gate it would let wrong labels through "
            f"or empty a class (answers in {report.out_dir / CALIBRATION_FILE})",
            "pass a stronger --judge-model PATH.gguf, or --judge-mode advisory to record its verdicts without dropping "
            "anything, or leave out --judge",
        )
