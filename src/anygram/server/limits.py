"""``ServerLimits``: every limit the HTTP server enforces, in one frozen dataclass.

The library's own limits (:class:`anygram.config.QueryDefaults`) protect a process from absurd
parameters; these are tighter, per-request limits for a shared server. Defaults follow
infini-gram's public API where it has one (500 query tokens there, ``maxnum`` ≤ 10,
``max_disp_len`` ≤ 10,000, ``max_support`` ≤ 1,000, ``max_clause_freq`` ≤ 500,000,
``max_diff_tokens`` ≤ 1,000, 4 clauses of 4 terms).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from .exceptions import ServerConfigError


@dataclass(frozen=True)
class ServerLimits:
    """Per-request limits and the worker pool of one server (see docs/server.md)."""

    #: characters of one text query (checked before tokenizing it)
    max_query_chars: int = 10_000
    #: tokens of one query (a term, a prompt, one batch item)
    max_query_tokens: int = 1_000
    #: tokens of a whole text passed to score / creativity / longest_matches
    max_text_tokens: int = 10_000
    #: queries in one count_batch request; texts / segments in one tokenize / decode request
    max_batch: int = 1_000
    #: CNF size: clauses (AND) and terms per clause (OR)
    max_cnf_clauses: int = 4
    max_cnf_terms: int = 4
    #: ntd / infgram_ntd: the largest max_support a request may ask for; also the default.
    #: None lifts the limit and makes exact distributions the default (unbounded work).
    max_support: int | None = 1_000
    #: CNF: the largest max_clause_freq and max_diff_tokens a request may ask for
    max_clause_freq: int = 500_000
    max_diff_tokens: int = 1_000
    #: documents: the largest maxnum and max_disp_len a request may ask for
    max_maxnum: int = 10
    max_disp_len: int = 10_000
    #: bytes of a request body (HTTP 413 above)
    max_body_bytes: int = 1 << 20
    #: seconds one query may run (HTTP 503 above; the thread itself cannot be stopped)
    time_budget: float = 10.0
    #: threads that run queries, and queries admitted at once (running + queued, HTTP 503 above)
    workers: int = 4
    max_pending: int = 64

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None and f.name == "max_support":
                continue
            if f.name == "time_budget":
                ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
            else:
                ok = isinstance(value, int) and not isinstance(value, bool) and value > 0
            if not ok:
                raise ServerConfigError(f"server limit {f.name} must be a positive number, not {value!r}")
        if self.max_pending < self.workers:
            raise ServerConfigError(f"max_pending ({self.max_pending}) must be at least workers ({self.workers})")

    def public(self) -> dict[str, int | float | None]:
        """The limits as a JSON-ready dict (served at ``GET /api/v1/limits``)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}
