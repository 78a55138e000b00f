"""The one place for tunables: query defaults and limits, build defaults, thread counts.

Kernels never hard-code these; the public wrappers read them from a :class:`QueryDefaults`
(per :class:`~anygram.Index`) or a :class:`BuildConfig`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

#: Format version written into ``manifest.json``; readers refuse newer majors.
FORMAT_NAME = "anygram-sa"
FORMAT_VERSION = 1
#: Newest format version this anygram reads; FM indexes (``kind: "fm"``) are written as version 2.
FORMAT_VERSION_MAX = 2
FM_FORMAT_VERSION = 2
#: index kinds this anygram reads
INDEX_KINDS = ("sa", "fm")

#: Manifest file name inside an index directory.
MANIFEST_NAME = "manifest.json"


def default_threads() -> int:
    """Threads used to query shards in parallel (``ANYGRAM_THREADS`` overrides)."""
    env = os.environ.get("ANYGRAM_THREADS")
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            pass
    return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class QueryDefaults:
    """Defaults and limits of query parameters, with infini-gram's defaults where it has one."""

    #: ntd: sample the range when it holds more than this many occurrences; ``None`` = exact.
    max_support: int | None = None
    #: CNF: subsample a clause whose occurrences exceed this.
    max_clause_freq: int = 50_000
    #: CNF: maximum distance (tokens) between the terms of different clauses.
    max_diff_tokens: int = 100
    #: search_docs: documents returned.
    maxnum: int = 1
    #: documents: tokens displayed around a match.
    max_disp_len: int = 1000
    #: hard limits that protect a process from absurd parameters
    max_query_tokens: int = 1_000_000
    max_maxnum: int = 10_000
    max_disp_len_limit: int = 10_000_000
    max_cnf_terms: int = 1_000
    threads: int = field(default_factory=default_threads)


@dataclass(frozen=True)
class BuildConfig:
    """Parameters of an index build (recorded in the manifest)."""

    #: bytes of RAM the build may use across all workers (None: 60% of available RAM)
    max_memory: int | None = None
    #: parallel shard builders (None: number of cores)
    workers: int | None = None
    #: upper bound on tokens per shard (None: derived from max_memory and workers)
    shard_tokens: int | None = None
    #: JSONL / parquet field holding the text
    text_field: str = "text"
    #: "skip" bad records (counted, reported) or "fail" on the first
    on_error: str = "skip"
    #: glob patterns for directory input
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    #: skip documents that are empty after reading
    skip_empty: bool = True
    #: show progress bars
    progress: bool = True
