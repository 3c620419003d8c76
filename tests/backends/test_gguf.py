"""Model resolution: local files, the Hub cache, GGUF validation, cached hashes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from sarcgen.backends.gguf import file_sha256, parse_model_arg, read_gguf_header, resolve_model
from sarcgen.errors import ModelError
from sarcgen.recipe import ModelSpec
from tests.factories import fake_hub_cache


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SARCGEN_CACHE_DIR", str(tmp_path / "cache"))


def test_resolve_local(tiny_gguf: Path) -> None:
    m = resolve_model(ModelSpec(path=str(tiny_gguf)))
    assert m.path == tiny_gguf and m.source == "local" and m.file_name == tiny_gguf.name
    assert m.sha256 == hashlib.sha256(tiny_gguf.read_bytes()).hexdigest()
    assert m.quantization == "F16" and m.header.architecture == "qwen3"
    assert m.size == tiny_gguf.stat().st_size


def test_sha256_is_cached_in_a_sidecar(tmp_path: Path) -> None:
    f = tmp_path / "model.gguf"
    f.write_bytes(b"GGUF" + b"x" * 1000)
    digest = file_sha256(f)
    assert digest == hashlib.sha256(f.read_bytes()).hexdigest()
    sidecars = list((tmp_path / "cache" / "sha256").iterdir())
    assert len(sidecars) == 1 and sidecars[0].name.endswith("-model.gguf")
    sidecars[0].write_text("f" * 64)  # proves the second call reads the sidecar, not the file
    assert file_sha256(f) == "f" * 64
    f.write_bytes(b"GGUF" + b"y" * 1001)  # new size/mtime: hashed again
    assert file_sha256(f) == hashlib.sha256(f.read_bytes()).hexdigest()


def test_missing_local_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found") as e:
        resolve_model(ModelSpec(path=str(tmp_path / "nope.gguf")))
    assert "--model" in str(e.value)


def test_not_a_gguf(tmp_path: Path) -> None:
    f = tmp_path / "model.gguf"
    f.write_text("<html>404 Not Found</html>")
    with pytest.raises(ModelError, match="not a GGUF"):
        resolve_model(ModelSpec(path=str(f)))


@pytest.mark.parametrize("keep", [10, 200, 0.5, 0.999])
def test_truncated_gguf(tmp_path: Path, tiny_gguf: Path, keep: float) -> None:
    data = tiny_gguf.read_bytes()
    n = int(len(data) * keep) if isinstance(keep, float) else keep
    f = tmp_path / "cut.gguf"
    f.write_bytes(data[:n])
    with pytest.raises(ModelError, match="truncated"):
        read_gguf_header(f)


def test_parse_model_arg(tiny_gguf: Path) -> None:
    assert parse_model_arg(str(tiny_gguf)) == {"path": str(tiny_gguf)}
    assert parse_model_arg("unsloth/Qwen3-4B-Instruct-2507-GGUF:Qwen3-4B-Instruct-2507-Q4_K_M.gguf") == {
        "repo": "unsloth/Qwen3-4B-Instruct-2507-GGUF", "file": "Qwen3-4B-Instruct-2507-Q4_K_M.gguf"}
    assert parse_model_arg("Qwen/Qwen3-0.6B-GGUF/Qwen3-0.6B-Q8_0.gguf") == {
        "repo": "Qwen/Qwen3-0.6B-GGUF", "file": "Qwen3-0.6B-Q8_0.gguf"}
    assert parse_model_arg("models/missing.gguf") == {"path": "models/missing.gguf"}
    assert parse_model_arg("./x/y/z.gguf") == {"path": "./x/y/z.gguf"}
    with pytest.raises(ModelError, match="without a file"):
        parse_model_arg("unsloth/Qwen3-4B-Instruct-2507-GGUF")


def test_hub_cache_is_used_without_network(tmp_path: Path, tiny_gguf: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import constants

    cached = fake_hub_cache(tmp_path / "hf", "someone/tiny-GGUF", "tiny.gguf", tiny_gguf)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    m = resolve_model(ModelSpec(repo="someone/tiny-GGUF", file="tiny.gguf"))
    assert m.path == cached and m.source == "hub:someone/tiny-GGUF:tiny.gguf"


def test_hub_offline_without_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelError) as e:
        resolve_model(ModelSpec(repo="someone/absent-GGUF", file="absent.gguf"))
    msg = str(e.value)
    assert "someone/absent-GGUF:absent.gguf" in msg and "--model PATH.gguf" in msg and "\n" not in msg
