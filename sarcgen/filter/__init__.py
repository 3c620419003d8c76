"""Quality control for generated reviews: each stage returns keep or a named reason.

- `validate`: schema, length, language, meta-text, label leakage, formatting, the sarcasm contrast.
- `dedupe`: exact and near-duplicate removal (MinHash LSH candidates, rapidfuzz verification).
- `decontaminate`: drop items that near-match evaluation texts (challenge set, IMDB test, files).
- `judge`: an LLM classifies each review blind; disagreements are set aside.
- `diversity`: distinct-n, pairwise similarity, coverage and length statistics for the report.

They are registered once, in order, in `sarcgen.filter.registry` (adding a check: one file, one
`register` call); `sarcgen.filter.run.run_filter` chains them and writes the outputs. `STAGE` is how
`sarcgen run` drives the filter (`sarcgen.stage.Stage`).
"""

from sarcgen.filter.stage import STAGE

__all__ = ["STAGE"]
