"""The dataset card: Hub YAML metadata plus a Markdown body rendered from templates/dataset_card.md.j2.

The YAML header is built with the same helpers `datasets.push_to_hub` uses (DatasetInfosDict,
MetadataConfigs), so `dataset_info` and `configs` are exactly what the Hub and `load_dataset`
expect, then checked by parsing it back with huggingface_hub's `DatasetCard`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from sarcgen.errors import PublishError
from sarcgen.jsonl import json_object
from sarcgen.prompts import find_template, template_dirs
from sarcgen.publish.schema import DATA_DIR, split_file
from sarcgen.recipe import PublishSettings
from sarcgen.records import SINCERE
from sarcgen.version import __version__

if TYPE_CHECKING:
    import datasets
    from huggingface_hub import DatasetCardData

    from sarcgen.publish.inputs import RunInputs

TEMPLATE = "dataset_card.md.j2"
TAGS = ["synthetic", "sarcasm", "irony", "sentiment-analysis", "movie-reviews", "imdb", "sarcgen"]


def size_category(n: int) -> str:
    """The Hub's size_categories bucket for n examples."""
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                        (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M")):
        if n < limit:
            return name
    return "10M<n<100M"


def card_metadata(dd: datasets.DatasetDict, settings: PublishSettings, out_dir: Path | None = None) -> DatasetCardData:
    """A huggingface_hub DatasetCardData with license, tasks, size, configs and dataset_info."""
    from datasets.info import DatasetInfo, DatasetInfosDict
    from datasets.splits import SplitDict, SplitInfo
    from datasets.utils.metadata import MetadataConfigs
    from huggingface_hub import DatasetCardData

    total = sum(len(ds) for ds in dd.values())
    human = any("human" in ds.unique("label_source") for ds in dd.values() if "label_source" in ds.column_names)
    data = DatasetCardData(
        license=settings.license,
        language=["en"],
        task_categories=["text-classification"],
        task_ids=["sentiment-classification"],
        size_categories=[size_category(total)],
        pretty_name=settings.pretty_name,
        annotations_creators=["machine-generated", "expert-generated"] if human else ["machine-generated"],
        language_creators=["machine-generated"],
        multilinguality=["monolingual"],
        source_datasets=["original"],
        tags=TAGS,
    )
    first = next(iter(dd.values()))
    info = DatasetInfo(features=first.features, splits=SplitDict(), download_size=0, dataset_size=0)
    for split, ds in dd.items():
        info.splits.add(SplitInfo(name=split, num_bytes=ds.data.nbytes, num_examples=len(ds)))
        info.dataset_size += ds.data.nbytes
        if out_dir is not None and (out_dir / split_file(split)).is_file():
            info.download_size += (out_dir / split_file(split)).stat().st_size
    DatasetInfosDict({"default": info}).to_dataset_card_data(data)
    files = [{"split": split, "path": f"{DATA_DIR}/{split}-*"} for split in dd]
    MetadataConfigs({"default": {"data_files": files}}).to_dataset_card_data(data)
    return data


def _distribution(dd: datasets.DatasetDict) -> list[dict[str, object]]:
    """Rows of (device, label) with counts per split, sincere twins last."""
    counts: Counter[tuple[str, str, str]] = Counter()
    for split, ds in dd.items():
        for device, label in zip(ds["device"], ds["label"]):
            counts[(device, ds.features["label"].int2str(label), split)] += 1
    keys = sorted({(d, lab) for d, lab, _ in counts}, key=lambda k: (k[0] == SINCERE, k))
    return [{"device": d, "label": lab, "splits": {s: counts[(d, lab, s)] for s in dd},
             "total": sum(counts[(d, lab, s)] for s in dd)} for d, lab in keys]


def _filter_tables(report: Mapping[str, object] | None) -> tuple[list[tuple[str, object]],
                                                                  list[tuple[str, list[tuple[str, object]]]]]:
    """The filter report as (scalars, [(section, rows)]): generic, so a new report key still shows."""
    if not report:
        return [], []
    scalars: list[tuple[str, object]] = []
    sections: list[tuple[str, list[tuple[str, object]]]] = []
    for key, value in report.items():
        if isinstance(value, (int, float, str, bool)) or value is None:
            scalars.append((key, value))
        elif isinstance(value, dict):
            rows: list[tuple[str, object]] = [
                (str(k), v if isinstance(v, (int, float, str, bool)) or v is None else json.dumps(v)[:80])
                for k, v in value.items()]
            if rows:
                sections.append((key, rows[:40]))
    return scalars, sections


def _find_agreement(*docs: Mapping[str, object] | None) -> float | None:
    """A judge agreement rate anywhere in the filter report or manifest (key containing 'agreement')."""
    for doc in docs:
        stack: list[Mapping[str, object]] = [doc] if doc else []
        while stack:
            cur = stack.pop()
            for k, v in cur.items():
                if "agreement" in str(k).lower() and isinstance(v, (int, float)):
                    return v
                if isinstance(v, dict):
                    stack.append(v)
    return None


def _judge(report: Mapping[str, object] | None) -> dict[str, object] | None:
    """What the card says of the judge: its model, gate, calibration verdict and agreement (None: no judge ran)."""
    j = json_object((report or {}).get("judge"))
    if not j or not j.get("judged"):
        return None
    cal = json_object(j.get("calibration"))
    per = {name: json_object(c) for name, c in json_object(cal.get("per_class")).items()}
    summary = "; ".join(f"{name}: precision {c.get('precision')}, recall {c.get('recall')}" for name, c in per.items())
    from sarcgen.filter.classes import calibration_gate

    return {"model_file": j.get("model_file"), "gate": calibration_gate(cal), "calibration_n": cal.get("n"),
            "calibration_passed": bool(cal.get("passed")), "calibration_summary": summary or "no per-class scores",
            "agreement": j.get("agreement_rate")}


def _recipe_summary(recipe: Mapping[str, object] | None) -> dict[str, object] | None:
    if not recipe:
        return None
    gen = json_object(recipe.get("generate"))
    attrs = json_object(gen.get("attributes"))
    return {
        "name": recipe.get("name"),
        "description": recipe.get("description"),
        "model": recipe.get("model"),
        "n": gen.get("n"),
        "seed": gen.get("seed"),
        "twin_ratio": gen.get("twin_ratio"),
        "template": gen.get("template"),
        "sampling": gen.get("sampling"),
        "attributes": {k: [a.get("name", a) if isinstance(a, dict) else a for a in v]
                       for k, v in attrs.items() if isinstance(v, list)},
        "filter": recipe.get("filter"),
    }


def _dtype(feat: object) -> str:
    names = getattr(feat, "names", None)
    if names:  # ClassLabel
        return "ClassLabel: " + ", ".join(f"{i} = {n}" for i, n in enumerate(names))
    return str(getattr(feat, "dtype", None) or type(feat).__name__)


def card_context(dd: datasets.DatasetDict, inputs: RunInputs, settings: PublishSettings,
                 repo_id: str | None) -> dict[str, object]:
    """Everything the card template may use; provenance comes from the records themselves."""
    from sarcgen.filter.classes import label_gate

    recs = inputs.records
    provs = [r.provenance for r in recs]
    models = sorted({(p.model_file, p.model_sha256, p.quantization or "unknown") for p in provs})
    backends = sorted({(p.backend, p.backend_version) for p in provs})
    templates = sorted({(p.template_name, p.template_hash) for p in provs})
    created = sorted(p.created_at for p in provs)
    scalars, sections = _filter_tables(inputs.filter_report)
    first = next(iter(dd.values()))
    return {
        "pretty_name": settings.pretty_name,
        "license": settings.license,
        "repo_id": repo_id,
        "load_path": repo_id or "path/to/this/folder",
        "sarcgen_version": __version__,
        "source_file": inputs.source.name,
        "unfiltered": inputs.unfiltered,
        "notes": [w for w in inputs.warnings if "UNFILTERED" not in w],  # the fallback has its own banner
        "n_total": len(recs),
        "n_sarcastic": sum(r.sarcastic for r in recs),
        "n_sincere": sum(r.device == SINCERE for r in recs),
        "n_pairs": len({r.pair_id for r in recs if r.pair_id}),
        "models": [{"file": f, "sha256": h, "quantization": q} for f, h, q in models],
        "backends": [{"name": b, "version": v} for b, v in backends],
        "templates": [{"name": n, "hash": h} for n, h in templates],
        "recipe_hashes": sorted({p.recipe_hash for p in provs}),
        "record_versions": sorted({p.sarcgen_version for p in provs}),
        "sampling": json.loads(json.dumps(provs[0].sampling, sort_keys=True)),
        "created_first": created[0],
        "created_last": created[-1],
        "recipe": _recipe_summary(inputs.recipe),
        "filter_scalars": scalars,
        "filter_sections": sections,
        "judge_agreement": _find_agreement(inputs.filter_report, inputs.manifest),
        "judge": _judge(inputs.filter_report),
        "labels_verified": label_gate(json_object((inputs.filter_report or {}).get("judge")))[0]["verified"],
        "manifest_counts": (inputs.manifest or {}).get("counts"),
        "split_fractions": {s: getattr(settings, s) for s in ("train", "validation", "test")},
        "split_seed": settings.seed,
        "splits": {s: len(ds) for s, ds in dd.items()},
        "distribution": _distribution(dd),
        "features": [(name, _dtype(feat)) for name, feat in first.features.items()],
        "human_review": inputs.review.counts() if inputs.review.decisions else None,
    }


def render_card(dd: datasets.DatasetDict, inputs: RunInputs, settings: PublishSettings, *,
                repo_id: str | None = None, out_dir: Path | None = None) -> str:
    """README.md text: validated YAML metadata + the body rendered with StrictUndefined."""
    from huggingface_hub import DatasetCard
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateError

    found = find_template(TEMPLATE)
    if found is None:
        raise PublishError(f"{TEMPLATE}: dataset card template not found in {template_dirs()}", "reinstall sarcgen")
    path = found
    env = Environment(loader=FileSystemLoader(str(path.parent)), undefined=StrictUndefined,
                      keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
    metadata = card_metadata(dd, settings, out_dir)
    try:
        body = env.get_template(TEMPLATE).render(**card_context(dd, inputs, settings, repo_id))
    except TemplateError as exc:
        raise PublishError(f"{path}: cannot render the dataset card: {exc}") from None
    text = f"---\n{metadata.to_yaml()}\n---\n\n{body.lstrip()}"
    try:
        parsed = DatasetCard(text)
    except Exception as exc:  # huggingface_hub raises ValueError on a bad header
        raise PublishError(f"generated dataset card has an invalid YAML header: {exc}") from None
    if parsed.data.to_dict().get("configs") is None:
        raise PublishError("generated dataset card lost its `configs` section")
    return text
