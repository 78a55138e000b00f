"""Exact-substring deduplication (ExactSubstr, Lee et al. 2022) over an anygram index.

``dedup(out, index=..., corpus=...)`` finds every substring of at least ``k`` tokens that occurs
more than once in the corpus (in any shard, inside one document) and writes a copy of the corpus
without them, in the input's own format, with a report.

How (all exact, no hashing; see docs/dedup.md):

1. **Flags.** The shards' suffix arrays are merged on the fly by their first ``k`` tokens (a
   k-way merge; the shards' own orders are kept, so nothing is sorted again). Equal keys of ``k``
   tokens are then adjacent: each run is one duplicated k-gram with all its occurrences in every
   shard. Its first occurrence (lowest shard, then lowest offset = document order) is flagged
   FIRST and the others LATER, one byte per token position in a memory-mapped file. The merge
   is split into independent chunks at key boundaries (binary search in every shard), run on
   ``workers`` threads; chunks done are recorded, so an interrupted run resumes.
2. **Sweep.** One sequential pass per shard turns the flags into removed token runs: with
   ``mode="first"`` a token is removed when a LATER window ``[i, i+k)`` covers it and no FIRST
   window does (the first copy of every duplicated string stays whole); with ``mode="all"`` every
   covered token is removed.
3. **Output.** Documents are streamed in order (from the corpus files, or rebuilt from the index)
   and written with their runs cut out, one output file per input file, atomically. Documents
   that lost text and are left with fewer than ``min_length`` tokens are dropped.

Windows never contain a document separator, so no span crosses a document boundary. Byte-level
indexes cut at UTF-8 character boundaries: a run's ends are moved *inwards* to the nearest
character boundary, so only whole characters that lie entirely in a duplicated span are removed
and the output is always valid UTF-8. Pre-tokenized (``ids``) indexes cut token lists exactly.
Indexes of a Hugging Face tokenizer are refused (token spans do not map back to text exactly).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DedupError, require
from ..format.manifest import write_json_atomic
from ..results import _Result
from . import _dedup_kernels as K_
from ._dedup_writers import FileWriter, output_kind

log = logging.getLogger("anygram.dedup")

MODES = ("first", "all")
STATE_NAME = "state.json"
STATE_VERSION = 1
#: tokens per merge chunk (the unit of work of a thread and of resuming)
CHUNK_TOKENS = 4 << 20
#: most frequent k-grams remembered per chunk (candidates for the report's top strings)
TOP_PER_CHUNK = 32
#: the state (and the flags) are saved at most this often while merging, in seconds
SAVE_EVERY = 120.0
#: characters of a top duplicated string shown in the report
SHOW_CHARS = 300
#: the duplicated span around a top string is followed at most this many tokens each way
SPAN_LIMIT = 1 << 14


@dataclass(frozen=True)
class DuplicateString(_Result):
    """A duplicated k-gram: its occurrences, its text, and the duplicated span around its first copy."""

    count: int
    text: str
    doc_ix: int
    span_tokens: int
    span_text: str
    ids: list[int] | None = None


@dataclass(frozen=True)
class DedupResult(_Result):
    """What ``dedup`` did: counts, the top duplicated strings, the span-length histogram, files."""

    index: str | None  # None: built in OUT/.work for this run and deleted
    output: str
    k: int
    mode: str
    min_length: int
    docs_in: int
    docs_out: int
    docs_touched: int
    docs_dropped: int
    docs_not_indexed: int
    bytes_in: int
    bytes_out: int
    bytes_removed: int
    tokens_in: int
    tokens_removed: int
    spans_removed: int
    duplicated_kgrams: int
    duplicated_windows: int
    top: list[DuplicateString] = field(default_factory=list)
    histogram: dict[str, list[int]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    report_path: str = ""
    plot_path: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    peak_rss_bytes: int = 0
    resumed: bool = False


# ====================================================================== public entry point
def dedup(
    out: str | os.PathLike[str],
    *,
    index: str | os.PathLike[str] | None = None,
    corpus: str | os.PathLike[str] | list[str | os.PathLike[str]] | None = None,
    k: int = 50,
    mode: str = "first",
    min_length: int = 1,
    top: int = 20,
    plot: bool = True,
    workers: int | None = None,
    max_memory: int | str | None = None,
    text_field: str = "text",
    keep_index: bool = False,
    overwrite: bool = False,
    progress: bool = False,
) -> DedupResult:
    """Remove every repeated substring of ``k`` or more tokens; write the corpus copy to ``out/corpus``.

    Give an existing ``index`` (its documents are rebuilt from the index, their metadata from
    the index's metadata), a ``corpus`` (files/folders; indexed first into ``out/.work/index``,
    or into ``index`` when that path does not exist yet), or both (the corpus files are read and
    written back in their own formats, aligned with the index's documents). ``mode="first"``
    keeps the first occurrence of every duplicated string, ``"all"`` removes every occurrence.
    Documents that lost text and keep fewer than ``min_length`` tokens are dropped.

    Writes ``out/corpus/…``, ``out/report.json`` and (``plot``, with matplotlib: the ``reports``
    extra) ``out/spans.png``. An interrupted run resumes when called again with the same
    arguments. Raises :class:`~anygram.errors.DedupError` (bad parameters, an index that does not
    match the corpus, an output that exists) and the errors of building / opening an index.
    """
    from ..builder.resources import PeakRSS

    t0 = time.perf_counter()
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 1 << 20:
        raise DedupError(f"k must be an integer in 1..{1 << 20}, not {k!r}")
    if mode not in MODES:
        raise DedupError(f"mode must be 'first' or 'all', not {mode!r}")
    if isinstance(min_length, bool) or not isinstance(min_length, int) or min_length < 0:
        raise DedupError(f"min_length must be a non-negative integer, not {min_length!r}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise DedupError(f"workers must be a positive integer, not {workers!r}")
    if index is None and corpus is None:
        raise DedupError("give an index, a corpus, or both")
    nworkers = workers or max(1, os.cpu_count() or 1)
    out = Path(out)
    work = out / ".work"
    corpus_paths = None if corpus is None else ([corpus] if isinstance(corpus, (str, os.PathLike)) else list(corpus))
    _prepare_out(out, work, overwrite)

    seconds: dict[str, float] = {}
    with PeakRSS() as rss:
        # ------------------------------------------------------------ the index
        idx_path = Path(index) if index is not None else work / "index"
        built_here = index is None
        if not (idx_path / "manifest.json").is_file() and not (idx_path / "table.0").is_file():
            if corpus_paths is None:
                raise DedupError(f"{idx_path}: no index there (give a corpus to build it)")
            from ..builder.pipeline import build

            tb = time.perf_counter()
            build(corpus_paths, idx_path, workers=nworkers, max_memory=max_memory, text_field=text_field, progress=progress)
            seconds["build"] = time.perf_counter() - tb
        from ..index import open as open_index

        idx = open_index(idx_path, verify="sizes")
        if idx.kind != "sa":
            raise DedupError(
                f"{idx_path}: dedup scans suffix arrays and this index is of kind {idx.kind!r}: "
                "give the corpus without --index (a suffix-array index is built) or an index built with --kind sa"
            )
        spec = idx._o.tokenizer_spec
        kind = spec.get("kind")
        if kind not in ("bytes", "ids"):
            raise DedupError(
                f"{idx_path}: dedup needs a byte-level or pre-tokenized (ids) index, not a {kind!r} one "
                "(token spans of a subword tokenizer do not map back to text exactly)"
            )
        build_params = dict(idx._o.build.get("params", {}))
        params = {
            "version": STATE_VERSION,
            "index": str(idx_path.resolve()),
            "tokens": idx.total_tokens,
            "docs": idx.total_docs,
            "fingerprint": build_params.get("fingerprint"),
            "k": k,
        }
        state = _load_state(work, params)
        resumed = state is not None
        if state is None:
            state = {"params": params, "chunks_done": [], "sweep": None, "output": None}
            work.mkdir(parents=True, exist_ok=True)
            _save(work, state)

        run = _Run(idx, work, k, nworkers, progress, state)
        tm = time.perf_counter()
        run.flag()
        seconds["flags"] = time.perf_counter() - tm
        ts = time.perf_counter()
        intervals = run.sweep(mode)
        seconds["sweep"] = time.perf_counter() - ts
        to = time.perf_counter()
        ids_field = build_params.get("ids_field") if kind == "ids" else None
        tf = build_params.get("text_field", text_field) or text_field
        counters, files = run.write(
            out / "corpus", intervals, mode, min_length, corpus_paths, tf, ids_field,
            tuple(build_params.get("include", ())), tuple(build_params.get("exclude", ())),
        )
        seconds["output"] = time.perf_counter() - to
        tr = time.perf_counter()
        top_strings = run.top_strings(top)
        lengths = np.concatenate([iv[:, 1] - iv[:, 0] for iv in intervals]) if intervals else np.zeros(0, np.int64)
        hist = _histogram(lengths)
        plot_path = _plot(hist, out / "spans.png", k, mode) if plot else None
        seconds["report"] = time.perf_counter() - tr
        peak = rss.peak
    stats = run.stats_total()
    if built_here:  # an index built in OUT/.work goes with it, unless kept as OUT/index
        final_index = str(out / "index") if keep_index else None
    else:
        final_index = str(idx_path)
    result = DedupResult(
        index=final_index,
        output=str(out / "corpus"),
        k=k,
        mode=mode,
        min_length=min_length,
        **counters,
        tokens_removed=int(lengths.sum()),
        spans_removed=int(lengths.shape[0]),
        duplicated_kgrams=int(stats[0]),
        duplicated_windows=int(stats[1]),
        top=top_strings,
        histogram=hist,
        files=files,
        report_path=str(out / "report.json"),
        plot_path=plot_path,
        seconds={**seconds, "total": time.perf_counter() - t0},
        peak_rss_bytes=peak,
        resumed=resumed,
    )
    write_json_atomic(out / "report.json", result.to_dict())
    run.close()
    if built_here and keep_index:
        os.replace(idx_path, out / "index")
    shutil.rmtree(work, ignore_errors=True)
    return result


# ====================================================================== the work
class _Run:
    def __init__(self, idx: Any, work: Path, k: int, workers: int, progress: bool, state: dict[str, Any]) -> None:
        self.idx = idx
        self.work = work
        self.k = k
        self.workers = workers
        self.progress = progress
        self.state = state
        self.w = idx.token_width
        sh = idx.shards
        self.ks = np.array([s.ptr_size for s in sh], dtype=np.int64)
        self.ns = [s.tok_cnt for s in sh]
        self._maps = [self._flags_file(i, n) for i, n in enumerate(self.ns)]
        # numba typed lists: one compiled kernel whatever the number of shards (a tuple would
        # compile a new specialisation per shard count)
        for s in sh:
            # the index is opened for random access (no readahead); here the suffix arrays are
            # read in long sequential runs (one per shard and chunk) and every token is touched:
            # let the kernel read ahead, and read the token files in early
            _advise(s.sa, "MADV_NORMAL")
            _advise(s.ds, "MADV_WILLNEED")
        self._ds = [s.ds for s in sh]  # the same arrays, for Python-side access
        self._sa = [s.sa for s in sh]
        self.dss = _shard_list([s.ds for s in sh])
        self.sas = _shard_list([s.sa for s in sh])
        self.flags = _shard_list([np.asarray(f) for f in self._maps])
        self.doc_base = np.cumsum([0] + [s.doc_cnt for s in sh]).astype(np.int64)

    def _flags_file(self, i: int, n: int) -> np.ndarray:
        if n == 0:
            return np.zeros(0, dtype=np.uint8)
        path = self.work / f"flags.{i}"
        if not path.exists():
            with open(path, "wb") as f:
                f.truncate(n)
        return np.memmap(path, dtype=np.uint8, mode="r+", shape=(n,))

    def close(self) -> None:
        self.flags = self.dss = self.sas = ()
        self._maps = []

    # ------------------------------------------------------------------ 1. flags
    def _bounds(self) -> np.ndarray:
        """Chunk boundaries: rank ``bounds[c, s]`` starts chunk ``c`` in shard ``s`` (whole k-gram groups per chunk)."""
        S = len(self.ns)
        total = sum(self.ns)
        C = max(1, min(4096, -(-total // CHUNK_TOKENS), total))
        big = int(np.argmax(self.ns)) if S else 0
        nb = self.ns[big]
        bounds = np.zeros((C + 1, S), dtype=np.int64)
        bounds[C] = self.ns
        from ..engine._search import read_ptr

        for c in range(1, C):
            rank = nb * c // C
            pq = read_ptr(self._sa[big], rank, int(self.ks[big]), self._ds[big].shape[0])
            for s in range(S):
                lo = int(bounds[c - 1, s])
                bounds[c, s] = K_.lower_bound(self._ds[s], self._sa[s], int(self.ks[s]), self._ds[big], pq, self.w, self.k, lo, self.ns[s])
        return bounds

    def flag(self) -> None:
        C_path = self.work / "bounds.npy"
        if C_path.exists():
            bounds = np.load(C_path)
        else:
            bounds = self._bounds()
            _save_npy(C_path, bounds)
        C = bounds.shape[0] - 1
        tops = self.work / "top.npz"
        if tops.exists() and self.state["chunks_done"]:
            z = np.load(tops)
            self.top_cnt, self.top_sh, self.top_pos, self.stats = z["cnt"], z["sh"], z["pos"], z["stats"]
        else:
            self.top_cnt = np.zeros((C, TOP_PER_CHUNK), dtype=np.int64)
            self.top_sh = np.zeros((C, TOP_PER_CHUNK), dtype=np.int64)
            self.top_pos = np.zeros((C, TOP_PER_CHUNK), dtype=np.int64)
            self.stats = np.zeros((C, 2), dtype=np.int64)
        done = set(self.state["chunks_done"])
        todo = [c for c in range(C) if c not in done]
        if not todo:
            return
        bar = _bar(len(todo), "dedup: finding duplicates", "chunk", self.progress)

        def one(c: int) -> int:
            # a chunk may have run (partly) before an interruption: its row starts again from zero
            self.top_cnt[c] = 0
            self.stats[c] = 0
            K_.merge_range(
                self.dss, self.sas, self.ks, bounds[c], bounds[c + 1], self.w, self.k, self.flags,
                self.top_cnt[c], self.top_sh[c], self.top_pos[c], self.stats[c],
            )
            return c

        last = time.monotonic()
        try:
            with ThreadPoolExecutor(max_workers=self.workers) as pool:
                for c in pool.map(one, todo):
                    done.add(c)
                    bar.update(1)
                    if time.monotonic() - last > SAVE_EVERY:
                        self._checkpoint(done)
                        last = time.monotonic()
        finally:
            bar.close()
        self._checkpoint(done)

    def _checkpoint(self, done: set[int]) -> None:
        for f in self._maps:
            if isinstance(f, np.memmap):
                f.flush()
        tmp = self.work / "top.tmp.npz"
        with open(tmp, "wb") as fh:
            np.savez(fh, cnt=self.top_cnt, sh=self.top_sh, pos=self.top_pos, stats=self.stats)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.work / "top.npz")
        self.state["chunks_done"] = sorted(done)
        _save(self.work, self.state)

    def stats_total(self) -> np.ndarray:
        return self.stats.sum(axis=0) if self.stats.size else np.zeros(2, np.int64)

    # ------------------------------------------------------------------ 2. sweep
    def sweep(self, mode: str) -> list[np.ndarray]:
        out = []
        redo = self.state.get("sweep") != mode
        for s, fl in enumerate(self.flags):
            path = self.work / f"removed.{s}.npy"
            if not redo and path.exists():
                out.append(np.load(path))
                continue
            empty = np.zeros((0, 2), dtype=np.int64)
            m = K_.sweep(fl, self.k, mode == "all", empty, False)
            iv = np.zeros((m, 2), dtype=np.int64)
            K_.sweep(fl, self.k, mode == "all", iv, True)
            _save_npy(path, iv)
            out.append(iv)
        if redo:
            self.state["sweep"] = mode
            self.state["output"] = None
            _save(self.work, self.state)
        return out

    # ------------------------------------------------------------------ 3. output
    def _index_docs(self, start: int) -> Iterator[tuple[int, int, int, int]]:
        """``(global doc, shard, first token, end token)`` of every indexed document from ``start``."""
        for s, sh in enumerate(self.idx.shards):
            base = int(self.doc_base[s])
            if start >= base + sh.doc_cnt:
                continue
            for d in range(max(0, start - base), sh.doc_cnt):
                a, b = sh.doc_span(d)
                yield base + d, s, a // self.w, b // self.w

    def write(
        self, dest: Path, intervals: list[np.ndarray], mode: str, min_length: int, corpus: list[Any] | None,
        text_field: str, ids_field: str | None, include: tuple[str, ...], exclude: tuple[str, ...],
    ) -> tuple[dict[str, int], list[str]]:
        params = {"mode": mode, "min_length": min_length, "corpus": [str(Path(p).resolve()) for p in corpus] if corpus else None,
                  "text_field": text_field}
        st = self.state.get("output")
        if not st or st.get("params") != params:
            st = {"params": params, "next_file": 0, "next_doc": 0, "files": [], "counters": dict.fromkeys(_COUNTERS, 0), "done": False}
            if dest.exists():
                shutil.rmtree(dest)
        if st["done"]:
            return st["counters"], st["files"]
        dest.mkdir(parents=True, exist_ok=True)
        self.text_field = text_field
        cut = _Cutter(self, intervals, ids_field)
        cnt = st["counters"]
        total = self.idx.total_docs
        bar = _bar(total, "dedup: writing", "doc", self.progress)
        bar.update(st["next_doc"])
        written = set(st["files"])

        def commit(writer: FileWriter, file_no: int, next_doc: int) -> None:
            writer.commit()
            st["files"].append(writer.rel)
            written.add(writer.rel)
            st["next_file"] = file_no + 1
            st["next_doc"] = next_doc
            self.state["output"] = st
            _save(self.work, self.state)

        try:
            if corpus is None:
                self._write_from_index(dest, st, cut, cnt, min_length, text_field, ids_field, written, commit, bar)
            else:
                self._write_from_corpus(dest, st, cut, cnt, min_length, corpus, text_field, ids_field, include, exclude, written, commit, bar)
        finally:
            bar.close()
        st["done"] = True
        self.state["output"] = st
        _save(self.work, self.state)
        return cnt, st["files"]

    def _record(self, kept: Any, meta: dict[str, Any], text_field: str, ids_field: str | None) -> dict[str, Any]:
        if ids_field is not None:
            return {ids_field: kept, **meta}
        return {text_field: kept, **meta}

    def _write_from_index(self, dest, st, cut, cnt, min_length, text_field, ids_field, written, commit, bar) -> None:
        writer: FileWriter | None = None
        file_no = st["next_file"] - 1
        for g, s, a, b in self._index_docs(st["next_doc"]):
            meta = self.idx.shards[s].metadata(g - int(self.doc_base[s]))
            rel = str(meta.get("path", "")) or "corpus.jsonl"
            if writer is None or writer.rel != rel:
                if writer is not None:
                    commit(writer, file_no, g)
                file_no += 1
                writer = self._open_writer(dest, rel, written, ids_field, None)
            kept, keep = cut.doc(s, a, b, min_length, cnt)
            if keep:
                md = meta.get("metadata", {})
                writer.add(kept if writer.kind == "text" else self._record(kept, md if isinstance(md, dict) else {"metadata": md}, text_field, ids_field))
            bar.update(1)
        if writer is not None:
            commit(writer, file_no, self.idx.total_docs)

    def _write_from_corpus(self, dest, st, cut, cnt, min_length, corpus, text_field, ids_field, include, exclude, written, commit, bar) -> None:
        from ..readers import SkipReport, iter_documents
        from ..readers.dispatch import list_inputs

        files = list_inputs(corpus, include, exclude, skip_dirs=(dest.parent,))
        docs = self._index_docs(st["next_doc"])
        pending = next(docs, None)
        next_doc = st["next_doc"]
        for file_no in range(st["next_file"], len(files)):
            f, root = files[file_no]
            rel = f.relative_to(root).as_posix()
            writer = self._open_writer(dest, rel, written, ids_field, f)
            for doc in iter_documents(files=[(f, root)], text_field=text_field, ids_field=ids_field, report=SkipReport(), skip_empty=False):
                meta = None
                if pending is not None:
                    g, s, a, b = pending
                    meta = self.idx.shards[s].metadata(g - int(self.doc_base[s]))
                if meta is None or meta.get("path") != doc.path or meta.get("linenum") != doc.linenum:
                    cnt["docs_not_indexed"] += 1  # skipped by the builder (empty, bad, too large): kept as it is
                    writer.add(doc.text if writer.kind == "text" else self._record(doc.ids if ids_field else doc.text, doc.metadata, text_field, ids_field))
                    continue
                cut.check(s, a, b, doc, g)
                kept, keep = cut.doc(s, a, b, min_length, cnt)
                if keep:
                    writer.add(kept if writer.kind == "text" else self._record(kept, doc.metadata, text_field, ids_field))
                next_doc = g + 1
                pending = next(docs, None)
                bar.update(1)
            commit(writer, file_no, next_doc)
        if pending is not None:
            raise DedupError(f"the index has documents that are not in the corpus (document {pending[0]} and later): was it built from these files?")

    def _open_writer(self, dest: Path, rel: str, written: set[str], ids_field: str | None, source: Path | None) -> FileWriter:
        if rel in written or ".." in Path(rel).parts or Path(rel).is_absolute():
            raise DedupError(f"two inputs would be written to the same output file {rel!r} (or an unsafe path)")
        kind = output_kind(rel, source, self.text_field, ids_field)
        schema = None
        if kind == "parquet" and source is not None:
            pq = require("pyarrow.parquet", "parquet", f"Writing {rel}")
            schema = pq.read_schema(source)
        return FileWriter(dest / rel, rel, kind, schema)

    # ------------------------------------------------------------------ report
    def top_strings(self, n: int) -> list[DuplicateString]:
        if n <= 0 or not self.top_cnt.size:
            return []
        cnt = self.top_cnt.ravel()
        order = np.argsort(-cnt, kind="stable")
        out: list[DuplicateString] = []
        seen: set[tuple[int, int]] = set()
        w = self.w
        for j in order:
            if cnt[j] < 2 or len(out) >= n:
                break
            s = int(self.top_sh.ravel()[j])
            p = int(self.top_pos.ravel()[j])
            a, b = K_.covered_span(np.asarray(self._maps[s]), p // w, self.k, SPAN_LIMIT)
            if (s, int(a)) in seen:
                continue
            seen.add((s, int(a)))
            sh = self.idx.shards[s]
            local = int(np.searchsorted(sh.od, p, side="right")) - 1
            win = bytes(self._ds[s][p : p + self.k * w])
            span = bytes(self._ds[s][int(a) * w : min(int(b), int(a) + SHOW_CHARS) * w])
            if w == 1 and self.idx._o.tokenizer_spec.get("kind") == "bytes":
                out.append(DuplicateString(int(cnt[j]), win.decode("utf-8", "replace"), int(self.doc_base[s]) + local, int(b - a), span.decode("utf-8", "replace")))
            else:
                dt = np.dtype(f"<u{w}")
                out.append(DuplicateString(int(cnt[j]), "", int(self.doc_base[s]) + local, int(b - a), "", np.frombuffer(win, dt).tolist()))
        return out


_COUNTERS = ("docs_in", "docs_out", "docs_touched", "docs_dropped", "docs_not_indexed", "bytes_in", "bytes_out", "bytes_removed", "tokens_in")


class _Cutter:
    """Cuts the removed runs out of one document's tokens (UTF-8 safe for byte-level indexes)."""

    def __init__(self, run: _Run, intervals: list[np.ndarray], ids_field: str | None) -> None:
        self.run = run
        self.iv = intervals
        self.ids = ids_field is not None
        self.dtype = np.dtype(f"<u{run.w}")

    def check(self, s: int, a: int, b: int, doc: Any, g: int) -> None:
        raw = self.run._ds[s][a * self.run.w : b * self.run.w]
        if self.ids:
            same = doc.ids is not None and np.array_equal(raw.view(self.dtype), np.asarray(doc.ids))
        else:
            same = raw.tobytes() == doc.text.encode("utf-8")
        if not same:
            raise DedupError(f"{doc.where}: the document differs from document {g} of the index: was the index built from these files?")

    def doc(self, s: int, a: int, b: int, min_length: int, cnt: dict[str, int]) -> tuple[Any, bool]:
        """``(kept text or ids, keep the document?)``; updates the counters."""
        w = self.run.w
        iv = self.iv[s]
        lo = int(np.searchsorted(iv[:, 0], a, side="left")) if iv.shape[0] else 0
        hi = int(np.searchsorted(iv[:, 0], b, side="left")) if iv.shape[0] else 0
        raw = self.run._ds[s][a * w : b * w]
        cnt["docs_in"] += 1
        cnt["tokens_in"] += b - a
        cnt["bytes_in"] += raw.shape[0]
        if self.ids:
            toks = raw.view(self.dtype)
            if lo == hi:
                kept_arr = toks
            else:
                keep = np.ones(b - a, dtype=bool)
                for x, y in iv[lo:hi]:
                    keep[x - a : y - a] = False
                kept_arr = toks[keep]
            n_kept = int(kept_arr.shape[0])
            kept: Any = kept_arr.tolist()
            nbytes = n_kept * w
        else:
            data = raw.tobytes()
            if lo == hi:
                kept_b = data
            else:
                pieces = []
                pos = 0
                for x, y in iv[lo:hi]:
                    x0 = _char_start(data, int(x - a))
                    y0 = _char_floor(data, int(y - a))
                    if y0 <= x0:
                        continue
                    pieces.append(data[pos:x0])
                    pos = y0
                pieces.append(data[pos:])
                kept_b = b"".join(pieces)
            n_kept = len(kept_b)
            nbytes = n_kept
            kept = kept_b.decode("utf-8")
        if nbytes != raw.shape[0]:
            cnt["docs_touched"] += 1
            cnt["bytes_removed"] += raw.shape[0] - nbytes
            if n_kept < min_length:
                cnt["docs_dropped"] += 1
                return kept, False
        cnt["docs_out"] += 1
        cnt["bytes_out"] += nbytes
        return kept, True


def _char_start(data: bytes, i: int) -> int:
    """The first UTF-8 character boundary at or after ``i``."""
    n = len(data)
    while i < n and (data[i] & 0xC0) == 0x80:
        i += 1
    return i


def _char_floor(data: bytes, i: int) -> int:
    """The last UTF-8 character boundary at or before ``i``."""
    while 0 < i < len(data) and (data[i] & 0xC0) == 0x80:
        i -= 1
    return i


# ====================================================================== helpers
def _advise(arr: np.ndarray, advice: str) -> None:
    """``madvise`` the memory map behind ``arr`` (no-op where unsupported)."""
    import mmap

    base = arr.base
    mm = getattr(base, "obj", base)
    flag = getattr(mmap, advice, None)
    if isinstance(mm, mmap.mmap) and flag is not None:
        try:
            mm.madvise(flag)
        except OSError:  # pragma: no cover - platform dependent
            pass


def _shard_list(arrays: list[np.ndarray]) -> Any:
    """Per-shard arrays as a numba typed list (a tuple when the kernels run without numba)."""
    from ..engine._jit import jit_enabled

    if not jit_enabled():
        return tuple(arrays)
    from numba.typed import List

    out = List()
    for a in arrays:
        out.append(a)
    return out


def _prepare_out(out: Path, work: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise DedupError(f"{out} exists and is not a directory")
    if work.is_dir():
        return  # resume (an interrupted index build, or the dedup itself)
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise DedupError(f"{out} exists and is not empty (use overwrite=True / --overwrite)")
        shutil.rmtree(out)


def _load_state(work: Path, params: dict[str, Any]) -> dict[str, Any] | None:
    path = work / STATE_NAME
    if not path.is_file():
        return None
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        state = None
    if not isinstance(state, dict) or state.get("params") != params:
        log.warning("%s: state of another run (other index or k): starting over", path)
        for f in work.iterdir():
            if f.name != "index" and f.name != "index.partial":
                f.unlink() if f.is_file() else shutil.rmtree(f)
        return None
    log.info("resuming %s", work)
    return state


def _save(work: Path, state: dict[str, Any]) -> None:
    write_json_atomic(work / STATE_NAME, state)


def _save_npy(path: Path, arr: np.ndarray) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        np.save(fh, arr)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _histogram(lengths: np.ndarray) -> dict[str, list[int]]:
    """Counts of removed-span lengths in power-of-two bins: ``[edges[i], edges[i+1])`` tokens."""
    if lengths.shape[0] == 0:
        return {"edges": [], "counts": []}
    top = int(lengths.max())
    nb = max(1, top.bit_length())
    edges = [1 << i for i in range(nb + 1)]
    counts = np.bincount(np.floor(np.log2(np.maximum(lengths, 1))).astype(np.int64), minlength=nb)[:nb]
    return {"edges": edges, "counts": [int(c) for c in counts]}


def _plot(hist: dict[str, list[int]], path: Path, k: int, mode: str) -> str | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log.warning("no histogram plot: pip install 'anygram[reports]' (matplotlib)")
        return None
    fig, ax = plt.subplots(figsize=(7, 4))
    edges, counts = hist["edges"], hist["counts"]
    if counts:
        ax.bar(range(len(counts)), counts, color="#4a7ab5")
        ax.set_xticks(range(len(counts)))
        ax.set_xticklabels([f"{e}–{edges[i + 1] - 1}" if edges[i + 1] - 1 > e else str(e) for i, e in enumerate(edges[:-1])], rotation=45, ha="right", fontsize=8)
        ax.set_yscale("log")
    ax.set_xlabel("removed span length (tokens)")
    ax.set_ylabel("spans")
    ax.set_title(f"anygram dedup: spans removed (k={k}, mode={mode})")
    fig.tight_layout()
    tmp = path.with_name(path.name + ".tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, path)
    return str(path)


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _bar(total: int, desc: str, unit: str, enabled: bool) -> Any:
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, dynamic_ncols=True, leave=False)


__all__ = ["DedupResult", "DuplicateString", "dedup"]
