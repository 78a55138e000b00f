"""What every reader yields, and how skipped records are counted."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from ..errors import CorpusError

log = logging.getLogger("anygram.readers")

ON_ERROR_CHOICES = ("skip", "fail")


@dataclass(frozen=True)
class Document:
    """One document: its text, where it came from, and the metadata kept with it."""

    text: str
    path: str  # file path relative to the input root (or the file name)
    linenum: int  # 0-based record number inside the file (0 for whole-file documents)
    metadata: dict[str, Any] = field(default_factory=dict)
    #: pre-tokenized documents (``ids_field``) carry their token ids; ``text`` is then ""
    ids: list[int] | None = None
    #: 1-based physical line where the record starts (for ``file:line`` messages)
    line: int = 0

    @property
    def is_empty(self) -> bool:
        return not self.ids if self.ids is not None else not self.text

    @property
    def where(self) -> str:
        """``path:line`` of this record, as used in skip reports."""
        return f"{self.path}:{self.line or self.linenum + 1}"

    def meta_record(self) -> dict[str, Any]:
        """The metadata line stored in the index (infini-gram's shape)."""
        return {"path": self.path, "linenum": self.linenum, "metadata": self.metadata}


class SkipReport:
    """Counts of skipped records by reason, with the first few locations (``file:line``).

    With ``on_error="fail"`` the first bad record raises :class:`~anygram.errors.CorpusError`
    instead. While :attr:`muted` (a resumed build replaying documents it already indexed) skips
    are neither counted nor raised.

    Every skip has a *position*: the number of documents yielded before it (``position`` is kept
    up to date by whoever consumes the documents; a skip that concerns a yielded document, e.g. a
    tokenization problem, passes its own position). :meth:`settle` folds all skips before a
    position into the settled totals, which is what a resumable build saves with each closed
    shard: the skips of the documents already indexed, not of those read ahead.
    """

    def __init__(self, on_error: str = "skip", max_examples: int = 20) -> None:
        if on_error not in ON_ERROR_CHOICES:
            raise CorpusError(f"on_error must be 'skip' or 'fail', not {on_error!r}")
        self.on_error = on_error
        self.max_examples = max_examples
        self.position = 0
        self.muted = False
        self._settled: dict[str, int] = {}
        self._settled_examples: list[str] = []
        #: skips not yet settled: [position, reason, count, example-or-None]
        self._pending: list[list[Any]] = []

    def skip(self, reason: str, where: str, detail: str = "", position: int | None = None) -> None:
        """Count a bad record, or raise :class:`CorpusError` when ``on_error == "fail"``."""
        if self.muted:
            return
        msg = f"{where}: {reason}" + (f" ({detail})" if detail else "")
        if self.on_error == "fail":
            raise CorpusError(msg)
        pos = self.position if position is None else position
        example = msg if self._n_examples() < self.max_examples else None
        last = self._pending[-1] if self._pending else None
        if last is not None and example is None and last[0] == pos and last[1] == reason and last[3] is None:
            last[2] += 1  # coalesce runs of the same skip (a file full of bad lines)
        else:
            self._pending.append([pos, reason, 1, example])
        log.debug("skipped %s", msg)

    def _n_examples(self) -> int:
        return len(self._settled_examples) + sum(1 for p in self._pending if p[3] is not None)

    def settle(self, upto: int) -> None:
        """Fold the skips at positions ``< upto`` into the settled totals."""
        keep = []
        for entry in self._pending:
            pos, reason, n, example = entry
            if pos < upto:
                self._settled[reason] = self._settled.get(reason, 0) + n
                if example is not None:
                    self._settled_examples.append(example)
            else:
                keep.append(entry)
        self._pending = keep

    def checkpoint(self) -> dict[str, Any]:
        """The settled skips, JSON-serialisable (see :meth:`restore`)."""
        return {"counts": dict(self._settled), "examples": list(self._settled_examples)}

    def restore(self, data: dict[str, Any]) -> None:
        self._settled = {str(k): int(v) for k, v in data.get("counts", {}).items()}
        self._settled_examples = [str(e) for e in data.get("examples", [])][: self.max_examples]
        self._pending = []

    @property
    def counts(self) -> dict[str, int]:
        out = dict(self._settled)
        for _, reason, n, _ in self._pending:
            out[reason] = out.get(reason, 0) + n
        return out

    @property
    def examples(self) -> list[str]:
        return self._settled_examples + [p[3] for p in self._pending if p[3] is not None]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def __repr__(self) -> str:
        return f"SkipReport(on_error={self.on_error!r}, counts={self.counts!r})"
