"""``POST /api/v1/{index}/attribute``: tracing a text back to the corpus (``Index.attribute``).

Body: ``{"text": "..."}`` or ``{"query_ids": [...]}`` plus the parameters of
:func:`anygram.analyses.attribution.attribute`; the response is exactly
``AttributionResult.to_dict()``. The text is bounded by ``max_text_tokens``, ``max_docs`` by
``max_maxnum`` and ``context`` by ``max_disp_len`` of the server's limits.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr

from anygram.analyses.attribution import AttributionResult
from anygram.errors import QueryError

from .api import ERROR_RESPONSES
from .models import NonNegInt, PositiveInt
from .service import Service


class AttributeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: StrictStr | None = Field(None, description="the text to trace (tokenized with the index's tokenizer)")
    query_ids: list[StrictInt] | None = Field(None, description="or its token ids")
    delim_ids: list[StrictInt] = Field(default_factory=list, description="tokens a span may end with but not contain")
    min_len: PositiveInt | None = Field(None, description="shortest span in tokens (default 8; 32 on a byte-level index)")
    max_cnt: PositiveInt | None = Field(None, description="drop spans occurring more often (default: no limit)")
    enforce_bow: StrictBool = Field(False, description="spans start at a beginning-of-word token and end before one")
    bow_ids: list[StrictInt] | None = Field(None, description="beginning-of-word token ids (default: whitespace bytes / the tokenizer's word starts)")
    top_frac: StrictFloat | StrictInt | None = Field(None, description="OLMoTrace: keep the ceil(top_frac * tokens) spans of lowest unigram probability")
    max_unigram_logprob: StrictFloat | StrictInt | None = Field(None, description="keep spans whose unigram log-probability sum is at most this")
    max_docs: NonNegInt | None = Field(None, description="occurrences (documents) returned per span (default: min(10, the server's max_maxnum))")
    context: NonNegInt | None = Field(None, description="tokens of context either side of a span (default 50)")
    documents: StrictBool = Field(True, description="return the documents (else only the occurrences' shard and ptr)")


def build_trace_router(svc: Service) -> APIRouter:
    r = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)

    @r.post("/{index}/attribute", response_model=AttributionResult, tags=["texts"], summary="Spans of a text found verbatim in the corpus, with their documents")
    async def attribute(index: str, body: AttributeBody) -> JSONResponse:
        idx = svc.index(index)
        if (body.text is None) == (body.query_ids is None):
            raise QueryError("give exactly one of text and query_ids")
        lim = svc.limits
        max_docs = min(10, lim.max_maxnum) if body.max_docs is None else body.max_docs
        if max_docs > lim.max_maxnum:
            raise QueryError(f"max_docs={max_docs} exceeds this server's limit of {lim.max_maxnum}")
        context = 50 if body.context is None else body.context
        if context > lim.max_disp_len:
            raise QueryError(f"context={context} exceeds this server's limit of {lim.max_disp_len}")
        text = body.text if body.text is not None else body.query_ids

        def go() -> dict:
            ids = svc.check_text(idx, text)  # type: ignore[arg-type]
            res = idx.attribute(ids, delim_ids=body.delim_ids, min_len=body.min_len, max_cnt=body.max_cnt,
                                enforce_bow=body.enforce_bow, bow_ids=body.bow_ids, top_frac=body.top_frac,
                                max_unigram_logprob=body.max_unigram_logprob, max_docs=max_docs, context=context,
                                documents=body.documents)
            return res.to_dict()

        return JSONResponse(await svc.run(go))

    return r
