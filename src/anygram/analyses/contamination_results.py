"""Result types of the contamination analysis: frozen dataclasses with ``to_dict()``.

The CLI's ``--json``, the HTTP route ``POST /api/v1/{index}/contamination`` and the Python API
all serialise exactly :meth:`ContaminationReport.to_dict`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..results import _Result

#: the labels an item can get from a fraction criterion, in report order
LABELS = ("dirty", "suspicious", "clean", "too_short")


@dataclass(frozen=True)
class FractionScore(_Result):
    """A fraction criterion of one item: ``found`` of ``total`` units occur in the corpus.

    ``score`` is ``found / total`` (``None`` when the item is shorter than one unit, then
    ``label`` is ``"too_short"``); ``label`` is ``dirty`` / ``suspicious`` / ``clean`` by the
    thresholds recorded in the report's ``params``.
    """

    total: int
    found: int
    score: float | None
    label: str


@dataclass(frozen=True)
class LongestSpan(_Result):
    """The longest span of an item found verbatim in the corpus (leftmost among the longest).

    ``start``/``end`` are offsets in the item in its ``unit`` (characters of the text on a
    byte-level index, tokens otherwise); ``tokens`` and ``chars`` are its length in index tokens
    and in characters; ``count`` its occurrences in the corpus.
    """

    tokens: int
    chars: int
    count: int
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class ContamDoc(_Result):
    """A corpus document holding the longest span: metadata and a context window.

    ``match_start`` is the offset (characters) of the span in ``context``; ``match_len`` its length.
    """

    doc_ix: int
    shard: int
    ptr: int
    metadata: dict[str, Any]
    context: str
    match_start: int
    match_len: int


@dataclass(frozen=True)
class ItemContamination(_Result):
    """All criteria of one benchmark item against one index.

    ``unit`` is ``"chars"`` (text on a byte-level index) or ``"tokens"``; ``length`` the item's
    length in that unit; ``spans`` the merged ``[start, end)`` ranges (in ``unit``) covered by
    the item's windows that occur in the corpus.
    """

    id: str
    unit: str
    length: int
    tokens: int
    windows: FractionScore | None
    ngrams: FractionScore | None
    longest: LongestSpan | None
    spans: list[tuple[int, int]]
    docs: list[ContamDoc] = field(default_factory=list)


@dataclass(frozen=True)
class ClassRates(_Result):
    """Items per label of one fraction criterion, their rates (over all items) and the mean score."""

    counts: dict[str, int]
    rates: dict[str, float]
    mean_score: float | None


@dataclass(frozen=True)
class LongestStats(_Result):
    """Longest verbatim spans over a benchmark: mean and max, in tokens and characters."""

    mean_tokens: float
    max_tokens: int
    mean_chars: float
    max_chars: int


@dataclass(frozen=True)
class BenchmarkContamination(_Result):
    """One benchmark against one index: per-label rates and the per-item results."""

    benchmark: str
    index: str
    items: int
    skipped: int
    seconds: float
    windows: ClassRates | None
    ngrams: ClassRates | None
    longest: LongestStats | None
    item_results: list[ItemContamination]


@dataclass(frozen=True)
class ContaminationReport(_Result):
    """Benchmarks × indexes: the parameters of every criterion, the inputs and the results."""

    params: dict[str, Any]
    indexes: list[dict[str, Any]]
    benchmarks: list[dict[str, Any]]
    results: list[BenchmarkContamination]

    def result(self, benchmark: str, index: str) -> BenchmarkContamination:
        """The result of one benchmark against one index (KeyError if absent)."""
        for r in self.results:
            if r.benchmark == benchmark and r.index == index:
                return r
        raise KeyError((benchmark, index))

    def matrix(self, criterion: str = "windows", label: str = "dirty") -> tuple[list[str], list[str], list[list[float | None]]]:
        """``(benchmarks, indexes, rates)``: the rate of ``label`` for every benchmark × index.

        ``criterion`` is ``windows`` or ``ngrams``; a cell is ``None`` when the criterion was not run.
        """
        benches = [b["name"] for b in self.benchmarks]
        idxs = [i["name"] for i in self.indexes]
        rows: list[list[float | None]] = []
        for b in benches:
            row: list[float | None] = []
            for i in idxs:
                rates = getattr(self.result(b, i), criterion)
                row.append(None if rates is None else rates.rates.get(label, 0.0))
            rows.append(row)
        return benches, idxs, rows
