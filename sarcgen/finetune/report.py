"""The before/after report: report.md, results.json, loss_curves.png and attributions.png."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sarcgen.errors import file_errors
from sarcgen.jsonl import write_json, write_text
from sarcgen.records import LABEL_NAMES

LABELS = {i: name.capitalize() for i, name in enumerate(LABEL_NAMES)}
# (metric key in the aggregate, title) in the order the summary table shows them.
SUMMARY = [
    ("imdb_test.accuracy", "IMDB test accuracy"),
    ("imdb_test.f1", "IMDB test F1"),
    ("challenge.accuracy", "Challenge accuracy (all)"),
    ("challenge.sarcastic_accuracy", "Challenge: sarcastic accuracy"),
    ("challenge.sincere_accuracy", "Challenge: sincere-control accuracy"),
    ("synthetic_test.accuracy", "Synthetic test accuracy"),
    ("synthetic_test.f1", "Synthetic test F1"),
    ("synthetic_test.sarcastic_accuracy", "Synthetic test: sarcastic accuracy"),
]


# The comparison's files, inside its folder (RUN/finetune for a run folder).
REPORT_MD, RESULTS_JSON, LOSS_CURVES_PNG, ATTRIBUTIONS_PNG = "report.md", "results.json", "loss_curves.png", "attributions.png"
REPORT_FILES = (REPORT_MD, RESULTS_JSON, LOSS_CURVES_PNG)  # written by every comparison


def plot_loss_curves(runs: list[dict[str, Any]], path: Path) -> Path:
    """Train and validation loss per epoch, A and B side by side (each seed a line; best epoch dotted)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True, dpi=110)
    for ax, r, title in zip(axes, ("A", "B"), ("A: IMDB only", "B: IMDB + synthetic")):
        for k, seed_run in enumerate(runs):
            hist = seed_run[r]["history"]
            ep = [h["epoch"] for h in hist]
            alpha = 1.0 if k == 0 else 0.45
            lbl = k == 0
            ax.plot(ep, [h["train_loss"] for h in hist], "o-", color="tab:blue", alpha=alpha, label="train loss" if lbl else None)
            ax.plot(ep, [h["val_loss"] for h in hist], "s-", color="tab:orange", alpha=alpha, label="validation loss" if lbl else None)
            ax.axvline(seed_run[r]["best_epoch"], color="gray", ls=":", alpha=alpha, label="best epoch (restored)" if lbl else None)
        seeds = ", ".join(str(x["seed"]) for x in runs)
        ax.set_title(f"{title} (seed {seeds})")
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    axes[0].set_ylabel("cross-entropy loss")
    axes[0].legend(loc="best", fontsize=8)
    fig.tight_layout()
    with file_errors(path):
        fig.savefig(path)
    plt.close(fig)
    return path


def _fmt(stat: dict[str, Any] | None, pct: bool = True) -> str:
    if stat is None:
        return "n/a"
    m, s = stat["mean"], stat["std"]
    if pct:
        return f"{100 * m:.1f}%" + (f" ± {100 * s:.1f}" if len(stat["values"]) > 1 else "")
    return f"{m:.3f}" + (f" ± {s:.3f}" if len(stat["values"]) > 1 else "")


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def verdict(results: dict[str, Any]) -> list[str]:
    """Two sentences: did B regress on IMDB beyond noise, and what happened on sarcasm."""
    import math

    agg, n = results["aggregate"], results["sizes"]["imdb_test"]
    a, b = agg["A"].get("imdb_test.accuracy"), agg["B"].get("imdb_test.accuracy")
    if not a or not b:
        return []
    k = len(a["values"])
    # Noise: binomial standard error of each accuracy on n reviews, plus the seed spread when there is one.
    var = sum(x["mean"] * (1 - x["mean"]) / max(n, 1) + (x["std"] ** 2 / k if k > 1 else 0.0) for x in (a, b))
    two_sigma, delta = 2 * math.sqrt(var), b["mean"] - a["mean"]
    ok = delta >= -two_sigma
    out = ["", f"**IMDB:** B − A = {100 * delta:+.1f} pts; noise (2σ) ≈ {100 * two_sigma:.1f} pts: "
           + ("B does not regress beyond noise." if ok else "B regresses beyond noise.")]
    sa, sb = agg["A"].get("challenge.sarcastic_accuracy"), agg["B"].get("challenge.sarcastic_accuracy")
    ca, cb = agg["A"].get("challenge.sincere_accuracy"), agg["B"].get("challenge.sincere_accuracy")
    if sa and sb and ca and cb:
        out.append(f"**Sarcasm:** sarcastic items {_fmt(sa)} → {_fmt(sb)}; sincere controls {_fmt(ca)} → {_fmt(cb)} "
                   "(a model that only learned \"great\" ⇒ negative would lose the controls).")
    return out


def render_markdown(results: dict[str, Any], files: dict[str, str]) -> str:
    """report.md: what was trained, aggregate metrics, the per-example challenge table, curves, checkpoints."""
    s = results["settings"]
    agg = results["aggregate"]
    sizes = results["sizes"]
    seeds = results["seeds"]
    lines = [
        "# finetune-compare: before/after synthetic sarcasm data", "",
        f"Base model `{s['base_model']}`, fine-tuned twice with the same seed and hyperparameters:",
        f"**A** on {sizes['imdb_train']} IMDB reviews, **B** on the same reviews plus "
        f"{sizes.get('synthetic_train', 0)} synthetic ones (`{results['synthetic_source']}`). "
        f"Both early-stop on the same {sizes['imdb_validation']} IMDB validation reviews "
        f"(patience {s['patience']}, up to {s['epochs']} epochs, best epoch restored).",
        f"IMDB data: `{results['base_source']}`. Seeds: {', '.join(map(str, seeds))}"
        + (" (mean ± sample std over seeds)." if len(seeds) > 1 else " (one seed: differences of a few examples are noise)."),
        f"Settings: lr {s['learning_rate']}, batch {s['batch_size']}, max length {s['max_length']}, "
        f"warmup {s['warmup_ratio']}, weight decay {s['weight_decay']}.", "",
        "## Aggregate metrics", "", "| metric | A: IMDB only | B: + synthetic | B − A |", "|---|---|---|---|",
    ]
    keys = [k for k, _ in SUMMARY] + sorted(k for k in agg["A"] if k.endswith(".accuracy") and k not in dict(SUMMARY))
    titles = dict(SUMMARY)
    for key in keys:
        a, b = agg["A"].get(key), agg["B"].get(key)
        if a is None and b is None:
            continue
        delta = f"{100 * (b['mean'] - a['mean']):+.1f} pts" if a and b else "n/a"
        lines.append(f"| {titles.get(key, key)} | {_fmt(a)} | {_fmt(b)} | {delta} |")
    lines += verdict(results)
    for r in ("A", "B"):
        epochs = ", ".join(str(x[r]["best_epoch"]) for x in results["runs"])
        speed = sum(x[r]["train_examples_per_s"] for x in results["runs"]) / len(results["runs"])
        lines.append(f"\nRun {r}: best epoch {epochs}; {speed:.1f} training examples/s on {results['runs'][0][r]['device']}.")
    lines += [
        "", "## Challenge set, example by example", "",
        "P(neg) is the model's probability of Negative" + (" (mean over seeds)." if len(seeds) > 1 else "."),
        "Sarcastic items are Negative; sincere controls use the same surface cues and must stay Positive.", "",
        "| # | input | kind | label | A | A P(neg) | B | B P(neg) | |", "|---|---|---|---|---|---|---|---|---|",
    ]
    for i, row in enumerate(results["challenge_table"], start=1):
        a, b = row["A"], row["B"]
        ok_a, ok_b = a["pred"] == row["label"], b["pred"] == row["label"]
        change = "fixed" if ok_b and not ok_a else "broken" if ok_a and not ok_b else ""
        text = _md_escape(row["text"]) + ("" if row["set"] == "challenge" else f" *({row['set']})*")
        lines.append(
            f"| {i} | {text} | {row['kind'] or ''} | {LABELS[row['label']]} | {LABELS[a['pred']]}{'' if ok_a else ' ✗'} | "
            f"{a['p_negative']:.3f} | {LABELS[b['pred']]}{'' if ok_b else ' ✗'} | {b['p_negative']:.3f} | {change} |")
    lines += ["", "## Training curves", "", f"![loss curves]({files['loss_curves']})", ""]
    if files.get("attributions"):
        lines += ["## Which tokens drove each challenge prediction", "",
                  "Gradient x input on the word embeddings of the first seed's models, for the margin "
                  "logit(Negative) − logit(Positive): red tokens push towards Negative, blue towards Positive.", "",
                  f"![token attributions]({files['attributions']})", ""]
    lines += ["## Checkpoints", "", "Best epoch of each run: safetensors weights, tokenizer and `sarcgen_training.json` "
              "(resolved settings, per-epoch history, best validation loss). Try one with "
              "`sarcgen predict --model DIR \"text\"`.", ""]
    for name, path in results["checkpoints"].items():
        lines.append(f"- {name}: `{path}`")
    lines.append("")
    return "\n".join(lines)


def write_report(out_dir: Path, results: dict[str, Any], attrib: dict[str, list[dict[str, Any]]] | None = None) -> dict[str, str]:
    """Write every report file into `out_dir`; return their names (relative to `out_dir`)."""
    from sarcgen.finetune.attribution import plot_attributions

    out_dir = Path(out_dir)
    files = {"report": REPORT_MD, "results": RESULTS_JSON, "loss_curves": LOSS_CURVES_PNG}
    plot_loss_curves(results["runs"], out_dir / files["loss_curves"])
    if attrib:
        labels = [row["label"] for row in results["challenge_table"] if row["set"] == "challenge"]
        plot_attributions(attrib, labels, out_dir / ATTRIBUTIONS_PNG,
                          titles={"A": "A: IMDB only", "B": "B: + synthetic"})
        files["attributions"] = ATTRIBUTIONS_PNG
        results["attributions"] = attrib
    results["files"] = files
    write_json(out_dir / files["results"], results)
    write_text(out_dir / files["report"], render_markdown(results, files))
    return files
