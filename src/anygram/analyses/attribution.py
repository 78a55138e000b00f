"""Attribution (tracing): which spans of a text occur verbatim in the corpus, and where.

``attribute(idx, text, ...)`` has the semantics of infini-gram 2.6.0's ``Engine::attribute``
(``input_ids, delim_ids, min_len, max_cnt, enforce_bow``) and returns the same spans:

1. for every start ``l`` (only beginning-of-word tokens when ``enforce_bow``), ``L`` = length of
   the longest prefix of ``tokens[l:]`` that occurs in the corpus;
2. if a delimiter token sits at position ``p`` with ``l <= p < l + L - 1``, the span is cut to end
   just after the first such delimiter (a span may end with a delimiter, never contain one);
3. with ``enforce_bow``, ``L`` backs off until the token after the span is a beginning of word (or
   the span reaches the end of the text);
4. the span ``[l, l + L)`` is a candidate when ``L >= min_len`` and it occurs at most ``max_cnt``
   times; going through candidates by ``l``, a candidate is kept when it ends after the last kept
   span (``r > last_r``), so kept spans are maximal: none lies inside another.

Each span carries ``unigram_logprob_sum`` = sum over its tokens of ``log(count(token) / N)``
(``N`` = all tokens, document separators included; -10000 for a token absent from the corpus), as
infini-gram computes it with ``precompute_unigram_logprobs``.

On top, two OLMoTrace filters (Liu et al. 2025, "OLMoTrace", arXiv:2504.07096, §3: keep "long and
unique" spans): ``top_frac`` keeps the ``ceil(top_frac * n_tokens)`` spans with the lowest span
unigram probability (OLMoTrace uses 0.05), ``max_unigram_logprob`` keeps spans whose
``unigram_logprob_sum`` is at most that value. Then, for every kept span, up to ``max_docs``
occurrences (all of them when there are at most ``max_docs``, else evenly spaced over the
suffix-array ranges, shard by shard: deterministic) with their documents: metadata and
``context`` tokens either side of the span.

Where anygram differs from infini-gram: infini-gram misses the longest prefix when ``tokens[l:]``
sorts before every suffix of a shard (its creativity quirk, docs/compat.md quirk 5); anygram's
lengths are the true ones. ``min_len`` must be at least 1 (infini-gram also accepts 0, which
makes empty spans of the whole corpus).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from anygram.engine import _attribute, _multi
from anygram.errors import CorruptIndexError, QueryError
from anygram.results import DocResult, _Result

if TYPE_CHECKING:  # pragma: no cover
    from anygram.index import Index, Query

#: default min_len: tokens of a real tokenizer, and bytes of a byte-level index (≈ 4 bytes a token)
DEFAULT_MIN_LEN = 8
DEFAULT_MIN_LEN_BYTES = 32
#: documents shown per span, and tokens of context either side of a span
DEFAULT_MAX_DOCS = 10
DEFAULT_CONTEXT = 50
#: infini-gram's log-probability of a token absent from the corpus
ABSENT_LOGPROB = -10000.0
#: whitespace bytes: the beginning-of-word tokens of a byte-level index
BYTE_BOW_IDS = (9, 10, 13, 32)


@dataclass(frozen=True)
class AttributionSpan(_Result):
    """A maximal span ``token_ids[l:r]`` found verbatim in the corpus.

    ``count``: its occurrences; ``unigram_logprob_sum``: sum of its tokens' unigram
    log-probabilities; ``text``: the span decoded; ``char_start``/``char_end``: its character
    offsets in the decoded input (``None`` without a tokenizer); ``occurrences``: up to
    ``max_docs`` occurrences as ``(shard, ptr)`` — infini-gram's ``docs`` (``s``, ``ptr``: byte
    offset in the shard's token file); ``docs``: the same occurrences with their documents
    (empty when ``documents=False``; ``needle_offset`` is where the span starts inside
    ``token_ids``/``text``).
    """

    l: int
    r: int
    length: int
    count: int
    unigram_logprob_sum: float
    text: str = ""
    char_start: int | None = None
    char_end: int | None = None
    occurrences: list[tuple[int, int]] = field(default_factory=list)
    docs: list[DocResult] = field(default_factory=list)


@dataclass(frozen=True)
class AttributionResult(_Result):
    """Spans of a text found in the corpus (in text order) and the parameters used.

    ``num_maximal_spans`` counts the spans before the OLMoTrace filters (``top_frac``,
    ``max_unigram_logprob``); ``covered_tokens`` is how many tokens of the text lie in some kept
    span.
    """

    token_ids: list[int]
    text: str
    spans: list[AttributionSpan]
    num_maximal_spans: int
    covered_tokens: int
    params: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------ parameters
def default_min_len(idx: Index) -> int:
    from anygram.tokenizers import ByteTokenizer

    return DEFAULT_MIN_LEN_BYTES if isinstance(idx.tokenizer, ByteTokenizer) else DEFAULT_MIN_LEN


def default_bow_ids(idx: Index) -> list[int]:
    """Beginning-of-word tokens: whitespace bytes for a byte-level index; for a Hugging Face
    tokenizer, the tokens that start with a word-boundary marker (``▁``, ``Ġ``, ``Ċ``)."""
    from anygram.tokenizers import ByteTokenizer

    tok = idx.tokenizer
    if isinstance(tok, ByteTokenizer):
        return list(BYTE_BOW_IDS)
    inner = getattr(tok, "_tk", None)
    if inner is None:
        raise QueryError("enforce_bow on an index without a known tokenizer: pass bow_ids")
    vocab = inner.get_vocab(with_added_tokens=False)
    return sorted(int(i) for t, i in vocab.items() if t[:1] in ("▁", "Ġ", "Ċ"))


def _int_list(values: Iterable[Any] | None, what: str, idx: Index) -> list[int]:
    if values is None:
        return []
    if isinstance(values, (str, bytes)):
        raise QueryError(f"{what} must be a list of token ids")
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise QueryError(f"{what} must be a list of token ids, got {type(v).__name__}")
        if not 0 <= int(v) < idx._sep:
            raise QueryError(f"{what} contains {v}, outside [0, {idx._sep - 1}]")
        out.append(int(v))
    return out


def _nonneg_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise QueryError(f"{name} must be a non-negative integer, not {value!r}")
    return int(value)


# ------------------------------------------------------------------ building blocks
def span_arrays(ids: np.ndarray, n: int, delim_ids: Sequence[int], bow_ids: Sequence[int], enforce_bow: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``next_delim`` (n), ``prev_bow`` (n + 1) and ``is_bow`` (n) of the kernel."""
    ids64 = ids.astype(np.int64)
    is_delim = np.isin(ids64, np.asarray(delim_ids, dtype=np.int64)) if delim_ids else np.zeros(n, bool)
    pos = np.where(is_delim, np.arange(n), n)
    next_delim = np.minimum.accumulate(pos[::-1])[::-1].astype(np.int64) if n else np.zeros(0, np.int64)
    is_bow = np.isin(ids64, np.asarray(bow_ids, dtype=np.int64)) if enforce_bow and bow_ids else np.zeros(n, bool)
    ends = np.append(is_bow, True)
    prev = np.where(ends, np.arange(n + 1), -1)
    prev_bow = np.maximum.accumulate(prev).astype(np.int64)
    return next_delim, prev_bow, is_bow


def unigram_logprobs(idx: Index, ids: np.ndarray) -> dict[int, float]:
    """``log(count(t) / N)`` of every distinct token of ``ids`` (one batched count of the tokens
    not seen before; counts are kept on the Index, as infini-gram precomputes its unigram table)."""
    cache: dict[int, int] = idx.__dict__.setdefault("_unigram_counts", {})
    toks = [int(t) for t in np.unique(ids)]
    todo = [t for t in toks if t not in cache]
    if todo:
        if idx.kind == "fm":
            counts = [r.count for r in idx.count_batch([[t] for t in todo])]
        else:
            qs = [np.asarray([t], dtype=idx._dtype).view(np.uint8) for t in todo]
            out = np.zeros(len(qs), np.int64)
            idx._batched(_multi.count_batch, qs, (out,))
            counts = out.tolist()
        for t, c in zip(todo, counts):
            cache[t] = c
    total = idx.total_tokens
    return {t: (math.log(cache[t]) - math.log(total)) if cache[t] > 0 else ABSENT_LOGPROB for t in toks}


def _char_offsets(idx: Index, ids: np.ndarray, cuts: set[int]) -> dict[int, int] | None:
    """Character offset in the decoded text of each token boundary in ``cuts``."""
    from anygram.tokenizers import ByteTokenizer

    tok = idx.tokenizer
    if tok is None or getattr(tok, "spec", dict)().get("kind") == "ids":
        return None
    if isinstance(tok, ByteTokenizer):
        # a character starts at every byte that is not a UTF-8 continuation byte (0x80-0xBF)
        lead = np.concatenate([[0], np.cumsum((ids & 0xC0) != 0x80)])
        return {c: int(lead[c]) for c in cuts}
    return {c: len(idx.decode(ids[:c].tolist())) for c in cuts}


def _pick_occurrences(ranges: np.ndarray, cnt: int, max_docs: int) -> list[tuple[int, int]]:
    """(shard, rank) of all occurrences if at most ``max_docs``, else ``max_docs`` evenly spaced."""
    sizes = (ranges[:, 1] - ranges[:, 0]).astype(np.int64)
    base = np.concatenate([[0], np.cumsum(sizes)])
    picks = range(cnt) if cnt <= max_docs else (j * cnt // max_docs for j in range(max_docs))
    out = []
    for g in picks:
        s = int(np.searchsorted(base, g, side="right")) - 1
        out.append((s, int(ranges[s, 0]) + g - int(base[s])))
    return out


def _span_occurrences(idx: Index, span_q: np.ndarray, cnt: int, max_docs: int) -> list[tuple[int, int]]:
    """(shard, byte offset) of the picked occurrences of a span: in suffix-array order, as
    infini-gram; the FM kind lists the same picks of its own order, sorted by position (with at
    most ``max_docs`` occurrences, the same list as the suffix-array kind's, sorted)."""
    m = span_q.shape[0] // idx.token_width
    ranges = idx._ranges()
    if idx.kind == "fm":
        ranges[:] = np.asarray(idx.find(span_q.view(idx._dtype)).segment_by_shard, dtype=np.int64).reshape(-1, 2)
    else:
        idx._run(_multi.find_all, idx._dss, idx._sas, idx._ks, span_q, 0, span_q.shape[0], ranges)
    out = [(s, idx._occurrence_ptr(s, rank, m)) for s, rank in _pick_occurrences(ranges, cnt, max_docs)]
    return sorted(out) if idx.kind == "fm" else out


def _fm_attribute_spans(idx: Any, ids: np.ndarray, n: int, next_delim: np.ndarray, prev_bow: np.ndarray, is_bow: np.ndarray,
                        enforce_bow: bool, min_len: int, max_cnt: int) -> list[tuple[int, int, int]]:
    """:func:`anygram.engine._attribute.attribute_spans` over an FM index: the same rule, counted with ``count``."""
    lens, cnts = idx._longest_prefixes(ids, need_counts=True)
    spans = []
    last_r = 0
    for l in range(n):
        if enforce_bow and not is_bow[l]:
            continue
        L, cut = _attribute.span_at(l, lens[l], next_delim, prev_bow, enforce_bow)
        if L < min_len or l + L <= last_r:
            continue
        c = idx._count_ids(ids[l : l + L]) if cut else int(cnts[l])
        if c > max_cnt:
            continue
        spans.append((l, l + int(L), c))
        last_r = l + int(L)
    return spans


def _span_docs(idx: Index, occ: list[tuple[int, int]], span_bytes: int, context: int) -> list[DocResult]:
    w = idx.token_width
    return [idx._doc_around(s, ptr, ptr - w * context, ptr + span_bytes + w * context) for s, ptr in occ]


# ------------------------------------------------------------------ the analysis
def attribute(
    idx: Index,
    text: Query,
    *,
    delim_ids: Iterable[int] | None = None,
    min_len: int | None = None,
    max_cnt: int | None = None,
    enforce_bow: bool = False,
    bow_ids: Iterable[int] | None = None,
    top_frac: float | None = None,
    max_unigram_logprob: float | None = None,
    max_docs: int = DEFAULT_MAX_DOCS,
    context: int = DEFAULT_CONTEXT,
    documents: bool = True,
) -> AttributionResult:
    """Maximal spans of ``text`` (text or token ids) that occur in the corpus (see the module doc).

    ``delim_ids``: tokens a span may end with but not contain (OLMoTrace: period and newline);
    ``min_len``: shortest span in tokens (default 8, or 32 on a byte-level index); ``max_cnt``:
    drop spans occurring more often (default: no limit); ``enforce_bow``: spans start at a
    beginning-of-word token and end before one (``bow_ids``, default :func:`default_bow_ids`);
    ``top_frac`` / ``max_unigram_logprob``: OLMoTrace's filters of common spans; ``max_docs``
    occurrences are returned per span (0: none), with their documents and ``context`` tokens
    either side unless ``documents=False`` (then only ``(shard, ptr)``, as infini-gram).
    """
    ids = idx._ids(text, "text")
    n = int(ids.shape[0])
    delims = _int_list(delim_ids, "delim_ids", idx)
    if not isinstance(enforce_bow, (bool, np.bool_)):
        raise QueryError("enforce_bow must be a boolean")
    if not isinstance(documents, (bool, np.bool_)):
        raise QueryError("documents must be a boolean")
    bows = _int_list(bow_ids, "bow_ids", idx) if bow_ids is not None else (default_bow_ids(idx) if enforce_bow else [])
    ml = default_min_len(idx) if min_len is None else _nonneg_int(min_len, "min_len")
    if ml < 1:
        raise QueryError("min_len must be at least 1")
    if max_cnt is None:
        mc = np.iinfo(np.int64).max
    else:
        mc = _nonneg_int(max_cnt, "max_cnt")
        if mc < 1:
            raise QueryError("max_cnt must be a positive integer")
    md = _nonneg_int(max_docs, "max_docs")
    if md > idx.defaults.max_maxnum:
        raise QueryError(f"max_docs={md} exceeds the limit of {idx.defaults.max_maxnum}")
    ctx = _nonneg_int(context, "context")
    if ctx > idx.defaults.max_disp_len_limit:
        raise QueryError(f"context={ctx} exceeds the limit of {idx.defaults.max_disp_len_limit}")
    if top_frac is not None and (isinstance(top_frac, bool) or not isinstance(top_frac, (int, float)) or not 0 < top_frac <= 1):
        raise QueryError(f"top_frac must be a number in (0, 1], not {top_frac!r}")
    if max_unigram_logprob is not None and (isinstance(max_unigram_logprob, bool) or not isinstance(max_unigram_logprob, (int, float))):
        raise QueryError(f"max_unigram_logprob must be a number, not {max_unigram_logprob!r}")

    next_delim, prev_bow, is_bow = span_arrays(ids, n, delims, bows, bool(enforce_bow))
    out_l = np.zeros(n, np.int64)
    out_r = np.zeros(n, np.int64)
    out_c = np.zeros(n, np.int64)
    qb = idx._bytes(ids)
    if not n:
        spans = []
    elif idx.kind == "fm":
        spans = _fm_attribute_spans(idx, ids, n, next_delim, prev_bow, is_bow, bool(enforce_bow), ml, mc)
    else:
        k = int(idx._run(_attribute.attribute_spans, idx._dss, idx._sas, idx._ks, qb, n, idx.token_width,
                         next_delim, prev_bow, is_bow, bool(enforce_bow), ml, mc, out_l, out_r, out_c))
        spans = [(int(out_l[i]), int(out_r[i]), int(out_c[i])) for i in range(k)]
    logp = unigram_logprobs(idx, ids) if spans else {}
    id_list = ids.tolist()
    sums = []
    for l, r, _ in spans:
        acc = 0.0
        for t in id_list[l:r]:  # in order, as infini-gram sums
            acc += logp[t]
        sums.append(acc)
    keep = list(range(len(spans)))
    if max_unigram_logprob is not None:
        keep = [i for i in keep if sums[i] <= max_unigram_logprob]
    if top_frac is not None:
        budget = math.ceil(top_frac * n)
        keep = sorted(sorted(keep, key=lambda i: (sums[i], i))[:budget])
    cuts = {c for i in keep for c in spans[i][:2]}
    chars = _char_offsets(idx, ids, cuts | {n})
    decode = idx.tokenizer is not None and chars is not None
    out = []
    w = idx.token_width
    for i in keep:
        l, r, c = spans[i]
        occ = _span_occurrences(idx, qb[l * w : r * w], c, md) if md else []
        docs = _span_docs(idx, occ, (r - l) * w, ctx) if documents else []
        out.append(AttributionSpan(
            l=l, r=r, length=r - l, count=c, unigram_logprob_sum=sums[i],
            text=idx.decode(id_list[l:r]) if decode else "",
            char_start=chars[l] if chars is not None else None,
            char_end=chars[r] if chars is not None else None,
            occurrences=occ,
            docs=docs,
        ))
    covered = np.zeros(n, bool)
    for s in out:
        covered[s.l : s.r] = True
    params = {
        "delim_ids": delims, "min_len": ml, "max_cnt": None if max_cnt is None else mc, "enforce_bow": bool(enforce_bow),
        "bow_ids": (bows if bow_ids is not None else "default") if enforce_bow else [], "top_frac": top_frac, "max_unigram_logprob": max_unigram_logprob,
        "max_docs": md, "context": ctx, "documents": bool(documents),
    }
    return AttributionResult(
        token_ids=id_list,
        text=idx.decode(id_list) if decode else "",
        spans=out,
        num_maximal_spans=len(spans),
        covered_tokens=int(covered.sum()),
        params=params,
    )
