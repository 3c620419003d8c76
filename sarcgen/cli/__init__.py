"""The `sarcgen` command line: one thin command per stage.

Commands parse options, load the recipe, call one library function and print a summary. Library
errors (`SarcgenError`) become a one-line message and a non-zero exit here, in one place.
Heavy libraries are imported inside the library functions, so `sarcgen --help` is instant.
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import NoReturn

import click

from sarcgen.errors import SarcgenError, file_error
from sarcgen.version import __version__


class _FlowOrderGroup(click.Group):
    """Lists commands in the order they were added (the data flow), not alphabetically."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)


@click.group(cls=_FlowOrderGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="sarcgen")
@click.option("--verbose", "-v", is_flag=True,
              help="Also show the libraries' progress bars and logs (datasets, transformers, huggingface_hub, llama.cpp).")
def cli(verbose: bool) -> None:
    """Labelled sarcastic movie reviews from a local LLM, and proof that they help.

    \b
    The study runs in four stages, each writing to a run folder under outputs/:
      sarcgen generate          a local Qwen3 GGUF writes labelled sarcastic reviews
      sarcgen filter RUN        validate, deduplicate, decontaminate, optionally judge
      sarcgen review RUN        read, search and curate the run in the browser (optional)
      sarcgen publish RUN       a Hugging Face dataset with a card (and --push to the Hub)
      sarcgen finetune-compare  BERT with and without the data, before/after report
    `sarcgen run RECIPE` chains all four, skipping stages that are already complete.
    `sarcgen doctor` says what this machine has and lacks for each stage, and how to fix it.
    -v goes before the command: `sarcgen -v publish RUN`.
    """
    from sarcgen.quiet import quiet_libraries

    quiet_libraries(verbose)


def _register() -> None:
    # Each stage's command lives in its own module; they import only click at module level.
    from sarcgen.cli import commands

    for command in commands.ALL:
        cli.add_command(command)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, so every stage stops the way Ctrl-C stops it
    (records saved, the manifest marked "interrupted")."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated()


def _fail(exc: SarcgenError) -> NoReturn:
    click.secho(f"Error: {exc.message}", fg="red", err=True)
    if exc.hint:
        click.echo(f"  hint: {exc.hint}", err=True)
    sys.exit(exc.exit_code)


def _interrupted(exc: BaseException | None) -> NoReturn:
    what = "Terminated" if isinstance(exc, Terminated) else "Interrupted"
    click.echo(f"{what}: everything accepted so far is saved; re-run the same command to resume.", err=True)
    sys.exit(143 if isinstance(exc, Terminated) else 130)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the CLI, turning every error a user can cause into one line
    and an exit code, here and nowhere else: SarcgenError as it is, an OSError (disk full,
    read-only folder, a file where a folder should be), a non-UTF-8 byte or a truncated .gz
    (`sarcgen.errors.file_error`) naming the path; Ctrl-C and SIGTERM stop with the resume hint."""
    import signal

    _register()
    logging.raiseExceptions = False  # a log write on a full disk must not print a traceback
    on_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if on_main else None
    try:
        _run(argv)
    finally:
        if on_main:
            signal.signal(signal.SIGTERM, previous)


def _run(argv: list[str] | None) -> None:
    import zlib

    try:
        code = cli.main(args=argv, prog_name="sarcgen", standalone_mode=False)
        if isinstance(code, int) and code:  # ctx.exit(N): click returns N instead of exiting here
            sys.exit(code)
    except SarcgenError as exc:
        _fail(exc)
    except click.exceptions.Abort as exc:
        # click turns Ctrl-C, and also EOFError (gzip's "compressed file ended"), into Abort
        cause = exc.__cause__
        if isinstance(cause, EOFError):
            _fail(file_error(cause))
        if isinstance(cause, KeyboardInterrupt):
            _interrupted(cause)
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt as exc:
        _interrupted(exc)
    except (OSError, UnicodeDecodeError, EOFError, zlib.error) as exc:  # the last resort: readers name their file
        _fail(file_error(exc))
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)


if __name__ == "__main__":  # pragma: no cover
    main()
