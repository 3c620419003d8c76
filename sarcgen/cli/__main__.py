"""`python -m sarcgen.cli ...` runs the same entry point as the `sarcgen` console script."""

from sarcgen.cli import main

main()
