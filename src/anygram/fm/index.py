"""``FMIndex``: the :class:`~anygram.Index` API over FM-index shards (``kind: "fm"``).

``anygram.open`` returns one for an index built with ``kind="fm"``. Answers equal the
suffix-array kind's on the same corpus, with these documented differences (see ``docs/fm.md``):

* ``find`` ranges (and ``get_doc_by_rank`` ranks) are ranks in this index's own suffix order
  (suffixes of the reversed shard, token-id order); ``get_doc_by_rank`` points at the *last*
  token of the occurrence the rank stands for. Counts are identical.
* ``ntd`` / ``infgram_ntd`` are always exact (``approx=False``): a range's next-token
  distribution is one range-distinct query, so ``max_support`` sampling is not needed and not
  applied.
* ``search_docs`` samples the same occurrence indices (same seed) as the suffix-array kind, but
  index ``i`` names the ``i``-th occurrence in this index's order: other documents, the same
  distribution. ``find_cnf`` lists the same windows (the pointers in another order); when a clause
  is subsampled (``approx=True``) the sample, hence the estimate, differs.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np

from ..config import QueryDefaults
from ..errors import CorruptIndexError, QueryError
from ..format.open import OpenedIndex
from ..index import Index, Query
from ..results import FindResult, IndexInfo, NtdResult, SearchDocsResult, ShardInfo
from .kernels import FMCorrupt
from .shard import FMShard


class FMIndex(Index):
    """An :class:`~anygram.Index` over FM shards (see the module docstring for the differences)."""

    def __init__(self, opened: OpenedIndex, defaults: QueryDefaults) -> None:
        # no shard tuples: FM shards have no token or suffix-array file (analyses test for _dss)
        self._bind(opened, defaults)
        self.shards: list[FMShard] = opened.shards  # type: ignore[assignment]

    @property
    def kind(self) -> str:
        return "fm"

    def _call(self, sh: FMShard, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except FMCorrupt as exc:
            raise CorruptIndexError(f"shard {sh.name}: {exc} (index corrupted; rebuild it)") from None

    def info(self) -> IndexInfo:
        base = super().info()
        shards = [
            ShardInfo(path=s.name, tokens=s.tok_cnt, docs=s.doc_cnt, ds_bytes=s.ds_size, sa_bytes=s.fm_bytes, ptr_size=s.ptr_size)
            for s in self.shards
        ]
        fm = dict(self._o.fm or {})
        fm["rank_bytes"] = sum(s.rank_bytes for s in self.shards)
        fm["sample_bytes"] = sum(int(s.saw.nbytes + s.isaw.nbytes) for s in self.shards)
        return IndexInfo(**{**base.__dict__, "shards": shards, "kind": "fm", "fm": fm})

    # ------------------------------------------------------------ searching
    def _shard_ranges(self, ids: np.ndarray) -> tuple[int, np.ndarray]:
        out = self._ranges()
        total = 0
        for s, sh in enumerate(self.shards):
            lo, hi, c = self._call(sh, sh.kern.count, sh.C, sh.R, sh.par, sh.codes(ids))
            out[s, 0], out[s, 1] = lo, hi
            total += int(c)
        return total, out

    def _count_ids(self, ids: np.ndarray) -> int:
        return self._shard_ranges(ids)[0]

    def find(self, query: Query) -> FindResult:
        """Occurrences of ``query``: the total count and per shard its rank range in *this* index's suffix order.

        For the empty query the range is ``[0, tokens + 1)`` (it includes the terminator's suffix);
        the count is the number of tokens.
        """
        cnt, out = self._shard_ranges(self._ids(query))
        return FindResult(cnt=int(cnt), segment_by_shard=[(int(a), int(b)) for a, b in out])

    def count(self, query: Query):  # type: ignore[override]
        from ..results import CountResult

        return CountResult(count=self._count_ids(self._ids(query)))

    def count_batch(self, queries):  # type: ignore[override]
        from ..results import CountResult

        encoded = [self._ids(q, f"queries[{i}]") for i, q in enumerate(queries)]
        return [CountResult(count=self._count_ids(e)) for e in encoded]

    def _prob_counts(self, p: np.ndarray, c: np.ndarray) -> tuple[int, int]:
        pc = cc = 0
        for sh in self.shards:
            lo, hi, k = self._call(sh, sh.kern.count, sh.C, sh.R, sh.par, sh.codes(p))
            pc += int(k)
            if hi > lo:
                code = int(sh.codes(c)[0])
                a, b = self._call(sh, sh.kern.extend, sh.C, sh.R, lo, hi, code)
                cc += int(b - a)
        return pc, cc

    def prob_batch(self, items):  # type: ignore[override]
        from ..results import ProbResult

        pairs = []
        for i, item in enumerate(items):
            if not isinstance(item, (tuple, list)) or len(item) != 2:
                raise QueryError(f"items[{i}] must be a (prompt, cont) pair")
            pairs.append((self._ids(item[0], f"items[{i}] prompt"), self._token(item[1], f"items[{i}] cont")))
        out = []
        for p, c in pairs:
            pc, cc = self._prob_counts(p, c)
            out.append(ProbResult(prompt_cnt=pc, cont_cnt=cc, prob=(cc / pc) if pc else -1.0))
        return out

    # --------------------------------------------------------- distributions
    def ntd(self, prompt: Query, max_support: int | None = None, *, _nested: bool = False) -> NtdResult:
        """Exact distribution of the token after ``prompt`` (``max_support`` is checked but never needed)."""
        p = self._ids(prompt, "prompt")
        if max_support is not None:
            self._positive(max_support, "max_support", max_support)
        cnt, ranges = self._shard_ranges(p)
        return self._ntd_from_ranges(ranges, cnt, p.shape[0] * self.token_width, max_support)

    def _ntd_from_ranges(self, ranges: np.ndarray, cnt: int, m: int, max_support: int | None, parallel: bool = True) -> NtdResult:
        if cnt == 0:
            return NtdResult(prompt_cnt=0, result_by_token_id={}, approx=False)
        parts = []
        for s, sh in enumerate(self.shards):
            lo, hi = int(ranges[s, 0]), int(ranges[s, 1])
            if hi <= lo:
                continue
            size = sh.sigma  # range_symbols may write up to sigma entries
            toks = np.empty(size, np.int64)
            cnts = np.empty(size, np.int64)
            nd = self._call(sh, sh.kern.ntd, sh.C, sh.R, sh.par, sh.alpha, lo, hi, self.eos_token_id, toks, cnts)
            parts.append((toks[:nd], cnts[:nd]))
        return self._ntd_result(parts, False)

    def _longest_suffix(self, p: np.ndarray) -> tuple[int, np.ndarray]:
        res = []
        for sh in self.shards:
            res.append(self._call(sh, sh.kern.longest_suffix, sh.C, sh.R, sh.par, sh.codes(p), p.shape[0]))
        L = max(int(r[0]) for r in res)
        out = self._ranges()
        for s, (ls, lo, hi) in enumerate(res):
            out[s] = (lo, hi) if int(ls) == L else (0, 0)
        return L, out

    def _score_arrays(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = ids.shape[0]
        sl = np.zeros(n, np.int64)
        pc = np.zeros(n, np.int64)
        cc = np.zeros(n, np.int64)
        if not n:
            return sl, pc, cc
        per = []
        for sh in self.shards:
            a, b, c = np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n, np.int64)
            self._call(sh, sh.kern.score_pass, sh.C, sh.R, sh.par, sh.codes(ids), n, a, b, c)
            per.append((a, b, c))
        sl = np.max(np.stack([a for a, _, _ in per]), axis=0)
        for a, b, c in per:
            hit = a == sl
            pc += np.where(hit, b, 0)
            cc += np.where(hit, c, 0)
        return sl, pc, cc

    def _longest_prefixes(self, ids: np.ndarray, need_counts: bool = True) -> tuple[np.ndarray, np.ndarray]:
        n = ids.shape[0]
        lens = np.zeros(n, np.int64)
        cnts = np.zeros(n, np.int64)
        if not n:
            return lens, cnts
        per = []
        for sh in self.shards:
            a, b = np.zeros(n, np.int64), np.zeros(n, np.int64)
            self._call(sh, sh.kern.longest_prefixes, sh.C, sh.R, sh.par, sh.codes(ids), n, a, b)
            per.append((a, b))
        lens = np.max(np.stack([a for a, _ in per]), axis=0)
        for a, b in per:
            cnts += np.where(a == lens, b, 0)
        return lens, cnts

    # -------------------------------------------------------------- documents
    def _tokens(self, s: int, a: int, b: int) -> np.ndarray:
        w = self.token_width
        return self.shards[s].extract(a // w, b // w).astype(self._dtype)

    def _positions(self, s: int, lo: int, hi: int, m: int) -> np.ndarray:
        """Token start positions of the occurrences at ranks ``[lo, hi)`` of an ``m``-token pattern in shard ``s``."""
        sh = self.shards[s]
        out = np.empty(max(0, hi - lo), np.int64)
        self._call(sh, sh.kern.locate_many, sh.C, sh.R, sh.par, sh.saw, lo, hi, m, out)
        return out

    def _occurrence_ptr(self, s: int, rank: int, m: int) -> int:
        return int(self._positions(s, rank, rank + 1, m)[0]) * self.token_width

    def get_doc_by_rank(self, shard: int, rank: int, max_disp_len: int | None = None):  # type: ignore[override]
        """The document around the suffix at ``rank`` of the shard's FM order: its occurrence's *last* token.

        Rank ``r`` stands for the prefix of the shard that ends at token ``n - 1 - SA'[r]``
        (see :mod:`anygram.fm.kernels`); that token is the document's needle.
        """
        s = self._check_shard(shard)
        sh = self.shards[s]
        if isinstance(rank, bool) or not isinstance(rank, (int, np.integer)) or not 0 <= rank <= sh.tok_cnt:
            raise QueryError(f"rank must be an integer in [0, {sh.tok_cnt}]")
        j = int(self._call(sh, sh.kern.locate, sh.C, sh.R, sh.par, sh.saw, int(rank)))
        pos = max(0, sh.tok_cnt - 1 - j)
        return self.get_doc_by_ptr(s, pos * self.token_width, max_disp_len)

    def search_docs(self, query: Query, maxnum: int | None = None, max_disp_len: int | None = None, seed: int | None = None) -> SearchDocsResult:
        """Up to ``maxnum`` occurrences sampled uniformly with replacement (in this index's order), with their documents."""
        n = self._positive(maxnum, "maxnum", self.defaults.maxnum, self.defaults.max_maxnum)
        mdl = self._positive(max_disp_len, "max_disp_len", self.defaults.max_disp_len, self.defaults.max_disp_len_limit)
        ids = self._ids(query)
        m = ids.shape[0]
        cnt, ranges = self._shard_ranges(ids)
        if cnt == 0:
            return SearchDocsResult(cnt=0, approx=False, idxs=[], documents=[])
        rng = random.Random(seed)
        idxs = sorted(rng.randrange(cnt) for _ in range(n))
        sizes = [sh.tok_cnt if m == 0 else int(ranges[s, 1] - ranges[s, 0]) for s, sh in enumerate(self.shards)]
        base = np.cumsum([0] + sizes)
        docs = []
        for idx in idxs:
            s = int(np.searchsorted(base, idx, side="right")) - 1
            off = idx - int(base[s])
            if m == 0:
                pos = off  # the empty pattern occurs at every position
            else:
                pos = int(self._positions(s, int(ranges[s, 0]) + off, int(ranges[s, 0]) + off + 1, m)[0])
            docs.append(self.get_doc_by_ptr(s, pos * self.token_width, mdl))
        return SearchDocsResult(cnt=cnt, approx=False, idxs=idxs, documents=docs)

    # ------------------------------------------------------------ CNF queries
    def _term_ranges(self, qb: np.ndarray) -> np.ndarray:
        ids = qb.view(self._dtype)
        return self._shard_ranges(ids)[1]

    def _cnf_shard(self, s: int, segs: np.ndarray, lens: np.ndarray, offs: np.ndarray, mdt: int) -> np.ndarray:
        from ..engine._cnf import crosses_separator, merge_clause

        sh = self.shards[s]
        w = self.token_width
        D = mdt * w

        def ptrs(c: int) -> np.ndarray:
            rows = segs[offs[c] : offs[c + 1]]
            total = int((rows[:, 1] - rows[:, 0]).sum()) if rows.shape[0] else 0
            out = np.empty(total, np.int64)
            self._call(sh, sh.kern.locate_segs, sh.C, sh.R, sh.par, sh.saw, np.ascontiguousarray(rows), lens[offs[c] : offs[c + 1]].copy(), out)
            return out * w

        ls = ptrs(0)
        rs = ls.copy()
        n = ls.shape[0]
        for c in range(1, offs.shape[0] - 1):
            if n == 0:
                break
            p = np.sort(ptrs(c))
            n = int(merge_clause(ls, rs, n, p, D))
        ls, rs = ls[:n], rs[:n]
        if n == 0:
            return ls
        # windows [l, r) holding a separator token are dropped (as the suffix-array kind)
        od = sh.od.astype(np.int64)
        i = np.searchsorted(od, ls, side="left")
        nxt = np.where(i < od.shape[0], od[np.minimum(i, od.shape[0] - 1)], np.iinfo(np.int64).max)
        keep = ~(nxt <= rs - w)
        if self._ff_edges(sh):
            # tokens whose top byte is 0xff can form a run of w 0xff bytes with their neighbour:
            # check the window's bytes as the suffix-array kind does
            for k in np.nonzero(keep)[0].tolist():
                raw = self._tokens(s, int(ls[k]), int(rs[k])).astype(self._dtype.newbyteorder("<")).view(np.uint8)
                if crosses_separator(raw, 0, raw.shape[0], w):
                    keep[k] = False
        return ls[keep]

    def _ff_edges(self, sh: FMShard) -> bool:
        w = self.token_width
        if w == 1:
            return False
        a = sh.alpha.astype(np.int64)[:-1]  # without the separator
        return bool(np.any(a >= (0xFF << (8 * (w - 1)))))
