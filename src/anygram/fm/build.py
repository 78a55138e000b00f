"""Build one shard's FM-index from its token file (run in a build worker, like the suffix array).

The index is over the *reversed* token sequence ``X = T[n-1] ... T[0]`` of the shard (documents
and separators included) followed by a virtual terminator ``$`` smaller than every token:

* symbols are *codes*: ``$`` is 0, token ``alpha[k]`` is ``k + 1`` where ``alpha`` is the sorted
  list of distinct token ids of the shard (the separator, the largest id, included), so
  ``sigma = len(alpha) + 1`` and code order is token-id order;
* ``SA'`` is the suffix array of ``X$`` (``N = n + 1`` entries; ``SA'[0] = n`` is the ``$``
  suffix), sorted by token ids; it is built by pydivsufsort over the reversed tokens written
  big-endian, keeping token-aligned suffixes (the same memory as the suffix-array kind:
  ``n * w`` bytes of text plus 4 bytes per byte of suffix array);
* ``BWT[r] = X[SA'[r] - 1]`` (``$`` where ``SA'[r] = 0``) — the token that *follows*, in the
  original text, the occurrence the suffix stands for;
* ``C[c]`` = number of symbols of ``X$`` smaller than ``c`` (``sigma + 1`` int64);
* SA samples: ``SA'[r]`` for every rank ``r`` multiple of ``sa_sample`` (bit-packed, ``ceil(log2
  (n+1))`` bits each); ISA samples: the rank of every position ``j`` multiple of ``isa_sample``
  (bit-packed likewise);
* the rank structure over the BWT, written by the chosen ``anygram.fm.rank_<name>`` module.
"""

from __future__ import annotations

import importlib
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..builder.suffix_array import INT32_LIMIT, _keep_aligned, _sha256
from ..errors import BuildError

# numba is imported only after the suffix array is freed (``packed``, the rank module): its
# ~150 MB would otherwise add to the build's peak memory, in the workers and the main process.

#: rank structure used when none is asked for
DEFAULT_RANK = "fbb"
DEFAULT_SA_SAMPLE = 64
DEFAULT_ISA_SAMPLE = 128
#: bytes per step of the reversal and the alphabet count (bounds temporaries before the sort)
SMALL_STEP = 1 << 20
#: suffix-array entries per BWT step (~8 int64 temporaries of this size beside the suffix array)
BWT_STEP = 1 << 17


def _release(arr: np.ndarray, upto: int) -> None:
    """Give the pages of ``arr[:upto]`` (already consumed) back to the OS (Linux; else a no-op).

    The suffix array is read once, front to back, while the BWT is written: releasing what was
    read keeps the samples and temporaries from adding to the peak (text + suffix array).
    """
    if sys.platform != "linux" or not arr.flags.c_contiguous:
        return
    try:
        import ctypes
        import mmap

        libc = ctypes.CDLL(None, use_errno=True)
        page = mmap.PAGESIZE
        start = arr.ctypes.data
        first = -(-start // page) * page
        end = start + min(upto, arr.shape[0]) * arr.itemsize
        last = end // page * page
        if last > first:
            libc.madvise(ctypes.c_void_p(first), ctypes.c_size_t(last - first), 4)  # MADV_DONTNEED
    except (OSError, AttributeError, ValueError):  # pragma: no cover - best effort
        pass
_DT = {1: np.dtype("<u1"), 2: np.dtype("<u2"), 4: np.dtype("<u4")}


def symbol_dtype(sigma: int) -> np.dtype:
    """Narrowest little-endian unsigned dtype holding the codes ``0 .. sigma - 1``."""
    return np.dtype("<u1") if sigma <= 1 << 8 else np.dtype("<u2") if sigma <= 1 << 16 else np.dtype("<u4")


def check_rank_name(name: str) -> None:
    """Raise BuildError unless ``anygram.fm.rank_<name>`` exists (without importing it)."""
    import importlib.util

    if not isinstance(name, str) or not name.isidentifier() or importlib.util.find_spec(f"anygram.fm.rank_{name}") is None:
        raise BuildError(f"unknown FM rank structure {name!r} (no module anygram.fm.rank_{name})")


def rank_module(name: str):
    """The module ``anygram.fm.rank_<name>`` (raises BuildError if unknown)."""
    if not isinstance(name, str) or not name.isidentifier():
        raise BuildError(f"unknown FM rank structure {name!r}")
    try:
        return importlib.import_module(f"anygram.fm.rank_{name}")
    except ImportError:
        raise BuildError(f"unknown FM rank structure {name!r} (no module anygram.fm.rank_{name})") from None


def shard_file_names(n: int) -> dict[str, str]:
    return {"fm_sa": f"fm_sa.{n}", "fm_isa": f"fm_isa.{n}", "fm_alpha": f"fm_alpha.{n}", "fm_c": f"fm_c.{n}"}


def rank_prefix(n: int) -> str:
    return f"fm_rank.{n}."


def _alphabet(rb: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct token ids of the big-endian token bytes ``rb`` and their counts (in steps)."""
    toks = rb.view(np.dtype(f">u{width}"))
    n = toks.shape[0]
    if width <= 2:
        cnt = np.zeros(1 << (8 * width), dtype=np.int64)
        for a in range(0, n, SMALL_STEP):
            cnt += np.bincount(toks[a : a + SMALL_STEP], minlength=cnt.shape[0])
        vals = np.nonzero(cnt)[0]
        return vals.astype(np.int64), cnt[vals]
    vals = np.zeros(0, dtype=np.int64)
    cnts = np.zeros(0, dtype=np.int64)
    for a in range(0, n, SMALL_STEP):
        v, c = np.unique(toks[a : a + SMALL_STEP], return_counts=True)
        allv = np.concatenate([vals, v.astype(np.int64)])
        allc = np.concatenate([cnts, c.astype(np.int64)])
        vals, inv = np.unique(allv, return_inverse=True)
        cnts = np.bincount(inv, weights=allc).astype(np.int64)
    return vals, cnts


def _reverse_in_place(a: np.ndarray) -> None:
    """Reverse the bytes of ``a`` with a ``SMALL_STEP``-byte buffer (no copy of ``a``)."""
    buf = np.empty(SMALL_STEP, dtype=a.dtype)
    i, j = 0, a.shape[0]
    while j - i >= 2 * SMALL_STEP:
        lo, hi = a[i : i + SMALL_STEP], a[j - SMALL_STEP : j]
        buf[:] = lo[::-1]
        lo[:] = hi[::-1]
        hi[:] = buf
        i += SMALL_STEP
        j -= SMALL_STEP
    mid = a[i:j]
    mid[:] = mid[::-1].copy()


def _trim_heap() -> None:
    """Return freed heap memory to the OS before the sort (glibc's ``malloc_trim``; else a no-op).

    glibc keeps up to tens of MiB of freed small allocations (the steps above) in the heap; they
    would count in the sort's peak.
    """
    if sys.platform != "linux":
        return
    try:
        import ctypes

        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        pass


def _bwt_chunk(sa: np.ndarray, rb: np.ndarray, w: int, lut: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """BWT codes for suffix-array entries ``sa`` (token positions j of X): code of X[j-1], 0 for j = 0."""
    j = sa.astype(np.int64)
    pos = np.maximum(j - 1, 0) * w
    v = np.zeros(j.shape[0], dtype=np.int64)
    for b in range(w):
        v = (v << 8) | rb[pos + b]
    code = lut[v] if w <= 2 else np.searchsorted(alpha, v) + 1
    return np.where(j == 0, 0, code)


def _atomic_write(path: Path, arr: np.ndarray) -> dict[str, Any]:
    tmp = path.with_name(path.name + ".tmp")
    buf = memoryview(np.ascontiguousarray(arr)).cast("B")
    with open(tmp, "wb") as f:
        f.write(buf)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    h = _sha256()
    h.update(buf)
    return {"name": path.name, "bytes": buf.nbytes, "sha256": h.hexdigest()}


def build_fm(
    ds_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    shard: int,
    token_width: int,
    sa_sample: int = DEFAULT_SA_SAMPLE,
    isa_sample: int = DEFAULT_ISA_SAMPLE,
    rank: str = DEFAULT_RANK,
    rank_params: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Build shard ``shard``'s FM files in ``out_dir`` from its token file; returns the manifest entry data."""
    import pydivsufsort

    t0 = time.perf_counter()
    ds_path, out_dir = Path(ds_path), Path(out_dir)
    w = token_width
    ds_size = ds_path.stat().st_size
    if ds_size % w or ds_size == 0:
        raise BuildError(f"{ds_path}: size {ds_size} is not a positive multiple of the token width")
    if ds_size > INT32_LIMIT:
        raise BuildError(f"{ds_path}: {ds_size} bytes is above the 2 GiB shard limit of the FM builder")
    check_rank_name(rank)
    n = ds_size // w
    N = n + 1
    # reversed tokens, big-endian bytes (byte order = token-id order): the file's little-endian
    # bytes reversed as a whole; the same memory as the suffix-array kind's copy of the text
    rb = np.fromfile(ds_path, dtype=np.uint8)
    if rb.shape[0] != ds_size:
        raise BuildError(f"{ds_path}: read {rb.shape[0]} bytes, expected {ds_size}")
    _reverse_in_place(rb)
    alpha, counts = _alphabet(rb, w)
    sigma = int(alpha.shape[0]) + 1
    C = np.zeros(sigma + 1, dtype=np.int64)
    C[1] = 1
    C[2:] = 1 + np.cumsum(counts)
    lut = np.zeros(1 << (8 * w) if w <= 2 else 1, dtype=np.int64)
    if w <= 2:
        lut[alpha] = np.arange(1, sigma, dtype=np.int64)
    _trim_heap()
    sa = pydivsufsort.divsufsort(rb)
    m = sa.shape[0]
    if w > 1:
        m = _keep_aligned(sa, w)
        if m != n:
            raise BuildError(f"{ds_path}: {m} token-aligned suffixes, expected {n}")
        shift = w.bit_length() - 1
        for a in range(0, n, SMALL_STEP):
            sa[a : a + SMALL_STEP] >>= shift
    sa = sa[:n]

    names = shard_file_names(shard)
    sdt = symbol_dtype(sigma)
    bwt_tmp = out_dir / f"fm_bwt.{shard}.tmp"
    sa_cnt = -(-N // sa_sample)
    isa_cnt = n // isa_sample + 1
    sa_samp = np.zeros(sa_cnt, dtype=np.uint32)  # positions < 2**31 (the shard limit); filled in order
    sa_samp[0] = n  # rank 0: the $ suffix
    # ISA samples arrive in rank order, scattered over positions: kept as (position, rank) pairs
    # and scattered once the suffix array is gone (random writes into a full-size array would
    # make all its pages resident at the start, on top of the sort's peak)
    isa_parts: list[np.ndarray] = []
    if n % isa_sample == 0:
        isa_parts.append(np.array([[n // isa_sample, 0]], dtype=np.uint32))
    with open(bwt_tmp, "wb") as f:
        first = np.zeros(1, dtype=sdt)
        # rank 0 is the $ suffix (j = n): preceded by X[n-1] = T[0]
        t0v = 0
        for b in range(w):
            t0v = (t0v << 8) | int(rb[(n - 1) * w + b])
        first[0] = int(np.searchsorted(alpha, t0v)) + 1
        f.write(first.tobytes())
        a = 0
        while a < n:
            # steps grow with what was consumed: a step's temporaries (~80 bytes per entry) stay
            # below the suffix-array pages already given back (4 bytes per entry consumed)
            step = min(BWT_STEP, max(1024, a >> 5))
            chunk = np.asarray(sa[a : a + step]).astype(np.int64)
            _release(sa, a + step)
            f.write(_bwt_chunk(chunk, rb, w, lut, alpha).astype(sdt).tobytes())
            # SA samples: ranks r = a + 1 + i with r % sa_sample == 0
            r0 = a + 1
            first_i = (-r0) % sa_sample
            sel = chunk[first_i::sa_sample]
            if sel.shape[0]:
                k0 = (r0 + first_i) // sa_sample
                sa_samp[k0 : k0 + sel.shape[0]] = sel
            # ISA samples: positions j % isa_sample == 0 get rank a + 1 + i
            hit = np.nonzero(chunk % isa_sample == 0)[0]
            if hit.shape[0]:
                isa_parts.append(np.stack([chunk[hit] // isa_sample, hit + (a + 1)], axis=1).astype(np.uint32))
            del chunk
            a += step
        f.flush()
        os.fsync(f.fileno())
    del sa, rb
    isa_samp = np.zeros(isa_cnt, dtype=np.uint32)
    for part in isa_parts:
        isa_samp[part[:, 0]] = part[:, 1]
    del isa_parts
    from . import packed

    rmod = rank_module(rank)
    bits = packed.bits_for(n)
    sa_words = np.zeros(packed.words_for(sa_cnt, bits), dtype="<u8")
    isa_words = np.zeros(packed.words_for(isa_cnt, bits), dtype="<u8")
    packed.pack_into(sa_samp.astype(np.int64), bits, sa_words, 0)
    packed.pack_into(isa_samp.astype(np.int64), bits, isa_words, 0)
    del sa_samp, isa_samp
    files = {
        "fm_sa": _atomic_write(out_dir / names["fm_sa"], sa_words),
        "fm_isa": _atomic_write(out_dir / names["fm_isa"], isa_words),
        "fm_alpha": _atomic_write(out_dir / names["fm_alpha"], alpha.astype(_DT[w])),
        "fm_c": _atomic_write(out_dir / names["fm_c"], C.astype("<i8")),
    }
    del sa_words, isa_words
    bwt = np.memmap(bwt_tmp, dtype=sdt, mode="r")
    rmeta = rmod.build(bwt, sigma, out_dir, rank_prefix(shard), **(rank_params or {}))
    del bwt
    bwt_tmp.unlink()
    for key, entry in rmeta["files"].items():
        files[f"rank_{key}"] = dict(entry)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    return {
        "kind": "fm",
        "files": files,
        "fm": {
            "n": n,
            "sigma": sigma,
            "sa_sample": sa_sample,
            "isa_sample": isa_sample,
            "sample_bits": bits,
            "rank": rmeta,
        },
        "bytes": sum(f["bytes"] for f in files.values()),
        "seconds": time.perf_counter() - t0,
        "peak_rss": peak,
    }
