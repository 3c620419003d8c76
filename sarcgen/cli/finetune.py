"""`sarcgen finetune-compare` (BERT with and without the synthetic data) and `sarcgen predict`."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from sarcgen.cli.options import overrides, threads_option


def default_out_dir(output_dir: str, synthetic: str) -> Path:
    """Beside the data when SYNTHETIC is a run folder (outputs/<run>/finetune), else a new folder."""
    from sarcgen import runfolder as rf

    if rf.is_run_folder(synthetic):
        return Path(synthetic) / rf.FINETUNE_DIR
    return Path(output_dir) / f"finetune-{time.strftime('%Y%m%d-%H%M%S')}"


@click.command("finetune-compare")
@click.option("--synthetic", "-s", required=True, metavar="SRC",
              help="synthetic data: a run folder (read from RUN/dataset: run `sarcgen publish RUN` first), a published "
                   "dataset folder, a Hub dataset id, or a plain records .jsonl (the one source split in memory, as publish would)")
@click.option("--recipe", "-r", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="YAML recipe (its finetune section) [default: SRC's recipe.yaml when SRC is a run folder]")
@click.option("--base-model", default=None, help="model folder or Hub id [recipe: bert-base-uncased]")
@click.option("--base-data", default=None, metavar="PATH",
              help="local IMDB files: a folder with train/test csv(.gz)/jsonl/parquet, or one file [default: the Hub]")
@click.option("--n-train", type=int, default=None, help="IMDB training reviews [3200]")
@click.option("--n-validation", type=int, default=None, help="IMDB validation reviews [800]")
@click.option("--n-test", type=int, default=None, help="IMDB test reviews [500]")
@click.option("--epochs", type=int, default=None, help="maximum epochs [15]")
@click.option("--patience", type=int, default=None, help="epochs without validation-loss improvement before stopping [2]")
@click.option("--batch-size", type=int, default=None, help="[16]")
@click.option("--max-length", type=int, default=None, help="tokens per review after truncation [256]")
@click.option("--lr", type=float, default=None, help="peak learning rate [2e-5]")
@click.option("--seed", type=int, default=None, help="seed of the IMDB sample and of run 1 [42]")
@click.option("--seeds", type=int, default=None, help="repeat A and B with K seeds and report mean ± std [1]")
@click.option("--synthetic-ratio", type=float, default=None,
              help="synthetic rows per IMDB training row in run B, twins kept together [0.05]")
@click.option("--mix", "mix", default=None, metavar="R1,R2,...",
              help="train one B per synthetic ratio and choose the one with the lowest IMDB validation loss "
                   "(the synthetic validation loss only breaks ties)")
@click.option("--freeze-encoder/--no-freeze-encoder", default=None,
              help="train only the pooler and classifier on cached encoder features: a quick, weaker comparison [off]")
@click.option("--challenge", "challenge", multiple=True, metavar="FILE",
              help="extra challenge set (csv/jsonl/parquet with text,label); repeatable")
@threads_option("torch")
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="report folder [outputs/<run>/finetune for a run folder, else outputs/finetune-<time>]")
@click.option("--report-only", is_flag=True,
              help="train nothing: report on the seeds whose runs have finished (e.g. while a long comparison runs)")
@click.option("--quiet", "-q", is_flag=True, help="no progress bars")
def finetune_compare(synthetic: str, recipe: Path | None, base_model: str | None, base_data: str | None,
                     n_train: int | None, n_validation: int | None, n_test: int | None, epochs: int | None,
                     patience: int | None, batch_size: int | None, max_length: int | None, lr: float | None,
                     seed: int | None, seeds: int | None, synthetic_ratio: float | None, mix: str | None,
                     freeze_encoder: bool | None,
                     challenge: tuple[str, ...], threads: int | None,
                     out: Path | None, report_only: bool, quiet: bool) -> None:
    """Fine-tune the same model twice, without (A) and with (B) the synthetic reviews, and compare.

    Both runs use the same IMDB sample, seed and hyperparameters; both are evaluated on the IMDB
    test sample, the built-in sarcasm challenge (25 sentences, and 114 hand-written contrast pairs
    with seen and unseen cues), the 245 counterfactual boundary pairs (Kaushik et al. 2020), the
    synthetic test split and every --challenge file. Every evaluation text, and every real review
    the synthetic data was rewritten from, is removed from the IMDB pool before sampling. A verdict
    says better/worse only when the paired interval and the exact McNemar test agree. Writes
    report.md, results.json, flips.csv, loss_curves.png, attributions.png and the best checkpoints.

    \b
    Example:
      sarcgen publish outputs/my-run
      sarcgen finetune-compare --synthetic outputs/my-run --base-data ../shared/data/imdb
    """
    from sarcgen import api
    from sarcgen.runfolder import resolve_recipe, run_folder_of

    # --recipe, else the run folder's recipe.yaml (its finetune section), else the defaults; then flags.
    rec = resolve_recipe(recipe, run_folder_of(synthetic), overrides(
        finetune__base_model=base_model, finetune__base_data=base_data, finetune__n_train=n_train,
        finetune__n_validation=n_validation, finetune__n_test=n_test, finetune__epochs=epochs,
        finetune__patience=patience, finetune__batch_size=batch_size, finetune__max_length=max_length,
        finetune__learning_rate=lr, finetune__seed=seed, finetune__seeds=seeds,
        finetune__synthetic_ratio=synthetic_ratio, finetune__mix=parse_mix(mix), finetune__freeze_encoder=freeze_encoder,
    ), stage="finetune").recipe
    out_dir = out or default_out_dir(rec.output_dir, synthetic)
    results = api.compare(synthetic, rec, out=out_dir, challenge_files=list(challenge), threads=threads,
                          progress=not quiet, report_only=report_only)
    click.echo(f"report: {out_dir / 'report.md'}")
    mixes = results.mixes
    if len(mixes) > 1:
        losses = ", ".join(f"{m}: {mx.selection.selection:.4f}" for m, mx in mixes.items())
        click.echo(f"  chosen mix {results.chosen_mix} by IMDB validation loss ({losses})")
    if results.reused_runs:
        click.echo(f"  reused {len(results.reused_runs)} finished run(s): {', '.join(results.reused_runs)}")
    chosen = mixes[results.chosen_mix]
    for name, st in {**chosen.sets, **chosen.groups}.items():
        ci = (st.note if st.degenerate else None) or f"[{100 * st.diff_low:+.1f}, {100 * st.diff_high:+.1f}]"
        click.echo(f"  {name:<36} A {100 * st.a:5.1f}%  B {100 * st.b:5.1f}%  B-A {100 * st.diff:+5.1f} {ci}  {st.verdict}")


def parse_mix(text: str | None) -> list[float] | None:
    """'0.05,0.1' -> [0.05, 0.1]; a bad value is a one-line error naming the flag."""
    if text is None:
        return None
    from sarcgen.errors import RecipeError

    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise RecipeError(f"--mix {text!r}: expected comma-separated numbers, e.g. --mix 0.05,0.1,0.2") from None


@click.command("predict")
@click.argument("texts", nargs=-1)
@click.option("--model", "-m", "model_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="checkpoint folder, e.g. outputs/<run>/finetune/checkpoints/B-seed42-mix0.1")
@click.option("--file", "-f", "file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="read texts from a file: one per line, or a csv/jsonl with a 'text' column")
@click.option("--json", "as_json", is_flag=True, help="print one JSON object per text")
@threads_option("torch")
def predict(texts: tuple[str, ...], model_dir: Path, file: Path | None, as_json: bool, threads: int | None) -> None:
    """Classify TEXT... (or --file) with a checkpoint and print label and probabilities.

    \b
    Example:
      sarcgen predict -m outputs/run/finetune/checkpoints/B-seed42-mix0.1 "Great movie, if you enjoy watching paint dry."
    """
    from sarcgen.errors import InputError
    from sarcgen.finetune.data import clean_text
    from sarcgen.finetune.train import predict_texts
    from sarcgen.tables import read_texts

    items = list(texts) + ([clean_text(t) for t in read_texts(file)] if file else [])
    if not items:
        raise InputError("nothing to classify", 'pass texts as arguments or --file FILE, e.g. sarcgen predict -m DIR "text"')
    for row in predict_texts(model_dir, items, num_threads=threads):
        if as_json:
            click.echo(json.dumps(row, ensure_ascii=False))
        else:
            click.echo(f"{row['label']:<8}  P(neg)={row['p_negative']:.3f}  P(pos)={row['p_positive']:.3f}  {row['text']}")
