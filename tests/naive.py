"""A slow, obviously-correct reference for every query of ``anygram.Index``.

Everything here is plain Python: lists, linear scans, ``collections.Counter``, and (for the few
queries that depend on the suffix-array order, i.e. ``find`` ranges, sampled ``ntd`` and
``get_doc_by_rank``) an explicitly sorted list of suffixes per shard. Semantics follow
infini-gram's engine; see the docstrings. Nothing here imports anygram's engine.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class NaiveDoc:
    """One document as stored by the index (hypothetical global number ``ix``)."""

    ix: int  # global document number in the index (empty documents skipped)
    orig: int  # position in the corpus given to the builder (empty documents included)
    tokens: list[int]


@dataclass
class NaiveShard:
    """One shard: its documents, token stream ``[sep]+d0+[sep]+d1...`` and sorted suffixes."""

    docs: list[NaiveDoc]
    width: int
    sep: int
    stream: list[int] = field(init=False)
    doc_starts: list[int] = field(init=False)  # stream position of each document's separator
    sorted_pos: list[int] = field(init=False)  # suffix start positions (tokens) in SA order
    _data: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.stream = []
        self.doc_starts = []
        for d in self.docs:
            self.doc_starts.append(len(self.stream))
            self.stream.append(self.sep)
            self.stream.extend(d.tokens)
        w = self.width
        self._data = b"".join(t.to_bytes(w, "little") for t in self.stream)
        # byte-lexicographic order of the little-endian suffix bytes; Python's bytes order puts a
        # proper prefix first, exactly as the suffix array does
        self.sorted_pos = sorted(range(len(self.stream)), key=lambda p: self._data[p * w :])

    def suffix_bytes(self, rank: int) -> bytes:
        return self._data[self.sorted_pos[rank] * self.width :]

    def rank_range(self, q: Sequence[int]) -> tuple[int, int]:
        """``[start, end)`` ranks of suffixes starting with ``q`` (``(lo, lo)`` at the insertion point if absent)."""
        m = len(q)
        hits = [r for r, p in enumerate(self.sorted_pos) if self.stream[p : p + m] == list(q)]
        if hits:
            if hits != list(range(hits[0], hits[-1] + 1)):
                raise RuntimeError("matching suffixes are not contiguous: naive sort is broken")
            return hits[0], hits[-1] + 1
        qb = b"".join(int(t).to_bytes(self.width, "little") for t in q)
        lo = sum(1 for r in range(len(self.sorted_pos)) if self.suffix_bytes(r)[: len(qb)] < qb)
        return lo, lo

    def next_token(self, rank: int, m: int, eos: int) -> int:
        """Token after the first ``m`` tokens of the suffix at ``rank`` (separator / end → eos)."""
        p = self.sorted_pos[rank] + m
        if p >= len(self.stream) or self.stream[p] == self.sep:
            return eos
        return self.stream[p]


def sampled_counts(
    shard: NaiveShard, lo: int, hi: int, m: int, eos: int, unit: int
) -> Counter[int]:
    """infini-gram's deterministic divide-and-conquer sample of next tokens over ranks ``[lo, hi)``."""
    out: Counter[int] = Counter()

    def tok(rank: int) -> int:
        return shard.next_token(rank, m, eos)

    def rec(start: int, end: int) -> None:
        if end - start < 4 * unit:
            for rank in range(start, end, unit):
                if rank + unit <= end:
                    out[tok(rank + unit // 2)] += unit
                else:
                    out[tok((rank + end) // 2)] += end - rank
            return
        if tok(start) == tok(end - 1):
            out[tok(start)] += end - start
            return
        mi = (start + end) // 2
        rec(start, mi)
        rec(mi, end)

    if hi > lo:
        rec(lo, hi)
    return out


class NaiveIndex:
    """Reference answers for a corpus of documents (lists of token ids).

    ``shard_doc_cnts`` gives the number of (non-empty) documents of each shard, in order; by
    default one shard. ``metadata`` is what the builder stored for each original document.
    """

    def __init__(
        self,
        docs: Sequence[Sequence[int]],
        width: int,
        eos: int | None = None,
        shard_doc_cnts: Sequence[int] | None = None,
        byte_level: bool = False,
    ) -> None:
        self.width = width
        self.sep = (1 << (8 * width)) - 1
        self.eos = self.sep if eos is None else eos
        self.byte_level = byte_level
        self.docs: list[NaiveDoc] = []
        for orig, d in enumerate(docs):
            toks = [int(t) for t in d]
            for t in toks:
                if not 0 <= t < self.sep:
                    raise ValueError(f"token {t} invalid for width {width}")
            if toks:
                self.docs.append(NaiveDoc(ix=len(self.docs), orig=orig, tokens=toks))
        cnts = list(shard_doc_cnts) if shard_doc_cnts is not None else [len(self.docs)]
        if sum(cnts) != len(self.docs):
            raise ValueError(f"shard document counts {cnts} do not add up to {len(self.docs)}")
        self._shard_doc_cnts = cnts
        self._shards: list[NaiveShard] | None = None
        self._counts: dict[tuple[int, ...], int] = {}  # memo of count() (the corpus never changes)

    @classmethod
    def from_texts(
        cls, texts: Sequence[str], shard_doc_cnts: Sequence[int] | None = None
    ) -> NaiveIndex:
        return cls(
            [list(t.encode("utf-8")) for t in texts],
            1,
            eos=0xFF,
            shard_doc_cnts=shard_doc_cnts,
            byte_level=True,
        )

    # ------------------------------------------------------------ helpers
    @property
    def shards(self) -> list[NaiveShard]:
        """Shards with their sorted suffixes (built lazily: only some queries need them)."""
        if self._shards is None:
            self._shards = []
            i = 0
            for c in self._shard_doc_cnts:
                self._shards.append(NaiveShard(self.docs[i : i + c], self.width, self.sep))
                i += c
        return self._shards

    def ids(self, q: str | Sequence[int]) -> list[int]:
        if isinstance(q, str):
            if not self.byte_level:
                raise ValueError("text query on an ids index")
            return list(q.encode("utf-8"))
        return [int(t) for t in q]

    @property
    def total_tokens(self) -> int:
        return sum(len(d.tokens) + 1 for d in self.docs)

    # ------------------------------------------------------------ counts
    def occurrences(self, q: Sequence[int]) -> list[tuple[int, int]]:
        """All (doc ix, position) where ``q`` (non-empty) occurs."""
        q = list(q)
        m = len(q)
        return [
            (d.ix, i)
            for d in self.docs
            for i in range(len(d.tokens) - m + 1)
            if d.tokens[i : i + m] == q
        ]

    def count(self, q: str | Sequence[int]) -> int:
        key = tuple(self.ids(q))
        if key not in self._counts:
            self._counts[key] = len(self.occurrences(key)) if key else self.total_tokens
        return self._counts[key]

    def count_by_shard(self, q: str | Sequence[int]) -> list[int]:
        q = self.ids(q)
        out = []
        i = 0
        for c in self._shard_doc_cnts:
            docs = self.docs[i : i + c]
            i += c
            if not q:
                out.append(sum(len(d.tokens) + 1 for d in docs))
            else:
                out.append(
                    sum(
                        1
                        for d in docs
                        for j in range(len(d.tokens) - len(q) + 1)
                        if d.tokens[j : j + len(q)] == q
                    )
                )
        return out

    def find_ranges(self, q: str | Sequence[int]) -> list[tuple[int, int]]:
        q = self.ids(q)
        return [(0, len(sh.stream)) if not q else sh.rank_range(q) for sh in self.shards]

    # ------------------------------------------------------------ probabilities
    def prob(self, prompt: str | Sequence[int], cont: int) -> tuple[int, int, float]:
        p = self.ids(prompt)
        pc = self.count(p)
        cc = self.count(p + [cont])
        return pc, cc, (cc / pc if pc else -1.0)

    def ntd_counts(self, prompt: str | Sequence[int]) -> Counter[int]:
        """Exact Counter of the token after each occurrence (end of document → eos)."""
        p = self.ids(prompt)
        c: Counter[int] = Counter()
        if not p:
            for d in self.docs:
                c[self.eos] += 1  # the separator before the document
                c.update(d.tokens)
            return c
        for ix, i in self.occurrences(p):
            toks = self.docs[ix].tokens
            j = i + len(p)
            c[toks[j] if j < len(toks) else self.eos] += 1
        return c

    def ntd(
        self, prompt: str | Sequence[int], max_support: int | None = None
    ) -> tuple[int, dict[int, tuple[int, float]], bool]:
        """``(prompt_cnt, {token: (cont_cnt, prob)}, approx)`` as ``Index.ntd``."""
        p = self.ids(prompt)
        cnt = self.count(p)
        if cnt == 0:
            return 0, {}, False
        unit = 1
        if max_support is not None:
            while cnt > unit * max_support:
                unit *= 2
        if unit == 1:
            counts = self.ntd_counts(p)
        else:
            counts = Counter()
            for sh in self.shards:
                lo, hi = (0, len(sh.stream)) if not p else sh.rank_range(p)
                counts.update(sampled_counts(sh, lo, hi, len(p), self.eos, unit))
        total = sum(counts.values())
        return total, {t: (c, c / total) for t, c in sorted(counts.items())}, unit > 1

    def longest_suffix_len(self, prompt: Sequence[int]) -> int:
        p = list(prompt)
        best = 0
        for L in range(len(p) + 1):
            if self.count(p[len(p) - L :]) > 0:
                best = L
        return best

    def infgram_prob(self, prompt: str | Sequence[int], cont: int) -> tuple[int, int, float, int]:
        p = self.ids(prompt)
        L = self.longest_suffix_len(p)
        pc, cc, pr = self.prob(p[len(p) - L :], cont)
        return pc, cc, pr, L

    def infgram_ntd(
        self, prompt: str | Sequence[int], max_support: int | None = None
    ) -> tuple[int, dict[int, tuple[int, float]], bool, int]:
        p = self.ids(prompt)
        L = self.longest_suffix_len(p)
        pc, dist, approx = self.ntd(p[len(p) - L :], max_support)
        return pc, dist, approx, L

    # ------------------------------------------------------------ whole texts
    def score(self, ids: str | Sequence[int]) -> dict[str, Any]:
        ids = self.ids(ids)
        sl, pcs, ccs, probs = [], [], [], []
        for i in range(len(ids)):
            pc, cc, pr, L = self.infgram_prob(ids[:i], ids[i])
            sl.append(L)
            pcs.append(pc)
            ccs.append(cc)
            probs.append(pr)
        if not ids:
            ppl = math.nan
        elif any(p <= 0 for p in probs):
            ppl = math.inf
        else:
            ppl = math.exp(-sum(math.log(p) for p in probs) / len(probs))
        return {
            "token_ids": ids,
            "probs": probs,
            "suffix_lens": sl,
            "prompt_cnts": pcs,
            "cont_cnts": ccs,
            "perplexity": ppl,
            "zero_prob_tokens": sum(1 for p in probs if p <= 0),
        }

    def longest_matches(self, ids: str | Sequence[int]) -> list[tuple[int, int]]:
        """Per start ``l``: (length k of the longest occurring ``ids[l:l+k]``, its count or 0 if k == 0)."""
        ids = self.ids(ids)
        out = []
        for l in range(len(ids)):
            k = 0
            for kk in range(1, len(ids) - l + 1):
                if self.count(ids[l : l + kk]) > 0:
                    k = kk
            out.append((k, self.count(ids[l : l + k]) if k else 0))
        return out

    def creativity(self, ids: str | Sequence[int]) -> list[int]:
        return [l + k for l, (k, _) in enumerate(self.longest_matches(ids))]

    # ------------------------------------------------------------ documents
    def shard_of_doc(self, ix: int) -> tuple[int, int]:
        """(shard, local index) of global document ``ix``."""
        for s, c in enumerate(self._shard_doc_cnts):
            if ix < c:
                return s, ix
            ix -= c
        raise IndexError(ix)

    def doc_by_ix(self, ix: int, max_disp_len: int) -> dict[str, Any]:
        d = self.docs[ix]
        s, local = self.shard_of_doc(ix)
        toks = d.tokens[:max_disp_len]
        return self._doc_dict(d, s, toks, 0, (self.shards[s].doc_starts[local] + 1) * self.width)

    def doc_by_ptr(self, shard: int, ptr: int, max_disp_len: int) -> dict[str, Any]:
        """The window ``max_disp_len // 2`` tokens before byte ``ptr`` and ``(max_disp_len+1)//2`` from it."""
        sh = self.shards[shard]
        pos = ptr // self.width
        local = max(i for i, st in enumerate(sh.doc_starts) if st <= pos)
        d = sh.docs[local]
        first = sh.doc_starts[local] + 1  # stream position of the document's first token
        a = max(first, pos - max_disp_len // 2)
        b = min(first + len(d.tokens), pos + (max_disp_len + 1) // 2)
        b = max(a, b)
        return self._doc_dict(d, shard, sh.stream[a:b], max(0, pos - a), ptr)

    def doc_by_rank(self, shard: int, rank: int, max_disp_len: int) -> dict[str, Any]:
        return self.doc_by_ptr(
            shard, self.shards[shard].sorted_pos[rank] * self.width, max_disp_len
        )

    def _doc_dict(
        self, d: NaiveDoc, shard: int, toks: list[int], needle: int, ptr: int
    ) -> dict[str, Any]:
        out: dict[str, Any] = {
            "doc_ix": d.ix,
            "doc_len": len(d.tokens),
            "disp_len": len(toks),
            "needle_offset": needle,
            "token_ids": toks,
            "shard": shard,
            "ptr": ptr,
            "orig": d.orig,
        }
        if self.byte_level:
            out["text"] = bytes(toks).decode("utf-8", errors="replace")
        return out
