"""Deterministic examples on real text (tinyshakespeare, when present) and hand-checked cases."""

from __future__ import annotations

import random
import re
from collections import Counter
from pathlib import Path

import pytest

import anygram
from helpers import build_from_ids, build_from_texts
from naive import NaiveIndex

SHAKESPEARE = (
    Path(__file__).resolve().parents[1]
    / ".."
    / "shared"
    / "benchdata"
    / "corpora"
    / "tinyshakespeare"
    / "input.txt"
)


def overlapping_count(haystacks: list[bytes], needle: bytes) -> int:
    """Occurrences of ``needle`` in the documents, overlapping ones included (unlike str.count)."""
    if not needle:
        return sum(len(h) + 1 for h in haystacks)
    # 0xff never occurs in UTF-8, so a match cannot span two documents glued with it
    return len(re.findall(b"(?=" + re.escape(needle) + b")", b"\xff".join(haystacks)))


@pytest.fixture(scope="module")
def shakespeare(tmp_path_factory: pytest.TempPathFactory):
    if not SHAKESPEARE.exists():
        pytest.skip(f"{SHAKESPEARE} not found (benchmark corpora not available)")
    text = SHAKESPEARE.read_text(encoding="utf-8")
    docs = [d for d in re.split(r"\n\s*\n", text) if d.strip()]
    tmp = tmp_path_factory.mktemp("shakespeare")
    one = build_from_texts(tmp, docs, name="one")
    many = build_from_texts(tmp, docs, name="many", shard_tokens=150_000)
    return docs, [d.encode("utf-8") for d in docs], one, many


def shakespeare_queries(docs: list[str], n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    glued = "\n\n".join(docs)
    out = [
        "the",
        "The",
        "KING",
        "thee",
        "thou art",
        "ROMEO:",
        "o",
        "e",
        " ",
        "\n",
        "ee",
        "eee",
        "zzz",
        "é",
        "Qx",
        "\n\n",
    ]
    while len(out) < n:
        i = rng.randrange(len(glued))
        q = glued[i : i + rng.choice([1, 2, 3, 4, 6, 10, 20, 40])]
        if rng.random() < 0.1:  # a perturbed, probably absent, query
            q = q[:-1] + "#"
        out.append(q)
    return out


def test_shakespeare_counts(shakespeare) -> None:
    docs, raw, one, many = shakespeare
    assert many.num_shards > 1
    qs = shakespeare_queries(docs, 300, seed=0)
    expected = [overlapping_count(raw, q.encode("utf-8")) for q in qs]
    assert sum(1 for e in expected if e == 0) >= 5  # some absent queries (perturbed, "zzz", "\n\n")
    assert sum(1 for e in expected if e > 1000) >= 5  # some very frequent ones
    for idx in (one, many):
        assert idx.total_docs == len(docs)
        assert idx.count("").count == sum(len(b) + 1 for b in raw)
        got = [idx.count(q).count for q in qs]
        assert got == expected, [(q, g, e) for q, g, e in zip(qs, got, expected) if g != e][:5]
        assert [r.count for r in idx.count_batch(qs)] == expected


def test_shakespeare_probabilities(shakespeare) -> None:
    _docs, raw, one, many = shakespeare
    for prompt in ["the", "KING ", "thou", "ROMEO:\n", "q", "zzz"]:
        pb = prompt.encode("utf-8")
        after: Counter[int] = Counter()
        for d in raw:
            for m in re.finditer(b"(?=" + re.escape(pb) + b")", d):
                j = m.start() + len(pb)
                after[d[j] if j < len(d) else 0xFF] += 1
        total = sum(after.values())
        for idx in (one, many):
            r = idx.ntd(prompt)
            assert r.prompt_cnt == total
            assert {t: v.cont_cnt for t, v in r.result_by_token_id.items()} == dict(after)
            for cont in "e \n":
                p = idx.prob(prompt, cont)
                assert (p.prompt_cnt, p.cont_cnt) == (total, after[ord(cont)])
            s = idx.ntd(prompt, max_support=10)
            assert s.prompt_cnt == total  # a sample still accounts for every occurrence
            assert s.approx == (total > 10)


def test_shakespeare_docs_and_score(shakespeare) -> None:
    docs, raw, one, many = shakespeare
    for idx in (one, many):
        r = idx.search_docs("thou art", maxnum=5, max_disp_len=40, seed=3)
        assert r.cnt == overlapping_count(raw, b"thou art")
        for d in r.documents:
            assert "thou art" in docs[d.doc_ix]
            assert bytes(d.token_ids[d.needle_offset : d.needle_offset + 8]) == b"thou art"
            assert d.doc_len == len(raw[d.doc_ix])
        for i in (0, 1, len(docs) // 2, len(docs) - 1):
            assert idx.get_doc_by_ix(i, max_disp_len=10_000_000).text == docs[i]
        line = docs[7].splitlines()[0]
        sc = idx.score(line)
        assert sc.zero_prob_tokens == 0 and sc.suffix_lens[-1] == len(line.encode()) - 1
        assert idx.creativity(line).rs[0] == len(line.encode())  # the line occurs verbatim


# --------------------------------------------------------------------------- unicode
UNICODE_DOCS = [
    "héllo wörld",
    "",
    "日本語のテキスト、日本",
    "emoji 😀😀 test 😀",
    "naïve café",
    "\u0000nul\u0000",
]


@pytest.fixture(scope="module")
def unicode_index(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("unicode")
    return build_from_texts(tmp, UNICODE_DOCS), NaiveIndex.from_texts(UNICODE_DOCS)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("é", 2),
        ("ö", 1),
        ("😀", 3),
        ("😀😀", 1),
        ("日本", 2),
        ("日本語", 1),
        ("テキスト、", 1),
        ("\u0000", 2),
        ("ï", 1),
        ("e", 3),
        ("ll", 1),
        ("É", 0),
        ("wörld\n", 0),
        ("", 69),
    ],
)
def test_unicode_counts(unicode_index, query: str, expected: int) -> None:
    idx, naive = unicode_index
    if query == "":
        expected = sum(len(t.encode()) + 1 for t in UNICODE_DOCS if t)
    assert naive.count(query) == expected
    assert idx.count(query).count == expected
    assert idx.count(list(query.encode())).count == expected


def test_unicode_continuation_bytes(unicode_index) -> None:
    idx, naive = unicode_index
    # after the lead byte 0xF0 of an emoji, the next byte is always 0x9F
    r = idx.ntd([0xF0])
    assert {t: v.cont_cnt for t, v in r.result_by_token_id.items()} == {0x9F: 3}
    with pytest.raises(anygram.QueryError):
        idx.prob("日", "本")  # "本" is 3 bytes: not a single token
    p = idx.prob("日", 0xE6)  # "本" starts with 0xE6
    assert (p.prompt_cnt, p.cont_cnt, p.prob) == naive.prob("日", 0xE6) == (2, 2, 1.0)
    ip = idx.infgram_prob("zzz😀", ord(" "))
    assert (ip.prompt_cnt, ip.cont_cnt, ip.prob, ip.suffix_len) == naive.infgram_prob(
        "zzz😀", ord(" ")
    )
    assert ip.suffix_len == 4


def test_unicode_documents(unicode_index) -> None:
    idx, _ = unicode_index
    kept = [t for t in UNICODE_DOCS if t]
    for i, t in enumerate(kept):
        d = idx.get_doc_by_ix(i)
        assert d.text == t
        assert d.metadata["metadata"] == {"n": UNICODE_DOCS.index(t)}
    r = idx.search_docs("😀", maxnum=3, max_disp_len=8, seed=0)
    assert r.cnt == 3
    for d in r.documents:
        assert d.doc_ix == 2
        assert bytes(d.token_ids[d.needle_offset : d.needle_offset + 4]) == "😀".encode()


# --------------------------------------------------------------------------- hand-checked sampling
def test_sampled_ntd_hand_checked(tmp_path: Path) -> None:
    # One document of ten 5s (width 2): the suffixes starting with 5 sort as 5$, 55$, 555$, ...
    # so the first rank of the range is the one followed by the end of the document (eos) and
    # the other nine are followed by 5.
    idx = build_from_ids(tmp_path, [[5] * 10], token_width=2)
    sep = 0xFFFF
    exact = idx.ntd([5])
    assert {t: v.cont_cnt for t, v in exact.result_by_token_id.items()} == {
        5: 9,
        sep: 1,
    } and not exact.approx
    # max_support=9: unit 2; the range [0,10) has 10 >= 8 ranks and different end tokens, so it
    # splits into [0,5) and [5,10); both are sampled every 2 ranks at the middle (ranks 1,3,4 and
    # 6,8,9): all 5s, weights 2+2+1 and 2+2+1. The eos at rank 0 is never sampled.
    s = idx.ntd([5], max_support=9)
    assert s.approx and s.prompt_cnt == 10
    assert {t: (v.cont_cnt, v.prob) for t, v in s.result_by_token_id.items()} == {5: (10, 1.0)}
    assert NaiveIndex([[5] * 10], 2).ntd([5], 9) == (10, {5: (10, 1.0)}, True)
    assert idx.ntd([5], max_support=10).approx is False


def test_three_byte_suffix_pointers(tmp_path: Path) -> None:
    """A shard of > 64 KiB (3-byte suffix-array pointers) over large width-4 ids."""
    rng = random.Random(7)
    alpha = [0, 1, 70000, 2**31, 2**32 - 2]
    docs = [[rng.choice(alpha) for _ in range(rng.randrange(1, 400))] for _ in range(120)]
    idx = build_from_ids(tmp_path, docs, token_width=4)
    assert idx.shards[0].ptr_size >= 3
    grams: Counter[tuple[int, ...]] = Counter()
    for d in docs:
        for m in range(1, 8):
            grams.update(tuple(d[i : i + m]) for i in range(len(d) - m + 1))
    qs = [tuple(rng.choice(alpha) for _ in range(rng.randrange(1, 7))) for _ in range(300)]
    assert [idx.count(list(q)).count for q in qs] == [grams[q] for q in qs]
    for q in qs[:20]:
        exp = {t: grams[q + (t,)] for t in alpha if grams[q + (t,)]}
        ends = grams[q] - sum(exp.values())
        if ends:
            exp[2**32 - 1] = ends  # eos (= separator) after occurrences at the end of a document
        assert {t: v.cont_cnt for t, v in idx.ntd(list(q)).result_by_token_id.items()} == exp
    r = idx.search_docs([70000, 2**31], maxnum=5, max_disp_len=6, seed=2)
    for d in r.documents:
        assert d.token_ids[d.needle_offset : d.needle_offset + 2] == [70000, 2**31]
        src = docs[d.doc_ix]
        assert d.doc_len == len(src)
        assert any(src[i : i + d.disp_len] == d.token_ids for i in range(len(src)))
