"""Benchmark contamination: which items of a benchmark occur (in part) verbatim in a corpus.

Three criteria, reported side by side (each with its parameters recorded in the report):

``windows`` (infini-gram-mini style)
    the fraction of an item's overlapping windows of ``window`` characters (tokens on a
    tokenizer index) that occur in the corpus; *dirty* at ≥ ``dirty`` (0.8), *suspicious* at
    ≥ ``suspicious`` (0.2), else *clean*; items shorter than one window are *too_short*.
``ngrams`` (PaLM style)
    the fraction of the item's ``ngram``-grams (8) that occur. On a tokenizer index a token is an
    index token; on a byte-level index a token is a whitespace-separated word and an n-gram is
    the item's own text from the start of its first word to the end of its last (the whitespace
    in between as in the item). *dirty* at ≥ ``ngram_dirty`` (0.7), else *clean*.
``longest``
    the longest span of the item found verbatim, in tokens and characters, with its count, and up
    to ``docs`` documents holding it (metadata and ``context`` tokens around it).

Speed: one kernel pass per item (``engine._multi.longest_prefixes``) gives, for every start
position i, the length ``L(i)`` of the longest span starting at i that occurs; a window or
n-gram ``[i, j)`` occurs iff ``L(i) >= j - i`` (a prefix of an occurring string occurs). All
criteria are then numpy arithmetic on that array; items run on several threads (the kernel
releases the GIL). Occurrence is substring occurrence in a document: a match never spans a
document boundary, and it need not start or end on a word boundary.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import QueryError
from .benchmarks import BenchItem, Benchmark, items_from_texts, load_benchmark
from .contamination_results import (
    BenchmarkContamination,
    ClassRates,
    ContamDoc,
    ContaminationReport,
    FractionScore,
    ItemContamination,
    LongestSpan,
    LongestStats,
)

if TYPE_CHECKING:  # pragma: no cover
    from ..index import Index

log = logging.getLogger(__name__)

CRITERIA = ("windows", "ngrams", "longest")
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class ContamParams:
    """Parameters of the criteria (recorded in every report)."""

    criteria: tuple[str, ...] = CRITERIA
    #: windows: length (characters on a byte-level index, tokens otherwise) and thresholds
    window: int = 50
    dirty: float = 0.8
    suspicious: float = 0.2
    #: ngrams: n and the dirty threshold (PaLM: 8-grams, 70%)
    ngram: int = 8
    ngram_dirty: float = 0.7
    #: longest: documents shown per item (0: none) and tokens of context around the span
    docs: int = 3
    context: int = 200
    #: documents are looked up only when the longest span has at least this many units
    #: (None: one window)
    docs_min_len: int | None = None

    def __post_init__(self) -> None:
        crit = tuple(self.criteria)
        bad = [c for c in crit if c not in CRITERIA]
        if bad or not crit:
            raise QueryError(f"criteria must be a non-empty subset of {', '.join(CRITERIA)}, not {', '.join(bad) or 'nothing'}")
        object.__setattr__(self, "criteria", tuple(c for c in CRITERIA if c in crit))
        for name in ("window", "ngram", "context"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                raise QueryError(f"{name} must be a positive integer, not {v!r}")
        v = self.docs
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise QueryError(f"docs must be a non-negative integer, not {v!r}")
        for name in ("dirty", "suspicious", "ngram_dirty"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= v <= 1.0:
                raise QueryError(f"{name} must be a number in [0, 1], not {v!r}")
        if self.suspicious > self.dirty:
            raise QueryError(f"suspicious ({self.suspicious}) must not exceed dirty ({self.dirty})")

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"criteria": list(self.criteria)}
        if "windows" in self.criteria:
            out["windows"] = {"window": self.window, "unit": "chars on a byte-level index, tokens otherwise", "dirty": self.dirty, "suspicious": self.suspicious}
        if "ngrams" in self.criteria:
            out["ngrams"] = {"n": self.ngram, "token": "index token; whitespace-separated word on a byte-level index", "dirty": self.ngram_dirty}
        if "longest" in self.criteria:
            out["longest"] = {"docs": self.docs, "context_tokens": self.context, "docs_min_len": self.docs_min_len or self.window}
        return out


def _label(score: float | None, dirty: float, suspicious: float | None) -> str:
    if score is None:
        return "too_short"
    if score >= dirty:
        return "dirty"
    if suspicious is not None and score >= suspicious:
        return "suspicious"
    return "clean"


def _fraction(found: np.ndarray, dirty: float, suspicious: float | None) -> FractionScore:
    total = int(found.shape[0])
    if total == 0:
        return FractionScore(total=0, found=0, score=None, label="too_short")
    f = int(np.count_nonzero(found))
    score = f / total
    return FractionScore(total=total, found=f, score=score, label=_label(score, dirty, suspicious))


def _merge(starts: np.ndarray, length_ends: np.ndarray) -> list[tuple[int, int]]:
    """Union of intervals [starts[k], ends[k]) given in increasing start order."""
    out: list[tuple[int, int]] = []
    for a, b in zip(starts.tolist(), length_ends.tolist()):
        if out and a <= out[-1][1]:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def _is_bytes_index(index: Index) -> bool:
    tok = index.tokenizer
    if tok is None or index.token_width != 1:
        return False
    try:
        return tok.spec().get("kind") == "bytes"
    except Exception:  # noqa: BLE001 - a foreign tokenizer object without spec()
        return False


def _window_found(lens: np.ndarray, bo: np.ndarray, w: int) -> np.ndarray:
    """Window k (characters [k, k+w), bytes [bo[k], bo[k+w])) occurs iff L(bo[k]) >= its byte length."""
    nw = max(0, bo.shape[0] - 1 - w + 1)
    if not nw:
        return np.zeros(0, bool)
    bs = bo[:nw]
    return lens[bs] >= bo[w : w + nw] - bs


class _Scorer:
    """Scores items against one index (thread-safe: no mutable state after construction)."""

    def __init__(self, index: Index, params: ContamParams) -> None:
        self.index = index
        self.p = params
        self.bytes_level = _is_bytes_index(index)

    # --------------------------------------------------------------- kernel
    def _lens(self, ids: np.ndarray) -> np.ndarray:
        lp = getattr(self.index, "_longest_prefixes", None)
        if lp is not None:
            lens, _ = lp(ids, need_counts=False)
            return lens
        # another index kind: the public one-pass API
        res = self.index.longest_matches(ids)
        return np.array([m.length for m in res.matches], dtype=np.int64)

    def _present(self, ids: np.ndarray, lens: np.ndarray | None, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Whether each span ``ids[starts[j]:ends[j]]`` occurs: from the longest-match array when
        it was computed (span [i, j) occurs iff L(i) >= j - i), else with one kernel call."""
        if starts.shape[0] == 0:
            return np.zeros(0, bool)
        if lens is not None:
            return lens[starts] >= ends - starts
        idx = self.index
        if idx.kind != "sa":  # another index kind: the public one-pass API
            return self._lens(ids)[starts] >= ends - starts
        from ..engine._contam import spans_present

        out = np.zeros(starts.shape[0], dtype=np.bool_)
        q = ids.view(np.uint8)
        w = idx.token_width
        idx._run(spans_present, idx._dss, idx._sas, idx._ks, q, starts * w, ends * w, out)
        return out

    def _count(self, ids: np.ndarray) -> tuple[int, Any]:
        fr = self.index.find(ids)
        return fr.cnt, fr

    def window_verdicts(self, text: str) -> np.ndarray:
        """Whether each window of ``text`` occurs (window k = characters ``[k, k+window)``; byte-level index)."""
        if not self.bytes_level:
            raise QueryError("window_verdicts needs a byte-level index")
        ids = np.frombuffer(text.encode("utf-8", errors="surrogatepass"), dtype=np.uint8)
        lens = self._lens(ids) if ids.shape[0] else np.zeros(0, np.int64)
        bo = np.append(np.flatnonzero((ids & 0xC0) != 0x80), ids.shape[0]).astype(np.int64)
        return _window_found(lens, bo, self.p.window)

    # ---------------------------------------------------------------- items
    def score(self, item: BenchItem | tuple[str, Any]) -> ItemContamination:
        item_id, text = (item.id, item.text) if isinstance(item, BenchItem) else (str(item[0]), item[1])
        if isinstance(text, str):
            if self.bytes_level:
                return self._score_chars(item_id, text)
            ids = self.index._ids(text, f"item {item_id}") if text else np.zeros(0, self.index._dtype)
            return self._score_tokens(item_id, ids, text)
        if isinstance(text, (list, tuple, np.ndarray)):
            ids = self.index._ids(list(text) if not isinstance(text, np.ndarray) else text, f"item {item_id}")
            return self._score_tokens(item_id, ids, None)
        raise QueryError(f"item {item_id}: text must be a string or a list of token ids, not {type(text).__name__}")

    def _score_chars(self, item_id: str, text: str) -> ItemContamination:
        p = self.p
        raw = text.encode("utf-8", errors="surrogatepass")
        ids = np.frombuffer(raw, dtype=np.uint8)
        nb = ids.shape[0]
        if nb > self.index.defaults.max_query_tokens:
            raise QueryError(f"item {item_id} has {nb} bytes; the limit is {self.index.defaults.max_query_tokens}")
        # the longest-match pass is needed for the longest span; windows and n-grams alone are
        # decided by spans_present (at most one existence search per span, usually fewer)
        lens = (self._lens(ids) if nb else np.zeros(0, np.int64)) if "longest" in p.criteria else None
        # byte offset of every character, and the end
        starts = np.flatnonzero((ids & 0xC0) != 0x80).astype(np.int64)
        bo = np.append(starts, nb)
        nchar = starts.shape[0]
        windows = ngrams = longest = None
        spans: list[tuple[int, int]] = []
        w = p.window
        if "windows" in p.criteria:
            nw = max(0, nchar - w + 1)
            found = self._present(ids, lens, bo[:nw], bo[w : w + nw])
            windows = _fraction(found, p.dirty, p.suspicious)
            hit = np.flatnonzero(found)
            spans = _merge(hit, hit + w)
        if "ngrams" in p.criteria:
            words = [(m.start(), m.end()) for m in _WORD.finditer(text)]
            m = max(0, len(words) - p.ngram + 1)
            if m:
                ws = bo[np.array([a for a, _ in words[:m]], dtype=np.int64)]
                we = bo[np.array([b for _, b in words[p.ngram - 1 :]], dtype=np.int64)]
                found = self._present(ids, lens, ws, we)
            else:
                found = np.zeros(0, bool)
            ngrams = _fraction(found, p.ngram_dirty, None)
        docs: list[ContamDoc] = []
        if lens is not None:
            if nchar:
                reach = starts + lens[starts]
                ends = np.searchsorted(bo, reach, side="right") - 1
                lc = ends - np.arange(nchar)
                c = int(np.argmax(lc))
                L = int(lc[c])
            else:
                c, L = 0, 0
            if L > 0:
                a, b = int(bo[c]), int(bo[c + L])
                span_ids = ids[a:b]
                cnt, fr = self._count(span_ids)
                longest = LongestSpan(tokens=b - a, chars=L, count=int(cnt), start=c, end=c + L, text=text[c : c + L])
                if p.docs and L >= (p.docs_min_len or w):
                    docs = self._docs(fr, span_ids)
            else:
                longest = LongestSpan(tokens=0, chars=0, count=0, start=0, end=0, text="")
        return ItemContamination(id=item_id, unit="chars", length=nchar, tokens=int(nb), windows=windows, ngrams=ngrams, longest=longest, spans=spans, docs=docs)

    def _score_tokens(self, item_id: str, ids: np.ndarray, text: str | None) -> ItemContamination:
        p = self.p
        n = int(ids.shape[0])
        lens = (self._lens(ids) if n else np.zeros(0, np.int64)) if "longest" in p.criteria else None
        windows = ngrams = longest = None
        spans: list[tuple[int, int]] = []
        if "windows" in p.criteria:
            nw = max(0, n - p.window + 1)
            st = np.arange(nw, dtype=np.int64)
            found = self._present(ids, lens, st, st + p.window)
            windows = _fraction(found, p.dirty, p.suspicious)
            hit = np.flatnonzero(found)
            spans = _merge(hit, hit + p.window)
        if "ngrams" in p.criteria:
            m = max(0, n - p.ngram + 1)
            st = np.arange(m, dtype=np.int64)
            ngrams = _fraction(self._present(ids, lens, st, st + p.ngram), p.ngram_dirty, None)
        docs: list[ContamDoc] = []
        if lens is not None:
            i = int(np.argmax(lens)) if n else 0
            L = int(lens[i]) if n else 0
            if L > 0:
                span_ids = ids[i : i + L]
                cnt, fr = self._count(span_ids)
                stext = self.index.decode(span_ids.tolist()) if self.index.tokenizer is not None else " ".join(map(str, span_ids.tolist()))
                chars = len(stext) if self.index.tokenizer is not None else L
                longest = LongestSpan(tokens=L, chars=chars, count=int(cnt), start=i, end=i + L, text=stext)
                if p.docs and L >= (p.docs_min_len or p.window):
                    docs = self._docs(fr, span_ids)
            else:
                longest = LongestSpan(tokens=0, chars=0, count=0, start=0, end=0, text="")
        length = n
        return ItemContamination(id=item_id, unit="tokens", length=length, tokens=n, windows=windows, ngrams=ngrams, longest=longest, spans=spans, docs=docs)

    def _docs(self, fr: Any, span_ids: np.ndarray) -> list[ContamDoc]:
        """Up to ``docs`` distinct documents holding the span: the first occurrences in suffix-array order, shard by shard."""
        out: list[ContamDoc] = []
        seen: set[int] = set()
        idx = self.index
        w = idx.token_width
        for s, (lo, hi) in enumerate(fr.segment_by_shard):
            rank = lo
            while rank < hi and len(out) < self.p.docs and rank < lo + 8 * self.p.docs:
                # a symmetric window of 2L + context tokens around the start holds the span and context/2 after it
                ptr = idx._occurrence_ptr(s, rank, int(span_ids.shape[0]))
                d = idx.get_doc_by_ptr(s, ptr, max_disp_len=self.p.context + 2 * int(span_ids.shape[0]))
                rank += 1
                if d.doc_ix in seen:
                    continue
                seen.add(d.doc_ix)
                out.append(self._doc(d, span_ids, w))
            if len(out) >= self.p.docs:
                break
        return out

    def _doc(self, d: Any, span_ids: np.ndarray, w: int) -> ContamDoc:
        # context/2 tokens before the span, the span, context/2 tokens after it
        half = self.p.context // 2
        before = d.token_ids[max(0, d.needle_offset - half) : d.needle_offset]
        after = d.token_ids[d.needle_offset : d.needle_offset + int(span_ids.shape[0]) + half]
        if self.index.tokenizer is None:
            pre = " ".join(map(str, before))
            ctx = " ".join(map(str, before + after))
            return ContamDoc(doc_ix=d.doc_ix, shard=d.shard, ptr=d.ptr, metadata=d.metadata, context=ctx, match_start=len(pre) + (1 if pre else 0), match_len=len(" ".join(map(str, span_ids.tolist()))))
        pre = self.index.decode(before)
        span = self.index.decode(after[: span_ids.shape[0]])
        ctx = pre + self.index.decode(after)
        return ContamDoc(doc_ix=d.doc_ix, shard=d.shard, ptr=d.ptr, metadata=d.metadata, context=ctx, match_start=len(pre), match_len=len(span))


def _rates(scores: list[FractionScore]) -> ClassRates:
    counts = {k: 0 for k in ("dirty", "suspicious", "clean", "too_short")}
    vals = []
    for s in scores:
        counts[s.label] += 1
        if s.score is not None:
            vals.append(s.score)
    n = len(scores)
    rates = {k: (v / n if n else 0.0) for k, v in counts.items()}
    return ClassRates(counts=counts, rates=rates, mean_score=(float(np.mean(vals)) if vals else None))


def score_items(
    index: Index,
    items: Sequence[BenchItem | tuple[str, Any] | str] | Benchmark,
    params: ContamParams | None = None,
    *,
    benchmark: str = "items",
    index_name: str = "index",
    threads: int | None = None,
    progress: Callable[[int], None] | None = None,
    **kwargs: Any,
) -> BenchmarkContamination:
    """Score items against one index: the Index-level building block of :func:`contamination`.

    ``items``: a :class:`Benchmark`, texts, ``(id, text)`` pairs or :class:`BenchItem`; a text may
    also be a list of token ids (then windows and n-grams count tokens). ``kwargs`` are
    :class:`ContamParams` fields when ``params`` is not given. ``progress(n)`` is called as items
    finish.
    """
    p = params or ContamParams(**kwargs)
    skipped = 0
    if isinstance(items, Benchmark):
        benchmark = items.name if benchmark == "items" else benchmark
        skipped = items.skipped
        seq: list[Any] = list(items.items)
    else:
        seq = [BenchItem(id=str(i), text=t) if isinstance(t, str) else t for i, t in enumerate(items)]
    scorer = _Scorer(index, p)
    t0 = time.perf_counter()
    nthreads = max(1, threads or index.defaults.threads)
    results: list[ItemContamination]
    if nthreads == 1 or len(seq) < 4:
        results = []
        for it in seq:
            results.append(scorer.score(it))
            if progress:
                progress(1)
    else:
        # contiguous chunks, one per task: few tasks, each item one kernel call without the GIL
        chunk = max(1, min(64, len(seq) // (nthreads * 4) or 1))
        parts = [seq[i : i + chunk] for i in range(0, len(seq), chunk)]

        def run(part: list[Any]) -> list[ItemContamination]:
            out = [scorer.score(it) for it in part]
            if progress:
                progress(len(part))
            return out

        with ThreadPoolExecutor(max_workers=nthreads, thread_name_prefix="anygram-contam") as ex:
            results = [r for part in ex.map(run, parts) for r in part]
    secs = time.perf_counter() - t0
    longest = None
    if "longest" in p.criteria:
        lt = [r.longest.tokens for r in results if r.longest]
        lc = [r.longest.chars for r in results if r.longest]
        longest = LongestStats(
            mean_tokens=float(np.mean(lt)) if lt else 0.0, max_tokens=int(max(lt, default=0)),
            mean_chars=float(np.mean(lc)) if lc else 0.0, max_chars=int(max(lc, default=0)),
        )
    return BenchmarkContamination(
        benchmark=benchmark,
        index=index_name,
        items=len(results),
        skipped=skipped,
        seconds=secs,
        windows=_rates([r.windows for r in results if r.windows is not None]) if "windows" in p.criteria else None,
        ngrams=_rates([r.ngrams for r in results if r.ngrams is not None]) if "ngrams" in p.criteria else None,
        longest=longest,
        item_results=results,
    )


IndexSpec = Any  # an Index, a path, or a list of paths queried together
BenchSpec = Any  # a Benchmark, a path, or a list of texts / (id, text) pairs


def _named(spec: Any, kind: str) -> list[tuple[str, Any]]:
    if isinstance(spec, Mapping):
        return [(str(k), v) for k, v in spec.items()]
    if isinstance(spec, (str, os.PathLike)) or not isinstance(spec, Sequence) or (kind == "benchmark" and isinstance(spec, Benchmark)):
        spec = [spec]
    out = []
    for i, s in enumerate(spec):
        if isinstance(s, Benchmark):
            out.append((s.name, s))
        elif isinstance(s, (str, os.PathLike)):
            name = os.fspath(s).rstrip("/")
            out.append((name if kind == "benchmark" else (os.path.basename(name) or name), s))
        else:
            out.append((f"{kind}{i}", s))
    return out


def contamination(
    indexes: IndexSpec | Sequence[IndexSpec] | Mapping[str, IndexSpec],
    benchmarks: BenchSpec | Sequence[BenchSpec] | Mapping[str, BenchSpec],
    fields: Sequence[str] | None = None,
    criteria: Sequence[str] | str = CRITERIA,
    *,
    window: int = 50,
    dirty: float = 0.8,
    suspicious: float = 0.2,
    ngram: int = 8,
    ngram_dirty: float = 0.7,
    docs: int = 3,
    context: int = 200,
    docs_min_len: int | None = None,
    joiner: str | None = None,
    limit: int | None = None,
    threads: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> ContaminationReport:
    """Contamination of benchmarks in corpora: every benchmark against every index.

    ``indexes``: an :class:`~anygram.Index`, an index path, a list of them, or a dict
    ``name -> Index/path`` (a list of paths inside the dict is queried together as one corpus).
    ``benchmarks``: paths of benchmark files or folders (see :func:`load_benchmark`),
    :class:`Benchmark` objects, or a dict ``name -> path / list of texts or (id, text) pairs``.
    ``fields`` (with ``joiner``) select the text of each record (default: the recognised
    layout); ``criteria`` is a subset of ``("windows", "ngrams", "longest")`` (a comma-separated
    string works too). Thresholds and sizes are described in :class:`ContamParams`.
    """
    from ..index import Index
    from ..index import open as open_index

    if isinstance(criteria, str):
        criteria = [c.strip() for c in criteria.split(",") if c.strip()]
    crit = tuple("ngrams" if c == "ngram" else c for c in criteria)
    params = ContamParams(criteria=crit, window=window, dirty=dirty, suspicious=suspicious, ngram=ngram, ngram_dirty=ngram_dirty, docs=docs, context=context, docs_min_len=docs_min_len)
    benches: list[Benchmark] = []
    for name, b in _named(benchmarks, "benchmark"):
        if isinstance(b, Benchmark):
            benches.append(b)
        elif isinstance(b, (str, os.PathLike)):
            bm = load_benchmark(b, fields, joiner=joiner, limit=limit)
            if isinstance(benchmarks, Mapping):
                bm.name = name
            benches.append(bm)
        else:
            benches.append(items_from_texts(name, list(b)[:limit] if limit else b))
    names = [b.name for b in benches]
    if len(set(names)) != len(names):
        raise QueryError(f"two benchmarks have the same name ({', '.join(names)}): name them with a dict")
    opened: list[Index] = []
    idx_list: list[tuple[str, Index, str]] = []
    try:
        for name, spec in _named(indexes, "index"):
            if isinstance(spec, Index) or not isinstance(spec, (str, os.PathLike, list, tuple)):
                idx_list.append((name, spec, ", ".join(map(str, getattr(getattr(spec, "_o", None), "paths", []) or []))))
            else:
                ix = open_index(spec)
                opened.append(ix)
                idx_list.append((name, ix, os.fspath(spec) if isinstance(spec, (str, os.PathLike)) else ", ".join(map(os.fspath, spec))))
        inames = [n for n, _, _ in idx_list]
        if len(set(inames)) != len(inames):
            raise QueryError(f"two indexes have the same name ({', '.join(inames)}): name them with a dict")
        results = []
        for bm in benches:
            for iname, ix, _ in idx_list:
                log.info("contamination: %s x %s (%d items)", bm.name, iname, len(bm.items))
                results.append(score_items(ix, bm, params, benchmark=bm.name, index_name=iname, threads=threads, progress=progress))
        idx_desc = [
            {"name": n, "path": path, "total_tokens": int(ix.total_tokens), "total_docs": int(ix.total_docs), "unit": "chars" if _is_bytes_index(ix) else "tokens"}
            for n, ix, path in idx_list
        ]
        return ContaminationReport(params=params.describe(), indexes=idx_desc, benchmarks=[b.describe() for b in benches], results=results)
    finally:
        for ix in opened:
            ix.close()


__all__ = ["CRITERIA", "ContamParams", "contamination", "score_items"]
