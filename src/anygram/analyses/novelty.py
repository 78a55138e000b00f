"""Novelty and repetition of generated texts against a corpus (``anygram novelty``).

Per text (token ids ``x[0..n)``), with ``L_l`` = length of the longest prefix of ``x[l:]`` that
occurs in the corpus (infini-gram's ``creativity``, one pass of the ``longest_prefixes`` kernel):

* **longest-match lengths**: mean, median, max and a histogram of ``L_l`` over positions, in
  power-of-two buckets (``0``, ``1``, ``2-3``, ``4-7``, ...);
* **absent n-grams**: for ``n = 1..max_n``, the share of the text's n-grams
  ``x[l:l+n]`` (``l = 0..n_tokens-n``) that never occur in the corpus; ``x[l:l+n]`` occurs iff
  ``L_l >= n``, so this costs no further search (``None`` when the text is shorter than n);
* **∞-gram agreement by suffix length** (as in the infini-gram paper's analysis of machine text):
  for every position ``i``, ``s_i`` = length of the longest suffix of ``x[:i]`` that occurs
  (the ∞-gram's context, one pass of ``score``); the ∞-gram *agrees* at ``i`` when ``x[i]`` is
  an argmax of the ∞-gram's next-token distribution after that suffix (ties count as agreement;
  the end of a document counts as the eos token, as in ``ntd``; when the eos id is a real token
  of the text, its count includes the document ends, as infini-gram's). Decided from
  the counts when ``cont_cnt = 0`` (disagree) or ``2 * cont_cnt > prompt_cnt`` (agree), else by
  the exact distribution (``ntd``). Reported per bucket of ``s_i`` (same buckets as above);
* **internal repetition**: the longest substring occurring at least twice in the text itself
  (occurrences may overlap), its length, start, number of occurrences and text (suffix array
  and LCP of the text with pydivsufsort: O(n log n)); and the share of distinct n-grams
  (``distinct-n``) for ``n = 1..max_n``.

The report pools every text: n-gram shares over all n-grams, histograms and agreements over all
positions. :func:`write_plots` draws them as one PNG (``pip install 'anygram[reports]'``).
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from anygram.errors import CorpusError, QueryError, require
from anygram.results import _Result

if TYPE_CHECKING:  # pragma: no cover
    from anygram.index import Index, Query

DEFAULT_MAX_N = 10


def bucket(length: int) -> str:
    """Power-of-two bucket label of a length: ``0``, ``1``, ``2-3``, ``4-7``, ``8-15``, ..."""
    if length <= 0:
        return "0"
    b = int(length).bit_length() - 1
    lo, hi = 1 << b, (1 << (b + 1)) - 1
    return str(lo) if lo == hi else f"{lo}-{hi}"


def _bucket_key(label: str) -> int:
    return int(label.split("-")[0])


@dataclass(frozen=True)
class Agreement(_Result):
    """Positions of one suffix-length bucket and how many of them the ∞-gram's argmax agrees with."""

    positions: int
    agree: int
    rate: float | None


@dataclass(frozen=True)
class Repeat(_Result):
    """The longest substring occurring at least twice in the text (length 0: no repeat)."""

    length: int
    start: int
    count: int
    text: str = ""


@dataclass(frozen=True)
class TextNovelty(_Result):
    """Novelty and repetition of one text (``index``: its number in the input)."""

    index: int
    tokens: int
    match_mean: float | None
    match_median: float | None
    match_max: int
    match_histogram: dict[str, int]
    absent_ngram_share: dict[int, float | None]
    distinct_ngram_share: dict[int, float | None]
    agreement: dict[str, Agreement] | None
    agreement_rate: float | None
    longest_repeat: Repeat


@dataclass(frozen=True)
class NoveltyReport(_Result):
    """All texts and their pooled figures (n-gram shares over all n-grams, rates over all positions)."""

    texts: int
    tokens: int
    match_mean: float | None
    match_histogram: dict[str, int]
    absent_ngram_share: dict[int, float | None]
    distinct_ngram_share_mean: dict[int, float | None]
    agreement: dict[str, Agreement] | None
    agreement_rate: float | None
    longest_repeat_mean: float | None
    longest_repeat_max: int
    params: dict[str, Any] = field(default_factory=dict)
    per_text: list[TextNovelty] = field(default_factory=list)


# ------------------------------------------------------------------ pieces
def longest_repeat(ids: np.ndarray) -> tuple[int, int, int]:
    """(length, start, count) of the longest substring occurring at least twice (overlaps allowed)."""
    n = int(ids.shape[0])
    if n < 2:
        return 0, 0, 0
    import pydivsufsort

    arr = np.ascontiguousarray(ids.astype(np.uint32) if ids.dtype.itemsize > 1 else ids.astype(np.uint8))
    sa = pydivsufsort.divsufsort(arr)
    lcp = np.asarray(pydivsufsort.kasai(arr, sa))[: n - 1]
    best = int(lcp.max()) if lcp.size else 0
    if best == 0:
        return 0, 0, 0
    # the occurrences of the leftmost longest repeat: a maximal run of lcp >= best around it
    cands = np.flatnonzero(lcp == best)
    starts = [min(int(sa[j]), int(sa[j + 1])) for j in cands]
    j = int(cands[int(np.argmin(starts))])
    a = j
    while a > 0 and lcp[a - 1] >= best:
        a -= 1
    b = j
    while b + 1 < lcp.size and lcp[b + 1] >= best:
        b += 1
    start = int(min(sa[a : b + 2]))
    return best, start, b - a + 2


def _share_absent(lens: np.ndarray, n: int) -> tuple[int, int]:
    """(absent, total) n-grams: x[l:l+n] for l <= len-n is absent iff L_l < n."""
    total = max(0, lens.shape[0] - n + 1)
    if total == 0:
        return 0, 0
    return int(np.count_nonzero(lens[:total] < n)), total


def _distinct(ids: np.ndarray, n: int) -> float | None:
    m = ids.shape[0] - n + 1
    if m <= 0:
        return None
    grams = {tuple(ids[i : i + n].tolist()) for i in range(m)}
    return len(grams) / m


def _agreement(idx: Index, ids: np.ndarray, cache: dict[tuple[int, ...], int]) -> dict[str, list[int]]:
    """bucket -> [positions, agree]."""
    sc = idx.score(ids)
    out: dict[str, list[int]] = {}
    id_list = ids.tolist()
    eos = idx.eos_token_id
    for i, (L, pc, cc) in enumerate(zip(sc.suffix_lens, sc.prompt_cnts, sc.cont_cnts)):
        if id_list[i] == eos:
            # the eos id is a real token here: its ntd count includes the document ends
            dist = idx.ntd(id_list[i - L : i])
            counts = [tp.cont_cnt for tp in dist.result_by_token_id.values()]
            mine = dist.result_by_token_id.get(id_list[i])
            agree = mine is not None and mine.cont_cnt > 0 and mine.cont_cnt == max(counts)
        elif cc == 0:
            agree = False
        elif 2 * cc > pc:
            agree = True
        else:
            key = tuple(id_list[i - L : i])
            top = cache.get(key)
            if top is None:
                dist = idx.ntd(list(key))
                top = max((tp.cont_cnt for tp in dist.result_by_token_id.values()), default=0)
                cache[key] = top
            agree = cc >= top
        slot = out.setdefault(bucket(L), [0, 0])
        slot[0] += 1
        slot[1] += int(agree)
    return out


def _agreements(raw: dict[str, list[int]]) -> dict[str, Agreement]:
    return {k: Agreement(positions=p, agree=a, rate=(a / p) if p else None) for k, (p, a) in sorted(raw.items(), key=lambda kv: _bucket_key(kv[0]))}


def _histogram(lens: np.ndarray) -> dict[str, int]:
    hist: dict[str, int] = {}
    for L in lens.tolist():
        b = bucket(L)
        hist[b] = hist.get(b, 0) + 1
    return dict(sorted(hist.items(), key=lambda kv: _bucket_key(kv[0])))


# ------------------------------------------------------------------ analyses
def text_novelty(idx: Index, text: Query, *, max_n: int = DEFAULT_MAX_N, agreement: bool = True, index: int = 0) -> TextNovelty:
    """Novelty and repetition of one text (text or token ids); see the module doc."""
    return _text_novelty(idx, text, max_n, agreement, index, {})[0]


def _text_novelty(idx: Index, text: Query, max_n: int, agreement: bool, index: int,
                  cache: dict[tuple[int, ...], int]) -> tuple[TextNovelty, dict[int, tuple[int, int]]]:
    if isinstance(max_n, bool) or not isinstance(max_n, int) or max_n < 1:
        raise QueryError(f"max_n must be a positive integer, not {max_n!r}")
    ids = idx._ids(text, "text")
    n = int(ids.shape[0])
    lens, _ = idx._longest_prefixes(ids, need_counts=False)
    counts = {k: _share_absent(lens, k) for k in range(1, max_n + 1)}
    absent = {k: (a / t) if t else None for k, (a, t) in counts.items()}
    distinct = {k: _distinct(ids, k) for k in range(1, max_n + 1)}
    agr = _agreement(idx, ids, cache) if agreement else None
    length, start, count = longest_repeat(ids)
    rep_text = ""
    if length and idx.tokenizer is not None:
        rep_text = idx.decode(ids[start : start + length].tolist())
    agreed = sum(a for _, a in agr.values()) if agr else 0
    return TextNovelty(
        index=index,
        tokens=n,
        match_mean=float(lens.mean()) if n else None,
        match_median=float(np.median(lens)) if n else None,
        match_max=int(lens.max()) if n else 0,
        match_histogram=_histogram(lens),
        absent_ngram_share=absent,
        distinct_ngram_share=distinct,
        agreement=_agreements(agr) if agr is not None else None,
        agreement_rate=(agreed / n if n else None) if agr is not None else None,
        longest_repeat=Repeat(length=length, start=start, count=count, text=rep_text),
    ), counts


def novelty(idx: Index, texts: Iterable[Query], *, max_n: int = DEFAULT_MAX_N, agreement: bool = True) -> NoveltyReport:
    """Novelty of every text and the pooled report (texts are read one at a time)."""
    if isinstance(max_n, bool) or not isinstance(max_n, int) or max_n < 1:
        raise QueryError(f"max_n must be a positive integer, not {max_n!r}")
    per: list[TextNovelty] = []
    absent_num = dict.fromkeys(range(1, max_n + 1), 0)
    absent_den = dict.fromkeys(range(1, max_n + 1), 0)
    hist: dict[str, int] = {}
    agr: dict[str, list[int]] = {}
    cache: dict[tuple[int, ...], int] = {}
    tokens = 0
    match_sum = 0.0
    for i, text in enumerate(texts):
        r, counts = _text_novelty(idx, text, max_n, agreement, i, cache)
        per.append(r)
        tokens += r.tokens
        if r.match_mean is not None:
            match_sum += r.match_mean * r.tokens
        for k, v in r.match_histogram.items():
            hist[k] = hist.get(k, 0) + v
        for k, (a, t) in counts.items():
            absent_num[k] += a
            absent_den[k] += t
        if r.agreement is not None:
            for k, a in r.agreement.items():
                slot = agr.setdefault(k, [0, 0])
                slot[0] += a.positions
                slot[1] += a.agree

    def mean(xs: list[float]) -> float | None:
        return sum(xs) / len(xs) if xs else None

    reps = [r.longest_repeat.length for r in per]
    return NoveltyReport(
        texts=len(per),
        tokens=tokens,
        match_mean=match_sum / tokens if tokens else None,
        match_histogram=dict(sorted(hist.items(), key=lambda kv: _bucket_key(kv[0]))),
        absent_ngram_share={k: (absent_num[k] / absent_den[k]) if absent_den[k] else None for k in range(1, max_n + 1)},
        distinct_ngram_share_mean={k: mean([r.distinct_ngram_share[k] for r in per if r.distinct_ngram_share[k] is not None]) for k in range(1, max_n + 1)},
        agreement=_agreements(agr) if agreement else None,
        agreement_rate=(sum(a for _, a in agr.values()) / tokens if tokens else None) if agreement else None,
        longest_repeat_mean=mean([float(x) for x in reps]),
        longest_repeat_max=max(reps, default=0),
        params={"max_n": max_n, "agreement": agreement},
        per_text=per,
    )


# ------------------------------------------------------------------ input
def read_texts(path: str | os.PathLike[str], field: str = "text") -> Iterator[str]:
    """Texts of a file: JSONL (``.jsonl``/``.jsonl.gz``/``.ndjson``; the string ``field`` of each
    record) or plain text (one text per line; ``-`` reads stdin)."""
    import sys

    p = str(path)
    jsonl = p.endswith((".jsonl", ".jsonl.gz", ".ndjson"))
    try:
        if p == "-":
            f = sys.stdin
        elif p.endswith(".gz"):
            f = gzip.open(p, "rt", encoding="utf-8")  # noqa: SIM115 - closed below
        else:
            f = open(p, encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise CorpusError(f"cannot read {p}: {exc}") from None
    try:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not jsonl:
                yield line
                continue
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise CorpusError(f"{p}:{lineno}: invalid JSON ({exc})") from None
            if not isinstance(rec, dict) or not isinstance(rec.get(field), str):
                raise CorpusError(f"{p}:{lineno}: no string field {field!r}")
            yield rec[field]
    except UnicodeDecodeError as exc:
        raise CorpusError(f"cannot read {p}: {exc}") from None
    finally:
        if f is not sys.stdin:
            f.close()


# ------------------------------------------------------------------ plots
def write_plots(report: NoveltyReport, path: str | os.PathLike[str]) -> Path:
    """One PNG with three panels: longest-match histogram, absent n-gram share by n, ∞-gram
    agreement by suffix length. Written atomically (temporary file, fsync, rename)."""
    require("matplotlib", "reports", "novelty plots")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(path)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    h = report.match_histogram
    total = sum(h.values()) or 1
    axes[0].bar(list(h), [100.0 * v / total for v in h.values()], color="#4477aa")
    axes[0].set_title("longest match in the corpus, per position")
    axes[0].set_xlabel("tokens (bucket)")
    axes[0].set_ylabel("% of positions")
    axes[0].tick_params(axis="x", rotation=45)
    ns = [k for k, v in report.absent_ngram_share.items() if v is not None]
    axes[1].plot(ns, [100.0 * report.absent_ngram_share[k] for k in ns], marker="o", color="#cc6677")  # type: ignore[operator]
    axes[1].set_title("n-grams absent from the corpus")
    axes[1].set_xlabel("n")
    axes[1].set_ylabel("% of the texts' n-grams")
    axes[1].set_ylim(0, 100)
    if report.agreement:
        ks = [k for k, a in report.agreement.items() if a.rate is not None]
        axes[2].bar(ks, [100.0 * report.agreement[k].rate for k in ks], color="#228833")  # type: ignore[operator]
        axes[2].set_ylim(0, 100)
    axes[2].set_title("∞-gram argmax = actual token")
    axes[2].set_xlabel("suffix length found (tokens, bucket)")
    axes[2].set_ylabel("% agreement")
    axes[2].tick_params(axis="x", rotation=45)
    fig.suptitle(f"{report.texts} texts, {report.tokens:,} tokens")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=out.name + ".", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            fig.savefig(f, format="png", dpi=110)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, out)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    finally:
        plt.close(fig)
    return out


__all__ = ["Agreement", "NoveltyReport", "Repeat", "TextNovelty", "bucket", "longest_repeat", "novelty", "read_texts", "text_novelty", "write_plots"]
