"""Errors raised by the HTTP server layer (the library's own errors live in :mod:`anygram.errors`)."""

from __future__ import annotations

from anygram.errors import AnygramError, QueryError


class ServerConfigError(AnygramError, ValueError):
    """The server was configured with an invalid limit or index name."""

    exit_code = 2


class UnknownIndexError(QueryError):
    """A request names an index this server does not serve (HTTP 404)."""


class TimeBudgetExceededError(AnygramError):
    """A query ran longer than the per-request time budget (HTTP 503)."""


class ServerBusyError(AnygramError):
    """Every query slot is taken, e.g. by queries that overran their budget and still run (HTTP 503)."""
