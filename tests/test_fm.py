"""The FM-index kind: every query equals the suffix-array kind's (and the naive reference's) answer.

Each example builds the same hypothesis corpus (tests/strategies.py: ids of width 1/2/4 or
byte-level text, one or several shards) as a suffix-array index and as an FM index with small
random sampling rates, then compares every query. The rank structure's kernels are checked
against numpy counting on random BWTs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import anygram
from anygram.errors import BuildError, CorruptIndexError, IndexFormatError
from anygram.fm import packed
from anygram.fm.index import FMIndex
from helpers import write_jsonl
from strategies import CorpusSpec, corpora, queries, token

SCALE = max(1, int(os.environ.get("ANYGRAM_EXAMPLES_SCALE", "1")))
RANK = os.environ.get("ANYGRAM_FM_RANK")  # test another rank structure (default: the builder's)


def examples(n: int) -> settings:
    return settings(max_examples=n * SCALE, deadline=None)


def build_pair(spec: CorpusSpec, tmp: Path, sa_sample: int, isa_sample: int) -> tuple[Any, Any, Any]:
    """(suffix-array index, FM index, naive) of one corpus."""
    sa, naive = spec.build(tmp)
    src = tmp / "idx_src"
    kw: dict[str, Any] = {"shard_tokens": spec.shard_tokens, "workers": 1, "kind": "fm", "sa_sample": sa_sample, "isa_sample": isa_sample, "rank": RANK}
    if spec.texts is None:
        kw.update(ids_field="ids", token_width=spec.width, eos_token_id=spec.eos)
    anygram.build(src, tmp / "fm", **kw)
    fm = anygram.open(tmp / "fm")
    assert isinstance(fm, FMIndex)
    assert [s.doc_cnt for s in fm.shards] == [s.doc_cnt for s in sa.shards]
    assert (fm.total_tokens, fm.total_docs, fm.token_width, fm.eos_token_id) == (sa.total_tokens, sa.total_docs, sa.token_width, sa.eos_token_id)
    return sa, fm, naive


def sa_positions(sa: Any, s: int, lo: int, hi: int) -> list[int]:
    from anygram.engine._search import read_ptr

    sh = sa.shards[s]
    return sorted(int(read_ptr(sh.sa, r, sh.ptr_size, sh.ds_size)) // sa.token_width for r in range(lo, hi))


samples = st.tuples(st.sampled_from([1, 2, 3, 4, 7, 32]), st.sampled_from([1, 2, 5, 8, 64]))


@examples(12)
@given(spec=corpora(), data=st.data(), rates=samples)
def test_counts_distributions_and_locate_equal_suffix_array(spec: CorpusSpec, data: st.DataObject, rates: tuple[int, int]) -> None:
    qs = queries(data.draw, spec, 10) + [[]]
    with tempfile.TemporaryDirectory() as tmp:
        sa, fm, naive = build_pair(spec, Path(tmp), *rates)
        for q in qs:
            exp = naive.count(q)
            assert fm.count(q).count == exp == sa.count(q).count, q
            fr = fm.find(q)
            assert fr.cnt == exp
            assert fm.ntd(q).to_dict() == sa.ntd(q).to_dict(), q
            assert fm.infgram_ntd(q).to_dict() == sa.infgram_ntd(q).to_dict(), q
            c = token(data.draw, spec)
            assert fm.prob(q, c).to_dict() == sa.prob(q, c).to_dict(), (q, c)
            assert fm.infgram_prob(q, c).to_dict() == sa.infgram_prob(q, c).to_dict(), (q, c)
            if q:
                # locate: the positions of every occurrence, shard by shard
                sfr = sa.find(q)
                for s in range(fm.num_shards):
                    lo, hi = fr.segment_by_shard[s]
                    got = sorted(fm._positions(s, lo, hi, len(q)).tolist())
                    assert got == sa_positions(sa, s, *sfr.segment_by_shard[s]), (q, s)
        assert [r.count for r in fm.count_batch(qs)] == [naive.count(q) for q in qs]
        pairs = [(q, token(data.draw, spec)) for q in qs]
        assert [r.to_dict() for r in fm.prob_batch(pairs)] == [r.to_dict() for r in sa.prob_batch(pairs)]
        assert [r.to_dict() for r in fm.ntd_batch(qs)] == [r.to_dict() for r in sa.ntd_batch(qs)]


@examples(10)
@given(spec=corpora(), data=st.data(), rates=samples)
def test_score_creativity_and_longest_matches_equal_suffix_array(spec: CorpusSpec, data: st.DataObject, rates: tuple[int, int]) -> None:
    docs = [d for d in spec.all_docs() if d]
    texts = [data.draw(st.sampled_from(docs)) + q for q in queries(data.draw, spec, 3, max_len=12)] + [[]]
    with tempfile.TemporaryDirectory() as tmp:
        sa, fm, _ = build_pair(spec, Path(tmp), *rates)
        for t in texts:
            assert fm.score(t).to_dict() == sa.score(t).to_dict(), t
            assert fm.longest_matches(t).to_dict() == sa.longest_matches(t).to_dict(), t
            assert fm.creativity(t).to_dict() == sa.creativity(t).to_dict(), t


@examples(10)
@given(spec=corpora(), data=st.data(), rates=samples)
def test_documents_equal_suffix_array(spec: CorpusSpec, data: st.DataObject, rates: tuple[int, int]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sa, fm, naive = build_pair(spec, Path(tmp), *rates)
        mdl = data.draw(st.integers(1, 40))
        for ix in range(fm.total_docs):
            assert fm.get_doc_by_ix(ix, max_disp_len=mdl).to_dict() == sa.get_doc_by_ix(ix, max_disp_len=mdl).to_dict()
        w = fm.token_width
        for _ in range(5):
            s = data.draw(st.integers(0, fm.num_shards - 1))
            ptr = data.draw(st.integers(0, fm.shards[s].tok_cnt - 1)) * w
            assert fm.get_doc_by_ptr(s, ptr, mdl).to_dict() == sa.get_doc_by_ptr(s, ptr, mdl).to_dict()
        for q in queries(data.draw, spec, 4, min_size=1):
            res = fm.search_docs(q, maxnum=4, max_disp_len=mdl + len(q) * 2, seed=7)
            assert res.cnt == naive.count(q)
            for d in res.documents:
                # the needle is an occurrence of the query
                toks = fm.get_doc_by_ptr(d.shard, d.ptr, len(q) * 2 + 2)
                k = toks.needle_offset
                assert toks.token_ids[k : k + len(q)] == list(q), (q, d)
            if res.cnt:
                # every document of the sample is one that contains the query
                docs = {d.doc_ix for d in res.documents}
                assert docs <= {ix for ix, _ in naive.occurrences(q)} | set()


@examples(10)
@given(spec=corpora(), data=st.data(), rates=samples)
def test_cnf_equal_suffix_array(spec: CorpusSpec, data: st.DataObject, rates: tuple[int, int]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sa, fm, _ = build_pair(spec, Path(tmp), *rates)
        for _ in range(3):
            nclauses = data.draw(st.integers(1, 3))
            cnf = [queries(data.draw, spec, data.draw(st.integers(1, 2)), min_size=1, max_len=3) for _ in range(nclauses)]
            mdt = data.draw(st.integers(1, 12))
            a = sa.find_cnf(cnf, max_diff_tokens=mdt)
            b = fm.find_cnf(cnf, max_diff_tokens=mdt)
            assert (a.cnt, a.approx) == (b.cnt, b.approx), cnf
            assert [sorted(x) for x in a.ptrs_by_shard] == [sorted(x) for x in b.ptrs_by_shard], cnf
            assert fm.count_cnf(cnf, max_diff_tokens=mdt).to_dict() == sa.count_cnf(cnf, max_diff_tokens=mdt).to_dict()
            r = fm.search_docs_cnf(cnf, maxnum=2, max_diff_tokens=mdt, seed=3)
            assert r.cnt == a.cnt and len(r.documents) == (2 if a.cnt and any(a.ptrs_by_shard) else 0)


# --------------------------------------------------------------- rank structure and packing
def _rank_module():
    from anygram.fm.build import DEFAULT_RANK, rank_module

    return rank_module(RANK or DEFAULT_RANK)


@settings(max_examples=30, deadline=None)
@given(sigma=st.sampled_from([1, 2, 3, 17, 256, 257, 300, 70000]), n=st.integers(1, 20000), seed=st.integers(0, 2**32 - 1), skew=st.booleans())
def test_rank_structure_against_numpy(sigma: int, n: int, seed: int, skew: bool) -> None:
    rmod = _rank_module()
    rng = np.random.default_rng(seed)
    if skew:  # long runs and a few symbols, as in a real BWT
        bwt = np.repeat(rng.integers(0, min(sigma, 5), size=n // 50 + 1), 50)[:n]
    else:
        bwt = rng.integers(0, sigma, size=n)
    dt = np.uint8 if sigma <= 256 else (np.uint16 if sigma <= 65536 else np.uint32)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bwt"
        bwt.astype(dt).tofile(path)
        mm = np.memmap(path, dtype=dt, mode="r")
        meta = rmod.build(mm, sigma, Path(tmp), "r.")
        json.dumps(meta)
        R = rmod.open(Path(tmp), "r.", meta)
        assert rmod.size_bytes(R) > 0
        pts = sorted({0, n, *rng.integers(0, n + 1, size=40).tolist()})
        syms = sorted({0, sigma - 1, *rng.integers(0, sigma, size=5).tolist()})
        for c in syms:
            cum = np.concatenate([[0], np.cumsum(bwt == c)])
            for i in pts:
                assert rmod.rank(R, c, i) == cum[i], (c, i)
        for i in rng.integers(0, n, size=30).tolist():
            c, r = rmod.access(R, i)
            assert (c, r) == (bwt[i], int(np.count_nonzero(bwt[:i] == bwt[i])))
        for _ in range(10):
            lo, hi = sorted(rng.integers(0, n + 1, size=2).tolist())
            sym = np.empty(min(sigma, max(1, hi - lo)), np.int64)
            cnt = np.empty_like(sym)
            k = rmod.range_symbols(R, lo, hi, sym, cnt)
            exp = sorted(Counter(bwt[lo:hi].tolist()).items())
            assert list(zip(sym[:k].tolist(), cnt[:k].tolist())) == exp


@settings(max_examples=30, deadline=None)
@given(vals=st.lists(st.integers(0, 2**40), min_size=1, max_size=300), extra=st.integers(0, 3))
def test_packed_roundtrip(vals: list[int], extra: int) -> None:
    bits = packed.bits_for(max(vals)) + extra
    words = np.zeros(packed.words_for(len(vals), bits), dtype=np.uint64)
    half = len(vals) // 2
    packed.pack_into(np.array(vals[:half], dtype=np.int64), bits, words, 0)
    packed.pack_at(np.array(vals[half:], dtype=np.int64), np.arange(half, len(vals), dtype=np.int64), bits, words)
    assert [packed.get(words, bits, i) for i in range(len(vals))] == vals


# --------------------------------------------------------------- build options, manifest, CLI
def _corpus(tmp: Path) -> Path:
    texts = [f"document {i}: the quick brown fox {'jumps ' * (i % 3)}over the lazy dog" for i in range(30)]
    return write_jsonl(tmp / "src" / "d.jsonl", [{"text": t, "i": i} for i, t in enumerate(texts)])


def test_build_rejects_bad_fm_options(tmp_path: Path) -> None:
    src = _corpus(tmp_path)
    with pytest.raises(BuildError, match="kind"):
        anygram.build(src, tmp_path / "x", kind="bwt")
    with pytest.raises(BuildError, match="sa_sample"):
        anygram.build(src, tmp_path / "x", kind="fm", sa_sample=0)
    with pytest.raises(BuildError, match="rank structure"):
        anygram.build(src, tmp_path / "x", kind="fm", rank="nope")
    with pytest.raises(BuildError, match="kind='fm'"):
        anygram.build(src, tmp_path / "x", sa_sample=8)


def test_manifest_kind_and_version(tmp_path: Path) -> None:
    src = _corpus(tmp_path)
    anygram.build(src, tmp_path / "fm", kind="fm", workers=1, shard_tokens=700)
    m = json.loads((tmp_path / "fm" / "manifest.json").read_text())
    assert m["kind"] == "fm" and m["format_version"] == 2 and m["fm"]["sa_sample"] == 64
    assert not any(n.startswith(("tokenized", "table")) for n in os.listdir(tmp_path / "fm"))
    info = anygram.open(tmp_path / "fm").info()
    assert info.kind == "fm" and len(info.shards) > 1 and info.fm["rank_bytes"] > 0
    for edit, exc in (
        (lambda d: d.update(kind="zz"), IndexFormatError),
        (lambda d: d.update(format_version=1), CorruptIndexError),
        (lambda d: d.update(format_version=3), IndexFormatError),
        (lambda d: d["shards"][0]["fm"].update(sa_sample=7), CorruptIndexError),
        (lambda d: d["shards"][0]["fm"].update(n=5), CorruptIndexError),
        (lambda d: d["shards"][0]["fm"]["rank"].update(name="nope"), CorruptIndexError),
        (lambda d: d["shards"][0].pop("fm"), CorruptIndexError),
        (lambda d: d["shards"][0]["files"].pop("fm_c"), CorruptIndexError),
    ):
        bad = json.loads(json.dumps(m))
        edit(bad)
        (tmp_path / "fm" / "manifest.json").write_text(json.dumps(bad))
        with pytest.raises(exc):
            anygram.open(tmp_path / "fm")
    (tmp_path / "fm" / "manifest.json").write_text(json.dumps(m))
    anygram.open(tmp_path / "fm")
    with pytest.raises(IndexFormatError, match="cannot be queried as one"):
        anygram.build(src, tmp_path / "sa", workers=1)
        anygram.open([tmp_path / "fm", tmp_path / "sa"])


def test_resume_after_interrupted_fm_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from anygram.fm import build as fb

    src = _corpus(tmp_path)
    anygram.build(src, tmp_path / "ref", kind="fm", workers=1, shard_tokens=500, sa_sample=4)
    real = fb.build_fm
    calls = []

    def flaky(*a, **k):
        calls.append(a[2])
        if len(calls) == 2:
            raise OSError("disk full (simulated)")
        return real(*a, **k)

    monkeypatch.setattr(fb, "build_fm", flaky)
    with pytest.raises(BuildError):
        anygram.build(src, tmp_path / "out", kind="fm", workers=1, shard_tokens=500, sa_sample=4)
    assert (tmp_path / "out.partial").is_dir()
    monkeypatch.setattr(fb, "build_fm", real)
    summary = anygram.build(src, tmp_path / "out", kind="fm", workers=1, shard_tokens=500, sa_sample=4)
    assert summary.resumed_shards >= 1
    a, b = anygram.open(tmp_path / "ref"), anygram.open(tmp_path / "out")
    assert [s.fm_bytes for s in a.shards] == [s.fm_bytes for s in b.shards]
    for q in ("the", "fox jumps", "dog", "zz"):
        assert a.ntd(q).to_dict() == b.ntd(q).to_dict()


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(Path(anygram.__file__).parents[1]))
    return subprocess.run([sys.executable, "-m", "anygram", *args], capture_output=True, text=True, env=env, timeout=300, check=False)


def test_cli_index_fm_info_and_queries(tmp_path: Path) -> None:
    src = _corpus(tmp_path)
    out = tmp_path / "fm"
    p = _cli("index", str(src), "-o", str(out), "--kind", "fm", "--sa-sample", "8", "--isa-sample", "16", "-q", "--workers", "1")
    assert p.returncode == 0, p.stderr
    p = _cli("info", str(out), "--json")
    assert p.returncode == 0, p.stderr
    info = json.loads(p.stdout)
    assert info["kind"] == "fm" and info["fm"]["sa_sample"] == 8 and info["fm"]["isa_sample"] == 16
    p = _cli("info", str(out))
    assert "kind" in p.stdout and "fm" in p.stdout
    p = _cli("count", str(out), "the lazy dog")
    assert p.returncode == 0 and p.stdout.strip() == "30", (p.stdout, p.stderr)
    p = _cli("ntd", str(out), "the lazy", "--json")
    assert json.loads(p.stdout)["result_by_token_id"] == {"32": {"cont_cnt": 30, "prob": 1.0}}
    p = _cli("doc", str(out), "--ix", "3", "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["text"] == "document 3: the quick brown fox over the lazy dog"


# --------------------------------------------------------------- build steps (small step sizes)
@settings(max_examples=40, deadline=None)
@given(data=st.binary(max_size=300), width=st.sampled_from([1, 2, 4]), step=st.sampled_from([1, 2, 3, 8]))
def test_reverse_and_alphabet_in_steps(data: bytes, width: int, step: int) -> None:
    from anygram.fm import build as fb

    data = data[: len(data) // width * width]
    old = fb.SMALL_STEP
    fb.SMALL_STEP = step
    try:
        a = np.frombuffer(data, dtype=np.uint8).copy()
        fb._reverse_in_place(a)
        assert a.tobytes() == data[::-1]
        vals, cnts = fb._alphabet(a, width)
        ref = Counter(int.from_bytes(data[i : i + width], "little") for i in range(0, len(data), width))
        assert dict(zip(vals.tolist(), cnts.tolist())) == dict(ref)
    finally:
        fb.SMALL_STEP = old


def test_fm_build_with_tiny_steps_equals_suffix_array(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Many reversal, alphabet and BWT steps (growing steps, ISA pairs) give the same answers."""
    from anygram.fm import build as fb

    monkeypatch.setattr(fb, "SMALL_STEP", 64)
    monkeypatch.setattr(fb, "BWT_STEP", 7)
    rng = np.random.default_rng(5)
    texts = ["".join(rng.choice(list("abcé\n "), size=int(rng.integers(0, 400)))) for _ in range(60)]
    spec = CorpusSpec(docs=None, texts=texts, width=1, shard_tokens=3000, eos=None)
    sa, fm, _ = build_pair(spec, tmp_path, 3, 5)
    for q in ["a", "ab", "é", "c\n", "ba ", "aaa", "zz"]:
        assert fm.count(q).count == sa.count(q).count, q
        assert fm.ntd(q).to_dict() == sa.ntd(q).to_dict(), q
        f, g = fm.find(q), sa.find(q)
        qb = q.encode()
        for s in range(fm.num_shards):
            got = sorted(fm._positions(s, *f.segment_by_shard[s], len(qb)).tolist())
            assert got == sa_positions(sa, s, *g.segment_by_shard[s]), (q, s)
    for d in range(0, sa.total_docs, 3):  # documents are read back through the ISA samples
        assert fm.get_doc_by_ix(d, max_disp_len=50).to_dict() == sa.get_doc_by_ix(d, max_disp_len=50).to_dict(), d
