"""Kernel of the contamination analysis: which of many spans of one text occur, in one call."""

from __future__ import annotations

from ._jit import kernel
from ._search import find_range


@kernel(cache=True, nogil=True)
def spans_present(dss, sas, ks, q, starts, ends, out):
    """``out[j]`` = whether ``q[starts[j]:ends[j]]`` occurs in some shard (starts and ends non-decreasing).

    Invariant: ``q[a:b]`` is known to occur. A span inside it occurs too (a substring of an
    occurring string), so it needs no search; otherwise one existence search (shard by shard,
    stopping at the first hit) decides it, and a hit becomes the new ``[a, b)``. A text whose spans
    all occur costs one search per span that reaches past the last one found, absent spans one
    search each.
    """
    a = 0
    b = -1
    for j in range(starts.shape[0]):
        s = starts[j]
        e = ends[j]
        if s >= a and e <= b:
            out[j] = True
            continue
        found = False
        for t in range(len(dss)):
            n = sas[t].shape[0] // ks[t]
            lo, hi = find_range(dss[t], sas[t], ks[t], q, s, e - s, 0, n)
            if hi > lo:
                found = True
                break
        out[j] = found
        if found:
            a = s
            b = e
