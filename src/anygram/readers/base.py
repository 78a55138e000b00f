"""What every reader yields, and how skipped records are counted."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from ..errors import CorpusError

log = logging.getLogger("anygram.readers")


@dataclass(frozen=True)
class Document:
    """One document: its text, where it came from, and the metadata kept with it."""

    text: str
    path: str  # file path relative to the input root (or the file name)
    linenum: int  # 0-based record number inside the file (0 for whole-file documents)
    metadata: dict[str, Any] = field(default_factory=dict)
    #: pre-tokenized documents (``ids_field``) carry their token ids; ``text`` is then ""
    ids: list[int] | None = None

    @property
    def is_empty(self) -> bool:
        return not self.ids if self.ids is not None else not self.text

    def meta_record(self) -> dict[str, Any]:
        """The metadata line stored in the index (infini-gram's shape)."""
        return {"path": self.path, "linenum": self.linenum, "metadata": self.metadata}


@dataclass
class SkipReport:
    """Counts of skipped records by reason, with the first few locations of each."""

    on_error: str = "skip"
    max_examples: int = 20
    counts: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)

    def skip(self, reason: str, where: str, detail: str = "") -> None:
        """Count a bad record, or raise :class:`CorpusError` when ``on_error == "fail"``."""
        msg = f"{where}: {reason}" + (f" ({detail})" if detail else "")
        if self.on_error == "fail":
            raise CorpusError(msg)
        self.counts[reason] = self.counts.get(reason, 0) + 1
        if len(self.examples) < self.max_examples:
            self.examples.append(msg)
        log.debug("skipped %s", msg)

    @property
    def total(self) -> int:
        return sum(self.counts.values())
