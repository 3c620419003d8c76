"""Head-only training on a frozen encoder (`finetune.freeze_encoder`): the cheap comparison mode.

A comparison is A once per seed plus B once per seed and mix, each a full fine-tune over the same
IMDB reviews: on a busy CPU that is hours. With the encoder frozen, each text's encoder output,
pooled as the encoder was trained (`sarcgen.finetune.model.encoder_pooling`: the attention-masked
mean of the last hidden states for a sentence-transformers model such as all-MiniLM-L6-v2, the
first token's state for BERT), is computed once, cached (in memory and in `<out>/features/`), and
shared by every run; only the pooler and the classifier train, in
seconds. The checkpoint is still the whole model (encoder untouched) and its config records the
pooling (`sarcgen_pooling`), so `sarcgen predict` and the attributions read it the same way.
(Before, MiniLM's first-token state was read: baseline A reached 68.6% on IMDB.) What it measures is weaker: whether the synthetic
rows move a classifier on fixed features, not how they reshape the encoder.
"""

from __future__ import annotations

import hashlib
import math
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sarcgen.errors import TrainingError
from sarcgen.finetune.data import TextSet
from sarcgen.finetune.model import encoder_pooling, load_model, mean_pool, pick_device
from sarcgen.finetune.train import TrainResult, _optimizer, collate, encode, save_checkpoint, set_seed
from sarcgen.recipe import FinetuneSettings

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


def text_key(text: str) -> str:
    """A text's key in the cache: its sha1 (a whole IMDB review as a numpy string costs 50 KB)."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class FeatureCache:
    """Encoder features per text for one model and max_length, kept in memory and in one .npz."""

    def __init__(self, folder: Path, model_key: str, max_length: int) -> None:
        self.pooling = encoder_pooling(model_key)
        key = hashlib.sha256(f"{model_key}|{max_length}|{self.pooling}".encode()).hexdigest()[:16]
        self.path = folder / f"features-{key}.npz"
        self.max_length = max_length
        self.rows: dict[str, np.ndarray] = {}
        if self.path.is_file():
            with np.load(self.path, allow_pickle=False) as z:
                keys = z["keys"].tolist() if "keys" in z else [text_key(t) for t in z["texts"].tolist()]
                self.rows = dict(zip(keys, z["features"]))

    def features(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """(n, hidden) float32 features of `texts`; only texts never seen are encoded."""
        keys = [text_key(t) for t in texts]
        missing = sorted({t for t, k in zip(texts, keys) if k not in self.rows})
        if missing:
            for text, row in zip(missing, encoder_features(model, tokenizer, missing, self.max_length, batch_size,
                                                           self.pooling)):
                self.rows[text_key(text)] = row
            self._save()
        return np.stack([self.rows[k] for k in keys]) if texts else np.zeros((0, 0), dtype=np.float32)

    def _save(self) -> None:
        import os

        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp.npz")
        keys = list(self.rows)
        np.savez(tmp, keys=np.array(keys), features=np.stack([self.rows[k] for k in keys]))
        os.replace(tmp, self.path)


def encoder_features(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, texts: list[str], max_length: int, batch_size: int,
                     pooling: str = "cls") -> np.ndarray:
    """Each text's pooled last hidden state, "mean" (attention-masked) or "cls" (the first token's),
    in inference mode, length-sorted batches."""
    import torch

    device = next(model.parameters()).device
    ids = encode(tokenizer, texts, max_length)
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    out = np.zeros((len(texts), model.config.hidden_size), dtype=np.float32)
    encoder = model.base_model
    encoder.eval()
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            inputs = collate(ids, batch, tokenizer.pad_token_id or 0, tokenizer.model_input_names, device)
            hidden = encoder(**inputs).last_hidden_state
            pooled = mean_pool(hidden, inputs["attention_mask"]) if pooling == "mean" else hidden[:, 0]
            out[batch] = pooled.float().cpu().numpy()
    return out


def _head_parts(model: PreTrainedModel) -> tuple[torch.nn.Module, torch.nn.Module | None, torch.nn.Module]:
    """(pooler, dropout, classifier) of a BERT-style sequence classifier."""
    pooler = getattr(model.base_model, "pooler", None)
    if pooler is None or not hasattr(model, "classifier"):
        raise TrainingError(f"freeze_encoder needs a BERT-style model with a pooler and a classifier, not {type(model).__name__}",
                            "set finetune.freeze_encoder: false for this model")
    return pooler, getattr(model, "dropout", None), model.classifier


def head_logits(model: PreTrainedModel, features: np.ndarray, train: bool = False) -> torch.Tensor:
    """Logits from cached features through the pooler and classifier (a torch tensor)."""
    import torch

    pooler, dropout, classifier = _head_parts(model)
    x = pooler(torch.from_numpy(features).unsqueeze(1))
    if train and dropout is not None:
        x = dropout(x)
    return classifier(x)  # == pooled_head(model, features) in eval mode


def frozen_logits(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, cache: FeatureCache) -> Callable[[TextSet], np.ndarray]:
    """Logits of a head-only run on any set, from cached (or newly cached) features."""
    def run(ts: TextSet) -> np.ndarray:
        import torch

        model.eval()
        with torch.inference_mode():
            return head_logits(model, cache.features(model, tokenizer, ts.texts)).numpy()
    return run


def head_loss(model: PreTrainedModel, features: np.ndarray, labels: list[int]) -> float:
    import torch

    model.eval()
    with torch.inference_mode():
        return float(torch.nn.functional.cross_entropy(head_logits(model, features), torch.tensor(labels)).item())


def train_head(base_model: str, train: TextSet, validation: TextSet, settings: FinetuneSettings, out_dir: Path, *,
               seed: int, cache: FeatureCache, num_threads: int | None = None, tag: str = "") -> TrainResult:
    """Train only the pooler and classifier on cached features; early stopping as in train_classifier."""
    import torch

    set_seed(seed)
    pick_device(num_threads)
    tokenizer, model = load_model(base_model, attention_dropout=settings.attention_dropout)
    model.to("cpu")  # the head is tiny; features live on the CPU
    model.config.sarcgen_pooling = cache.pooling  # saved in config.json: predict and attributions pool the same way
    x_train, x_val = cache.features(model, tokenizer, train.texts), cache.features(model, tokenizer, validation.texts)
    for p in model.base_model.parameters():
        p.requires_grad = False
    for part in _head_parts(model):
        for p in part.parameters() if part is not None else ():
            p.requires_grad = True
    s, y = settings, torch.tensor(train.labels)
    optimizer = _optimizer(model, s.learning_rate, s.weight_decay)
    steps = math.ceil(len(train) / s.batch_size) * s.epochs
    warmup = int(s.warmup_ratio * steps)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda k: k / max(1, warmup) if k < warmup else max(0.0, (steps - k) / max(1, steps - warmup)))
    rng = random.Random(seed)
    history: list[dict[str, float]] = []
    best_loss, best_epoch, best_state, bad, t0 = math.inf, 0, None, 0, time.perf_counter()
    for epoch in range(1, s.epochs + 1):
        model.train()
        order = list(range(len(train)))
        rng.shuffle(order)
        loss_sum = 0.0
        for start in range(0, len(order), s.batch_size):
            batch = order[start:start + s.batch_size]
            loss = torch.nn.functional.cross_entropy(head_logits(model, x_train[batch], train=True), y[batch])
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            schedule.step()
            loss_sum += loss.item() * len(batch)
        val_loss = head_loss(model, x_val, validation.labels)
        history.append({"epoch": epoch, "train_loss": loss_sum / len(train), "val_loss": val_loss})
        if val_loss < best_loss - 1e-6:
            best_loss, best_epoch, bad = val_loss, epoch, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items() if "pooler" in k or "classifier" in k}
        else:
            bad += 1
            if bad > s.patience:
                break
    if best_state is not None:
        model.load_state_dict(best_state, strict=False)
    seconds = time.perf_counter() - t0
    result = TrainResult(checkpoint=str(out_dir), best_epoch=best_epoch, best_val_loss=best_loss, history=history,
                         train_seconds=seconds, train_examples_per_s=len(train) * len(history) / max(seconds, 1e-9),
                         device="cpu (frozen encoder, head only)", stopped_early=len(history) < s.epochs,
                         model=model, tokenizer=tokenizer)
    save_checkpoint(model, tokenizer, out_dir, settings, result, base_model=base_model, seed=seed,
                    sizes={"train": len(train), "validation": len(validation)}, frozen_encoder=True)
    return result
