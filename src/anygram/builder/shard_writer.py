"""Streams tokenized documents into one shard's files (infini-gram v4 layout)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from ..errors import BuildError
from ..format.manifest import SHARD_FILES


class ShardWriter:
    """Appends documents to ``tokenized.N``, ``offset.N``, ``metadata.N`` and ``metaoff.N``.

    Each document is written as one separator token (all 0xff bytes) followed by its tokens; the
    byte offset of that separator goes to offset.N, the document's metadata as one JSON line to
    metadata.N and that line's offset to metaoff.N. Checksums are computed while writing.
    """

    def __init__(self, directory: Path, n: int, token_width: int) -> None:
        self.n = n
        self.dir = directory
        self.width = token_width
        self.sep = b"\xff" * token_width
        self.paths = {role: directory / pat.format(n=n) for role, pat in SHARD_FILES.items() if role != "table"}
        self._f: dict[str, BinaryIO] = {role: open(p, "wb", buffering=1 << 22) for role, p in self.paths.items()}
        self._h = {role: hashlib.sha256() for role in self.paths}
        self.ds_bytes = 0
        self.mt_bytes = 0
        self.docs = 0
        self.text_bytes = 0

    @property
    def tokens(self) -> int:
        return self.ds_bytes // self.width

    def _write(self, role: str, data: bytes | memoryview) -> None:
        self._f[role].write(data)
        self._h[role].update(data)

    def add(self, ids: np.ndarray, meta: dict[str, Any], text_bytes: int) -> None:
        self._write("offset", np.uint64(self.ds_bytes).tobytes())
        self._write("metaoff", np.uint64(self.mt_bytes).tobytes())
        if ids.dtype.itemsize != self.width or ids.dtype.byteorder == ">" or not ids.flags.c_contiguous:
            raise BuildError(f"token array of dtype {ids.dtype} does not match the shard's {self.width}-byte little-endian tokens")
        payload = memoryview(ids).cast("B")  # no copy, even for a huge document
        self._write("tokenized", self.sep)
        self._write("tokenized", payload)
        self.ds_bytes += len(self.sep) + payload.nbytes
        line = (json.dumps(meta, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
        self._write("metadata", line)
        self.mt_bytes += len(line)
        self.docs += 1
        self.text_bytes += text_bytes

    def close(self) -> dict[str, dict[str, Any]]:
        """Flush, fsync and close; returns ``{role: {"name", "bytes", "sha256"}}``."""
        out: dict[str, dict[str, Any]] = {}
        for role, f in self._f.items():
            f.flush()
            os.fsync(f.fileno())
            f.close()
            out[role] = {"name": self.paths[role].name, "bytes": self.paths[role].stat().st_size, "sha256": self._h[role].hexdigest()}
        return out

    def abort(self) -> None:
        """Close and delete the files of an unfinished shard."""
        for f in self._f.values():
            try:
                f.close()
            except OSError:  # pragma: no cover - e.g. disk full while flushing
                pass
        for p in self.paths.values():
            p.unlink(missing_ok=True)
