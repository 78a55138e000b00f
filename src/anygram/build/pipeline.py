"""``anygram.build``: corpus -> sharded suffix-array index, atomically and resumably.

Steps:
1. Documents are streamed from the readers, tokenized in batches and appended to the current
   shard (:class:`ShardWriter`). A shard is closed when it reaches its token budget, which
   follows from ``max_memory`` (the suffix-array build of a shard needs ~5.3 bytes of RAM per
   byte of tokens) and from the number of workers (the corpus is split so every worker gets
   work).
2. Each closed shard's suffix array is built in a worker process while the next shard is being
   tokenized.
3. The manifest is written last; the work directory ``OUT.partial`` is fsynced and renamed to
   ``OUT``. An interrupted build leaves ``OUT.partial`` with a ``build_state.json``; running the
   same build again resumes after the last closed shard and rebuilds only missing tables.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Iterable

from .._version import __version__
from ..config import MANIFEST_NAME, BuildConfig
from ..errors import BuildError
from ..format.manifest import FileEntry, Manifest, ShardEntry, write_json_atomic
from ..readers import SkipReport, estimate_bytes, iter_documents
from ..results import BuildSummary
from ..errors import QueryError
from ..tokenizers import HFTokenizer, IdsTokenizer, Tokenizer, check_token_ids, load_tokenizer
from .resources import BUILD_BYTES_PER_BYTE, PeakRSS, default_max_memory, parse_size
from .shard_writer import ShardWriter
from .suffix_array import INT32_LIMIT, build_table

log = logging.getLogger("anygram.build")

STATE_NAME = "build_state.json"
#: documents tokenized per batch (HF tokenizers encode a batch in parallel)
BATCH_DOCS = 512
BATCH_BYTES = 8 << 20


def plan_shard_bytes(estimate: int, max_memory: int, workers: int, token_width: int) -> int:
    """Token bytes per shard: what one worker's share of memory can sort, split across workers."""
    per_worker = max_memory // max(1, workers)
    cap = int(per_worker / BUILD_BYTES_PER_BYTE)
    cap = min(cap, INT32_LIMIT - (INT32_LIMIT % token_width))
    if cap < (1 << 20):
        raise BuildError(
            f"--max-memory {max_memory} bytes leaves {per_worker} per worker: too little to sort "
            f"a shard (at least {int(BUILD_BYTES_PER_BYTE)} MiB per worker are needed)"
        )
    if estimate > (64 << 20) and workers > 1:
        share = -(-estimate // workers)
        cap = min(cap, max(share, 1 << 20))
    return cap


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
) -> BuildSummary:
    """Index a corpus (folders, .txt/.md/…, JSONL(.gz/.zst), parquet) into ``output``.

    Returns a :class:`~anygram.results.BuildSummary`. Raises :class:`~anygram.errors.BuildError`
    (output exists, not enough memory), :class:`~anygram.errors.CorpusError` (unreadable input,
    or any bad record when ``on_error="fail"``) or :class:`~anygram.errors.TokenizerError`.
    """
    t0 = time.perf_counter()
    paths = [inputs] if isinstance(inputs, (str, os.PathLike)) else list(inputs)
    out = Path(output)
    if on_error not in ("skip", "fail"):
        raise BuildError(f"on_error must be 'skip' or 'fail', not {on_error!r}")
    mem = parse_size(max_memory) or default_max_memory()
    nworkers = max(1, workers or (os.cpu_count() or 1))
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
    if out.exists() and not overwrite:
        raise BuildError(f"{out} already exists (use overwrite=True / --overwrite to replace it)")
    if tokenizer is not None and not isinstance(tokenizer, (str, os.PathLike)):
        tok = tokenizer
    elif ids_field is not None and tokenizer is None:
        tok = IdsTokenizer(token_width or 2, eos_token_id)
    else:
        tok = load_tokenizer(tokenizer, eos_token_id)
    width = tok.token_width
    if token_width is not None and token_width != width and not isinstance(tok, IdsTokenizer):
        raise BuildError(f"token_width={token_width} does not match the tokenizer's ({width})")
    estimate = estimate_bytes(paths, cfg.include, cfg.exclude)
    if shard_tokens is not None:
        if shard_tokens < 1:
            raise BuildError("shard_tokens must be positive")
        shard_bytes = shard_tokens * width
    else:
        # byte-level: one token per byte of text; subword tokenizers: ~4 bytes of text per token
        est_token_bytes = estimate if width == 1 and not isinstance(tok, HFTokenizer) else estimate // 4 * width
        shard_bytes = plan_shard_bytes(est_token_bytes, mem, nworkers, width)
    params = {
        "inputs": [str(Path(p).resolve()) for p in paths],
        "tokenizer": tok.spec(),
        "token_width": width,
        "eos_token_id": tok.eos_token_id,
        "shard_bytes": shard_bytes,
        "text_field": cfg.text_field,
        "ids_field": ids_field,
        "include": list(cfg.include),
        "exclude": list(cfg.exclude),
        "on_error": cfg.on_error,
    }
    work = out.with_name(out.name + ".partial")
    state = _load_state(work, params)
    if state is None:
        if work.exists():
            shutil.rmtree(work)
        work.mkdir(parents=True)
        state = {"params": params, "shards": [], "docs_consumed": 0, "skips": {}, "skip_examples": [], "tables": {}}
        _save_state(work, state)
    resumed = len(state["shards"])
    if resumed:
        log.info("resuming %s: %d shards already written", work, resumed)
    if isinstance(tok, HFTokenizer):
        tok.copy_into(work)

    report = SkipReport(on_error=cfg.on_error)
    report.counts = dict(state["skips"])
    report.examples = list(state["skip_examples"])

    with PeakRSS() as rss:
        pool_cm = _InlineExecutor() if nworkers == 1 else ProcessPoolExecutor(max_workers=nworkers, mp_context=get_context("spawn"))
        with pool_cm as pool:
            futures: dict[int, Future[dict[str, Any]]] = {}
            for sh in state["shards"]:
                n = sh["n"]
                if str(n) not in state["tables"]:
                    futures[n] = pool.submit(build_table, work / f"tokenized.{n}", work / f"table.{n}", width)
            _tokenize_all(paths, tok, cfg, state, work, shard_bytes, report, pool, futures, estimate, ids_field)
            bar = _bar(len(futures), "suffix arrays", "shard", cfg.progress)
            try:
                for n, fut in sorted(futures.items()):
                    try:
                        res = fut.result()
                    except BuildError:
                        raise
                    except Exception as exc:  # worker died (OOM kill, disk full ...)
                        raise BuildError(f"suffix array of shard {n} failed: {exc!r}; rerun the same command to resume") from exc
                    state["tables"][str(n)] = res
                    _save_state(work, state)
                    bar.update(1)
            finally:
                bar.close()
        peak_children = max((t.get("peak_rss", 0) for t in state["tables"].values()), default=0)

    manifest = _manifest(state, tok, width, cfg, shard_bytes, time.perf_counter() - t0, rss.peak, work)
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


def _tokenize_all(paths, tok, cfg, state, work, shard_bytes, report, pool, futures, estimate, ids_field) -> None:  # noqa: ANN001
    skip_docs = state["docs_consumed"]
    docs = iter_documents(
        paths, text_field=cfg.text_field, ids_field=ids_field, include=cfg.include, exclude=cfg.exclude, report=report, skip_empty=True
    )
    n_next = len(state["shards"])
    width1 = tok.token_width == 1 and not isinstance(tok, HFTokenizer)
    writer: ShardWriter | None = None
    consumed = 0
    bar = _bar(estimate, "reading", "B", cfg.progress)
    batch: list[Any] = []
    batch_bytes = 0

    def flush_batch() -> None:
        nonlocal writer, n_next
        if not batch:
            return
        if ids_field is not None:
            encoded = []
            for d in batch:
                try:
                    encoded.append(check_token_ids(d.ids, tok.token_width, "document"))
                except QueryError as exc:
                    report.skip("token id out of range", f"{d.path}:{d.linenum + 1}", str(exc))
                    encoded.append(None)
        else:
            encoded = tok.encode_batch([d.text for d in batch])
        for doc, ids in zip(batch, encoded):
            if ids is None:
                state["docs_consumed"] += 1
                continue
            nbytes = (ids.shape[0] + 1) * tok.token_width
            if writer is not None and writer.ds_bytes and writer.ds_bytes + nbytes > shard_bytes:
                close_shard()
            if nbytes > INT32_LIMIT:
                report.skip("document too large for one shard", f"{doc.path}:{doc.linenum + 1}", f"{nbytes} bytes")
                state["docs_consumed"] += 1
                continue
            if writer is None:
                writer = ShardWriter(work, n_next, tok.token_width)
            writer.add(ids, doc.meta_record(), ids.nbytes if (doc.ids is not None or width1) else len(doc.text.encode("utf-8")))
            state["docs_consumed"] += 1
        batch.clear()

    def close_shard() -> None:
        nonlocal writer, n_next
        if writer is None:
            return
        files = writer.close()
        state["shards"].append({"n": writer.n, "tokens": writer.tokens, "docs": writer.docs, "text_bytes": writer.text_bytes, "files": files})
        state["skips"] = dict(report.counts)
        state["skip_examples"] = list(report.examples)
        _save_state(work, state)
        futures[writer.n] = pool.submit(build_table, work / f"tokenized.{writer.n}", work / f"table.{writer.n}", tok.token_width)
        n_next += 1
        writer = None

    try:
        for doc in docs:
            consumed += 1
            if consumed <= skip_docs:
                continue
            batch.append(doc)
            size = len(doc.text) if doc.ids is None else 4 * len(doc.ids)
            batch_bytes += size
            bar.update(size)
            if len(batch) >= BATCH_DOCS or batch_bytes >= BATCH_BYTES:
                flush_batch()
                batch_bytes = 0
        flush_batch()
        close_shard()
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    finally:
        bar.close()
    if not state["shards"]:
        raise BuildError("no documents to index: every input record was empty or skipped"
                         + (f" ({report.total} skipped; first: {report.examples[0]})" if report.examples else ""))


def _manifest(state, tok, width, cfg, shard_bytes, seconds, peak, work) -> Manifest:  # noqa: ANN001
    shards = []
    for sh in sorted(state["shards"], key=lambda s: s["n"]):
        n = sh["n"]
        table = state["tables"][str(n)]
        files = {role: FileEntry(**f) for role, f in sh["files"].items()}
        files["table"] = FileEntry(name=f"table.{n}", bytes=table["bytes"], sha256=table["sha256"])
        shards.append(ShardEntry(tokens=sh["tokens"], docs=sh["docs"], ptr_size=table["ptr_size"], files=files))
    extra = {}
    if isinstance(tok, HFTokenizer):
        from ..format.manifest import sha256_file

        p = work / "tokenizer.json"
        extra["tokenizer"] = FileEntry(name="tokenizer.json", bytes=p.stat().st_size, sha256=sha256_file(p))
    build_info = {
        "params": state["params"],
        "config": {k: v for k, v in asdict(cfg).items() if k not in ("progress",)},
        "wall_seconds": round(seconds, 3),
        "peak_rss_bytes": peak,
        "skipped": state["skips"],
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
    )


def _load_state(work: Path, params: dict[str, Any]) -> dict[str, Any] | None:
    path = work / STATE_NAME
    if not path.is_file():
        return None
    try:
        state = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    if state.get("params") != params:
        log.warning("%s holds a build with other parameters: starting over", work)
        return None
    # drop shard files that were being written when the build stopped
    known = {sh["n"] for sh in state["shards"]}
    for f in work.iterdir():
        suffix = f.name.rsplit(".", 1)[-1]
        if suffix.isdigit() and int(suffix) not in known:
            f.unlink()
        elif f.name.endswith(".tmp"):
            f.unlink()
    for n in list(state["tables"]):
        if not (work / f"table.{n}").is_file():
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


class _InlineExecutor:
    """Runs jobs in the calling process (``workers=1``): no process start-up cost for small builds."""

    def submit(self, fn: Any, *args: Any) -> Future[Any]:
        fut: Future[Any] = Future()
        try:
            fut.set_result(fn(*args))
        except BaseException as exc:  # delivered through the future, as a pool would
            fut.set_exception(exc)
        return fut

    def __enter__(self) -> _InlineExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _bar(total: int, desc: str, unit: str, enabled: bool):  # noqa: ANN202
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, unit_scale=unit == "B", dynamic_ncols=True, leave=False)
