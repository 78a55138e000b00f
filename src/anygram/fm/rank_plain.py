"""Baseline rank structure over a BWT: the symbols at minimal width plus per-block counts.

Files (``prefix`` is chosen by the caller, e.g. ``fm0.``):

``{prefix}bwt``   the BWT, one little-endian symbol of 1, 2 or 4 bytes each (the narrowest that
                  holds ``sigma - 1``);
``{prefix}occ``   little-endian uint32 (uint64 when the BWT has 2**32 or more symbols) matrix of
                  ``nblocks + 1`` rows by ``sigma`` columns: row ``b`` holds the number of each
                  symbol in ``bwt[0 : b * block]``.

``rank(c, i)`` reads one row and scans at most ``block / 2`` symbols (from the nearer block
boundary). ``block`` is a power of two, at least 4096 and at least ``4 * sigma``, so the count
matrix costs ``4 * sigma / block`` <= 1 byte per symbol: ~0.25 byte per symbol for byte-level
text, up to 1 byte per symbol (and long scans) for a 50k-token vocabulary.
It is simple and obviously correct; the compressed structures are in the other ``rank_*``
modules with the same interface.
"""

from __future__ import annotations

import builtins
import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..engine._jit import kernel
from ..errors import CorruptIndexError
from ..format.shard import map_exact
from .rank_files import meta_int, symbol_dtype

NAME = "plain"
#: BWT symbols processed per build step (a multiple of every block size used)
_CHUNK_BLOCKS = 256


def block_size(sigma: int) -> int:
    b = 4096
    while b < 4 * sigma:
        b <<= 1
    return b


def _write(path: Path, chunks, h) -> int:
    tmp = path.with_name(path.name + ".tmp")
    size = 0
    with builtins.open(tmp, "wb") as f:
        for c in chunks:
            if c.size == 0:
                continue
            buf = memoryview(np.ascontiguousarray(c).reshape(-1)).cast("B")
            f.write(buf)
            h.update(buf)
            size += buf.nbytes
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return size


def build(bwt: np.ndarray, sigma: int, out_dir: Path, prefix: str, **params: Any) -> dict[str, Any]:
    """Write ``{prefix}bwt`` and ``{prefix}occ`` for ``bwt`` (symbols < sigma); returns the metadata.

    Streams over ``bwt`` in chunks of ``256 * block`` symbols (bounded memory).
    """
    if params:
        raise ValueError(f"rank_plain takes no parameters, got {sorted(params)}")
    n = int(bwt.shape[0])
    B = block_size(sigma)
    sdt = symbol_dtype(sigma)
    odt = np.dtype("<u4") if n < (1 << 32) else np.dtype("<u8")
    step = B * _CHUNK_BLOCKS
    hb, ho = hashlib.sha256(), hashlib.sha256()

    def sym_chunks():
        for a in range(0, n, step):
            c = np.asarray(bwt[a : a + step])
            if c.size and int(c.max()) >= sigma:
                raise ValueError("BWT symbol >= sigma")
            yield c.astype(sdt, copy=False)

    def occ_chunks():
        run = np.zeros(sigma, dtype=np.int64)
        yield run.astype(odt)
        for a in range(0, n, step):
            c = np.asarray(bwt[a : a + step]).astype(np.int64)
            nb = -(-c.shape[0] // B)
            blk = np.arange(c.shape[0], dtype=np.int64) // B
            per = np.bincount(blk * sigma + c, minlength=nb * sigma).reshape(nb, sigma)
            rows = np.cumsum(per, axis=0) + run
            run = rows[-1].copy()
            full = c.shape[0] // B  # rows after complete blocks; a partial last block adds no row
            yield rows[:full].astype(odt)

    bwt_name, occ_name = f"{prefix}bwt", f"{prefix}occ"
    bsize = _write(out_dir / bwt_name, sym_chunks(), hb)
    osize = _write(out_dir / occ_name, occ_chunks(), ho)
    return {
        "name": NAME,
        "n": n,
        "sigma": int(sigma),
        "block": B,
        "symbol_bytes": sdt.itemsize,
        "count_bytes": odt.itemsize,
        "files": {
            "bwt": {"name": bwt_name, "bytes": bsize, "sha256": hb.hexdigest()},
            "occ": {"name": occ_name, "bytes": osize, "sha256": ho.hexdigest()},
        },
    }


def open(out_dir: Path, prefix: str, meta: dict[str, Any]) -> tuple:
    """Map the files and validate their sizes and the count matrix's shape; returns the kernels' tuple."""
    if meta.get("name") != NAME:
        raise CorruptIndexError(f"rank structure {meta.get('name')!r} is not {NAME!r}")
    n = meta_int(meta, "n", 1, 1 << 62)
    sigma = meta_int(meta, "sigma", 1, 1 << 32)
    B = meta_int(meta, "block", 1, 1 << 40)
    if B != block_size(sigma):
        raise CorruptIndexError(f"rank structure: block {B} does not match sigma {sigma}")
    sdt = symbol_dtype(sigma)
    odt = np.dtype("<u4") if n < (1 << 32) else np.dtype("<u8")
    if meta.get("symbol_bytes") != sdt.itemsize or meta.get("count_bytes") != odt.itemsize:
        raise CorruptIndexError("rank structure: symbol or count width does not match n and sigma")
    files = meta.get("files")
    if not isinstance(files, dict) or not all(isinstance(files.get(k), dict) for k in ("bwt", "occ")):
        raise CorruptIndexError("rank structure: metadata lists no bwt/occ files")
    bwt = map_exact(out_dir / files["bwt"]["name"], sdt, n)
    rows = n // B + 1
    occ = map_exact(out_dir / files["occ"]["name"], odt, rows * sigma).reshape(rows, sigma)
    # the last row's counts add up to the symbols before it (a cheap structural check)
    if int(occ[-1].astype(np.int64).sum()) != (rows - 1) * B:
        raise CorruptIndexError(f"{out_dir / files['occ']['name']}: counts do not add up to the block boundaries")
    return (bwt, occ, np.int64(B.bit_length() - 1), np.int64(sigma), np.int64(n))


def size_bytes(R: tuple) -> int:
    return int(R[0].nbytes + R[1].nbytes)


@kernel(cache=True, nogil=True)
def rank(R, c, i):
    """Occurrences of symbol ``c`` in ``bwt[0:i]``."""
    bwt = R[0]
    occ = R[1]
    lg = R[2]
    n = R[4]
    B = np.int64(1) << lg
    b = i >> lg
    start = b << lg
    if i - start <= B >> 1 or start + B > n:
        r = np.int64(occ[b, c])
        for k in range(start, i):
            if bwt[k] == c:
                r += 1
        return r
    r = np.int64(occ[b + 1, c])
    for k in range(i, start + B):
        if bwt[k] == c:
            r -= 1
    return r


@kernel(cache=True, nogil=True)
def access(R, i):
    """``(c, rank(c, i))`` with ``c = bwt[i]``: one LF step is ``C[c] + r``."""
    c = np.int64(R[0][i])
    if c >= R[3]:  # corrupted symbol: the caller's range check rejects it
        return c, np.int64(0)
    return c, rank(R, c, i)


@kernel(cache=True, nogil=True)
def _counts_at(R, i, out):
    """``out[c] = rank(c, i)`` for every symbol."""
    bwt = R[0]
    occ = R[1]
    lg = R[2]
    sigma = R[3]
    b = i >> lg
    for c in range(sigma):
        out[c] = occ[b, c]
    for k in range(b << lg, i):
        v = np.int64(bwt[k])
        if v < sigma:  # a corrupted symbol is skipped: wrong counts, never a write out of bounds
            out[v] += 1


@kernel(cache=True, nogil=True)
def range_symbols(R, lo, hi, out_sym, out_cnt):
    """The distinct symbols of ``bwt[lo:hi]`` in ascending order with their counts; returns their number."""
    bwt = R[0]
    sigma = R[3]
    if hi <= lo:
        return 0
    tmp = np.zeros(sigma, dtype=np.int64)
    B = np.int64(1) << R[2]
    if hi - lo <= B:
        for k in range(lo, hi):
            v = np.int64(bwt[k])
            if v < sigma:
                tmp[v] += 1
    else:
        a = np.zeros(sigma, dtype=np.int64)
        _counts_at(R, hi, tmp)
        _counts_at(R, lo, a)
        for c in range(sigma):
            tmp[c] -= a[c]
    k = 0
    for c in range(sigma):
        if tmp[c] > 0:
            out_sym[k] = c
            out_cnt[k] = tmp[c]
            k += 1
    return k
