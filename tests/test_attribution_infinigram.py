"""Differential test: ``Index.attribute`` against infini-gram 2.6.0's own ``attribute``.

anygram builds byte-level (u8) and u16 indexes, one or several shards; infini-gram's engine opens
them. Three checks per input:

* infini-gram's spans equal the brute-force transcription of its rule (tests/naive_attribution.py)
  fed with infini-gram's own longest-prefix lengths (its ``creativity``, which has quirk 5 of
  docs/compat.md) — so the transcription is faithful;
* anygram's spans equal the same transcription fed with the true lengths;
* where both lengths agree (all but quirk-5 inputs), anygram's spans, counts, occurrences
  (shard, ptr) and unigram sums (u8, with infini-gram's ``precompute_unigram_logprobs``) equal
  infini-gram's.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest

pytest.importorskip("infini_gram.engine")
from hypothesis import given, settings
from hypothesis import strategies as st
from infini_gram import cpp_engine

import anygram
from helpers import ig_workdir, write_jsonl
from naive_attribution import naive_attribute
from strategies import doc_pieces

pytestmark = pytest.mark.infinigram


class Stats:
    compared = 0
    quirk = 0


def ig_engine(d: Path, width: int, bow_ids: list[int], unigrams: bool):
    cls = {1: cpp_engine.Engine_U8, 2: cpp_engine.Engine_U16}[width]
    sep = (1 << (8 * width)) - 1
    return cls([str(d)], sep, min(sep, 65535), 4, False, 1, 3, 3, set(bow_ids), 512, unigrams, {})


def compare(ag: anygram.Index, ig, ids: list[int], delims: list[int], min_len: int, max_cnt: int, bow: bool, bows: list[int], sums: bool) -> None:
    def cnt(q):
        return ag.count(q).count

    got = ag.attribute(ids, delim_ids=delims, min_len=min_len, max_cnt=max_cnt, enforce_bow=bow, bow_ids=bows, max_docs=max_cnt, documents=False)
    ref = ig.attribute(input_ids=ids, delim_ids=delims, min_len=min_len, max_cnt=max_cnt, enforce_bow=bow)
    ig_spans = [(s.l, s.r, s.count) for s in ref.spans]
    ig_lens = [r - l for l, r in enumerate(ig.creativity(input_ids=ids).rs)]
    true_lens = [r - l for l, r in enumerate(ag.creativity(ids).rs)]
    assert ig_spans == naive_attribute(cnt, ids, ig_lens, delims, min_len, max_cnt, bow, bows), "transcription"
    assert [(s.l, s.r, s.count) for s in got.spans] == naive_attribute(cnt, ids, true_lens, delims, min_len, max_cnt, bow, bows)
    Stats.compared += 1
    if ig_lens != true_lens:
        Stats.quirk += 1
        return
    assert [(s.l, s.r, s.count) for s in got.spans] == ig_spans
    for a, b in zip(got.spans, ref.spans):
        assert sorted(a.occurrences) == sorted((d.s, d.ptr) for d in b.docs)
        if sums:
            assert math.isclose(a.unigram_logprob_sum, b.unigram_logprob_sum, rel_tol=1e-9)


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    print(f"\ninfini-gram attribute diff: {Stats.compared} inputs compared, {Stats.quirk} with quirk 5 (lengths differ)")


ALPHABETS = ["ab c", "abc. ", "a bé\n", "xyz "]


@settings(max_examples=12, deadline=None)
@given(alpha=st.sampled_from(ALPHABETS), data=st.data(), shard_tokens=st.sampled_from([None, 20, 60]))
def test_attribute_u8(alpha: str, data: st.DataObject, shard_tokens: int | None) -> None:
    texts = data.draw(st.lists(st.text(st.sampled_from(alpha), min_size=1, max_size=30), min_size=1, max_size=6))
    root = ig_workdir("anygram-igattr-")
    try:
        write_jsonl(root / "data" / "d.jsonl", [{"text": t, "n": i} for i, t in enumerate(texts)])
        anygram.build(root / "data", root / "ag", shard_tokens=shard_tokens, workers=1)
        ag = anygram.open(root / "ag")
        docs = [list(t.encode()) for t in texts]
        pool = sorted({b for d in docs for b in d} | {ord("q")})
        bows = [b for b in (32, 10) if b in pool] or pool[:1]
        ig = ig_engine(root / "ag", 1, bows, True)
        for _ in range(4):
            ids = data.draw(doc_pieces(docs, pool, piece_len=12))
            delims = data.draw(st.lists(st.sampled_from(pool), max_size=2, unique=True))
            compare(ag, ig, ids, delims, data.draw(st.integers(1, 4)), data.draw(st.sampled_from([1, 2, 5, 1000])),
                    data.draw(st.booleans()), bows, True)
    finally:
        shutil.rmtree(root, ignore_errors=True)


U16 = [0, 1, 255, 256, 0xFF00, 0x00FF, 0xFFFE, 40000]


@settings(max_examples=8, deadline=None)
@given(data=st.data(), shard_tokens=st.sampled_from([None, 15, 40]))
def test_attribute_u16(data: st.DataObject, shard_tokens: int | None) -> None:
    alpha = data.draw(st.lists(st.sampled_from(U16), min_size=2, max_size=4, unique=True))
    docs = data.draw(st.lists(st.lists(st.sampled_from(alpha), min_size=1, max_size=25), min_size=1, max_size=6))
    root = ig_workdir("anygram-igattr-")
    try:
        write_jsonl(root / "data" / "d.jsonl", [{"ids": d} for d in docs])
        anygram.build(root / "data", root / "ag", ids_field="ids", token_width=2, shard_tokens=shard_tokens, workers=1)
        ag = anygram.open(root / "ag")
        bows = alpha[:1]
        ig = ig_engine(root / "ag", 2, bows, False)
        for _ in range(4):
            ids = data.draw(doc_pieces(docs, alpha + [3], piece_len=12))
            delims = data.draw(st.lists(st.sampled_from(alpha), max_size=1))
            compare(ag, ig, ids, delims, data.draw(st.integers(1, 3)), data.draw(st.sampled_from([1, 3, 1000])),
                    data.draw(st.booleans()), bows, False)
    finally:
        shutil.rmtree(root, ignore_errors=True)
