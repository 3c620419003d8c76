"""generate stage. `STAGE` is how `sarcgen run` drives it (`sarcgen.stage.Stage`)."""

from sarcgen.generate.stage import STAGE

__all__ = ["STAGE"]
