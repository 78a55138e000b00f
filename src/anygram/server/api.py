"""The native JSON API: ``/api/v1/...``, one POST route per query of the Index API.

Every query route answers exactly ``result.to_dict()`` of the Python API call of the same name
(JSON turns the int keys of ``result_by_token_id`` into strings, as ``json.dumps`` does).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from anygram.errors import QueryError
from anygram.results import (
    CountResult,
    CreativityResult,
    DocResult,
    FindCnfResult,
    FindResult,
    InfgramNtdResult,
    InfgramProbResult,
    LongestMatchesResult,
    NtdResult,
    ProbResult,
    ScoreResult,
    SearchDocsResult,
)
from anygram.tokenizers import check_token_ids

from .models import (
    BatchBody,
    CnfBody,
    DecodeBody,
    DocByIxBody,
    DocByPtrBody,
    DocByRankBody,
    NtdBatchBody,
    NtdBody,
    ProbBatchBody,
    ProbBody,
    QueryBody,
    SearchDocsBody,
    SearchDocsCnfBody,
    TextBody,
    TokenizeBody,
)
from .service import Service

#: status and body of the errors every query route can answer
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "invalid query (QueryError): unknown token id, limit exceeded, ..."},
    404: {"description": "unknown index"},
    413: {"description": "request body too large"},
    422: {"description": "malformed JSON or wrong field types"},
    503: {"description": "time budget exceeded, or the server is busy"},
}


def _json(result: Any) -> JSONResponse:
    return JSONResponse(result.to_dict() if hasattr(result, "to_dict") else result)


def build_router(svc: Service) -> APIRouter:
    """The ``/api/v1`` routes over one Service."""
    r = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)

    @r.get("/indexes", tags=["indexes"], summary="The indexes this server serves, with their sizes")
    async def indexes() -> JSONResponse:
        return JSONResponse({"indexes": [{"name": n, "info": svc.info(n)} for n in svc.indexes]})

    @r.get("/limits", tags=["indexes"], summary="This server's limits")
    async def limits() -> JSONResponse:
        return JSONResponse(svc.limits.public())

    @r.get("/{index}/info", tags=["indexes"], summary="IndexInfo of one index (paths replaced by its name)")
    async def info(index: str) -> JSONResponse:
        return JSONResponse(svc.info(index))

    # ------------------------------------------------------------------ counts
    @r.post("/{index}/count", response_model=CountResult, tags=["counts"], summary="Occurrences of a query")
    async def count(index: str, body: QueryBody) -> JSONResponse:
        idx = svc.index(index)
        return _json(await svc.run(lambda: idx.count(svc.check_query(idx, body.query))))

    @r.post("/{index}/count_batch", response_model=list[CountResult], tags=["counts"], summary="Counts of many queries")
    async def count_batch(index: str, body: BatchBody) -> JSONResponse:
        idx = svc.index(index)
        svc.check_batch(body.queries, "queries")

        def go() -> list[dict[str, Any]]:
            qs = [svc.check_query(idx, q, f"queries[{i}]") for i, q in enumerate(body.queries)]
            return [c.to_dict() for c in idx.count_batch(qs)]

        return JSONResponse(await svc.run(go))

    @r.post("/{index}/find", response_model=FindResult, tags=["counts"], summary="Suffix-array ranges of a query per shard")
    async def find(index: str, body: QueryBody) -> JSONResponse:
        idx = svc.index(index)
        return _json(await svc.run(lambda: idx.find(svc.check_query(idx, body.query))))

    # ----------------------------------------------------------- probabilities
    @r.post("/{index}/prob", response_model=ProbResult, tags=["probabilities"], summary="n-gram probability of one token after a prompt")
    async def prob(index: str, body: ProbBody) -> JSONResponse:
        idx = svc.index(index)
        return _json(await svc.run(lambda: idx.prob(svc.check_query(idx, body.prompt, "prompt"), svc.check_cont(idx, body.cont))))

    @r.post("/{index}/ntd", response_model=NtdResult, tags=["probabilities"], summary="Next-token distribution after a prompt")
    async def ntd(index: str, body: NtdBody) -> JSONResponse:
        idx = svc.index(index)
        ms = svc.max_support(body.max_support)
        return _json(await svc.run(lambda: idx.ntd(svc.check_query(idx, body.prompt, "prompt"), ms)))

    @r.post("/{index}/prob_batch", response_model=list[ProbResult], tags=["probabilities"], summary="prob of many (prompt, cont) pairs")
    async def prob_batch(index: str, body: ProbBatchBody) -> JSONResponse:
        idx = svc.index(index)
        svc.check_batch(body.items, "items")

        def go() -> list[dict[str, Any]]:
            items = [(svc.check_query(idx, it.prompt, f"items[{i}] prompt"), svc.check_cont(idx, it.cont)) for i, it in enumerate(body.items)]
            return [p.to_dict() for p in idx.prob_batch(items)]

        return JSONResponse(await svc.run(go))

    @r.post("/{index}/ntd_batch", response_model=list[NtdResult], tags=["probabilities"], summary="ntd of many prompts")
    async def ntd_batch(index: str, body: NtdBatchBody) -> JSONResponse:
        idx = svc.index(index)
        svc.check_batch(body.prompts, "prompts")
        ms = svc.max_support(body.max_support)

        def go() -> list[dict[str, Any]]:
            prompts = [svc.check_query(idx, p, f"prompts[{i}]") for i, p in enumerate(body.prompts)]
            return [n.to_dict() for n in idx.ntd_batch(prompts, ms)]

        return JSONResponse(await svc.run(go))

    @r.post("/{index}/infgram_prob", response_model=InfgramProbResult, tags=["probabilities"], summary="∞-gram probability of one token")
    async def infgram_prob(index: str, body: ProbBody) -> JSONResponse:
        idx = svc.index(index)
        return _json(await svc.run(lambda: idx.infgram_prob(svc.check_query(idx, body.prompt, "prompt"), svc.check_cont(idx, body.cont))))

    @r.post("/{index}/infgram_ntd", response_model=InfgramNtdResult, tags=["probabilities"], summary="∞-gram next-token distribution")
    async def infgram_ntd(index: str, body: NtdBody) -> JSONResponse:
        idx = svc.index(index)
        ms = svc.max_support(body.max_support)
        return _json(await svc.run(lambda: idx.infgram_ntd(svc.check_query(idx, body.prompt, "prompt"), ms)))

    # ------------------------------------------------------------- whole texts
    @r.post("/{index}/score", response_model=ScoreResult, tags=["texts"], summary="∞-gram scoring of every token of a text")
    async def score(index: str, body: TextBody) -> JSONResponse:
        idx = svc.index(index)
        return _json(await svc.run(lambda: idx.score(svc.check_text(idx, body.text))))

    @r.post("/{index}/creativity", response_model=CreativityResult, tags=["texts"], summary="End of the longest span found from each position")
    async def creativity(index: str, body: TextBody) -> JSONResponse:
        idx = svc.index(index)
        return _json(await svc.run(lambda: idx.creativity(svc.check_text(idx, body.text))))

    @r.post("/{index}/longest_matches", response_model=LongestMatchesResult, tags=["texts"], summary="Longest span found from each position, with its count")
    async def longest_matches(index: str, body: TextBody) -> JSONResponse:
        idx = svc.index(index)
        return _json(await svc.run(lambda: idx.longest_matches(svc.check_text(idx, body.text))))

    # --------------------------------------------------------------- documents
    @r.post("/{index}/search_docs", response_model=SearchDocsResult, tags=["documents"], summary="Documents containing a query")
    async def search_docs(index: str, body: SearchDocsBody) -> JSONResponse:
        idx = svc.index(index)
        n, mdl = svc.maxnum(idx, body.maxnum), svc.max_disp_len(idx, body.max_disp_len)
        return _json(await svc.run(lambda: idx.search_docs(svc.check_query(idx, body.query), n, mdl, body.seed)))

    @r.post("/{index}/get_doc_by_ix", response_model=DocResult, tags=["documents"], summary="Document number doc_ix")
    async def get_doc_by_ix(index: str, body: DocByIxBody) -> JSONResponse:
        idx = svc.index(index)
        mdl = svc.max_disp_len(idx, body.max_disp_len)
        return _json(await svc.run(lambda: idx.get_doc_by_ix(body.doc_ix, mdl)))

    @r.post("/{index}/get_doc_by_ptr", response_model=DocResult, tags=["documents"], summary="The document around a byte offset of a shard")
    async def get_doc_by_ptr(index: str, body: DocByPtrBody) -> JSONResponse:
        idx = svc.index(index)
        mdl = svc.max_disp_len(idx, body.max_disp_len)
        return _json(await svc.run(lambda: idx.get_doc_by_ptr(body.shard, body.ptr, mdl)))

    @r.post("/{index}/get_doc_by_rank", response_model=DocResult, tags=["documents"], summary="The document around a suffix-array rank of a shard")
    async def get_doc_by_rank(index: str, body: DocByRankBody) -> JSONResponse:
        idx = svc.index(index)
        mdl = svc.max_disp_len(idx, body.max_disp_len)
        return _json(await svc.run(lambda: idx.get_doc_by_rank(body.shard, body.rank, mdl)))

    # -------------------------------------------------------------------- CNF
    @r.post("/{index}/count_cnf", response_model=CountResult, tags=["cnf"], summary="Occurrences of a CNF query")
    async def count_cnf(index: str, body: CnfBody) -> JSONResponse:
        idx = svc.index(index)
        mcf, mdt = svc.max_clause_freq(idx, body.max_clause_freq), svc.max_diff_tokens(idx, body.max_diff_tokens)
        return _json(await svc.run(lambda: idx.count_cnf(svc.check_cnf(idx, body.cnf), mcf, mdt)))

    @r.post("/{index}/find_cnf", response_model=FindCnfResult, tags=["cnf"], summary="Pointers of the matches of a CNF query")
    async def find_cnf(index: str, body: CnfBody) -> JSONResponse:
        idx = svc.index(index)
        mcf, mdt = svc.max_clause_freq(idx, body.max_clause_freq), svc.max_diff_tokens(idx, body.max_diff_tokens)
        return _json(await svc.run(lambda: idx.find_cnf(svc.check_cnf(idx, body.cnf), mcf, mdt)))

    @r.post("/{index}/search_docs_cnf", response_model=SearchDocsResult, tags=["cnf"], summary="Documents matching a CNF query")
    async def search_docs_cnf(index: str, body: SearchDocsCnfBody) -> JSONResponse:
        idx = svc.index(index)
        n, mdl = svc.maxnum(idx, body.maxnum), svc.max_disp_len(idx, body.max_disp_len)
        mcf, mdt = svc.max_clause_freq(idx, body.max_clause_freq), svc.max_diff_tokens(idx, body.max_diff_tokens)
        return _json(await svc.run(lambda: idx.search_docs_cnf(svc.check_cnf(idx, body.cnf), n, mdl, mcf, mdt, body.seed)))

    # ------------------------------------------------------------ conversion
    @r.post("/{index}/tokenize", tags=["conversion"], summary="Token ids of texts: {\"token_ids\": [[...], ...]}")
    async def tokenize(index: str, body: TokenizeBody) -> JSONResponse:
        idx = svc.index(index)
        svc.check_batch(body.texts, "texts")
        return JSONResponse(await svc.run(lambda: {"token_ids": [svc.check_query(idx, t, f"texts[{i}]") for i, t in enumerate(body.texts)]}))

    @r.post("/{index}/decode", tags=["conversion"], summary="Texts of token id lists: {\"texts\": [...]}")
    async def decode(index: str, body: DecodeBody) -> JSONResponse:
        idx = svc.index(index)
        svc.check_batch(body.token_ids, "token_ids")

        def go() -> dict[str, list[str]]:
            texts = []
            for i, ids in enumerate(body.token_ids):
                if len(ids) > svc.limits.max_text_tokens:
                    raise QueryError(f"token_ids[{i}] has {len(ids)} tokens; this server's limit is {svc.limits.max_text_tokens}")
                check_token_ids(ids, idx.token_width, f"token_ids[{i}]")
                texts.append(svc.decode(idx, ids))
            return {"texts": texts}

        return JSONResponse(await svc.run(go))

    from .contamination import add_routes as add_contamination_routes

    add_contamination_routes(r, svc)
    return r
