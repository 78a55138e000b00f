"""Binary search of a byte pattern in a suffix array over token bytes.

Arrays (all read-only uint8, validated by :func:`anygram.format.shard.open_shard`):
``ds`` the token bytes of a shard, ``sa`` its suffix array (``k`` bytes per entry, little-endian
byte offsets into ``ds``). Suffixes are ordered byte-lexicographically, a suffix that is a proper
prefix of another sorting first; the suffixes that start with a pattern form one contiguous
range of ranks.

Every pointer read from ``sa`` is range-checked: a corrupt suffix array raises
``SuffixArrayCorrupt`` (turned into :class:`anygram.errors.CorruptIndexError` by the caller),
never an out-of-bounds read.
"""

from __future__ import annotations

from ._jit import kernel
import numpy as np


class SuffixArrayCorrupt(Exception):
    """Raised inside kernels when a suffix-array pointer lies outside the token file."""


@kernel(cache=True, nogil=True, inline="always")
def read_ptr(sa, rank, k, ds_size):
    """The byte offset stored at ``rank`` (k bytes, little-endian), checked against ``ds_size``."""
    base = rank * k
    ptr = np.int64(0)
    for j in range(k):
        ptr |= np.int64(sa[base + j]) << (8 * j)
    if ptr < 0 or ptr >= ds_size:
        raise SuffixArrayCorrupt("suffix array pointer outside the token file")
    return ptr


@kernel(cache=True, nogil=True, inline="always")
def compare_at(ds, ptr, q, qstart, qlen):
    """Three-way compare of ``ds[ptr : ptr+qlen]`` (clipped at the end of ds) with ``q[qstart:qstart+qlen]``.

    Returns -1 if the suffix sorts before the pattern, 1 if after, 0 if it starts with it.
    """
    n = ds.shape[0]
    avail = n - ptr
    m = qlen if qlen < avail else avail
    for i in range(m):
        a = ds[ptr + i]
        b = q[qstart + i]
        if a != b:
            return -1 if a < b else 1
    if m < qlen:
        return -1  # the suffix ends first: it is a proper prefix of the pattern
    return 0


@kernel(cache=True, nogil=True)
def find_range(ds, sa, k, q, qstart, qlen, lo, hi):
    """Ranks ``[start, end)`` of the suffixes in ``[lo, hi)`` that start with ``q[qstart:qstart+qlen]``.

    ``[lo, hi)`` must be a rank range that contains every match (the whole array, or the range of
    a prefix of the pattern). An empty pattern matches the whole range.
    """
    if qlen == 0 or lo >= hi:
        return lo, (hi if qlen == 0 else lo)
    ds_size = ds.shape[0]
    # Phase 1: narrow [lo, hi) until a match is seen at mi.
    # Invariant: every rank < lo sorts before the pattern, every rank >= hi after it.
    mi = lo
    found = False
    while lo < hi:
        mi = (lo + hi - 1) >> 1
        c = compare_at(ds, read_ptr(sa, mi, k, ds_size), q, qstart, qlen)
        if c < 0:
            lo = mi + 1
        elif c > 0:
            hi = mi
        else:
            found = True
            break
    if not found:
        return lo, lo
    # Phase 2a: first match in (lo-1, mi]. Invariant: l sorts before (or l == lo-1), r matches.
    l = lo - 1
    r = mi
    while r - l > 1:
        m = (l + r) >> 1
        if compare_at(ds, read_ptr(sa, m, k, ds_size), q, qstart, qlen) < 0:
            l = m
        else:
            r = m
    start = r
    # Phase 2b: end of matches in (mi, hi]. Invariant: l matches, r sorts after (or r == hi).
    l = mi
    r = hi
    while r - l > 1:
        m = (l + r) >> 1
        if compare_at(ds, read_ptr(sa, m, k, ds_size), q, qstart, qlen) > 0:
            r = m
        else:
            l = m
    return start, r


@kernel(cache=True, nogil=True)
def find_ranges_batch(ds, sa, k, qbuf, qoffs, out):
    """``out[i] = find_range`` of the pattern ``qbuf[qoffs[i]:qoffs[i+1]]`` over the whole array."""
    n = sa.shape[0] // k if k > 0 else 0
    for i in range(qoffs.shape[0] - 1):
        s, e = find_range(ds, sa, k, qbuf, qoffs[i], qoffs[i + 1] - qoffs[i], 0, n)
        out[i, 0] = s
        out[i, 1] = e


@kernel(cache=True, nogil=True)
def extend_range(ds, sa, k, q, qstart, qlen, done, lo, hi):
    """Refine ``[lo, hi)`` — the range of the first ``done`` bytes of the pattern — to the whole pattern.

    Only bytes ``done..qlen`` are compared, so extending a match by one token costs a binary
    search over the current (narrow) range comparing one token.
    """
    if lo >= hi or done >= qlen:
        return lo, hi
    return _find_from(ds, sa, k, q, qstart, qlen, done, lo, hi)


@kernel(cache=True, nogil=True)
def _find_from(ds, sa, k, q, qstart, qlen, skip, lo, hi):
    # Same as find_range, but the first `skip` bytes of every suffix in [lo, hi) are known to
    # equal the pattern's: compare from byte `skip` on.
    ds_size = ds.shape[0]
    rest = qlen - skip
    mi = lo
    found = False
    while lo < hi:
        mi = (lo + hi - 1) >> 1
        c = compare_at(ds, read_ptr(sa, mi, k, ds_size) + skip, q, qstart + skip, rest)
        if c < 0:
            lo = mi + 1
        elif c > 0:
            hi = mi
        else:
            found = True
            break
    if not found:
        return lo, lo
    l = lo - 1
    r = mi
    while r - l > 1:
        m = (l + r) >> 1
        if compare_at(ds, read_ptr(sa, m, k, ds_size) + skip, q, qstart + skip, rest) < 0:
            l = m
        else:
            r = m
    start = r
    l = mi
    r = hi
    while r - l > 1:
        m = (l + r) >> 1
        if compare_at(ds, read_ptr(sa, m, k, ds_size) + skip, q, qstart + skip, rest) > 0:
            r = m
        else:
            l = m
    return start, r


@kernel(cache=True, nogil=True)
def lcp_bytes(ds, ptr, q, qstart, qlen):
    """Length in bytes of the common prefix of ``ds[ptr:]`` and ``q[qstart:qstart+qlen]``."""
    n = ds.shape[0]
    i = 0
    while i < qlen and ptr + i < n and ds[ptr + i] == q[qstart + i]:
        i += 1
    return i
