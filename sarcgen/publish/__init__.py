"""publish stage. `STAGE` is how `sarcgen run` drives it (`sarcgen.stage.Stage`)."""

from sarcgen.publish.stage import STAGE

__all__ = ["STAGE"]
