"""Property tests: every query of ``anygram.Index`` equals the naive reference (tests/naive.py).

Each example builds one small index (ids of width 1/2/4 or byte-level text, one or several
shards) in its own temporary directory and checks a batch of queries against ``NaiveIndex``.
``ANYGRAM_EXAMPLES_SCALE=10`` multiplies the number of examples for a longer exploration.
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

import anygram
from helpers import build_from_ids
from naive import NaiveIndex
from strategies import CorpusSpec, corpora, queries, token

SCALE = max(1, int(os.environ.get("ANYGRAM_EXAMPLES_SCALE", "1")))


def examples(n: int) -> settings:
    return settings(max_examples=n * SCALE, deadline=None)


def built(spec: CorpusSpec, tmp: str) -> tuple[Any, NaiveIndex]:
    idx, naive = spec.build(Path(tmp))
    event(
        f"width={naive.width} text={spec.texts is not None} shards={'1' if idx.num_shards == 1 else '>1'}"
    )
    assert idx.total_tokens == naive.total_tokens
    assert idx.total_docs == len(naive.docs)
    assert idx.token_width == naive.width
    assert idx.eos_token_id == naive.eos
    return idx, naive


def dist(result: Any) -> dict[int, tuple[int, float]]:
    return {t: (v.cont_cnt, v.prob) for t, v in result.result_by_token_id.items()}


def same_float(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b or math.isclose(a, b, rel_tol=1e-9)


def check_doc(got: Any, exp: dict[str, Any]) -> None:
    fields = ("doc_ix", "doc_len", "disp_len", "needle_offset", "token_ids", "shard", "ptr")
    assert {f: getattr(got, f) for f in fields} == {f: exp[f] for f in fields}
    assert got.metadata["linenum"] == exp["orig"]
    assert got.metadata["metadata"] == {"n": exp["orig"]}
    if "text" in exp:
        assert got.text == exp["text"]


# --------------------------------------------------------------------------- counts and ranges
@examples(80)
@given(spec=corpora(), data=st.data())
def test_count_and_find(spec: CorpusSpec, data: st.DataObject) -> None:
    qs = queries(data.draw, spec, 12) + [[]]
    with tempfile.TemporaryDirectory() as tmp:
        idx, naive = built(spec, tmp)
        ranges_by_q = []
        for q in qs:
            exp = naive.count(q)
            assert idx.count(q).count == exp, q
            fr = idx.find(q)
            assert fr.cnt == exp
            assert sum(b - a for a, b in fr.segment_by_shard) == exp
            # the exact suffix-array ranks, shard by shard (insertion point when absent)
            assert fr.segment_by_shard == naive.find_ranges(q), q
            ranges_by_q.append(fr.segment_by_shard)
        assert [r.count for r in idx.count_batch(qs)] == [naive.count(q) for q in qs]


@examples(10)
@given(spec=corpora(), data=st.data())
def test_count_batch_threaded(spec: CorpusSpec, data: st.DataObject) -> None:
    # >= 128 queries: the batch is split over threads
    qs = queries(data.draw, spec, 150)
    with tempfile.TemporaryDirectory() as tmp:
        idx, naive = built(spec, tmp)
        assert [r.count for r in idx.count_batch(qs)] == [naive.count(q) for q in qs]


# --------------------------------------------------------------------------- probabilities
@examples(80)
@given(spec=corpora(), data=st.data())
def test_prob_and_ntd(spec: CorpusSpec, data: st.DataObject) -> None:
    prompts = queries(data.draw, spec, 6, max_len=5) + [[]]
    conts = [token(data.draw, spec) for _ in prompts]
    supports = [data.draw(st.sampled_from([1, 2, 3, 5, 8, 1000])) for _ in prompts]
    with tempfile.TemporaryDirectory() as tmp:
        idx, naive = built(spec, tmp)
        for p, c, ms in zip(prompts, conts, supports):
            r = idx.prob(p, c)
            assert (r.prompt_cnt, r.cont_cnt, r.prob) == naive.prob(p, c), (p, c)
            n = idx.ntd(p)
            assert (n.prompt_cnt, dist(n), n.approx) == naive.ntd(p), p
            s = idx.ntd(p, max_support=ms)
            event(f"sampled ntd approx={s.approx}")
            assert (s.prompt_cnt, dist(s), s.approx) == naive.ntd(p, ms), (p, ms)
        assert [(r.prompt_cnt, r.cont_cnt) for r in idx.prob_batch(list(zip(prompts, conts)))] == [
            naive.prob(p, c)[:2] for p, c in zip(prompts, conts)
        ]
        assert [dist(r) for r in idx.ntd_batch(prompts)] == [naive.ntd(p)[1] for p in prompts]


@examples(60)
@given(spec=corpora(), data=st.data())
def test_infgram(spec: CorpusSpec, data: st.DataObject) -> None:
    # prompts whose longest occurring suffix is shorter than the prompt: junk + present suffix
    heads = queries(data.draw, spec, 5, max_len=4)
    tails = queries(data.draw, spec, 5, max_len=6)
    prompts = [h + t for h, t in zip(heads, tails)] + [[]]
    conts = [token(data.draw, spec) for _ in prompts]
    supports = [data.draw(st.sampled_from([None, 1, 2, 4, 7])) for _ in prompts]
    with tempfile.TemporaryDirectory() as tmp:
        idx, naive = built(spec, tmp)
        for p, c, ms in zip(prompts, conts, supports):
            r = idx.infgram_prob(p, c)
            assert (r.prompt_cnt, r.cont_cnt, r.prob, r.suffix_len) == naive.infgram_prob(p, c), (
                p,
                c,
            )
            n = idx.infgram_ntd(p, max_support=ms)
            event(
                f"infgram suffix_len {'<' if n.suffix_len < len(p) else '=='} len(prompt), approx={n.approx}"
            )
            assert (n.prompt_cnt, dist(n), n.approx, n.suffix_len) == naive.infgram_ntd(p, ms), (
                p,
                ms,
            )


# --------------------------------------------------------------------------- whole texts
@examples(50)
@given(spec=corpora(), data=st.data())
def test_score_and_longest_matches(spec: CorpusSpec, data: st.DataObject) -> None:
    # a text made of pieces of the corpus and junk, so matches grow and shrink
    pieces = queries(data.draw, spec, data.draw(st.integers(0, 5)), max_len=10)
    text = [t for p in pieces for t in p]
    with tempfile.TemporaryDirectory() as tmp:
        idx, naive = built(spec, tmp)
        exp = naive.score(text)
        got = idx.score(text)
        for f in (
            "token_ids",
            "probs",
            "suffix_lens",
            "prompt_cnts",
            "cont_cnts",
            "zero_prob_tokens",
        ):
            assert getattr(got, f) == exp[f], f
        assert same_float(got.perplexity, exp["perplexity"])
        assert same_float(got.mean_suffix_len, sum(exp["suffix_lens"]) / len(text) if text else 0.0)
        lm = naive.longest_matches(text)
        assert idx.creativity(text).rs == naive.creativity(text)
        got_lm = idx.longest_matches(text)
        assert got_lm.token_ids == text
        assert [(m.start, m.length, m.count) for m in got_lm.matches] == [
            (i, k, c) for i, (k, c) in enumerate(lm)
        ]


# --------------------------------------------------------------------------- documents
@examples(50)
@given(spec=corpora(), data=st.data())
def test_documents(spec: CorpusSpec, data: st.DataObject) -> None:
    qs = queries(data.draw, spec, 4, max_len=4)
    mdls = [data.draw(st.integers(1, 12)) for _ in qs]
    maxnums = [data.draw(st.integers(1, 5)) for _ in qs]
    seeds = [data.draw(st.integers(0, 2**32)) for _ in qs]
    with tempfile.TemporaryDirectory() as tmp:
        idx, naive = built(spec, tmp)
        w = naive.width
        for i in range(len(naive.docs)):
            mdl = data.draw(st.integers(1, 40))
            check_doc(idx.get_doc_by_ix(i, mdl), naive.doc_by_ix(i, mdl))
        for s, sh in enumerate(naive.shards):
            for _ in range(3):
                pos = data.draw(st.integers(0, len(sh.stream) - 1))
                mdl = data.draw(st.integers(1, 12))
                check_doc(idx.get_doc_by_ptr(s, pos * w, mdl), naive.doc_by_ptr(s, pos * w, mdl))
                rank = data.draw(st.integers(0, len(sh.stream) - 1))
                check_doc(idx.get_doc_by_rank(s, rank, mdl), naive.doc_by_rank(s, rank, mdl))
        for q, mdl, n, seed in zip(qs, mdls, maxnums, seeds):
            r = idx.search_docs(q, maxnum=n, max_disp_len=mdl, seed=seed)
            cnt = naive.count(q)
            assert r.cnt == cnt
            if cnt == 0:
                assert r.idxs == [] and r.documents == []
                continue
            assert len(r.idxs) == len(r.documents) == n
            assert r.idxs == sorted(r.idxs) and all(0 <= x < cnt for x in r.idxs)
            ranges = naive.find_ranges(q)
            for x, doc in zip(r.idxs, r.documents):
                # occurrence number x -> (shard, rank) in the naive suffix order
                for s, (a, b) in enumerate(ranges):
                    if x < b - a:
                        break
                    x -= b - a
                check_doc(doc, naive.doc_by_rank(s, a + x, mdl))
                if (mdl + 1) // 2 >= len(q):
                    assert doc.token_ids[doc.needle_offset : doc.needle_offset + len(q)] == q
            # the same seed gives the same sample
            assert idx.search_docs(q, maxnum=n, max_disp_len=mdl, seed=seed).idxs == r.idxs


# --------------------------------------------------------------------------- text queries
@st.composite
def text_queries(draw: st.DrawFn, texts: list[str], n: int) -> list[str]:
    out = []
    glued = "".join(texts)
    for _ in range(n):
        src = draw(st.sampled_from(texts + [glued]))
        i = draw(st.integers(0, len(src)))
        j = draw(st.integers(i, min(len(src), i + 6)))
        q = src[i:j] if draw(st.integers(0, 3)) else draw(st.text(max_size=4))
        out.append(q)
    return out


@examples(40)
@given(spec=corpora(text=True), data=st.data())
def test_text_queries(spec: CorpusSpec, data: st.DataObject) -> None:
    assert spec.texts is not None
    qs = data.draw(text_queries(spec.texts, 6))
    conts = [data.draw(st.sampled_from("ab \n~")) for _ in qs]
    with tempfile.TemporaryDirectory() as tmp:
        idx, naive = built(spec, tmp)
        for q, c in zip(qs, conts):
            b = list(q.encode("utf-8"))
            assert idx.tokenize(q) == b
            assert idx.count(q).count == naive.count(b) == idx.count(b).count
            assert idx.prob(q, c) == idx.prob(b, ord(c))
            r = idx.prob(q, c)
            assert (r.prompt_cnt, r.cont_cnt, r.prob) == naive.prob(b, ord(c))
            assert dist(idx.ntd(q)) == naive.ntd(b)[1]
            r2 = idx.infgram_prob(q, c)
            assert (r2.prompt_cnt, r2.cont_cnt, r2.prob, r2.suffix_len) == naive.infgram_prob(
                b, ord(c)
            )
            assert idx.score(q).probs == naive.score(b)["probs"]
            assert idx.creativity(q).rs == naive.creativity(b)
            sd = idx.search_docs(q, maxnum=2, max_disp_len=20, seed=1)
            assert sd.cnt == naive.count(b)
            for doc in sd.documents:
                if len(b) <= 10:
                    assert doc.token_ids[doc.needle_offset : doc.needle_offset + len(b)] == b
                assert doc.text == bytes(doc.token_ids).decode("utf-8", errors="replace")


# --------------------------------------------------------------------------- invalid queries
@examples(15)
@given(spec=corpora(text=False), data=st.data())
def test_invalid_ids_raise(spec: CorpusSpec, data: st.DataObject) -> None:
    sep = (1 << (8 * spec.width)) - 1
    bad = data.draw(st.sampled_from([-1, sep, sep + 1, -(2**40), 2**64]))
    good = queries(data.draw, spec, 1, min_size=1)[0]
    pos = data.draw(st.integers(0, len(good)))
    q = good[:pos] + [bad] + good[pos:]
    with tempfile.TemporaryDirectory() as tmp:
        idx, _ = built(spec, tmp)
        for call in (
            lambda: idx.count(q),
            lambda: idx.find(q),
            lambda: idx.count_batch([good, q]),
            lambda: idx.prob(q, good[0]),
            lambda: idx.prob(good, bad),
            lambda: idx.ntd(q),
            lambda: idx.infgram_prob(good, bad),
            lambda: idx.infgram_ntd(q),
            lambda: idx.score(q),
            lambda: idx.creativity(q),
            lambda: idx.longest_matches(q),
            lambda: idx.search_docs(q),
        ):
            with pytest.raises(anygram.QueryError):
                call()
        with pytest.raises(anygram.QueryError):
            idx.count("text")  # an ids index has no tokenizer
        with pytest.raises(anygram.QueryError):
            idx.get_doc_by_ix(idx.total_docs)
        with pytest.raises(anygram.QueryError):
            idx.ntd(good, max_support=0) if idx.count(good).count else idx.get_doc_by_ix(-1)
        if spec.width > 1:
            with pytest.raises(anygram.QueryError):
                idx.get_doc_by_ptr(0, 1)  # not a multiple of the token width


# --------------------------------------------------------------------------- several directories
@examples(20)
@given(spec=corpora(text=False), data=st.data())
def test_several_index_directories(spec: CorpusSpec, data: st.DataObject) -> None:
    """Two indexes opened together answer as one corpus (documents numbered across them)."""
    assert spec.docs is not None
    cut = data.draw(st.integers(0, len(spec.docs)))
    parts = [spec.docs[:cut], spec.docs[cut:]]
    if not all(any(p) for p in parts):
        parts = [spec.docs, spec.docs[::-1]]
    qs = queries(data.draw, spec, 6, max_len=5) + [[]]
    ms = data.draw(st.sampled_from([1, 2, 3]))
    with tempfile.TemporaryDirectory() as tmp:
        subs = [
            build_from_ids(
                Path(tmp),
                p,
                token_width=spec.width,
                shard_tokens=spec.shard_tokens,
                name=f"part{i}",
                eos_token_id=spec.eos,
            )
            for i, p in enumerate(parts)
        ]
        idx = anygram.open([Path(tmp) / "part0", Path(tmp) / "part1"])
        event(f"shards={idx.num_shards}")
        naive = NaiveIndex(
            parts[0] + parts[1],
            spec.width,
            eos=spec.eos,
            shard_doc_cnts=[s.doc_cnt for x in subs for s in x.shards],
        )
        assert idx.total_tokens == naive.total_tokens and idx.total_docs == len(naive.docs)
        for q in qs:
            fr = idx.find(q)
            assert fr.cnt == naive.count(q)
            assert fr.segment_by_shard == naive.find_ranges(q)
            assert dist(idx.ntd(q)) == naive.ntd(q)[1]
            s = idx.ntd(q, max_support=ms)
            assert (s.prompt_cnt, dist(s), s.approx) == naive.ntd(q, ms)
        text = [t for q in qs for t in q]
        assert idx.score(text).probs == naive.score(text)["probs"]
        assert idx.creativity(text).rs == naive.creativity(text)
        fields = ("doc_ix", "doc_len", "disp_len", "needle_offset", "token_ids", "shard", "ptr")
        for i in range(len(naive.docs)):
            got, exp = idx.get_doc_by_ix(i, 7), naive.doc_by_ix(i, 7)
            assert {f: getattr(got, f) for f in fields} == {f: exp[f] for f in fields}
