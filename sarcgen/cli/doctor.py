"""`sarcgen doctor`: a thin command over `sarcgen.doctor.run_checks`."""

from __future__ import annotations

import json

import click

COLORS = {"ok": None, "warn": "yellow", "missing": "red", "skip": None}


@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON (checks, counts, ok) instead of a table.")
@click.option("--no-probe", is_flag=True, help="Skip the llama.cpp probe (a real model in a child process, a few seconds).")
@click.option("--strict", is_flag=True, help="Exit 1 when something is missing (default: always exit 0).")
def doctor(as_json: bool, no_probe: bool, strict: bool) -> None:
    """What this machine has and lacks for each stage, and the command that fixes each part.

    \b
    One line per check: Python; llama-cpp-python and whether it runs a real model here (the
    embedded SmolLM2 in a child process: a wheel built for another CPU dies with SIGILL);
    llama.cpp's GPU offload; torch and its device; the embedded models; the default GGUF in the
    Hugging Face cache; the Hub's reachability and a token; Ray; chromium and Playwright for the
    review page's browser test.
    Statuses: ok; warn (only some runs need it); MISSING (a stage cannot run with the defaults);
    skip (not checked). Nothing is downloaded or installed.

    \b
    Example:
      sarcgen doctor --no-probe
    """
    from sarcgen import doctor as lib

    checks = lib.run_checks(probe=not no_probe)
    if as_json:
        click.echo(json.dumps(lib.as_json(checks), indent=2))
    else:
        click.echo(lib.header())
        for check in checks:
            click.secho(lib.format_line(check), fg=COLORS[check.status])
        click.echo(lib.summary(checks))
    if strict and any(c.status == "missing" for c in checks):
        click.get_current_context().exit(1)
