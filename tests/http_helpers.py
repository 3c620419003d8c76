"""The tests' HTTP servers: a quiet JSON request handler, an OpenAI-compatible stub (`Stub`), a
stand-in for the Hub (`FakeHub`) and a real `llama_cpp.server` subprocess (`Server`). The fixtures
that start the stubs (`stub_server`, `hub`) are in tests/conftest.py."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

REPO = Path(__file__).resolve().parents[1]


class JsonHandler(BaseHTTPRequestHandler):
    """`_send(status, body, headers)` answers with a JSON body (None: an empty one); no access log."""

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass

    def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)


class Stub:
    """An OpenAI-compatible stub server's state shared with the handler: failures to serve first, and everything received."""

    def __init__(self, fail: list[int] | None = None, delay: float = 0.0, retry_after: str | None = None,
                 reply: str | None = None) -> None:
        self.fail = list(fail or [])
        self.reply = reply  # a fixed answer instead of one echoing the prompt
        self.delay = delay
        self.retry_after = retry_after
        self.bodies: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()


def stub_handler(stub: Stub) -> type[BaseHTTPRequestHandler]:
    class Handler(JsonHandler):
        def do_GET(self) -> None:
            stub.paths.append(self.path)
            if self.path == "/v1/models":
                self._send(200, {"object": "list", "data": [{"id": "stub-model", "object": "model"}]})
            else:
                self._send(404, {"error": "not found"})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with stub.lock:
                stub.paths.append(self.path)
                stub.bodies.append(body)
                code = stub.fail.pop(0) if stub.fail else 200
                stub.in_flight += 1
                stub.max_in_flight = max(stub.max_in_flight, stub.in_flight)
            try:
                time.sleep(stub.delay)
                if code != 200:
                    headers = {"Retry-After": stub.retry_after} if stub.retry_after else {}
                    self._send(code, {"error": {"message": f"stub failure {code}"}}, headers)
                    return
                user = body["messages"][-1]["content"]
                self._send(
                    200,
                    {
                        "id": "x",
                        "object": "chat.completion",
                        "model": body["model"],
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": stub.reply or f"reply to {user} seed {body['seed']}"},
                                "finish_reason": "length" if body["max_tokens"] < 10 else "stop",
                            }
                        ],
                        "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
                    },
                )
            finally:
                with stub.lock:
                    stub.in_flight -= 1

    return Handler


TOKEN = "hf_test_write_token"


class FakeHub:
    """Repos, LFS objects and a request log, shared with the request handler."""

    def __init__(self) -> None:
        self.repos: dict[str, dict[str, Any]] = {}
        self.lfs: dict[str, bytes] = {}
        self.log: list[tuple[str, str]] = []
        self.fail: dict[str, int] = {}  # step name -> HTTP status to answer with
        self.tokens = {TOKEN}
        self.all_regular = False  # answer "regular" for every file (the xet pipeline then needs no CAS)
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"


def hub_handler(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    class Handler(JsonHandler):
        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _authorized(self, step: str) -> bool:
            if step in hub.fail:
                status = hub.fail[step]
                self._send(status, {"error": f"refused by test at {step}"}, {"X-Error-Message": f"refused by test at {step}"})
                return False
            auth = self.headers.get("Authorization", "")
            if auth.removeprefix("Bearer ") not in hub.tokens:
                self._send(401, {"error": "Invalid credentials in Authorization header"},
                           {"X-Error-Message": "Invalid credentials in Authorization header"})
                return False
            return True

        def _route(self, method: str) -> None:
            path = unquote(urlparse(self.path).path)
            hub.log.append((method, path))
            body = self._body() if method in ("POST", "PUT") else b""
            parts = path.strip("/").split("/")
            if method == "GET" and parts[:2] == ["api", "datasets"] and len(parts) == 4:
                if not self._authorized("repo_info"):
                    return
                repo = "/".join(parts[2:4])
                if repo not in hub.repos:
                    return self._send(404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
                return self._send(200, {"id": repo, "sha": "0" * 40, "private": hub.repos[repo]["private"],
                                        "siblings": [{"rfilename": p} for p in hub.repos[repo]["files"]]})
            if method == "POST" and path == "/api/repos/create":
                if not self._authorized("create"):
                    return
                req = json.loads(body)
                repo = f"{req['organization']}/{req['name']}" if req.get("organization") else req["name"]
                assert req.get("type") == "dataset", req
                url = f"{hub.url}/datasets/{repo}"
                if repo in hub.repos:
                    return self._send(409, {"error": "You already created this dataset repo", "url": url})
                private = req.get("visibility", "private" if req.get("private") else "public") != "public"
                hub.repos[repo] = {"private": private, "files": {}}
                return self._send(200, {"url": url, "name": repo})
            if method == "GET" and parts[:2] == ["api", "datasets"] and len(parts) >= 6 and parts[4] == "tree":
                repo = "/".join(parts[2:4])
                files = hub.repos.get(repo, {}).get("files", {})
                return self._send(200, [{"type": "file", "path": p, "size": len(b), "oid": hashlib.sha1(b).hexdigest()}
                                        for p, b in sorted(files.items())])
            if method == "POST" and path == "/api/validate-yaml":
                return self._send(200, {})
            if method == "POST" and len(parts) == 6 and parts[4] == "preupload":
                if not self._authorized("preupload"):
                    return
                files = json.loads(body)["files"]
                return self._send(200, {"files": [
                    {"path": f["path"],
                     "uploadMode": "lfs" if f["path"].endswith(".parquet") and not hub.all_regular else "regular",
                     "shouldIgnore": False} for f in files]})
            if method == "POST" and path.endswith(".git/info/lfs/objects/batch"):
                if not self._authorized("lfs_batch"):
                    return
                objects = []
                for obj in json.loads(body)["objects"]:
                    entry = {"oid": obj["oid"], "size": obj["size"]}
                    if obj["oid"] not in hub.lfs:
                        entry["actions"] = {"upload": {"href": f"{hub.url}/lfs-upload/{obj['oid']}"}}
                    objects.append(entry)
                return self._send(200, {"transfer": "basic", "objects": objects})
            if method == "PUT" and parts[0] == "lfs-upload":
                if "lfs_put" in hub.fail:
                    return self._send(hub.fail["lfs_put"], {"error": "storage refused"})
                assert hashlib.sha256(body).hexdigest() == parts[1], "uploaded bytes do not match their oid"
                hub.lfs[parts[1]] = body
                return self._send(200, {})
            if method == "POST" and len(parts) == 6 and parts[4] == "commit":
                if not self._authorized("commit"):
                    return
                repo = "/".join(parts[2:4])
                staged = dict(hub.repos[repo]["files"])
                for line in body.splitlines():
                    item = json.loads(line)
                    key, value = item["key"], item["value"]
                    if key == "file":
                        staged[value["path"]] = base64.b64decode(value["content"])
                    elif key == "lfsFile":
                        assert value["oid"] in hub.lfs, f"commit references LFS object {value['oid']} never uploaded"
                        staged[value["path"]] = hub.lfs[value["oid"]]
                    elif key == "deletedFile":
                        staged.pop(value["path"], None)
                hub.repos[repo]["files"] = staged
                return self._send(200, {"commitUrl": f"{hub.url}/datasets/{repo}/commit/{'c' * 40}",
                                        "commitOid": "c" * 40, "pullRequestUrl": None})
            self._send(404, {"error": f"fake hub: no route for {method} {path}"})

        def do_GET(self) -> None:
            self._route("GET")

        def do_POST(self) -> None:
            self._route("POST")

        def do_PUT(self) -> None:
            self._route("PUT")

    return Handler


def free_port() -> int:
    """A TCP port free on 127.0.0.1 just now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A llama_cpp.server subprocess on 127.0.0.1:port."""

    def __init__(self, model: Path, port: int, log: Path) -> None:
        self.model, self.port, self.log = model, port, log
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, timeout: float = 60) -> Server:
        import httpx
        import llama_cpp.server.app  # noqa: F401  (the [server] extra is a test dependency: fail, never skip)
        with self.log.open("ab") as fh:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "llama_cpp.server", "--model", str(self.model), "--host", "127.0.0.1",
                 "--port", str(self.port), "--n_threads", "1", "--n_threads_batch", "1", "--n_ctx", "2048"],
                stdout=fh, stderr=subprocess.STDOUT,
            )
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise AssertionError(f"llama_cpp.server exited {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/models", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"llama_cpp.server did not come up in {timeout}s: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def subprocess_env(**extra: str) -> dict[str, str]:
    """The environment of a sarcgen subprocess: this checkout importable, output unbuffered, plus `extra`."""
    return {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1", **extra}
