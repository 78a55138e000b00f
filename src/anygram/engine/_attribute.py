"""Kernel of attribution (infini-gram's ``attribute``): maximal spans of a text found in the corpus.

One pass over the text: :func:`~anygram.engine._multi.longest_prefixes` (or, with beginning-of-word
starts only, :func:`longest_prefixes_at`) gives, for every start
``l``, the longest prefix of ``tokens[l:]`` that occurs and its count (O(n) searches, two
pointers); the delimiter cut and the beginning-of-word back-off are O(1) per start with the
precomputed ``next_delim`` / ``prev_bow`` arrays; a fresh count is searched only for a span that
was cut short and could still be kept. The selection rule is infini-gram 2.6.0's
``compute_interesting_spans`` (see :mod:`anygram.analyses.attribution`).
"""

from __future__ import annotations

import numpy as np

from ._jit import kernel
from ._multi import find_all, longest_prefix_from, longest_prefixes


@kernel(cache=True, nogil=True)
def longest_prefixes_at(dss, sas, ks, q, ntok, w, want, out_len, out_cnt):
    """:func:`~anygram.engine._multi.longest_prefixes` at the starts ``l`` with ``want[l]`` only.

    The end ``r`` of the longest match still never moves left as ``l`` advances (a substring of an
    occurring string occurs), so skipped starts cost nothing and the text costs O(#starts + n)
    searches.
    """
    nsh = len(dss)
    cur = np.empty((nsh, 2), dtype=np.int64)
    nxt = np.empty((nsh, 2), dtype=np.int64)
    r = 0
    for l in range(ntok):
        if r < l:
            r = l
        if not want[l]:
            continue
        r, cnt = longest_prefix_from(dss, sas, ks, q, ntok, w, l, r, cur, nxt)
        out_len[l] = r - l
        out_cnt[l] = cnt if r > l else 0


@kernel(cache=True, nogil=True)
def span_at(l, L, next_delim, prev_bow, enforce_bow):
    """``(L', cut)``: the longest match ``L`` at ``l`` cut after the first delimiter inside it and,
    with ``enforce_bow``, backed off to end before a beginning of word (see :func:`attribute_spans`)."""
    cut = False
    p = next_delim[l]
    if p < l + L - 1:
        L = p - l + 1
        cut = True
    if enforce_bow and L > 0:
        e = prev_bow[l + L]
        nl = e - l if e > l else 0
        if nl != L:
            L = nl
            cut = True
    return L, cut


@kernel(cache=True, nogil=True)
def attribute_spans(dss, sas, ks, q, ntok, w, next_delim, prev_bow, is_bow, enforce_bow, min_len, max_cnt, out_l, out_r, out_cnt):
    """Spans ``[out_l[i], out_r[i])`` with counts ``out_cnt[i]``; returns how many.

    ``next_delim[p]``: smallest delimiter position >= p (``ntok`` if none); ``prev_bow[e]`` for
    ``e`` in ``[0, ntok]``: largest ``e' <= e`` with ``e' == ntok`` or ``is_bow[e']`` (-1 if none).
    For every start ``l`` (a beginning of word when ``enforce_bow``), in order:
    L = longest occurring prefix; if a delimiter sits at ``p`` with ``l <= p < l + L - 1``, L is
    cut to end just after it; with ``enforce_bow`` L backs off until ``l + L`` is a beginning of
    word or the end of the text. The span is kept when ``L >= min_len``, it ends after the last
    kept span (``r > last_r``) and its count is at most ``max_cnt``.
    """
    nsh = len(dss)
    lens = np.zeros(ntok, np.int64)
    cnts = np.zeros(ntok, np.int64)
    if ntok == 0:
        return 0
    if enforce_bow:
        longest_prefixes_at(dss, sas, ks, q, ntok, w, is_bow, lens, cnts)
    else:
        longest_prefixes(dss, sas, ks, q, ntok, w, lens, cnts, True)
    tmp = np.empty((nsh, 2), dtype=np.int64)
    last_r = 0
    k = 0
    for l in range(ntok):
        if enforce_bow and not is_bow[l]:
            continue
        L, cut = span_at(l, lens[l], next_delim, prev_bow, enforce_bow)
        if L < min_len:
            continue
        r = l + L
        if r <= last_r:
            # infini-gram drops it after counting; a count cannot change that
            continue
        if cut:
            c = find_all(dss, sas, ks, q, l * w, L * w, tmp)
        else:
            c = cnts[l]
        if c > max_cnt:
            continue
        out_l[k] = l
        out_r[k] = r
        out_cnt[k] = c
        k += 1
        last_r = r
    return k
