"""The backend registry: a backend defined here, outside the package, registered once (by code or
through an entry point of an installed package) works from a recipe and from the CLI, and every
list of backends (recipe field, --backend choices, option sections) is derived from the registry."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from pydantic import Field

from sarcgen.backends import BACKENDS, Backend, BackendSpec, create_backend, register_backend, registry
from sarcgen.backends.base import GenerationRequest, GenerationResult, ModelInfo
from sarcgen.backends.fake import FakeBackend
from sarcgen.backends.options import (
    BACKEND_OPTIONS,
    THROUGHPUT_ONLY,
    BackendOptions,
    LlamaCppOptions,
    OpenAIOptions,
)
from sarcgen.errors import BackendError, RecipeError
from sarcgen.jsonl import read_jsonl
from sarcgen.recipe import ModelSpec, Recipe, load_recipe, save_resolved
from tests.cli_helpers import run_cli

SMOKE = str(Path(__file__).resolve().parents[2] / "recipes" / "smoke.yaml")
REPLY = "Great movie, if you enjoy watching paint dry."


class MineOptions(BackendOptions):
    knob: int = Field(default=1, ge=0, description="shapes the replies")
    timeout: float = Field(default=5.0, gt=0, json_schema_extra=THROUGHPUT_ONLY)


class MineBackend(Backend):
    """A third party's engine: canned replies, its knob in the provenance."""

    name = "mine"

    def __init__(self, knob: int) -> None:
        self.knob = knob

    @classmethod
    def from_recipe(cls, recipe: Recipe, model_spec: ModelSpec | None = None) -> MineBackend:
        options = recipe.generate.backend_options()
        assert isinstance(options, MineOptions)
        return cls(options.knob)

    def load(self) -> None:
        pass

    def info(self) -> ModelInfo:
        return ModelInfo(model_file="mine.bin", model_sha256="1" * 64, quantization=None, backend="mine",
                         backend_version=f"knob{self.knob}")

    def generate(self, requests: Iterable[GenerationRequest]) -> Iterator[GenerationResult]:
        for req in requests:
            yield GenerationResult(key=req.key, text=REPLY, prompt_tokens=10, completion_tokens=len(REPLY.split()))

    def close(self) -> None:
        pass


# what the entry point of a plug-in package loads (the factory is imported only when chosen)
SPEC = BackendSpec("mine", f"{__name__}:MineBackend", MineOptions, "a test's own engine")


@pytest.fixture
def registered() -> Iterator[None]:
    register_backend(SPEC)
    yield
    registry.unregister_backend("mine")


def install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, entry_points: str) -> None:
    """An installed distribution with these `sarcgen.backends` entry points, found on sys.path."""
    dist = tmp_path / "site" / "sarcgen_mine-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: sarcgen-mine\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[sarcgen.backends]\n{entry_points}\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    registry.clear_discovery()


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    install(tmp_path, monkeypatch, f"mine = {__name__}:SPEC")
    yield
    registry.clear_discovery()


def test_a_registered_backend_runs_from_a_recipe_with_its_own_section(tmp_path: Path, registered: None) -> None:
    p = tmp_path / "r.yaml"
    p.write_text("generate:\n  backend: mine\n  mine:\n    knob: 3\n")
    rec = load_recipe(p)
    assert rec.generate.backend_options() == MineOptions(knob=3)
    backend = create_backend(rec)
    assert isinstance(backend, MineBackend) and backend.knob == 3
    # the dump spells the section generate.mine (the store behind it stays hidden), and reloads
    dumped = rec.resolved()["generate"]
    assert dumped["mine"] == {"knob": 3, "timeout": 5.0} and "plugins" not in dumped
    save_resolved(rec, tmp_path / "resolved.yaml")
    assert load_recipe(tmp_path / "resolved.yaml").generate.backend_options() == MineOptions(knob=3)
    # no section: the defaults; the flat spelling of older recipes and flags lands in the section
    assert load_recipe(None, {"generate.backend": "mine"}).generate.backend_options() == MineOptions()
    assert load_recipe(None, {"generate.backend": "mine", "generate.knob": 4}).generate.backend_options() == MineOptions(knob=4)
    assert load_recipe(None).generate.backend_options() == LlamaCppOptions()


def test_a_wrong_option_of_a_registered_backend_names_its_file_and_line(tmp_path: Path, registered: None) -> None:
    p = tmp_path / "r.yaml"
    for body, error in (
        ("  mine:\n    knb: 3\n", r"r.yaml:4: generate.mine.knb: unknown key"),
        ("  mine:\n    knob: -1\n", r"r.yaml:4: generate.mine.knob: Input should be greater than or equal to 0"),
        ("  mine:\n    n_ctx: 2048\n", r"r.yaml:4: generate.mine.n_ctx: not an option of the mine backend \(knob, timeout\); "
                                       r"it belongs to the llamacpp backend"),
        ("  plugins: {}\n", r"r.yaml:3: generate.plugins: unknown key"),
    ):
        p.write_text("generate:\n  backend: mine\n" + body)
        with pytest.raises(RecipeError, match=error):
            load_recipe(p)
    p.write_text("generate:\n  backend: yours\n")
    with pytest.raises(RecipeError, match=r"r.yaml:2: generate.backend: 'yours' is not a registered backend: "
                                          r"choose one of llamacpp, openai, fake, mine"):
        load_recipe(p)


def test_an_installed_plugin_is_found_through_its_entry_point(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                               installed: None) -> None:
    assert registry.names() == ["llamacpp", "openai", "fake", "mine"]
    assert registry.get_spec("mine") is SPEC
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"name: plug\noutput_dir: {tmp_path / 'outputs'}\ngenerate:\n  mine:\n    knob: 5\n")
    out = tmp_path / "run"
    code, stdout, err = run_cli(["generate", "-r", str(recipe), "--backend", "mine", "--n", "3", "--out", str(out), "-q"], capsys)
    assert code == 0, err
    assert "3/3 accepted" in stdout
    records = list(read_jsonl(out / "generated.jsonl"))
    assert len(records) == 3
    assert {(r["provenance"]["backend"], r["provenance"]["backend_version"]) for r in records} == {("mine", "knob5")}
    assert "mine:\n    knob: 5\n" in (out / "recipe.yaml").read_text()
    code, _, err = run_cli(["generate", "-r", str(recipe), "--backend", "yours", "--dry-run"], capsys)
    assert code == 2 and "'yours' is not a registered backend: choose one of llamacpp, openai, fake, mine" in err


@pytest.mark.parametrize(("entry", "error"), [
    ("broken = tests.backends.nowhere:SPEC", r"backend plug-in broken = tests.backends.nowhere:SPEC \(entry point group "
                                             r"sarcgen.backends\) does not load: ModuleNotFoundError"),
    (f"odd = {__name__}:REPLY", r"backend plug-in odd = .* gives a str, not a BackendSpec"),
    (f"other = {__name__}:SPEC", r"backend plug-in other = .* registers the backend 'mine'"),
])
def test_a_broken_plugin_is_one_line_naming_its_entry_point(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str], entry: str, error: str) -> None:
    install(tmp_path, monkeypatch, entry)
    try:
        with pytest.raises(BackendError, match=error):
            registry.names()
        load_recipe(None)  # a recipe naming a builtin does not need the plug-ins
        # nor do a builtin's flat options (`--threads` is generate.n_threads) or `--backend llamacpp`
        assert load_recipe(None, {"generate.n_threads": 2}).generate.llamacpp.n_threads == 2
        code, out, _ = run_cli(["generate", "--backend", "llamacpp", "--threads", "2", "--dry-run", "--dry-run-items", "1"],
                               capsys)
        assert code == 0, out
        code, _, err = run_cli(["generate", "--help"], capsys)
        assert code == 4 and err.count("\n") == 2 and "entry point group sarcgen.backends" in err  # error + hint
    finally:
        registry.clear_discovery()


def test_recipe_field_cli_choices_and_option_sections_derive_from_the_registry(capsys: pytest.CaptureFixture[str]) -> None:
    def lists() -> tuple[bool, bool, bool, bool]:
        try:
            in_recipe = load_recipe(None, {"generate.backend": "mine"}).generate.backend == "mine"
        except RecipeError:
            in_recipe = False
        code, out, _ = run_cli(["generate", "--help"], capsys)
        assert code == 0
        return in_recipe, "[llamacpp|openai|fake|mine]" in out, "mine" in BACKEND_OPTIONS, "mine" in BACKENDS

    assert lists() == (False, False, False, False)
    register_backend(SPEC)
    try:
        assert lists() == (True, True, True, True)
        assert BACKEND_OPTIONS["mine"] is MineOptions and BACKENDS["mine"] == SPEC.factory
    finally:
        registry.unregister_backend("mine")
    assert lists() == (False, False, False, False)


def test_the_old_register_backend_signature_still_works() -> None:
    register_backend("other", lambda recipe, spec: MineBackend(7))
    try:
        backend = create_backend(load_recipe(None, {"generate.backend": "other"}))
        assert isinstance(backend, MineBackend) and backend.knob == 7
        with pytest.raises(RecipeError, match="generate.other: unknown key"):  # no options model: no section
            load_recipe(None, {"generate.backend": "other", "generate.other": {"knob": 1}})
        register_backend("other", lambda recipe, spec: object())
        with pytest.raises(BackendError, match="made a object, which is not a sarcgen Backend"):
            create_backend(load_recipe(None, {"generate.backend": "other"}))
    finally:
        registry.unregister_backend("other")
    with pytest.raises(BackendError, match="not a plain lower-case name"):
        BackendSpec("My Engine", f"{__name__}:MineBackend")


def test_data_options_leave_out_what_only_changes_speed() -> None:
    from sarcgen.fingerprint import data_settings

    def of_spec(name: str) -> dict[str, object]:  # a spec's defaults, as the fingerprint reads them
        model = registry.get_spec(name).options_model()
        return data_settings(model() if model is not None else None)

    assert data_settings(LlamaCppOptions(n_threads=3, n_gpu_layers=0)) == {"n_ctx": 4096}
    assert data_settings(OpenAIOptions(base_url="http://h:1/v1", request_timeout=9)) == {"api_model": None}
    register_backend(SPEC)
    try:
        assert data_settings(MineOptions(knob=2, timeout=1)) == of_spec("mine") | {"knob": 2} == {"knob": 2}
    finally:
        registry.unregister_backend("mine")
    assert of_spec("fake") == data_settings(None) == {}


def test_optional_capabilities_have_defaults_on_the_interface() -> None:
    mine = MineBackend(1)
    assert (mine.n_ctx, mine.loaded, mine.status_line(), mine.replica_stats()) == (None, True, None, None)
    assert mine.prompt_tokens([{"role": "user", "content": "hi"}]) is None
    fake = FakeBackend()
    assert not fake.loaded and isinstance(fake, Backend)
    fake.load()
    assert fake.loaded


def test_a_backend_that_is_not_a_backend_is_one_line(tmp_path: Path) -> None:
    """A duck-typed object handed to generate (or the judge) is refused before it is used."""
    from sarcgen.generate.run import generate_run

    class Duck:
        name = "duck"

    recipe = load_recipe(None, {"output_dir": str(tmp_path), "generate.backend": "fake", "generate.n": 1})
    with pytest.raises(BackendError, match=r"generate was given a Duck, which is not a sarcgen Backend"):
        generate_run(recipe, backend=Duck(), progress=False)  # type: ignore[arg-type]


def test_a_plugin_named_like_a_generate_setting_is_refused() -> None:
    register_backend(BackendSpec("seed", f"{__name__}:MineBackend", MineOptions))
    try:
        with pytest.raises(RecipeError, match=r"generate\.backend: the plug-in backend seed has the name of the setting generate\.seed"):
            load_recipe(None, {"generate.backend": "seed"})
    finally:
        registry.unregister_backend("seed")


def test_ray_runs_only_backends_that_run_in_process() -> None:
    """`executor: ray` puts a copy of the engine in each worker: a client of servers is refused by its spec."""
    from sarcgen.backends import create_backend

    register_backend(BackendSpec("remote", f"{__name__}:MineBackend", MineOptions, in_process=False))
    try:
        for name in ("openai", "remote"):
            with pytest.raises(RecipeError, match=rf"executor ray runs an in-process engine .*; {name} is a client of servers"):
                create_backend(load_recipe(None, {"generate.backend": name, "generate.executor": "ray"}))
    finally:
        registry.unregister_backend("remote")
