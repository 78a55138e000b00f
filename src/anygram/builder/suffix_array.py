"""Suffix array of one shard with pydivsufsort, token-aligned, packed to the minimal pointer width.

Memory: the token bytes (n) plus libdivsufsort's output (4n bytes below 2 GiB, 8n above), plus
an output buffer only when pointers must be packed to a width other than the sort's.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BuildError

#: pydivsufsort sorts with 32-bit indices below this many bytes
INT32_LIMIT = (1 << 31) - 1


def ptr_size_for(ds_size: int) -> int:
    """Bytes per suffix-array pointer: enough to address every byte offset (as infini-gram)."""
    return max(1, ((max(ds_size, 1) - 1).bit_length() + 7) // 8)


#: suffix-array entries filtered / packed per step (bounds the extra memory to a few MiB)
_STEP = 1 << 20


def _keep_aligned(sa: np.ndarray, width: int) -> int:
    """Compact, in place, the entries that are multiples of ``width`` (a power of two).

    Returns their number. Works in steps so the extra memory stays a few MiB; plain numpy (no
    JIT) so that a freshly started worker process does not pay for loading compiled code.
    """
    mask = width - 1
    j = 0
    for s in range(0, sa.shape[0], _STEP):
        chunk = sa[s : s + _STEP]
        kept = chunk[(chunk & mask) == 0]  # a copy: safe to write at j <= s
        sa[j : j + kept.shape[0]] = kept
        j += kept.shape[0]
    return j


def _le_bytes(entries: np.ndarray, k: int) -> np.ndarray:
    """``entries`` as ``k``-byte little-endian integers (``k`` <= the dtype's width), one row each."""
    le = entries.astype(entries.dtype.newbyteorder("<"), copy=False)
    rows = le.view(np.uint8).reshape(le.shape[0], le.dtype.itemsize)
    return np.ascontiguousarray(rows[:, :k])


def _sha256() -> Any:
    """A SHA-256 hasher. hashlib (OpenSSL, ~3.6 MiB resident) is imported only once the sort is
    done, so that it is not part of the sort's peak memory."""
    import hashlib

    return hashlib.sha256()


def build_table(ds_path: str | os.PathLike[str], sa_path: str | os.PathLike[str], token_width: int) -> dict[str, Any]:
    """Build ``sa_path`` from ``ds_path``; returns ptr_size, bytes, sha256, seconds and peak RSS."""
    import pydivsufsort

    t0 = time.perf_counter()
    ds_path, sa_path = Path(ds_path), Path(sa_path)
    ds_size = ds_path.stat().st_size
    if ds_size % token_width:
        raise BuildError(f"{ds_path}: size {ds_size} is not a multiple of the token width")
    k = ptr_size_for(ds_size)
    tmp = sa_path.with_name(sa_path.name + ".tmp")
    if ds_size == 0:
        h = _sha256()
        tmp.write_bytes(b"")
    else:
        text = np.fromfile(ds_path, dtype=np.uint8)  # writable copy (libdivsufsort wants one)
        sa = pydivsufsort.divsufsort(text, force64=ds_size > INT32_LIMIT)
        del text
        n = sa.shape[0]
        if token_width > 1:
            n = _keep_aligned(sa, token_width)
        expected = ds_size // token_width
        if n != expected:
            raise BuildError(f"{ds_path}: suffix array has {n} aligned entries, expected {expected}")
        h = _sha256()
        with open(tmp, "wb") as f:
            little = sa.dtype.byteorder == "<" or (sa.dtype.byteorder in ("=", "|") and sys.byteorder == "little")
            if sa.dtype.itemsize == k and little:
                buf = memoryview(sa[:n]).cast("B")
                f.write(buf)
                h.update(buf)
            else:
                for s in range(0, n, _STEP):  # pack in steps: a few MiB of extra memory
                    chunk = memoryview(_le_bytes(sa[s : min(n, s + _STEP)], k)).cast("B")
                    f.write(chunk)
                    h.update(chunk)
            f.flush()
            os.fsync(f.fileno())
        del sa
    os.replace(tmp, sa_path)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    return {
        "ptr_size": k,
        "bytes": sa_path.stat().st_size,
        "sha256": h.hexdigest(),
        "seconds": time.perf_counter() - t0,
        "peak_rss": peak,
    }
