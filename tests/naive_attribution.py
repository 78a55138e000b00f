"""Slow, obviously-right references for attribution (infini-gram's ``attribute``, step by step)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence


def naive_longest_prefix_lens(count: Callable[[list[int]], int], ids: Sequence[int]) -> list[int]:
    """Per start l: the largest k with ``count(ids[l:l+k]) > 0`` (plain scan of every k)."""
    out = []
    for l in range(len(ids)):
        k = 0
        for kk in range(1, len(ids) - l + 1):
            if count(list(ids[l : l + kk])) > 0:
                k = kk
        out.append(k)
    return out


def naive_attribute(
    count: Callable[[list[int]], int],
    ids: Sequence[int],
    lens: Sequence[int],
    delim_ids: Sequence[int],
    min_len: int,
    max_cnt: int,
    enforce_bow: bool,
    bow_ids: Sequence[int],
) -> list[tuple[int, int, int]]:
    """(l, r, count) of the kept spans, transcribing infini-gram 2.6.0's
    ``compute_longest_prefix_len`` (delimiter cut, bow back-off) and ``compute_interesting_spans``
    (count filter, then keep a span when its end passes the last kept end). ``lens[l]`` is the
    longest occurring prefix at ``l`` (the true one, or infini-gram's own)."""
    ids = list(ids)
    n = len(ids)
    cands = []
    for l in range(n):
        if enforce_bow and ids[l] not in bow_ids:
            continue
        suffix = ids[l:]
        length = lens[l]
        if delim_ids:
            pos = 0
            while pos + 1 < length:
                if suffix[pos] in delim_ids:
                    length = pos + 1
                    break
                pos += 1
        if enforce_bow:
            while length > 0:
                if length == len(suffix) or suffix[length] in bow_ids:
                    break
                length -= 1
        if length < min_len:
            continue
        c = count(ids[l : l + length])
        if c > max_cnt:
            continue
        cands.append((l, l + length, c))
    kept = []
    last_r = 0
    for l, r, c in cands:
        if r > last_r:
            last_r = r
            kept.append((l, r, c))
    return kept


def naive_unigram_sum(count: Callable[[list[int]], int], total: int, span: Sequence[int]) -> float:
    acc = 0.0
    for t in span:
        c = count([t])
        acc += (math.log(c) - math.log(total)) if c > 0 else -10000.0
    return acc
