"""Choose a reader per input path and stream documents from all of them, in a stable order."""

from __future__ import annotations

import fnmatch
import gzip
import io
import json
import os
from pathlib import Path
from typing import Any, Iterable, Iterator

from ..errors import CorpusError, require
from .base import Document, SkipReport

JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".jsonl.zst", ".json.gz", ".json.zst", ".ndjson")
PARQUET_SUFFIXES = (".parquet",)
#: files read as plain text by default when a folder is indexed
TEXT_SUFFIXES = (
    ".txt", ".md", ".rst", ".py", ".c", ".h", ".cc", ".cpp", ".hpp", ".java", ".js", ".ts",
    ".go", ".rs", ".rb", ".sh", ".html", ".htm", ".xml", ".css", ".tex", ".csv", ".tsv",
    ".yaml", ".yml", ".toml", ".ini", ".cfg", ".json",
)


def _kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(JSONL_SUFFIXES):
        return "jsonl"
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    return "text"


def _walk(root: Path, include: tuple[str, ...], exclude: tuple[str, ...]) -> list[Path]:
    files: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for fn in sorted(filenames):
            p = Path(dirpath) / fn
            rel = p.relative_to(root).as_posix()
            if fn.startswith(".") or not p.is_file():
                continue
            if include:
                if not any(fnmatch.fnmatch(rel, pat) or fnmatch.fnmatch(fn, pat) for pat in include):
                    continue
            elif _kind(p) == "text" and not fn.lower().endswith(TEXT_SUFFIXES):
                continue
            if any(fnmatch.fnmatch(rel, pat) or fnmatch.fnmatch(fn, pat) for pat in exclude):
                continue
            files.append(p)
    return files


def list_inputs(paths: Iterable[str | os.PathLike[str]], include: tuple[str, ...] = (), exclude: tuple[str, ...] = ()) -> list[tuple[Path, Path]]:
    """(file, root) pairs in a stable order; folders are walked recursively."""
    out: list[tuple[Path, Path]] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            out.extend((f, path) for f in _walk(path, include, exclude))
        elif path.is_file():
            out.append((path, path.parent))
        else:
            raise CorpusError(f"input not found: {path}")
    if not out:
        raise CorpusError("no input files found (check the path and --include/--exclude patterns)")
    return out


def estimate_bytes(paths: Iterable[str | os.PathLike[str]], include: tuple[str, ...] = (), exclude: tuple[str, ...] = ()) -> int:
    """Rough size of the text to index (compressed files counted 4x), used to plan shards."""
    total = 0
    for f, _ in list_inputs(paths, include, exclude):
        size = f.stat().st_size
        total += size * 4 if f.name.endswith((".gz", ".zst", ".parquet")) else size
    return total


def iter_documents(
    paths: Iterable[str | os.PathLike[str]],
    *,
    text_field: str = "text",
    ids_field: str | None = None,
    include: tuple[str, ...] = (),
    exclude: tuple[str, ...] = (),
    report: SkipReport | None = None,
    skip_empty: bool = True,
) -> Iterator[Document]:
    """Stream every document of every input, skipping (and counting) bad records.

    With ``ids_field``, JSONL/parquet records hold pre-tokenized documents: a list of token ids
    in that field (the text field is then optional and ignored).
    """
    report = report if report is not None else SkipReport()
    for f, root in list_inputs(paths, include, exclude):
        rel = f.relative_to(root).as_posix()
        kind = _kind(f)
        if kind == "jsonl":
            docs = _iter_jsonl(f, rel, text_field, report, ids_field)
        elif kind == "parquet":
            docs = _iter_parquet(f, rel, text_field, report, ids_field)
        elif ids_field is not None:
            raise CorpusError(f"{f}: pre-tokenized input (ids_field) must be JSONL or parquet")
        else:
            docs = _iter_text_file(f, rel, report)
        for doc in docs:
            if skip_empty and doc.is_empty:
                report.skip("empty document", f"{rel}:{doc.linenum + 1}")
                continue
            yield doc


def _open_binary(path: Path) -> io.BufferedIOBase:
    name = path.name.lower()
    if name.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    if name.endswith(".zst"):
        zstd = require("zstandard", "zstd", f"Reading {path.name}")
        raw = open(path, "rb")
        return io.BufferedReader(zstd.ZstdDecompressor().stream_reader(raw, closefd=True))  # type: ignore[arg-type]
    return open(path, "rb")


def _ids_of(value: Any) -> list[int] | None:
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return None
    return value


def _iter_jsonl(path: Path, rel: str, text_field: str, report: SkipReport, ids_field: str | None = None) -> Iterator[Document]:
    try:
        fh = _open_binary(path)
    except OSError as exc:
        raise CorpusError(f"cannot open {path}: {exc}") from exc
    with fh:
        for i, raw in enumerate(fh):
            where = f"{rel}:{i + 1}"
            if not raw.strip():
                report.skip("blank line", where)
                continue
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                report.skip("invalid UTF-8", where, str(exc))
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                report.skip("malformed JSON", where, str(exc))
                continue
            if not isinstance(rec, dict):
                report.skip("record is not a JSON object", where)
                continue
            if ids_field is not None:
                ids = _ids_of(rec.pop(ids_field, None))
                if ids is None:
                    report.skip(f"missing or non-integer-list field '{ids_field}'", where)
                    continue
                rec.pop(text_field, None)
                yield Document(text="", path=rel, linenum=i, metadata=rec, ids=ids)
                continue
            text = rec.pop(text_field, None)
            if not isinstance(text, str):
                report.skip(f"missing or non-string field '{text_field}'", where)
                continue
            yield Document(text=text, path=rel, linenum=i, metadata=rec)


def _iter_parquet(path: Path, rel: str, text_field: str, report: SkipReport, ids_field: str | None = None) -> Iterator[Document]:
    pq = require("pyarrow.parquet", "parquet", f"Reading {path.name}")
    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types
        raise CorpusError(f"cannot read parquet file {path}: {exc}") from exc
    field_name = ids_field or text_field
    if field_name not in pf.schema_arrow.names:
        raise CorpusError(f"{path}: no column '{field_name}' (columns: {', '.join(pf.schema_arrow.names)})")
    row = 0
    for batch in pf.iter_batches(batch_size=4096):
        cols: dict[str, list[Any]] = batch.to_pydict()
        texts = cols.pop(field_name)
        if ids_field is not None:
            cols.pop(text_field, None)
        for j, text in enumerate(texts):
            where = f"{rel}:{row + 1}"
            if ids_field is not None:
                ids = _ids_of(text)
                if ids is None:
                    report.skip(f"null or non-integer-list '{ids_field}'", where)
                else:
                    yield Document(text="", path=rel, linenum=row, metadata={k: _plain(v[j]) for k, v in cols.items()}, ids=ids)
            elif not isinstance(text, str):
                report.skip(f"null or non-string '{text_field}'", where)
            else:
                meta = {k: _plain(v[j]) for k, v in cols.items()}
                yield Document(text=text, path=rel, linenum=row, metadata=meta)
            row += 1


def _plain(value: Any) -> Any:
    """Make a parquet value JSON-serialisable (bytes, dates ...)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _iter_text_file(path: Path, rel: str, report: SkipReport) -> Iterator[Document]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        report.skip("unreadable file", rel, str(exc))
        return
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        report.skip("invalid UTF-8", rel, str(exc))
        return
    yield Document(text=text, path=rel, linenum=0, metadata={})
