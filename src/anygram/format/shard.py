"""Opening one shard's files as read-only memory maps, with structural validation.

Everything the kernels index is checked here first (sizes, pointer width, document offsets), so
that no kernel can read outside a mapping; pointer values read from the suffix array are
range-checked inside the kernels themselves, and document / metadata offsets are re-checked by
:meth:`Shard.doc_span` and :meth:`Shard.metadata` when they are used.

Opening stays O(1) in the size of the index: an array is scanned entirely only when it is at
most :data:`FULL_SCAN_BYTES` long or when ``verify='full'``; otherwise :data:`SAMPLE` entries
spread over it (and their neighbours) are checked.
"""

from __future__ import annotations

import json
import mmap
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..engine._jit import jit_enabled, kernel
import numpy as np

from ..errors import CorruptIndexError

_EMPTY = np.zeros(0, dtype=np.uint8)
_EMPTY.setflags(write=False)

#: arrays up to this many bytes are checked entirely on every open
FULL_SCAN_BYTES = 16 << 20
#: entries checked in arrays larger than that (unless verify="full")
SAMPLE = 1024
#: entries per chunk of a full scan (bounds temporary memory)
CHUNK = 1 << 22
#: bytes compared per adjacent suffix pair when checking the suffix-array order (at open / full)
ORDER_BYTES = 32
ORDER_BYTES_FULL = 256
#: the permutation check needs one byte per token; above this many tokens it is skipped
PERMUTATION_LIMIT = 1 << 28


def map_file(path: Path) -> np.ndarray:
    """Map a file read-only as a uint8 array (an empty array for an empty file)."""
    try:
        size = path.stat().st_size
        if size == 0:
            return _EMPTY
        with open(path, "rb") as f:
            mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except OSError as exc:
        raise CorruptIndexError(f"{path}: cannot map: {exc}") from None
    try:
        mm.madvise(mmap.MADV_RANDOM)
    except (AttributeError, OSError):  # pragma: no cover - platform dependent
        pass
    return np.frombuffer(mm, dtype=np.uint8)


def map_exact(path: Path, dtype: np.dtype, count: int) -> np.ndarray:
    """Map a file read-only as ``count`` values of ``dtype``; it must hold exactly that many bytes.

    An empty result is read-only too: the same numba type as a map, so no extra compilation.
    """
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise CorruptIndexError(f"{path}: cannot access: {exc}") from None
    if size != count * dtype.itemsize:
        raise CorruptIndexError(f"{path}: {size} bytes, expected {count * dtype.itemsize}")
    return map_file(path).view(dtype)


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
    paths: dict[str, Path] = field(default_factory=dict)

    @property
    def ds_size(self) -> int:
        return int(self.ds.shape[0])

    def doc_span(self, local_doc_ix: int) -> tuple[int, int]:
        """Byte range ``[start, end)`` of a document's tokens (after its separator), validated.

        Raises :class:`CorruptIndexError` if the offsets around this document are inconsistent
        (not increasing, misaligned, outside the token file, or not at a separator).
        """
        if not 0 <= local_doc_ix < self.doc_cnt:
            raise CorruptIndexError(f"shard {self.name}: document {local_doc_ix} does not exist")
        w = self.token_width
        n = self.ds_size
        sep = int(self.od[local_doc_ix])
        end = int(self.od[local_doc_ix + 1]) if local_doc_ix + 1 < self.doc_cnt else n
        if not (0 <= sep < end <= n) or sep % w or end % w or not self._is_sep(sep) or (end < n and not self._is_sep(end)):
            raise CorruptIndexError(f"shard {self.name}: document {local_doc_ix} has invalid offsets ({sep}, {end}) in its offset file")
        return sep + w, end

    def _is_sep(self, pos: int) -> bool:
        return bool(np.all(self.ds[pos : pos + self.token_width] == 0xFF))

    def metadata(self, local_doc_ix: int) -> dict[str, Any]:
        """Parsed metadata of one document of this shard ({} when the index has none)."""
        if self.mt is None or self.om is None:
            return {}
        if not 0 <= local_doc_ix < self.doc_cnt:
            raise CorruptIndexError(f"shard {self.name}: document {local_doc_ix} does not exist")
        start = int(self.om[local_doc_ix])
        end = int(self.om[local_doc_ix + 1]) if local_doc_ix + 1 < self.doc_cnt else self.mt.shape[0]
        if not (0 <= start <= end <= self.mt.shape[0]):
            raise CorruptIndexError(f"shard {self.name}: metadata offsets of document {local_doc_ix} are out of range")
        raw = bytes(self.mt[start:end]).decode("utf-8", errors="replace").strip()
        if not raw:
            return {}
        try:
            value = json.loads(raw)
        except (json.JSONDecodeError, RecursionError):
            raise CorruptIndexError(f"shard {self.name}: metadata of document {local_doc_ix} is not JSON (metadata file corrupted)") from None
        return value if isinstance(value, dict) else {"metadata": value}


def _stat_size(path: Path) -> int:
    try:
        if not path.is_file():
            raise CorruptIndexError(f"{path}: missing shard file")
        return path.stat().st_size
    except OSError as exc:
        raise CorruptIndexError(f"{path}: cannot access: {exc}") from None


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
    *,
    verify: str = "auto",
) -> Shard:
    """Map and validate one shard; raises :class:`CorruptIndexError` on any inconsistency.

    ``verify='full'`` scans every array entirely (see :func:`validate_shard`); other modes scan
    small arrays entirely and sample large ones.
    """
    if token_width not in (1, 2, 4):
        raise CorruptIndexError(f"{ds_path}: token width {token_width} is not 1, 2 or 4")
    ds_size = _stat_size(ds_path)
    sa_size = _stat_size(sa_path)
    od_size = _stat_size(od_path)
    if ds_size % token_width:
        raise CorruptIndexError(f"{ds_path}: {ds_size} bytes is not a multiple of the token width {token_width}")
    tok_cnt = ds_size // token_width
    if expect_tokens is not None and tok_cnt != expect_tokens:
        raise CorruptIndexError(f"{ds_path}: holds {tok_cnt} tokens, the manifest says {expect_tokens}")
    if tok_cnt == 0:
        ptr_size = expect_ptr_size or 1
        if sa_size != 0:
            raise CorruptIndexError(f"{sa_path}: non-empty suffix array for an empty shard")
    else:
        if sa_size % tok_cnt:
            raise CorruptIndexError(f"{sa_path}: {sa_size} bytes is not a whole number of pointers for {tok_cnt} tokens")
        ptr_size = sa_size // tok_cnt
        if ptr_size < 1 or ptr_size > 8 or (ptr_size < 8 and (1 << (8 * ptr_size)) < ds_size):
            raise CorruptIndexError(f"{sa_path}: pointer size {ptr_size} bytes cannot address {ds_size} bytes")
        if expect_ptr_size is not None and ptr_size != expect_ptr_size:
            raise CorruptIndexError(f"{sa_path}: pointer size {ptr_size}, the manifest says {expect_ptr_size}")
    if od_size % 8:
        raise CorruptIndexError(f"{od_path}: {od_size} bytes is not a multiple of 8")
    doc_cnt = od_size // 8
    if expect_docs is not None and doc_cnt != expect_docs:
        raise CorruptIndexError(f"{od_path}: holds {doc_cnt} documents, the manifest says {expect_docs}")
    if doc_cnt > tok_cnt:
        raise CorruptIndexError(f"{od_path}: {doc_cnt} documents for {tok_cnt} tokens (each document starts with a separator)")

    paths = {"tokenized": ds_path, "table": sa_path, "offset": od_path}
    ds = map_file(ds_path)
    sa = map_file(sa_path)
    od = map_file(od_path).view("<u8") if doc_cnt else np.zeros(0, dtype="<u8")

    mt = om = None
    if mt_path is not None and om_path is not None and mt_path.is_file() and om_path.is_file():
        om_size = _stat_size(om_path)
        if om_size != doc_cnt * 8:
            raise CorruptIndexError(f"{om_path}: {om_size} bytes, expected 8 per document ({doc_cnt} documents)")
        mt = map_file(mt_path)
        om = map_file(om_path).view("<u8") if doc_cnt else np.zeros(0, dtype="<u8")
        paths["metadata"] = mt_path
        paths["metaoff"] = om_path
    shard = Shard(name, ds, sa, od, mt, om, token_width, ptr_size, tok_cnt, doc_cnt, paths)
    validate_shard(shard, full=(verify == "full"))
    return shard


# ------------------------------------------------------------------ structural checks
def validate_shard(sh: Shard, full: bool = False) -> None:
    """Structural invariants of a mapped shard; raises :class:`CorruptIndexError`.

    * offsets: start at 0, strictly increase, are multiples of the token width, lie inside the
      token file and each points at a separator token; the token file holds exactly as many
      separator tokens as there are documents;
    * metadata offsets: start at 0, never decrease, stay inside the metadata file, and (when the
      metadata file is newline-terminated) strictly increase and each starts a line;
    * suffix array: every pointer is inside the token file and a multiple of the token width,
      every token position appears once, adjacent suffixes are in increasing order.

    Arrays up to :data:`FULL_SCAN_BYTES` (all with ``full``) are checked entirely, larger ones on
    :data:`SAMPLE` entries spread over them; the kernels and :meth:`Shard.doc_span` /
    :meth:`Shard.metadata` check the rest when they read it.
    """
    p = sh.paths
    _check_offsets(sh, p.get("offset", Path(sh.name)), full)
    if sh.om is not None and sh.mt is not None:
        _check_metaoff(sh, p.get("metaoff", Path(sh.name)), full)
    _check_table(sh, p.get("table", Path(sh.name)), full)


def _sample(n: int) -> np.ndarray:
    """About SAMPLE sorted distinct indices in [0, n), first and last included, with neighbours i+1."""
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    idx = np.linspace(0, n - 1, num=min(n, SAMPLE)).astype(np.int64)
    idx = np.sort(np.concatenate([idx, np.minimum(idx + 1, n - 1)]))
    # dedupe without np.unique, which imports numpy.ma (~20 ms of a one-shot CLI query)
    keep = np.ones(idx.shape[0], dtype=bool)
    keep[1:] = idx[1:] != idx[:-1]
    return idx[keep]


def _chunks(n: int):
    for a in range(0, n, CHUNK):
        yield a, min(n, a + CHUNK)


def _sep_at(ds: np.ndarray, pos: np.ndarray, width: int) -> bool:
    ok = np.ones(pos.shape[0], dtype=bool)
    for k in range(width):
        ok &= ds[pos + k] == 0xFF
    return bool(ok.all())


def _check_offsets(sh: Shard, path: Path, full: bool) -> None:
    od, ds, w = sh.od, sh.ds, sh.token_width
    n, ds_size = sh.doc_cnt, sh.ds_size
    if ds_size == 0:
        if n:
            raise CorruptIndexError(f"{path}: documents listed for an empty shard")
        return
    if n == 0:
        raise CorruptIndexError(f"{path}: no document offsets for a non-empty shard")
    if int(od[0]) != 0:
        raise CorruptIndexError(f"{path}: first document offset is {int(od[0])}, not 0")
    last = int(od[-1])
    if last >= ds_size or last % w:
        raise CorruptIndexError(f"{path}: last document offset {last} is outside the {ds_size}-byte token file or misaligned")
    bad_order = f"{path}: document offsets are not strictly increasing"
    bad_sep = f"{path}: a document offset does not point at a separator in the token file"
    if full or od.nbytes <= FULL_SCAN_BYTES:
        prev = -1
        for a, b in _chunks(n):
            raw = od[a:b]
            if np.any(raw >= np.uint64(ds_size)):
                raise CorruptIndexError(f"{path}: a document offset is outside the {ds_size}-byte token file")
            chunk = raw.astype(np.int64)
            if chunk[0] <= prev or np.any(np.diff(chunk) <= 0):
                raise CorruptIndexError(bad_order)
            if np.any(chunk % w):
                raise CorruptIndexError(f"{path}: a document offset is not a multiple of the token width {w}")
            if not _sep_at(ds, chunk, w):
                raise CorruptIndexError(bad_sep)
            prev = int(chunk[-1])
        if full or ds.nbytes <= FULL_SCAN_BYTES:
            seps = _count_separators(ds, w)
            if seps != n:
                raise CorruptIndexError(f"{path}: {n} documents but the token file holds {seps} separator tokens")
        return
    idx = _sample(n)
    vals = od[idx]
    if np.any(vals >= np.uint64(ds_size)):
        raise CorruptIndexError(f"{path}: a document offset is outside the {ds_size}-byte token file")
    vals = vals.astype(np.int64)
    if np.any(np.diff(vals) <= 0):
        raise CorruptIndexError(bad_order)
    if np.any(vals % w):
        raise CorruptIndexError(f"{path}: a document offset is not a multiple of the token width {w}")
    if not _sep_at(ds, vals, w):
        raise CorruptIndexError(bad_sep)


def _count_separators(ds: np.ndarray, w: int) -> int:
    toks = ds.view({1: "<u1", 2: "<u2", 4: "<u4"}[w])
    sep = (1 << (8 * w)) - 1
    total = 0
    for a, b in _chunks(toks.shape[0]):
        total += int(np.count_nonzero(toks[a:b] == sep))
    return total


def _check_metaoff(sh: Shard, path: Path, full: bool) -> None:
    om, mt = sh.om, sh.mt
    if om is None or mt is None or sh.doc_cnt == 0:
        return
    size = mt.shape[0]
    if int(om[0]) != 0:
        raise CorruptIndexError(f"{path}: first metadata offset is {int(om[0])}, not 0")
    lines = size > 0 and int(mt[size - 1]) == 0x0A
    bad = f"{path}: metadata offsets are not increasing within the {size}-byte metadata file"
    if full or om.nbytes <= FULL_SCAN_BYTES:
        prev = 0
        for a, b in _chunks(sh.doc_cnt):
            raw = om[a:b]
            if np.any(raw > np.uint64(size)):
                raise CorruptIndexError(bad)
            chunk = raw.astype(np.int64)
            # newline-terminated lines are never empty: their starts strictly increase
            if chunk[0] < prev + (lines and a > 0) or np.any(np.diff(chunk) < (1 if lines else 0)):
                raise CorruptIndexError(bad)
            starts = chunk[chunk > 0]
            if lines and starts.size and np.any(mt[np.minimum(starts, size) - 1] != 0x0A):
                raise CorruptIndexError(f"{path}: a metadata offset does not start a line of the metadata file")
            prev = int(chunk[-1])
        return
    idx = _sample(sh.doc_cnt)
    raw = om[idx]
    if np.any(raw > np.uint64(size)):
        raise CorruptIndexError(bad)
    vals = raw.astype(np.int64)
    if np.any(np.diff(vals) < (1 if lines else 0)):
        raise CorruptIndexError(bad)
    starts = vals[vals > 0]
    if lines and starts.size and np.any(mt[starts - 1] != 0x0A):
        raise CorruptIndexError(f"{path}: a metadata offset does not start a line of the metadata file")


def _pointers(sa: np.ndarray, k: int, ranks: np.ndarray) -> np.ndarray:
    """Suffix-array entries at ``ranks`` as uint64."""
    raw = sa[(ranks[:, None] * k + np.arange(k)[None, :])]
    out = np.zeros(raw.shape[0], dtype=np.uint64)
    for j in range(k):
        out |= raw[:, j].astype(np.uint64) << np.uint64(8 * j)
    return out


def _check_table(sh: Shard, path: Path, full: bool) -> None:
    n, k, w, ds_size = sh.tok_cnt, sh.ptr_size, sh.token_width, sh.ds_size
    if n == 0:
        return
    bad_ptr = f"{path}: a suffix-array pointer is outside the {ds_size}-byte token file or not a multiple of the token width {w}"
    bad_order = f"{path}: suffix-array entries are out of order"
    # without the JIT (ANYGRAM_JIT=0, one-shot CLI queries) only tiny tables are scanned whole
    limit = FULL_SCAN_BYTES if jit_enabled() else 64 << 10
    if full or sh.sa.nbytes <= limit:
        seen = np.zeros(n if n <= PERMUTATION_LIMIT else 0, dtype=np.uint8)
        rank, kind = _scan_table(sh.ds, sh.sa, k, w, ORDER_BYTES_FULL if full else ORDER_BYTES, seen)
        if kind == 1:
            raise CorruptIndexError(f"{bad_ptr} (rank {rank})")
        if kind == 2:
            raise CorruptIndexError(f"{bad_order} (ranks {rank - 1} and {rank})")
        if kind == 3:
            raise CorruptIndexError(f"{path}: the suffix array lists token position {rank} twice (rank {rank})")
        return
    idx = _sample(n)
    ptrs = _pointers(sh.sa, k, idx)
    if np.any(ptrs >= np.uint64(ds_size)) or np.any(ptrs % np.uint64(w)):
        raise CorruptIndexError(bad_ptr)
    ptrs = ptrs.astype(np.int64)
    pairs = np.nonzero(np.diff(idx) == 1)[0]
    if not _ordered(sh.ds, ptrs[pairs], ptrs[pairs + 1]):
        raise CorruptIndexError(bad_order)


@kernel(cache=True, nogil=True)
def _scan_table(ds, sa, k, w, maxbytes, seen):
    """One pass over a whole suffix array: pointer range and alignment, every position once
    (when ``seen`` has one entry per token), adjacent suffixes increasing (first ``maxbytes``
    bytes compared). Returns ``(rank, kind)``: kind 0 ok, 1 bad pointer, 2 order, 3 duplicate."""
    n = ds.shape[0]
    cnt = sa.shape[0] // k
    check_seen = seen.shape[0] == cnt
    prev = np.int64(-1)
    for r in range(cnt):
        p = np.int64(0)
        for j in range(k):
            p |= np.int64(sa[r * k + j]) << (8 * j)
        if p < 0 or p >= n or p % w != 0:
            return r, 1
        if check_seen:
            t = p // w
            if seen[t]:
                return r, 3
            seen[t] = 1
        if prev >= 0:
            # suffix(prev) must sort strictly before suffix(p)
            i = 0
            while True:
                if i >= maxbytes:
                    break
                if p + i >= n:  # suffix(p) ended first (or both: equal pointers)
                    return r, 2
                if prev + i >= n:  # suffix(prev) is a proper prefix: in order
                    break
                a = ds[prev + i]
                b = ds[p + i]
                if a < b:
                    break
                if a > b:
                    return r, 2
                i += 1
        prev = p
    return -1, 0


def _ordered(ds: np.ndarray, a: np.ndarray, b: np.ndarray) -> bool:
    """Whether suffix ``ds[a[i]:]`` < ``ds[b[i]:]`` for every sampled pair, comparing up to ORDER_BYTES bytes.

    A suffix that is a prefix of the other sorts first; pairs still equal after ORDER_BYTES bytes
    are not judged (a check, not a proof).
    """
    n = ds.shape[0]
    und = np.arange(a.shape[0])
    for j in range(ORDER_BYTES):
        if und.size == 0:
            return True
        pa = a[und] + j
        pb = b[und] + j
        ea = pa >= n
        eb = pb >= n
        va = ds[np.minimum(pa, n - 1)]
        vb = ds[np.minimum(pb, n - 1)]
        both = ~ea & ~eb
        if np.any(eb | (both & (va > vb))):  # b ends first (or both do: equal pointers) or a > b
            return False
        und = und[both & (va == vb)]
    return True


def file_size(path: Path) -> int:
    return os.stat(path).st_size
