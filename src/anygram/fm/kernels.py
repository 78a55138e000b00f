"""FM-index query kernels, built for one rank-structure module by :func:`make_kernels`.

Notation (see :mod:`anygram.fm.build`): a shard of ``n`` tokens ``T``; the index is over
``X$`` with ``X`` = ``T`` reversed, ``N = n + 1`` suffixes; symbols are codes (``$`` = 0, token
``alpha[k]`` = ``k + 1``). Arguments every kernel shares:

``C``    int64 ``sigma + 1``: symbols smaller than ``c`` in ``X$``;
``R``    the rank structure's tuple (``rank``, ``access``, ``range_symbols`` of its module);
``par``  int64 ``[n, N, sa_sample, isa_sample, sample_bits, sep_code, sigma]``;
``saw`` / ``isaw``  bit-packed SA samples (rank multiples of ``sa_sample``) and ISA samples
         (position multiples of ``isa_sample``).

Backward search over ``X`` consumes a pattern's codes *left to right in the original text*: the
range of ``P`` is the set of suffixes of ``X$`` that start with ``P`` reversed; the range of the
empty pattern is ``[0, N)`` (its count is ``n``: the ``$`` suffix is not a position). A suffix
``j`` of ``X`` matching ``P`` (``m`` tokens) is the occurrence of ``P`` at token ``n - j - m`` of
``T``, and ``BWT`` over the range holds the tokens that follow the occurrences (``$`` when the
occurrence ends the shard). One LF step moves from suffix ``j`` to ``j - 1``: one token
*forward* in ``T``, which is how documents are read.

Every value read from a sample is range-checked; a bad one raises :class:`FMCorrupt`.
"""

from __future__ import annotations

import functools

from types import SimpleNamespace
from typing import Any

import numpy as np

from ..engine._jit import kernel
from .packed import get

P_N, P_NN, P_SA, P_ISA, P_BITS, P_SEP, P_SIGMA = range(7)


class FMCorrupt(Exception):
    """Raised inside kernels when an FM sample or LF walk is inconsistent (index corrupted)."""


@functools.cache
def kernels_for(rmod: Any) -> SimpleNamespace:
    """The compiled kernels for rank module ``rmod`` (built once per module and process)."""
    return make_kernels(rmod)


def make_kernels(rmod: Any) -> SimpleNamespace:
    """Compile (or load from numba's cache) the FM kernels over the rank module ``rmod``.

    Each closure is renamed after the rank module before compilation, so that numba's on-disk
    cache (keyed by file and qualified name) keeps one entry per rank structure; ``kernel`` adds
    the checksum of the kernel sources (the rank module's included).
    """
    tag = getattr(rmod, "NAME", rmod.__name__.rsplit("_", 1)[-1])

    def kernel_(**options: Any):
        def deco(fn):
            fn.__qualname__ = f"{fn.__qualname__}__{tag}"
            fn.__name__ = f"{fn.__name__}__{tag}"
            return kernel(cache=True, **options)(fn)
        return deco

    rank = rmod.rank
    access = rmod.access
    range_symbols = rmod.range_symbols

    @kernel_(nogil=True)
    def search(C, R, par, codes, a, b):
        """Range ``[lo, hi)`` of ``codes[a:b]`` (code 0: a token absent from the shard)."""
        lo = np.int64(0)
        hi = par[P_NN]
        for i in range(a, b):
            c = codes[i]
            if c <= 0:
                return np.int64(0), np.int64(0)
            lo = C[c] + rank(R, c, lo)
            hi = C[c] + rank(R, c, hi)
            if lo < 0 or hi > par[P_NN]:
                raise FMCorrupt("FM rank structure gives a range outside the index")
            if lo >= hi:
                return np.int64(0), np.int64(0)
        return lo, hi

    @kernel_(nogil=True)
    def extend(C, R, lo, hi, c):
        """Range of the pattern of ``[lo, hi)`` followed by code ``c``."""
        if c <= 0 or lo >= hi:
            return np.int64(0), np.int64(0)
        nlo = C[c] + rank(R, c, lo)
        nhi = C[c] + rank(R, c, hi)
        if nlo < 0 or nhi > C[C.shape[0] - 1]:
            raise FMCorrupt("FM rank structure gives a range outside the index")
        if nlo >= nhi:
            return np.int64(0), np.int64(0)
        return nlo, nhi

    @kernel_(nogil=True, inline="always")
    def cnt(par, lo, hi):
        if lo == 0 and hi == par[P_NN]:
            return par[P_N]
        return hi - lo

    @kernel_(nogil=True)
    def count(C, R, par, codes):
        lo, hi = search(C, R, par, codes, 0, codes.shape[0])
        return lo, hi, cnt(par, lo, hi)

    @kernel_(nogil=True)
    def locate(C, R, par, saw, r):
        """``SA'[r]``: LF steps until a sampled rank (or the ``$``), plus the steps taken."""
        NN = par[P_NN]
        s = par[P_SA]
        steps = np.int64(0)
        while True:
            if r % s == 0:
                v = get(saw, par[P_BITS], r // s)
                j = v + steps
                if v < 0 or j > par[P_N]:
                    raise FMCorrupt("FM suffix-array sample out of range")
                return j
            c, rr = access(R, r)
            if c == 0:
                return steps
            if c < 0 or c >= par[P_SIGMA]:
                raise FMCorrupt("FM BWT symbol out of range")
            r = C[c] + rr
            steps += 1
            if steps > NN or r < 0 or r >= NN:
                raise FMCorrupt("FM LF walk does not reach a sample")

    @kernel_(nogil=True)
    def locate_many(C, R, par, saw, lo, hi, m, out):
        """Token start positions in ``T`` of the occurrences at ranks ``[lo, hi)`` of an ``m``-token pattern."""
        n = par[P_N]
        for r in range(lo, hi):
            j = locate(C, R, par, saw, r)
            p = n - j - m
            if p < 0:
                raise FMCorrupt("FM locate: position before the shard")
            out[r - lo] = p

    @kernel_(nogil=True)
    def locate_segs(C, R, par, saw, segs, lens, out):
        """Positions of the ranks of every row of ``segs`` (pattern of ``lens[row]`` tokens), in order."""
        n = par[P_N]
        k = 0
        for t in range(segs.shape[0]):
            for r in range(segs[t, 0], segs[t, 1]):
                j = locate(C, R, par, saw, r)
                p = n - j - lens[t]
                if p < 0:
                    raise FMCorrupt("FM locate: position before the shard")
                out[k] = p
                k += 1
        return k

    @kernel_(nogil=True)
    def extract(C, R, par, isaw, alpha, a, b, out):
        """Tokens ``T[a:b]`` into ``out`` (LF walk from the nearest ISA sample at or after position ``n - a`` of X)."""
        n = par[P_N]
        NN = par[P_NN]
        s = par[P_ISA]
        j = n - a
        j1 = -(-j // s) * s
        if j1 > n:
            j1 = n
            r = np.int64(0)
        else:
            r = get(isaw, par[P_BITS], j1 // s)
            if r < 0 or r >= NN:
                raise FMCorrupt("FM inverse suffix-array sample out of range")
        skip = j1 - j  # LF steps from the sample to position n - a of X, then b - a tokens out
        for k in range(skip + b - a):
            c, rr = access(R, r)
            if c <= 0 or c > alpha.shape[0]:
                raise FMCorrupt("FM LF walk reached the terminator early")
            if k >= skip:
                out[k - skip] = alpha[c - 1]
            r = C[c] + rr
            if r < 0 or r >= NN:
                raise FMCorrupt("FM LF step out of range")

    @kernel_(nogil=True)
    def ntd(C, R, par, alpha, lo, hi, eos, out_tok, out_cnt):
        """Next-token counts over ``[lo, hi)`` (``$`` and the separator count as ``eos``); entries may repeat eos."""
        if hi <= lo:
            return 0
        sep = par[P_SEP]
        sigma = par[P_SIGMA]
        if lo == 0 and hi == par[P_NN]:
            k = 0
            for c in range(1, sigma):
                v = C[c + 1] - C[c]
                if v > 0:
                    out_tok[k] = eos if c == sep else alpha[c - 1]
                    out_cnt[k] = v
                    k += 1
            return k
        if out_tok.shape[0] < sigma or out_cnt.shape[0] < sigma:
            raise FMCorrupt("ntd output arrays must hold sigma entries")
        sym = np.empty(sigma, dtype=np.int64)
        nd = range_symbols(R, lo, hi, sym, out_cnt)
        for k in range(nd):
            c = sym[k]
            if c < 0 or c >= sigma:
                raise FMCorrupt("FM BWT symbol out of range")
            if c == 0 or c == sep:
                out_tok[k] = eos
            else:
                out_tok[k] = alpha[c - 1]
        return nd

    @kernel_(nogil=True)
    def longest_suffix(C, R, par, codes, ntok):
        """Largest L such that ``codes[ntok-L:ntok]`` occurs, and its range (galloping, then bisection)."""
        l_lo = np.int64(0)
        l_hi = np.int64(1)
        while True:
            if l_hi > ntok:
                l_hi = ntok + 1
                break
            lo, hi = search(C, R, par, codes, ntok - l_hi, ntok)
            if hi <= lo:
                break
            l_lo = l_hi
            l_hi <<= 1
        while l_hi - l_lo > 1:
            mid = (l_lo + l_hi) >> 1
            lo, hi = search(C, R, par, codes, ntok - mid, ntok)
            if hi <= lo:
                l_hi = mid
            else:
                l_lo = mid
        lo, hi = search(C, R, par, codes, ntok - l_lo, ntok)
        return l_lo, lo, hi

    @kernel_(nogil=True)
    def score_pass(C, R, par, codes, ntok, out_len, out_pc, out_cc):
        """Per token i: longest suffix of ``codes[:i]`` occurring in this shard, its count and with token i."""
        NN = par[P_NN]
        lo = np.int64(0)
        hi = NN
        L = np.int64(0)
        for i in range(ntok):
            nlo, nhi = extend(C, R, lo, hi, codes[i])
            out_len[i] = L
            out_pc[i] = cnt(par, lo, hi)
            out_cc[i] = nhi - nlo
            if nhi > nlo:
                L += 1
                lo = nlo
                hi = nhi
            else:
                L2, lo, hi = longest_suffix(C, R, par, codes[: i + 1], i + 1)
                L2 = min(L2, L)  # cannot happen: a longer suffix would extend the previous one
                L = L2
                if L == 0:
                    lo = np.int64(0)
                    hi = NN

    @kernel_(nogil=True)
    def longest_prefixes(C, R, par, codes, ntok, out_len, out_cnt):
        """For every start l: the longest prefix of ``codes[l:]`` occurring in this shard and its count."""
        r = np.int64(0)
        for l in range(ntok):
            r = max(r, l)
            lo, hi = search(C, R, par, codes, l, r)
            while r < ntok:
                nlo, nhi = extend(C, R, lo, hi, codes[r])
                if nhi <= nlo:
                    break
                lo = nlo
                hi = nhi
                r += 1
            out_len[l] = r - l
            out_cnt[l] = cnt(par, lo, hi) if r > l else 0

    return SimpleNamespace(
        search=search, extend=extend, count=count, locate=locate, locate_many=locate_many,
        locate_segs=locate_segs, extract=extract, ntd=ntd, longest_suffix=longest_suffix,
        score_pass=score_pass, longest_prefixes=longest_prefixes, rank=rank, access=access,
        range_symbols=range_symbols,
    )
