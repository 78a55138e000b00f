"""Choose a reader per input path and stream documents from all of them, in a stable order.

Inputs and how they are read (everything is streamed: at most one record, or one parquet batch,
is in memory at a time):

* **folders** are walked recursively in sorted order; hidden files and folders (``.name``) are
  skipped, symlinked folders are not followed. Without ``include`` patterns, JSONL/JSON/parquet
  files and the text-like suffixes of :data:`TEXT_SUFFIXES` are read; with ``include`` every file
  whose relative path or name matches a pattern is. ``exclude`` patterns drop files (and prune
  whole folders) whose relative path or name matches. Each text file is one document whose
  ``path`` (relative to the folder given) is kept as metadata.
* **JSON Lines** (``.jsonl``, ``.ndjson``, optionally ``.gz``/``.zst`` compressed): one JSON object
  per line; ``text_field`` holds the text (or ``ids_field`` a list of token ids) and every other
  field is kept as metadata.
* **``.json`` files** are sniffed: when the first record is a JSON object holding ``text_field``
  (or ``ids_field``) the file is a record file -- a JSON array of records (streamed element by
  element), JSON Lines (many tools, e.g. ``datasets.Dataset.to_json``, write JSON Lines as
  ``.json``) or a stream of pretty-printed objects. Any other ``.json`` file (``package.json``, a
  config, a schema ...) is what it was before: one plain-text document, like any source file.
  ``.json.gz``/``.json.zst`` are always record files.
* **parquet** (``pyarrow``, the ``parquet`` extra): one document per row, read in batches.

Bad records -- malformed JSON, invalid UTF-8, a missing or mistyped field, an empty document, a
record larger than ``max_record_bytes``, a truncated or corrupt compressed stream -- are counted in
a :class:`SkipReport` with ``file:line`` examples, or raise :class:`~anygram.errors.CorpusError`
when the report's ``on_error`` is ``"fail"``. A missing optional dependency raises
:class:`~anygram.errors.MissingExtraError` naming the extra.
"""

from __future__ import annotations

import fnmatch
import gzip
import io
import json
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import CorpusError, require
from .base import Document, SkipReport

JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".jsonl.zst", ".ndjson", ".ndjson.gz", ".ndjson.zst")
JSON_SUFFIXES = (".json", ".json.gz", ".json.zst")
PARQUET_SUFFIXES = (".parquet",)
COMPRESSED_SUFFIXES = (".gz", ".zst")
#: files read as plain text by default when a folder is indexed
TEXT_SUFFIXES = (
    ".txt", ".md", ".rst", ".py", ".c", ".h", ".cc", ".cpp", ".hpp", ".java", ".js", ".ts",
    ".go", ".rs", ".rb", ".sh", ".html", ".htm", ".xml", ".css", ".tex", ".csv", ".tsv",
    ".yaml", ".yml", ".toml", ".ini", ".cfg", ".json",
)
#: characters of JSON read per step when streaming a JSON array / value stream
_CHUNK = 1 << 20
#: parquet rows are read in batches of about this many bytes
_PARQUET_BATCH_BYTES = 32 << 20
_WS = re.compile(r"[ \t\n\r]*")


def _kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(JSONL_SUFFIXES):
        return "jsonl"
    if name.endswith(JSON_SUFFIXES):
        return "json"
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    return "text"


def _matches(rel: str, name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatch(rel, pat) or fnmatch.fnmatch(name, pat) for pat in patterns)


def _walk(root: Path, include: tuple[str, ...], exclude: tuple[str, ...], skip_dirs: set[Path]) -> list[Path]:
    files: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        kept = []
        for d in sorted(dirnames):
            sub = here / d
            rel = sub.relative_to(root).as_posix()
            if d.startswith(".") or _matches(rel, d, exclude) or _matches(rel + "/", d, exclude):
                continue
            if skip_dirs and sub.resolve() in skip_dirs:
                continue
            kept.append(d)
        dirnames[:] = kept
        for fn in sorted(filenames):
            p = here / fn
            rel = p.relative_to(root).as_posix()
            if fn.startswith(".") or not p.is_file():
                continue
            if include:
                if not _matches(rel, fn, include):
                    continue
            elif _kind(p) == "text" and not fn.lower().endswith(TEXT_SUFFIXES):
                continue
            if _matches(rel, fn, exclude):
                continue
            files.append(p)
    return files


def list_inputs(
    paths: Iterable[str | os.PathLike[str]],
    include: tuple[str, ...] = (),
    exclude: tuple[str, ...] = (),
    skip_dirs: Iterable[str | os.PathLike[str]] = (),
) -> list[tuple[Path, Path]]:
    """(file, root) pairs in a stable order; folders are walked recursively.

    A file reached twice (the same file given twice, or a file inside a folder also given) is read
    once. Folders in ``skip_dirs`` (e.g. the index being built) are never entered.
    """
    skip = {Path(d).resolve() for d in skip_dirs}
    out: list[tuple[Path, Path]] = []
    seen: set[Path] = set()
    for p in paths:
        path = Path(p)
        if path.is_dir():
            found = [(f, path) for f in _walk(path, include, exclude, skip)]
        elif path.is_file():
            found = [(path, path.parent)]
        else:
            raise CorpusError(f"input not found: {path}")
        for f, root in found:
            key = f.resolve()
            if key not in seen:
                seen.add(key)
                out.append((f, root))
    if not out:
        raise CorpusError("no input files found (check the path and --include/--exclude patterns)")
    return out


def estimate_bytes(
    paths: Iterable[str | os.PathLike[str]] | None = None,
    include: tuple[str, ...] = (),
    exclude: tuple[str, ...] = (),
    *,
    files: list[tuple[Path, Path]] | None = None,
) -> int:
    """Rough size of the text to index (compressed files counted 4x), used to plan shards."""
    if files is None:
        files = list_inputs(paths or (), include, exclude)
    total = 0
    for f, _ in files:
        size = f.stat().st_size
        total += size * 4 if f.name.lower().endswith(COMPRESSED_SUFFIXES + PARQUET_SUFFIXES) else size
    return total


def iter_documents(
    paths: Iterable[str | os.PathLike[str]] = (),
    *,
    text_field: str = "text",
    ids_field: str | None = None,
    include: tuple[str, ...] = (),
    exclude: tuple[str, ...] = (),
    report: SkipReport | None = None,
    skip_empty: bool = True,
    max_record_bytes: int | None = None,
    files: list[tuple[Path, Path]] | None = None,
) -> Iterator[Document]:
    """Stream every document of every input, skipping (and counting) bad records.

    With ``ids_field``, JSONL/JSON/parquet records hold pre-tokenized documents: a list of token
    ids in that field (the text field is then optional and ignored). ``max_record_bytes`` bounds
    the memory one record may take: larger text files and parquet values are skipped unread,
    JSON lines and records longer than twice that (JSON escapes, metadata) are skipped. ``files``
    is a list made by :func:`list_inputs` (``paths``, ``include`` and ``exclude`` are then unused).
    """
    report = report if report is not None else SkipReport()
    if files is None:
        files = list_inputs(paths, include, exclude)
    max_json = None if max_record_bytes is None else 2 * max_record_bytes + (1 << 20)
    for f, root in files:
        rel = f.relative_to(root).as_posix()
        kind = _kind(f)
        if kind == "json":
            kind = _sniff_json(f, text_field, ids_field, max_json)
        if kind in ("jsonl", "json-lines"):
            docs = _iter_jsonl(f, rel, text_field, report, ids_field, max_json)
        elif kind == "json-stream":
            docs = _iter_json_stream(f, rel, text_field, report, ids_field, max_json)
        elif kind == "parquet":
            docs = _iter_parquet(f, rel, text_field, report, ids_field, max_record_bytes)
        elif ids_field is not None:
            raise CorpusError(f"{f}: pre-tokenized input (ids_field) must be JSONL, JSON records or parquet")
        else:
            docs = _iter_text_file(f, rel, report, max_record_bytes)
        for doc in docs:
            if skip_empty and doc.is_empty:
                report.skip("empty document", doc.where)
                continue
            yield doc


# --------------------------------------------------------------------------- raw streams
def _open_binary(path: Path) -> BinaryIO:
    name = path.name.lower()
    if name.endswith(".zst"):
        zstd = require("zstandard", "zstd", f"Reading {path.name}")
        return io.BufferedReader(_ZstdRaw(open(path, "rb"), zstd), buffer_size=1 << 20)  # type: ignore[return-value]
    if name.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


class _ZstdRaw(io.RawIOBase):
    """A zstd stream (one or more frames) that raises ``EOFError`` when it is cut short.

    (zstandard's ``stream_reader`` ends silently at a truncated frame.) Input is fed in small
    pieces so that one step never inflates to more than a few MiB in practice.
    """

    _IN = 1 << 14

    def __init__(self, raw: BinaryIO, zstd: Any) -> None:
        self._raw = raw
        self._dctx = zstd.ZstdDecompressor()
        self._obj = self._dctx.decompressobj()
        self._started = False
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while not self._pending:
            data = self._raw.read(self._IN)
            if not data:
                if self._started and not self._obj.eof:
                    raise EOFError("zstd stream ended before the end of its frame")
                return 0
            while data:
                if self._obj.eof:  # next frame
                    self._obj = self._dctx.decompressobj()
                self._started = True
                self._pending += self._obj.decompress(data)
                data = self._obj.unused_data if self._obj.eof else b""
        n = min(len(b), len(self._pending))
        b[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


def _open_or_skip(path: Path, rel: str, report: SkipReport) -> BinaryIO | None:
    try:
        return _open_binary(path)
    except OSError as exc:
        report.skip("unreadable file", rel, str(exc))
        return None


def _lines(fh: BinaryIO, rel: str, report: SkipReport, max_line: int | None) -> Iterator[tuple[int, bytes | None]]:
    """``(1-based line number, line)``; ``None`` for a line longer than ``max_line`` (not kept).

    A corrupt or truncated compressed stream is reported at the line where it broke and ends the
    file (the lines before it are kept).
    """
    lineno = 0
    while True:
        lineno += 1
        try:
            raw = fh.readline(max_line + 1) if max_line else fh.readline()
            if not raw:
                return
            if max_line and len(raw) > max_line and not raw.endswith(b"\n"):
                while True:  # drop the rest of the line without keeping it
                    rest = fh.readline(1 << 20)
                    if not rest or rest.endswith(b"\n"):
                        break
                yield lineno, None
                continue
        except Exception as exc:  # noqa: BLE001 - gzip/zlib/zstandard raise EOFError, OSError, ZstdError ...
            report.skip("corrupt or truncated file", f"{rel}:{lineno}", f"{type(exc).__name__}: {exc}")
            return
        yield lineno, raw


def _ids_of(value: Any) -> list[int] | None:
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return None
    return value


def _record_doc(rec: Any, rel: str, index: int, line: int, text_field: str, ids_field: str | None, report: SkipReport) -> Document | None:
    """A document from one parsed JSON record, or ``None`` (reported) when it is not usable."""
    where = f"{rel}:{line}"
    if not isinstance(rec, dict):
        report.skip("record is not a JSON object", where)
        return None
    if ids_field is not None:
        ids = _ids_of(rec.pop(ids_field, None))
        if ids is None:
            report.skip(f"missing or non-integer-list field '{ids_field}'", where)
            return None
        rec.pop(text_field, None)
        return Document(text="", path=rel, linenum=index, metadata=rec, ids=ids, line=line)
    text = rec.pop(text_field, None)
    if not isinstance(text, str):
        report.skip(f"missing or non-string field '{text_field}'", where)
        return None
    return Document(text=text, path=rel, linenum=index, metadata=rec, line=line)


# --------------------------------------------------------------------------- JSON Lines
def _iter_jsonl(path: Path, rel: str, text_field: str, report: SkipReport, ids_field: str | None = None, max_line: int | None = None) -> Iterator[Document]:
    fh = _open_or_skip(path, rel, report)
    if fh is None:
        return
    with fh:
        for lineno, raw in _lines(fh, rel, report, max_line):
            where = f"{rel}:{lineno}"
            if raw is None:
                report.skip("line too long", where, f"more than {max_line} bytes")
                continue
            if not raw.strip():
                report.skip("blank line", where)
                continue
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                report.skip("invalid UTF-8", where, str(exc))
                continue
            del raw
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                report.skip("malformed JSON", where, str(exc))
                continue
            del line
            doc = _record_doc(rec, rel, lineno - 1, lineno, text_field, ids_field, report)
            if doc is not None:
                yield doc


# --------------------------------------------------------------------------- .json files
def _sniff_json(path: Path, text_field: str, ids_field: str | None, max_bytes: int | None) -> str:
    """``json-stream`` (array / value stream), ``json-lines`` or ``text`` (see the module doc)."""
    compressed = path.name.lower().endswith(COMPRESSED_SUFFIXES)
    probe = SkipReport()
    key = ids_field or text_field
    try:
        with _open_binary(path) as fh:
            head = fh.read(4096).lstrip()
    except OSError:
        return "json-lines" if compressed else "text"  # reported when read
    if head.startswith(b"["):
        mode = "json-stream"
    else:
        mode = "json-lines"
        try:
            with _open_binary(path) as fh:
                first = next(_lines(fh, path.name, probe, max_bytes), (0, None))[1]
            json.loads(first or b"")
        except (OSError, ValueError):
            mode = "json-stream"  # a pretty-printed object or a stream of them
    if compressed:
        return mode
    try:
        with _open_binary(path) as fh:
            for _, value in _json_values(fh, path.name, probe, max_bytes):
                return mode if isinstance(value, dict) and key in value else "text"
    except OSError:
        pass
    return "text"


def _json_values(fh: BinaryIO, rel: str, report: SkipReport, max_bytes: int | None) -> Iterator[tuple[int, Any]]:
    """``(line, value)`` of a JSON array's elements, or of a stream of whitespace-separated values.

    Streams: the text is read in chunks and each value decoded as soon as it is complete. A
    malformed value cannot be skipped reliably, so it is reported and ends the file.
    """
    text = io.TextIOWrapper(fh, encoding="utf-8", errors="strict", newline="")  # type: ignore[arg-type]
    dec = json.JSONDecoder()
    buf, pos, line, eof = "", 0, 1, False

    def more(n: int) -> bool:
        nonlocal buf, pos, eof
        if eof:
            return False
        chunk = text.read(n)
        if not chunk:
            eof = True
            return False
        buf = buf[pos:] + chunk
        pos = 0
        return True

    def skip_ws() -> None:
        nonlocal pos, line
        while True:
            end = _WS.match(buf, pos).end()  # type: ignore[union-attr]
            line += buf.count("\n", pos, end)
            pos = end
            if pos < len(buf) or not more(_CHUNK):
                return

    try:
        skip_ws()
        array = pos < len(buf) and buf[pos] == "["
        if array:
            pos += 1
        first = True
        while True:
            skip_ws()
            if pos >= len(buf):
                if array:
                    report.skip("malformed JSON", f"{rel}:{line}", "unterminated array")
                return
            if array:
                if buf[pos] == "]":
                    return
                if not first:
                    if buf[pos] != ",":
                        report.skip("malformed JSON", f"{rel}:{line}", "expected ',' or ']' between array elements")
                        return
                    pos += 1
                    skip_ws()
            while True:
                try:
                    value, end = dec.raw_decode(buf, pos)
                    if end < len(buf) or eof:
                        break
                except json.JSONDecodeError as exc:
                    if eof:
                        report.skip("malformed JSON", f"{rel}:{line}", str(exc))
                        return
                    if max_bytes is not None and len(buf) - pos > max_bytes:
                        report.skip("record too large", f"{rel}:{line}", f"more than {max_bytes} bytes; rest of the file skipped")
                        return
                more(max(_CHUNK, len(buf) - pos))  # double the buffer: linear time overall
            yield line, value
            del value
            line += buf.count("\n", pos, end)
            pos = end
            first = False
    except UnicodeDecodeError as exc:
        report.skip("invalid UTF-8", f"{rel}:{line}", f"{exc}; rest of the file skipped")
    except Exception as exc:  # noqa: BLE001 - corrupt compressed stream
        report.skip("corrupt or truncated file", f"{rel}:{line}", f"{type(exc).__name__}: {exc}")
    finally:
        text.detach()


def _iter_json_stream(path: Path, rel: str, text_field: str, report: SkipReport, ids_field: str | None, max_bytes: int | None) -> Iterator[Document]:
    fh = _open_or_skip(path, rel, report)
    if fh is None:
        return
    with fh:
        for index, (line, rec) in enumerate(_json_values(fh, rel, report, max_bytes)):
            doc = _record_doc(rec, rel, index, line, text_field, ids_field, report)
            if doc is not None:
                yield doc


# --------------------------------------------------------------------------- parquet
def _iter_parquet(path: Path, rel: str, text_field: str, report: SkipReport, ids_field: str | None = None, max_bytes: int | None = None) -> Iterator[Document]:
    pq = require("pyarrow.parquet", "parquet", f"Reading {path.name}")
    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types
        report.skip("unreadable parquet file", rel, str(exc))
        return
    field_name = ids_field or text_field
    names = pf.schema_arrow.names
    if field_name not in names:
        report.skip(f"no column '{field_name}'", rel, f"columns: {', '.join(names)}")
        return
    meta = pf.metadata
    total = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    row_bytes = max(1, total // max(1, meta.num_rows))
    batch_size = max(1, min(4096, _PARQUET_BATCH_BYTES // row_bytes))
    row = 0
    batches = pf.iter_batches(batch_size=batch_size)
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except Exception as exc:  # noqa: BLE001 - a corrupt page
            report.skip("corrupt parquet data", f"{rel}:{row + 1}", f"{type(exc).__name__}: {exc}; rest of the file skipped")
            return
        cols: dict[str, list[Any]] = batch.to_pydict()
        del batch
        values = cols.pop(field_name)
        if ids_field is not None:
            cols.pop(text_field, None)
        for j, value in enumerate(values):
            where = f"{rel}:{row + 1}"
            row += 1
            if ids_field is not None:
                ids = _ids_of(value)
                if ids is None:
                    report.skip(f"null or non-integer-list '{ids_field}'", where)
                    continue
                yield Document(text="", path=rel, linenum=row - 1, metadata={k: _plain(v[j]) for k, v in cols.items()}, ids=ids, line=row)
                continue
            if isinstance(value, bytes):
                try:
                    value = value.decode("utf-8")
                except UnicodeDecodeError as exc:
                    report.skip("invalid UTF-8", where, str(exc))
                    continue
            if not isinstance(value, str):
                report.skip(f"null or non-string '{text_field}'", where)
                continue
            if max_bytes is not None and len(value) > max_bytes:
                report.skip("record too large", where, f"{len(value)} characters")
                continue
            yield Document(text=value, path=rel, linenum=row - 1, metadata={k: _plain(v[j]) for k, v in cols.items()}, line=row)
            values[j] = None  # let the text go once it is consumed


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


# --------------------------------------------------------------------------- text files
def _iter_text_file(path: Path, rel: str, report: SkipReport, max_bytes: int | None = None) -> Iterator[Document]:
    try:
        if max_bytes is not None and path.stat().st_size > max_bytes:
            report.skip("document too large", f"{rel}:1", f"{path.stat().st_size} bytes, limit {max_bytes}")
            return
        data = path.read_bytes()
    except OSError as exc:
        report.skip("unreadable file", rel, str(exc))
        return
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        report.skip("invalid UTF-8", f"{rel}:{line}", str(exc))
        return
    del data
    yield Document(text=text, path=rel, linenum=0, metadata={}, line=1)
