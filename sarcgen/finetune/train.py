"""Fine-tune a sequence classifier: a plain loop you can read top to bottom.

Full fine-tune of AutoModelForSequenceClassification (2 labels, IMDB convention), AdamW with weight
decay off for biases and LayerNorm, linear warmup then linear decay, early stopping on validation
loss with the best epoch restored. Two habits make it fast on a CPU:

* dynamic padding: each batch is padded to its own longest example, not to max_length;
* length-grouped batches: within a shuffled mega-batch of 50 batches, examples are sorted by
  length before being cut into batches, so a batch holds reviews of similar length and little
  padding, while the order still changes every epoch.

On CUDA the forward pass runs under bf16 autocast (fp16 with a gradient scaler where bf16 is not
supported). The best weights (safetensors), the tokenizer, the resolved settings, the per-epoch
history and the best validation loss are saved in the checkpoint folder, so a number in a report
can always be traced back to what produced it.
"""

from __future__ import annotations

import json
import math
import random
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict, TypeVar

from sarcgen.errors import ModelError, TrainingError, file_errors
from sarcgen.finetune.data import TextSet
from sarcgen.finetune.model import autocast_dtype, load_model, model_logits, pick_device
from sarcgen.jsonl import read_text, write_json
from sarcgen.recipe import FinetuneSettings

if TYPE_CHECKING:  # heavy imports stay inside functions
    import numpy as np
    import torch
    from tqdm.auto import tqdm
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

T = TypeVar("T")

STATE_FILE = "sarcgen_training.json"
MEGA_BATCH = 50  # batches per length-sorted group


@dataclass
class TrainResult:
    """What one training run produced."""

    checkpoint: str
    best_epoch: int
    best_val_loss: float
    history: list[dict[str, float]] = field(default_factory=list)
    train_seconds: float = 0.0
    train_examples_per_s: float = 0.0
    device: str = "cpu"
    stopped_early: bool = False
    # The restored best model and its tokenizer, for evaluation right after training (not saved).
    model: PreTrainedModel | None = field(default=None, repr=False, compare=False)
    tokenizer: PreTrainedTokenizerBase | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, object]:
        """The JSON-able part (everything but the model and tokenizer)."""
        return {k: v for k, v in self.__dict__.items() if k not in ("model", "tokenizer")}


# ------------------------------------------------------------------------------------ batching
def encode(tokenizer: PreTrainedTokenizerBase, texts: list[str], max_length: int) -> list[list[int]]:
    """Token ids per text, truncated, unpadded (padding happens per batch)."""
    return tokenizer(texts, truncation=True, max_length=max_length, padding=False)["input_ids"]


def length_grouped_batches(lengths: list[int], batch_size: int, rng: random.Random,
                           mega: int = MEGA_BATCH) -> list[list[int]]:
    """Shuffle, then sort by length inside mega-batches, then shuffle the batch order."""
    idx = list(range(len(lengths)))
    rng.shuffle(idx)
    group = batch_size * mega
    batches = []
    for start in range(0, len(idx), group):
        chunk = sorted(idx[start:start + group], key=lambda i: lengths[i], reverse=True)
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def collate(ids: list[list[int]], batch: list[int], pad_id: int, input_names: list[str], device: torch.device) -> dict[str, torch.Tensor]:
    """Pad one batch to its longest member (dynamic padding)."""
    import torch

    width = max(len(ids[i]) for i in batch)
    input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, i in enumerate(batch):
        input_ids[row, : len(ids[i])] = torch.tensor(ids[i])
        mask[row, : len(ids[i])] = 1
    out = {"input_ids": input_ids, "attention_mask": mask}
    if "token_type_ids" in input_names:
        out["token_type_ids"] = torch.zeros_like(input_ids)
    return {k: v.to(device, non_blocking=True) for k, v in out.items()}


def _progress(iterable: Iterable[T], **kwargs: object) -> tqdm[T]:
    from tqdm.auto import tqdm

    return tqdm(iterable, file=sys.stderr, dynamic_ncols=True, leave=False, **kwargs)


# ----------------------------------------------------------------------------------- inference
def predict_logits(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, texts: list[str], max_length: int,
                   batch_size: int = 32, device: torch.device | None = None, progress: bool = False,
                   desc: str = "predict") -> np.ndarray:
    """Logits (n, 2) as a float32 numpy array, in the order of `texts`."""
    import numpy as np
    import torch

    device = device or next(model.parameters()).device
    ids = encode(tokenizer, texts, max_length)
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))  # similar lengths batch together
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    out = np.zeros((len(texts), model.config.num_labels), dtype=np.float32)
    dtype = autocast_dtype(device)
    model.eval()
    it = _progress(batches, desc=desc, unit="batch") if progress else batches
    with torch.inference_mode():
        for batch in it:
            inputs = collate(ids, batch, tokenizer.pad_token_id or 0, tokenizer.model_input_names, device)
            with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
                logits = model_logits(model, **inputs)
            out[batch] = logits.float().cpu().numpy()
    return out


def evaluate_loss(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, data: TextSet, max_length: int, batch_size: int,
                  device: torch.device) -> tuple[float, float]:
    """(mean cross-entropy loss, accuracy) on a labelled set."""
    import torch

    logits = torch.from_numpy(predict_logits(model, tokenizer, data.texts, max_length, batch_size * 2, device))
    labels = torch.tensor(data.labels)
    loss = torch.nn.functional.cross_entropy(logits, labels).item()
    acc = (logits.argmax(-1) == labels).float().mean().item()
    return loss, acc


# ------------------------------------------------------------------------------------- training
def set_seed(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def _optimizer(model: PreTrainedModel, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    import torch

    decay: list[torch.nn.Parameter] = []
    no_decay: list[torch.nn.Parameter] = []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        # Biases and LayerNorm weights are not decayed (the BERT recipe).
        (no_decay if p.ndim < 2 or "LayerNorm" in name or "layer_norm" in name else decay).append(p)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr)


def train_classifier(
    base_model: str,
    train: TextSet,
    validation: TextSet,
    settings: FinetuneSettings,
    out_dir: str | Path,
    *,
    seed: int | None = None,
    num_threads: int | None = None,
    progress: bool = True,
    tag: str = "",
) -> TrainResult:
    """Fine-tune `base_model` on `train`, early-stop on `validation`, save the best to `out_dir`."""
    import torch

    if len(train) == 0 or len(validation) == 0:
        raise TrainingError(f"{tag or 'training'}: empty train ({len(train)}) or validation ({len(validation)}) set")
    seed = settings.seed if seed is None else seed
    set_seed(seed)
    device = pick_device(num_threads)
    tokenizer, model = load_model(base_model, attention_dropout=settings.attention_dropout)
    model.to(device)
    s = settings
    train_ids = encode(tokenizer, train.texts, s.max_length)
    lengths = [len(x) for x in train_ids]
    labels = torch.tensor(train.labels)

    steps_per_epoch = math.ceil(len(train) / s.batch_size)
    total_steps = steps_per_epoch * s.epochs
    warmup = int(s.warmup_ratio * total_steps)
    optimizer = _optimizer(model, s.learning_rate, s.weight_decay)
    # Linear warmup to the peak learning rate, then linear decay to zero at the last planned step.
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: step / max(1, warmup) if step < warmup else max(0.0, (total_steps - step) / max(1, total_steps - warmup))
    )
    dtype = autocast_dtype(device)
    scaler = torch.amp.GradScaler("cuda", enabled=dtype == torch.float16)
    rng = random.Random(seed)

    history: list[dict[str, float]] = []
    best_loss, best_epoch, best_state, bad_epochs = math.inf, 0, None, 0
    seen, train_seconds, stopped_early = 0, 0.0, False
    for epoch in range(1, s.epochs + 1):
        t0 = time.perf_counter()
        model.train()
        loss_sum, correct, count = 0.0, 0, 0
        batches = length_grouped_batches(lengths, s.batch_size, rng)
        bar = _progress(batches, desc=f"{tag} epoch {epoch}/{s.epochs}".strip(), unit="batch") if progress else None
        for batch in bar if bar is not None else batches:
            inputs = collate(train_ids, batch, tokenizer.pad_token_id or 0, tokenizer.model_input_names, device)
            y = labels[batch].to(device)
            with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
                logits = model(**inputs).logits
            loss = torch.nn.functional.cross_entropy(logits.float(), y)
            if not torch.isfinite(loss):
                raise TrainingError(f"{tag or 'training'}: the loss became {loss.item()} in epoch {epoch}",
                                    "lower the learning rate (--lr) or use a smaller --batch-size")
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            scaler.step(optimizer)
            scaler.update()
            optimizer.zero_grad(set_to_none=True)
            schedule.step()
            loss_sum += loss.item() * len(batch)
            correct += (logits.argmax(-1) == y).sum().item()
            count += len(batch)
            if bar is not None:
                bar.set_postfix(loss=f"{loss_sum / count:.3f}")
        seen += count
        train_seconds += time.perf_counter() - t0  # throughput counts training steps, not evaluation
        val_loss, val_acc = evaluate_loss(model, tokenizer, validation, s.max_length, s.batch_size, device)
        history.append({"epoch": epoch, "train_loss": loss_sum / count, "train_accuracy": correct / count,
                        "val_loss": val_loss, "val_accuracy": val_acc})
        if progress:
            print(f"{tag} epoch {epoch}: train loss {loss_sum / count:.4f} acc {correct / count:.3f} | "
                  f"val loss {val_loss:.4f} acc {val_acc:.3f}".strip(), file=sys.stderr)
        if val_loss < best_loss - 1e-6:
            best_loss, best_epoch, bad_epochs = val_loss, epoch, 0
            # Keep the best weights in memory (CPU) so the final model is the best epoch, not the last.
            best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
        else:
            bad_epochs += 1
            if bad_epochs > s.patience:
                stopped_early = epoch < s.epochs
                break
    if best_state is not None:
        model.load_state_dict(best_state)

    result = TrainResult(
        checkpoint=str(out_dir), best_epoch=best_epoch, best_val_loss=best_loss, history=history,
        train_seconds=train_seconds, train_examples_per_s=seen / max(train_seconds, 1e-9),
        device=str(device), stopped_early=stopped_early, model=model, tokenizer=tokenizer,
    )
    save_checkpoint(model, tokenizer, out_dir, settings, result, base_model=base_model, seed=seed,
                    sizes={"train": len(train), "validation": len(validation)})
    return result


def save_checkpoint(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, out_dir: str | Path,
                    settings: FinetuneSettings, result: TrainResult, **extra: object) -> None:
    """Weights (safetensors), tokenizer, resolved settings, history and best validation loss."""
    out = Path(out_dir)
    with file_errors(out):
        out.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(out, safe_serialization=True)
        tokenizer.save_pretrained(out)
    state = {"settings": settings.model_dump(mode="json"), **extra, **result.to_dict()}
    write_json(out / STATE_FILE, state)


# -------------------------------------------------------------------------------------- predict
def load_checkpoint(path: str | Path, num_threads: int | None = None) -> tuple[PreTrainedTokenizerBase, PreTrainedModel, int]:
    """(tokenizer, model on the best device, max_length) from a finetune-compare checkpoint."""
    p = Path(path)
    if not (p / "config.json").is_file():
        raise ModelError(f"{p}: not a model folder (no config.json)",
                         "pass a checkpoint folder written by finetune-compare, e.g. outputs/<run>/finetune/checkpoints/B-seed42-mix0.1")
    tokenizer, model = load_model(str(p))
    model.to(pick_device(num_threads))
    max_length = 512
    state = p / STATE_FILE
    if state.is_file():
        max_length = json.loads(read_text(state)).get("settings", {}).get("max_length", 512)
    return tokenizer, model, max_length


class TextPrediction(TypedDict):
    """What `sarcgen predict` prints for one text."""

    text: str
    label: str
    p_negative: float
    p_positive: float


def predict_texts(path: str | Path, texts: list[str], num_threads: int | None = None) -> list[TextPrediction]:
    """Label and probabilities for each text with the checkpoint at `path`."""
    import torch

    tokenizer, model, max_length = load_checkpoint(path, num_threads)
    logits = predict_logits(model, tokenizer, texts, max_length)
    probs = torch.softmax(torch.from_numpy(logits), -1).numpy()
    names = {int(k): v for k, v in model.config.id2label.items()}
    return [TextPrediction(text=t, label=names[int(p.argmax())], p_negative=float(p[0]), p_positive=float(p[1]))
            for t, p in zip(texts, probs)]
