"""Write random-weight Qwen3-architecture GGUF files with the `gguf` package.

Tests and benchmarks need a model that the *real* llama-cpp-python loads and runs, without
downloading anything. The weights are random (the text is gibberish), but everything else is
what a real Qwen3 GGUF carries: the `qwen3` architecture and tensor layout (q/k norms, GQA, tied
embeddings), a byte-level BPE tokenizer (`gpt2` model, `qwen2` pre-tokenizer) with merges and the
Qwen special tokens, and a Qwen3-style chat template in `tokenizer.chat_template` that honours
`enable_thinking`.

Shapes:
- ``"tiny"``: 2 layers, hidden 64, ~300 tokens of vocab: about 0.5 MB, loads in milliseconds.
- ``"qwen3-0.6b"``: the exact Qwen3-0.6B shape (hidden 1024, 28 layers, 16 query / 8 KV heads,
  head dim 128, FFN 3072, vocab 151,936, tied embeddings), written in F16 and usually quantized
  to Q4_K_M with `quantize_gguf` for benchmarks (about 400 MB). Its tokenizer is a real byte-level
  BPE (~32k tokens) trained in seconds with the `tokenizers` library on English movie reviews
  (the local IMDB train split, else the prompt templates), so English text tokenizes about as
  compactly as with the real Qwen3 tokenizer (the review prompt is ~650-670 tokens, not ~2,000);
  the rest of the vocabulary is padding up to the Qwen special tokens at 151,643.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sarcgen.errors import ModelError

if TYPE_CHECKING:
    import gguf

IM_START, IM_END, ENDOFTEXT = "<|im_start|>", "<|im_end|>", "<|endoftext|>"

# A Qwen3-style ChatML template: thinking models get an empty think block when enable_thinking is
# false, exactly like the official Qwen3 template does.
QWEN3_CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}"
    "{{- '<|im_start|>assistant\\n' }}"
    "{%- if enable_thinking is defined and enable_thinking is false %}"
    "{{- '<think>\\n\\n</think>\\n\\n' }}"
    "{%- endif %}"
    "{%- endif %}"
)

# A handful of English merges so the BPE tokenizer really merges (at least one merge is required
# for llama.cpp to treat it as BPE). Each entry is "left right"; the merged token joins the vocab.
_MERGES = [
    "Ġ t", "h e", "i n", "e r", "a n", "o n", "r e", "Ġ a", "Ġ s", "Ġ w", "Ġ m", "o u", "e n",
    "Ġt he", "i s", "a t", "o r", "e s", "Ġ b", "Ġ f", "Ġ o", "Ġ c", "Ġ p", "l l", "i t", "in g",
    "e d", "Ġ i", "Ġ g", "o v", "i e", "ov ie", "Ġm ovie", "Ġ g", "r e", "a t",
]

# The trained BPE of the "qwen3-0.6b" shape: its size (merges + 256 byte tokens) and corpus.
BPE_VOCAB = 32_000
BPE_REVIEWS = 5_000
# Qwen2's pre-tokenizer (the `qwen2` pre-type llama.cpp applies when it tokenizes), so the merges
# are learned on the same pieces llama.cpp will split text into.
QWEN2_PRETOKENIZE = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)

# File name of the cached Q4_K_M benchmark model under .bench/: change it whenever the
# "qwen3-0.6b" GGUF changes (vocabulary, weights, layout) so a stale cached file is not reused.
BENCH_MODEL_NAME = "qwen3-0.6b-random-bpe32k-Q4_K_M.gguf"

# Token types as llama.cpp reads them (gguf.TokenType values).
_NORMAL, _CONTROL, _UNUSED, _BYTE = 1, 3, 5, 6


@dataclass(frozen=True)
class Shape:
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    ffn: int
    vocab: int | None  # None: as small as the tokenizer allows
    context: int = 40960
    # Length of <|im_end|>'s embedding row (tied, so also its output row). A long row makes the
    # end-of-turn logit large for about one step in ten, so a random model ends its replies by
    # itself (finish_reason "stop") like a real one; 0 leaves it random (benchmarks want full
    # token budgets).
    eos_scale: float = 0.0


SHAPES: dict[str, Shape] = {
    "tiny": Shape(hidden=64, layers=2, heads=4, kv_heads=2, head_dim=16, ffn=128, vocab=None, eos_scale=2.5),
    "qwen3-0.6b": Shape(hidden=1024, layers=28, heads=16, kv_heads=8, head_dim=128, ffn=3072, vocab=151_936),
}


def _bytes_to_unicode() -> list[str]:
    """GPT-2's reversible byte -> printable unicode map, in byte order."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    table = dict(zip(bs, cs))
    return [chr(table[b]) for b in range(256)]


def _bpe_corpus() -> list[str]:
    """English text to train the BPE on: the first `BPE_REVIEWS` IMDB train reviews when the
    shared data is there, else the package's prompt templates and challenge text."""
    import csv
    import gzip

    from sarcgen.finetune.data import find_imdb_dir

    pkg = Path(__file__).resolve().parent.parent
    imdb = find_imdb_dir() or find_imdb_dir(pkg)
    if imdb is not None and (imdb / "train.csv.gz").is_file():
        csv.field_size_limit(1 << 24)
        texts: list[str] = []
        with gzip.open(imdb / "train.csv.gz", "rt", encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                if row.get("text"):
                    texts.append(row["text"])
                if len(texts) >= BPE_REVIEWS:
                    break
        if texts:
            return texts
    files = sorted((pkg.parent / "prompts").glob("*.j2")) + [pkg / "challenge.py"]
    return [f.read_text(encoding="utf-8") for f in files if f.is_file()]


def _trained_bpe(vocab_size: int) -> list[str]:
    """Merges ("left right", GPT-2 byte-to-unicode alphabet) of a byte-level BPE trained with the
    `tokenizers` library on `_bpe_corpus()`, in merge order."""
    import json

    from tokenizers import Regex, Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_PRETOKENIZE), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(_bpe_corpus(), trainer=trainer)
    merges = json.loads(tok.to_str())["model"]["merges"]
    return [m if isinstance(m, str) else " ".join(m) for m in merges]


def _vocab(shape: Shape, special_type: int = _CONTROL) -> tuple[list[str], list[int], list[str], dict[str, int]]:
    """Tokens, token types, merges and the ids of the special tokens (typed `special_type`)."""
    tokens = _bytes_to_unicode()
    merges: list[str] = []
    known = set(tokens)
    if shape.vocab is not None:
        # Bytes in byte order, then each merge's result in merge order (as GPT-2/Qwen vocabularies).
        for m in _trained_bpe(BPE_VOCAB):
            left, right = m.split(" ")
            if left not in known or right not in known or left + right in known:
                continue
            merges.append(m)
            tokens.append(left + right)
            known.add(left + right)
    for m in ([] if shape.vocab is not None else _MERGES):
        left, right = m.split(" ")
        if left not in tokens or right not in tokens or m in merges:
            continue
        merges.append(m)
        if left + right not in tokens:
            tokens.append(left + right)
    types = [_NORMAL] * len(tokens)
    if shape.vocab is None:
        # Pseudo-words ("Ġbako", ...): a random model then mostly "writes" space-separated words
        # instead of raw bytes, which keeps its gibberish printable.
        syl = ["ba", "ko", "ri", "te", "mu", "la", "no", "si", "ve", "da", "po", "ga", "fi", "lu", "ze", "ha",
               "re", "mo", "ti", "ca", "ne", "bo", "su", "pe", "di", "ka", "lo", "mi", "ro", "sa", "tu", "ve"]
        for a in syl:
            for b in syl:
                if "Ġ" + a + b not in tokens:
                    tokens.append("Ġ" + a + b)
                    types.append(_NORMAL)
    else:
        # Real Qwen vocabularies put the specials at 151643; pad with plain word-like tokens so
        # a random model "writes" space-separated words (and nothing is an empty piece).
        first_special = shape.vocab - 293
        i = 0
        while len(tokens) < first_special:
            if f"Ġw{i}" not in known:  # "w" + digits is never one pre-token, but be sure
                tokens.append(f"Ġw{i}")
                types.append(_NORMAL)
            i += 1
    specials = {}
    for name in (ENDOFTEXT, IM_START, IM_END, "<think>", "</think>"):
        specials[name] = len(tokens)
        tokens.append(name)
        # <think> tags are ordinary (user-defined) text in Qwen3, but control is fine for us: the
        # template writes them and the parser strips them.
        types.append(special_type)
    if shape.vocab is not None:
        i = 0
        while len(tokens) < shape.vocab:
            tokens.append(f"<|extra_{i}|>")
            types.append(_UNUSED)
            i += 1
    return tokens, types, merges, specials


def write_tiny_qwen3_gguf(path: str | Path, *, shape: str = "tiny", seed: int = 0, specials_normal: bool = False) -> Path:
    """Write a random-weight Qwen3-architecture GGUF to `path` (F32 norms, F16 matrices).

    `shape` is "tiny" (~0.5 MB) or "qwen3-0.6b" (the real Qwen3-0.6B shape, ~1.2 GB in F16; pass
    the result to `quantize_gguf` for Q4_K_M). `specials_normal` types `<|im_end|>` and the other
    specials NORMAL, as some converted GGUFs do (llama.cpp then warns "control-looking token ... was
    not control-type" on every load). Returns the path written.
    """
    import gguf

    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}; choose one of {sorted(SHAPES)}")
    s = SHAPES[shape]
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tokens, types, merges, specials = _vocab(s, _NORMAL if specials_normal else _CONTROL)
    w = gguf.GGUFWriter(str(out), arch="qwen3")
    _add_metadata(w, s, shape)
    _add_tokenizer(w, tokens, types, merges, specials)
    _add_tensors(w, s, len(tokens), specials, np.random.default_rng(seed))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return out


def _add_metadata(w: gguf.GGUFWriter, s: Shape, shape: str) -> None:
    import gguf

    w.add_name(f"sarcgen random {shape} qwen3")
    w.add_file_type(int(gguf.LlamaFileType.MOSTLY_F16))
    w.add_context_length(s.context)
    w.add_embedding_length(s.hidden)
    w.add_block_count(s.layers)
    w.add_feed_forward_length(s.ffn)
    w.add_head_count(s.heads)
    w.add_head_count_kv(s.kv_heads)
    w.add_key_length(s.head_dim)
    w.add_value_length(s.head_dim)
    w.add_rope_freq_base(1_000_000.0)
    w.add_layer_norm_rms_eps(1e-6)


def _add_tokenizer(w: gguf.GGUFWriter, tokens: list[str], types: list[int], merges: list[str], specials: dict[str, int]) -> None:
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("qwen2")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(specials[ENDOFTEXT])
    w.add_eos_token_id(specials[IM_END])
    w.add_pad_token_id(specials[ENDOFTEXT])
    w.add_add_bos_token(False)
    w.add_chat_template(QWEN3_CHAT_TEMPLATE)


def _add_tensors(w: gguf.GGUFWriter, s: Shape, n_vocab: int, specials: dict[str, int], rng: np.random.Generator) -> None:
    def mat(rows: int, cols: int) -> np.ndarray:
        # Small-std normal weights keep activations finite through all layers.
        return (rng.standard_normal((rows, cols), dtype=np.float32) * 0.02).astype(np.float16)

    def norm(n: int) -> np.ndarray:
        return np.ones(n, dtype=np.float32)

    q_dim, kv_dim = s.heads * s.head_dim, s.kv_heads * s.head_dim
    # Tied embeddings: no output.weight, llama.cpp reuses token_embd.
    embd = mat(n_vocab, s.hidden)
    if s.eos_scale:
        u = rng.standard_normal(s.hidden).astype(np.float32)
        embd[specials[IM_END]] = (u / np.linalg.norm(u) * s.eos_scale).astype(np.float16)
    w.add_tensor("token_embd.weight", embd)
    w.add_tensor("output_norm.weight", norm(s.hidden))
    for i in range(s.layers):
        p = f"blk.{i}."
        w.add_tensor(p + "attn_norm.weight", norm(s.hidden))
        w.add_tensor(p + "attn_q.weight", mat(q_dim, s.hidden))
        w.add_tensor(p + "attn_k.weight", mat(kv_dim, s.hidden))
        w.add_tensor(p + "attn_v.weight", mat(kv_dim, s.hidden))
        w.add_tensor(p + "attn_output.weight", mat(s.hidden, q_dim))
        w.add_tensor(p + "attn_q_norm.weight", norm(s.head_dim))
        w.add_tensor(p + "attn_k_norm.weight", norm(s.head_dim))
        w.add_tensor(p + "ffn_norm.weight", norm(s.hidden))
        w.add_tensor(p + "ffn_gate.weight", mat(s.ffn, s.hidden))
        w.add_tensor(p + "ffn_up.weight", mat(s.ffn, s.hidden))
        w.add_tensor(p + "ffn_down.weight", mat(s.hidden, s.ffn))


_FTYPES = {
    "Q4_K_M": 15,  # LLAMA_FTYPE_MOSTLY_Q4_K_M
    "Q4_K_S": 14,
    "Q5_K_M": 17,
    "Q8_0": 7,
    "Q4_0": 2,
    "F16": 1,
}


def quantize_gguf(src: str | Path, dst: str | Path, ftype: str = "Q4_K_M", *, n_threads: int | None = None) -> Path:
    """Quantize a GGUF with llama.cpp's own quantizer (`llama_cpp.llama_model_quantize`)."""
    import llama_cpp

    if ftype not in _FTYPES:
        raise ValueError(f"unknown ftype {ftype!r}; choose one of {sorted(_FTYPES)}")
    src, dst = Path(src), Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = _FTYPES[ftype]
    if n_threads:
        params.nthread = n_threads
    rc = llama_cpp.llama_model_quantize(str(src).encode(), str(dst).encode(), params)
    if rc != 0 or not dst.exists():
        raise ModelError(f"quantizing {src} to {ftype} failed (llama_model_quantize returned {rc})")
    return dst
