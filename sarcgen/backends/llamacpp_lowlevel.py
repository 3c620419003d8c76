"""Thin helpers over llama-cpp-python's low-level C API, for the batched backend.

`ll` is the imported `llama_cpp` module and `vocab` a `llama_vocab` pointer: these functions
hold no state, so the backend's class keeps only what is about sequences and slots.
"""

from __future__ import annotations

import ctypes
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from sarcgen.backends.base import GenerationRequest
from sarcgen.errors import BackendError, ModelError

if TYPE_CHECKING:  # llama-cpp-python's own names for its C pointers
    from llama_cpp.llama_cpp import llama_context_p, llama_model_p, llama_sampler_p, llama_vocab_p

PENALTY_LAST_N = 64  # as llama-cpp-python's high-level API (last_n_tokens_size)


def common_prefix_len(a: list[int], b: list[int]) -> int:
    """Length of the longest common prefix of two token lists."""
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def shared_prefix(prompts: list[list[int]]) -> int:
    """Longest common token prefix of all prompts, leaving at least one token of each to evaluate."""
    if not prompts:
        return 0
    n = min(len(p) for p in prompts) - 1
    ref = prompts[0]
    for p in prompts[1:]:
        n = min(n, common_prefix_len(ref, p))
    return max(n, 0)


def first_stop(text: bytes | bytearray, stops: Sequence[str]) -> bytes | None:
    """`text` cut before the first stop string it contains, or None when it holds none."""
    if not stops:
        return None
    decoded = text.decode("utf-8", errors="ignore")
    cut = min((i for i in (decoded.find(x) for x in stops) if i >= 0), default=-1)
    return decoded[:cut].encode("utf-8") if cut >= 0 else None


def tokenize(ll: ModuleType, vocab: llama_vocab_p, text: str) -> list[int]:
    """`text` as tokens (with BOS when the model wants one; special tokens parsed)."""
    data = text.encode("utf-8")
    add_bos = bool(ll.llama_vocab_get_add_bos(vocab))
    cap = len(data) + 8
    buf = (ll.llama_token * cap)()
    n = ll.llama_tokenize(vocab, data, len(data), buf, cap, add_bos, True)
    if n < 0:
        cap = -n
        buf = (ll.llama_token * cap)()
        n = ll.llama_tokenize(vocab, data, len(data), buf, cap, add_bos, True)
    if n < 0:
        raise BackendError(f"llama.cpp could not tokenize a {len(data)}-byte prompt")
    return list(buf[:n])


def token_piece(ll: ModuleType, vocab: llama_vocab_p, token: int, special: bool = False) -> bytes:
    """The bytes one token stands for (a piece of UTF-8: decode only whole texts)."""
    buf = ctypes.create_string_buffer(64)
    n = ll.llama_token_to_piece(vocab, token, buf, 64, 0, special)
    if n < 0:
        buf = ctypes.create_string_buffer(-n)
        n = ll.llama_token_to_piece(vocab, token, buf, -n, 0, special)
    return buf.raw[: max(n, 0)]


class RepeatPenalty:
    """llama.cpp's penalties sampler (repeat penalty only, frequency and presence 0), on a logits row.

    Why not llama.cpp's own: it looks up every one of the n_vocab candidates in a hash map of the
    last 64 tokens, 0.5 ms per sample at Qwen's 151,936-token vocabulary (the chain costs 0.62 ms
    with it, 0.10 ms without: 16 ms per step at 32 sequences). This applies the same float32
    arithmetic to the <= 64 distinct window tokens, in place, so the rest of the chain sees exactly
    the array the penalties sampler would have produced (tests pin it bit for bit).
    """

    def __init__(self, penalty: float, last_n: int = PENALTY_LAST_N) -> None:
        self.penalty = np.float32(penalty)  # the float the C sampler holds
        self.recent: deque[int] = deque(maxlen=last_n)  # its ring buffer of accepted tokens

    def apply(self, row: np.ndarray) -> None:
        if self.recent:
            ids = np.fromiter(set(self.recent), dtype=np.intp)
            v = row[ids]
            row[ids] = np.where(v <= 0, v * self.penalty, v / self.penalty)

    def accept(self, token: int) -> None:
        self.recent.append(token)


class SlotSampler:
    """One request's sampling: the repeat penalty (`RepeatPenalty`), then greedy, or top-k, top-p,
    min-p, temperature and a distribution seeded by the request (so its seed decides its sampling)."""

    def __init__(self, ll: ModuleType, vocab: llama_vocab_p, req: GenerationRequest) -> None:
        self._ll = ll
        self._row = ctypes.c_float * ll.llama_vocab_n_tokens(vocab)
        self.penalty = RepeatPenalty(req.repeat_penalty) if req.repeat_penalty != 1.0 else None
        chain: llama_sampler_p = ll.llama_sampler_chain_init(ll.llama_sampler_chain_default_params())
        self.chain: llama_sampler_p | None = chain

        def add(sampler: llama_sampler_p) -> None:
            ll.llama_sampler_chain_add(chain, sampler)

        if req.temperature <= 0:
            add(ll.llama_sampler_init_greedy())
            return
        if req.top_k > 0:
            add(ll.llama_sampler_init_top_k(req.top_k))
        add(ll.llama_sampler_init_top_p(req.top_p, 1))
        add(ll.llama_sampler_init_min_p(req.min_p, 1))
        add(ll.llama_sampler_init_temp(req.temperature))
        add(ll.llama_sampler_init_dist(req.seed & 0xFFFFFFFF))

    def sample(self, ctx: llama_context_p, idx: int) -> int:
        """The next token from row `idx` of the last batch's logits (penalised in place first)."""
        ll = self._ll
        if self.penalty is not None and self.penalty.recent:
            ptr = ll.llama_get_logits_ith(ctx, idx)
            self.penalty.apply(np.frombuffer(self._row.from_address(ctypes.addressof(ptr.contents)), dtype=np.float32))
        tok = int(ll.llama_sampler_sample(self.chain, ctx, idx))
        if self.penalty is not None:
            self.penalty.accept(tok)
        return tok

    def free(self) -> None:
        if self.chain is not None:
            self._ll.llama_sampler_free(self.chain)
            self.chain = None


def new_sampler(ll: ModuleType, vocab: llama_vocab_p, req: GenerationRequest) -> SlotSampler:
    return SlotSampler(ll, vocab, req)


def load_model(ll: ModuleType, path: Path, n_gpu_layers: int, detail: Callable[[], str] | None = None) -> llama_model_p:
    """The weights of the GGUF at `path` (`n_gpu_layers` offloaded); `ModelError` when llama.cpp refuses,
    with `detail()` (what llama.cpp logged) after the path."""
    ll.llama_backend_init()
    mparams = ll.llama_model_default_params()
    mparams.n_gpu_layers = n_gpu_layers
    model: llama_model_p | None = ll.llama_model_load_from_file(str(path).encode(), mparams)
    if not model:
        raise ModelError(f"llama.cpp could not load {path}{detail() if detail else ''}",
                         "check that the file is a llama.cpp GGUF of a supported architecture")
    return model


def kv_cells(prefix: int, per_seq: int, *, parallel: int, kv_size: int | None, n_ctx: int, unified: bool) -> int:
    """KV cells for a shared prefix plus `per_seq` cells for each of `parallel` sequences (multiples of 256)."""
    if unified:  # one pool: the prefix once, then each sequence's own cells
        need = kv_size or prefix + parallel * per_seq
        return -(-max(need, min(n_ctx, 1024)) // 256) * 256
    # one stream per sequence, each holding its own copy of the prefix
    stream = (kv_size // parallel) if kv_size else prefix + per_seq
    return -(-stream // 256) * 256 * parallel


def new_context(ll: ModuleType, model: llama_model_p, *, cells: int, n_batch: int, n_seq: int, n_threads: int, kv_unified: bool,
                flash_attn: int) -> llama_context_p | None:
    """A llama.cpp context of `cells` KV cells for `n_seq` sequences (NULL when llama.cpp refuses)."""
    cparams = ll.llama_context_default_params()
    cparams.n_ctx = cells
    cparams.n_batch = n_batch
    cparams.n_ubatch = n_batch
    cparams.n_seq_max = n_seq
    cparams.n_threads = n_threads
    cparams.n_threads_batch = n_threads
    cparams.kv_unified = kv_unified
    cparams.flash_attn_type = flash_attn
    ctx: llama_context_p | None = ll.llama_init_from_model(model, cparams)
    return ctx


def add_to_batch(batch: Any, token: int, pos: int, seq: int, logits: bool) -> int:
    """Append one token to a llama_batch; returns its index. (Untyped: llama-cpp-python declares
    `llama_batch.pos` an array of arrays, but it is one int32 per token.)"""
    i: int = batch.n_tokens
    batch.token[i] = token
    batch.pos[i] = pos
    batch.n_seq_id[i] = 1
    batch.seq_id[i][0] = seq
    batch.logits[i] = 1 if logits else 0
    batch.n_tokens = i + 1
    return i
