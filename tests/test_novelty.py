"""Novelty (``anygram.analyses.novelty``) against brute force over Python lists, on hypothesis corpora."""

from __future__ import annotations

import math
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anygram.analyses.novelty import (
    bucket,
    longest_repeat,
    novelty,
    read_texts,
    text_novelty,
    write_plots,
)
from anygram.errors import CorpusError, QueryError
from helpers import build_from_texts
from strategies import corpora, spec_pieces


def naive_repeat(ids: list[int]) -> tuple[int, int, int]:
    """(length, leftmost start, occurrences) of the longest substring occurring twice (overlaps allowed)."""
    n = len(ids)
    for k in range(n - 1, 0, -1):
        for p in range(n - k + 1):
            sub = ids[p : p + k]
            occ = sum(1 for q in range(n - k + 1) if ids[q : q + k] == sub)
            if occ >= 2:
                return k, p, occ
    return 0, 0, 0


def naive_agreement(naive, ids: list[int]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for i in range(len(ids)):
        L = naive.longest_suffix_len(ids[:i])
        c = naive.ntd_counts(ids[i - L : i])
        agree = c[ids[i]] > 0 and c[ids[i]] == max(c.values())
        slot = out.setdefault(bucket(L), [0, 0])
        slot[0] += 1
        slot[1] += agree
    return out


@settings(max_examples=15, deadline=None)
@given(spec=corpora(), data=st.data())
def test_text_novelty_matches_naive(spec, data) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        idx, naive = spec.build(Path(tmp))
        ids = data.draw(spec_pieces(spec, pieces=3, piece_len=10, noise=3))
        k = data.draw(st.integers(1, 5))
        r = text_novelty(idx, ids, max_n=k)
        lens = [x for x, _ in naive.longest_matches(ids)]
        n = len(ids)
        assert r.tokens == n
        assert r.match_max == max(lens, default=0)
        if n:
            assert math.isclose(r.match_mean, sum(lens) / n)
        assert r.match_histogram == dict(sorted(Counter(bucket(x) for x in lens).items(), key=lambda kv: int(kv[0].split("-")[0])))
        for m in range(1, k + 1):
            grams = [ids[l : l + m] for l in range(n - m + 1)]
            if not grams:
                assert r.absent_ngram_share[m] is None and r.distinct_ngram_share[m] is None
                continue
            assert r.absent_ngram_share[m] == sum(naive.count(g) == 0 for g in grams) / len(grams)
            assert r.distinct_ngram_share[m] == len({tuple(g) for g in grams}) / len(grams)
        exp = naive_agreement(naive, ids)
        assert {b: [a.positions, a.agree] for b, a in r.agreement.items()} == exp
        rep = r.longest_repeat
        assert (rep.length, rep.start, rep.count) == naive_repeat(ids)


@settings(max_examples=60, deadline=None)
@given(ids=st.lists(st.integers(0, 3), max_size=40), big=st.booleans())
def test_longest_repeat_matches_naive(ids: list[int], big: bool) -> None:
    arr = np.array([t * 70000 if big else t for t in ids], dtype=np.uint32 if big else np.uint8)
    assert longest_repeat(arr) == naive_repeat(arr.tolist())


def test_report_pools_texts(tmp_path: Path) -> None:
    idx = build_from_texts(tmp_path, ["the quick brown fox jumps over the lazy dog", "a lazy dog sleeps"], shard_tokens=30)
    texts = ["the quick brown cat", "a lazy fox sleeps sleeps", ""]
    rep = novelty(idx, texts, max_n=4)
    per = [text_novelty(idx, t, max_n=4, index=i) for i, t in enumerate(texts)]
    assert rep.per_text == per
    assert rep.texts == 3 and rep.tokens == sum(p.tokens for p in per)
    for m in range(1, 5):
        tot = sum(max(0, p.tokens - m + 1) for p in per)
        absent = sum(round(p.absent_ngram_share[m] * max(0, p.tokens - m + 1)) for p in per if p.absent_ngram_share[m] is not None)
        assert rep.absent_ngram_share[m] == absent / tot
    assert sum(rep.match_histogram.values()) == rep.tokens
    assert sum(a.positions for a in rep.agreement.values()) == rep.tokens
    assert rep.longest_repeat_max == 7  # " sleeps", twice in "a lazy fox sleeps sleeps"
    assert per[1].longest_repeat.text == " sleeps" and per[1].longest_repeat.count == 2
    assert rep.to_dict()["absent_ngram_share"][1] == 0.0
    no = novelty(idx, texts, max_n=2, agreement=False)
    assert no.agreement is None and no.agreement_rate is None and no.per_text[0].agreement is None
    with pytest.raises(QueryError):
        novelty(idx, texts, max_n=0)
    png = write_plots(rep, tmp_path / "plots" / "n.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_read_texts(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text('{"out": "x y"}\n\n{"out": "z"}\n', encoding="utf-8")
    assert list(read_texts(tmp_path / "a.jsonl", "out")) == ["x y", "z"]
    (tmp_path / "a.txt").write_text("one\ntwo\n", encoding="utf-8")
    assert list(read_texts(tmp_path / "a.txt")) == ["one", "two"]
    with pytest.raises(CorpusError):
        list(read_texts(tmp_path / "a.jsonl", "text"))
    with pytest.raises(CorpusError):
        list(read_texts(tmp_path / "missing.txt"))
