"""CNF queries (AND of OR-clauses of terms within a distance), as infini-gram's engine computes them.

A CNF is a list of clauses; a clause is a list of terms (token sequences); an occurrence of the
CNF is a window of the corpus that contains one occurrence of some term of every clause, every
term starting within ``max_diff_tokens`` tokens of the window's other terms, and that does not
cross a document boundary. infini-gram's procedure, reproduced step by step (``w`` = token width;
every pointer is a byte offset into a shard's token bytes):

1. Per clause and shard, the suffix-array ranges of its terms; the clause's count in the shard is
   the sum of their sizes. A clause with more than ``ceil(max_clause_freq / num_shards)``
   occurrences in a shard is subsampled there (:func:`subsample_clause`) with a subsampling
   factor ``floor(cnt / new_cnt)`` (C++ integer division, as in infini-gram).
2. Per shard, the clauses sorted by their (original, not subsampled) count in that shard,
   ascending and stable. The occurrences of the first clause start as ranges ``[p, p]``; each
   following clause (its pointers sorted) turns a range ``[l, r]`` into at most one range:
   with ``lo`` the last pointer ``< r`` and ``hi`` the first pointer ``>= l``,
   ``new_l = min(l, ptrs[lo])``, ``new_r = max(r, ptrs[hi])``, ``D = max_diff_tokens * w``:
   ``[new_l, new_r]`` if ``new_l + D >= l`` and ``new_r <= r + D``, else ``[new_l, r]`` if the
   first holds, else ``[l, new_r]`` if the second holds, else nothing (:func:`cnf_shard`).
3. Ranges whose bytes ``ds[l:r]`` contain ``w`` consecutive 0xff bytes are dropped (they cross a
   document separator). As infini-gram (``std::search`` over bytes), the search is byte-wise,
   not aligned to tokens: a run of 0xff bytes formed by adjacent tokens (e.g. ids 0xFF00, 0x00FF
   with ``w = 2``) also drops a range; no tokenizer with fewer than 65,280 ids produces one.
4. The shard's count is ``int(ranges * product of the clauses' subsampling factors)``; the CNF's
   count is the sum over shards, ``approx`` is true if some factor is not 1, and the pointers are
   the left ends ``l`` of the ranges.

The kernels take only arrays and scalars; :mod:`anygram.index` validates queries and merges shards.
"""

from __future__ import annotations

from ._jit import kernel
import numpy as np

from ._search import read_ptr

#: infini-gram seeds a fresh ``std::mt19937`` with this for every (clause, shard) it subsamples.
INFINIGRAM_SUBSAMPLE_SEED = 19260817


@kernel(cache=True, nogil=True)
def _gather(sa, k, ds_size, segs, t0, t1, out):
    """Pointers of the suffix-array ranks ``segs[t0:t1]`` (``[start, end)`` each), in order, into ``out``."""
    n = 0
    for t in range(t0, t1):
        for rank in range(segs[t, 0], segs[t, 1]):
            out[n] = read_ptr(sa, rank, k, ds_size)
            n += 1
    return n


@kernel(cache=True, nogil=True)
def _size(segs, t0, t1):
    n = 0
    for t in range(t0, t1):
        n += segs[t, 1] - segs[t, 0]
    return n


@kernel(cache=True, nogil=True)
def _first_ge(arr, n, val):
    """Index of the first element of the sorted ``arr[:n]`` that is ``>= val`` (``n`` if none)."""
    lo = 0
    hi = n
    while lo < hi:
        mid = (lo + hi) >> 1
        if arr[mid] < val:
            lo = mid + 1
        else:
            hi = mid
    return lo


@kernel(cache=True, nogil=True)
def crosses_separator(ds, l, r, w):
    """True if ``ds[l:r]`` contains ``w`` consecutive 0xff bytes (at any byte offset, as infini-gram)."""
    run = 0
    for i in range(l, r):
        if ds[i] == 0xFF:
            run += 1
            if run >= w:
                return True
        else:
            run = 0
    return False


@kernel(cache=True, nogil=True)
def cnf_shard(ds, sa, k, w, max_diff_tokens, segs, clause_offs):
    """Step 2-3 of the module docstring on one shard: the matching byte ranges ``(ls, rs)``.

    ``segs`` (int64, shape ``(terms, 2)``) holds the suffix-array ranks ``[start, end)`` of every
    term, grouped by clause in processing order (clause ``c`` owns rows
    ``clause_offs[c]:clause_offs[c+1]``). Ranges keep infini-gram's order: the first clause's
    pointers in rank order, each range replaced in place by its successor.
    """
    ds_size = ds.shape[0]
    nclauses = clause_offs.shape[0] - 1
    D = max_diff_tokens * w
    n = _size(segs, clause_offs[0], clause_offs[1])
    ls = np.empty(n, dtype=np.int64)
    _gather(sa, k, ds_size, segs, clause_offs[0], clause_offs[1], ls)
    rs = ls.copy()
    for c in range(1, nclauses):
        if n == 0:
            break
        m = _size(segs, clause_offs[c], clause_offs[c + 1])
        ptrs = np.empty(m, dtype=np.int64)
        _gather(sa, k, ds_size, segs, clause_offs[c], clause_offs[c + 1], ptrs)
        ptrs.sort()
        n = merge_clause(ls, rs, n, ptrs, D)
    j = 0
    for i in range(n):
        if not crosses_separator(ds, ls[i], rs[i], w):
            ls[j] = ls[i]
            rs[j] = rs[i]
            j += 1
    return ls[:j], rs[:j]


@kernel(cache=True, nogil=True)
def merge_clause(ls, rs, n, ptrs, D):
    """One clause of step 2: ranges ``(ls[:n], rs[:n])`` against the clause's sorted pointers; returns the new ``n``."""
    m = ptrs.shape[0]
    j = 0
    for i in range(n):
        l = ls[i]
        r = rs[i]
        lo = _first_ge(ptrs, m, r) - 1  # last pointer < r
        hi = _first_ge(ptrs, m, l)  # first pointer >= l
        new_l = l
        new_r = r
        ok_l = False
        ok_r = False
        if lo >= 0:
            new_l = min(new_l, ptrs[lo])
            ok_l = new_l + D >= l
        if hi < m:
            new_r = max(new_r, ptrs[hi])
            ok_r = new_r <= r + D
        if ok_l and ok_r:
            ls[j] = new_l
            rs[j] = new_r
            j += 1
        elif ok_l:
            ls[j] = new_l
            rs[j] = r
            j += 1
        elif ok_r:
            ls[j] = l
            rs[j] = new_r
            j += 1
    return j


# ----------------------------------------------------------------------------- subsampling
class MT19937:
    """``std::mt19937`` (32-bit Mersenne Twister, ``init_genrand`` seeding), in plain Python.

    Only a few numbers are drawn per query (one per term and shard), so speed does not matter;
    it exists so that subsampling picks exactly the sub-ranges infini-gram's engine picks.
    """

    def __init__(self, seed: int) -> None:
        mt = [0] * 624
        mt[0] = seed & 0xFFFFFFFF
        for i in range(1, 624):
            mt[i] = (1812433253 * (mt[i - 1] ^ (mt[i - 1] >> 30)) + i) & 0xFFFFFFFF
        self._mt = mt
        self._i = 624

    def _twist(self) -> None:
        mt = self._mt
        for i in range(624):
            y = (mt[i] & 0x80000000) | (mt[(i + 1) % 624] & 0x7FFFFFFF)
            v = mt[(i + 397) % 624] ^ (y >> 1)
            if y & 1:
                v ^= 0x9908B0DF
            mt[i] = v
        self._i = 0

    def __call__(self) -> int:
        if self._i >= 624:
            self._twist()
        y = self._mt[self._i]
        self._i += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C5680
        y ^= (y << 15) & 0xEFC60000
        y ^= y >> 18
        return y & 0xFFFFFFFF


_M64 = (1 << 64) - 1


def uniform_u64(gen: MT19937, a: int, b: int) -> int:
    """``std::uniform_int_distribution<uint64_t>(a, b)(gen)`` as libstdc++ (GCC >= 11) computes it.

    Ranges below 2**32 use Lemire's nearly-divisionless method on one 32-bit draw (more on a
    rejection); larger ranges combine draws ("upscaling").
    """
    urange = b - a
    urngrange = 0xFFFFFFFF
    if urngrange > urange:
        uerange = urange + 1
        product = gen() * uerange
        low = product & 0xFFFFFFFF
        if low < uerange:
            threshold = ((1 << 32) - uerange) % uerange
            while low < threshold:
                product = gen() * uerange
                low = product & 0xFFFFFFFF
        ret = product >> 32
    elif urngrange < urange:
        while True:
            uerngrange = urngrange + 1
            tmp = (uerngrange * uniform_u64(gen, 0, urange // uerngrange)) & _M64
            ret = (tmp + gen()) & _M64
            if not (ret > urange or ret < tmp):
                break
    else:
        ret = gen()
    return ret + a


def subsample_clause(
    segs: list[tuple[int, int]], max_freq: int, draw
) -> tuple[list[tuple[int, int]], float]:
    """infini-gram's subsampling of one clause in one shard.

    ``segs`` are the terms' rank ranges ``[start, end)``; if their total ``cnt`` exceeds
    ``max_freq``, every range of length ``L`` becomes a sub-range of length
    ``ceil(L * max_freq / cnt)`` at offset ``draw(L - new_len)`` (uniform in ``0..L-new_len``),
    and the factor is ``cnt // new_cnt`` (an integer division, stored as a float). Returns the
    ranges and the factor (1.0 when nothing is subsampled).
    """
    cnt = sum(e - s for s, e in segs)
    if cnt <= max_freq:
        return list(segs), 1.0
    out = []
    new_cnt = 0
    for s, e in segs:
        length = e - s
        new_len = (length * max_freq + cnt - 1) // cnt
        start = s + draw(length - new_len)
        out.append((start, start + new_len))
        new_cnt += new_len
    return out, float(cnt // new_cnt)
