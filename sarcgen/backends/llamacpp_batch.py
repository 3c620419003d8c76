"""N sequences decoded at once in one llama.cpp context (continuous batching), on a local GGUF.

Why: decoding one sequence is limited by memory bandwidth (every weight is read once per token),
so one `llama_decode` over N sequences' next tokens costs little more than over one. The
high-level `llama_cpp.Llama` decodes a single sequence, so this backend drives llama-cpp-python's
low-level API directly:

- one context with `n_seq_max = N` and, by default, one KV stream per sequence
  (`kv_unified=False`): each sequence attends only over its own cells, which measured twice as
  fast at N=16 on 2 CPU cores as one unified pool where every token attends over every cell;
- the shared prompt prefix (the static system prompt and few-shot examples: the longest common
  token prefix of the first requests) is evaluated once on sequence 0 and copied to every other
  sequence with `llama_memory_seq_cp` (a buffer copy between streams, or a metadata-only copy in
  a unified pool with `kv_unified=True`);
- every step, one batch holds the next token of each generating sequence plus prompt chunks of
  sequences that were just given a new request; the logits of each sequence are sampled by its own
  sampler (repeat penalty, top-k, top-p, min-p, temperature, seeded dist; `SlotSampler`), so each request's
  seed decides its sampling and a run is reproducible at a fixed N;
- a sequence that finishes (end-of-generation token, a stop string, or max_tokens) is yielded at
  once and its slot takes the next request: its KV cells past the common prefix with the new
  prompt are removed (`llama_memory_seq_rm`) and only the rest of the new prompt is evaluated.

The chat template is rendered exactly as the sequential backend does (`ChatTemplate`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import TYPE_CHECKING, Any

from sarcgen.backends.base import Backend, GenerationRequest, GenerationResult, ModelInfo
from sarcgen.backends.llamacpp import ChatTemplate, gguf_model_info, import_llama_cpp
from sarcgen.backends.llamacpp_log import route_llama_logs
from sarcgen.backends.llamacpp_lowlevel import (
    SlotSampler,
    add_to_batch,
    common_prefix_len,
    first_stop,
    kv_cells,
    load_model,
    new_context,
    new_sampler,
    shared_prefix,
    token_piece,
    tokenize,
)
from sarcgen.errors import BackendError
from sarcgen.recipe import ModelSpec, Recipe

if TYPE_CHECKING:
    from sarcgen.backends.gguf import ResolvedModel


@dataclass
class _Slot:
    """One sequence of the context and the request it is working on."""

    seq: int
    cached: list[int] = field(default_factory=list)  # tokens in the KV cache at positions 0..len-1
    req: GenerationRequest | None = None
    sampler: SlotSampler | None = None
    pending: list[int] = field(default_factory=list)  # prompt tokens still to evaluate
    next_token: int | None = None  # sampled, not yet fed back
    out: list[int] = field(default_factory=list)
    text: bytearray = field(default_factory=bytearray)
    n_prompt: int = 0
    t0: float = 0.0
    batch_idx: int = -1  # index of this slot's logits in the last batch, -1 when none


class BatchedLlamaCppBackend(Backend):
    """llama.cpp on a local GGUF with `parallel` sequences decoded at once (continuous batching)."""

    name = "llamacpp"

    def __init__(
        self,
        model_spec: ModelSpec,
        *,
        parallel: int = 4,
        n_ctx: int = 4096,
        kv_size: int | None = None,
        n_threads: int | None = None,
        n_gpu_layers: int = -1,
        n_batch: int = 512,
        kv_unified: bool = False,
        flash_attn: int | None = None,
        verbose: bool = False,
    ) -> None:
        if parallel < 1:
            raise BackendError(f"parallel must be at least 1, got {parallel}")
        self.model_spec = model_spec
        self.parallel = parallel
        self.n_ctx: int = n_ctx  # the most one sequence may hold (prompt + reply)
        self.kv_size = kv_size  # total KV cells; None: sized from the first requests
        self.n_threads = n_threads or os.cpu_count() or 1
        self.n_gpu_layers = n_gpu_layers
        self.n_batch = n_batch
        self.kv_unified = kv_unified
        # llama.cpp's flash_attn_type: -1 auto, 0 off, 1 on; None: auto with a GPU, off on CPU-only
        # builds (measured on 2 CPU cores at N=16: 53 tok/s off, 38-43 tok/s auto/on).
        self.flash_attn = flash_attn
        self.verbose = verbose
        self.resolved: ResolvedModel | None = None
        self.chat: ChatTemplate | None = None
        self._ll: Any = None  # the llama_cpp module
        self._model: Any = None
        self._vocab: Any = None
        self._ctx: Any = None
        self._ctx_size = 0
        self._seq_cap = 0  # the most tokens one sequence may hold in this context
        self._slots: list[_Slot] = []
        self._version = ""
        # Counters, and where the time went (benchmarks/bench_batched_peer.py reads them): the shared
        # prefix, steps that carried prompt tokens, and pure decode steps (one token per sequence).
        self.stats: dict[str, float] = {
            "decode_calls": 0, "prefix_tokens": 0, "reused_tokens": 0, "evaluated_prompt_tokens": 0,
            "prefix_seconds": 0.0, "prompt_step_seconds": 0.0, "decode_step_seconds": 0.0, "decode_step_tokens": 0,
        }

    @classmethod
    def from_recipe(cls, recipe: Recipe, model_spec: ModelSpec | None = None) -> BatchedLlamaCppBackend:
        g = recipe.generate
        ll = g.llamacpp
        return cls(model_spec or recipe.model, parallel=g.parallel, n_ctx=ll.n_ctx, n_threads=ll.n_threads,
                   n_gpu_layers=ll.n_gpu_layers)

    # -- loading ------------------------------------------------------------------------------

    def load(self) -> None:
        """Resolve and validate the GGUF, then load the weights (the context comes with the first requests)."""
        from sarcgen.backends.gguf import resolve_model

        if self._model is not None:
            return
        self.resolved = resolve_model(self.model_spec)
        llama_cpp = import_llama_cpp()
        self._ll = llama_cpp
        self._version = getattr(llama_cpp, "__version__", "unknown")
        router = route_llama_logs(llama_cpp, self.verbose)
        self._model = load_model(llama_cpp, self.resolved.path, self.n_gpu_layers, router.failure_detail)
        self._vocab = llama_cpp.llama_model_get_vocab(self._model)
        self.chat = ChatTemplate(
            self.resolved.header.chat_template,
            bos_token=self._piece(llama_cpp.llama_vocab_bos(self._vocab), special=True).decode("utf-8", "ignore"),
            eos_token=self._piece(llama_cpp.llama_vocab_eos(self._vocab), special=True).decode("utf-8", "ignore"),
        )

    def info(self) -> ModelInfo:
        return gguf_model_info(self, parallel=self.parallel, n_ctx=self.n_ctx,
                               kv_size=self._ctx_size or self.kv_size, n_threads=self.n_threads)

    def _free_samplers(self) -> None:
        for slot in self._slots:
            if slot.sampler is not None:
                slot.sampler.free()
                slot.sampler = None

    def close(self) -> None:
        ll = self._ll
        self._free_samplers()
        self._slots = []
        if self._ctx is not None:
            ll.llama_free(self._ctx)
            self._ctx = None
            self._ctx_size = 0
        if self._model is not None:
            ll.llama_model_free(self._model)
            self._model = None

    # -- tokens -------------------------------------------------------------------------------

    def render(self, messages: list[dict[str, str]]) -> str:
        """The exact prompt text sent to the model (same as the sequential backend)."""
        if self.chat is None:
            raise BackendError("the llama.cpp backend is not loaded yet", "call load() first")
        return self.chat.render(messages)

    def prompt_tokens(self, messages: list[dict[str, str]]) -> int:
        """How many tokens the prompt of `messages` takes (the driver checks it against n_ctx)."""
        return len(self.tokenize(self.render(messages)))

    def tokenize(self, text: str) -> list[int]:
        return tokenize(self._ll, self._vocab, text)

    def _piece(self, token: int, special: bool = False) -> bytes:
        return token_piece(self._ll, self._vocab, token, special)

    # -- context and samplers -----------------------------------------------------------------

    def _ensure_context(self, prefix: int, per_seq: int) -> bool:
        """Create the context (or a bigger one) for a shared prefix plus `per_seq` cells per sequence.

        Returns True when the context is fresh (empty KV cache).
        """
        ll = self._ll
        need = kv_cells(prefix, per_seq, parallel=self.parallel, kv_size=self.kv_size, n_ctx=self.n_ctx,
                        unified=self.kv_unified)
        if self._ctx is not None and need <= self._ctx_size:
            return False
        if self._ctx is not None:
            self._free_samplers()
            ll.llama_free(self._ctx)
            self._ctx = None
        flash_attn = self.flash_attn
        if flash_attn is None:  # auto where layers run on a GPU, off on CPU
            flash_attn = -1 if ll.llama_supports_gpu_offload() and self.n_gpu_layers != 0 else 0
        ctx = new_context(ll, self._model, cells=need, n_batch=self.n_batch, n_seq=self.parallel, n_threads=self.n_threads,
                          kv_unified=self.kv_unified, flash_attn=flash_attn)
        if not ctx:
            raise BackendError(
                f"llama.cpp could not create a context of {need} KV cells for {self.parallel} sequences",
                "lower --parallel or generate.llamacpp.n_ctx",
            )
        self._ctx, self._ctx_size = ctx, need
        self._seq_cap = need if self.kv_unified else need // self.parallel
        self._slots = [_Slot(seq=i) for i in range(self.parallel)]
        return True

    def _new_sampler(self, req: GenerationRequest) -> SlotSampler:
        return new_sampler(self._ll, self._vocab, req)

    # -- generation ---------------------------------------------------------------------------

    def generate(self, requests: Iterable[GenerationRequest]) -> Iterator[GenerationResult]:
        """Decode up to `parallel` requests at once; yield each result when its sequence ends.

        Requests are pulled lazily: `parallel` at first, then one per finished sequence.
        """
        if self._model is None:
            self.load()
        ll = self._ll
        it = iter(requests)
        first = [(req, self.tokenize(self.render(req.messages))) for req in islice(it, self.parallel)]
        if not first:
            return
        prefix = shared_prefix([toks for _, toks in first])
        longest = max(len(t) - prefix for _, t in first)
        max_new = max(r.max_tokens for r, _ in first)
        # The prefix, then each sequence's own prompt tail and reply, with room for later prompts
        # whose variable tails are longer than these first ones (attribute text varies).
        fresh = self._ensure_context(prefix, 2 * longest + max_new + 64)
        mem = ll.llama_get_memory(self._ctx)
        batch = ll.llama_batch_init(self.n_batch, 0, 1)
        try:
            if fresh and len(first) > 1 and prefix > 0:
                self._eval_prefix(batch, mem, first[0][1][:prefix])
            queue = list(first)
            for slot in self._slots:
                while queue and slot.req is None:
                    req, toks = queue.pop(0)
                    if not self._assign(slot, mem, req, toks):
                        yield self._too_long(req, toks)
            for req, toks in queue:  # only when every slot is busy, which cannot happen here
                yield self._too_long(req, toks)  # pragma: no cover
            yield from self._run(batch, mem, it)
        finally:
            ll.llama_batch_free(batch)
            for slot in self._slots:
                if slot.sampler is not None:
                    slot.sampler.free()
                    slot.sampler = None
                slot.req = None

    def _eval_prefix(self, batch: Any, mem: Any, tokens: list[int]) -> None:
        """Evaluate the shared prefix once on sequence 0 and copy it to every other sequence."""
        ll = self._ll
        t0 = time.perf_counter()
        ll.llama_memory_clear(mem, True)
        for start in range(0, len(tokens), self.n_batch):
            chunk = tokens[start : start + self.n_batch]
            batch.n_tokens = 0
            for j, tok in enumerate(chunk):
                add_to_batch(batch, tok, start + j, 0, False)
            self._decode(batch)
        for slot in self._slots:
            if slot.seq != 0:
                ll.llama_memory_seq_cp(mem, 0, slot.seq, -1, -1)
            slot.cached = list(tokens)
        self.stats["prefix_tokens"] += len(tokens)
        self.stats["prefix_seconds"] += time.perf_counter() - t0

    def _assign(self, slot: _Slot, mem: Any, req: GenerationRequest, tokens: list[int]) -> bool:
        """Give `slot` a request: keep the KV cells its prompt shares, queue the rest for evaluation.

        Returns False (slot left free) when the prompt cannot fit one sequence's context.
        """
        ll = self._ll
        if len(tokens) + 1 >= min(self.n_ctx, self._seq_cap) or not tokens:
            return False
        # Keep at least one prompt token to evaluate: its logits give the first reply token.
        keep = min(common_prefix_len(slot.cached, tokens), len(tokens) - 1)
        ll.llama_memory_seq_rm(mem, slot.seq, keep, -1)
        if slot.sampler is not None:
            slot.sampler.free()
        slot.req, slot.sampler = req, self._new_sampler(req)
        slot.cached = tokens[:keep]
        slot.pending = tokens[keep:]
        slot.next_token, slot.out, slot.text = None, [], bytearray()
        slot.n_prompt, slot.t0 = len(tokens), time.perf_counter()
        self.stats["reused_tokens"] += keep
        self.stats["evaluated_prompt_tokens"] += len(slot.pending)
        return True

    def _too_long(self, req: GenerationRequest, tokens: list[int]) -> GenerationResult:
        fits = min(self.n_ctx, self._seq_cap)
        return GenerationResult(key=req.key, text="", finish_reason="error", prompt_tokens=len(tokens),
                                error=f"prompt of {len(tokens)} tokens does not fit a context of {fits} tokens")

    def _decode(self, batch: Any) -> None:
        rc = self._ll.llama_decode(self._ctx, batch)
        self.stats["decode_calls"] += 1
        if rc != 0:
            # Forget the whole cache so the bookkeeping (`cached`) and the KV cells agree again.
            self._ll.llama_memory_clear(self._ll.llama_get_memory(self._ctx), True)
            for slot in self._slots:
                slot.cached = []
            hint = "lower --parallel, or raise generate.llamacpp.n_ctx" if rc == 1 else "check the model file and llama.cpp build"
            raise BackendError(f"llama_decode failed (code {rc}) with {self.parallel} sequences in {self._ctx_size} KV cells", hint)

    def _run(self, batch: Any, mem: Any, it: Iterator[GenerationRequest]) -> Iterator[GenerationResult]:
        exhausted = False
        while True:
            active = [s for s in self._slots if s.req is not None]
            if not active:
                return
            # Build one batch: generating sequences first (one token each), then prompt chunks.
            t_step = time.perf_counter()
            batch.n_tokens = 0
            for s in active:
                s.batch_idx = -1
                if s.next_token is not None:
                    s.batch_idx = add_to_batch(batch, s.next_token, len(s.cached), s.seq, True)
                    s.cached.append(s.next_token)
                    s.next_token = None
            n_gen = batch.n_tokens
            for s in active:
                room = self.n_batch - batch.n_tokens
                if not s.pending or room <= 0:
                    continue
                chunk, s.pending = s.pending[:room], s.pending[room:]
                for j, tok in enumerate(chunk):
                    last = not s.pending and j == len(chunk) - 1
                    idx = add_to_batch(batch, tok, len(s.cached), s.seq, last)
                    s.cached.append(tok)
                    if last:
                        s.batch_idx = idx
            prompt_step = batch.n_tokens > n_gen
            self._decode(batch)
            finished = [(s, r) for s in active if s.batch_idx >= 0 and (r := self._sample(s)) is not None]
            self._count_step(t_step, prompt_step, n_gen)
            for s, result in finished:
                yield result
                s.req = None
                while not exhausted and s.req is None:
                    req = next(it, None)
                    if req is None:
                        exhausted = True
                        break
                    toks = self.tokenize(self.render(req.messages))
                    if not self._assign(s, mem, req, toks):
                        yield self._too_long(req, toks)

    def _count_step(self, t_step: float, prompt_step: bool, n_gen: int) -> None:
        """Add one step's time (batch building, decode, sampling) to the prompt or the decode phase."""
        dt = time.perf_counter() - t_step
        if prompt_step:
            self.stats["prompt_step_seconds"] += dt
        else:
            self.stats["decode_step_seconds"] += dt
            self.stats["decode_step_tokens"] += n_gen

    def _sample(self, s: _Slot) -> GenerationResult | None:
        """Sample the slot's next token; a GenerationResult when its sequence is finished."""
        ll = self._ll
        req = s.req
        assert req is not None and s.sampler is not None
        tok = s.sampler.sample(self._ctx, s.batch_idx)
        finish = None
        if ll.llama_vocab_is_eog(self._vocab, tok):
            finish = "stop"
        else:
            s.out.append(tok)
            s.text += self._piece(tok)
            s.next_token = tok
            cut = first_stop(s.text, req.stop)
            if cut is not None:
                s.text, finish = bytearray(cut), "stop"
            if finish is None and (len(s.out) >= req.max_tokens or len(s.cached) + 1 >= self._seq_cap):
                finish = "length"
        if finish is None:
            return None
        s.next_token = None
        return GenerationResult(key=req.key, text=s.text.decode("utf-8", errors="ignore"), finish_reason=finish,
                                prompt_tokens=s.n_prompt, completion_tokens=len(s.out), seconds=time.perf_counter() - s.t0)
