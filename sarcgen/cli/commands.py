"""Registry of CLI commands. Each stage owns one module under sarcgen/cli/."""

from __future__ import annotations

import click

ALL: list[click.Command] = []

try:  # stage modules are added as they are built
    from sarcgen.cli.generate import generate
    ALL.append(generate)
except ImportError:  # pragma: no cover
    pass
try:
    from sarcgen.cli.scale import merge
    ALL.append(merge)
except ImportError:  # pragma: no cover
    pass
try:
    from sarcgen.cli.filter import filter_cmd
    ALL.append(filter_cmd)
except ImportError:  # pragma: no cover
    pass
try:
    from sarcgen.cli.publish import publish
    ALL.append(publish)
except ImportError:  # pragma: no cover
    pass
try:
    from sarcgen.cli.finetune import finetune_compare, predict
    ALL += [finetune_compare, predict]
except ImportError:  # pragma: no cover
    pass
try:
    from sarcgen.cli.run import run
    ALL.append(run)
except ImportError:  # pragma: no cover
    pass
