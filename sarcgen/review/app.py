"""The review page: a small FastAPI app over one run folder (`sarcgen review RUN`).

Safe by default:
- every request needs the random token the URL was printed with (`?token=` or the
  `X-Review-Token` header); without it the answer is 403 and nothing is read or written;
- all model text reaches the browser as JSON and is put on the page with `textContent`; the page
  itself is a Jinja2 template with autoescaping, and a Content-Security-Policy forbids inline
  scripts, so a review containing `<img src=x onerror=alert(1)>` shows as text;
- the only files served are the packaged static files and a fixed list of run-folder files
  (the length histogram), looked up by exact name: no path is ever joined from a request;
- it binds to 127.0.0.1 unless told otherwise.

The only write is an appended, fsynced line in RUN/review.jsonl per decision. This module imports
FastAPI at the top: only `sarcgen.review.server.serve` imports it, so `sarcgen --help` never does.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    Response,
)
from pydantic import BaseModel, ConfigDict

from sarcgen.review.detail import record_detail, render_prompt, row_summary
from sarcgen.review.index import FACETS, SORTS, Query, Row, RunIndex
from sarcgen.review.store import Decision, DecisionKind
from sarcgen.runfolder import FILTER_LENGTHS_PNG
from sarcgen.version import __version__

if TYPE_CHECKING:
    import jinja2

PACKAGE = Path(__file__).resolve().parent
STATIC_DIR, TEMPLATE_DIR = PACKAGE / "static", PACKAGE / "templates"
RUN_FILES = {FILTER_LENGTHS_PNG: "image/png"}  # run-folder files the page may show, by exact name
TOKEN_HEADER = "X-Review-Token"
PAGE_SIZE, MAX_PAGE = 50, 200
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                                "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the token is in the URL: never send it elsewhere
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}


class DecisionIn(BaseModel):
    """The body of POST /api/decisions."""

    model_config = ConfigDict(extra="forbid")

    key: str
    decision: DecisionKind


def new_token() -> str:
    """A random URL token (32 bytes of entropy)."""
    return secrets.token_urlsafe(32)


def parse_filters(values: list[str]) -> dict[str, set[str]]:
    """`facet:value` strings (value may contain ':') -> {facet: {values}}; unknown facets dropped."""
    out: dict[str, set[str]] = {}
    for v in values:
        facet, sep, value = v.partition(":")
        if sep and facet in FACETS:
            out.setdefault(facet, set()).add(value)
    return out


def _templates() -> jinja2.Environment:
    import jinja2

    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)), autoescape=True,
                              undefined=jinja2.StrictUndefined)


def create_app(index: RunIndex, token: str, reviewer: str) -> FastAPI:
    """The ASGI app for one run index. `token` is required on every request."""
    app = FastAPI(title="sarcgen review", docs_url=None, redoc_url=None, openapi_url=None)
    _guard(app, token)
    _page_routes(app, index, token, reviewer)
    _api_routes(app, index, reviewer)
    return app


def _guard(app: FastAPI, token: str) -> None:
    """The token on every request, and the security headers on every answer (errors too)."""

    @app.middleware("http")
    async def require_token(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        given = request.query_params.get("token") or request.headers.get(TOKEN_HEADER) or ""
        if not secrets.compare_digest(given.encode(), token.encode()):
            response: Response = PlainTextResponse("403: this page needs the token printed by `sarcgen review`", 403)
        else:
            response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        return response

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        response = JSONResponse({"error": exc.detail}, status_code=exc.status_code)
        response.headers.update(SECURITY_HEADERS)
        return response


def _row_or_404(index: RunIndex, key: str) -> Row:
    try:
        return index.row_for(key)
    except KeyError:
        raise HTTPException(404, f"no record {key!r} in this run") from None


def _page_json(index: RunIndex, query: Query, offset: int, limit: int) -> dict[str, object]:
    page = index.query(query, offset, limit)
    return {"total": page.total, "offset": page.offset, "limit": limit, "facets": page.facets,
            "rows": [row_summary(index, r, 400) for r in page.rows], "decisions": dict(index.decision_counts())}


def _page_routes(app: FastAPI, index: RunIndex, token: str, reviewer: str) -> None:
    """The page itself, its static files and the run's whitelisted files (plots, reports)."""
    page = _templates().get_template("review.html")  # compiled now, not on the first request
    static = {p.name: p for p in STATIC_DIR.iterdir() if p.is_file()}

    @app.get("/", response_class=HTMLResponse)
    def home() -> HTMLResponse:
        boot = {"summary": index.summary(), "page": _page_json(index, Query(), 0, PAGE_SIZE), "facets": list(FACETS),
                "sorts": list(SORTS), "reviewer": reviewer, "page_size": PAGE_SIZE, "version": __version__,
                "has_lengths": (index.run_dir / FILTER_LENGTHS_PNG).is_file()}
        html = page.render(boot=boot, run=index.run_dir.name, token=token)
        return HTMLResponse(html)

    @app.get("/static/{name}")
    def static_file(name: str) -> FileResponse:
        if name not in static:
            raise HTTPException(404, "not found")
        return FileResponse(static[name])

    @app.get("/files/{name}")
    def run_file(name: str) -> FileResponse:
        path = index.run_dir / name
        if name not in RUN_FILES or path.is_symlink() or not path.is_file() or path.resolve().parent != index.run_dir:
            raise HTTPException(404, "not found")
        return FileResponse(path, media_type=RUN_FILES[name])


def _api_routes(app: FastAPI, index: RunIndex, reviewer: str) -> None:
    """The JSON API the page calls: records (search, facets), one record, its prompt, decisions."""

    @app.get("/api/records")
    def records(request: Request, q: str = "", sort: str = "plan", desc: bool = False, offset: int = 0,
                limit: int = PAGE_SIZE) -> dict[str, object]:
        if sort not in SORTS:
            raise HTTPException(400, f"sort must be one of {', '.join(SORTS)}")
        query = Query(q=q[:500], filters=parse_filters(request.query_params.getlist("f")), sort=sort, desc=desc)
        return _page_json(index, query, max(0, offset), min(max(1, limit), MAX_PAGE))

    @app.get("/api/records/{key}")
    def record(key: str) -> dict[str, object]:
        return record_detail(index, _row_or_404(index, key))

    @app.get("/api/records/{key}/prompt")
    def prompt(key: str) -> dict[str, object]:
        return render_prompt(index, _row_or_404(index, key))

    @app.get("/api/summary")
    def summary() -> dict[str, object]:
        return index.summary()

    @app.get("/api/coverage")
    def coverage() -> dict[str, object]:
        return index.coverage()

    @app.post("/api/decisions")
    def decide(body: DecisionIn) -> dict[str, object]:
        row = _row_or_404(index, body.key)
        if not row.reviewable:
            raise HTTPException(400, f"{body.key} is a failed generation, not a review record: nothing to decide")
        if body.decision == "flip" and row.label is None:
            raise HTTPException(400, f"{body.key} has no label to flip")
        label: Literal[0, 1] | None = None
        if body.decision == "flip" and row.label is not None:
            label = 0 if row.label == 1 else 1
        index.record(Decision(id=row.id, decision=body.decision, label=label, reviewer=reviewer))
        return {"row": row_summary(index, row, 400), "decisions": dict(index.decision_counts())}
