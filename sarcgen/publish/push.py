"""Push a published folder (README.md + data/*.parquet) to the Hugging Face Hub.

Only the Hub layout goes up, never the save_to_disk copy. Everything that can be checked locally
(the files, the token, offline mode) is checked before the first network call; every failure
after that becomes a `PublishError` that says what state the repo was left in, so nothing is
half-published without saying so.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sarcgen.errors import PublishError
from sarcgen.hub import hub_offline_mode

UPLOAD_PATTERNS = ["README.md", "data/*.parquet"]
TOKEN_HINT = "pass --token, set HF_TOKEN, or log in once with `hf auth login`"


@dataclass
class PushResult:
    """What was pushed where."""

    repo_id: str
    url: str
    files: list[str]
    created: bool
    commit_url: str | None = None


def hub_files(folder: Path) -> list[str]:
    """The files a push uploads (relative POSIX paths), after checking the Hub layout is complete."""
    if not (folder / "README.md").is_file():
        raise PublishError(f"{folder}: no README.md (dataset card)", "run `sarcgen publish RUN --out DIR` first")
    parquet = sorted(p.relative_to(folder).as_posix() for p in (folder / "data").glob("*.parquet"))
    if not parquet:
        raise PublishError(f"{folder}/data: no parquet files", "run `sarcgen publish RUN --out DIR` first")
    return ["README.md", *parquet]


def resolve_token(token: str | None = None) -> str:
    """--token, else HF_TOKEN, else the cached login. Raises PublishError (no network) when none."""
    if token:
        return token
    if os.environ.get("HF_TOKEN"):
        return os.environ["HF_TOKEN"]
    from huggingface_hub import get_token

    cached = get_token()
    if cached:
        return cached
    raise PublishError("no Hugging Face token found, so nothing was pushed", TOKEN_HINT)


def _explain(exc: Exception, repo_id: str, endpoint: str) -> str:
    """One line on why a Hub call failed: auth, no network, offline, or the server's own message."""
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    if isinstance(exc, OfflineModeIsEnabled):
        return "offline mode is on (HF_HUB_OFFLINE); unset it to push"
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if isinstance(exc, HfHubHTTPError) and status in (401, 403):
        return (f"the Hub refused the token (HTTP {status}) for dataset repo {repo_id}: check that it is "
                f"valid and has write access to the '{repo_id.split('/')[0]}' namespace")
    if isinstance(exc, HfHubHTTPError):
        server = getattr(exc, "server_message", None) or str(exc).splitlines()[0]
        return f"the Hub answered HTTP {status}: {server}"
    if _is_connection_error(exc):
        return f"cannot reach the Hugging Face Hub at {endpoint} ({type(exc).__name__}: {exc}); check the network or HF_ENDPOINT"
    return f"{type(exc).__name__}: {exc}"


def _is_connection_error(exc: BaseException) -> bool:
    import httpx

    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:  # wrapped errors keep the transport error as a cause
        seen.add(id(cur))
        if isinstance(cur, (httpx.TransportError, ConnectionError, TimeoutError)):
            return True
        try:
            import requests

            if isinstance(cur, requests.exceptions.ConnectionError):
                return True
        except ImportError:  # pragma: no cover
            pass
        cur = cur.__cause__ or cur.__context__
    return False


def push_folder(folder: str | Path, repo_id: str, *, private: bool = False, token: str | None = None,
                endpoint: str | None = None, commit_message: str | None = None) -> PushResult:
    """Create the dataset repo if missing and upload README.md + data/*.parquet in one commit.

    `endpoint` defaults to HF_ENDPOINT (read at call time), then huggingface_hub's default.
    A re-push replaces data/*.parquet, so a split dropped since the last push does not linger.
    """
    from huggingface_hub import HfApi

    folder = Path(folder)
    files = hub_files(folder)
    if "/" not in repo_id or repo_id.count("/") > 1:
        raise PublishError(f"--push {repo_id!r}: expected a Hub repo id like 'your-name/sarcastic-reviews'")
    tok = resolve_token(token)
    if hub_offline_mode():
        raise PublishError("offline mode is on (HF_HUB_OFFLINE), so nothing was pushed", "unset HF_HUB_OFFLINE to push")
    api = HfApi(endpoint=endpoint or os.environ.get("HF_ENDPOINT") or None, token=tok)
    try:
        existed = api.repo_exists(repo_id, repo_type="dataset")
        repo_url = api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    except Exception as exc:
        raise PublishError(f"cannot create dataset repo {repo_id}: {_explain(exc, repo_id, api.endpoint)}; "
                           "nothing was pushed") from None
    try:
        info = api.upload_folder(
            repo_id=repo_id, repo_type="dataset", folder_path=folder,
            allow_patterns=UPLOAD_PATTERNS, delete_patterns=["data/*.parquet"],
            commit_message=commit_message or f"Upload {len(files) - 1} split(s) with sarcgen",
        )
    except Exception as exc:
        state = ("was created but is empty or partial" if not existed
                 else "already existed and may now be partially updated")
        raise PublishError(f"upload to {repo_id} failed: {_explain(exc, repo_id, api.endpoint)}; "
                           f"the dataset repo {repo_id} {state}",
                           "fix the cause and re-run the same command (unchanged files are skipped)") from None
    return PushResult(repo_id, str(repo_url), files, created=not existed,
                      commit_url=getattr(info, "commit_url", None))
