"""``anygram.build``: corpus -> sharded suffix-array index, atomically and resumably.

Steps:
1. Documents are streamed from the readers, tokenized in batches and appended to the current
   shard (:class:`ShardWriter`). A shard is closed when the next document would take it past its
   byte budget (``shard_tokens``, or planned by :func:`plan_shard_bytes` from ``max_memory``,
   the number of workers and the size of the corpus).
2. Each closed shard's suffix array is built in a worker process while the main process
   tokenizes the next shard (``workers=1``, or a corpus that fits one shard: in the main
   process, with no process start-up cost). ``workers`` counts every process of the build: the
   main process reads and tokenizes, ``workers - 1`` processes sort, so the cores are not
   oversubscribed and at most ``workers - 1`` suffix arrays are in memory at once.
3. The manifest is written last; the work directory ``OUT.partial`` is fsynced and renamed to
   ``OUT``. An interrupted build (crash, Ctrl-C, a bad record with ``on_error="fail"``, a killed
   worker) leaves ``OUT.partial`` with a ``build_state.json``: every closed shard, every finished
   suffix array and the skip counts of the documents already indexed. Running the same build
   again resumes after the last closed shard and builds only the missing suffix arrays; the
   result is the same as an uninterrupted build's.

Documents larger than a shard's budget get a shard of their own, as long as one shard that size
can be sorted within ``max_memory`` (and below 2 GiB, libdivsufsort's 32-bit limit); larger ones
are skipped and reported ("document too large").
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..config import FM_FORMAT_VERSION, MANIFEST_NAME, BuildConfig
from ..errors import BuildError, CorpusError, QueryError, TokenizerError
from ..format.manifest import FileEntry, Manifest, ShardEntry, sha256_file, write_json_atomic
from ..readers import SkipReport, estimate_bytes, iter_documents
from ..readers.dispatch import list_inputs
from ..results import BuildSummary
from ..tokenizers import (
    DTYPE_BY_WIDTH,
    ByteTokenizer,
    HFTokenizer,
    IdsTokenizer,
    Tokenizer,
    check_token_ids,
    load_tokenizer,
)
from .resources import (
    BUILD_BYTES_PER_BYTE,
    WORKER_BASE_BYTES,
    PeakRSS,
    default_max_memory,
    parse_size,
)
from .shard_writer import ShardWriter
from .suffix_array import INT32_LIMIT, build_table

log = logging.getLogger("anygram.build")

STATE_NAME = "build_state.json"
STATE_VERSION = 2
#: documents tokenized per batch (HF tokenizers encode a batch in parallel)
BATCH_DOCS = 512
BATCH_BYTES = 8 << 20
#: a shard smaller than this cannot be planned (max_memory is then too small)
MIN_SHARD_BYTES = 64 << 10
#: corpora above this are split in at least ``workers`` shards so every worker gets work
SPLIT_ABOVE_BYTES = 64 << 20
#: the corpus-size estimate is inflated by this much when split across workers, so that
#: separators and estimation error do not spill a tiny extra shard
SPLIT_SLACK = 1.1


def memory_cap(max_memory: int, workers: int, token_width: int) -> int:
    """Largest shard (bytes of tokens) one of ``workers`` processes can sort within ``max_memory``."""
    per_worker = max_memory // max(1, workers) - WORKER_BASE_BYTES
    cap = int(per_worker / BUILD_BYTES_PER_BYTE)
    cap = min(cap, INT32_LIMIT)
    return max(0, cap - cap % token_width)


def plan_shard_bytes(estimate: int, max_memory: int, workers: int, token_width: int) -> int:
    """Token bytes per shard: what one worker's share of memory can sort, split across workers.

    ``estimate`` is the expected size of the token data. Corpora above 64 MiB are cut into at
    least ``workers`` shards (sized with 10% slack so the estimate's error and the document
    separators do not leave a tiny extra shard), each of at least 1 MiB.
    """
    cap = memory_cap(max_memory, workers, token_width)
    if cap < MIN_SHARD_BYTES and cap < estimate * SPLIT_SLACK:
        need = workers * (WORKER_BASE_BYTES + int(BUILD_BYTES_PER_BYTE * MIN_SHARD_BYTES))
        raise BuildError(
            f"max_memory={max_memory} bytes is too little for {workers} worker(s): each needs "
            f"~{WORKER_BASE_BYTES >> 20} MiB plus {BUILD_BYTES_PER_BYTE} bytes per byte of shard; "
            f"give at least {-(-need // (1 << 20))} MiB or fewer workers"
        )
    if estimate > SPLIT_ABOVE_BYTES and workers > 1:
        share = int(-(-estimate * SPLIT_SLACK // workers))
        cap = min(cap, max(share, 1 << 20))
    return max(cap - cap % token_width, token_width)


def estimate_token_bytes(text_bytes: int, tok: Tokenizer, ids_input: bool) -> int:
    """Expected bytes of token data for ``text_bytes`` bytes of input files.

    Byte-level: one token per byte. Subword tokenizers: ~4 bytes of text per token (English BPE;
    fewer for code or other scripts, which only makes shards smaller than planned). Pre-tokenized
    JSON: ~4 characters per id (digits, comma, space).
    """
    if isinstance(tok, ByteTokenizer) and not ids_input:
        return text_bytes
    return text_bytes // 4 * tok.token_width


def build(
    inputs: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    output: str | os.PathLike[str],
    *,
    tokenizer: str | os.PathLike[str] | Tokenizer | None = None,
    eos_token_id: int | None = None,
    max_memory: int | str | None = None,
    workers: int | None = None,
    shard_tokens: int | None = None,
    text_field: str = "text",
    ids_field: str | None = None,
    token_width: int | None = None,
    on_error: str = "skip",
    include: Iterable[str] = (),
    exclude: Iterable[str] = (),
    overwrite: bool = False,
    progress: bool = False,
    kind: str = "sa",
    sa_sample: int | None = None,
    isa_sample: int | None = None,
    rank: str | None = None,
    rank_params: dict[str, Any] | None = None,
) -> BuildSummary:
    """Index a corpus (folders, .txt/.md/…, JSONL(.gz/.zst), JSON, parquet) into ``output``.

    ``max_memory`` (bytes or "8G"; default 60% of the available RAM) bounds the memory of all
    suffix-array builds together; ``workers`` (default: number of cores) processes work on the
    build: the main one reads and tokenizes, the others sort shards in parallel;
    ``shard_tokens`` forces a shard size. ``on_error="fail"`` stops at the first bad
    record instead of skipping and counting it. Rerunning an interrupted build resumes it.

    ``kind="fm"`` builds a compact FM-index instead of suffix arrays (see ``docs/fm.md``):
    ``sa_sample`` / ``isa_sample`` (default 64 / 128) are its sampling rates, ``rank`` the rank
    structure (module ``anygram.fm.rank_<name>``) and ``rank_params`` its parameters.

    Returns a :class:`~anygram.results.BuildSummary`. Raises :class:`~anygram.errors.BuildError`
    (output exists, not enough memory, a worker died), :class:`~anygram.errors.CorpusError`
    (unreadable input, or any bad record when ``on_error="fail"``),
    :class:`~anygram.errors.TokenizerError` or :class:`~anygram.errors.MissingExtraError`.
    """
    t0 = time.perf_counter()
    paths = [inputs] if isinstance(inputs, (str, os.PathLike)) else list(inputs)
    if not paths:
        raise BuildError("no inputs given")
    out = Path(output)
    if on_error not in ("skip", "fail"):
        raise BuildError(f"on_error must be 'skip' or 'fail', not {on_error!r}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise BuildError(f"workers must be a positive integer, not {workers!r}")
    if shard_tokens is not None and (isinstance(shard_tokens, bool) or not isinstance(shard_tokens, int) or shard_tokens < 1):
        raise BuildError(f"shard_tokens must be a positive integer, not {shard_tokens!r}")
    if token_width is not None and token_width not in (1, 2, 4):
        raise BuildError(f"token_width must be 1, 2 or 4, not {token_width!r}")
    fm_params = _fm_params(kind, sa_sample, isa_sample, rank, rank_params)
    mem = parse_size(max_memory) if max_memory is not None else default_max_memory()
    nworkers = workers or max(1, os.cpu_count() or 1)
    cfg = BuildConfig(
        max_memory=mem,
        workers=nworkers,
        shard_tokens=shard_tokens,
        text_field=text_field,
        on_error=on_error,
        include=tuple(include),
        exclude=tuple(exclude),
        progress=progress,
    )
    _check_output(out, overwrite)

    if tokenizer is not None and not isinstance(tokenizer, (str, os.PathLike)):
        tok: Tokenizer = tokenizer
    elif ids_field is not None and tokenizer is None:
        tok = IdsTokenizer(token_width or 2, eos_token_id)
    else:
        tok = load_tokenizer(tokenizer, eos_token_id)
    width = tok.token_width
    if width not in DTYPE_BY_WIDTH:
        raise TokenizerError(f"tokenizer token_width {width!r} is not 1, 2 or 4")
    if token_width is not None and token_width != width and not isinstance(tok, IdsTokenizer):
        raise BuildError(f"token_width={token_width} does not match the tokenizer's ({width})")

    work = out.with_name(out.name + ".partial")
    files = list_inputs(paths, cfg.include, cfg.exclude, skip_dirs=(out, work))
    estimate = estimate_bytes(files=files)
    cap = memory_cap(mem, nworkers, width)
    if shard_tokens is not None:
        shard_bytes = shard_tokens * width
        if shard_bytes > cap:
            log.warning("shard_tokens=%d needs more memory than max_memory allows per worker: shards of %d bytes", shard_tokens, cap)
            shard_bytes = cap
        if shard_bytes < width:
            raise BuildError(f"max_memory={mem} bytes is too little to sort any shard with {nworkers} worker(s)")
    else:
        shard_bytes = plan_shard_bytes(estimate_token_bytes(estimate, tok, ids_field is not None), mem, nworkers, width)
    params = {
        "inputs": [str(Path(p).resolve()) for p in paths],
        "fingerprint": _fingerprint(files),
        "tokenizer": tok.spec(),
        "token_width": width,
        "eos_token_id": tok.eos_token_id,
        "shard_tokens": shard_tokens,
        "text_field": cfg.text_field,
        "ids_field": ids_field,
        "include": list(cfg.include),
        "exclude": list(cfg.exclude),
        "kind": kind,
        "fm": fm_params,
        # on_error is not a parameter of the result: a build stopped by a bad record under
        # on_error="fail" can be resumed with on_error="skip"
    }
    state = _load_state(work, params)
    if state is None:
        if work.exists():
            shutil.rmtree(work)
        work.mkdir(parents=True)
        state = {"version": STATE_VERSION, "params": params, "shard_bytes": shard_bytes, "shards": [], "docs_consumed": 0, "skips": {}, "tables": {}}
        _save_state(work, state)
    elif state["shard_bytes"] <= max(cap, shard_bytes):
        shard_bytes = state["shard_bytes"]  # same plan as the interrupted run
    else:
        log.warning("less memory than the interrupted build had: the remaining shards get %d bytes", shard_bytes)
    resumed = len(state["shards"])
    if resumed:
        log.info("resuming %s: %d shards already written", work, resumed)
    if isinstance(tok, HFTokenizer):
        tok.copy_into(work)

    report = SkipReport(on_error=cfg.on_error)
    report.restore(state["skips"])
    ctx = _Context(
        tok=tok, width=width, cfg=cfg, files=files, ids_field=ids_field, work=work, state=state,
        shard_bytes=shard_bytes, hard_cap=max(cap, shard_bytes), report=report, estimate=estimate,
        pool=_Pool(nworkers, fresh=fm_params is not None),
    )

    with PeakRSS() as rss:
        try:
            for sh in state["shards"]:
                if str(sh["n"]) not in state["tables"]:
                    ctx.submit(sh["n"], last=False)
            _tokenize_all(ctx)
            bar = _bar(len(ctx.futures), "suffix arrays", "shard", cfg.progress)
            try:
                while ctx.futures:
                    bar.update(ctx.collect(wait=True, first_only=True))
            finally:
                bar.close()
        except BaseException:
            ctx.pool.shutdown(cancel=True)
            ctx.keep_finished()  # bad input or a crash never loses the suffix arrays already built
            raise
        ctx.pool.shutdown(cancel=False)
        peak_children = max((t.get("peak_rss", 0) for t in state["tables"].values()), default=0)

    if fm_params is not None:
        # the FM files replace the token files, which are needed no more
        for sh in state["shards"]:
            (work / sh["files"]["tokenized"]["name"]).unlink(missing_ok=True)
    manifest = _manifest(state, tok, width, cfg, shard_bytes, time.perf_counter() - t0, rss.peak, work, report.counts, fm_params)
    write_json_atomic(work / MANIFEST_NAME, manifest.to_json())
    (work / STATE_NAME).unlink(missing_ok=True)
    _fsync_dir(work)
    if out.exists():
        trash = out.with_name(out.name + ".old")
        if trash.exists():
            shutil.rmtree(trash)
        os.replace(out, trash)
        os.replace(work, out)
        shutil.rmtree(trash)
    else:
        os.replace(work, out)
    _fsync_dir(out.parent if str(out.parent) else Path("."))

    index_bytes = sum(f.stat().st_size for f in out.iterdir() if f.is_file())
    tokens = manifest.total_tokens
    summary = BuildSummary(
        path=str(out),
        shards=len(manifest.shards),
        tokens=tokens,
        docs=manifest.total_docs,
        text_bytes=sum(s["text_bytes"] for s in state["shards"]),
        index_bytes=index_bytes,
        bytes_per_token=index_bytes / tokens if tokens else 0.0,
        wall_seconds=time.perf_counter() - t0,
        peak_rss_bytes=max(rss.peak, peak_children),
        skipped=dict(report.counts),
        skipped_examples=list(report.examples),
        resumed_shards=resumed,
    )
    log.info("built %s: %d tokens, %d documents in %d shards", out, tokens, summary.docs, summary.shards)
    return summary


def _check_output(out: Path, overwrite: bool) -> None:
    if not out.exists():
        return
    if not overwrite:
        raise BuildError(f"{out} already exists (use overwrite=True / --overwrite to replace it)")
    if not out.is_dir():
        raise BuildError(f"{out} exists and is not a directory: refusing to replace it")
    if any(out.iterdir()) and not (out / MANIFEST_NAME).is_file():
        raise BuildError(f"{out} is a non-empty directory that is not an index: refusing to replace it")


def _fingerprint(files: list[tuple[Path, Path]]) -> str:
    """Identity of the input files (paths, sizes, modification times): a resume needs the same."""
    h = hashlib.sha256()
    for f, _ in files:
        st = f.stat()
        h.update(f"{f.resolve()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
    return h.hexdigest()


class _Context:
    """What the tokenizing loop and the suffix-array jobs share during one build."""

    def __init__(self, **kw: Any) -> None:
        self.__dict__.update(kw)
        self.futures: dict[int, Future[dict[str, Any]]] = {}

    def submit(self, n: int, last: bool) -> None:
        try:
            fm = self.state["params"].get("fm")
            if fm is not None:
                from ..fm.build import build_fm

                self.futures[n] = self.pool.submit(
                    build_fm, last, self.work / f"tokenized.{n}", self.work, n, self.width,
                    fm["sa_sample"], fm["isa_sample"], fm["rank"], fm["rank_params"],
                )
            else:
                self.futures[n] = self.pool.submit(build_table, last, self.work / f"tokenized.{n}", self.work / f"table.{n}", self.width)
        except BrokenProcessPool as exc:  # a worker died earlier (killed for memory, or could not start)
            raise BuildError(
                f"a suffix-array worker process died ({exc}); the shards written so far are kept: "
                "rerun the same build to resume (from a script file: worker processes cannot start "
                "from code read on standard input)"
            ) from exc

    def collect(self, wait: bool, first_only: bool = False) -> int:
        """Record finished suffix arrays in the state; returns how many."""
        done = 0
        for n in sorted(self.futures):
            fut = self.futures[n]
            if not wait and not fut.done():
                continue
            try:
                res = fut.result()
            except BuildError:
                raise
            except Exception as exc:  # worker died (OOM kill, disk full ...)
                raise BuildError(f"suffix array of shard {n} failed: {exc!r}; rerun the same build to resume") from exc
            self.state["tables"][str(n)] = res
            del self.futures[n]
            done += 1
            if first_only:
                break
        if done:
            _save_state(self.work, self.state)
        return done

    def keep_finished(self) -> None:
        for n, fut in list(self.futures.items()):
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                self.state["tables"][str(n)] = fut.result()
        try:
            _save_state(self.work, self.state)
        except OSError:  # pragma: no cover - the disk is gone; the next run rebuilds the tables
            log.exception("cannot save the build state")


def _tokenize_all(ctx: _Context) -> None:
    state, report, cfg, tok, width = ctx.state, ctx.report, ctx.cfg, ctx.tok, ctx.width
    dtype = DTYPE_BY_WIDTH[width]
    trusted = isinstance(tok, (ByteTokenizer, HFTokenizer))
    byte_level = isinstance(tok, ByteTokenizer)
    # bytes of input one document may take: text files (byte-level: exactly its tokens), and
    # twice that for a JSON line (see iter_documents)
    max_record = ctx.hard_cap if byte_level else ctx.hard_cap * 4 // width
    docs = iter_documents(
        files=ctx.files, text_field=cfg.text_field, ids_field=ctx.ids_field, report=report,
        skip_empty=True, max_record_bytes=max_record,
    )
    skip_docs = state["docs_consumed"]
    report.muted = skip_docs > 0  # replayed documents were counted by the interrupted run
    writer: ShardWriter | None = None
    n_next = len(state["shards"])
    bar = _bar(ctx.estimate, "reading", "B", cfg.progress)
    batch: list[tuple[int, Any]] = []  # (position: documents read before this one, document)
    batch_bytes = 0

    def encode(docs_: list[Any]) -> list[np.ndarray | str]:
        """Token arrays, or an error message per document."""
        if ctx.ids_field is not None:
            out: list[np.ndarray | str] = []
            for d in docs_:
                try:
                    out.append(check_token_ids(d.ids, width, "document"))
                except QueryError as exc:
                    out.append(str(exc))
            return out
        encoded = tok.encode_batch([d.text for d in docs_])
        if trusted:
            return encoded
        checked: list[np.ndarray | str] = []
        for ids in encoded:
            try:
                checked.append(check_token_ids(ids, width, "tokenizer output"))
            except QueryError as exc:
                raise TokenizerError(f"the tokenizer produced an invalid id: {exc}") from None
        return checked

    placed = state["docs_consumed"]  # documents handled; saved in the state when a shard closes

    def flush_batch() -> None:
        nonlocal writer, placed
        if not batch:
            return
        encoded = encode([d for _, d in batch])
        for (pos, doc), ids in zip(batch, encoded):
            if isinstance(ids, str):
                report.skip("token id out of range", doc.where, ids, position=pos)
            elif ids.shape[0] == 0:
                report.skip("empty after tokenization", doc.where, position=pos)
            elif (ids.shape[0] + 1) * width > ctx.hard_cap:
                report.skip(
                    "document too large", doc.where,
                    f"{(ids.shape[0] + 1) * width} bytes of tokens; one shard can sort {ctx.hard_cap} with "
                    f"max_memory={cfg.max_memory} and {cfg.workers} worker(s)",
                    position=pos,
                )
            else:
                nbytes = (ids.shape[0] + 1) * width
                if writer is not None and writer.ds_bytes + nbytes > ctx.shard_bytes:
                    close_shard(last=False)
                if writer is None:
                    writer = ShardWriter(ctx.work, n_next, width)
                ids = np.ascontiguousarray(ids, dtype=dtype)
                text_bytes = ids.nbytes if (doc.ids is not None or byte_level) else len(doc.text.encode("utf-8", "surrogatepass"))
                writer.add(ids, doc.meta_record(), text_bytes)
            placed += 1
        batch.clear()

    def close_shard(last: bool) -> None:
        nonlocal writer, n_next
        if writer is None:
            return
        closing, writer = writer, None
        n_next += 1
        files = closing.close()
        state["docs_consumed"] = placed
        state["shards"].append({"n": closing.n, "tokens": closing.tokens, "docs": closing.docs, "text_bytes": closing.text_bytes, "files": files})
        report.settle(placed)
        state["skips"] = report.checkpoint()
        _save_state(ctx.work, state)
        ctx.submit(closing.n, last=last)
        ctx.collect(wait=False)

    consumed = 0
    try:
        try:
            for doc in docs:
                consumed += 1
                report.position = consumed
                size = len(doc.text) if doc.ids is None else 4 * len(doc.ids)
                bar.update(size)
                if consumed <= skip_docs:
                    if consumed == skip_docs:
                        report.muted = False
                    continue
                batch.append((consumed - 1, doc))
                batch_bytes += size
                if len(batch) >= BATCH_DOCS or batch_bytes >= BATCH_BYTES:
                    flush_batch()
                    batch_bytes = 0
        except CorpusError:
            # a bad record under on_error="fail": index what was read before it, so that every
            # shard it completes is kept for a resumed build (the open shard is dropped)
            flush_batch()
            raise
        if consumed < skip_docs:
            raise BuildError(f"the inputs hold {consumed} documents but the interrupted build had read {skip_docs}: start afresh (delete {ctx.work})")
        report.muted = False
        flush_batch()
        close_shard(last=True)
        # skips after the last document stay unsettled: a resumed run reads them again
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    finally:
        bar.close()
    if not state["shards"]:
        raise BuildError("no documents to index: every input record was empty or skipped"
                         + (f" ({report.total} skipped; first: {report.examples[0]})" if report.examples else ""))


def _manifest(state, tok, width, cfg, shard_bytes, seconds, peak, work, skipped, fm_params=None) -> Manifest:
    shards = []
    for sh in sorted(state["shards"], key=lambda s: s["n"]):
        n = sh["n"]
        table = state["tables"][str(n)]
        files = {role: FileEntry(**f) for role, f in sh["files"].items()}
        if fm_params is not None:
            del files["tokenized"]
            files.update({role: FileEntry(**f) for role, f in table["files"].items()})
            ptr = max(1, ((max(sh["tokens"] * width, 1) - 1).bit_length() + 7) // 8)
            shards.append(ShardEntry(tokens=sh["tokens"], docs=sh["docs"], ptr_size=ptr, files=files, fm=table["fm"]))
            continue
        files["table"] = FileEntry(name=f"table.{n}", bytes=table["bytes"], sha256=table["sha256"])
        shards.append(ShardEntry(tokens=sh["tokens"], docs=sh["docs"], ptr_size=table["ptr_size"], files=files))
    extra = {}
    if isinstance(tok, HFTokenizer):
        p = work / "tokenizer.json"
        extra["tokenizer"] = FileEntry(name="tokenizer.json", bytes=p.stat().st_size, sha256=sha256_file(p))
    build_info = {
        "params": state["params"],
        "shard_bytes": shard_bytes,
        "config": {k: v for k, v in asdict(cfg).items() if k not in ("progress",)},
        "wall_seconds": round(seconds, 3),
        "peak_rss_bytes": peak,
        "skipped": skipped,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    return Manifest(
        tokenizer=tok.spec(),
        token_width=width,
        eos_token_id=tok.eos_token_id,
        shards=shards,
        build=build_info,
        extra_files=extra,
        anygram_version=__version__,
        **({} if fm_params is None else {"kind": "fm", "fm": fm_params, "format_version": FM_FORMAT_VERSION}),
    )


def _fm_params(kind: str, sa_sample: int | None, isa_sample: int | None, rank: str | None, rank_params: dict[str, Any] | None) -> dict[str, Any] | None:
    """Validated FM build parameters (None for the suffix-array kind)."""
    if kind not in ("sa", "fm"):
        raise BuildError(f"kind must be 'sa' or 'fm', not {kind!r}")
    if kind == "sa":
        if any(v is not None for v in (sa_sample, isa_sample, rank, rank_params)):
            raise BuildError("sa_sample, isa_sample, rank and rank_params apply to kind='fm' only")
        return None
    from ..fm.build import DEFAULT_ISA_SAMPLE, DEFAULT_RANK, DEFAULT_SA_SAMPLE, check_rank_name

    out: dict[str, Any] = {}
    for name, v, d in (("sa_sample", sa_sample, DEFAULT_SA_SAMPLE), ("isa_sample", isa_sample, DEFAULT_ISA_SAMPLE)):
        v = d if v is None else v
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 1 << 20:
            raise BuildError(f"{name} must be an integer in [1, 1048576], not {v!r}")
        out[name] = v
    out["rank"] = rank or DEFAULT_RANK
    check_rank_name(out["rank"])  # without importing it (numba would weigh on the build's memory)
    if rank_params is not None and not isinstance(rank_params, dict):
        raise BuildError("rank_params must be a dict")
    out["rank_params"] = dict(rank_params or {})
    return out


def _load_state(work: Path, params: dict[str, Any]) -> dict[str, Any] | None:
    path = work / STATE_NAME
    if not path.is_file():
        return None
    try:
        state = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        log.warning("%s is unreadable: starting over", path)
        return None
    if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
        log.warning("%s was written by another anygram version: starting over", path)
        return None
    if state.get("params") != params:
        log.warning("%s holds a build with other parameters or inputs: starting over", work)
        return None
    fm = state["params"].get("fm") is not None
    for sh in state["shards"]:
        for role, f in sh["files"].items():
            p = work / f["name"]
            if fm and role == "tokenized" and str(sh["n"]) in state["tables"] and not p.exists():
                continue  # dropped once every FM shard was built
            if not p.is_file() or p.stat().st_size != f["bytes"]:
                log.warning("%s is missing or resized: starting over", p)
                return None
    # drop shard files that were being written when the build stopped
    known = {sh["n"] for sh in state["shards"]}
    for f in work.iterdir():
        suffix = f.name.rsplit(".", 1)[-1]
        if f.name.endswith(".tmp") or (suffix.isdigit() and int(suffix) not in known):
            f.unlink()
    for n, table in list(state["tables"].items()):
        outs = [(work / f["name"], f["bytes"]) for f in table["files"].values()] if fm else [(work / f"table.{n}", table["bytes"])]
        if any(not p.is_file() or p.stat().st_size != size for p, size in outs):
            del state["tables"][n]
    return state


def _save_state(work: Path, state: dict[str, Any]) -> None:
    write_json_atomic(work / STATE_NAME, state)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some filesystems refuse directory fsync
        pass
    finally:
        os.close(fd)


def _run_inline(fn: Any, *args: Any) -> Future[Any]:
    fut: Future[Any] = Future()
    try:
        fut.set_result(fn(*args))
    except BaseException as exc:  # delivered through the future, as a pool would
        if not isinstance(exc, Exception):
            raise
        fut.set_exception(exc)
    return fut


class _Pool:
    """Suffix-array jobs: in worker processes (spawned on first need), or in this process.

    With ``workers=1``, and for the last shard of a build that has started no worker yet (a
    corpus that fits one shard), a job runs in the calling process: no process start-up cost.
    Otherwise ``workers - 1`` sorting processes run beside the main (tokenizing) process.
    """

    def __init__(self, workers: int, fresh: bool = False) -> None:
        self.workers = workers
        #: one process per job: an FM job imports numba and builds its rank structure after the
        #: sort, and a worker that kept that memory would add it to the next shard's sort peak
        self.fresh = fresh
        self._pool: ProcessPoolExecutor | None = None

    def submit(self, fn: Any, last: bool, *args: Any) -> Future[Any]:
        if self.workers == 1 or (self._pool is None and last):
            return _run_inline(fn, *args)
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=max(1, self.workers - 1), mp_context=get_context("spawn"), max_tasks_per_child=1 if self.fresh else None
            )
        return self._pool.submit(fn, *args)

    def shutdown(self, cancel: bool) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=cancel)
            self._pool = None


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _bar(total: int, desc: str, unit: str, enabled: bool):
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, unit_scale=unit == "B", dynamic_ncols=True, leave=False)
