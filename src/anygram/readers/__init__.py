"""Corpus readers: stream documents (text + metadata) from folders, JSONL(.gz/.zst) and parquet.

``iter_documents(paths, ...)`` is the one entry point; bad records are counted in a
:class:`SkipReport` (with ``file:line`` examples) or raised as :class:`~anygram.errors.CorpusError`
when ``on_error="fail"``.
"""

from .base import Document, SkipReport
from .dispatch import estimate_bytes, iter_documents

__all__ = ["Document", "SkipReport", "estimate_bytes", "iter_documents"]
