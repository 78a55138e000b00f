"""Typed results of every query: frozen dataclasses with ``to_dict()``.

Field names follow infini-gram's engine wherever it has the same query, so that code written
against its Python or HTTP API maps one to one. The CLI's ``--json`` and the HTTP API serialise
exactly ``to_dict()``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any


class _Result:
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (dict keys stay ints; ``json.dumps`` turns them into strings)."""
        return _jsonable(self)  # type: ignore[no-any-return]


def _jsonable(value: Any) -> Any:
    """``dataclasses.asdict`` and JSON-readiness in one pass (no deep copy: the HTTP server calls
    this for every answer): dataclasses become dicts, tuples lists, non-finite floats
    ``None`` / ``"inf"`` / ``"-inf"``."""
    t = type(value)
    if t is int or t is str or t is bool or value is None:
        return value
    if t is list or t is tuple:
        if all(type(v) is int for v in value):  # token ids, offsets: the large lists
            return list(value)
        return [_jsonable(v) for v in value]
    if t is dict:
        return {k: _jsonable(v) for k, v in value.items()}
    if t is float:
        if math.isfinite(value):
            return value
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


@dataclass(frozen=True)
class CountResult(_Result):
    """Occurrences of a token sequence (``approx`` only for subsampled CNF counts)."""

    count: int
    approx: bool = False


@dataclass(frozen=True)
class FindResult(_Result):
    """Suffix-array ranges ``[start, end)`` of the matches, per shard."""

    cnt: int
    segment_by_shard: list[tuple[int, int]]


@dataclass(frozen=True)
class FindCnfResult(_Result):
    """Matches of a CNF query: byte pointers of the anchor occurrences, per shard."""

    cnt: int
    approx: bool
    ptrs_by_shard: list[list[int]]


@dataclass(frozen=True)
class ProbResult(_Result):
    """n-gram probability ``count(prompt + cont) / count(prompt)``; ``prob = -1`` if the prompt is absent."""

    prompt_cnt: int
    cont_cnt: int
    prob: float


@dataclass(frozen=True)
class InfgramProbResult(_Result):
    """∞-gram probability: the n-gram probability after the longest suffix of the prompt that occurs."""

    prompt_cnt: int
    cont_cnt: int
    prob: float
    suffix_len: int


@dataclass(frozen=True)
class TokenProb(_Result):
    """One entry of a next-token distribution."""

    cont_cnt: int
    prob: float


@dataclass(frozen=True)
class NtdResult(_Result):
    """Next-token distribution after a prompt (``approx`` when sampled with ``max_support``)."""

    prompt_cnt: int
    result_by_token_id: dict[int, TokenProb]
    approx: bool


@dataclass(frozen=True)
class InfgramNtdResult(_Result):
    """Next-token distribution after the longest suffix of the prompt that occurs."""

    prompt_cnt: int
    result_by_token_id: dict[int, TokenProb]
    approx: bool
    suffix_len: int


@dataclass(frozen=True)
class DocResult(_Result):
    """A window of one document around a match (or its start), with its metadata.

    ``doc_ix`` is global over all shards; ``doc_len`` and ``disp_len`` are in tokens;
    ``needle_offset`` is the token offset of the match inside ``token_ids``; ``text`` is the
    window decoded with the index's tokenizer (invalid bytes replaced).
    """

    doc_ix: int
    doc_len: int
    disp_len: int
    needle_offset: int
    metadata: dict[str, Any]
    token_ids: list[int]
    text: str = ""
    shard: int = 0
    ptr: int = 0
    blocked: bool = False


@dataclass(frozen=True)
class SearchDocsResult(_Result):
    """Matching documents: total count, sampled occurrence indices and their documents."""

    cnt: int
    approx: bool
    idxs: list[int]
    documents: list[DocResult]


@dataclass(frozen=True)
class CreativityResult(_Result):
    """For every start position ``l``, ``rs[l]``: the end of the longest span ``[l, r)`` found in the corpus."""

    rs: list[int]


@dataclass(frozen=True)
class LongestMatch(_Result):
    """The longest span starting at one position that occurs in the corpus, and its count."""

    start: int
    length: int
    count: int


@dataclass(frozen=True)
class LongestMatchesResult(_Result):
    """Per start position, the longest span found in the corpus and how often it occurs."""

    token_ids: list[int]
    matches: list[LongestMatch]


@dataclass(frozen=True)
class ScoreResult(_Result):
    """Per-token ∞-gram scoring of a whole text, computed in one pass.

    For position ``i``: ``probs[i]`` = ∞-gram probability of ``token_ids[i]`` given
    ``token_ids[:i]``, ``suffix_lens[i]`` = length of the longest suffix of the prefix that occurs,
    ``prompt_cnts[i]`` / ``cont_cnts[i]`` = counts of that suffix and of suffix + token.
    ``perplexity`` = exp(-mean log prob); it is ``inf`` when some token has probability 0
    (``zero_prob_tokens`` counts them) and ``nan`` for an empty text.
    """

    token_ids: list[int]
    probs: list[float]
    suffix_lens: list[int]
    prompt_cnts: list[int]
    cont_cnts: list[int]
    perplexity: float
    zero_prob_tokens: int
    mean_suffix_len: float = 0.0


@dataclass(frozen=True)
class ShardInfo(_Result):
    """Sizes of one shard."""

    path: str
    tokens: int
    docs: int
    ds_bytes: int
    sa_bytes: int
    ptr_size: int


@dataclass(frozen=True)
class IndexInfo(_Result):
    """What ``anygram info`` shows."""

    path: list[str]
    format: str
    format_version: int
    tokenizer: dict[str, Any]
    token_width: int
    eos_token_id: int
    total_tokens: int
    total_docs: int
    index_bytes: int
    bytes_per_token: float
    shards: list[ShardInfo] = field(default_factory=list)
    build: dict[str, Any] = field(default_factory=dict)
    #: "sa" (suffix arrays) or "fm" (FM-index)
    kind: str = "sa"
    #: FM indexes: sampling rates, rank structure, and the bytes of its parts
    fm: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BuildSummary(_Result):
    """Final report of a build."""

    path: str
    shards: int
    tokens: int
    docs: int
    text_bytes: int
    index_bytes: int
    bytes_per_token: float
    wall_seconds: float
    peak_rss_bytes: int
    skipped: dict[str, int] = field(default_factory=dict)
    skipped_examples: list[str] = field(default_factory=list)
    resumed_shards: int = 0
