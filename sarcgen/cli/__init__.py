"""The `sarcgen` command line: one thin command per stage.

Commands parse options, load the recipe, call one library function and print a summary. Library
errors (`SarcgenError`) become a one-line message and a non-zero exit here, in one place.
Heavy libraries are imported inside the library functions, so `sarcgen --help` is instant.
"""

from __future__ import annotations

import sys

import click

from sarcgen import __version__
from sarcgen.errors import SarcgenError


class _FlowOrderGroup(click.Group):
    """Lists commands in the order they were added (the data flow), not alphabetically."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)


@click.group(cls=_FlowOrderGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="sarcgen")
def cli() -> None:
    """Labelled sarcastic movie reviews from a local LLM, and proof that they help.

    \b
    The study runs in four stages, each writing to a run folder under outputs/:
      sarcgen generate          a local Qwen3 GGUF writes labelled sarcastic reviews
      sarcgen filter RUN        validate, deduplicate, decontaminate, optionally judge
      sarcgen review RUN        read, search and curate the run in the browser (optional)
      sarcgen publish RUN       a Hugging Face dataset with a card (and --push to the Hub)
      sarcgen finetune-compare  BERT with and without the data, before/after report
    `sarcgen run RECIPE` chains all four, skipping stages that are already complete.
    """


def _register() -> None:
    # Each stage's command lives in its own module; they import only click at module level.
    from sarcgen.cli import commands

    for command in commands.ALL:
        cli.add_command(command)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the CLI, turning SarcgenError into a clean exit."""
    _register()
    try:
        cli.main(args=argv, prog_name="sarcgen", standalone_mode=False)
    except SarcgenError as exc:
        click.secho(f"Error: {exc.message}", fg="red", err=True)
        if exc.hint:
            click.echo(f"  hint: {exc.hint}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort as exc:
        # click turns Ctrl-C into Abort (even with standalone_mode=False): keep the resume hint.
        if isinstance(exc.__cause__, KeyboardInterrupt):
            click.echo("Interrupted: everything accepted so far is saved; re-run the same command to resume.", err=True)
        else:
            click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("\nInterrupted: everything accepted so far is saved; re-run the same command to resume.", err=True)
        sys.exit(130)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)


if __name__ == "__main__":  # pragma: no cover
    main()
