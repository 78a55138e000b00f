"""CNF queries (count_cnf, find_cnf, search_docs_cnf): kernels vs the naive twin, and vs infini-gram."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anygram.engine._cnf import MT19937, subsample_clause, uniform_u64
from anygram.errors import QueryError
from helpers import build_from_ids, build_from_texts
from naive_cnf import naive_find_cnf, shard_streams

# ids whose little-endian bytes contain 0xff (0xFF00, 0x00FF side by side form "ff ff"), zeros, ...
POOLS = {1: [0, 1, 2, 3, 97, 254], 2: [0, 1, 2, 255, 256, 0xFF00, 0x00FF, 0xFFFE]}
BIG = 10**9  # max_clause_freq above every count: no subsampling, exact answers


@st.composite
def corpora(draw: st.DrawFn) -> tuple[int, list[list[int]], int | None]:
    width = draw(st.sampled_from([1, 2]))
    alpha = draw(st.lists(st.sampled_from(POOLS[width]), min_size=1, max_size=3, unique=True))
    sym = st.sampled_from(alpha)
    if draw(st.booleans()):
        docs = draw(st.lists(st.lists(sym, max_size=25), min_size=1, max_size=8))
    else:
        docs = []
        for _ in range(draw(st.integers(1, 4))):
            unit = draw(st.lists(sym, min_size=1, max_size=3))
            docs.append(unit * draw(st.integers(1, 12)) + draw(st.lists(sym, max_size=3)))
    if not any(docs):
        docs.append([alpha[0]])
    shard_tokens = draw(st.sampled_from([None, 12, 30]))
    return width, docs, shard_tokens


@st.composite
def cnfs(draw: st.DrawFn, width: int, docs: list[list[int]]) -> list[list[list[int]]]:
    nonempty = [d for d in docs if d]
    pool = sorted({t for d in docs for t in d}) + [POOLS[width][-1]]

    def term() -> list[int]:
        if draw(st.integers(0, 3)) > 0:
            d = draw(st.sampled_from(nonempty))
            i = draw(st.integers(0, len(d) - 1))
            return d[i : i + draw(st.integers(1, 3))]
        return draw(st.lists(st.sampled_from(pool), min_size=1, max_size=2))

    return [
        [term() for _ in range(draw(st.integers(1, 3)))] for _ in range(draw(st.integers(1, 3)))
    ]


def _build(width: int, docs: list[list[int]], shard_tokens: int | None, tmp: str):
    idx = build_from_ids(Path(tmp), docs, token_width=width, shard_tokens=shard_tokens)
    streams = shard_streams(docs, [s.doc_cnt for s in idx.shards], width)
    assert [len(x) for x in streams] == [s.tok_cnt for s in idx.shards]
    return idx, streams


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_cnf_matches_naive(data: st.DataObject) -> None:
    width, docs, shard_tokens = data.draw(corpora())
    with tempfile.TemporaryDirectory() as tmp:
        idx, streams = _build(width, docs, shard_tokens, tmp)
        with idx:
            for _ in range(4):
                cnf = data.draw(cnfs(width, docs))
                mdt = data.draw(st.sampled_from([1, 2, 3, 5, 100]))
                want_cnt, want_ptrs = naive_find_cnf(streams, width, cnf, mdt)
                got = idx.find_cnf(cnf, max_clause_freq=BIG, max_diff_tokens=mdt)
                assert not got.approx
                assert got.cnt == want_cnt
                assert [sorted(p) for p in got.ptrs_by_shard] == want_ptrs
                c = idx.count_cnf(cnf, max_clause_freq=BIG, max_diff_tokens=mdt)
                assert (c.count, c.approx) == (want_cnt, False)


@pytest.fixture(scope="module")
def text_index():
    filler = "z" * 150  # keeps neighbouring documents more than max_diff_tokens=100 bytes apart
    texts = [
        "the cat sat on the mat",
        filler,
        "a dog and a cat and a bird",
        filler,
        "mat on the floor, far away from any feline: cat",
        filler,
        "cat",
        "nothing here",
    ]
    with tempfile.TemporaryDirectory() as tmp, build_from_texts(Path(tmp), texts) as idx:
        yield idx


def test_text_examples(text_index) -> None:
    idx = text_index
    assert idx.count_cnf([["cat"]]).count == 4
    assert idx.count_cnf([["cat", "dog"]]).count == 5
    r = idx.find_cnf([["cat"], ["mat"]])
    assert (r.cnt, r.approx) == (2, False)  # doc 0, and doc 4 (mat ... cat 44 bytes apart)
    assert r.cnt == sum(len(p) for p in r.ptrs_by_shard)
    texts = {idx.get_doc_by_ptr(0, p).text for p in r.ptrs_by_shard[0]}
    assert texts == {"the cat sat on the mat", "mat on the floor, far away from any feline: cat"}
    assert idx.find_cnf([["cat"], ["mat"]], max_diff_tokens=20).cnt == 1
    # windows start at their leftmost term: "cat" in doc 0, "mat" in doc 4
    starts = []
    for p in r.ptrs_by_shard[0]:
        d = idx.get_doc_by_ptr(0, p, max_disp_len=10)
        starts.append(idx.decode(d.token_ids[d.needle_offset : d.needle_offset + 3]))
    assert sorted(starts) == ["cat", "mat"]
    assert idx.count_cnf([["cat"], ["dog", "bird"]]).count == 2  # dog...cat, then cat...bird
    assert idx.count_cnf([["cat"], ["dog"], ["bird"]]).count == 1
    assert idx.count_cnf([["nothing"], ["mat"]]).count == 0
    # a clause that never occurs: cnt 0 and no shards listed (infini-gram's shape)
    assert idx.find_cnf([["cat"], ["zebra"]]).ptrs_by_shard == []
    # token ids and text are interchangeable
    assert idx.count_cnf([[idx.tokenize("cat")], [list(b"mat")]]).count == 2


def test_window_crossing_a_boundary_is_dropped() -> None:
    """infini-gram's rule: a window grows to the nearest term on both sides when both are within
    reach, and is dropped when it then contains a document separator, even if one side alone
    would have matched inside the document."""
    # "mat" has "cat" 11 bytes before it in its document and 17 bytes after it in the next one
    with (
        tempfile.TemporaryDirectory() as tmp,
        build_from_texts(Path(tmp), ["the cat on the mat", "z" * 12 + " cat"]) as idx,
    ):
        assert idx.count_cnf([["cat"], ["mat"]]).count == 0
        assert idx.count_cnf([["cat"], ["mat"]], max_diff_tokens=17).count == 0
        # the next document's "cat" out of reach: the window stays inside document 0
        assert idx.count_cnf([["cat"], ["mat"]], max_diff_tokens=16).count == 1


def test_search_docs_cnf(text_index) -> None:
    idx = text_index
    r = idx.search_docs_cnf([["cat"], ["mat"]], maxnum=20, seed=7)
    assert (r.cnt, r.approx, len(r.documents), len(r.idxs)) == (2, False, 20, 20)
    assert all(0 <= i < r.cnt for i in r.idxs)
    assert all("cat" in d.text and "mat" in d.text for d in r.documents)
    assert r == idx.search_docs_cnf([["cat"], ["mat"]], maxnum=20, seed=7)
    assert {d.doc_ix for d in r.documents} == {0, 4}
    empty = idx.search_docs_cnf([["zebra"]], maxnum=3)
    assert (empty.cnt, empty.idxs, empty.documents) == (0, [], [])


def test_subsampling() -> None:
    docs = [[1, 2, 3, 1, 2] * 40 + [4] for _ in range(10)] + [[1, 4, 1]]
    with (
        tempfile.TemporaryDirectory() as tmp,
        build_from_ids(Path(tmp), docs, token_width=2, shard_tokens=300) as idx,
    ):
        cnf = [[[1]], [[2], [4]]]
        exact = idx.count_cnf(cnf, max_clause_freq=BIG)
        assert not exact.approx
        approx = idx.count_cnf(cnf, max_clause_freq=200)
        assert approx.approx
        assert exact.count / 4 <= approx.count <= exact.count * 4
        assert idx.count_cnf(cnf, max_clause_freq=200) == approx  # deterministic, as infini-gram
        f = idx.find_cnf(cnf, max_clause_freq=200)
        assert f.approx and f.cnt == approx.count
        assert sum(len(p) for p in f.ptrs_by_shard) < f.cnt
        s = idx.search_docs_cnf(cnf, maxnum=5, max_clause_freq=200, seed=1)
        assert s.approx and len(s.documents) == 5 and all(0 <= i < s.cnt for i in s.idxs)


def test_subsample_clause_rule() -> None:
    draws = []

    def draw(hi: int) -> int:
        draws.append(hi)
        return hi  # the last possible offset

    out, factor = subsample_clause([(0, 10), (20, 25), (30, 30)], 6, draw)
    # cnt 15 > 6: lengths ceil(10*6/15)=4, ceil(5*6/15)=2, 0; factor = 15 // 6 = 2
    assert out == [(6, 10), (23, 25), (30, 30)] and factor == 2.0 and draws == [6, 3, 0]
    assert subsample_clause([(0, 3)], 3, draw) == ([(0, 3)], 1.0)
    # cnt 15, new 10: C++ integer division gives factor 1 although sampled
    assert subsample_clause([(0, 15)], 10, lambda hi: 0) == ([(0, 10)], 1.0)


def test_std_random_port() -> None:
    g = MT19937(5489)
    for _ in range(9999):
        g()
    assert g() == 4123659995  # the C++ standard's check value for mt19937
    g = MT19937(1)
    vals = [uniform_u64(g, 3, 9) for _ in range(200)]
    assert min(vals) == 3 and max(vals) == 9
    assert uniform_u64(MT19937(1), 0, 0) == 0
    big = [uniform_u64(g, 0, 2**40) for _ in range(50)]
    assert all(0 <= v <= 2**40 for v in big) and max(big) > 2**32


def test_validation(text_index) -> None:
    idx = text_index
    bad = [
        [],
        "cat",
        [[]],
        ["cat"],
        [[""]],
        [[[]]],
        [["cat"], []],
        [[5]],
        [[[1, 2], [[1]]]],
        [[[-1]]],
        [[[255]]],  # the separator of a byte-level index
        None,
    ]
    for cnf in bad:
        with pytest.raises(QueryError):
            idx.count_cnf(cnf)
    for kw in [
        {"max_clause_freq": 0},
        {"max_diff_tokens": -1},
        {"max_diff_tokens": 1.5},
        {"max_clause_freq": True},
    ]:
        with pytest.raises(QueryError):
            idx.find_cnf([["cat"]], **kw)
    with pytest.raises(QueryError):
        idx.search_docs_cnf([["cat"]], maxnum=0)
    with pytest.raises(QueryError):
        idx.count_cnf([["a"]] * (idx.defaults.max_cnf_terms + 1))
    assert idx.count_cnf([["cat"]], max_diff_tokens=10**30).count == 4  # huge limits are fine


# ----------------------------------------------------------------- differential vs infini-gram
@pytest.mark.infinigram
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_cnf_matches_infinigram(data: st.DataObject) -> None:
    """Exactly infini-gram's answers: counts, approx flags, pointers in order, subsampling included."""
    engine_mod = pytest.importorskip("infini_gram.engine")
    width, docs, shard_tokens = data.draw(corpora())
    with tempfile.TemporaryDirectory() as tmp:
        idx, _ = _build(width, docs, shard_tokens, tmp)
        with idx:
            if (
                idx.num_shards >= 10
            ):  # infini-gram orders shard files as strings (table.10 < table.2)
                return
            eng = engine_mod.InfiniGramEngine(
                index_dir=str(Path(tmp) / "idx"),
                eos_token_id=0,
                vocab_size=(1 << (8 * width)) - 1,
                token_dtype={1: "u8", 2: "u16"}[width],
            )
            for _ in range(4):
                cnf = data.draw(cnfs(width, docs))
                mcf = data.draw(st.sampled_from([BIG, 1, 3, 10, 40]))
                mdt = data.draw(st.sampled_from([1, 2, 5, 100]))
                want = eng.find_cnf(cnf, max_clause_freq=mcf, max_diff_tokens=mdt)
                got = idx.find_cnf(cnf, max_clause_freq=mcf, max_diff_tokens=mdt)
                assert (got.cnt, got.approx, got.ptrs_by_shard) == (
                    want["cnt"],
                    want["approx"],
                    want["ptrs_by_shard"],
                )
                wc = eng.count_cnf(cnf, max_clause_freq=mcf, max_diff_tokens=mdt)
                assert (
                    idx.count_cnf(cnf, max_clause_freq=mcf, max_diff_tokens=mdt).count
                    == wc["count"]
                )
