"""Pushing to the Hub, tested at the HTTP boundary.

A small stand-in for the Hub runs on 127.0.0.1 and implements the endpoints huggingface_hub's
real `HfApi.create_repo` / `upload_folder` call: repo info, repo creation, tree listing, YAML
validation, preupload, the LFS batch API with a basic PUT transfer, and the ndjson commit. The real
huggingface_hub client talks to it over HTTP; the tests then assert on exactly which files (names
and bytes) ended up in the fake repo. hf_xet is switched off for these tests: its upload goes to a
separate content-addressed storage service that this stand-in does not implement.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from sarcgen.errors import PublishError
from tests.factories import make_run
from tests.http_helpers import TOKEN, FakeHub


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One published folder (Hub layout + save_to_disk copy) shared by the push tests."""
    from sarcgen.publish.run import publish_run

    root = tmp_path_factory.mktemp("push")
    return publish_run(make_run(root), root / "out").out_dir


def _expected(folder: Path) -> dict[str, bytes]:
    files = {"README.md": (folder / "README.md").read_bytes()}
    for p in sorted((folder / "data").glob("*.parquet")):
        files[f"data/{p.name}"] = p.read_bytes()
    return files


def test_push_uploads_exactly_the_hub_layout(hub: FakeHub, published: Path) -> None:
    from sarcgen.publish.push import push_folder

    result = push_folder(published, "alice/sarcasm", token=TOKEN, private=True)
    assert result.created and result.url == f"{hub.url}/datasets/alice/sarcasm"
    assert hub.repos["alice/sarcasm"]["private"] is True
    uploaded = hub.repos["alice/sarcasm"]["files"]
    assert sorted(uploaded) == ["README.md", "data/test-00000-of-00001.parquet",
                                "data/train-00000-of-00001.parquet", "data/validation-00000-of-00001.parquet"]
    assert uploaded == _expected(published)  # byte for byte; nothing from hf_dataset/ or publish.json
    assert result.files == sorted(uploaded, key=lambda p: (p != "README.md", p))
    # parquet went through LFS, the card as a regular file, in one commit
    assert len(hub.lfs) == 3
    assert sum(1 for m, p in hub.log if p.endswith("/commit/main")) == 1


def test_push_existing_repo_replaces_stale_splits(hub: FakeHub, published: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sarcgen.publish.push import push_folder

    hub.repos["alice/sarcasm"] = {"private": False, "files": {"data/old-00000-of-00001.parquet": b"stale",
                                                                "notes.txt": b"keep me"}}
    monkeypatch.setenv("HF_TOKEN", TOKEN)  # token from the environment this time
    result = push_folder(published, "alice/sarcasm")
    assert not result.created
    files = hub.repos["alice/sarcasm"]["files"]
    assert "data/old-00000-of-00001.parquet" not in files and files["notes.txt"] == b"keep me"
    assert {p: b for p, b in files.items() if p != "notes.txt"} == _expected(published)


def test_cached_login_token_is_used(hub: FakeHub, published: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sarcgen.publish.push import push_folder

    monkeypatch.setattr("huggingface_hub.get_token", lambda: TOKEN)
    assert push_folder(published, "alice/cached").created


def test_no_token_fails_before_any_request(hub: FakeHub, published: Path) -> None:
    from sarcgen.publish.push import push_folder

    with pytest.raises(PublishError, match="no Hugging Face token") as err:
        push_folder(published, "alice/sarcasm")
    assert "HF_TOKEN" in str(err.value) and hub.log == []


def test_bad_token_is_a_clear_401(hub: FakeHub, published: Path) -> None:
    from sarcgen.publish.push import push_folder

    with pytest.raises(PublishError, match=r"refused the token \(HTTP 401\).*nothing was pushed"):
        push_folder(published, "alice/sarcasm", token="hf_wrong")
    assert hub.repos == {}


def test_forbidden_namespace_is_a_clear_403(hub: FakeHub, published: Path) -> None:
    from sarcgen.publish.push import push_folder

    hub.fail["create"] = 403
    with pytest.raises(PublishError, match=r"HTTP 403.*'bigcorp' namespace.*nothing was pushed"):
        push_folder(published, "bigcorp/sarcasm", token=TOKEN)


@pytest.mark.parametrize("step", ["commit", "lfs_batch", "preupload"])
def test_failure_after_create_says_repo_is_empty(hub: FakeHub, published: Path, step: str) -> None:
    from sarcgen.publish.push import push_folder

    hub.fail[step] = 403
    with pytest.raises(PublishError, match="repo alice/sarcasm was created but is empty or partial"):
        push_folder(published, "alice/sarcasm", token=TOKEN)
    assert hub.repos["alice/sarcasm"]["files"] == {}


def test_unreachable_hub_is_a_clear_error(published: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import constants

    from sarcgen.publish.push import push_folder

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with pytest.raises(PublishError, match=r"cannot reach the Hugging Face Hub at http://127\.0\.0\.1"):
        push_folder(published, "alice/sarcasm", token=TOKEN, endpoint=f"http://127.0.0.1:{port}")


def test_offline_mode_fails_before_any_request(hub: FakeHub, published: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sarcgen.publish.push import push_folder

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(PublishError, match="offline mode"):
        push_folder(published, "alice/sarcasm", token=TOKEN)
    assert hub.log == []


def test_incomplete_folder_and_bad_repo_id(tmp_path: Path, published: Path) -> None:
    from sarcgen.publish.push import push_folder

    with pytest.raises(PublishError, match="no README.md"):
        push_folder(tmp_path, "alice/sarcasm", token=TOKEN)
    with pytest.raises(PublishError, match="expected a Hub repo id"):
        push_folder(published, "sarcasm", token=TOKEN)


def test_publish_run_pushes(hub: FakeHub, tmp_path: Path) -> None:
    from sarcgen.publish.run import publish_run

    result = publish_run(make_run(tmp_path), tmp_path / "out", push="alice/run", token=TOKEN)
    assert result.url == f"{hub.url}/datasets/alice/run"
    card = hub.repos["alice/run"]["files"]["README.md"].decode()
    assert 'load_dataset("alice/run")' in card


def test_push_with_xet_pipeline(hub: FakeHub, published: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The default path when hf_xet is installed (streamed pipeline), with every file stored as a regular blob."""
    from huggingface_hub import constants

    from sarcgen.publish.push import push_folder

    pytest.importorskip("hf_xet")
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", False)
    hub.all_regular = True
    push_folder(published, "alice/xet", token=TOKEN)
    assert hub.repos["alice/xet"]["files"] == _expected(published)
