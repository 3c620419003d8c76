"""Registry of CLI commands. Each stage owns one module under sarcgen/cli/ (they import only click)."""

from __future__ import annotations

import click

from sarcgen.cli.doctor import doctor
from sarcgen.cli.filter import filter_cmd
from sarcgen.cli.finetune import finetune_compare, predict
from sarcgen.cli.generate import generate
from sarcgen.cli.loop import loop
from sarcgen.cli.merge import merge
from sarcgen.cli.publish import publish
from sarcgen.cli.review import review
from sarcgen.cli.run import run

# In the order of the data flow, so `sarcgen --help` reads like the study; doctor (the set-up check) last.
ALL: list[click.Command] = [generate, filter_cmd, review, publish, finetune_compare, run, loop, predict, merge, doctor]
