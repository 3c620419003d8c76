"""`sarcgen review`: a thin command over `sarcgen.review.server.serve`."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("review")
@click.argument("run", type=click.Path(file_okay=False, path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but 127.0.0.1/localhost exposes the page (still behind its token).")
@click.option("--port", type=int, default=8765, show_default=True, help="Port (0: any free port).")
@click.option("--no-browser", is_flag=True, help="Print the URL without opening a browser.")
@click.option("--reviewer", default=None, help="Name stored with each decision (default: your login name).")
def review(run: Path, host: str, port: int, no_browser: bool, reviewer: str | None) -> None:
    """Read, search and curate RUN in the browser, keyboard first.

    \b
    Every record of the run, kept or dropped (with the stage and reason), its judge answer,
    duplicate cluster, provenance and rendered prompt; facets, search and a device x aspect grid.
    Keys: j/k next/previous, a accept, x reject, f flip the label, u undo, / search, ? all keys.
    Decisions are appended to RUN/review.jsonl; `sarcgen publish RUN` applies them (rejects
    left out, flipped labels marked as human labels). The URL carries a random token that every
    request needs. Ctrl-C stops the server.

    \b
    Example:
      sarcgen review outputs/imdb-sarcasm-seed1234
    """
    from sarcgen.review.server import Serving, serve

    def ready(s: Serving) -> None:
        click.echo(f"Reviewing {s.records} records of {run} (indexed in {s.index_seconds:.2f}s)")
        if s.host not in ("127.0.0.1", "localhost", "::1"):
            click.secho(f"warning: listening on {s.host}: other machines can reach the page (they still need the token)",
                        fg="yellow", err=True)
        click.echo(f"  {s.url}")
        click.echo("  decisions go to review.jsonl in the run folder; Ctrl-C stops the server", nl=True)

    standing = serve(run, host=host, port=port, reviewer=reviewer, open_browser=not no_browser, on_ready=ready)
    click.echo(f"Stopped. {run / 'review.jsonl'} holds {standing} standing decisions (`sarcgen publish {run}` applies them).")
