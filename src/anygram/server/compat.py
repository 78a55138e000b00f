"""infini-gram's public API protocol: ``POST /`` (and ``POST /api/infini-gram``).

Requests are infini-gram's: ``{"index": NAME, "query_type": TYPE, "query": TEXT}`` or
``"query_ids": [ids]`` (or a triply nested list for a CNF), plus the type's optional fields.
A ``query`` containing `` AND `` / `` OR `` is a CNF (OR binds tighter than AND), as there.
Responses are infini-gram's: the engine's fields plus ``token_ids``, ``tokens`` and ``latency``
(milliseconds); errors are ``{"error": message}``, with an HTTP status (400 bad request, 404
unknown index, 413 body too large, 503 time budget or busy, 500 internal). This error shape
belongs to this endpoint only: it is the protocol existing clients parse.

Differences from api.infini-gram.io (documented in docs/server.md): query text is tokenized with
the index's own tokenizer as it is (no model-specific leading-space tweaks); an unknown index
is a 404 (there a 400); invalid parameters answer 400 (there some answer 200 with an error);
metadata is the JSON text of anygram's parsed metadata.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import JSONResponse

from anygram.errors import AnygramError, QueryError, TokenizerError

from .exceptions import ServerBusyError, TimeBudgetExceededError, UnknownIndexError
from .service import Service

if TYPE_CHECKING:  # pragma: no cover
    from anygram.index import Index

Ids = list[int]
CnfIds = list[list[list[int]]]

#: fields each query type accepts besides index, query_type and query / query_ids
OPTIONAL_FIELDS: dict[str, frozenset[str]] = {
    "count": frozenset({"max_clause_freq", "max_diff_tokens"}),
    "count_cnf": frozenset({"max_clause_freq", "max_diff_tokens"}),
    "prob": frozenset(),
    "ntd": frozenset({"max_support"}),
    "infgram_prob": frozenset(),
    "infgram_ntd": frozenset({"max_support"}),
    "find": frozenset(),
    "find_cnf": frozenset({"max_clause_freq", "max_diff_tokens"}),
    "search_docs": frozenset({"maxnum", "max_disp_len", "max_clause_freq", "max_diff_tokens"}),
    "search_docs_cnf": frozenset({"maxnum", "max_disp_len", "max_clause_freq", "max_diff_tokens"}),
    "get_doc_by_rank": frozenset({"s", "rank", "max_disp_len"}),
    "get_doc_by_ptr": frozenset({"s", "ptr", "max_disp_len"}),
}
#: fields infini-gram's own clients send and its server ignores
IGNORED_FIELDS = frozenset({"engine", "source", "timestamp"})
QUERY_OPTIONAL = frozenset({"get_doc_by_rank", "get_doc_by_ptr"})


class CompatError(QueryError):
    """A request that does not follow infini-gram's protocol (HTTP 400)."""


def _error(status: int, message: str) -> JSONResponse:
    headers = {"Retry-After": "1"} if status == 503 else None
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _is_int(x: Any) -> bool:
    return type(x) is int


def _positive(data: dict[str, Any], key: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if not _is_int(value) or value <= 0:
        raise CompatError(f"{key} must be a positive integer")
    return value


class InfinigramCompat:
    """Turns one infini-gram request into Index calls and infini-gram's response dict."""

    def __init__(self, svc: Service) -> None:
        self.svc = svc

    # ------------------------------------------------------------- parsing
    def _parse_query(self, idx: Index, data: dict[str, Any]) -> tuple[Ids | CnfIds | None, bool]:
        """(token ids or CNF, is_cnf) of the request's query or query_ids (None when absent)."""
        svc = self.svc
        if "query" in data:
            query = data["query"]
            if not isinstance(query, str):
                raise CompatError("query must be a string")
            if len(query) > svc.limits.max_query_chars:
                raise CompatError(f"query has {len(query)} characters; this server's limit is {svc.limits.max_query_chars}")
            if " AND " in query or " OR " in query:
                cnf = [[term for term in clause.split(" OR ")] for clause in query.split(" AND ")]
                return svc.check_cnf(idx, cnf), True
            return svc.check_query(idx, query), False
        if "query_ids" not in data:
            return None, False
        q = data["query_ids"]
        if isinstance(q, list) and all(_is_int(t) for t in q):
            return svc.check_query(idx, q, "query_ids"), False
        if isinstance(q, list) and all(
            isinstance(c, list) and all(isinstance(t, list) and all(_is_int(i) for i in t) for t in c) for c in q
        ):
            return svc.check_cnf(idx, q), True
        raise CompatError("query_ids must be a list of integers, or a triply-nested list of integers")

    def _tokens(self, idx: Index, ids: Ids | CnfIds, is_cnf: bool) -> list[Any]:
        one = self._token_str
        if is_cnf:
            return [[[one(idx, t) for t in term] for term in clause] for clause in ids]  # type: ignore[union-attr]
        return [one(idx, t) for t in ids]  # type: ignore[misc]

    def _token_str(self, idx: Index, t: int) -> str:
        return self.svc.decode(idx, [t]) if idx.tokenizer is not None else str(t)

    # ------------------------------------------------------------ documents
    def _spans(self, idx: Index, token_ids: list[int], cnf: CnfIds) -> list[list[Any]]:
        """infini-gram's spans: [text, clause number as a string, or None], matches left to right."""
        spans: list[tuple[list[int], str | None]] = [(token_ids, None)]
        for d, clause in enumerate(cnf):
            for needle in clause:
                if not needle:
                    continue
                out: list[tuple[list[int], str | None]] = []
                for hay, label in spans:
                    if label is not None:
                        out.append((hay, label))
                        continue
                    out.extend(_split(hay, needle, str(d)))
                spans = out
        return [[self.svc.decode(idx, ids), label] for ids, label in spans]

    def _doc(self, idx: Index, doc: Any, cnf: CnfIds | None) -> dict[str, Any]:
        return {
            "doc_ix": doc.doc_ix,
            "doc_len": doc.doc_len,
            "disp_len": doc.disp_len,
            "needle_offset": doc.needle_offset,
            "metadata": json.dumps(doc.metadata, ensure_ascii=False) if doc.metadata else "",
            "token_ids": list(doc.token_ids),
            "spans": self._spans(idx, list(doc.token_ids), cnf or []),
        }

    # --------------------------------------------------------------- queries
    def handle(self, idx: Index, query_type: str, data: dict[str, Any]) -> dict[str, Any]:
        """Run one request (on a worker thread); returns infini-gram's response dict."""
        svc = self.svc
        start = time.perf_counter()
        ids, is_cnf = self._parse_query(idx, data)
        if ids is None:
            ids, is_cnf = [], False
        result: dict[str, Any]
        cnf: CnfIds = ids if is_cnf else ([[ids]] if ids else [])  # type: ignore[assignment,list-item]
        simple: Ids = ids  # type: ignore[assignment]

        def cnf_params() -> tuple[int, int]:
            mcf = svc.max_clause_freq(idx, _positive(data, "max_clause_freq"))
            return mcf, svc.max_diff_tokens(idx, _positive(data, "max_diff_tokens"))

        def need_simple() -> None:
            if is_cnf:
                raise CompatError(f"{query_type} takes a simple query, not a CNF (AND / OR)")

        if query_type == "count" and not is_cnf:
            result = idx.count(simple).to_dict()
        elif query_type in ("count", "count_cnf"):
            result = idx.count_cnf(cnf, *cnf_params()).to_dict()
        elif query_type in ("prob", "infgram_prob"):
            need_simple()
            if not simple:
                raise CompatError("Please provide a non-empty query (the prompt followed by the token to score)")
            if query_type == "prob":
                result = idx.prob(simple[:-1], simple[-1]).to_dict()
            else:
                result = idx.infgram_prob(simple[:-1], simple[-1]).to_dict()
                L = result["suffix_len"]
                result["longest_suffix"] = svc.decode(idx, simple[len(simple) - 1 - L : -1])
        elif query_type in ("ntd", "infgram_ntd"):
            need_simple()
            ms = svc.max_support(_positive(data, "max_support"))
            r = idx.ntd(simple, ms) if query_type == "ntd" else idx.infgram_ntd(simple, ms)
            result = r.to_dict()
            for tok, entry in result["result_by_token_id"].items():
                entry["token"] = self._token_str(idx, tok)
            if query_type == "infgram_ntd":
                result["longest_suffix"] = svc.decode(idx, simple[len(simple) - result["suffix_len"] :])
        elif query_type == "find":
            need_simple()
            result = idx.find(simple).to_dict()
        elif query_type == "find_cnf":
            result = idx.find_cnf(cnf, *cnf_params()).to_dict()
        elif query_type in ("search_docs", "search_docs_cnf"):
            n = svc.maxnum(idx, _positive(data, "maxnum"))
            mdl = svc.max_disp_len(idx, _positive(data, "max_disp_len"))
            if is_cnf or query_type == "search_docs_cnf":
                sd = idx.search_docs_cnf(cnf, n, mdl, *cnf_params())
            else:
                sd = idx.search_docs(simple, n, mdl)
            result = {"cnt": sd.cnt, "approx": sd.approx, "idxs": list(sd.idxs)}
            result["documents"] = [self._doc(idx, d, cnf) for d in sd.documents]
            if sd.cnt == 0:
                result["message"] = "0 occurrences found"
            else:
                approx = "Approximately " if sd.approx else ""
                result["message"] = f"{approx}{sd.cnt} occurrences found. Displaying the documents of occurrences #{list(sd.idxs)}"
        elif query_type in ("get_doc_by_rank", "get_doc_by_ptr"):
            mdl = svc.max_disp_len(idx, _positive(data, "max_disp_len"))
            key = "rank" if query_type == "get_doc_by_rank" else "ptr"
            s, pos = data.get("s"), data.get(key)
            if not _is_int(s) or not _is_int(pos):
                raise CompatError(f"{query_type} needs integer fields s and {key}")
            doc = idx.get_doc_by_rank(s, pos, mdl) if key == "rank" else idx.get_doc_by_ptr(s, pos, mdl)
            result = self._doc(idx, doc, cnf)
        else:  # pragma: no cover - query types are checked before
            raise CompatError(f"invalid query_type: {query_type}")
        result["latency"] = (time.perf_counter() - start) * 1000.0
        # as infini-gram's server: the query's tokens (this replaces a single document's token_ids)
        result["token_ids"] = ids
        result["tokens"] = self._tokens(idx, ids, is_cnf)
        return result

    # ------------------------------------------------------------ endpoint
    async def endpoint(self, request: Request) -> JSONResponse:
        """Parse, check and run one request; every error is ``{"error": message}``."""
        raw = await request.body()
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return _error(400, "the request body must be a JSON object (malformed JSON)")
        if not isinstance(data, dict):
            return _error(400, "the request body must be a JSON object")
        name = data.pop("corpus", None) if "corpus" in data else data.pop("index", None)
        data.pop("index", None)
        query_type = data.pop("query_type", None)
        for key in IGNORED_FIELDS:
            data.pop(key, None)
        if name is None:
            return _error(400, "Missing required field: index")
        if query_type is None:
            return _error(400, "Missing required field: query_type")
        if not isinstance(name, str):
            return _error(400, "index must be a string")
        if not isinstance(query_type, str) or query_type not in OPTIONAL_FIELDS:
            return _error(400, f"Invalid query_type: {query_type}; one of {', '.join(OPTIONAL_FIELDS)}")
        n_query = ("query" in data) + ("query_ids" in data)
        if n_query > 1 or (n_query == 0 and query_type not in QUERY_OPTIONAL):
            return _error(400, "Exactly one of query and query_ids must be present")
        unknown = set(data) - {"query", "query_ids"} - OPTIONAL_FIELDS[query_type]
        if unknown:
            allowed = sorted(OPTIONAL_FIELDS[query_type]) or ["none"]
            return _error(400, f"unknown field(s) for {query_type}: {', '.join(sorted(unknown))} (optional fields: {', '.join(allowed)})")
        try:
            idx = self.svc.index(name)
            result = await self.svc.run(_bind(self.handle, idx, query_type, data))
        except UnknownIndexError as exc:
            return _error(404, str(exc))
        except (TimeBudgetExceededError, ServerBusyError) as exc:
            return _error(503, str(exc))
        except (QueryError, TokenizerError) as exc:
            return _error(400, str(exc))
        except AnygramError as exc:
            return _error(500, f"{type(exc).__name__}: {exc}")
        return JSONResponse(result)


def _bind(fn: Callable[..., dict[str, Any]], *args: Any) -> Callable[[], dict[str, Any]]:
    return lambda: fn(*args)


def _split(hay: Sequence[int], needle: Sequence[int], label: str) -> list[tuple[list[int], str | None]]:
    """Split ``hay`` around the non-overlapping occurrences of ``needle``, left to right."""
    out: list[tuple[list[int], str | None]] = []
    n, m = len(hay), len(needle)
    i = last = 0
    needle = list(needle)
    while i + m <= n:
        if list(hay[i : i + m]) == needle:
            if i > last:
                out.append((list(hay[last:i]), None))
            out.append((list(hay[i : i + m]), label))
            i += m
            last = i
        else:
            i += 1
    if last < n:
        out.append((list(hay[last:]), None))
    return out
