"""``POST /api/v1/{index}/contamination``: benchmark contamination of posted items.

Body: ``{"items": [{"id": ..., "text": ...}, ...], "criteria": [...], "window": 50, ...}`` (the
parameters of :func:`anygram.contamination`); the response is exactly
``ContaminationReport.to_dict()`` of the Python call, with one benchmark (``name``, default
``"request"``) and one index (the route's). Limits: at most ``max_batch`` items, each within
``max_query_chars`` characters and ``max_text_tokens`` tokens; ``docs`` ≤ ``max_maxnum``;
``context`` ≤ ``max_disp_len``; the whole request within the time budget.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import Field, StrictFloat, StrictInt, StrictStr

from anygram.errors import QueryError

from .models import NonNegInt, PositiveInt, Query, _Body
from .service import Service

Fraction = Annotated[StrictFloat | StrictInt, Field(ge=0, le=1)]


class ContamItem(_Body):
    id: StrictStr | StrictInt | None = Field(None, description="the item's id (default: its position)")
    text: Query = Field(description="the item's text, or its token ids")


class ContaminationBody(_Body):
    items: list[ContamItem] = Field(description="benchmark items to check")
    name: StrictStr = Field("request", description="benchmark name used in the report")
    criteria: list[Literal["windows", "ngrams", "longest"]] | None = Field(None, description="default: all three")
    window: PositiveInt = Field(50, description="window length: characters on a byte-level index, tokens otherwise")
    dirty: Fraction = 0.8
    suspicious: Fraction = 0.2
    ngram: PositiveInt = 8
    ngram_dirty: Fraction = 0.7
    docs: NonNegInt | None = Field(None, description="documents per item for its longest span (default min(3, max_maxnum))")
    context: PositiveInt | None = Field(None, description="tokens of context around the span (default 200)")
    docs_min_len: PositiveInt | None = Field(None, description="look documents up only for spans at least this long (default: window)")


def add_routes(r: APIRouter, svc: Service) -> None:
    """Register the contamination route on the ``/api/v1`` router."""
    from anygram.analyses.benchmarks import BenchItem
    from anygram.analyses.contamination import CRITERIA, ContamParams, _is_bytes_index, score_items
    from anygram.analyses.contamination_results import ContaminationReport

    @r.post("/{index}/contamination", tags=["analyses"], summary="Contamination of benchmark items: windows, n-grams, longest span")
    async def contamination(index: str, body: ContaminationBody) -> JSONResponse:
        idx = svc.index(index)
        svc.check_batch(body.items, "items")
        lim = svc.limits
        docs = min(3, lim.max_maxnum) if body.docs is None else body.docs
        if docs > lim.max_maxnum:
            raise QueryError(f"docs={docs} exceeds this server's limit of {lim.max_maxnum}")
        context = svc.max_disp_len(idx, body.context if body.context is not None else min(200, lim.max_disp_len))

        def go() -> dict[str, Any]:
            items = []
            for i, it in enumerate(body.items):
                text = it.text
                ids = svc.check_query(idx, text, f"items[{i}].text", lim.max_text_tokens)
                items.append(BenchItem(id=str(i if it.id is None else it.id), text=text if isinstance(text, str) else ids))  # type: ignore[arg-type]
            params = ContamParams(
                criteria=tuple(body.criteria or CRITERIA), window=body.window, dirty=float(body.dirty), suspicious=float(body.suspicious),
                ngram=body.ngram, ngram_dirty=float(body.ngram_dirty), docs=docs, context=context, docs_min_len=body.docs_min_len,
            )
            res = score_items(idx, items, params, benchmark=body.name, index_name=index, threads=1)
            info = svc.info(index)
            report = ContaminationReport(
                params=params.describe(),
                indexes=[{"name": index, "path": index, "total_tokens": info["total_tokens"], "total_docs": info["total_docs"], "unit": "chars" if _is_bytes_index(idx) else "tokens"}],
                benchmarks=[{"name": body.name, "path": "", "fields": [], "joiner": "", "items": len(items), "skipped": 0, "layout": "request"}],
                results=[res],
            )
            return report.to_dict()

        return JSONResponse(await svc.run(go))
