"""Kernels over all shards at once.

Shards are passed as tuples of equally-typed arrays (``dss``: token bytes, ``sas``: suffix
arrays, ``ks``: pointer widths), so that one compiled call serves any number of shards and a
query costs one dispatch. Patterns are little-endian token bytes; ``w`` is the token width.
"""

from __future__ import annotations

from ._jit import kernel
import numpy as np

from ._ntd import ntd_exact
from ._search import extend_range, find_range


@kernel(cache=True, nogil=True)
def find_all(dss, sas, ks, q, qstart, qlen, out):
    """Range of ``q[qstart:qstart+qlen]`` in every shard (into ``out[s]``); returns the total count."""
    total = 0
    for s in range(len(dss)):
        n = sas[s].shape[0] // ks[s]
        lo, hi = find_range(dss[s], sas[s], ks[s], q, qstart, qlen, 0, n)
        out[s, 0] = lo
        out[s, 1] = hi
        total += hi - lo
    return total


@kernel(cache=True, nogil=True)
def extend_all(dss, sas, ks, q, qstart, qlen, done, ranges, out):
    """Refine per-shard ranges of the first ``done`` bytes to the range of ``qlen`` bytes."""
    total = 0
    for s in range(len(dss)):
        lo, hi = extend_range(dss[s], sas[s], ks[s], q, qstart, qlen, done, ranges[s, 0], ranges[s, 1])
        out[s, 0] = lo
        out[s, 1] = hi
        total += hi - lo
    return total


@kernel(cache=True, nogil=True)
def whole_ranges(sas, ks, out):
    """Every shard's whole range (that of the empty pattern) into ``out[s]``; returns the total count."""
    total = 0
    for s in range(len(sas)):
        out[s, 0] = 0
        out[s, 1] = sas[s].shape[0] // ks[s]
        total += out[s, 1]
    return total


@kernel(cache=True, nogil=True)
def count_batch(dss, sas, ks, qbuf, qoffs, out):
    """Counts of many patterns ``qbuf[qoffs[i]:qoffs[i+1]]`` (all shards summed) into ``out[i]``."""
    ranges = np.empty((len(dss), 2), dtype=np.int64)
    for i in range(qoffs.shape[0] - 1):
        out[i] = find_all(dss, sas, ks, qbuf, qoffs[i], qoffs[i + 1] - qoffs[i], ranges)


@kernel(cache=True, nogil=True)
def prob_batch(dss, sas, ks, qbuf, qoffs, w, out_prompt, out_cont):
    """n-gram counts of many (prompt + cont) patterns ``qbuf[qoffs[i]:qoffs[i+1]]`` (cont = last token)."""
    a = np.empty((len(dss), 2), dtype=np.int64)
    b = np.empty((len(dss), 2), dtype=np.int64)
    for i in range(qoffs.shape[0] - 1):
        q = qbuf[qoffs[i] : qoffs[i + 1]]
        pc, cc = prob_all(dss, sas, ks, q, q.shape[0] - w, w, a, b)
        out_prompt[i] = pc
        out_cont[i] = cc


@kernel(cache=True, nogil=True)
def prob_all(dss, sas, ks, q, plen, w, out_prompt, out_cont):
    """n-gram counts of a prompt (first ``plen`` bytes of q) and prompt + next token (``plen + w`` bytes)."""
    prompt_cnt = find_all(dss, sas, ks, q, 0, plen, out_prompt)
    if prompt_cnt == 0:
        for s in range(len(dss)):
            out_cont[s, 0] = out_prompt[s, 0]
            out_cont[s, 1] = out_prompt[s, 0]
        return 0, 0
    cont_cnt = extend_all(dss, sas, ks, q, 0, plen + w, plen, out_prompt, out_cont)
    return prompt_cnt, cont_cnt


@kernel(cache=True, nogil=True)
def longest_suffix(dss, sas, ks, q, ntok, w, out):
    """Largest L such that the last L tokens of ``q`` (``ntok`` tokens) occur; ranges into ``out``.

    Occurrence is monotone in L (a suffix of an occurring string occurs), so binary lifting then
    bisection finds it with O(log ntok) searches.
    """
    tmp = np.empty_like(out)
    l_lo = 0
    l_hi = 1
    while True:
        if l_hi > ntok:
            l_hi = ntok + 1
            break
        if find_all(dss, sas, ks, q, (ntok - l_hi) * w, l_hi * w, tmp) == 0:
            break
        l_lo = l_hi
        l_hi <<= 1
    while l_hi - l_lo > 1:
        mid = (l_lo + l_hi) >> 1
        if find_all(dss, sas, ks, q, (ntok - mid) * w, mid * w, tmp) == 0:
            l_hi = mid
        else:
            l_lo = mid
    find_all(dss, sas, ks, q, (ntok - l_lo) * w, l_lo * w, out)
    return l_lo


@kernel(cache=True, nogil=True)
def score_pass(dss, sas, ks, q, ntok, w, suffix_lens, prompt_cnts, cont_cnts):
    """∞-gram scoring of every token of one text in one pass.

    For position i: L_i = longest suffix of tokens[:i] that occurs. L_{i+1} <= L_i + 1, and the
    range of tokens[i-L_i : i+1] (suffix + next token) is the continuation range already computed
    for position i, so a position costs one one-token range refinement, plus a fresh search only
    when the match shrinks (at most as many times as it grew): amortised O(1) searches per token.
    """
    nsh = len(dss)
    cur = np.empty((nsh, 2), dtype=np.int64)
    nxt = np.empty((nsh, 2), dtype=np.int64)
    # position 0: empty suffix, its range is everything
    L = 0
    pc = whole_ranges(sas, ks, cur)
    for i in range(ntok):
        # cur holds the ranges of tokens[i-L:i], pc its count (> 0)
        cc = extend_all(dss, sas, ks, q, (i - L) * w, (L + 1) * w, L * w, cur, nxt)
        suffix_lens[i] = L
        prompt_cnts[i] = pc
        cont_cnts[i] = cc
        if i + 1 == ntok:
            break
        if cc > 0:
            L += 1
            pc = cc
            for s in range(nsh):
                cur[s, 0] = nxt[s, 0]
                cur[s, 1] = nxt[s, 1]
        else:
            # shrink: the longest suffix of tokens[:i+1] that occurs has length <= L
            L2 = L
            while True:
                if L2 == 0:
                    pc = whole_ranges(sas, ks, cur)
                    break
                c = find_all(dss, sas, ks, q, (i + 1 - L2) * w, L2 * w, cur)
                if c > 0:
                    pc = c
                    break
                L2 -= 1
            L = L2


@kernel(cache=True, nogil=True)
def longest_prefix_from(dss, sas, ks, q, ntok, w, l, r, cur, nxt):
    """End and count of the longest prefix of ``tokens[l:]`` that occurs, given that ``tokens[l:r]`` occurs.

    Returns ``(r', count)`` with ``r' >= r``; ``count`` is that of ``tokens[l:r']`` (the total token
    count when ``r' == l``). ``cur``/``nxt`` are ``(shards, 2)`` scratch ranges. One fresh search,
    then one one-token refinement per step of the end.
    """
    if r > l:
        cnt = find_all(dss, sas, ks, q, l * w, (r - l) * w, cur)
    else:
        cnt = whole_ranges(sas, ks, cur)
    while r < ntok:
        c = extend_all(dss, sas, ks, q, l * w, (r - l + 1) * w, (r - l) * w, cur, nxt)
        if c == 0:
            break
        r += 1
        cnt = c
        for s in range(len(dss)):
            cur[s, 0] = nxt[s, 0]
            cur[s, 1] = nxt[s, 1]
    return r, cnt


@kernel(cache=True, nogil=True)
def longest_prefixes(dss, sas, ks, q, ntok, w, out_len, out_cnt, need_counts):
    """For every start l: length of the longest prefix of tokens[l:] that occurs, and its count.

    Two pointers: the end r of the match never moves left as l advances, so the text costs O(n)
    searches (one fresh search per start, one one-token refinement per step of r).
    """
    nsh = len(dss)
    cur = np.empty((nsh, 2), dtype=np.int64)
    nxt = np.empty((nsh, 2), dtype=np.int64)
    r = 0
    for l in range(ntok):
        if r < l:
            r = l
        if r == ntok and l > 0 and not need_counts:
            # tokens[l-1:ntok] occurs, so does every suffix of it: no search needed
            out_len[l] = ntok - l
            out_cnt[l] = 0
            continue
        r, cnt = longest_prefix_from(dss, sas, ks, q, ntok, w, l, r, cur, nxt)
        out_len[l] = r - l
        out_cnt[l] = cnt if r > l else 0


@kernel(cache=True, nogil=True)
def ntd_small(dss, sas, ks, q, qlen, w, eos, ranges, out_tok, out_cnt):
    """Find a prompt and, when it is rare enough, its exact next-token counts, in one call.

    Fills ``ranges`` and returns ``(count, entries)``; ``entries`` is -1 when the prompt occurs
    more than ``out_tok.shape[0]`` times (the caller then fans the shards out over threads).
    """
    cnt = find_all(dss, sas, ks, q, 0, qlen, ranges)
    cap = out_tok.shape[0]
    if cnt > cap:
        return cnt, -1
    nd = 0
    for s in range(len(dss)):
        lo = ranges[s, 0]
        hi = ranges[s, 1]
        if hi > lo:
            nd += ntd_exact(dss[s], sas[s], ks[s], lo, hi, qlen, w, eos, out_tok[nd:], out_cnt[nd:])
    return cnt, nd
