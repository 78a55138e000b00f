"""Writing a corpus copy in the formats :mod:`anygram.readers` reads, one file at a time, atomically.

Formats (chosen from the input file: its suffix, and for ``.json`` what the reader sniffed):

* ``jsonl`` — JSON Lines (``.jsonl``, ``.ndjson``, ``.json`` files that were JSON Lines), one
  record per line, the text field first, then the other fields in their input order;
* ``json-array`` — a JSON array of records (``.json`` record files that were an array or a stream
  of objects);
* ``parquet`` — one row per record, with the input file's schema when the rows fit it (the
  ``parquet`` extra);
* ``text`` — a text file holding one document (nothing is written when the document is dropped).

``.gz`` / ``.zst`` suffixes are compressed the same way (zstd needs the ``zstd`` extra). Each file
is written to ``NAME.tmp``, fsynced and renamed, so an output file is either complete or absent.
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any

from ..errors import require
from ..readers.dispatch import _kind, _sniff_json

#: parquet rows buffered before a row group is written
PARQUET_ROWS = 4096


def output_kind(rel: str, source: Path | None, text_field: str, ids_field: str | None) -> str:
    """The format of the output for input ``rel`` (``source``: the input file, when available)."""
    kind = _kind(Path(rel))
    if kind == "jsonl":
        return "jsonl"
    if kind == "parquet":
        return "parquet"
    if kind == "json":
        if source is None:
            return "json-array"
        sniffed = _sniff_json(source, text_field, ids_field, None)
        return {"json-lines": "jsonl", "json-stream": "json-array"}.get(sniffed, "text")
    return "text"


class FileWriter:
    """Records (dicts) or one text into ``final``, through ``final.tmp``; :meth:`commit` renames."""

    def __init__(self, final: Path, rel: str, kind: str, schema: Any = None) -> None:
        self.final = final
        self.rel = rel
        self.kind = kind
        self.tmp = final.with_name(final.name + ".tmp")
        self.n = 0
        self._raw: Any = None
        self._fh: Any = None
        self._rows: list[dict[str, Any]] = []
        self._pq: Any = None
        self._schema = schema
        self._text: str | None = None

    def _open(self) -> None:
        self.final.parent.mkdir(parents=True, exist_ok=True)
        self._raw = open(self.tmp, "wb")  # noqa: SIM115 - closed by commit()
        name = self.final.name.lower()
        if self.kind in ("jsonl", "json-array") and name.endswith(".gz"):
            self._fh = gzip.GzipFile(fileobj=self._raw, mode="wb", filename="", mtime=0)
        elif self.kind in ("jsonl", "json-array") and name.endswith(".zst"):
            zstd = require("zstandard", "zstd", f"Writing {self.final.name}")
            self._fh = zstd.ZstdCompressor().stream_writer(self._raw, closefd=False)
        else:
            self._fh = self._raw
        if self.kind == "json-array":
            self._fh.write(b"[")

    def add(self, record: Any) -> None:
        """One record (a dict), or the text of a ``text`` file."""
        if self.kind == "text":
            self._text = record
            self.n = 1
            return
        if self.kind == "parquet":
            self._rows.append(record)
            self.n += 1
            if len(self._rows) >= PARQUET_ROWS:
                self._flush_parquet()
            return
        if self._fh is None:
            self._open()
        line = json.dumps(record, ensure_ascii=False).encode("utf-8")
        if self.kind == "json-array":
            self._fh.write((b"\n" if self.n == 0 else b",\n") + line)
        else:
            self._fh.write(line + b"\n")
        self.n += 1

    def _flush_parquet(self) -> None:
        pa = require("pyarrow", "parquet", f"Writing {self.final.name}")
        pq = require("pyarrow.parquet", "parquet", f"Writing {self.final.name}")
        if not self._rows:
            return
        table = None
        if self._schema is not None:
            try:
                table = pa.Table.from_pylist(self._rows, schema=self._schema)
            except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
                table = None
        if table is None:
            table = pa.Table.from_pylist(self._rows)
            if self._pq is not None and not table.schema.equals(self._pq.schema):
                table = table.cast(self._pq.schema)
        if self._pq is None:
            self.final.parent.mkdir(parents=True, exist_ok=True)
            self._raw = open(self.tmp, "wb")  # noqa: SIM115 - closed by commit()
            self._pq = pq.ParquetWriter(self._raw, table.schema)
        self._pq.write_table(table)
        self._rows = []

    def commit(self) -> None:
        """Finish the file: close, fsync, rename (a text file that got no document is not written)."""
        if self.kind == "text":
            if self._text is None:
                return
            self._open()
            self._fh.write(self._text.encode("utf-8"))
        elif self.kind == "parquet":
            self._flush_parquet()
            if self._pq is None:  # no row at all: an empty file with the known schema, if any
                pa = require("pyarrow", "parquet", f"Writing {self.final.name}")
                pq = require("pyarrow.parquet", "parquet", f"Writing {self.final.name}")
                self.final.parent.mkdir(parents=True, exist_ok=True)
                self._raw = open(self.tmp, "wb")  # noqa: SIM115 - closed by commit()
                self._pq = pq.ParquetWriter(self._raw, self._schema or pa.schema([]))
            self._pq.close()
        elif self._fh is None:
            self._open()
        if self.kind == "json-array":
            self._fh.write(b"\n]\n")
        if self._fh is not None and self._fh is not self._raw:
            self._fh.close()
        self._raw.flush()
        os.fsync(self._raw.fileno())
        self._raw.close()
        os.replace(self.tmp, self.final)


__all__ = ["FileWriter", "output_kind"]
