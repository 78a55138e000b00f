"""Fixed-block compression boosting (FBB): a rank structure over a BWT close to its k-th order entropy.

The BWT is cut into blocks of ``block`` symbols (a power of two, default 2**16). Each block gets
its own Huffman-shaped wavelet tree over the symbols that occur in it (plain bitvectors, one rank
sample per ``sample`` bits), so the block costs about its zero-order entropy; because the BWT groups
symbols by their following context, the sum over blocks approaches the text's higher-order entropy
(Kärkkäinen & Puglisi; Gog et al., "Fixed block compression boosting in FM-indexes"). Global counts
are kept per (symbol, block where it occurs) in symbol-major order, so any alphabet size works
(bytes, or token ids up to 2**32) and a symbol absent from a block costs nothing there.

Files (``prefix`` chosen by the caller; all little-endian):

``{prefix}fbb.bits``   uint64 words: per block, the concatenated bitvectors of its wavelet-tree
                       nodes (bit ``j`` of a node at bit ``start + j``, least significant bit first);
                       every block starts on a rank-sample boundary.
``{prefix}fbb.rdir``   uint32 per ``sample`` bits: ones in the block's bits before this sample.
``{prefix}fbb.blk``    uint64 ``(nblocks + 1) x 3``: first word, first local symbol, first node.
``{prefix}fbb.lsym``   symbols (1, 2 or 4 bytes): each block's distinct symbols, ascending.
``{prefix}fbb.node``   uint32 ``nodes x 4``: bit start (in the block), ones before the start,
                       child 0, child 1 (``>= 2**31``: a leaf, local symbol ``child - 2**31``).
``{prefix}fbb.alph``   symbols: the distinct symbols of the BWT, ascending.
``{prefix}fbb.sbase``  uint64 ``len(alph) + 1``: each symbol's first entry in the three below.
``{prefix}fbb.smblk``  uint32 per (symbol, block it occurs in), symbol-major: the block.
``{prefix}fbb.smcnt``  uint64, same order: occurrences of the symbol before that block.
``{prefix}fbb.smcode`` uint32, same order: the symbol's Huffman code in that block, with a
                       leading 1 bit marking its length (``1`` = the block's only symbol).
``{prefix}fbb.tot``    uint64 per symbol of ``alph``: its total count.

``rank(c, i)``: binary search ``c`` in ``alph`` and the block of ``i`` in ``c``'s entries, then
one rank per code bit in the block's tree (a few hundred bits apart, usually one or two cache
lines each). Kernels clamp every index read from the files, so a corrupted file gives wrong
answers, never an out-of-bounds read.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ..engine._jit import kernel
from ..errors import CorruptIndexError
from .rank_files import map_listed, meta_int, symbol_dtype

NAME = "fbb"
DEFAULT_BLOCK = 1 << 20
#: words (of 64 bits) per rank sample: a sample record is 8 + sample bytes, 32/64/128/256
SAMPLES = (24, 56, 120, 248)
DEFAULT_SAMPLE = 56
MIN_BLOCK, MAX_BLOCK = (
    1 << 8,
    1 << 22,
)  # Huffman codes of <= 2**22 symbols have <= 31 bits (Fibonacci bound)
#: symbols whose running counts are kept in a dense array during the build (else: an alphabet pass)
_DENSE_SIGMA = 1 << 24
_FILES = (
    "rec",
    "offs",
    "blk",
    "lsym",
    "bcnt",
    "bcode",
    "node",
    "alph",
    "sbase",
    "smblk",
    "smcnt",
    "tot",
)
_LEAF = 1 << 31

_U0 = np.uint64(0)
_U1 = np.uint64(1)
_U2 = np.uint64(2)
_U4 = np.uint64(4)
_U8 = np.uint64(8)
_U16 = np.uint64(16)
_U32 = np.uint64(32)
_U127 = np.uint64(127)
_M1 = np.uint64(0x5555555555555555)
_M2 = np.uint64(0x3333333333333333)
_M4 = np.uint64(0x0F0F0F0F0F0F0F0F)


def _binomials() -> np.ndarray:
    t = np.zeros((65, 65), np.uint64)
    for a in range(65):
        t[a, 0] = 1
        for b in range(1, a + 1):
            t[a, b] = int(t[a - 1, b - 1]) + (int(t[a - 1, b]) if b < a else 0)
    return t


#: C(a, b) for 0 <= a, b <= 64 (C(64, 32) < 2**61 fits)
_BINOM = _binomials()
#: bits of the offset of a 64-bit word with c ones: ceil(log2 C(64, c)); 0 for c = 0, 64 or > 64
_OFFLEN = np.array(
    [int(int(_BINOM[64, c]) - 1).bit_length() if c <= 64 else 0 for c in range(256)], np.int64
)


# ----------------------------------------------------------------------------- query kernels
# R = (hdr, rec, offs, blk, lsym, bcnt, bcode, node, alph, sbase, smblk, smcnt, tot)
# hdr = int64 [n, block, log2 block, words per sample record, nblocks, sigma]


@kernel(cache=True, nogil=True)
def _popcount(x):
    x = x - ((x >> _U1) & _M1)
    x = (x & _M2) + ((x >> _U2) & _M2)
    x = (x + (x >> _U4)) & _M4
    x = x + (x >> _U8)
    x = x + (x >> _U16)
    x = x + (x >> _U32)
    return np.int64(x & _U127)


@kernel(cache=True, nogil=True)
def _read_bits(offs, ptr, L):
    """``L`` (<= 61) bits of the offset stream from bit ``ptr`` (zeros past its end)."""
    if L <= 0:
        return _U0
    wi = ptr >> 6
    if wi < 0 or wi >= len(offs):
        return _U0
    sh = ptr & 63
    v = offs[wi] >> np.uint64(sh)
    if sh != 0 and L > 64 - sh and wi + 1 < len(offs):
        v |= offs[wi + 1] << np.uint64(64 - sh)
    return v & ((_U1 << np.uint64(L)) - _U1)


@kernel(cache=True, nogil=True)
def _decode_rank(off, k, rem):
    """For the 64-bit word with ``k`` ones whose combinatorial-number-system rank is ``off``
    (``off = sum C(p_j, j)`` over its one positions ``p_1 < ... < p_k``): ``(ones below bit rem,
    bit rem)``. Decodes from bit 63 down to bit ``rem`` only, without branches in the loop."""
    j = k
    for p in range(63, rem, -1):
        t = np.int64(_BINOM[p, j] <= off)
        off -= _BINOM[p, j] * np.uint64(t)
        j -= t
    t = np.int64(_BINOM[rem, j] <= off) if j > 0 else np.int64(0)
    return j - t, t


@kernel(cache=True, nogil=True)
def _u32(rec, q):
    """The little-endian uint32 at byte ``q`` of ``rec``."""
    return (
        np.int64(rec[q])
        | (np.int64(rec[q + 1]) << 8)
        | (np.int64(rec[q + 2]) << 16)
        | (np.int64(rec[q + 3]) << 24)
    )


@kernel(cache=True, nogil=True)
def _rank1b(rec, offs, wps, wbase, obase, p):
    """``(ones in the block's bits [0, p), bit p)``. The block's words start at word ``wbase`` (a
    record boundary) and its offsets at stream bit ``obase``; a record is 8 header bytes (ones and
    offset bits before it, relative to the block) and the classes of its ``wps`` words."""
    rb = 8 + wps
    nrec = len(rec) // rb
    nwords = nrec * wps
    if nrec == 0 or p < 0:
        return np.int64(0), np.int64(0)
    w = wbase + (p >> 6)
    w = min(w, nwords)
    s = w // wps
    if s >= nrec:
        s = nrec - 1
    base = s * rb
    ones = _u32(rec, base)
    ptr = obase + _u32(rec, base + 4)
    q0 = base + 8 - s * wps
    for q in range(s * wps, w):
        c = rec[q0 + q]
        ones += np.int64(c)
        ptr += _OFFLEN[c]
    if w >= nwords:
        return ones, np.int64(0)
    rem = p & 63
    c = np.int64(rec[q0 + w])
    if c == 0:
        return ones, np.int64(0)
    if c >= 64:
        return ones + rem, np.int64(1)
    low, bit = _decode_rank(_read_bits(offs, ptr, _OFFLEN[c]), c, rem)
    return ones + low, bit


@kernel(cache=True, nogil=True, inline="always")
def _lower_bound(a, lo, hi, x):
    """First ``i`` in ``[lo, hi)`` with ``a[i] >= x`` (``hi`` if none); ``a[lo:hi]`` ascending."""
    # invariant: a[lo0:lo] < x <= a[hi:hi0] (lo0, hi0: the bounds passed in)
    while lo < hi:
        mid = (lo + hi) >> 1
        if np.int64(a[mid]) < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@kernel(cache=True, nogil=True)
def _find_symbol(alph, c):
    """Index of ``c`` in the ascending ``alph``, or -1."""
    lo = _lower_bound(alph, 0, len(alph), c)
    if lo < len(alph) and np.int64(alph[lo]) == c:
        return lo
    return -1


@kernel(cache=True, nogil=True)
def _entries(sbase, smblk, u, b):
    """``(p, e)``: the first of symbol ``u``'s entries whose block is ``>= b``, and the end of them."""
    ne = len(smblk)
    s = np.int64(sbase[u]) if u < len(sbase) else ne
    e = np.int64(sbase[u + 1]) if u + 1 < len(sbase) else ne
    e = min(e, ne)
    s = min(s, e)
    return _lower_bound(smblk, s, e, b), e


@kernel(cache=True, nogil=True)
def _count_before(R, c, b):
    """Occurrences of ``c`` before block ``b``."""
    u = _find_symbol(R[8], c)
    if u < 0:
        return np.int64(0)
    p, e = _entries(R[9], R[10], u, b)
    if p < e:
        return np.int64(R[11][p])
    tot = R[12]
    return np.int64(tot[u]) if u < len(tot) else np.int64(0)


@kernel(cache=True, nogil=True)
def _block_head(R, b):
    """``(wbase, obase, n0, m)``: block ``b``'s first word, offset bit, first node and node count
    (``m = -1``: no such block)."""
    blk = R[3]
    if b < 0 or 4 * b + 7 >= len(blk):
        return np.int64(0), np.int64(0), np.int64(0), np.int64(-1)
    n0 = np.int64(blk[4 * b + 3])
    return np.int64(blk[4 * b]), np.int64(blk[4 * b + 1]), n0, np.int64(blk[4 * b + 7]) - n0


@kernel(cache=True, nogil=True)
def _block_rank(R, b, code, off):
    """Occurrences, in block ``b``'s first ``off`` symbols, of the symbol with ``code`` there."""
    node = R[7]
    rec = R[1]
    offs = R[2]
    wps = R[0][3]
    wbase, obase, n0, m = _block_head(R, b)
    if m < 0:
        return np.int64(0)
    if m == 0:
        return off  # a one-symbol block
    L = 0
    while L < 40 and (code >> (L + 1)) != 0:
        L += 1
    nd = 0
    for d in range(L):
        g = 4 * (n0 + nd)
        if g + 3 >= len(node):
            return np.int64(0)
        r1, _ = _rank1b(rec, offs, wps, wbase, obase, np.int64(node[g]) + off)
        r1 -= np.int64(node[g + 1])
        r1 = max(r1, 0)
        r1 = min(r1, off)
        if (code >> (L - 1 - d)) & 1:
            off = r1
            ch = np.int64(node[g + 3])
        else:
            off = off - r1
            ch = np.int64(node[g + 2])
        if ch >= _LEAF or ch >= m:
            break
        nd = ch
    return off


@kernel(cache=True, nogil=True)
def _local_symbol(lsym, e0, e1, c):
    """Index of ``c`` among the block's ascending symbols ``lsym[e0:e1]``, or -1."""
    e1 = min(e1, len(lsym))
    lo = _lower_bound(lsym, e0, e1, c)
    if lo < e1 and np.int64(lsym[lo]) == c:
        return lo
    return -1


@kernel(cache=True, nogil=True)
def rank(R, c, i):
    """Occurrences of symbol ``c`` in ``bwt[0:i]`` (``i`` clamped to ``[0, n]``)."""
    hdr = R[0]
    blk = R[3]
    n = hdr[0]
    lgB = hdr[2]
    if i <= 0 or c < 0:
        return np.int64(0)
    i = min(i, n)
    b = (i - 1) >> lgB
    if 4 * b + 7 >= len(blk):
        return np.int64(0)
    q = _local_symbol(R[4], np.int64(blk[4 * b + 2]), np.int64(blk[4 * b + 6]), c)
    if q < 0:
        return _count_before(R, c, b)
    bcnt = R[5]
    bcode = R[6]
    if q >= len(bcnt) or q >= len(bcode):
        return np.int64(0)
    return np.int64(bcnt[q]) + _block_rank(R, b, np.int64(bcode[q]), i - (b << lgB))


@kernel(cache=True, nogil=True)
def _descend(R, b, off):
    """``(j, r)``: the local symbol of block ``b`` at ``off`` and its occurrences before ``off``."""
    node = R[7]
    rec = R[1]
    offs = R[2]
    wps = R[0][3]
    wbase, obase, n0, m = _block_head(R, b)
    j = np.int64(0)
    if m <= 0:
        return j, off
    nd = 0
    for _ in range(64):
        g = 4 * (n0 + nd)
        if g + 3 >= len(node):
            break
        r1, bit = _rank1b(rec, offs, wps, wbase, obase, np.int64(node[g]) + off)
        r1 -= np.int64(node[g + 1])
        r1 = max(r1, 0)
        r1 = min(r1, off)
        if bit:
            off = r1
            ch = np.int64(node[g + 3])
        else:
            off = off - r1
            ch = np.int64(node[g + 2])
        if ch >= _LEAF:
            j = ch - _LEAF
            break
        if ch >= m:
            break
        nd = ch
    return j, off


@kernel(cache=True, nogil=True)
def access(R, i):
    """``(c, rank(c, i))`` with ``c = bwt[i]`` (one LF step); ``(-1, 0)`` when ``i`` is outside ``[0, n)``."""
    hdr = R[0]
    blk = R[3]
    lsym = R[4]
    bcnt = R[5]
    n = hdr[0]
    lgB = hdr[2]
    if i < 0 or i >= n:
        return np.int64(-1), np.int64(0)
    b = i >> lgB
    if 4 * b + 6 >= len(blk):
        return np.int64(-1), np.int64(0)
    j, r = _descend(R, b, i - (b << lgB))
    e0 = np.int64(blk[4 * b + 2])
    k = np.int64(blk[4 * b + 6]) - e0
    if j >= k:
        j = k - 1
    if j < 0 or e0 + j >= len(lsym) or e0 + j >= len(bcnt):
        return np.int64(-1), np.int64(0)
    return np.int64(lsym[e0 + j]), r + np.int64(bcnt[e0 + j])


@kernel(cache=True, nogil=True)
def _block_range(R, b, a, z, tj, tc):
    """Local symbols of block ``b`` in ``[a, z)`` with their counts into ``tj``/``tc`` (unordered)."""
    node = R[7]
    rec = R[1]
    offs = R[2]
    wps = R[0][3]
    cap = len(tj)
    wbase, obase, n0, m = _block_head(R, b)
    if z <= a or cap == 0 or m < 0:
        return 0
    if m == 0:
        tj[0] = 0
        tc[0] = z - a
        return 1
    stk = np.empty(3 * 128, np.int64)  # (node, lo, hi) triples
    top = 1
    stk[0] = 0
    stk[1] = a
    stk[2] = z
    k = 0
    steps = 0
    while top > 0 and steps < 4 * m + 4:
        steps += 1
        top -= 1
        nd = stk[3 * top]
        x = stk[3 * top + 1]
        y = stk[3 * top + 2]
        g = 4 * (n0 + nd)
        if g + 3 >= len(node):
            continue
        st = np.int64(node[g])
        ones = np.int64(node[g + 1])
        rx, _ = _rank1b(rec, offs, wps, wbase, obase, st + x)
        ry, _ = _rank1b(rec, offs, wps, wbase, obase, st + y)
        rx -= ones
        ry -= ones
        for bit in range(2):
            if bit == 0:
                lo = x - rx
                hi = y - ry
                ch = np.int64(node[g + 2])
            else:
                lo = rx
                hi = ry
                ch = np.int64(node[g + 3])
            if hi <= lo:
                continue
            if ch >= _LEAF:
                if k < cap:
                    tj[k] = ch - _LEAF
                    tc[k] = hi - lo
                    k += 1
            elif ch < m and top < 128:
                stk[3 * top] = ch
                stk[3 * top + 1] = lo
                stk[3 * top + 2] = hi
                top += 1
    return k


@kernel(cache=True, nogil=True)
def range_symbols(R, lo, hi, out_sym, out_cnt):
    """The distinct symbols of ``bwt[lo:hi]`` ascending, with their counts; returns their number.

    Within one block: one descent of the block's tree (O(k log sigma) ranks for k symbols). Across
    blocks: descents in the two end blocks, and for the whole blocks between them the symbols they
    list with counts from the global per-(symbol, block) counts.
    """
    hdr = R[0]
    blk = R[3]
    lsym = R[4]
    n = hdr[0]
    B = hdr[1]
    lgB = hdr[2]
    lo = max(lo, 0)
    hi = min(hi, n)
    cap = min(len(out_sym), len(out_cnt))
    if hi <= lo or cap == 0:
        return 0
    bl = lo >> lgB
    bh = (hi - 1) >> lgB
    if 4 * bh + 7 >= len(blk):
        return 0
    kl = np.int64(blk[4 * bl + 6]) - np.int64(blk[4 * bl + 2])
    if bl == bh and kl > 0:
        # one block: descend its tree straight into the output, then symbols, then sort
        e0 = np.int64(blk[4 * bl + 2])
        k = _block_range(R, bl, lo - (bl << lgB), hi - (bl << lgB), out_sym[:cap], out_cnt[:cap])
        for q in range(k):
            j = min(out_sym[q], kl - 1)
            out_sym[q] = np.int64(lsym[e0 + j]) if e0 + j < len(lsym) else 0
        if k <= 32:
            for q in range(1, k):  # insertion sort by symbol
                c = out_sym[q]
                v = out_cnt[q]
                r = q - 1
                while r >= 0 and out_sym[r] > c:
                    out_sym[r + 1] = out_sym[r]
                    out_cnt[r + 1] = out_cnt[r]
                    r -= 1
                out_sym[r + 1] = c
                out_cnt[r + 1] = v
        else:
            order = np.argsort(out_sym[:k])
            ss = out_sym[:k][order]
            cc = out_cnt[:k][order]
            out_sym[:k] = ss
            out_cnt[:k] = cc
        return k
    kh = np.int64(blk[4 * bh + 6]) - np.int64(blk[4 * bh + 2])
    e_mid0 = np.int64(blk[4 * (bl + 1) + 2])
    e_mid1 = np.int64(blk[4 * bh + 2])
    nmid = e_mid1 - e_mid0 if bh > bl + 1 else 0
    if nmid < 0 or e_mid1 > len(lsym):
        nmid = 0
    tot = max(kl, 0) + max(kh, 0) + nmid
    sym = np.empty(tot, np.int64)
    cnt = np.empty(tot, np.int64)
    t = 0
    for side in range(2):
        if side == 1 and bh == bl:
            break
        b = bl if side == 0 else bh
        kb = kl if side == 0 else kh
        if kb <= 0:
            continue
        a = lo - (b << lgB) if b == bl else 0
        z = hi - (b << lgB) if b == bh else B
        tj = np.empty(kb, np.int64)
        tc = np.empty(kb, np.int64)
        k = _block_range(R, b, a, z, tj, tc)
        e0 = np.int64(blk[4 * b + 2])
        for q in range(k):
            j = tj[q]
            if j >= kb:
                j = kb - 1
            s = e0 + j
            sym[t] = np.int64(lsym[s]) if s < len(lsym) else 0
            cnt[t] = tc[q]
            t += 1
    if nmid > 0:
        mid = np.empty(nmid, np.int64)
        for q in range(nmid):
            mid[q] = np.int64(lsym[e_mid0 + q])
        mid = np.unique(mid)
        for q in range(len(mid)):
            c = mid[q]
            sym[t] = c
            cnt[t] = _count_before(R, c, bh) - _count_before(R, c, bl + 1)
            t += 1
    k = 0
    if t == 1:
        out_sym[0] = sym[0]
        out_cnt[0] = cnt[0]
        return 1
    order = np.argsort(sym[:t], kind="mergesort")
    for q in range(t):
        c = sym[order[q]]
        v = cnt[order[q]]
        if k > 0 and out_sym[k - 1] == c:
            out_cnt[k - 1] += v
        elif k < cap:
            out_sym[k] = c
            out_cnt[k] = v
            k += 1
    return k


def size_bytes(R: tuple) -> int:
    """Bytes of the rank structure's files."""
    return int(sum(a.nbytes for a in R[1:]))


# ----------------------------------------------------------------------------- build


@kernel(cache=True, nogil=True)
def _huffman_lengths(freq):
    """Huffman code lengths for the positive ``freq`` (two-queue merge of the sorted weights)."""
    k = len(freq)
    lens = np.zeros(k, np.int64)
    if k <= 1:
        return lens
    order = np.argsort(freq, kind="mergesort")
    tot = 2 * k - 1
    w = np.empty(tot, np.int64)
    parent = np.empty(tot, np.int64)
    for x in range(k):
        w[x] = freq[order[x]]
    li = 0
    ii = k
    for nxt in range(k, tot):
        s = 0
        for _ in range(2):
            if li < k and (ii >= nxt or w[li] <= w[ii]):
                pick = li
                li += 1
            else:
                pick = ii
                ii += 1
            parent[pick] = nxt
            s += w[pick]
        w[nxt] = s
    depth = np.zeros(tot, np.int64)
    for x in range(tot - 2, -1, -1):
        depth[x] = depth[parent[x]] + 1
    for x in range(k):
        lens[order[x]] = depth[x]
    return lens


@kernel(cache=True, nogil=True)
def _build_block(ids, k, wps):
    """Huffman-shaped wavelet tree of one block of local ids ``0..k-1``.

    Returns ``(freq, codes, words, rdir, nodes)``: the codes carry a leading 1 bit; ``words`` is a
    whole number of samples (at least one bit of room after the last node, so rank at the end
    stays inside the block's samples).
    """
    nsym = len(ids)
    freq = np.zeros(k, np.int64)
    for i in range(nsym):
        freq[ids[i]] += 1
    lens = _huffman_lengths(freq)
    # canonical codes: by (length, local id)
    order = np.argsort(lens * k + np.arange(k), kind="mergesort")
    codes = np.zeros(k, np.int64)
    code = 0
    prev = lens[order[0]]
    for q in range(k):
        j = order[q]
        code <<= lens[j] - prev
        prev = lens[j]
        codes[j] = (np.int64(1) << lens[j]) | code
        code += 1
    m = k - 1
    c0 = np.full(max(m, 1), -1, np.int64)
    c1 = np.full(max(m, 1), -1, np.int64)
    size = np.zeros(max(m, 1), np.int64)
    ones = np.zeros(max(m, 1), np.int64)
    made = 1 if m > 0 else 0
    for j in range(k):
        L = lens[j]
        nd = 0
        for d in range(L):
            bit = (codes[j] >> (L - 1 - d)) & 1
            size[nd] += freq[j]
            if bit:
                ones[nd] += freq[j]
            if d == L - 1:
                if bit:
                    c1[nd] = _LEAF + j
                else:
                    c0[nd] = _LEAF + j
            else:
                nxt = c1[nd] if bit else c0[nd]
                if nxt < 0:
                    nxt = made
                    made += 1
                    if bit:
                        c1[nd] = nxt
                    else:
                        c0[nd] = nxt
                nd = nxt
    start = np.zeros(max(m, 1), np.int64)
    before = np.zeros(max(m, 1), np.int64)
    total = 0
    tones = 0
    for x in range(m):
        start[x] = total
        before[x] = tones
        total += size[x]
        tones += ones[x]
    nsamp = total // (64 * wps) + 1
    words = np.zeros(nsamp * wps, np.uint64)
    cur = start.copy()
    for i in range(nsym):
        j = ids[i]
        L = lens[j]
        cj = codes[j]
        nd = 0
        for d in range(L):
            bit = (cj >> (L - 1 - d)) & 1
            if bit:
                p = cur[nd]
                words[p >> 6] |= _U1 << np.uint64(p & 63)
            cur[nd] += 1
            nxt = c1[nd] if bit else c0[nd]
            if nxt >= _LEAF:
                break
            nd = nxt
    nodes = np.zeros(4 * m, np.uint32)
    for x in range(m):
        nodes[4 * x] = start[x]
        nodes[4 * x + 1] = before[x]
        nodes[4 * x + 2] = c0[x]
        nodes[4 * x + 3] = c1[x]
    return freq, codes, words, nodes


@kernel(cache=True, nogil=True)
def _rrr_encode(words, wps):
    """RRR-code a block's words (a whole number of records of ``wps`` words): ``(rec, offs)`` —
    per record the ones and offset bits before it (uint32 each) and its words' classes (ones per
    word, one byte each); and the words' offsets (combinatorial number system) packed into a bit
    stream."""
    nw = len(words)
    nrec = nw // wps
    rb = 8 + wps
    rec = np.zeros(nrec * rb, np.uint8)
    total = 0
    for w in range(nw):
        total += _OFFLEN[_popcount(words[w])]
    offs = np.zeros((total + 63) // 64, np.uint64)
    ptr = 0
    ones = 0
    for w in range(nw):
        s = w // wps
        if w == s * wps:
            for q in range(4):
                rec[s * rb + q] = (ones >> (8 * q)) & 255
                rec[s * rb + 4 + q] = (ptr >> (8 * q)) & 255
        x = words[w]
        c = _popcount(x)
        rec[s * rb + 8 + w - s * wps] = c
        ones += c
        L = _OFFLEN[c]
        if L == 0:
            continue
        off = _U0
        j = 0
        for p in range(64):
            if (x >> np.uint64(p)) & _U1:
                j += 1
                off += _BINOM[p, j]
        sh = ptr & 63
        offs[ptr >> 6] |= off << np.uint64(sh)
        if sh + L > 64:
            offs[(ptr >> 6) + 1] |= off >> np.uint64(64 - sh)
        ptr += L
    return rec, offs


class _Writer:
    """Append arrays to ``path`` (through a temporary file), hashing; ``close`` fsyncs and renames."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tmp = path.with_name(path.name + ".tmp")
        self.f = self.tmp.open("wb")
        self.h = hashlib.sha256()
        self.size = 0

    def write(self, a: np.ndarray) -> None:
        buf = memoryview(np.ascontiguousarray(a)).cast("B")
        self.f.write(buf)
        self.h.update(buf)
        self.size += buf.nbytes

    def close(self) -> dict[str, Any]:
        self.f.flush()
        os.fsync(self.f.fileno())
        self.f.close()
        os.replace(self.tmp, self.path)
        return {"name": self.path.name, "bytes": self.size, "sha256": self.h.hexdigest()}


def _check_params(block: int, sample: int) -> None:
    if not isinstance(block, int) or block & (block - 1) or not MIN_BLOCK <= block <= MAX_BLOCK:
        raise ValueError(
            f"block must be a power of two in [{MIN_BLOCK}, {MAX_BLOCK}], got {block!r}"
        )
    if sample not in SAMPLES:
        raise ValueError(f"sample must be one of {SAMPLES} words per rank sample, got {sample!r}")


def _alphabet(bwt: np.ndarray, step: int) -> np.ndarray:
    alph = np.zeros(0, np.int64)
    for a in range(0, int(bwt.shape[0]), step):
        alph = np.union1d(alph, np.unique(np.asarray(bwt[a : a + step])).astype(np.int64))
    return alph


def build(
    bwt: np.ndarray,
    sigma: int,
    out_dir: Path,
    prefix: str,
    *,
    block: int = DEFAULT_BLOCK,
    sample: int = DEFAULT_SAMPLE,
) -> dict[str, Any]:
    """Write the ``{prefix}fbb.*`` files for ``bwt`` (symbols < ``sigma``); returns the metadata.

    Streams over ``bwt`` one block at a time. Memory: the running counts (8 bytes per symbol of
    the alphabet) plus 24 bytes per (symbol, block) pair for the final symbol-major reordering.
    """
    _check_params(block, sample)
    out_dir = Path(out_dir)
    n = int(bwt.shape[0])
    sigma = int(sigma)
    sdt = symbol_dtype(sigma)
    nblocks = -(-n // block)
    dense = sigma <= _DENSE_SIGMA
    alph_all = None if dense else _alphabet(bwt, 1 << 24)
    running = np.zeros(sigma if dense else len(alph_all), np.int64)
    small = sigma <= 1 << 16
    lut = np.zeros(sigma, np.int64) if small else None
    w = {
        k: _Writer(out_dir / f"{prefix}fbb.{k}")
        for k in ("rec", "offs", "blk", "lsym", "bcnt", "bcode", "node")
    }
    blk = np.zeros((nblocks + 1, 4), np.uint64)
    nw = no = ne = nn = 0
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=f".{prefix}fbb-") as td:
        ent = (Path(td) / "ent").open("wb")  # block-major (dense symbol, block, count before)
        for b in range(nblocks):
            x = np.asarray(bwt[b * block : (b + 1) * block])
            if small:
                cnts = np.bincount(x, minlength=sigma)
                if len(cnts) > sigma:
                    raise ValueError("BWT symbol >= sigma")
                uniq = np.flatnonzero(cnts)
                lut[uniq] = np.arange(len(uniq))
                ids = lut[x]
            else:
                uniq, ids = np.unique(x, return_inverse=True)
                if int(uniq[-1]) >= sigma:
                    raise ValueError("BWT symbol >= sigma")
            freq, codes, words, nodes = _build_block(
                ids.astype(np.int64), len(uniq), np.int64(sample)
            )
            recs, offs = _rrr_encode(words, np.int64(sample))
            d = uniq.astype(np.int64) if dense else np.searchsorted(alph_all, uniq)
            blk[b] = (nw, 64 * no, ne, nn)
            w["rec"].write(recs)
            w["offs"].write(offs)
            w["lsym"].write(uniq.astype(sdt))
            w["bcnt"].write(running[d].astype("<u8"))
            w["bcode"].write(codes.astype("<u4"))
            w["node"].write(nodes)
            ent_rec = np.empty((len(uniq), 3), np.uint64)
            ent_rec[:, 0] = d
            ent_rec[:, 1] = b
            ent_rec[:, 2] = running[d]
            ent.write(ent_rec.tobytes())
            running[d] += freq
            nw += len(words)
            no += len(offs)
            ne += len(uniq)
            nn += len(nodes) // 4
        blk[nblocks] = (nw, 64 * no, ne, nn)
        w["blk"].write(blk)
        ent.close()
        files = {k: v.close() for k, v in w.items()}
        rec = (
            np.memmap(Path(td) / "ent", dtype=np.uint64, mode="r").reshape(-1, 3)
            if ne
            else np.zeros((0, 3), np.uint64)
        )
        order = np.argsort(rec[:, 0], kind="stable")
        present = np.flatnonzero(running)
        alph = present if dense else alph_all[present]
        per = np.bincount(
            np.searchsorted(present, rec[:, 0].astype(np.int64)), minlength=len(present)
        )
        sbase = np.zeros(len(present) + 1, np.uint64)
        sbase[1:] = np.cumsum(per)
        for k, col, dt in (("smblk", 1, "<u4"), ("smcnt", 2, "<u8")):
            wr = _Writer(out_dir / f"{prefix}fbb.{k}")
            for a in range(0, ne, 1 << 22):
                wr.write(rec[order[a : a + (1 << 22)], col].astype(dt))
            files[k] = wr.close()
        del rec
    for k, arr in (
        ("alph", alph.astype(sdt)),
        ("sbase", sbase),
        ("tot", running[present].astype("<u8")),
    ):
        wr = _Writer(out_dir / f"{prefix}fbb.{k}")
        wr.write(arr)
        files[k] = wr.close()
    return {
        "name": NAME,
        "n": n,
        "sigma": sigma,
        "block": block,
        "sample": sample,
        "nblocks": nblocks,
        "entries": ne,
        "nodes": nn,
        "words": nw,
        "offset_words": no,
        "symbols": len(present),
        "symbol_bytes": sdt.itemsize,
        "bytes": int(sum(f["bytes"] for f in files.values())),
        "files": files,
    }


# ----------------------------------------------------------------------------- open


def open(out_dir: Path, prefix: str, meta: dict[str, Any]) -> tuple:
    """Map the files, check their sizes and the block/symbol directories; returns the kernels' tuple."""
    out_dir = Path(out_dir)
    if not isinstance(meta, dict) or meta.get("name") != NAME:
        raise CorruptIndexError(
            f"rank structure {meta.get('name') if isinstance(meta, dict) else meta!r} is not {NAME!r}"
        )
    n = meta_int(meta, "n", 0, 1 << 48)
    sigma = meta_int(meta, "sigma", 1, 1 << 32)
    block = meta_int(meta, "block", MIN_BLOCK, MAX_BLOCK)
    sample = meta_int(meta, "sample", min(SAMPLES), max(SAMPLES))
    try:
        _check_params(block, sample)
    except ValueError as exc:
        raise CorruptIndexError(f"rank structure metadata: {exc}") from None
    nblocks = meta_int(meta, "nblocks", 0, 1 << 48)
    if nblocks != -(-n // block):
        raise CorruptIndexError(
            f"rank structure metadata: {nblocks} blocks do not cover {n} symbols"
        )
    ne = meta_int(meta, "entries", 0, 1 << 48)
    nn = meta_int(meta, "nodes", 0, 1 << 48)
    nw = meta_int(meta, "words", 0, 1 << 48)
    no = meta_int(meta, "offset_words", 0, 1 << 48)
    u = meta_int(meta, "symbols", 0, min(sigma, max(n, 0)))
    sdt = symbol_dtype(sigma).str
    if meta.get("symbol_bytes") != np.dtype(sdt).itemsize:
        raise CorruptIndexError("rank structure metadata: symbol width does not match sigma")
    files = meta.get("files")
    if not isinstance(files, dict):
        raise CorruptIndexError("rank structure metadata lists no files")
    wps = sample
    if nw % wps or ne - nn != nblocks:
        raise CorruptIndexError(
            "rank structure metadata: word, entry and node counts are inconsistent"
        )
    rec = map_listed(out_dir, files, "rec", "<u1", (nw // wps) * (8 + wps))
    offs = map_listed(out_dir, files, "offs", "<u8", no)
    blk = map_listed(out_dir, files, "blk", "<u8", 4 * (nblocks + 1))
    lsym = map_listed(out_dir, files, "lsym", sdt, ne)
    bcnt = map_listed(out_dir, files, "bcnt", "<u8", ne)
    bcode = map_listed(out_dir, files, "bcode", "<u4", ne)
    node = map_listed(out_dir, files, "node", "<u4", 4 * nn)
    alph = map_listed(out_dir, files, "alph", sdt, u)
    sbase = map_listed(out_dir, files, "sbase", "<u8", u + 1)
    smblk = map_listed(out_dir, files, "smblk", "<u4", ne)
    smcnt = map_listed(out_dir, files, "smcnt", "<u8", ne)
    tot = map_listed(out_dir, files, "tot", "<u8", u)
    # cheap structural checks over the small directories (O(nblocks + symbols))
    b4 = np.asarray(blk).reshape(-1, 4).astype(np.int64)
    if (
        b4[0].any()
        or (b4[-1] != (nw, 64 * no, ne, nn)).any()
        or (np.diff(b4, axis=0) < 0).any()
        or (b4[:, 0] % wps).any()
        or (b4[:, 1] % 64).any()
        or (np.diff(b4[:, 2]) - np.diff(b4[:, 3]) != 1).any()
    ):
        raise CorruptIndexError(
            f"{out_dir / files['blk']['name']}: block directory is inconsistent"
        )
    sb = np.asarray(sbase).astype(np.int64)
    if u + 1 != len(sb) or sb[0] != 0 or sb[-1] != ne or (np.diff(sb) <= 0).any():
        raise CorruptIndexError(
            f"{out_dir / files['sbase']['name']}: symbol directory is inconsistent"
        )
    if u and ((np.diff(np.asarray(alph).astype(np.int64)) <= 0).any() or int(alph[-1]) >= sigma):
        raise CorruptIndexError(
            f"{out_dir / files['alph']['name']}: alphabet is not ascending below sigma"
        )
    if int(np.asarray(tot).astype(np.int64).sum()) != n:
        raise CorruptIndexError(
            f"{out_dir / files['tot']['name']}: symbol totals do not add up to {n}"
        )
    hdr = np.array([n, block, block.bit_length() - 1, wps, nblocks, sigma], np.int64)
    return (hdr, rec, offs, blk, lsym, bcnt, bcode, node, alph, sbase, smblk, smcnt, tot)
