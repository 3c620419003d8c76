"""The before/after report: report.md, results.json, loss_curves.png and attributions.png."""

from __future__ import annotations

import math
from pathlib import Path

from sarcgen.errors import file_errors
from sarcgen.finetune.results import RESULTS_JSON, Attribution, CompareResults, Flip, SeedRun, write_results
from sarcgen.finetune.stats import CLUSTER_SIGN, PairedStats, SliceStats
from sarcgen.jsonl import write_text
from sarcgen.records import LABEL_NAMES

LABELS = {i: name.capitalize() for i, name in enumerate(LABEL_NAMES)}
# The comparison's files, inside its folder (RUN/finetune for a run folder).
REPORT_MD, LOSS_CURVES_PNG, ATTRIBUTIONS_PNG = "report.md", "loss_curves.png", "attributions.png"
FLIPS_CSV = "flips.csv"
REPORT_FILES = (REPORT_MD, RESULTS_JSON, LOSS_CURVES_PNG)  # written by every comparison


def plot_loss_curves(runs: list[SeedRun], path: Path) -> Path:
    """Train and validation loss per epoch, A and B side by side (each seed a line; best epoch dotted)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True, dpi=110)
    for ax, r, title in zip(axes, ("A", "B"), ("A: IMDB only", "B: IMDB + synthetic")):
        for k, seed_run in enumerate(runs):
            hist = seed_run.of(r).history
            ep = [h["epoch"] for h in hist]
            alpha = 1.0 if k == 0 else 0.45
            lbl = k == 0
            ax.plot(ep, [h["train_loss"] for h in hist], "o-", color="tab:blue", alpha=alpha, label="train loss" if lbl else None)
            ax.plot(ep, [h["val_loss"] for h in hist], "s-", color="tab:orange", alpha=alpha, label="validation loss" if lbl else None)
            ax.axvline(seed_run.of(r).best_epoch, color="gray", ls=":", alpha=alpha, label="best epoch (restored)" if lbl else None)
        seeds = ", ".join(str(x.seed) for x in runs)
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


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")



def _pct(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{100 * x:.1f}%"


def _ci(st: PairedStats, which: str) -> str:
    """'83.0% [79.6, 86.2]' for which in a / b; signed points for the difference.

    A degenerate difference (A and B right on the same examples) shows its note, not a zero-width
    interval that would read as certainty."""
    if which == "diff":
        if st.degenerate:
            note = st.note or "zero-width interval"
            return note if st.diff == 0 else f"{100 * st.diff:+.1f} ({note})"
        return f"{100 * st.diff:+.1f} [{100 * st.diff_low:+.1f}, {100 * st.diff_high:+.1f}]"
    mean, low, high = (st.a, st.a_low, st.a_high) if which == "a" else (st.b, st.b_low, st.b_high)
    return f"{_pct(mean)} [{100 * low:.1f}, {100 * high:.1f}]"


STATS_HEADER = ["| | n | A: IMDB only | B: + synthetic | B − A (pts) | McNemar p (B-only / A-only) | verdict |",
                "|---|---|---|---|---|---|---|"]


def _test(st: PairedStats) -> str:
    """McNemar p (B-only / A-only); with clusters also the cluster sign test the verdict used."""
    out = f"{st.mcnemar_p:.3g} ({st.mcnemar_b_only} / {st.mcnemar_a_only})"
    if st.test == CLUSTER_SIGN:
        out += f"; by cluster {st.test_p:.3g} ({st.test_b_wins} / {st.test_a_wins} of {st.clusters} clusters)"
    return out


def stats_row(title: str, st: PairedStats, suffix: str = "") -> str:
    return (f"| {title} | {st.n} | {_ci(st, 'a')} | {_ci(st, 'b')} | {_ci(st, 'diff')} | "
            f"{_test(st)} | **{st.verdict}**{suffix} |")


def slice_row(title: str, st: SliceStats) -> str:
    """A slice's row: its verdict marked exploratory, with its Holm-adjusted p over the set's slices."""
    if not st.exploratory:
        return stats_row(title, st)
    return stats_row(title, st, f" (exploratory; Holm p {st.holm_p:.3g} over {st.family_size} slices)")


VERDICT_RULE = ("The verdict is **better** or **worse** only when two things agree at alpha = 0.05: the 95% interval "
                "of B − A is wholly on one side of 0 *and* the exact paired test rejects in the same direction "
                "(McNemar, two-sided, on the discordant examples of the seed-majority predictions; where a set has "
                "contrast pairs (pair_id), the bootstrap resamples whole pairs and the test is the same exact sign "
                "test counted over pairs, shown as \"by cluster\"). Otherwise **no detectable change**. "
                "\"no discordant pairs\" in place of an interval: A and B were right on exactly the same "
                "examples, so there is nothing to resample; that is no evidence either way, not certainty.")


def headline(results: CompareResults) -> list[str]:
    """The table the verdicts come from: every set and group, at the chosen mix."""
    mix = results.mixes[results.chosen_mix]
    k = len(results.seeds)
    seeds = f"{k} seed{'s' if k > 1 else ''} ({', '.join(map(str, results.seeds))})"
    lines = ["## Headline: what the synthetic data did", "",
             f"Chosen mix **{results.chosen_mix}** (synthetic rows per IMDB row), **{seeds}** behind every number. "
             f"Accuracies with 95% bootstrap intervals over examples{' and seeds' if k > 1 else ''} "
             f"({results.settings.bootstrap} replicates); B − A is paired (same examples, same seeds). "
             + VERDICT_RULE, "", *STATS_HEADER]
    for name, st in mix.sets.items():
        lines.append(stats_row(f"**{name}**", st))
        for g, gst in mix.groups.items():
            if g.startswith(f"{name}: "):
                lines.append(stats_row(f"{name}: {g.split(': ', 1)[1]}", gst))
    if k == 1:
        lines += ["", "One seed: the intervals cover test-set noise only, not run-to-run noise (use --seeds 3 or more)."]
    return lines


def mix_section(results: CompareResults) -> list[str]:
    """How the mix was chosen (validation losses only), and each mix's verdict per set."""
    sel_a = results.selection_A
    lines = ["## Mixes and how one was chosen", "",
             "Run B is trained once per mix; the mix with the lowest IMDB validation loss (mean over seeds) is "
             "chosen, the synthetic validation loss only breaking ties (within 0.001). No test set takes part.", "",
             "| mix | synthetic rows in B | IMDB val loss | synthetic val loss | selection loss | |", "|---|---|---|---|---|---|"]

    def loss(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.4f}"

    lines.append(f"| A (no synthetic) | 0 | {loss(sel_a.imdb_validation)} | {loss(sel_a.synthetic_validation)} | "
                 f"{loss(sel_a.selection)} | reference |")
    for m, mx in results.mixes.items():
        sel = mx.selection
        rows = "/".join(str(n) for n in sorted(set(mx.n_synthetic)))
        lines.append(f"| {m} | {rows} | {loss(sel.imdb_validation)} | {loss(sel.synthetic_validation)} | "
                     f"{loss(sel.selection)} | {'**chosen**' if m == results.chosen_mix else ''} |")
    names = list(next(iter(results.mixes.values())).sets)
    lines += ["", "B − A in points [95% interval] and verdict (interval and exact test agreeing), per mix:", "",
              "| mix | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for m, mx in results.mixes.items():
        cells = [f"{_ci(mx.sets[n], 'diff')} {mx.sets[n].verdict}" for n in names]
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return lines


def metrics_section(results: CompareResults) -> list[str]:
    """Every registered metric besides accuracy (`sarcgen.finetune.metrics`), per set at the chosen mix:
    means with 95% intervals, B − A paired, the exact paired test and the same two-part verdict."""
    from sarcgen.finetune.metrics import METRICS

    def ci(x: float, low: float, high: float, sign: str = "") -> str:
        return f"{x:{sign}.3f} [{low:{sign}.3f}, {high:{sign}.3f}]"

    lines: list[str] = []
    for name, per_set in results.mixes[results.chosen_mix].metrics.items():
        title = METRICS[name].title if name in METRICS else name
        lines += [f"## Other metrics: {title} (`{name}`)", "",
                  f"Mean per example, at the chosen mix {results.chosen_mix}; same intervals and verdict rule as the headline.",
                  "", "| set | n | A | B | B − A | exact test p (B up / A up) | verdict |", "|---|---|---|---|---|---|---|"]
        for set_name, st in per_set.items():
            lines.append(f"| {set_name} | {st.n} | {ci(st.a, st.a_low, st.a_high)} | {ci(st.b, st.b_low, st.b_high)} | "
                         f"{ci(st.diff, st.diff_low, st.diff_high, '+')} | {st.test_p:.3g} ({st.test_b_wins} / {st.test_a_wins}) | "
                         f"**{st.verdict}** |")
        lines.append("")
    return lines


def balance_section(results: CompareResults) -> list[str]:
    from sarcgen.finetune.synthetic_data import balance_line, shortfall_line

    threshold = results.settings.balance_warning
    bal = results.balance
    lines = ["## Balance of the synthetic training data", "",
             f"- synthetic train split: {balance_line(bal.split, threshold)}"]
    for m, b in bal.mixes.items():
        lines.append(f"- added to B at mix {m} (first seed): {balance_line(b, threshold)}")
        if bal.shortfall.get(m):
            lines.append(f"  - {shortfall_line(b.n, bal.shortfall[m])}")
    return lines


def pairs_and_slices(results: CompareResults) -> list[str]:
    mix = results.mixes[results.chosen_mix]
    lines: list[str] = []
    if mix.pairs:
        lines += ["## Contrast pairs: both twins right", "",
                  "A pair counts as right only when the sarcastic review *and* its sincere twin are both "
                  "classified correctly: a model that learned \"great\" ⇒ negative loses the twin.", "", *STATS_HEADER]
        lines += [stats_row(name, st) for name, st in mix.pairs.items()]
    for name, cols in mix.slices.items():
        n_slices = sum(len(values) for values in cols.values())
        lines += ["", f"## Slices of {name}", "",
                  f"Exploratory, not corrected for the {n_slices} slices: each slice's verdict is tested on its own "
                  "at alpha = 0.05 (same rule as the headline), so the more slices are read, the likelier one fires by chance. "
                  f"The Holm-adjusted p of each slice's exact test over all {n_slices} slices of {name} is shown beside "
                  "its verdict; only a Holm p of 0.05 or less survives the correction.", "", *STATS_HEADER]
        for col, values in cols.items():
            lines += [slice_row(f"{col} = {v}", st) for v, st in values.items()]
    return lines


def seed_section(results: CompareResults) -> list[str]:
    mixes = list(results.mixes)
    lines = ["## The seed sentences: P(negative) before and after", "",
             "Mean over seeds (each seed in brackets). All three are sarcastic: Negative is right (P(neg) ≥ 0.5).", "",
             "| sentence | A | " + " | ".join(f"B at mix {m}" for m in mixes) + " |", "|---" * (len(mixes) + 2) + "|"]

    def cell(ps: list[float]) -> str:
        return f"{sum(ps) / len(ps):.3f}" + (f" ({', '.join(f'{p:.2f}' for p in ps)})" if len(ps) > 1 else "")

    for row in results.seed_sentences:
        lines.append(f"| {_md_escape(row.text)} | {cell(row.A)} | " + " | ".join(cell(row.B[m]) for m in mixes) + " |")
    return lines


def flips_section(results: CompareResults, files: dict[str, str], per_group: int = 8) -> list[str]:
    rows = results.flips
    lines = ["## Examples that flipped between A and B", "",
             f"{sum(r.change == 'fixed' for r in rows)} fixed (A wrong, B right), "
             f"{sum(r.change == 'broken' for r in rows)} broken (A right, B wrong), at the chosen mix; "
             f"all of them in [{files['flips']}]({files['flips']}). The largest changes per set:", "",
             "| set | change | label | A P(neg) | B P(neg) | text |", "|---|---|---|---|---|---|"]
    shown: dict[tuple[str, str], int] = {}
    for r in rows:
        key = (r.set, r.change)
        if shown.get(key, 0) >= per_group:
            continue
        shown[key] = shown.get(key, 0) + 1
        text = _md_escape(r.text if len(r.text) <= 160 else r.text[:157] + "...")
        lines.append(f"| {r.set} | {r.change} | {LABELS[r.label]} | {r.p_negative_A:.3f} | {r.p_negative_B:.3f} | {text} |")
    return lines


def pool_line(removed: dict[str, int] | None) -> str:
    """What the clean pool took out before the training sample was drawn."""
    if removed is None:
        return "IMDB pool: not checked against the evaluation texts (results from an older sarcgen)."
    n = sum(removed.values())
    per = ", ".join(f"{k} {v}" for k, v in removed.items())
    return f"IMDB pool: **{n}** text(s) matching an evaluation text removed before sampling ({per or 'no evaluation sets'})."


def render_markdown(results: CompareResults, files: dict[str, str]) -> str:
    """report.md: setup, headline statistics, mixes, balance, pairs, slices, seeds, flips, tables, curves."""
    s, sizes, fp = results.settings, results.sizes, results.fingerprints
    lines = [
        "# finetune-compare: before/after synthetic sarcasm data", "",
        f"Base model `{s.base_model}`: **A** on {sizes['imdb_train']} IMDB reviews, **B** on the same reviews "
        f"plus synthetic ones (`{results.synthetic_source}`, {sizes.get('synthetic_train', 0)} in its train split), "
        f"once per seed and mix. Both early-stop on the same {sizes['imdb_validation']} IMDB validation reviews "
        f"(patience {s.patience}, up to {s.epochs} epochs, best epoch restored). Evaluated on "
        f"{sizes['imdb_test']} IMDB test reviews, the challenge set(s) and the synthetic test split "
        f"({sizes.get('synthetic_test', 0)}).",
        *(["**Frozen encoder:** only the pooler and classifier were trained, on the encoder's cached features "
            "(`finetune.freeze_encoder`): a cheap, weaker test than a full fine-tune."] if s.freeze_encoder else []),
        f"Settings: lr {s.learning_rate}, batch {s.batch_size}, max length {s.max_length}, "
        f"warmup {s.warmup_ratio}, weight decay {s.weight_decay}. IMDB data: `{results.base_source}`.",
        pool_line(fp.imdb_pool_removed),
        f"Fingerprints: synthetic sha256 `{fp.synthetic_sha256}`, IMDB train ids sha256 "
        f"`{fp.imdb_train_ids_sha256[:16]}…`, model `{fp.model.name}` (weights sha256 "
        f"`{(fp.model.weights_sha256 or 'n/a')[:16]}…`), sarcgen {fp.sarcgen_version} (all in results.json).", "",
        *headline(results), "", *mix_section(results), "", *metrics_section(results), *balance_section(results), "",
        *pairs_and_slices(results), "", *seed_section(results), "", *flips_section(results, files), "",
    ]
    lines += challenge_section(results)
    lines += ["", "## Training curves", "", f"![loss curves]({files['loss_curves']})", ""]
    if files.get("attributions"):
        lines += ["## Which tokens drove each challenge prediction", "",
                  "Gradient x input on the word embeddings of the first seed's A and chosen-mix B, for the margin "
                  "logit(Negative) − logit(Positive): red tokens push towards Negative, blue towards Positive.", "",
                  f"![token attributions]({files['attributions']})", ""]
    lines += ["## Checkpoints", "", "Best epoch of each run: safetensors weights, tokenizer and `sarcgen_training.json`. "
              "Try one with `sarcgen predict --model DIR \"text\"`.", ""]
    lines += [f"- {name}: `{path}`" for name, path in results.checkpoints.items()]
    return "\n".join(lines) + "\n"


def challenge_section(results: CompareResults) -> list[str]:
    k = len(results.seeds)
    lines = ["## Challenge sets, example by example", "",
             "P(neg) is the model's probability of Negative" + (" (mean over seeds)" if k > 1 else "")
             + f", B at the chosen mix {results.chosen_mix}. Sarcastic items are Negative; sincere controls "
             "use the same surface cues and must stay Positive.", "",
             "| # | input | kind | label | A | A P(neg) | B | B P(neg) | |", "|---|---|---|---|---|---|---|---|---|"]
    for i, row in enumerate(results.challenge_table, start=1):
        a, b = row.A, row.B
        ok_a, ok_b = a.pred == row.label, b.pred == row.label
        change = "fixed" if ok_b and not ok_a else "broken" if ok_a and not ok_b else ""
        text = _md_escape(row.text) + ("" if row.set == "challenge" else f" *({row.set})*")
        lines.append(
            f"| {i} | {text} | {row.kind or ''} | {LABELS[row.label]} | {LABELS[a.pred]}{'' if ok_a else ' ✗'} | "
            f"{a.p_negative:.3f} | {LABELS[b.pred]}{'' if ok_b else ' ✗'} | {b.p_negative:.3f} | {change} |")
    return lines


def write_flips_csv(path: Path, rows: list[Flip]) -> Path:
    import csv

    cols = ["set", "index", "change", "label", "kind", "p_negative_A", "p_negative_B", "text"]
    with file_errors(path), path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        for r in rows:
            w.writerow(r.model_dump(include=set(cols)))
    return path


def write_report(out_dir: Path, results: CompareResults, attrib: dict[str, list[Attribution]] | None = None) -> dict[str, str]:
    """Write every report file into `out_dir` (results.json with the attributions and the file names
    set on `results`); return their names (relative to `out_dir`)."""
    from sarcgen.finetune.attribution import plot_attributions

    out_dir = Path(out_dir)
    files = {"report": REPORT_MD, "results": RESULTS_JSON, "loss_curves": LOSS_CURVES_PNG, "flips": FLIPS_CSV}
    plot_loss_curves(results.runs, out_dir / files["loss_curves"])
    write_flips_csv(out_dir / files["flips"], results.flips)
    if attrib:
        labels = [row.label for row in results.challenge_table if row.set == "challenge"]
        plot_attributions(attrib, labels, out_dir / ATTRIBUTIONS_PNG,
                          titles={"A": "A: IMDB only", "B": f"B: + synthetic (mix {results.chosen_mix})"})
        files["attributions"] = ATTRIBUTIONS_PNG
        results.attributions = attrib
    results.files = files
    write_results(out_dir / files["results"], results)
    write_text(out_dir / files["report"], render_markdown(results, files))
    return files
