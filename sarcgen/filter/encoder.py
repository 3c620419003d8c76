"""Signals from the sentence encoder that ships with sarcgen (all-MiniLM-L6-v2, mean pooled).

Word lists tuned on one weak writer rejected good reviews of a capable one (the gate audit:
"feel awful in the best way" as a negative twist, "The first scare arrives at minute seventy-one" as
off topic). Two model-based signals replace them, both read off one embedding per review:

- **literal sentiment**: a logistic head on the mean-pooled embedding, trained on real IMDB reviews
  (`scripts/train_literal_head.py`; weights, training rows and held-out accuracy in
  `sarcgen/data/literal_head.json`). It reads what a review *says*, as a surface classifier would;
  a sincere positive must read positive.
- **film topic**: cosine similarity to the centroid of the same IMDB reviews; a review about
  anything but a film sits far from it.

The head file is small (384 weights, the centroid, provenance); the encoder is the one
`finetune-compare` uses (`sarcgen.finetune.model.resolve_model_path`), loaded once per filter run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

HEAD_FILE = "literal_head.json"
ENCODER = "sentence-transformers/all-MiniLM-L6-v2"
MAX_LENGTH = 256  # the encoder's own limit (sentence-transformers' max_seq_length for this model)


@dataclass(frozen=True)
class Head:
    """The shipped literal-sentiment head and film-topic centroid."""

    weights: np.ndarray
    bias: float
    centroid: np.ndarray
    info: dict[str, Any]

    def p_positive(self, emb: np.ndarray) -> np.ndarray:
        return np.asarray(1.0 / (1.0 + np.exp(-(emb @ self.weights + self.bias))))

    def topic(self, emb: np.ndarray) -> np.ndarray:
        return np.asarray(emb @ self.centroid)


@lru_cache(maxsize=1)
def load_head() -> Head:
    data = json.loads(resources.files("sarcgen.data").joinpath(HEAD_FILE).read_text(encoding="utf-8"))
    centroid = np.asarray(data["centroid"], dtype=np.float32)
    return Head(np.asarray(data["weights"], dtype=np.float32), float(data["bias"]),
                centroid / np.linalg.norm(centroid), {k: v for k, v in data.items() if k not in ("weights", "centroid")})


@lru_cache(maxsize=1)
def _encoder() -> tuple[Any, Any]:
    import torch
    from transformers import AutoModel, AutoTokenizer

    from sarcgen.finetune.model import resolve_model_path

    path = resolve_model_path(ENCODER)
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path, use_safetensors=True).eval()
    torch.set_grad_enabled(False)
    return tok, model


def embed(texts: list[str], batch_size: int = 32) -> np.ndarray:
    """Unit-length mean-pooled embeddings (how all-MiniLM-L6-v2 was trained), one row per text."""
    import torch

    tok, model = _encoder()
    out = []
    with torch.inference_mode():
        for i in range(0, len(texts), batch_size):
            enc = tok(texts[i:i + batch_size], padding=True, truncation=True, max_length=MAX_LENGTH, return_tensors="pt")
            hidden = model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9), dim=-1)
            out.append(pooled.float().numpy())
    return np.concatenate(out) if out else np.zeros((0, 384), dtype=np.float32)
