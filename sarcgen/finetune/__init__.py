"""finetune-compare: fine-tune a classifier with and without the synthetic data, and report.

data.py (IMDB sample, challenge sets), synthetic_data.py (the synthetic splits), train.py (the
training loop, checkpoints, predict), compare.py (runs A and B, metrics), attribution.py (gradient
x input), report.py (report.md, results.json, PNGs). Nothing here imports click; heavy libraries
are imported inside the functions that use them. `STAGE` (stage.py) is how `sarcgen run` drives it.
"""

from sarcgen.finetune.stage import STAGE

__all__ = ["STAGE"]
