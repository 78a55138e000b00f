"""Next-token distributions over a suffix-array range.

Within the range of a prompt of ``m`` bytes, suffixes are sorted by their next token's bytes, so
equal next tokens form runs. The token after a suffix is read at byte ``ptr + m``; a suffix that
ends at the end of the shard or whose next token is the document separator contributes ``eos``
(as in infini-gram). Runs are ordered by ``key``: -1 for the end of the shard, else the token's
bytes read big-endian (byte-lexicographic order).
"""

from __future__ import annotations

from ._jit import kernel
import numpy as np

from ._search import SuffixArrayCorrupt, read_ptr


@kernel(cache=True, nogil=True, inline="always")
def _key(ds, sa, k, rank, m, w):
    """Sort key of the next token after the suffix at ``rank`` (see module doc)."""
    ds_size = ds.shape[0]
    p = read_ptr(sa, rank, k, ds_size) + m
    if p >= ds_size:
        return np.int64(-1)
    if p + w > ds_size:  # only a misaligned (corrupt) pointer gets here: never read past ds
        raise SuffixArrayCorrupt("suffix array pointer not aligned to the token width")
    key = np.int64(0)
    for j in range(w):
        key = (key << 8) | np.int64(ds[p + j])
    return key


@kernel(cache=True, nogil=True, inline="always")
def _key_to_token(key, w, eos):
    """Token id (little-endian value) of a key; end of shard and separator map to ``eos``."""
    if key < 0:
        return np.int64(eos)
    sep = (np.int64(1) << (8 * w)) - 1
    if key == sep:
        return np.int64(eos)
    tok = np.int64(0)
    for j in range(w):
        tok |= ((key >> (8 * (w - 1 - j))) & 0xFF) << (8 * j)
    return tok


@kernel(cache=True, nogil=True)
def ntd_exact(ds, sa, k, lo, hi, m, w, eos, out_tok, out_cnt):
    """Exact counts of every next token in ranks ``[lo, hi)``; returns the number of distinct entries.

    Each run is found by galloping from its first rank: O(log run) pointer reads per distinct
    token. ``out_tok``/``out_cnt`` must hold ``min(hi - lo, 2**(8w)+1)`` entries. End of shard and
    separator both map to ``eos`` and may appear as two entries (the caller merges).
    """
    nd = 0
    i = lo
    while i < hi:
        key = _key(ds, sa, k, i, m, w)
        # gallop: find the first rank j in (i, hi] whose key differs.
        # Invariant: key(i..a) == key, and (b == hi or key(b) != key).
        step = 1
        a = i
        b = hi
        while True:
            probe = a + step
            if probe >= hi:
                break
            if _key(ds, sa, k, probe, m, w) == key:
                a = probe
                step <<= 1
            else:
                b = probe
                break
        while b - a > 1:
            mid = (a + b) >> 1
            if _key(ds, sa, k, mid, m, w) == key:
                a = mid
            else:
                b = mid
        out_tok[nd] = _key_to_token(key, w, eos)
        out_cnt[nd] = b - i
        nd += 1
        i = b
    return nd


@kernel(cache=True, nogil=True)
def ntd_sampled(ds, sa, k, lo, hi, m, w, eos, unit, out_tok, out_cnt):
    """infini-gram's sampled distribution (``unit`` > 1): deterministic, same answer as its engine.

    Divide and conquer over the range: a segment whose first and last next tokens agree is one
    run; a segment shorter than ``4 * unit`` is sampled every ``unit`` ranks at the middle of each
    step. Returns the number of (token, count) entries written (tokens may repeat).
    """
    nd = 0
    # explicit stack of (start, end, known start key or -2, known end key or -2)
    cap = 128
    st = np.empty((cap, 4), dtype=np.int64)
    sp = 0
    st[0, 0] = lo
    st[0, 1] = hi
    st[0, 2] = -2
    st[0, 3] = -2
    sp = 1
    while sp > 0:
        sp -= 1
        start = st[sp, 0]
        end = st[sp, 1]
        ks_ = st[sp, 2]
        ke_ = st[sp, 3]
        if end - start < 4 * unit:
            rank = start
            while rank < end:
                if rank + unit <= end:
                    mid = rank + (unit >> 1)
                    c = unit
                else:
                    mid = (rank + end) >> 1
                    c = end - rank
                if nd >= out_tok.shape[0]:
                    return -1
                out_tok[nd] = _key_to_token(_key(ds, sa, k, mid, m, w), w, eos)
                out_cnt[nd] = c
                nd += 1
                rank += unit
            continue
        key_s = ks_ if ks_ != -2 else _key(ds, sa, k, start, m, w)
        key_e = ke_ if ke_ != -2 else _key(ds, sa, k, end - 1, m, w)
        # infini-gram compares the token ids (after mapping to eos), not the raw bytes
        if _key_to_token(key_s, w, eos) == _key_to_token(key_e, w, eos):
            if nd >= out_tok.shape[0]:
                return -1
            out_tok[nd] = _key_to_token(key_s, w, eos)
            out_cnt[nd] = end - start
            nd += 1
            continue
        mi = (start + end) >> 1
        if sp + 2 > cap:
            cap *= 2
            st2 = np.empty((cap, 4), dtype=np.int64)
            st2[:sp] = st[:sp]
            st = st2
        # right half then left half (order does not change the sums)
        st[sp, 0] = mi
        st[sp, 1] = end
        st[sp, 2] = -2
        st[sp, 3] = key_e
        sp += 1
        st[sp, 0] = start
        st[sp, 1] = mi
        st[sp, 2] = key_s
        st[sp, 3] = -2
        sp += 1
    return nd
