"""Suffix array of one shard with pydivsufsort, token-aligned, packed to the minimal pointer width.

Memory: the token bytes (n) plus libdivsufsort's output (4n bytes below 2 GiB, 8n above), plus
an output buffer only when pointers must be packed to a width other than the sort's.
"""

from __future__ import annotations

import hashlib
import os
import resource
import time
from pathlib import Path
from typing import Any

import numba as nb
import numpy as np

from ..errors import BuildError

#: pydivsufsort sorts with 32-bit indices below this many bytes
INT32_LIMIT = (1 << 31) - 1


def ptr_size_for(ds_size: int) -> int:
    """Bytes per suffix-array pointer: enough to address every byte offset (as infini-gram)."""
    return max(1, ((max(ds_size, 1) - 1).bit_length() + 7) // 8)


@nb.njit(cache=True, nogil=True)
def _keep_aligned(sa, width):
    """Compact, in place, the entries that are multiples of ``width``; returns their number."""
    j = 0
    for i in range(sa.shape[0]):
        v = sa[i]
        if v % width == 0:
            sa[j] = v
            j += 1
    return j


@nb.njit(cache=True, nogil=True)
def _pack(sa, n, k, out):
    """Write the first ``n`` entries of ``sa`` as ``k``-byte little-endian integers into ``out``."""
    for i in range(n):
        v = np.int64(sa[i])
        base = i * k
        for j in range(k):
            out[base + j] = (v >> (8 * j)) & 0xFF


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
    h = hashlib.sha256()
    if ds_size == 0:
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
        with open(tmp, "wb") as f:
            if sa.dtype.itemsize == k and sa.dtype.byteorder in ("<", "=", "|"):
                buf = memoryview(sa[:n].view(np.uint8))
                f.write(buf)
                h.update(buf)
            else:
                step = 1 << 24  # pack in chunks to bound the extra memory
                out = np.empty(step * k, dtype=np.uint8)
                for s in range(0, n, step):
                    m = min(step, n - s)
                    _pack(sa[s : s + m], m, k, out)
                    chunk = memoryview(out[: m * k])
                    f.write(chunk)
                    h.update(chunk)
            f.flush()
            os.fsync(f.fileno())
        del sa
    os.replace(tmp, sa_path)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "ptr_size": k,
        "bytes": sa_path.stat().st_size,
        "sha256": h.hexdigest(),
        "seconds": time.perf_counter() - t0,
        "peak_rss": peak,
    }
