"""Contamination: every criterion against a brute-force substring search in the raw corpus."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import naive_contam as nc
from anygram.analyses.benchmarks import BenchItem, load_benchmark
from anygram.analyses.contamination import ContamParams, _Scorer, contamination, score_items
from anygram.errors import BenchmarkError, QueryError
from helpers import build_from_texts, write_jsonl
from strategies import TEXT_ALPHABET, corpora, queries

BENCHDATA = Path(__file__).resolve().parents[2] / "shared" / "benchdata"
if not BENCHDATA.exists():
    BENCHDATA = Path("/work/shared/benchdata")


def _items_from(draw, docs: list[str], n: int) -> list[str]:
    glued = " ".join(docs)
    out = []
    for _ in range(n):
        kind = draw(st.sampled_from(["doc", "glued", "random", "mix"]))
        if kind in ("doc", "glued"):
            src = draw(st.sampled_from([d for d in docs if d] or [glued])) if kind == "doc" else glued
            i = draw(st.integers(0, len(src)))
            j = draw(st.integers(i, len(src)))
            out.append(src[i:j])
        elif kind == "random":
            out.append(draw(st.text(TEXT_ALPHABET, max_size=30)))
        else:
            a = draw(st.sampled_from(docs))
            out.append(a + draw(st.text(TEXT_ALPHABET, max_size=5)) + draw(st.sampled_from(docs)))
    return out


def _check_item(res, item, docs, w: int, n: int, p: ContamParams) -> None:
    win = nc.windows(item, docs, w)
    assert res.windows.total == len(win)
    assert res.windows.found == sum(win)
    assert res.windows.label == nc.label(win, p.dirty, p.suspicious)
    ng = nc.ngrams(item, docs, n)
    assert (res.ngrams.total, res.ngrams.found) == (len(ng), sum(ng))
    assert res.ngrams.label == nc.label(ng, p.ngram_dirty, None)
    if res.longest is not None:
        c, L, cnt = nc.longest(item, docs)
        assert (res.longest.start, res.longest.end, res.longest.count) == (c, c + L, cnt)
    # spans: the union of the found windows
    covered = set()
    for k, f in enumerate(win):
        if f:
            covered.update(range(k, k + w))
    got = set()
    for a, b in res.spans:
        got.update(range(a, b))
    assert got == covered


@settings(max_examples=40)
@given(data=st.data())
def test_text_items_match_brute_force(tmp_path_factory, data):
    """Byte-level index (one or several shards), unicode items: windows in characters."""
    spec = data.draw(corpora(text=True))
    docs = spec.texts
    idx, _ = spec.build(tmp_path_factory.mktemp("c"))
    w = data.draw(st.integers(1, 6))
    n = data.draw(st.integers(1, 3))
    # with "longest", windows and n-grams come from the longest-match pass; without, from spans_present
    crit = data.draw(st.sampled_from([("windows", "ngrams", "longest"), ("windows", "ngrams")]))
    p = ContamParams(criteria=crit, window=w, ngram=n, dirty=0.8, suspicious=0.2, docs=2, docs_min_len=1)
    items = _items_from(data.draw, docs, 6)
    threads = data.draw(st.sampled_from([1, 2]))
    r = score_items(idx, items, p, threads=threads)
    assert r.items == len(items)
    for res, item in zip(r.item_results, items):
        assert res.unit == "chars" and res.length == len(item)
        assert res.tokens == len(item.encode("utf-8"))
        _check_item(res, item, docs, w, n, p)
        if res.longest is None:
            continue
        assert res.longest.chars == res.longest.end - res.longest.start
        assert res.longest.text == item[res.longest.start : res.longest.end]
        assert res.longest.tokens == len(res.longest.text.encode("utf-8"))
        # every document shown holds the span at match_start
        for d in res.docs:
            assert d.context[d.match_start : d.match_start + d.match_len] == res.longest.text
            assert res.longest.text in docs[d.metadata["metadata"]["n"]]
        assert len({d.doc_ix for d in res.docs}) == len(res.docs) <= 2
    idx.close()


@settings(max_examples=30)
@given(data=st.data())
def test_token_items_match_brute_force(tmp_path_factory, data):
    """Token-id items on id corpora of width 1/2/4: windows and n-grams count tokens."""
    spec = data.draw(corpora(text=False))
    docs = [tuple(d) for d in spec.docs if d]
    idx, _ = spec.build(tmp_path_factory.mktemp("c"))
    w = data.draw(st.integers(1, 5))
    n = data.draw(st.integers(1, 3))
    crit = data.draw(st.sampled_from([("windows", "ngrams", "longest"), ("windows", "ngrams")]))
    p = ContamParams(criteria=crit, window=w, ngram=n, docs=1, docs_min_len=1)
    items = queries(data.draw, spec, 5, max_len=14)
    r = score_items(idx, [BenchItem(str(i), q) for i, q in enumerate(items)], p, threads=1)
    for res, item in zip(r.item_results, items):
        item = tuple(item)
        assert res.unit == "tokens"
        win = nc.windows(item, docs, w)
        assert (res.windows.total, res.windows.found) == (len(win), sum(win))
        ng = nc.windows(item, docs, n)
        assert (res.ngrams.total, res.ngrams.found) == (len(ng), sum(ng))
        if res.longest is None:
            continue
        c, L, cnt = nc.longest(item, docs)
        assert (res.longest.tokens, res.longest.count) == (L, cnt)
        if L:
            assert res.longest.start == c
            assert len(res.docs) == 1
    idx.close()


def test_rates_and_labels(tmp_path):
    corpus = ["the quick brown fox jumps over the lazy dog", "lorem ipsum dolor sit amet"]
    idx = build_from_texts(tmp_path, corpus)
    items = [
        "the quick brown fox jumps",  # every window found: dirty
        "the quick brown fox XXXXXXXXXXXXXXXXXXXXXXXXXXXXX",  # 11 of 40 windows (w=10): suspicious
        "the quick " + "X" * 40,  # 1 of 41: clean
        "short",  # shorter than one window
        "lorem ipsum dolor sit amet plus",  # 17 of 22: suspicious
    ]
    r = score_items(idx, items, window=10, ngram=2, docs=0)
    got = [(x.windows.found, x.windows.total, x.windows.label) for x in r.item_results]
    assert got == [(16, 16, "dirty"), (11, 40, "suspicious"), (1, 41, "clean"), (0, 0, "too_short"), (17, 22, "suspicious")]
    assert r.item_results[3].windows.score is None
    assert r.windows.counts == {"dirty": 1, "suspicious": 2, "clean": 1, "too_short": 1}
    assert r.windows.rates["suspicious"] == pytest.approx(0.4)
    assert r.windows.mean_score == pytest.approx((1 + 11 / 40 + 1 / 41 + 17 / 22) / 4)
    # ngrams (2 words): "lorem ipsum dolor sit amet plus" -> 5 bigrams, 4 found: dirty at 0.7
    assert (r.item_results[4].ngrams.found, r.item_results[4].ngrams.total) == (4, 5)
    assert r.item_results[4].ngrams.label == "dirty"
    # thresholds are parameters
    r2 = score_items(idx, items, window=10, ngram=2, docs=0, suspicious=0.3, dirty=0.75)
    assert [x.windows.label for x in r2.item_results] == ["dirty", "clean", "clean", "too_short", "dirty"]
    idx.close()


def test_criteria_subset_and_params_recorded(tmp_path):
    idx = build_from_texts(tmp_path, ["abcdefghij" * 3])
    rep = contamination({"c": idx}, {"b": ["abcdefghijk", "zzz"]}, criteria="windows", window=5)
    assert rep.params == {"criteria": ["windows"], "windows": {"window": 5, "unit": rep.params["windows"]["unit"], "dirty": 0.8, "suspicious": 0.2}}
    r = rep.result("b", "c")
    assert r.ngrams is None and r.longest is None
    assert r.item_results[0].ngrams is None and r.item_results[0].windows.found == 6
    json.dumps(rep.to_dict())  # JSON-ready
    idx.close()


def test_several_indexes_and_benchmarks(tmp_path):
    a = build_from_texts(tmp_path, ["alpha beta gamma delta epsilon"], name="a")
    b = build_from_texts(tmp_path, ["zeta eta theta iota kappa"], name="b")
    rep = contamination({"A": a, "B": b}, {"x": ["alpha beta gamma", "zeta eta theta"], "y": ["nothing here at all"]}, window=8)
    benches, idxs, rows = rep.matrix("windows", "dirty")
    assert benches == ["x", "y"] and idxs == ["A", "B"]
    assert rows == [[0.5, 0.5], [0.0, 0.0]]
    assert len(rep.results) == 4
    a.close()
    b.close()


def test_multi_shard_documents_and_context(tmp_path):
    docs = [f"document {i} says " + ("the shared sentence is here. " if i % 3 == 0 else "something else entirely. ") for i in range(30)]
    idx = build_from_texts(tmp_path, docs, shard_tokens=200)
    assert idx.num_shards > 1
    r = score_items(idx, ["the shared sentence is here. and more"], window=10, docs=4, context=20)
    it = r.item_results[0]
    assert it.longest.text == "the shared sentence is here. "
    assert it.longest.count == 10
    assert len(it.docs) == 4 and len({d.doc_ix for d in it.docs}) == 4
    for d in it.docs:
        assert d.context[d.match_start : d.match_start + d.match_len] == it.longest.text
        assert d.metadata["metadata"]["n"] % 3 == 0
    idx.close()


def test_param_errors(tmp_path):
    idx = build_from_texts(tmp_path, ["abc"])
    with pytest.raises(QueryError, match="criteria"):
        score_items(idx, ["abc"], criteria=("windows", "bogus"))
    with pytest.raises(QueryError, match="window"):
        score_items(idx, ["abc"], window=0)
    with pytest.raises(QueryError, match="suspicious"):
        score_items(idx, ["abc"], dirty=0.1, suspicious=0.5)
    with pytest.raises(QueryError, match="dirty"):
        score_items(idx, ["abc"], dirty=1.5)
    with pytest.raises(QueryError, match="string or a list"):
        score_items(idx, [BenchItem("x", 3)])  # type: ignore[arg-type]
    # an empty item is scored, too short for any criterion
    r = score_items(idx, [""])
    assert r.item_results[0].windows.label == "too_short" and r.item_results[0].longest.chars == 0
    idx.close()


def test_window_verdicts_match(tmp_path):
    idx = build_from_texts(tmp_path, ["héllo wörld 😀 done"])
    sc = _Scorer(idx, ContamParams(window=3))
    text = "wörld 😀 nope"
    assert sc.window_verdicts(text).tolist() == nc.windows(text, ["héllo wörld 😀 done"], 3)
    idx.close()


# ------------------------------------------------------------------ loaders


def test_loaders_formats_and_presets(tmp_path):
    he = write_jsonl(tmp_path / "he" / "HumanEval.jsonl", [{"task_id": "HumanEval/0", "prompt": "def f():\n", "canonical_solution": "    return 1\n", "test": "x"}])
    b = load_benchmark(he)
    assert b.name == "he/HumanEval" and b.fields == ("prompt", "canonical_solution") and b.joiner == ""
    assert b.items == [BenchItem("HumanEval/0", "def f():\n    return 1\n")]
    mbpp = write_jsonl(tmp_path / "mbpp.jsonl", [{"text": "Write f.", "code": "def f(): pass", "task_id": 7, "test_list": []}])
    assert load_benchmark(mbpp).items[0] == BenchItem("7", "Write f.\ndef f(): pass")
    arc = write_jsonl(tmp_path / "arc.jsonl", [{"id": "q1", "question": {"stem": "Why?", "choices": [{"text": "A1", "label": "A"}, {"text": "B1", "label": "B"}]}, "answerKey": "A"}])
    assert load_benchmark(arc).items[0].text == "Why?\nA1\nB1"
    # JSON: a list, and an object holding the list (BIG-Bench Hard)
    (tmp_path / "l.json").write_text(json.dumps([{"question": "q?"}]))
    assert load_benchmark(tmp_path / "l.json").items[0].text == "q?"
    (tmp_path / "bbh.json").write_text(json.dumps({"canary": "x", "examples": [{"input": "in1", "target": "t"}]}))
    assert load_benchmark(tmp_path / "bbh.json").items[0] == BenchItem("0", "in1")
    # MMLU csv without header; a tsv with a header
    (tmp_path / "m.csv").write_text('"What is 1+1?",1,2,3,4,B\n"Q2",a,b,c,d,A\n')
    m = load_benchmark(tmp_path / "m.csv")
    assert m.items[0].text == "What is 1+1?\n1\n2\n3\n4" and len(m.items) == 2
    (tmp_path / "o.tsv").write_text("ID\tComplete Question\tAnswer Key\n1-1\tSky is (A) blue\tA\n")
    assert load_benchmark(tmp_path / "o.tsv").items[0] == BenchItem("1-1", "Sky is (A) blue")
    # explicit fields, joiner and dotted paths
    assert load_benchmark(arc, ["question.stem", "answerKey"], joiner=" | ").items[0].text == "Why? | A"
    # a gzip file, and a folder of files
    import gzip

    with gzip.open(tmp_path / "g.jsonl.gz", "wt") as f:
        f.write(json.dumps({"question": "gz?"}) + "\n")
    assert load_benchmark(tmp_path / "g.jsonl.gz").items[0].text == "gz?"
    write_jsonl(tmp_path / "dir" / "a.jsonl", [{"question": "a1"}])
    write_jsonl(tmp_path / "dir" / "b.jsonl", [{"question": "b1"}])
    d = load_benchmark(tmp_path / "dir")
    assert [i.text for i in d.items] == ["a1", "b1"] and d.items[1].id == "b.jsonl:1"


def test_loaders_parquet_and_datasets_folder(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    table = pa.table({"question": ["p1", "p2"], "idx": [10, 11]})
    pq.write_table(table, tmp_path / "b.parquet")
    assert load_benchmark(tmp_path / "b.parquet").items == [BenchItem("10", "p1"), BenchItem("11", "p2")]
    # a datasets.save_to_disk folder: arrow IPC stream files + state.json
    ds = tmp_path / "ds"
    ds.mkdir()
    with pa.OSFile(str(ds / "data-00000-of-00001.arrow"), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    (ds / "state.json").write_text(json.dumps({"_data_files": [{"filename": "data-00000-of-00001.arrow"}]}))
    (ds / "dataset_info.json").write_text("{}")
    b = load_benchmark(ds)
    assert b.name.endswith("/ds") and [i.text for i in b.items] == ["p1", "p2"]
    # a DatasetDict folder: its splits in order
    dd = tmp_path / "dd"
    dd.mkdir()
    ds.rename(dd / "test")
    (dd / "dataset_dict.json").write_text(json.dumps({"splits": ["test"]}))
    assert [i.text for i in load_benchmark(dd).items] == ["p1", "p2"]


def test_loader_errors(tmp_path, caplog):
    with pytest.raises(BenchmarkError, match="does not exist"):
        load_benchmark(tmp_path / "nope.jsonl")
    p = write_jsonl(tmp_path / "a.jsonl", [{"question": "q"}, {"other": "x"}])
    with pytest.raises(BenchmarkError, match=r"a.jsonl:2: no field 'question'"):
        load_benchmark(p, ["question"])
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "ok"}\n{not json\n')
    with pytest.raises(BenchmarkError, match=r"bad.jsonl:2: not valid JSON"):
        load_benchmark(bad)
    (tmp_path / "x.xml").write_text("<a/>")
    with pytest.raises(BenchmarkError, match="unknown benchmark format"):
        load_benchmark(tmp_path / "x.xml")
    (tmp_path / "bin.jsonl").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(BenchmarkError, match="UTF-8"):
        load_benchmark(tmp_path / "bin.jsonl")
    g = write_jsonl(tmp_path / "g.jsonl", [{"foo": 1}])
    with pytest.raises(BenchmarkError, match="cannot tell which fields"):
        load_benchmark(g)
    # empty items are skipped and counted (a warning is logged); all empty is an error
    e = write_jsonl(tmp_path / "e.jsonl", [{"question": "q1"}, {"question": "  "}, {"question": None}])
    b = load_benchmark(e)
    assert len(b.items) == 1 and b.skipped == 2
    assert "2 empty item(s) skipped" in caplog.text
    e2 = write_jsonl(tmp_path / "e2.jsonl", [{"question": ""}])
    with pytest.raises(BenchmarkError, match="every item is empty"):
        load_benchmark(e2)
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(BenchmarkError, match="no records"):
        load_benchmark(tmp_path / "empty.jsonl")


def test_report_html_and_png(tmp_path):
    from anygram.analyses import contamination_report as rep

    idx = build_from_texts(tmp_path, ["<script>alert(1)</script> a shared sentence of some length"])
    report = contamination({"c": idx}, {"b": [("i1", "<script>alert(1)</script> a shared"), ("i2", "nothing at all here")]}, window=10)
    page = rep.html_report(report, {("b", "i1"): "<script>alert(1)</script> a shared"})
    assert "<script>alert" not in page and "&lt;script&gt;" in page  # escaped
    assert not re.search(r"""(src|href)=['"]?https?:""", page)  # no external asset
    pytest.importorskip("matplotlib")
    assert "data:image/png;base64," in page
    png = tmp_path / "h.png"
    rep.write_heatmap(report, png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    idx.close()


# ------------------------------------------------------------------ shared benchmark data


@pytest.mark.skipif(not (BENCHDATA / "gsm8k" / "test.jsonl").exists(), reason="../shared/benchdata is not available")
def test_shared_benchdata(tmp_path):
    """Known layouts load with their default fields; items planted in a corpus come out dirty."""
    gsm = load_benchmark(BENCHDATA / "gsm8k" / "test.jsonl")
    assert gsm.fields == ("question",) and len(gsm.items) == 1319
    he = load_benchmark(BENCHDATA / "humaneval" / "HumanEval.jsonl.gz")
    assert he.fields == ("prompt", "canonical_solution") and len(he.items) == 164 and he.items[0].id == "HumanEval/0"
    mb = load_benchmark(BENCHDATA / "mbpp" / "mbpp.jsonl")
    assert mb.fields == ("text", "code") and len(mb.items) == 974
    mm = load_benchmark(BENCHDATA / "mmlu" / "test" / "anatomy_test.csv")
    assert mm.fields == ("question", "A", "B", "C", "D")
    arc = load_benchmark(BENCHDATA / "arc" / "ARC-Challenge-Test.jsonl")
    assert arc.fields == ("question.stem", "question.choices.text")
    bbh = load_benchmark(BENCHDATA / "bbh" / "navigate.json")
    assert bbh.fields == ("input",)
    planted = [gsm.items[i].text for i in (0, 5, 9)]
    corpus = [f"web page {i}: {t} -- end" for i, t in enumerate(planted)] + ["unrelated text " * 20]
    idx = build_from_texts(tmp_path, corpus)
    r = score_items(idx, gsm.items[:12], window=50, docs=1, threads=2)
    dirty = [it.id for it in r.item_results if it.windows.label == "dirty"]
    assert dirty == [gsm.items[i].id for i in (0, 5, 9)]
    assert r.windows.counts["dirty"] == 3
    for i in (0, 5, 9):
        it = r.item_results[i]
        assert it.ngrams.label == "dirty" and it.longest.text == gsm.items[i].text and it.docs
    idx.close()


def test_tokenizer_index_counts_index_tokens(tmp_path):
    """On an index built with a tokenizer, windows, n-grams and spans count the index's tokens."""
    pytest.importorskip("tokenizers")
    from anygram.tokenizers import HFTokenizer
    from test_tokenizers import bpe_tokenizer

    tok_path = bpe_tokenizer(tmp_path / "tokenizer.json")
    texts = ["the cat sat on the mat and the dog sat on the log", "a cat and a dog met the cat near the mat"]
    idx = build_from_texts(tmp_path, texts, tokenizer=str(tok_path))
    tok = HFTokenizer(tok_path)
    docs = [tuple(tok.encode(t).tolist()) for t in texts]
    items = ["the dog sat on the log today", "a cat and a dog met", "nothing like it xyz", ""]
    r = score_items(idx, items, window=3, ngram=2, docs=1, docs_min_len=1)
    for res, text in zip(r.item_results, items):
        ids = tuple(tok.encode(text).tolist())
        assert res.unit == "tokens" and res.tokens == res.length == len(ids)
        win = nc.windows(ids, docs, 3)
        assert (res.windows.total, res.windows.found) == (len(win), sum(win))
        ng = nc.windows(ids, docs, 2)
        assert (res.ngrams.total, res.ngrams.found) == (len(ng), sum(ng))
        c, L, cnt = nc.longest(ids, docs)
        assert (res.longest.tokens, res.longest.count) == (L, cnt)
        if L:
            assert res.longest.text == tok.decode(list(ids[c : c + L]))
            assert res.docs and res.longest.text in res.docs[0].context
    idx.close()
