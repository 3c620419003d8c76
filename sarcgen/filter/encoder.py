"""The literal sentiment of a review, read by the sentence encoder that ships with sarcgen.

A logistic head on the mean-pooled all-MiniLM-L6-v2 embedding, trained on 6,000 real IMDB train
reviews (`scripts/train_literal_head.py`; weights, provenance and held-out accuracy, 0.79 on 2,000
IMDB test reviews, in `sarcgen/data/literal_head.json`). It reads what a review *says*, as a surface
classifier would: a sincere positive must read positive. The word rule for a sincere twin's
negative turn asks it before rejecting (`sarcgen.filter.validate.check_negative_twist`): "feel awful
in the best way" has a negative word and reads positive (0.81).

Measured on ../shared/data/labelled, it does not verify sarcastic labels: sarcasm reads positive by
design, and the Qwen2.5-1.5B writer's right and wrong sarcastic negatives overlap (median literal
P(positive) 0.53 vs 0.69). The encoder is the one `finetune-compare` uses
(`sarcgen.finetune.model.resolve_model_path`), loaded on first use only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

HEAD_FILE = "literal_head.json"
ENCODER = "sentence-transformers/all-MiniLM-L6-v2"
MAX_LENGTH = 256  # the encoder's own limit (sentence-transformers' max_seq_length for this model)


@dataclass(frozen=True)
class Head:
    """The shipped literal-sentiment head."""

    weights: np.ndarray
    bias: float
    info: dict[str, object]

    def p_positive(self, emb: np.ndarray) -> np.ndarray:
        return np.asarray(1.0 / (1.0 + np.exp(-(emb @ self.weights + self.bias))))


@lru_cache(maxsize=1)
def load_head() -> Head:
    data = json.loads(resources.files("sarcgen.data").joinpath(HEAD_FILE).read_text(encoding="utf-8"))
    return Head(np.asarray(data["weights"], dtype=np.float32), float(data["bias"]),
                {k: v for k, v in data.items() if k != "weights"})


def literal_positive(text: str) -> float:
    """P(positive) of what `text` literally says (loads the encoder on first use)."""
    return float(load_head().p_positive(embed([text]))[0])


@lru_cache(maxsize=1)
def _encoder() -> tuple[PreTrainedTokenizerBase, PreTrainedModel]:
    from transformers import AutoModel, AutoTokenizer

    from sarcgen.finetune.model import resolve_model_path

    path = resolve_model_path(ENCODER)
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path, use_safetensors=True).eval()
    return tok, model  # embed() runs under inference_mode: nothing global is switched off


def embed(texts: list[str], batch_size: int = 32) -> np.ndarray:
    """Unit-length mean-pooled embeddings (how all-MiniLM-L6-v2 was trained), one row per text."""
    import torch

    from sarcgen.finetune.model import mean_pool

    tok, model = _encoder()
    out = []
    with torch.inference_mode():
        for i in range(0, len(texts), batch_size):
            enc = tok(texts[i:i + batch_size], padding=True, truncation=True, max_length=MAX_LENGTH, return_tensors="pt")
            pooled = mean_pool(model(**enc).last_hidden_state, enc["attention_mask"])
            out.append(torch.nn.functional.normalize(pooled, dim=-1).float().numpy())
    return np.concatenate(out) if out else np.zeros((0, 384), dtype=np.float32)
