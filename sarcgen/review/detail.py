"""One record in full for the review page: the record with provenance, what dropped it, the
judge's answer, its near-duplicate cluster with the members' texts, and the rendered prompt.

The prompt is not stored in the run folder; it is rendered again from the run's recipe.yaml and
the record's plan position (the plan is a pure function of the recipe and seed), and checked
against the template hash in the record's provenance.
"""

from __future__ import annotations

from sarcgen.errors import SarcgenError
from sarcgen.jsonl import json_list, json_object, scan_jsonl
from sarcgen.records import LABEL_NAMES
from sarcgen.review.index import JUDGE_FILE, Row, RunIndex


def row_summary(index: RunIndex, row: Row, text_chars: int | None = None) -> dict[str, object]:
    """The JSON a list row (or the head of a detail) shows."""
    text = row.text if text_chars is None or len(row.text) <= text_chars else row.text[:text_chars] + "\u2026"
    d = index.store.get(row.id) if row.reviewable else None
    return {
        "key": row.key, "id": row.id, "plan_index": row.plan_index, "outcome": row.outcome, "stage": row.stage,
        "reason": row.reason, "detail": row.detail, "text": text, "words": row.words,
        "label": LABEL_NAMES[row.label] if row.label is not None else None, "sarcastic": row.sarcastic,
        "device": row.device, "aspect": row.aspect, "genre": row.genre, "length": row.length,
        "judge": row.judge, "reviewable": row.reviewable,
        "decision": d.model_dump(mode="json") if d is not None else None,
    }


def record_detail(index: RunIndex, row: Row) -> dict[str, object]:
    """Everything the detail pane shows about one row."""
    raw = index.raw(row)
    record = (raw.get("record") if row.source.endswith("rejected.jsonl") else raw) or None
    out = row_summary(index, row)
    out["stale"] = not raw  # the run folder changed under the page
    out["record"] = record if isinstance(record, dict) else None
    out["provenance"] = (record or {}).get("provenance") if isinstance(record, dict) else None
    out["cue"] = (record or {}).get("cue") if isinstance(record, dict) else None
    out["pair_id"] = (record or {}).get("pair_id") if isinstance(record, dict) else None
    out["rejection"] = {k: v for k, v in raw.items() if k not in ("record", "text")} if raw and record is not raw else None
    out["cluster"] = _cluster(index, row)
    out["twin"] = _twin(index, row, out["pair_id"])
    out["decontamination"] = [d for d in json_list(index.report.get("decontamination"))
                              if str(json_object(d).get("id")) == row.id]
    if row.stage == "judge":
        out["judge_answer"] = _judge_answer(index, row.id)
    return out


def _peer(index: RunIndex, rid: str) -> dict[str, object] | None:
    i = index.by_id.get(rid)
    return row_summary(index, index.rows[i]) if i is not None else None


def _cluster(index: RunIndex, row: Row) -> list[dict[str, object]]:
    members = index.clusters.get(row.id) or []
    out = []
    for m in members:
        peer = _peer(index, str(m["id"]))
        out.append({"id": m["id"], "role": m["reason"], "score": m["score"], "text": peer["text"] if peer else None,
                    "key": peer["key"] if peer else None, "self": m["id"] == row.id})
    return out


def _twin(index: RunIndex, row: Row, pair_id: object) -> dict[str, object] | None:
    if not isinstance(pair_id, str):
        return None
    other = f"{pair_id}-t" if row.id.endswith("-s") else f"{pair_id}-s"
    return _peer(index, other)


def _judge_answer(index: RunIndex, rid: str) -> dict[str, object] | None:
    path = index.run_dir / JUDGE_FILE
    if not path.is_file():
        return None
    for _, _, obj in scan_jsonl(path):
        if str(obj.get("id")) == rid:
            return {k: obj.get(k) for k in ("reason", "judge_label", "judge_sarcastic", "answer")}
    return None


def render_prompt(index: RunIndex, row: Row) -> dict[str, object]:
    """The chat messages the generator was sent for this record, rendered again from recipe.yaml.

    Returns {"messages": [...], "template": name, "matches_provenance": bool} or {"error": why}.
    """
    from sarcgen.generate.grounded_plan import plan_for, template_for
    from sarcgen.prompts import review_messages
    from sarcgen.runfolder import RECIPE, resolve_recipe

    recipe_file = index.run_dir / RECIPE
    if not recipe_file.is_file():
        return {"error": "the run folder has no recipe.yaml, so the prompt cannot be rendered again"}
    group = row.id.split("-", 1)[0]
    if not group.isdigit():
        return {"error": f"id {row.id!r} is not a plan position (<group>-s / <group>-t)"}
    try:
        recipe = resolve_recipe(None, index.run_dir, stage="generate").recipe
        item = plan_for(recipe).item(row.id)
        if item is None:
            return {"error": f"{row.id} is not in the plan of recipe.yaml (was the recipe changed?)"}
        template = template_for(recipe)
        messages = review_messages(template, item, recipe.generate.attributes)
    except SarcgenError as exc:
        return {"error": str(exc)}
    raw = index.raw(row)
    record = raw.get("record") if isinstance(raw.get("record"), dict) else raw
    recorded = json_object(json_object(record).get("provenance")).get("template_hash")
    return {"messages": messages, "template": template.name, "template_hash": template.sha256,
            "matches_provenance": recorded == template.sha256 if recorded else None,
            "seed": item.seed}
