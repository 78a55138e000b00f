"""Attribution (``Index.attribute``) against a brute-force transcription of infini-gram's rule.

Spans, counts and unigram sums are compared with :mod:`naive_attribution` over
``NaiveIndex.count`` (substring scans of Python lists) on hypothesis corpora: ids of width 1/2/4
and byte-level unicode texts, one or several shards.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anygram.errors import QueryError
from helpers import build_from_texts
from naive_attribution import naive_attribute, naive_longest_prefix_lens, naive_unigram_sum
from strategies import corpora, spec_pieces


@settings(max_examples=40, deadline=None)
@given(spec=corpora(), data=st.data())
def test_attribute_matches_naive(spec, data) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        idx, naive = spec.build(Path(tmp))
        ids = data.draw(spec_pieces(spec))
        alpha = sorted({t for d in spec.all_docs() for t in d})
        delims = data.draw(st.lists(st.sampled_from(alpha), max_size=2, unique=True))
        enforce_bow = data.draw(st.booleans())
        bows = data.draw(st.lists(st.sampled_from(alpha), min_size=1, max_size=2, unique=True))
        min_len = data.draw(st.integers(1, 4))
        max_cnt = data.draw(st.one_of(st.none(), st.integers(1, 6)))
        res = idx.attribute(ids, delim_ids=delims, min_len=min_len, max_cnt=max_cnt, enforce_bow=enforce_bow,
                            bow_ids=bows, max_docs=1000, context=3)
        lens = naive_longest_prefix_lens(naive.count, ids)
        exp = naive_attribute(naive.count, ids, lens, delims, min_len, max_cnt or 10**18, enforce_bow, bows)
        assert [(s.l, s.r, s.count) for s in res.spans] == exp
        assert res.num_maximal_spans == len(exp)
        assert res.token_ids == ids
        w = spec.width
        for s in res.spans:
            assert s.length == s.r - s.l
            assert math.isclose(s.unigram_logprob_sum, naive_unigram_sum(naive.count, naive.total_tokens, ids[s.l : s.r]), rel_tol=1e-12)
            # every occurrence, each window holding the span at needle_offset
            assert len(s.docs) == s.count
            assert s.occurrences == [(d.shard, d.ptr) for d in s.docs]
            assert len({(d.shard, d.ptr) for d in s.docs}) == s.count
            for d in s.docs:
                assert d.token_ids[d.needle_offset : d.needle_offset + s.length] == ids[s.l : s.r]
                assert d.needle_offset <= 3 and d.disp_len <= s.length + 6
                assert d.ptr % w == 0
            occ = sorted(naive.occurrences(ids[s.l : s.r]))
            assert sorted((d.doc_ix, _doc_pos(idx, d)) for d in s.docs) == occ
        covered = set()
        for s in res.spans:
            covered |= set(range(s.l, s.r))
        assert res.covered_tokens == len(covered)


def _doc_pos(idx, d) -> int:
    """Token position of a doc result's pointer inside its document."""
    sh = idx.shards[d.shard]
    local = d.doc_ix - int(idx._doc_base[d.shard])
    start, _ = sh.doc_span(local)
    return (d.ptr - start) // sh.token_width


@settings(max_examples=15, deadline=None)
@given(spec=corpora(), data=st.data())
def test_bounded_docs_and_filters(spec, data) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        idx, _ = spec.build(Path(tmp))
        ids = data.draw(spec_pieces(spec))
        md = data.draw(st.integers(0, 3))
        full = idx.attribute(ids, min_len=1, max_docs=0)
        assert all(s.docs == [] and s.occurrences == [] for s in full.spans)
        ptrs = idx.attribute(ids, min_len=1, max_docs=md, documents=False)
        assert all(s.docs == [] and len(s.occurrences) == min(md, s.count) for s in ptrs.spans)
        res = idx.attribute(ids, min_len=1, max_docs=md, context=0)
        assert [(s.l, s.r) for s in res.spans] == [(s.l, s.r) for s in full.spans]
        for s, p in zip(res.spans, ptrs.spans):
            assert len(s.docs) == min(md, s.count)
            assert s.occurrences == p.occurrences
            for d in s.docs:
                assert d.needle_offset == 0 and d.token_ids == ids[s.l : s.r]
        frac = data.draw(st.floats(0.01, 1.0))
        top = idx.attribute(ids, min_len=1, max_docs=0, top_frac=frac)
        budget = math.ceil(frac * len(ids))
        order = sorted(range(len(full.spans)), key=lambda i: (full.spans[i].unigram_logprob_sum, i))[:budget]
        assert [(s.l, s.r) for s in top.spans] == [(full.spans[i].l, full.spans[i].r) for i in sorted(order)]
        assert top.num_maximal_spans == len(full.spans)
        if full.spans:
            thr = sorted(s.unigram_logprob_sum for s in full.spans)[len(full.spans) // 2]
            lo = idx.attribute(ids, min_len=1, max_docs=0, max_unigram_logprob=thr)
            assert [(s.l, s.r) for s in lo.spans] == [(s.l, s.r) for s in full.spans if s.unigram_logprob_sum <= thr]


def test_unicode_text_offsets(tmp_path: Path) -> None:
    idx = build_from_texts(tmp_path, ["naïve café — 中文 text 😀 here", "other café — 中文 words"], shard_tokens=40)
    assert idx.num_shards > 1
    text = "a café — 中文 text 😀 end"
    res = idx.attribute(text, min_len=6, max_docs=5, context=2)
    assert [s.text for s in res.spans] == [" café — 中文 text 😀 "]
    (s,) = res.spans
    assert text[s.char_start : s.char_end] == s.text
    assert s.count == 1 and len(s.docs) == 1 and s.docs[0].doc_ix == 0
    assert res.text == text
    both = idx.attribute(text, min_len=6, max_docs=5, delim_ids=["—".encode()[0]])
    # the span may end with a delimiter token but not contain one
    first = both.spans[0]
    assert (both.token_ids[first.r - 1], first.count) == (0xE2, 2)
    assert all(0xE2 not in both.token_ids[s.l : s.r - 1] for s in both.spans)


def test_enforce_bow_default_byte_ids(tmp_path: Path) -> None:
    idx = build_from_texts(tmp_path, ["the cat sat on the mat"])
    res = idx.attribute("a cat sat on a mat", min_len=2, enforce_bow=True, max_docs=0)
    # spans start at a space and end before a space (or at the end of the text)
    assert [s.text for s in res.spans] == [" cat sat on", " mat"]
    assert res.params["bow_ids"] == "default"


def test_errors(tmp_path: Path) -> None:
    idx = build_from_texts(tmp_path, ["abc"])
    for kw in ({"min_len": 0}, {"max_cnt": 0}, {"delim_ids": [255]}, {"delim_ids": "a"}, {"max_docs": -1},
               {"top_frac": 0}, {"top_frac": 2.0}, {"enforce_bow": "yes"}, {"max_unigram_logprob": "x"}, {"max_docs": 10**9}, {"documents": 1}):
        with pytest.raises(QueryError):
            idx.attribute("abc", **kw)
    assert idx.attribute("", min_len=1).spans == []
    assert idx.attribute("zzz", min_len=1).spans == []
