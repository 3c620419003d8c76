"""Candidate generation shared by dedupe and decontaminate: word hashes computed from raw bytes
with numpy, template stripping, shingle hashes, MinHash LSH and a sparse shingle-containment
index (scipy).

Everything here is deterministic: words are hashed from their bytes and shingles with splitmix64
(Python's salted `hash()` is never used), so the same input always yields the same candidates,
and a word hashes the same in every corpus (items and evaluation texts share one space).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from math import ceil

import numpy as np

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def splitmix64(x: np.ndarray) -> np.ndarray:
    """A fast, well-mixed 64-bit hash of 64-bit integers (vectorised)."""
    x = x.astype(np.uint64, copy=True)
    with np.errstate(over="ignore"):
        x ^= x >> np.uint64(30)
        x *= _M1
        x ^= x >> np.uint64(27)
        x *= _M2
        x ^= x >> np.uint64(31)
    return x


@dataclass
class Corpus:
    """Word hashes of many texts in one flat array, grouped by document.

    Built from raw UTF-8 bytes with numpy (no Python string per word), so 100,000 reviews take
    seconds. Words are runs of ASCII letters/digits/underscore or non-ASCII bytes, lower-cased.
    """

    word_hash: np.ndarray  # uint64 per word
    offsets: np.ndarray  # int64, len(docs) + 1: words of doc i are word_hash[offsets[i]:offsets[i+1]]
    byte_span: np.ndarray  # (n_words, 2) byte offsets of each word inside its own document's UTF-8
    fingerprint: np.ndarray  # uint64 per doc: hash of its word sequence (exact duplicates)

    def __len__(self) -> int:
        return len(self.offsets) - 1


_LOWER = np.arange(256, dtype=np.uint8)
_LOWER[65:91] += 32
_IS_WORD = np.zeros(256, dtype=bool)
_IS_WORD[[*range(48, 58), *range(65, 91), *range(97, 123), 95, *range(128, 256)]] = True
_POS = splitmix64(np.arange(1, 65, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)) | np.uint64(1)


def tokenize_corpus(texts: Sequence[str], chunk: int = 4000) -> Corpus:
    """Hash every word of every text (see `Corpus`)."""
    hashes, spans, counts = [], [], np.zeros(len(texts), dtype=np.int64)
    for lo in range(0, len(texts), chunk):
        enc = [t.encode("utf-8", "replace") for t in texts[lo : lo + chunk]]
        doc_start = np.zeros(len(enc), dtype=np.int64)
        if len(enc) > 1:
            doc_start[1:] = np.cumsum([len(e) + 1 for e in enc[:-1]])
        arr = np.frombuffer(b"\n".join(enc), dtype=np.uint8)
        isw = _IS_WORD[arr]
        edge = np.diff(isw.astype(np.int8), prepend=np.int8(0), append=np.int8(0))
        w_start, w_end = np.flatnonzero(edge == 1), np.flatnonzero(edge == -1)
        if len(w_start) == 0:
            continue
        w_len = w_end - w_start
        wc = np.flatnonzero(isw)
        first = np.zeros(len(w_start), dtype=np.int64)
        first[1:] = np.cumsum(w_len)[:-1]
        pos = np.arange(len(wc), dtype=np.int64) - np.repeat(first, w_len)
        with np.errstate(over="ignore"):
            vals = (_LOWER[arr[wc]].astype(np.uint64) + np.uint64(1)) * _POS[pos & 63]
            h = splitmix64(np.add.reduceat(vals, first) + w_len.astype(np.uint64))
        doc = np.searchsorted(doc_start, w_start, side="right") - 1
        counts[lo : lo + len(enc)] = np.bincount(doc, minlength=len(enc))
        hashes.append(h)
        spans.append(np.stack([w_start - doc_start[doc], w_end - doc_start[doc]], axis=1))
    word_hash = np.concatenate(hashes) if hashes else np.zeros(0, np.uint64)
    byte_span = np.concatenate(spans) if spans else np.zeros((0, 2), np.int64)
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    n_words = len(word_hash)
    doc_of = np.repeat(np.arange(len(texts), dtype=np.int64), counts)
    pos_in_doc = np.arange(n_words, dtype=np.int64) - offsets[doc_of]
    with np.errstate(over="ignore"):
        mixed = splitmix64(word_hash ^ splitmix64(pos_in_doc.astype(np.uint64)))
        cs = np.zeros(n_words + 1, dtype=np.uint64)
        np.cumsum(mixed, out=cs[1:])  # wraps mod 2^64, and so does the difference below
        fp = cs[offsets[1:]] - cs[offsets[:-1]]
    fp = np.where(counts > 0, splitmix64(fp ^ counts.astype(np.uint64)), np.uint64(0))
    return Corpus(word_hash, offsets, byte_span, fp)


@dataclass
class Template:
    """Openers and closers (word n-grams) repeated by many items, found from the data."""

    prefixes: list[str] = field(default_factory=list)
    suffixes: list[str] = field(default_factory=list)
    start: np.ndarray | None = None  # per doc: first word kept
    end: np.ndarray | None = None  # per doc: one past the last word kept


def _ngram_keys(h: np.ndarray, idx: np.ndarray, n: int, step: int) -> np.ndarray:
    """Hash of the n words starting at idx going by `step` (+1 openers, -1 closers)."""
    key = np.zeros(len(idx), dtype=np.uint64)
    for k in range(n):
        key = splitmix64(key ^ h[idx + step * k])
    return key


def find_template(corpus: Corpus, texts: Sequence[str], *, max_n: int = 12, min_share: float = 0.05, min_count: int = 5) -> Template:
    """Openers/closers shared by at least `min_share` of the items (and `min_count` items), and
    the word span of each doc that is left once its longest shared opener and closer are removed
    (at most half of a doc is ever stripped).

    Templated generation makes many items begin or end the same way ("Oh wow, what a ..."); that
    shared phrasing inflates similarity between otherwise different reviews, so dedupe compares
    what is left after removing it.
    """
    n_docs = len(corpus)
    lengths = np.diff(corpus.offsets)
    start, end = np.zeros(n_docs, np.int64), lengths.copy()
    need = max(min_count, ceil(min_share * n_docs))
    tpl = Template(start=start, end=end)
    if n_docs < need:
        return tpl
    for side in ("head", "tail"):
        done = np.zeros(n_docs, dtype=bool)
        for n in range(max_n, 0, -1):
            ok = (lengths // 2 >= n) & ~done
            docs = np.flatnonzero(ok)
            if len(docs) < need:
                continue
            if side == "head":
                keys = _ngram_keys(corpus.word_hash, corpus.offsets[docs], n, 1)
            else:
                keys = _ngram_keys(corpus.word_hash, corpus.offsets[docs + 1] - 1, n, -1)
            uniq, inv, cnt = np.unique(keys, return_inverse=True, return_counts=True)
            hit = cnt[inv] >= need
            for u in np.flatnonzero(cnt >= need):
                example = docs[np.flatnonzero(inv == u)[0]]
                w0 = corpus.offsets[example] + (0 if side == "head" else lengths[example] - n)
                b0, b1 = corpus.byte_span[w0, 0], corpus.byte_span[w0 + n - 1, 1]
                phrase = texts[example].encode("utf-8", "replace")[b0:b1].decode("utf-8", "replace").lower()
                (tpl.prefixes if side == "head" else tpl.suffixes).append(phrase)
            if side == "head":
                start[docs[hit]] = n
            else:
                end[docs[hit]] = lengths[docs[hit]] - n
            done[docs[hit]] = True
    # never strip more than half a doc in total
    over = (end - start) < (lengths + 1) // 2
    start[over], end[over] = 0, lengths[over]
    return tpl


def stripped_text(corpus: Corpus, tpl: Template, texts: Sequence[str], i: int) -> str:
    """The part of text i that is left after removing the template's opener and closer."""
    s, e = int(tpl.start[i]), int(tpl.end[i])  # type: ignore[index]
    if e <= s:
        return ""
    w0 = corpus.offsets[i]
    b = texts[i].encode("utf-8", "replace")
    return b[corpus.byte_span[w0 + s, 0] : corpus.byte_span[w0 + e - 1, 1]].decode("utf-8", "replace")


def shingle_hashes(corpus: Corpus, start: np.ndarray | None = None, end: np.ndarray | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Hashed word unigrams and bigrams of each doc's [start, end) word span, as two
    (hashes, doc index) arrays, each grouped by doc (MinHash takes the min over both)."""
    n_docs = len(corpus)
    lengths = np.diff(corpus.offsets)
    start = np.zeros(n_docs, np.int64) if start is None else start
    end = lengths if end is None else end
    doc_of = np.repeat(np.arange(n_docs, dtype=np.int64), lengths)
    pos = np.arange(len(corpus.word_hash), dtype=np.int64) - corpus.offsets[doc_of]
    inside = (pos >= start[doc_of]) & (pos < end[doc_of])
    uni_h, uni_d = corpus.word_hash[inside], doc_of[inside]
    nxt = np.zeros(len(inside), dtype=bool)
    nxt[:-1] = inside[:-1] & inside[1:] & (doc_of[:-1] == doc_of[1:])
    idx = np.flatnonzero(nxt)
    with np.errstate(over="ignore"):
        bi_h = splitmix64(corpus.word_hash[idx] * np.uint64(0x9E3779B97F4A7C15) + corpus.word_hash[idx + 1])
    return [(uni_h, uni_d), (bi_h, doc_of[idx])]


def drop_frequent(parts: list[tuple[np.ndarray, np.ndarray]], n_docs: int, max_count: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Drop shingles seen more than `max_count` times (stop phrases like "of the"): they make
    unrelated documents collide. A doc left with nothing keeps all its shingles."""
    counts = np.zeros(1 << 24, dtype=np.int64)
    for h, _ in parts:
        counts += np.bincount((h >> np.uint64(40)).astype(np.int64), minlength=1 << 24)
    keeps = [counts[(h >> np.uint64(40)).astype(np.int64)] <= max_count for h, _ in parts]
    has = np.zeros(n_docs, dtype=bool)
    for (_, d), k in zip(parts, keeps):
        has[d[k]] = True
    return [(h[k | ~has[d]], d[k | ~has[d]]) for (h, d), k in zip(parts, keeps)]


def minhash(parts: list[tuple[np.ndarray, np.ndarray]], n_docs: int, num_perm: int, seed: int = 7, threads: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """MinHash signatures (docs x num_perm, uint64) of docs that have shingles, and their indices.

    The shingle hashes are already splitmix-mixed, so permutation k is `h XOR r_k` (one cheap
    pass); the minimum per doc comes from `np.minimum.reduceat` over each doc-grouped array, and
    the union of unigrams and bigrams is the element-wise minimum of the two. Permutations run on
    `threads` threads (numpy releases the GIL).
    """
    from concurrent.futures import ThreadPoolExecutor

    has = np.zeros(n_docs, dtype=bool)
    for _, d in parts:
        has[d] = True
    present = np.flatnonzero(has)
    sig = np.full((len(present), num_perm), np.iinfo(np.uint64).max, dtype=np.uint64)
    if len(present) == 0:
        return sig, present
    rng = np.random.default_rng(seed)
    r = rng.integers(0, 2**63, size=num_perm, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    groups = []
    for h, d in parts:
        if len(h) == 0:
            continue
        docs = np.unique(d)
        groups.append((h, np.searchsorted(d, docs), np.searchsorted(present, docs)))

    def one(k: int) -> None:
        for h, starts, rows in groups:
            m = np.minimum.reduceat(h ^ r[k], starts)
            sig[rows, k] = np.minimum(sig[rows, k], m)

    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        list(pool.map(one, range(num_perm)))
    return sig, present


def lsh_pairs(sig: np.ndarray, docs: np.ndarray, bands: int, rows: int, *, max_bucket: int = 200, seed: int = 11) -> np.ndarray:
    """Candidate pairs (int64 array of shape (m, 2), i < j, unique) of docs whose signatures agree
    on all `rows` values of at least one band. Buckets larger than `max_bucket` are linked as a
    star to their first member instead of all pairs (they are rare after exact dedupe)."""
    if len(docs) < 2:
        return np.zeros((0, 2), np.int64)
    rng = np.random.default_rng(seed)
    mult = rng.integers(1, 2**63, size=rows, dtype=np.uint64) | np.uint64(1)
    keys_all = []
    n = np.int64(docs.max() + 1)
    for band in range(bands):
        block = sig[:, band * rows : (band + 1) * rows]
        with np.errstate(over="ignore"):
            key = splitmix64((block * mult).sum(axis=1, dtype=np.uint64) + np.uint64(band))
        order = np.argsort(key, kind="stable")
        ks = key[order]
        brk = np.flatnonzero(ks[1:] != ks[:-1]) + 1
        starts = np.concatenate(([0], brk))
        sizes = np.diff(np.concatenate((starts, [len(ks)])))
        multi = sizes >= 2
        starts, sizes = starts[multi], sizes[multi]
        # pairs: every member with every later member (or with the first one for huge buckets)
        pairs = []
        two = sizes == 2
        pairs.append(np.stack([order[starts[two]], order[starts[two] + 1]], axis=1))
        for s, z in zip(starts[~two].tolist(), sizes[~two].tolist()):
            members = order[s : s + z]
            if z > max_bucket:
                pairs.append(np.stack([np.full(z - 1, members[0]), members[1:]], axis=1))
            else:
                iu, ju = np.triu_indices(z, 1)
                pairs.append(np.stack([members[iu], members[ju]], axis=1))
        p = docs[np.concatenate(pairs)] if pairs else np.zeros((0, 2), np.int64)
        lo, hi = np.minimum(p[:, 0], p[:, 1]), np.maximum(p[:, 0], p[:, 1])
        keys_all.append(lo * n + hi)
    uniq = np.unique(np.concatenate(keys_all))
    return np.stack([uniq // n, uniq % n], axis=1)


def containment_pairs(
    q_h: np.ndarray, q_d: np.ndarray, n_q: int, r_h: np.ndarray, r_d: np.ndarray, n_r: int,
    *, min_containment: float = 0.3, chunk: int = 2000,
) -> np.ndarray:
    """Pairs (query, reference) sharing at least `min_containment` of the smaller one's shingles.

    A sparse product of binary doc x shingle matrices counts shared shingles; a short challenge
    sentence inside a longer review, or a review copied from a longer test review, both pass.
    """
    import scipy.sparse as sp

    if len(q_h) == 0 or len(r_h) == 0:
        return np.zeros((0, 2), np.int64)
    vocab, inv = np.unique(np.concatenate([q_h, r_h]), return_inverse=True)
    q_col, r_col = inv[: len(q_h)], inv[len(q_h) :]

    def matrix(col: np.ndarray, doc: np.ndarray, n: int) -> sp.csr_matrix:
        m = sp.csr_matrix((np.ones(len(col), np.float32), (doc, col)), shape=(n, len(vocab)))
        m.sum_duplicates()
        m.data[:] = 1.0
        return m

    q, r = matrix(q_col, q_d, n_q), matrix(r_col, r_d, n_r)
    q_size = np.asarray(q.sum(axis=1)).ravel()
    r_size = np.asarray(r.sum(axis=1)).ravel()
    rt = r.T.tocsr()
    out = []
    for lo in range(0, n_q, chunk):
        o = (q[lo : lo + chunk] @ rt).tocoo()
        qi = o.row.astype(np.int64) + lo
        ri = o.col.astype(np.int64)
        smaller = np.minimum(q_size[qi], r_size[ri])
        ok = o.data >= np.maximum(1.0, min_containment * smaller)
        out.append(np.stack([qi[ok], ri[ok]], axis=1))
    pairs = np.concatenate(out) if out else np.zeros((0, 2), np.int64)
    return pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]
