"""Request bodies of the native JSON API (pydantic models; responses are the library's ``to_dict()``).

A query is text (tokenized with the index's tokenizer) or a list of token ids, as in the Python
API. Types are strict (``"3"`` is not a token id, ``true`` is not an int) and unknown fields are
refused, so a mistyped parameter is a 422 rather than silently ignored.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

Query = StrictStr | list[StrictInt]
Cnf = list[list[Query]]

_QUERY = Field(description="text (tokenized with the index's tokenizer) or a list of token ids")
_PROMPT = Field(description="text or token ids (may be empty)")
_CONT = Field(description="one token: a token id, or a string that is one token")
_CNF = Field(description="AND of clauses, each an OR of terms (text or token ids): [[a, a2], [b]] = (a OR a2) AND b")
PositiveInt = Annotated[StrictInt, Field(gt=0)]
NonNegInt = Annotated[StrictInt, Field(ge=0)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class QueryBody(_Body):
    query: Query = _QUERY


class BatchBody(_Body):
    queries: list[Query] = Field(description="queries, each text or token ids")


class ProbItem(_Body):
    prompt: Query = _PROMPT
    cont: StrictInt | StrictStr = _CONT


class ProbBatchBody(_Body):
    items: list[ProbItem] = Field(description="(prompt, cont) pairs")


class NtdBatchBody(_Body):
    prompts: list[Query] = Field(description="prompts, each text or token ids")
    max_support: PositiveInt | None = None


class ProbBody(_Body):
    prompt: Query = _PROMPT
    cont: StrictInt | StrictStr = _CONT


class NtdBody(_Body):
    prompt: Query = _PROMPT
    max_support: PositiveInt | None = Field(None, description="sample prompts with more occurrences (default: the server's limit)")


class SearchDocsBody(_Body):
    query: Query = _QUERY
    maxnum: PositiveInt | None = Field(None, description="occurrences to sample (default 1)")
    max_disp_len: PositiveInt | None = Field(None, description="tokens shown around each match (default 1000)")
    seed: StrictInt | None = Field(None, description="random seed of the sample")


class CnfBody(_Body):
    cnf: Cnf = _CNF
    max_clause_freq: PositiveInt | None = None
    max_diff_tokens: PositiveInt | None = None


class SearchDocsCnfBody(CnfBody):
    maxnum: PositiveInt | None = None
    max_disp_len: PositiveInt | None = None
    seed: StrictInt | None = None


class DocByIxBody(_Body):
    doc_ix: NonNegInt
    max_disp_len: PositiveInt | None = None


class DocByPtrBody(_Body):
    shard: NonNegInt
    ptr: NonNegInt
    max_disp_len: PositiveInt | None = None


class DocByRankBody(_Body):
    shard: NonNegInt
    rank: NonNegInt
    max_disp_len: PositiveInt | None = None


class TextBody(_Body):
    text: Query = Field(description="the text to score, or its token ids")


class TokenizeBody(_Body):
    texts: list[StrictStr]


class DecodeBody(_Body):
    token_ids: list[list[StrictInt]]
