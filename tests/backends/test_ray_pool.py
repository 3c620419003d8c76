"""`--executor ray` failing fast and clearly, without a cluster (real Ray runs are in
tests/backends/test_ray_executor.py)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from sarcgen.backends import create_backend
from sarcgen.errors import RecipeError
from sarcgen.recipe import load_recipe
from tests.cli_helpers import run_cli

SMOKE = str(Path(__file__).resolve().parents[2] / "recipes" / "smoke.yaml")


def test_ray_runs_in_process_engines_only() -> None:
    rec = load_recipe(SMOKE, {"generate.executor": "ray", "generate.backend": "openai",
                              "generate.base_url": "http://127.0.0.1:1/v1"})
    with pytest.raises(RecipeError, match="pass several --base-url instead"):
        create_backend(rec)


def test_executor_settings_do_not_change_the_recipe_hash() -> None:
    a = load_recipe(SMOKE)
    b = load_recipe(SMOKE, {"generate.executor": "ray", "generate.workers": 4, "generate.gpus_per_worker": 1,
                            "generate.ray_address": "auto", "generate.openai.base_url": ["http://a:1", "http://b:1"]})
    assert a.hash() == b.hash()  # a local run can be resumed on a cluster and back


def test_unreachable_cluster_is_one_line_in_seconds(tmp_path: Path, tiny_gguf: Path, capsys) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, _, err = run_cli(["generate", "-r", SMOKE, "--model", str(tiny_gguf), "--executor", "ray", "--ray-address",
                            f"127.0.0.1:{port}", "--n", "2", "--out", str(tmp_path / "run"), "-q"], capsys)
    assert code == 4 and f"no Ray cluster answers at 127.0.0.1:{port}" in err and "Traceback" not in err
