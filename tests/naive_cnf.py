"""Naive twin of ``Index.find_cnf`` / ``count_cnf``: infini-gram's CNF procedure in plain Python.

Works on the token stream of each shard (``[sep] + doc0 + [sep] + doc1 ...``); occurrences are
found by a linear scan, a pointer is ``token position * width`` (a byte offset, as in the index).
No subsampling: callers pass a ``max_clause_freq`` above every count, so the answer is exact.
Pointer lists are compared as sorted multisets (the engine keeps suffix-array order).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence


def shard_streams(
    docs: Sequence[Sequence[int]], shard_doc_cnts: Sequence[int], width: int
) -> list[list[int]]:
    """Token streams of the shards: non-empty documents in order, split by ``shard_doc_cnts``."""
    sep = (1 << (8 * width)) - 1
    kept = [list(d) for d in docs if len(d) > 0]
    out, i = [], 0
    for n in shard_doc_cnts:
        stream: list[int] = []
        for d in kept[i : i + n]:
            stream.append(sep)
            stream.extend(d)
        out.append(stream)
        i += n
    return out


def occurrences(stream: Sequence[int], term: Sequence[int]) -> list[int]:
    """Token positions where ``term`` starts in ``stream``."""
    m = len(term)
    t = list(term)
    return [i for i in range(len(stream) - m + 1) if list(stream[i : i + m]) == t]


def naive_find_cnf(
    streams: Sequence[Sequence[int]],
    width: int,
    cnf: Sequence[Sequence[Sequence[int]]],
    max_diff_tokens: int,
) -> tuple[int, list[list[int]]]:
    """``(cnt, ptrs_by_shard)`` of a CNF (clauses of terms of token ids), as infini-gram computes it exactly.

    ``ptrs_by_shard`` is ``[]`` when some clause never occurs; lists are sorted.
    """
    w = width
    D = max_diff_tokens * w
    # pointers of every clause in every shard
    ptrs = [
        [[p * w for term in clause for p in occurrences(stream, term)] for stream in streams]
        for clause in cnf
    ]
    if any(sum(len(x) for x in by_shard) == 0 for by_shard in ptrs):
        return 0, []
    sep_bytes = b"\xff" * w
    total = 0
    out = []
    for s, stream in enumerate(streams):
        data = b"".join(t.to_bytes(w, "little") for t in stream)
        order = sorted(range(len(cnf)), key=lambda c: len(ptrs[c][s]))  # stable
        ranges = [(p, p) for p in ptrs[order[0]][s]]
        for c in order[1:]:
            ps = sorted(ptrs[c][s])
            new = []
            for l, r in ranges:
                lo = bisect_left(ps, r) - 1  # last pointer < r
                hi = bisect_left(ps, l)  # first pointer >= l
                ok_l = lo >= 0 and min(l, ps[lo]) + D >= l
                ok_r = hi < len(ps) and max(r, ps[hi]) <= r + D
                nl = min(l, ps[lo]) if lo >= 0 else l
                nr = max(r, ps[hi]) if hi < len(ps) else r
                if ok_l and ok_r:
                    new.append((nl, nr))
                elif ok_l:
                    new.append((nl, r))
                elif ok_r:
                    new.append((l, nr))
            ranges = new
        # drop windows containing a separator (byte-wise, as infini-gram's std::search)
        ranges = [(l, r) for l, r in ranges if sep_bytes not in data[l:r]]
        total += len(ranges)
        out.append(sorted(l for l, _ in ranges))
    return total, out
