"""Opening one shard's files as read-only memory maps, with structural validation.

Everything the kernels index is checked here first (sizes, pointer width, document offsets), so
that no kernel can read outside a mapping; pointer values read from the suffix array are
range-checked inside the kernels themselves.
"""

from __future__ import annotations

import json
import mmap
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CorruptIndexError

_EMPTY = np.zeros(0, dtype=np.uint8)
_EMPTY.setflags(write=False)


def map_file(path: Path) -> np.ndarray:
    """Map a file read-only as a uint8 array (an empty array for an empty file)."""
    size = path.stat().st_size
    if size == 0:
        return _EMPTY
    with open(path, "rb") as f:
        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    try:
        mm.madvise(mmap.MADV_RANDOM)
    except (AttributeError, OSError):  # pragma: no cover - platform dependent
        pass
    return np.frombuffer(mm, dtype=np.uint8)


@dataclass
class Shard:
    """One shard's arrays. ``ds``/``sa``/``od``/``mt``/``om`` are read-only uint8 / uint64 maps."""

    name: str
    ds: np.ndarray  # token bytes
    sa: np.ndarray  # suffix array, ptr_size bytes per entry
    od: np.ndarray  # uint64 document offsets (byte offset of each document's separator)
    mt: np.ndarray | None  # metadata bytes (JSON lines) or None
    om: np.ndarray | None  # uint64 metadata offsets or None
    token_width: int
    ptr_size: int
    tok_cnt: int
    doc_cnt: int

    @property
    def ds_size(self) -> int:
        return int(self.ds.shape[0])

    def metadata(self, local_doc_ix: int) -> dict[str, Any]:
        """Parsed metadata of one document of this shard ({} when the index has none)."""
        if self.mt is None or self.om is None:
            return {}
        start = int(self.om[local_doc_ix])
        end = int(self.om[local_doc_ix + 1]) if local_doc_ix + 1 < self.doc_cnt else self.mt.shape[0]
        if not (0 <= start <= end <= self.mt.shape[0]):
            raise CorruptIndexError(f"shard {self.name}: metadata offsets out of range")
        raw = bytes(self.mt[start:end]).decode("utf-8", errors="replace").strip()
        if not raw:
            return {}
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise CorruptIndexError(f"shard {self.name}: metadata of document {local_doc_ix} is not JSON") from exc
        return value if isinstance(value, dict) else {"metadata": value}


def open_shard(
    name: str,
    ds_path: Path,
    sa_path: Path,
    od_path: Path,
    mt_path: Path | None,
    om_path: Path | None,
    token_width: int,
    expect_tokens: int | None = None,
    expect_docs: int | None = None,
    expect_ptr_size: int | None = None,
) -> Shard:
    """Map and validate one shard; raises :class:`CorruptIndexError` on any inconsistency."""
    for p in (ds_path, sa_path, od_path):
        if not p.is_file():
            raise CorruptIndexError(f"{p}: missing shard file")
    ds_size = ds_path.stat().st_size
    if ds_size % token_width:
        raise CorruptIndexError(f"{ds_path}: {ds_size} bytes is not a multiple of the token width {token_width}")
    tok_cnt = ds_size // token_width
    if expect_tokens is not None and tok_cnt != expect_tokens:
        raise CorruptIndexError(f"{ds_path}: holds {tok_cnt} tokens, the manifest says {expect_tokens}")
    sa_size = sa_path.stat().st_size
    if tok_cnt == 0:
        ptr_size = expect_ptr_size or 1
        if sa_size != 0:
            raise CorruptIndexError(f"{sa_path}: non-empty suffix array for an empty shard")
    else:
        if sa_size % tok_cnt:
            raise CorruptIndexError(f"{sa_path}: {sa_size} bytes is not a whole number of pointers for {tok_cnt} tokens")
        ptr_size = sa_size // tok_cnt
        if ptr_size < 1 or ptr_size > 8 or (1 << (8 * ptr_size)) < ds_size and ptr_size < 8:
            raise CorruptIndexError(f"{sa_path}: pointer size {ptr_size} bytes cannot address {ds_size} bytes")
        if expect_ptr_size is not None and ptr_size != expect_ptr_size:
            raise CorruptIndexError(f"{sa_path}: pointer size {ptr_size}, the manifest says {expect_ptr_size}")
    od_size = od_path.stat().st_size
    if od_size % 8:
        raise CorruptIndexError(f"{od_path}: {od_size} bytes is not a multiple of 8")
    doc_cnt = od_size // 8
    if expect_docs is not None and doc_cnt != expect_docs:
        raise CorruptIndexError(f"{od_path}: holds {doc_cnt} documents, the manifest says {expect_docs}")

    ds = map_file(ds_path)
    sa = map_file(sa_path)
    od = map_file(od_path).view("<u8") if doc_cnt else np.zeros(0, dtype="<u8")
    _check_offsets(od, ds, ds_size, token_width, od_path)

    mt = om = None
    if mt_path is not None and om_path is not None and mt_path.is_file() and om_path.is_file():
        om_size = om_path.stat().st_size
        if om_size != doc_cnt * 8:
            raise CorruptIndexError(f"{om_path}: {om_size} bytes, expected 8 per document ({doc_cnt} documents)")
        mt = map_file(mt_path)
        om = map_file(om_path).view("<u8") if doc_cnt else np.zeros(0, dtype="<u8")
        if doc_cnt:
            if int(om[0]) != 0 or np.any(np.diff(om.astype(np.int64)) < 0) or int(om[-1]) > mt.shape[0]:
                raise CorruptIndexError(f"{om_path}: metadata offsets are not increasing within {mt_path.name}")
    return Shard(name, ds, sa, od, mt, om, token_width, ptr_size, tok_cnt, doc_cnt)


def _check_offsets(od: np.ndarray, ds: np.ndarray, ds_size: int, width: int, path: Path) -> None:
    """Document offsets must start at 0, increase, stay inside ds and point at separators."""
    n = od.shape[0]
    if ds_size == 0:
        if n:
            raise CorruptIndexError(f"{path}: documents listed for an empty shard")
        return
    if n == 0:
        raise CorruptIndexError(f"{path}: no document offsets for a non-empty shard")
    if int(od[0]) != 0:
        raise CorruptIndexError(f"{path}: first document offset is {int(od[0])}, not 0")
    if n > 1:
        # chunked so that a huge offsets file never becomes one big temporary
        step = 1 << 22
        prev = 0
        for i in range(0, n, step):
            chunk = od[i : i + step].astype(np.int64)
            if chunk[0] < prev or np.any(np.diff(chunk) <= 0):
                raise CorruptIndexError(f"{path}: document offsets are not strictly increasing")
            prev = int(chunk[-1])
    last = int(od[-1])
    if last >= ds_size or last % width:
        raise CorruptIndexError(f"{path}: last document offset {last} is outside the {ds_size}-byte token file")
    # every offset must point at a separator token: check a bounded sample (first, last, 1000 spread)
    idx = np.unique(np.linspace(0, n - 1, num=min(n, 1000)).astype(np.int64))
    starts = od[idx].astype(np.int64)
    for k in range(width):
        if np.any(ds[starts + k] != 0xFF):
            raise CorruptIndexError(f"{path}: a document offset does not point at a separator in the token file")


def file_size(path: Path) -> int:
    return os.stat(path).st_size
