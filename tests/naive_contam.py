"""Brute-force contamination reference: substring search in the raw corpus documents.

Works on sequences (``str`` for text items on a byte-level index, tuples of token ids otherwise):
a span "occurs" when it is a contiguous part of some document.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any


def _occurs(span: Any, docs: Sequence[Any]) -> bool:
    if isinstance(span, str):
        return any(span in d for d in docs)
    n = len(span)
    return any(tuple(d[i : i + n]) == tuple(span) for d in docs for i in range(len(d) - n + 1))


def _count(span: Any, docs: Sequence[Any]) -> int:
    n = len(span)
    if isinstance(span, str):
        return sum(1 for d in docs for i in range(len(d) - n + 1) if d.startswith(span, i))
    return sum(1 for d in docs for i in range(len(d) - n + 1) if tuple(d[i : i + n]) == tuple(span))


def windows(item: Any, docs: Sequence[Any], w: int) -> list[bool]:
    return [_occurs(item[k : k + w], docs) for k in range(len(item) - w + 1)]


def ngrams(item: Any, docs: Sequence[Any], n: int) -> list[bool]:
    """Text: n consecutive whitespace-separated words, as the item's own substring; ids: n tokens."""
    if isinstance(item, str):
        words = [(m.start(), m.end()) for m in re.finditer(r"\S+", item)]
        return [_occurs(item[words[i][0] : words[i + n - 1][1]], docs) for i in range(len(words) - n + 1)]
    return windows(item, docs, n)


def longest(item: Any, docs: Sequence[Any]) -> tuple[int, int, int]:
    """(start, length, count) of the leftmost longest span of ``item`` that occurs."""
    best = (0, 0)
    for c in range(len(item)):
        e = c
        while e < len(item) and _occurs(item[c : e + 1], docs):
            e += 1
        if e - c > best[1]:
            best = (c, e - c)
    c, L = best
    return c, L, (_count(item[c : c + L], docs) if L else 0)


def label(found: list[bool], dirty: float, suspicious: float | None) -> str:
    if not found:
        return "too_short"
    s = sum(found) / len(found)
    if s >= dirty:
        return "dirty"
    if suspicious is not None and s >= suspicious:
        return "suspicious"
    return "clean"
