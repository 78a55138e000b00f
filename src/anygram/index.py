"""``Index``: the query API over one or many shards (and index directories).

Each public method validates its arguments, converts text to token ids with the index's own
tokenizer, calls a numba kernel from :mod:`anygram.engine` over memory-mapped arrays, and returns
a frozen dataclass from :mod:`anygram.results`. Kernels release the GIL, so an ``Index`` can be
shared by threads.
"""

from __future__ import annotations

import math
import os
import random
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from .config import QueryDefaults
from .engine import _multi, _ntd
from .engine._search import SuffixArrayCorrupt
from .errors import CorruptIndexError, IndexFormatError, QueryError
from .format.open import OpenedIndex, open_index_dirs
from .results import (
    CountResult,
    CreativityResult,
    DocResult,
    FindCnfResult,
    FindResult,
    IndexInfo,
    InfgramNtdResult,
    InfgramProbResult,
    LongestMatch,
    LongestMatchesResult,
    NtdResult,
    ProbResult,
    ScoreResult,
    SearchDocsResult,
    ShardInfo,
    TokenProb,
)
from .tokenizers import DTYPE_BY_WIDTH, check_token_ids, separator_id

Query = str | Sequence[int] | np.ndarray

#: prompts occurring at most this often get their exact ntd in a single kernel call
SMALL_NTD = 4096


def open(
    path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    verify: str = "auto",
    eos_token_id: int | None = None,
    token_width: int | None = None,
    tokenizer: str | os.PathLike[str] | None = None,
    defaults: QueryDefaults | None = None,
) -> Index:
    """Open one index directory, or several whose shards are queried together.

    ``verify``: ``"auto"`` checks sizes, structure and the checksums of small files (all files of
    small indexes); ``"full"`` checksums every file; ``"sizes"`` skips checksums. Directories
    built by the official infini-gram indexer are opened read-only too (pass ``token_width`` and
    ``tokenizer`` if they cannot be inferred).
    """
    paths = [path] if isinstance(path, (str, os.PathLike)) else list(path)
    if not paths:
        raise IndexFormatError("no index path given")
    if verify not in ("auto", "full", "sizes"):
        raise QueryError(f"verify must be 'auto', 'full' or 'sizes', not {verify!r}")
    opened = open_index_dirs([Path(p) for p in paths], verify=verify, eos_token_id=eos_token_id, token_width=token_width, tokenizer=tokenizer)
    if opened.kind == "fm":
        from .fm.index import FMIndex

        return FMIndex(opened, defaults or QueryDefaults())
    return Index(opened, defaults or QueryDefaults())


class Index:
    """A read-only, thread-safe view of an index; create it with :func:`anygram.open`."""

    def __init__(self, opened: OpenedIndex, defaults: QueryDefaults) -> None:
        self._bind(opened, defaults)
        self._dss = tuple(s.ds for s in self.shards)
        self._sas = tuple(s.sa for s in self.shards)
        self._ks = np.array([s.ptr_size for s in self.shards], dtype=np.int64)

    def _bind(self, opened: OpenedIndex, defaults: QueryDefaults) -> None:
        """What every index kind holds (the suffix-array kind adds its kernels' shard tuples)."""
        self._o = opened
        self.defaults = defaults
        self.token_width = opened.token_width
        self.eos_token_id = opened.eos_token_id
        self.tokenizer = opened.tokenizer
        self.shards = opened.shards
        self._doc_base = np.cumsum([0] + [s.doc_cnt for s in self.shards]).astype(np.int64)
        self._pool: ThreadPoolExecutor | None = None
        self._dtype = DTYPE_BY_WIDTH[self.token_width]
        self._sep = separator_id(self.token_width)

    # ------------------------------------------------------------------ basics
    def __repr__(self) -> str:
        return f"<anygram.Index {', '.join(map(str, self._o.paths))}: {self.total_tokens} tokens, {self.total_docs} docs, {len(self.shards)} shards>"

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the worker threads (memory maps close when the Index is garbage-collected)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None

    @property
    def total_tokens(self) -> int:
        """Tokens in all shards, document separators included (infini-gram's ``count([])``)."""
        return sum(s.tok_cnt for s in self.shards)

    @property
    def total_docs(self) -> int:
        return sum(s.doc_cnt for s in self.shards)

    @property
    def num_shards(self) -> int:
        return len(self.shards)

    @property
    def kind(self) -> str:
        """``"sa"`` (suffix arrays) or ``"fm"`` (:class:`anygram.fm.index.FMIndex`)."""
        return "sa"

    def info(self) -> IndexInfo:
        shards = [
            ShardInfo(path=s.name, tokens=s.tok_cnt, docs=s.doc_cnt, ds_bytes=s.ds_size, sa_bytes=int(s.sa.shape[0]), ptr_size=s.ptr_size)
            for s in self.shards
        ]
        total = self._o.index_bytes
        return IndexInfo(
            path=[str(p) for p in self._o.paths],
            format=self._o.format,
            format_version=self._o.format_version,
            tokenizer=self._o.tokenizer_spec,
            token_width=self.token_width,
            eos_token_id=self.eos_token_id,
            total_tokens=self.total_tokens,
            total_docs=self.total_docs,
            index_bytes=total,
            bytes_per_token=total / self.total_tokens if self.total_tokens else 0.0,
            shards=shards,
            build=self._o.build,
        )

    # ------------------------------------------------------------ conversion
    def tokenize(self, text: str) -> list[int]:
        """Token ids of ``text`` with the index's tokenizer."""
        return [int(t) for t in self._encode(text)]

    def decode(self, ids: Iterable[int]) -> str:
        """Text of token ids (invalid UTF-8 replaced); raises QueryError for an ids-only index."""
        if self.tokenizer is None:
            raise QueryError("this index has no known tokenizer: query with token ids")
        return self.tokenizer.decode(list(ids))

    def _encode(self, text: str) -> np.ndarray:
        if self.tokenizer is None:
            raise QueryError("this index has no known tokenizer: pass token ids instead of text")
        # a tokenizer's ids are < vocab_size <= separator id (checked when the index was built)
        return np.asarray(self.tokenizer.encode(text), dtype=self._dtype)

    def _ids(self, query: Query, what: str = "query") -> np.ndarray:
        if isinstance(query, str):
            ids = self._encode(query)
        elif isinstance(query, list) and len(query) <= 64:
            # fast path for short id lists: plain Python checks beat numpy's per-call overhead
            sep = self._sep
            for t in query:
                if type(t) is not int and not isinstance(t, (int, np.integer)) or isinstance(t, bool):
                    raise QueryError(f"{what} must be a list of integer token ids, got {type(t).__name__}")
                if t < 0 or t >= sep:
                    raise QueryError(
                        f"{what} contains token id {t}, outside [0, {sep - 1}] for this index "
                        f"({sep} is the document separator)"
                    )
            ids = np.array(query, dtype=self._dtype)
        elif isinstance(query, (bytes, bytearray)):
            raise QueryError(f"{what}: pass text as str or token ids as a list of ints, not bytes")
        else:
            ids = check_token_ids(query, self.token_width, what)
        if ids.shape[0] > self.defaults.max_query_tokens:
            raise QueryError(f"{what} has {ids.shape[0]} tokens; the limit is {self.defaults.max_query_tokens}")
        return ids if ids.dtype == self._dtype else ids.astype(self._dtype)

    def _token(self, cont: int | str, what: str = "cont") -> np.ndarray:
        if isinstance(cont, str):
            ids = self._encode(cont)
            if ids.shape[0] != 1:
                raise QueryError(f"{what} {cont!r} is {ids.shape[0]} tokens, not one: pass a token id")
            return ids
        if isinstance(cont, (bool, np.bool_)) or not isinstance(cont, (int, np.integer)):
            raise QueryError(f"{what} must be a token id (int) or a one-token string")
        return check_token_ids([int(cont)], self.token_width, what)

    @staticmethod
    def _bytes(ids: np.ndarray) -> np.ndarray:
        return ids.view(np.uint8)

    def _ranges(self) -> np.ndarray:
        return np.empty((len(self.shards), 2), dtype=np.int64)

    def _run(self, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except SuffixArrayCorrupt as exc:
            raise CorruptIndexError(f"{', '.join(map(str, self._o.paths))}: {exc} (index corrupted; rebuild it)") from None

    def _positive(self, value: Any, name: str, default: Any, limit: int | None = None) -> int:
        if value is None:
            value = default
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
            raise QueryError(f"{name} must be a positive integer, not {value!r}")
        if limit is not None and value > limit:
            raise QueryError(f"{name}={value} exceeds the limit of {limit}")
        return int(value)

    # ----------------------------------------------------------------- counts
    def find(self, query: Query) -> FindResult:
        """Suffix-array ranges of ``query`` per shard (``[start, end)`` ranks) and the total count."""
        qb = self._bytes(self._ids(query))
        out = self._ranges()
        cnt = self._run(_multi.find_all, self._dss, self._sas, self._ks, qb, 0, qb.shape[0], out)
        return FindResult(cnt=int(cnt), segment_by_shard=[(int(a), int(b)) for a, b in out])

    def count(self, query: Query) -> CountResult:
        """Occurrences of ``query`` (text or token ids); ``count([])`` is the total number of tokens."""
        qb = self._bytes(self._ids(query))
        out = self._ranges()
        return CountResult(count=int(self._run(_multi.find_all, self._dss, self._sas, self._ks, qb, 0, qb.shape[0], out)))

    def count_batch(self, queries: Sequence[Query]) -> list[CountResult]:
        """Counts of many queries in one call (split over threads for large batches)."""
        encoded = [self._bytes(self._ids(q, f"queries[{i}]")) for i, q in enumerate(queries)]
        if not encoded:
            return []
        out = np.zeros(len(encoded), dtype=np.int64)
        self._batched(_multi.count_batch, encoded, (out,))
        return [CountResult(count=int(c)) for c in out]

    def _batched(self, kernel: Any, encoded: list[np.ndarray], outs: tuple[np.ndarray, ...], *extra: Any) -> None:
        """Run a batch kernel over concatenated patterns, in contiguous slices on several threads."""
        offs = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([e.shape[0] for e in encoded], out=offs[1:])
        buf = np.concatenate(encoded) if offs[-1] else np.zeros(0, dtype=np.uint8)
        threads = min(self.defaults.threads, max(1, len(encoded) // 64))
        if threads <= 1:
            self._run(kernel, self._dss, self._sas, self._ks, buf, offs, *extra, *outs)
            return
        bounds = np.linspace(0, len(encoded), threads + 1).astype(np.int64)

        def part(i: int) -> None:
            a, b = int(bounds[i]), int(bounds[i + 1])
            self._run(kernel, self._dss, self._sas, self._ks, buf, offs[a : b + 1], *extra, *(o[a:b] for o in outs))

        list(self._executor().map(part, range(threads)))

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.defaults.threads, thread_name_prefix="anygram")
        return self._pool

    # ---------------------------------------------------------- probabilities
    def prob(self, prompt: Query, cont: int | str) -> ProbResult:
        """n-gram probability of token ``cont`` after ``prompt``; ``prob`` is -1 when the prompt is absent."""
        p = self._ids(prompt, "prompt")
        c = self._token(cont)
        pc, cc = self._prob_counts(p, c)
        return ProbResult(prompt_cnt=pc, cont_cnt=cc, prob=(cc / pc) if pc else -1.0)

    def _prob_counts(self, p: np.ndarray, c: np.ndarray) -> tuple[int, int]:
        q = self._bytes(np.concatenate([p, c]))
        a, b = self._ranges(), self._ranges()
        pc, cc = self._run(_multi.prob_all, self._dss, self._sas, self._ks, q, p.shape[0] * self.token_width, self.token_width, a, b)
        return int(pc), int(cc)

    def prob_batch(self, items: Sequence[tuple[Query, int | str]]) -> list[ProbResult]:
        """``prob`` of many (prompt, cont) pairs in one call (split over threads for large batches)."""
        encoded = []
        for i, item in enumerate(items):
            if not isinstance(item, (tuple, list)) or len(item) != 2:
                raise QueryError(f"items[{i}] must be a (prompt, cont) pair")
            p = self._ids(item[0], f"items[{i}] prompt")
            c = self._token(item[1], f"items[{i}] cont")
            encoded.append(self._bytes(np.concatenate([p, c])))
        if not encoded:
            return []
        pcs = np.zeros(len(encoded), dtype=np.int64)
        ccs = np.zeros(len(encoded), dtype=np.int64)
        self._batched(_multi.prob_batch, encoded, (pcs, ccs), self.token_width)
        return [ProbResult(prompt_cnt=int(a), cont_cnt=int(b), prob=(int(b) / int(a)) if a else -1.0) for a, b in zip(pcs, ccs)]

    def ntd(self, prompt: Query, max_support: int | None = None, *, _nested: bool = False) -> NtdResult:
        """Distribution of the token after ``prompt`` (exact unless ``max_support`` asks for sampling).

        The end of a document counts as ``eos_token_id``. With ``max_support``, a prompt with more
        than that many occurrences is sampled as infini-gram does (``approx=True``).
        """
        p = self._ids(prompt, "prompt")
        ranges = self._ranges()
        qb = self._bytes(p)
        if max_support is None and self.defaults.max_support is None:
            # exact and rare: find and count in one kernel call (no per-shard dispatch)
            toks = np.empty(SMALL_NTD, np.int64)
            cnts = np.empty(SMALL_NTD, np.int64)
            cnt, nd = self._run(_multi.ntd_small, self._dss, self._sas, self._ks, qb, qb.shape[0], self.token_width, self.eos_token_id, ranges, toks, cnts)
            if nd >= 0:
                return self._ntd_result([(toks[:nd], cnts[:nd])], False)
        else:
            cnt = self._run(_multi.find_all, self._dss, self._sas, self._ks, qb, 0, qb.shape[0], ranges)
        return self._ntd_from_ranges(ranges, int(cnt), qb.shape[0], max_support, parallel=not _nested)

    def _ntd_from_ranges(self, ranges: np.ndarray, cnt: int, m: int, max_support: int | None, parallel: bool = True) -> NtdResult:
        if cnt == 0:
            return NtdResult(prompt_cnt=0, result_by_token_id={}, approx=False)
        ms = max_support if max_support is not None else self.defaults.max_support
        unit = 1
        if ms is not None:
            ms = self._positive(ms, "max_support", ms)
            while cnt > unit * ms:
                unit <<= 1
        w = self.token_width
        cap_tokens = (1 << (8 * w)) + 1

        def one(s: int) -> tuple[np.ndarray, np.ndarray]:
            lo, hi = int(ranges[s, 0]), int(ranges[s, 1])
            if hi <= lo:
                return np.zeros(0, np.int64), np.zeros(0, np.int64)
            sh = self.shards[s]
            if unit == 1:
                size = min(hi - lo, cap_tokens)
                toks = np.empty(size, np.int64)
                cnts = np.empty(size, np.int64)
                nd = self._run(_ntd.ntd_exact, sh.ds, sh.sa, sh.ptr_size, lo, hi, m, w, self.eos_token_id, toks, cnts)
            else:
                size = min(hi - lo, 4 * ms + 64) * 2 + 64  # type: ignore[operator]
                while True:
                    toks = np.empty(size, np.int64)
                    cnts = np.empty(size, np.int64)
                    nd = self._run(_ntd.ntd_sampled, sh.ds, sh.sa, sh.ptr_size, lo, hi, m, w, self.eos_token_id, unit, toks, cnts)
                    if nd >= 0:
                        break
                    size *= 2
            return toks[:nd], cnts[:nd]

        parts = self._map_shards(one, ranges) if parallel else [one(s) for s in range(len(self.shards)) if ranges[s, 1] > ranges[s, 0]]
        return self._ntd_result(parts, unit > 1)

    @staticmethod
    def _ntd_result(parts: list[tuple[np.ndarray, np.ndarray]], approx: bool) -> NtdResult:
        # merge shards (and the two eos sources) in a plain dict, sorted by token id
        merged: dict[int, int] = {}
        for t, c in parts:
            for tok, n in zip(t.tolist(), c.tolist()):
                merged[tok] = merged.get(tok, 0) + n
        total = sum(merged.values())
        dist = {tok: TokenProb(cont_cnt=n, prob=n / total) for tok, n in sorted(merged.items())}
        return NtdResult(prompt_cnt=total, result_by_token_id=dist, approx=approx)

    def _map_shards(self, fn: Any, ranges: np.ndarray) -> list[Any]:
        busy = [s for s in range(len(self.shards)) if ranges[s, 1] > ranges[s, 0]]
        big = sum(int(ranges[s, 1] - ranges[s, 0]) for s in busy) > 100_000
        if len(busy) > 1 and big and self.defaults.threads > 1:
            return list(self._executor().map(fn, busy))
        return [fn(s) for s in busy]

    def ntd_batch(self, prompts: Sequence[Query], max_support: int | None = None) -> list[NtdResult]:
        """``ntd`` of many prompts, on several threads (the kernels release the GIL)."""
        prompts = list(prompts)
        for i, p in enumerate(prompts):  # validate up front, naming the bad item
            self._ids(p, f"prompts[{i}]")
        if len(prompts) < 4 or self.defaults.threads <= 1:
            return [self.ntd(p, max_support) for p in prompts]
        # shards of each prompt run sequentially here: the pool's threads are busy with prompts
        return list(self._executor().map(lambda p: self.ntd(p, max_support, _nested=True), prompts))

    def _longest_suffix(self, p: np.ndarray) -> tuple[int, np.ndarray]:
        out = self._ranges()
        L = self._run(_multi.longest_suffix, self._dss, self._sas, self._ks, self._bytes(p), p.shape[0], self.token_width, out)
        return int(L), out

    def infgram_prob(self, prompt: Query, cont: int | str) -> InfgramProbResult:
        """∞-gram probability: ``prob`` after the longest suffix of ``prompt`` that occurs (``suffix_len`` tokens)."""
        p = self._ids(prompt, "prompt")
        c = self._token(cont)
        L, _ = self._longest_suffix(p)
        pc, cc = self._prob_counts(p[p.shape[0] - L :], c)
        return InfgramProbResult(prompt_cnt=pc, cont_cnt=cc, prob=(cc / pc) if pc else -1.0, suffix_len=L)

    def infgram_ntd(self, prompt: Query, max_support: int | None = None) -> InfgramNtdResult:
        """Next-token distribution after the longest suffix of ``prompt`` that occurs."""
        p = self._ids(prompt, "prompt")
        L, ranges = self._longest_suffix(p)
        cnt = int((ranges[:, 1] - ranges[:, 0]).sum())
        r = self._ntd_from_ranges(ranges, cnt, L * self.token_width, max_support)
        return InfgramNtdResult(prompt_cnt=r.prompt_cnt, result_by_token_id=r.result_by_token_id, approx=r.approx, suffix_len=L)

    # ------------------------------------------------------ whole-text passes
    def score(self, text_or_ids: Query) -> ScoreResult:
        """∞-gram probability of every token given all tokens before it, in one pass, and the perplexity."""
        ids = self._ids(text_or_ids, "text")
        n = ids.shape[0]
        sl, pc, cc = self._score_arrays(ids)
        probs = np.where(pc > 0, cc / np.maximum(pc, 1), -1.0)
        zeros = int(np.count_nonzero(probs <= 0))
        if n == 0:
            ppl = math.nan
        elif zeros:
            ppl = math.inf
        else:
            ppl = float(np.exp(-np.mean(np.log(probs))))
        return ScoreResult(
            token_ids=[int(t) for t in ids],
            probs=[float(x) for x in probs],
            suffix_lens=[int(x) for x in sl],
            prompt_cnts=[int(x) for x in pc],
            cont_cnts=[int(x) for x in cc],
            perplexity=ppl,
            zero_prob_tokens=zeros,
            mean_suffix_len=float(sl.mean()) if n else 0.0,
        )

    def _score_arrays(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per token: ∞-gram suffix length, prompt count and continuation count (see :meth:`score`)."""
        n = ids.shape[0]
        sl = np.zeros(n, np.int64)
        pc = np.zeros(n, np.int64)
        cc = np.zeros(n, np.int64)
        if n:
            self._run(_multi.score_pass, self._dss, self._sas, self._ks, self._bytes(ids), n, self.token_width, sl, pc, cc)
        return sl, pc, cc

    def _longest_prefixes(self, ids: np.ndarray, need_counts: bool = True) -> tuple[np.ndarray, np.ndarray]:
        n = ids.shape[0]
        lens = np.zeros(n, np.int64)
        cnts = np.zeros(n, np.int64)
        if n:
            self._run(_multi.longest_prefixes, self._dss, self._sas, self._ks, self._bytes(ids), n, self.token_width, lens, cnts, need_counts)
        return lens, cnts

    def creativity(self, query: Query) -> CreativityResult:
        """infini-gram's ``creativity``: ``rs[l]`` = end of the longest span starting at ``l`` found in the corpus."""
        ids = self._ids(query)
        lens, _ = self._longest_prefixes(ids, need_counts=False)
        return CreativityResult(rs=[int(l + x) for l, x in enumerate(lens)])

    def longest_matches(self, query: Query) -> LongestMatchesResult:
        """For every start position: the longest span found in the corpus and its count."""
        ids = self._ids(query)
        lens, cnts = self._longest_prefixes(ids)
        return LongestMatchesResult(
            token_ids=[int(t) for t in ids],
            matches=[LongestMatch(start=i, length=int(a), count=int(b)) for i, (a, b) in enumerate(zip(lens, cnts))],
        )

    def attribute(
        self,
        text: Query,
        *,
        delim_ids: Iterable[int] | None = None,
        min_len: int | None = None,
        max_cnt: int | None = None,
        enforce_bow: bool = False,
        bow_ids: Iterable[int] | None = None,
        top_frac: float | None = None,
        max_unigram_logprob: float | None = None,
        max_docs: int = 10,
        context: int = 50,
        documents: bool = True,
    ) -> Any:
        """Maximal spans of ``text`` found verbatim in the corpus, with counts, occurrences and
        documents: infini-gram's ``attribute`` plus OLMoTrace's filters. Returns an
        :class:`~anygram.analyses.attribution.AttributionResult`; the parameters are those of
        :func:`anygram.analyses.attribution.attribute` (docs/attribution.md)."""
        from .analyses.attribution import attribute

        return attribute(
            self, text, delim_ids=delim_ids, min_len=min_len, max_cnt=max_cnt, enforce_bow=enforce_bow, bow_ids=bow_ids,
            top_frac=top_frac, max_unigram_logprob=max_unigram_logprob, max_docs=max_docs, context=context, documents=documents,
        )

    # -------------------------------------------------------------- documents
    def _doc_around(self, s: int, ptr: int, disp_start: int, disp_end: int) -> DocResult:
        """The document of shard ``s`` holding byte offset ``ptr``, shown from ``disp_start`` to ``disp_end``."""
        sh = self.shards[s]
        local = int(np.searchsorted(sh.od, np.uint64(ptr), side="right")) - 1
        if local < 0:
            raise CorruptIndexError(f"shard {sh.name}: no document contains offset {ptr}")
        return self._doc_window(s, local, disp_start, disp_end, ptr)

    def _doc_window(self, s: int, local_ix: int, disp_start: int | None, disp_end: int | None, ptr: int | None) -> DocResult:
        sh = self.shards[s]
        w = self.token_width
        doc_start, doc_end = sh.doc_span(local_ix)  # validated: raises CorruptIndexError
        if ptr is not None and not doc_start - w <= ptr < doc_end:
            raise CorruptIndexError(f"shard {sh.name}: the offset file places position {ptr} in the wrong document (index corrupted)")
        a = doc_start if disp_start is None else max(doc_start, disp_start)
        b = doc_end if disp_end is None else min(doc_end, disp_end)
        b = max(a, b)
        ids = self._tokens(s, a, b)
        needle = 0 if ptr is None else max(0, (ptr - a) // w)
        text = ""
        if self.tokenizer is not None:
            text = self.tokenizer.decode(ids)
        return DocResult(
            doc_ix=int(self._doc_base[s] + local_ix),
            doc_len=(doc_end - doc_start) // w,
            disp_len=(b - a) // w,
            needle_offset=needle,
            metadata=sh.metadata(local_ix),
            token_ids=[int(t) for t in ids],
            text=text,
            shard=s,
            ptr=int(ptr if ptr is not None else doc_start),
        )

    def _tokens(self, s: int, a: int, b: int) -> np.ndarray:
        """Token ids of shard ``s`` between byte offsets ``a`` and ``b``."""
        return np.frombuffer(bytes(self.shards[s].ds[a:b]), dtype=DTYPE_BY_WIDTH[self.token_width])

    def _check_shard(self, s: Any) -> int:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or not 0 <= s < len(self.shards):
            raise QueryError(f"shard must be an integer in [0, {len(self.shards)})")
        return int(s)

    def get_doc_by_ptr(self, shard: int, ptr: int, max_disp_len: int | None = None) -> DocResult:
        """The document containing byte offset ``ptr`` of a shard, ``max_disp_len`` tokens around it."""
        s = self._check_shard(shard)
        sh = self.shards[s]
        mdl = self._positive(max_disp_len, "max_disp_len", self.defaults.max_disp_len, self.defaults.max_disp_len_limit)
        w = self.token_width
        if isinstance(ptr, bool) or not isinstance(ptr, (int, np.integer)) or not 0 <= ptr < sh.ds_size or ptr % w:
            raise QueryError(f"ptr must be a multiple of {w} in [0, {sh.ds_size})")
        ptr = int(ptr)
        before = mdl // 2
        after = (mdl + 1) // 2
        return self._doc_around(s, ptr, ptr - w * before, ptr + w * after)

    def get_doc_by_rank(self, shard: int, rank: int, max_disp_len: int | None = None) -> DocResult:
        """The document around the suffix at ``rank`` of a shard's suffix array."""
        s = self._check_shard(shard)
        sh = self.shards[s]
        if isinstance(rank, bool) or not isinstance(rank, (int, np.integer)) or not 0 <= rank < sh.tok_cnt:
            raise QueryError(f"rank must be an integer in [0, {sh.tok_cnt})")
        return self.get_doc_by_ptr(s, self._occurrence_ptr(s, int(rank), 0), max_disp_len)

    def _occurrence_ptr(self, s: int, rank: int, m: int) -> int:
        """Byte offset where the occurrence at ``rank`` of an ``m``-token pattern's range starts
        (the suffix array's entry; the FM kind needs ``m``)."""
        from .engine._search import read_ptr

        sh = self.shards[s]
        ptr = int(self._run(read_ptr, sh.sa, rank, sh.ptr_size, sh.ds_size))
        if ptr % self.token_width:
            raise CorruptIndexError(f"shard {sh.name}: suffix array pointer {ptr} is not aligned to the token width (index corrupted)")
        return ptr

    def get_doc_by_ix(self, doc_ix: int, max_disp_len: int | None = None) -> DocResult:
        """Document number ``doc_ix`` (over all shards), its first ``max_disp_len`` tokens."""
        if isinstance(doc_ix, bool) or not isinstance(doc_ix, (int, np.integer)) or not 0 <= doc_ix < self.total_docs:
            raise QueryError(f"doc_ix must be an integer in [0, {self.total_docs})")
        mdl = self._positive(max_disp_len, "max_disp_len", self.defaults.max_disp_len, self.defaults.max_disp_len_limit)
        s = int(np.searchsorted(self._doc_base, doc_ix, side="right")) - 1
        local = int(doc_ix - self._doc_base[s])
        sh = self.shards[s]
        start = int(sh.od[local]) + self.token_width
        return self._doc_window(s, local, start, start + mdl * self.token_width, None)

    def search_docs(self, query: Query, maxnum: int | None = None, max_disp_len: int | None = None, seed: int | None = None) -> SearchDocsResult:
        """Up to ``maxnum`` occurrences sampled uniformly (with replacement, as infini-gram), with their documents."""
        n = self._positive(maxnum, "maxnum", self.defaults.maxnum, self.defaults.max_maxnum)
        mdl = self._positive(max_disp_len, "max_disp_len", self.defaults.max_disp_len, self.defaults.max_disp_len_limit)
        fr = self.find(query)
        if fr.cnt == 0:
            return SearchDocsResult(cnt=0, approx=False, idxs=[], documents=[])
        rng = random.Random(seed)
        sizes = [b - a for a, b in fr.segment_by_shard]
        idxs = sorted(rng.randrange(fr.cnt) for _ in range(n))
        docs = []
        base = np.cumsum([0] + sizes)
        for idx in idxs:
            s = int(np.searchsorted(base, idx, side="right")) - 1
            rank = fr.segment_by_shard[s][0] + (idx - int(base[s]))
            docs.append(self.get_doc_by_rank(s, rank, mdl))
        return SearchDocsResult(cnt=fr.cnt, approx=False, idxs=idxs, documents=docs)

    # ------------------------------------------------------------ CNF queries
    def _cnf_terms(self, cnf: Any) -> list[list[np.ndarray]]:
        """Validate a CNF (clauses of terms; a term is text or token ids) and encode its terms."""
        if isinstance(cnf, (str, bytes)) or not isinstance(cnf, (list, tuple)) or not cnf:
            raise QueryError("cnf must be a non-empty list of clauses, each a non-empty list of terms (text or token ids)")
        out: list[list[np.ndarray]] = []
        total = 0
        for c, clause in enumerate(cnf):
            if isinstance(clause, (str, bytes)) or not isinstance(clause, (list, tuple)) or not clause:
                raise QueryError(f"cnf[{c}] must be a non-empty list of terms (text or token ids)")
            total += len(clause)
            if total > self.defaults.max_cnf_terms:
                raise QueryError(f"the cnf has more than {self.defaults.max_cnf_terms} terms (the limit)")
            terms = []
            for t, term in enumerate(clause):
                what = f"cnf[{c}][{t}]"
                if isinstance(term, (int, np.integer)):
                    raise QueryError(f"{what} must be text or a list of token ids, not a single int")
                ids = self._ids(term, what)
                if ids.shape[0] == 0:
                    raise QueryError(f"{what} is empty")
                terms.append(self._bytes(ids))
            out.append(terms)
        return out

    def _cnf(self, cnf: Any, max_clause_freq: int | None, max_diff_tokens: int | None) -> tuple[int, bool, list[np.ndarray]]:
        from .engine import _cnf

        terms = self._cnf_terms(cnf)
        mcf = self._positive(max_clause_freq, "max_clause_freq", self.defaults.max_clause_freq)
        mdt = self._positive(max_diff_tokens, "max_diff_tokens", self.defaults.max_diff_tokens)
        nsh = len(self.shards)
        w = self.token_width
        # distances never exceed a shard's size: clamping keeps the kernel's arithmetic in int64
        mdt = min(mdt, max(s.ds_size for s in self.shards) // w + 1)
        # segs[c][t]: (nsh, 2) rank ranges of term t of clause c
        segs: list[list[np.ndarray]] = []
        for clause in terms:
            segs.append([self._term_ranges(qb) for qb in clause])
        term_lens = [[qb.shape[0] // w for qb in clause] for clause in terms]
        cnts = np.array([[sum(int(r[s, 1] - r[s, 0]) for r in rows) for s in range(nsh)] for rows in segs], dtype=np.int64).reshape(len(segs), nsh)
        if (cnts.sum(axis=1) == 0).any():
            return 0, False, []
        per_shard = -(-mcf // nsh)
        # subsample, as infini-gram: a fresh mt19937(19260817) per clause and shard
        sub: list[list[list[tuple[int, int]]]] = []  # sub[c][s] = term ranges
        factors = np.ones((len(segs), nsh))
        for c, rows in enumerate(segs):
            by_shard = []
            for s in range(nsh):
                ranges = [(int(r[s, 0]), int(r[s, 1])) for r in rows]
                if cnts[c, s] > per_shard:
                    gen = _cnf.MT19937(_cnf.INFINIGRAM_SUBSAMPLE_SEED)
                    ranges, factors[c, s] = _cnf.subsample_clause(ranges, per_shard, lambda hi, g=gen: _cnf.uniform_u64(g, 0, hi))
                by_shard.append([(a, b, tl) for (a, b), tl in zip(ranges, term_lens[c])])
            sub.append(by_shard)

        def one(s: int) -> tuple[np.ndarray, float]:
            order = np.argsort(cnts[:, s], kind="stable")
            flat = [rg for c in order for rg in sub[c][s]]
            seg_arr = np.array([(a, b) for a, b, _ in flat], dtype=np.int64).reshape(-1, 2)
            lens = np.array([tl for _, _, tl in flat], dtype=np.int64)
            offs = np.zeros(len(order) + 1, dtype=np.int64)
            np.cumsum([len(sub[c][s]) for c in order], out=offs[1:])
            f = 1.0
            for c in order:
                f *= float(factors[c, s])
            ls = self._cnf_shard(s, seg_arr, lens, offs, mdt)
            return ls, f

        work = sum(b - a for c in range(len(sub)) for s in range(nsh) for a, b, _ in sub[c][s])
        if nsh > 1 and work > 100_000 and self.defaults.threads > 1:
            parts = list(self._executor().map(one, range(nsh)))
        else:
            parts = [one(s) for s in range(nsh)]
        cnt = sum(int(ls.shape[0] * f) for ls, f in parts)
        approx = any(f != 1.0 for _, f in parts)
        return cnt, approx, [ls for ls, _ in parts]

    def _term_ranges(self, qb: np.ndarray) -> np.ndarray:
        out = self._ranges()
        self._run(_multi.find_all, self._dss, self._sas, self._ks, qb, 0, qb.shape[0], out)
        return out

    def _cnf_shard(self, s: int, segs: np.ndarray, lens: np.ndarray, offs: np.ndarray, mdt: int) -> np.ndarray:
        """Byte offsets of the CNF windows in shard ``s`` (see :func:`anygram.engine._cnf.cnf_shard`)."""
        from .engine import _cnf

        sh = self.shards[s]
        ls, _ = self._run(_cnf.cnf_shard, sh.ds, sh.sa, sh.ptr_size, self.token_width, mdt, segs, offs)
        return ls

    def find_cnf(self, cnf: Sequence[Sequence[Query]], max_clause_freq: int | None = None, max_diff_tokens: int | None = None) -> FindCnfResult:
        """Occurrences of a CNF — an AND of clauses, each an OR of terms (text or token ids) — as infini-gram.

        An occurrence is a window containing an occurrence of a term of every clause, each within
        ``max_diff_tokens`` tokens of the window built so far, not crossing a document boundary;
        ``ptrs_by_shard[s]`` holds the byte offset of each window's start in shard ``s`` (use
        :meth:`get_doc_by_ptr`). A clause with more than ``ceil(max_clause_freq / num_shards)``
        occurrences in a shard is subsampled (deterministically, drawing what infini-gram's
        generator draws); the count is then scaled by ``floor(cnt / sampled_cnt)`` and ``approx``
        is true, unless that factor is 1 (infini-gram's integer division). If some clause never occurs, the
        result is ``cnt=0`` with ``ptrs_by_shard=[]``. See :mod:`anygram.engine._cnf` for the
        exact procedure.
        """
        cnt, approx, ptrs = self._cnf(cnf, max_clause_freq, max_diff_tokens)
        return FindCnfResult(cnt=cnt, approx=approx, ptrs_by_shard=[[int(p) for p in ls] for ls in ptrs])

    def count_cnf(self, cnf: Sequence[Sequence[Query]], max_clause_freq: int | None = None, max_diff_tokens: int | None = None) -> CountResult:
        """Number of occurrences of a CNF query (see :meth:`find_cnf`); ``approx`` when clauses were subsampled."""
        cnt, approx, _ = self._cnf(cnf, max_clause_freq, max_diff_tokens)
        return CountResult(count=cnt, approx=approx)

    def search_docs_cnf(
        self,
        cnf: Sequence[Sequence[Query]],
        maxnum: int | None = None,
        max_disp_len: int | None = None,
        max_clause_freq: int | None = None,
        max_diff_tokens: int | None = None,
        seed: int | None = None,
    ) -> SearchDocsResult:
        """``maxnum`` occurrences of a CNF query sampled uniformly with replacement, with their documents.

        As infini-gram: a sample is one of all matching windows (of :meth:`find_cnf`), its
        document shown ``max_disp_len`` tokens around the window's start; ``idxs[i]`` is
        ``int(percentile * cnt)`` where ``percentile`` is the window's position among all windows
        (shard by shard) divided by their number. ``seed`` makes the sample reproducible.
        """
        n = self._positive(maxnum, "maxnum", self.defaults.maxnum, self.defaults.max_maxnum)
        mdl = self._positive(max_disp_len, "max_disp_len", self.defaults.max_disp_len, self.defaults.max_disp_len_limit)
        cnt, approx, ptrs = self._cnf(cnf, max_clause_freq, max_diff_tokens)
        total = sum(int(p.shape[0]) for p in ptrs)
        if cnt == 0 or total == 0:
            return SearchDocsResult(cnt=0, approx=False, idxs=[], documents=[])
        base = np.cumsum([0] + [int(p.shape[0]) for p in ptrs])
        rng = np.random.default_rng(seed)
        idxs, docs = [], []
        for j in rng.integers(0, total, size=n):
            s = int(np.searchsorted(base, j, side="right")) - 1
            idxs.append(int(float(j) / total * cnt))
            docs.append(self.get_doc_by_ptr(s, int(ptrs[s][int(j - base[s])]), mdl))
        return SearchDocsResult(cnt=cnt, approx=approx, idxs=idxs, documents=docs)
