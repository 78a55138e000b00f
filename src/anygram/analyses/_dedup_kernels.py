"""Kernels of exact-substring deduplication (see :mod:`anygram.analyses.dedup`).

Shards are tuples of equally-typed arrays, as in :mod:`anygram.engine._multi`: ``dss`` token
bytes, ``sas`` suffix arrays (``ks[s]`` bytes per pointer), ``flags`` one writable uint8 per token
position. ``w`` is the token width, ``K`` the minimum span length in tokens.

The *key* of a position is its suffix cut after ``K`` tokens, after its first separator token, or
at the end of the shard, whichever comes first. Keys are compared byte-lexicographically (a key
that is a proper prefix of another sorts first), which is a total preorder compatible with every
shard's suffix-array order: so a k-way merge of the shards' suffix arrays under this preorder puts
equal keys next to each other. A *k-gram group* is a maximal run of merged positions whose keys
hold ``K`` tokens (no separator, no end of shard: the window lies inside one document) and are
equal; a group of two or more positions is a duplicated k-gram.
"""

from __future__ import annotations

import numpy as np

from ..engine._jit import kernel
from ..engine._search import read_ptr

#: flag of a window start whose k-gram occurs elsewhere and that is its first occurrence
FIRST = 1
#: flag of a window start whose k-gram occurs at an earlier position (shard order, then offset)
LATER = 2


@kernel(cache=True, nogil=True, inline="always")
def cmp_keys(da, pa, db, pb, w, K, l0=0):
    """``(l, c)``: ``l`` equal non-separator tokens (at most K) at the start of both keys, ``c`` their order (-1, 0, 1).

    The first ``l0`` tokens are known to be equal non-separators (an LCP already established).
    """
    na = da.shape[0]
    nb = db.shape[0]
    if w == 1:
        # fast path for byte tokens: one load per side and step
        ma = na - pa
        mb = nb - pb
        m = min(K, ma, mb)
        t = l0
        while t < m:
            x = da[pa + t]
            if x != db[pb + t] or x == 255:
                break
            t += 1
        if t < m:
            x = da[pa + t]
            y = db[pb + t]
            if x != y:
                return t, (-1 if x < y else 1)
            return t, 0  # both at a separator
        if t == K:
            return K, 0
        if ma == mb:
            return t, 0
        return t, (-1 if ma < mb else 1)
    for t in range(l0, K):
        oa = pa + t * w
        ob = pb + t * w
        ea = oa + w > na
        eb = ob + w > nb
        if ea or eb:
            if ea and eb:
                return t, 0
            return t, (-1 if ea else 1)
        sep = True
        for j in range(w):
            x = da[oa + j]
            y = db[ob + j]
            if x != y:
                return t, (-1 if x < y else 1)
            if x != 255:
                sep = False
        if sep:
            return t, 0
    return K, 0


@kernel(cache=True, nogil=True)
def lower_bound(ds, sa, k, dq, pq, w, K, lo, hi):
    """First rank in ``[lo, hi)`` whose key is not below the key at ``dq[pq:]``."""
    n = ds.shape[0]
    # invariant: keys at ranks < lo are below the probe, keys at ranks >= hi are not
    while lo < hi:
        mid = (lo + hi) // 2
        p = read_ptr(sa, mid, k, n)
        _, c = cmp_keys(ds, p, dq, pq, w, K)
        if c < 0:
            lo = mid + 1
        else:
            hi = mid
    return lo


@kernel(cache=True, nogil=True)
def _close_group(gs, gp, gn, w, flags, top_cnt, top_sh, top_pos, stats):
    """Flag a group of ``gn`` positions (first occurrence FIRST, the others LATER) and rank it."""
    bs = gs[0]
    bp = gp[0]
    for i in range(1, gn):
        if gs[i] < bs or (gs[i] == bs and gp[i] < bp):
            bs = gs[i]
            bp = gp[i]
    for i in range(gn):
        flags[gs[i]][gp[i] // w] = LATER
    flags[bs][bp // w] = FIRST
    stats[0] += 1
    stats[1] += gn
    # keep the M most frequent groups: replace the smallest entry when this one is larger
    m = top_cnt.shape[0]
    lo = 0
    for i in range(1, m):
        if top_cnt[i] < top_cnt[lo]:
            lo = i
    if gn > top_cnt[lo]:
        top_cnt[lo] = gn
        top_sh[lo] = bs
        top_pos[lo] = bp


@kernel(cache=True, nogil=True)
def merge_range(dss, sas, ks, los, his, w, K, flags, top_cnt, top_sh, top_pos, stats):
    """Merge the rank ranges ``[los[s], his[s])`` of every shard in key order and flag the duplicated k-grams.

    The ranges must hold whole groups (see :func:`lower_bound`). ``stats`` gets
    ``[groups, positions in groups]``.

    LCP merge: ``L[s]`` is the LCP (capped at K) of the last merged key and shard ``s``'s head.
    All heads sort at or after the last key, so the head with the largest ``L`` comes next; only
    heads tied on ``L`` are compared, from that offset on. After a head is taken, its successor's
    ``L`` is one adjacent comparison, and the other heads' ``L`` stay valid (a head with a
    smaller ``L`` than the taken one keeps it; tied heads get the LCP found by the tie-break).
    So each position costs about one key comparison.
    """
    S = len(dss)
    r = los.copy()
    hp = np.zeros(S, dtype=np.int64)  # pointer at each shard's head
    L = np.zeros(S, dtype=np.int64)
    tied = np.zeros(S, dtype=np.int64)
    for s in range(S):
        if r[s] < his[s]:
            hp[s] = read_ptr(sas[s], r[s], ks[s], dss[s].shape[0])
    cap = 64
    gs = np.empty(cap, dtype=np.int64)
    gp = np.empty(cap, dtype=np.int64)
    gn = 0
    first = True
    while True:
        # the live head with the largest L; ties broken by comparing from that offset
        best = -1
        for s in range(S):
            if r[s] < his[s] and (best < 0 or L[s] > L[best]):
                best = s
        if best < 0:
            break
        lb = L[best]
        if lb < K:
            ntied = 0
            for s in range(S):
                if r[s] < his[s] and L[s] == lb:
                    tied[ntied] = s
                    ntied += 1
            if ntied > 1:
                best = tied[0]
                for j in range(1, ntied):
                    s = tied[j]
                    l, c = cmp_keys(dss[s], hp[s], dss[best], hp[best], w, K, lb)
                    if c < 0:
                        best = s
                # each tied head's L becomes its LCP with the new last key
                for j in range(ntied):
                    s = tied[j]
                    if s != best:
                        l, _ = cmp_keys(dss[s], hp[s], dss[best], hp[best], w, K, lb)
                        L[s] = l
        p = hp[best]
        same = (not first) and L[best] >= K
        first = False
        if not same:
            if gn >= 2:
                _close_group(gs, gp, gn, w, flags, top_cnt, top_sh, top_pos, stats)
            gn = 0
        if gn == cap:
            cap *= 2
            gs2 = np.empty(cap, dtype=np.int64)
            gp2 = np.empty(cap, dtype=np.int64)
            gs2[:gn] = gs[:gn]
            gp2[:gn] = gp[:gn]
            gs = gs2
            gp = gp2
        gs[gn] = best
        gp[gn] = p
        gn += 1
        # advance the shard: its new head's L is one adjacent comparison (a software prefetch of
        # the suffix a few ranks ahead was measured not to help)
        r[best] += 1
        if r[best] < his[best]:
            q = read_ptr(sas[best], r[best], ks[best], dss[best].shape[0])
            l, _ = cmp_keys(dss[best], q, dss[best], p, w, K, 0)
            hp[best] = q
            L[best] = l
    if gn >= 2:
        _close_group(gs, gp, gn, w, flags, top_cnt, top_sh, top_pos, stats)
    return gn


@kernel(cache=True, nogil=True)
def sweep(flags, K, mode_all, out, fill):
    """Removed token runs of one shard from its window flags; returns how many there are.

    A token is covered by a window ``[i, i + K)`` whose start ``i`` is flagged. ``mode_all``:
    removed = covered by any flagged window; otherwise removed = covered by a LATER window and by
    no FIRST window. With ``fill`` the runs are written to ``out[j] = (start, end)``.
    """
    n = flags.shape[0]
    f_end = 0
    n_end = 0
    m = 0
    start = -1
    for i in range(n):
        fl = flags[i]
        if fl == FIRST:
            f_end = max(f_end, i + K)
        elif fl == LATER:
            n_end = max(n_end, i + K)
        if mode_all:
            rem = i < f_end or i < n_end
        else:
            rem = i < n_end and not i < f_end
        if rem:
            if start < 0:
                start = i
        elif start >= 0:
            if fill:
                out[m, 0] = start
                out[m, 1] = i
            m += 1
            start = -1
    if start >= 0:
        if fill:
            out[m, 0] = start
            out[m, 1] = n
        m += 1
    return m


@kernel(cache=True, nogil=True)
def covered_span(flags, pos, K, limit):
    """The run of tokens covered by flagged windows (any flag) around token ``pos``, at most ``limit`` each side."""
    n = flags.shape[0]
    start = pos
    # move left while some window starting before ``start`` reaches it
    moved = True
    while moved and pos - start < limit:
        moved = False
        for j in range(max(0, start - K + 1), start):
            if flags[j] != 0:
                start = j
                moved = True
                break
    end = pos + K
    i = pos
    while i < end and i < n and end - pos < limit:
        if flags[i] != 0 and i + K > end:
            end = i + K
        i += 1
    return start, min(end, n)
