"""``Service``: the state of one app (its indexes, limits and query runner) and the checks that
turn a request's parameters into an Index call within the server's limits.

The ``check_*`` methods run on worker threads (tokenizing a long text is work too); they raise
:class:`~anygram.errors.QueryError`, which the app turns into HTTP 400.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from anygram.errors import QueryError

from .exceptions import ServerConfigError, UnknownIndexError
from .limits import ServerLimits
from .runner import QueryRunner

if TYPE_CHECKING:  # pragma: no cover
    from anygram.index import Index

T = TypeVar("T")

#: index names are URL path segments: no slashes, nothing a path could be made of
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")


class Service:
    """The indexes served by name, the limits, and the bounded runner of one app."""

    def __init__(self, indexes: Mapping[str, Index], limits: ServerLimits) -> None:
        if not indexes:
            raise ServerConfigError("no index to serve")
        for name in indexes:
            if not isinstance(name, str) or not NAME_RE.match(name) or name in (".", ".."):
                raise ServerConfigError(
                    f"index name {name!r} is not allowed: use letters, digits, '_', '.', '-' (at most 128)"
                )
        self.indexes = dict(indexes)
        self.limits = limits
        self.runner = QueryRunner(limits.workers, limits.max_pending, limits.time_budget)
        self._infos: dict[str, dict[str, Any]] = {}

    # ------------------------------------------------------------------ lookup
    def index(self, name: str) -> Index:
        idx = self.indexes.get(name)
        if idx is None:
            raise UnknownIndexError(f"unknown index {name!r}; this server has: {', '.join(sorted(self.indexes))}")
        return idx

    def info(self, name: str) -> dict[str, Any]:
        """``IndexInfo.to_dict()`` without the server's filesystem paths.

        ``path`` becomes ``[name]``, shard paths ``name/N``, the tokenizer's ``source`` file is
        dropped and ``build`` (input paths, the builder's memory settings) is left empty.
        """
        if name not in self._infos:
            info = self.index(name).info()
            shards = [dataclasses.replace(sh, path=f"{name}/{i}") for i, sh in enumerate(info.shards)]
            tokenizer = {k: v for k, v in info.tokenizer.items() if k != "source"}
            public = dataclasses.replace(info, path=[name], shards=shards, tokenizer=tokenizer, build={})
            self._infos[name] = public.to_dict()
        return self._infos[name]

    async def run(self, fn: Callable[[], T]) -> T:
        return await self.runner.run(fn)

    def close(self) -> None:
        self.runner.close()

    # ------------------------------------------------------------------ checks
    def check_query(self, idx: Index, query: str | Sequence[int], what: str = "query", max_tokens: int | None = None) -> list[int]:
        """Token ids of a query (text is tokenized here), within the length limits."""
        limit = self.limits.max_query_tokens if max_tokens is None else max_tokens
        if isinstance(query, str):
            if len(query) > self.limits.max_query_chars:
                raise QueryError(f"{what} has {len(query)} characters; this server's limit is {self.limits.max_query_chars}")
            ids = idx.tokenize(query)
        else:
            ids = list(query)
        if len(ids) > limit:
            raise QueryError(f"{what} has {len(ids)} tokens; this server's limit is {limit}")
        return ids

    def check_text(self, idx: Index, text: str | Sequence[int]) -> list[int]:
        return self.check_query(idx, text, "text", self.limits.max_text_tokens)

    def check_cont(self, idx: Index, cont: int | str) -> int | str:
        if isinstance(cont, str) and len(cont) > self.limits.max_query_chars:
            raise QueryError(f"cont has {len(cont)} characters; this server's limit is {self.limits.max_query_chars}")
        return cont

    def check_batch(self, items: Sequence[Any], what: str) -> None:
        if len(items) > self.limits.max_batch:
            raise QueryError(f"{what} has {len(items)} items; this server's limit is {self.limits.max_batch}")

    def check_cnf(self, idx: Index, cnf: Sequence[Sequence[str | Sequence[int]]]) -> list[list[list[int]]]:
        """A CNF within the size limits, its terms as token ids (the Index checks the rest)."""
        lim = self.limits
        if len(cnf) > lim.max_cnf_clauses:
            raise QueryError(f"the cnf has {len(cnf)} clauses; this server's limit is {lim.max_cnf_clauses}")
        out = []
        for c, clause in enumerate(cnf):
            if len(clause) > lim.max_cnf_terms:
                raise QueryError(f"cnf[{c}] has {len(clause)} terms; this server's limit is {lim.max_cnf_terms} per clause")
            out.append([self.check_query(idx, term, f"cnf[{c}][{t}]") for t, term in enumerate(clause)])
        return out

    @staticmethod
    def _bounded(value: int | None, name: str, default: int, limit: int) -> int:
        if value is None:
            return min(default, limit)
        if value > limit:
            raise QueryError(f"{name}={value} exceeds this server's limit of {limit}")
        return value

    def max_support(self, value: int | None) -> int | None:
        """The request's max_support, or the server's default (its limit; None = exact)."""
        limit = self.limits.max_support
        if limit is None:
            return value
        if value is None:
            return limit
        if value > limit:
            raise QueryError(f"max_support={value} exceeds this server's limit of {limit}")
        return value

    def maxnum(self, idx: Index, value: int | None) -> int:
        return self._bounded(value, "maxnum", idx.defaults.maxnum, self.limits.max_maxnum)

    def max_disp_len(self, idx: Index, value: int | None) -> int:
        return self._bounded(value, "max_disp_len", idx.defaults.max_disp_len, self.limits.max_disp_len)

    def max_clause_freq(self, idx: Index, value: int | None) -> int:
        return self._bounded(value, "max_clause_freq", idx.defaults.max_clause_freq, self.limits.max_clause_freq)

    def max_diff_tokens(self, idx: Index, value: int | None) -> int:
        return self._bounded(value, "max_diff_tokens", idx.defaults.max_diff_tokens, self.limits.max_diff_tokens)

    # ---------------------------------------------------------------- helpers
    @staticmethod
    def decode(idx: Index, ids: Sequence[int]) -> str:
        """Text of token ids, or the ids separated by spaces for an index without a tokenizer."""
        if idx.tokenizer is None:
            return " ".join(str(int(t)) for t in ids)
        return idx.decode(ids)
