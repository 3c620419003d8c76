"""The metrics finetune-compare compares A and B on: one class each, registered here once.

A metric scores every example on its own (`per_example`, higher is better), so the paired
bootstrap and the exact paired test of `sarcgen.finetune.stats` work for any of them: B - A is the
mean of the per-example differences, resampled over the same examples and seeds for both runs.
Accuracy (1 right, 0 wrong) comes first: it is the one the verdict tables of report.md are built
on (results.json's `sets`, `groups`, `pairs`, `slices`). Every other registered metric gets its
paired interval per evaluation set in `mixes[mix].metrics[name][set]`, its mean per run in
`runs[k].A/B.metrics[set][name]` (and so in `aggregate`), and a table in report.md.

Adding a metric is one `Metric` subclass and one `register(...)` call, here or in your own code
before `run_compare` (tests/finetune/test_metrics.py does the latter).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar

THRESHOLD = 0.5  # a prediction is Negative when P(negative) >= 0.5


def predictions(p_negative: Sequence[float]) -> list[int]:
    """0 (negative) / 1 (positive) per example from its P(negative)."""
    return [0 if p >= THRESHOLD else 1 for p in p_negative]


class Metric(ABC):
    """A per-example score of one run on one evaluation set; its mean is the metric."""

    name: ClassVar[str]  # the key in results.json (`runs[k].A.metrics[set][name]`, `mixes[m].metrics[name]`)
    title: ClassVar[str]  # how report.md names it

    @abstractmethod
    def per_example(self, p_negative: Sequence[float], labels: Sequence[int]) -> list[float]:
        """One score per example (same order as `labels`); higher is better."""


class Accuracy(Metric):
    """1 when the prediction is the label, else 0: what the verdicts are about."""

    name = "accuracy"
    title = "accuracy"

    def per_example(self, p_negative: Sequence[float], labels: Sequence[int]) -> list[float]:
        return [float(p == y) for p, y in zip(predictions(p_negative), labels)]


class TrueClassProbability(Metric):
    """The probability the model gives the right label: moves before a prediction flips, so it shows
    a model growing surer (or less sure) of the same answers, which accuracy cannot."""

    name = "p_true"
    title = "probability of the true class"

    def per_example(self, p_negative: Sequence[float], labels: Sequence[int]) -> list[float]:
        return [p if y == 0 else 1.0 - p for p, y in zip(p_negative, labels)]


METRICS: dict[str, Metric] = {}
PRIMARY = Accuracy.name  # the metric of the verdict tables (sets, groups, pairs, slices)


def register(metric: Metric) -> Metric:
    """Add `metric` to every comparison from now on; its name must be new."""
    if metric.name in METRICS:
        raise ValueError(f"a metric named {metric.name!r} is already registered ({type(METRICS[metric.name]).__name__})")
    METRICS[metric.name] = metric
    return metric


register(Accuracy())
register(TrueClassProbability())
