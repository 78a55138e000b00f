"""Kernel of the contamination analysis: which of many spans of one text occur, in one call."""

from __future__ import annotations

from ._jit import kernel
from ._search import find_range


@kernel(cache=True, nogil=True)
def _exists(dss, sas, ks, q, qstart, qlen):
    """Whether ``q[qstart:qstart+qlen]`` occurs in some shard (stops at the first shard with a hit)."""
    for t in range(len(dss)):
        n = sas[t].shape[0] // ks[t]
        lo, hi = find_range(dss[t], sas[t], ks[t], q, qstart, qlen, 0, n)
        if hi > lo:
            return True
    return False


@kernel(cache=True, nogil=True)
def spans_present(dss, sas, ks, q, starts, ends, out):
    """``out[j]`` = whether ``q[starts[j]:ends[j]]`` occurs (starts and ends non-decreasing).

    Invariant: ``q[a:b]`` is known to occur, so a span inside it occurs too (a substring of an
    occurring string) and needs no search. Any other span costs one existence search; after a
    hit at span j, the known span is galloped forward from the same start — ``q[s:ends[j+1]]``,
    ``q[s:ends[j+2]]``, ``q[s:ends[j+4]]``, ... while they occur — so a run of m occurring spans
    costs O(log m) searches per restart instead of m, and an absent span exactly one.
    """
    m = starts.shape[0]
    a = 0
    b = -1
    for j in range(m):
        s = starts[j]
        e = ends[j]
        if s >= a and e <= b:
            out[j] = True
            continue
        found = _exists(dss, sas, ks, q, s, e - s)
        out[j] = found
        if found:
            a = s
            b = e
            step = 1
            while j + step < m:
                e2 = ends[j + step]
                if e2 > b:
                    if not _exists(dss, sas, ks, q, s, e2 - s):
                        break
                    b = e2
                step *= 2
