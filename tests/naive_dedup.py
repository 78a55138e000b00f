"""Brute-force exact-substring deduplication: every window of k tokens in a Python dict.

The obviously-correct twin of :mod:`anygram.analyses.dedup`: documents are lists of tokens
(UTF-8 bytes of a text, or token ids), in corpus order (= the index's document order over all
shards). A window ``doc[i:i+k]`` whose tuple occurs more than once anywhere is duplicated; its
first occurrence is the lowest (document, offset). ``mode="first"`` removes the tokens covered by
a later occurrence and by no first occurrence; ``mode="all"`` every covered token.
"""

from __future__ import annotations

from collections import defaultdict


def removed_positions(docs: list[list[int]], k: int, mode: str) -> list[set[int]]:
    occ: dict[tuple[int, ...], list[tuple[int, int]]] = defaultdict(list)
    for d, doc in enumerate(docs):
        for i in range(len(doc) - k + 1):
            occ[tuple(doc[i : i + k])].append((d, i))
    first: list[set[int]] = [set() for _ in docs]
    later: list[set[int]] = [set() for _ in docs]
    for places in occ.values():
        if len(places) < 2:
            continue
        d0, i0 = min(places)
        first[d0].update(range(i0, i0 + k))
        for d, i in places:
            if (d, i) != (d0, i0):
                later[d].update(range(i, i + k))
    if mode == "all":
        return [f | n for f, n in zip(first, later)]
    return [n - f for f, n in zip(first, later)]


def runs(positions: set[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for p in sorted(positions):
        if out and out[-1][1] == p:
            out[-1] = (out[-1][0], p + 1)
        else:
            out.append((p, p + 1))
    return out


def cut_text(text: str, removed: set[int]) -> str:
    """Remove the byte runs from a text, each run narrowed to whole UTF-8 characters."""
    data = text.encode("utf-8")
    # byte offsets where a character starts
    starts = set()
    pos = 0
    for ch in text:
        starts.add(pos)
        pos += len(ch.encode("utf-8"))
    starts.add(pos)
    drop = set()
    for a, b in runs(removed):
        a2 = min(x for x in starts if x >= a)
        b2 = max(x for x in starts if x <= b)
        drop.update(range(a2, b2))
    return bytes(c for i, c in enumerate(data) if i not in drop).decode("utf-8")


def dedup_texts(texts: list[str], k: int, mode: str, min_length: int) -> list[str | None]:
    """The deduplicated text of every input text (``None``: dropped); empty texts stay as they are."""
    docs = [list(t.encode("utf-8")) for t in texts]
    removed = removed_positions(docs, k, mode)
    out: list[str | None] = []
    for t, r in zip(texts, removed):
        new = cut_text(t, r)
        if new != t and len(new.encode("utf-8")) < min_length:
            out.append(None)
        else:
            out.append(new)
    return out


def dedup_ids(docs: list[list[int]], k: int, mode: str, min_length: int) -> list[list[int] | None]:
    removed = removed_positions(docs, k, mode)
    out: list[list[int] | None] = []
    for d, r in zip(docs, removed):
        new = [t for i, t in enumerate(d) if i not in r]
        out.append(None if r and len(new) < min_length else new)
    return out
