"""Exact-substring dedup against the brute-force reference in naive_dedup.py."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import anygram
from anygram.analyses import dedup as dd
from anygram.analyses.dedup import dedup
from anygram.errors import DedupError
from anygram.readers import iter_documents
from helpers import write_jsonl
from naive_dedup import dedup_ids, dedup_texts
from strategies import corpora


def _read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def _expected_records(spec, k: int, mode: str, min_length: int, field: str) -> list[dict]:
    if spec.texts is not None:
        new = dedup_texts(spec.texts, k, mode, min_length)
    else:
        new = dedup_ids(spec.docs, k, mode, min_length)
    return [{field: t, "n": i} for i, t in enumerate(new) if t is not None]


def _build(tmp: Path, spec) -> tuple[Path, Path, str]:
    """The corpus as JSONL (empty documents included) and its index."""
    if spec.texts is not None:
        src = write_jsonl(tmp / "src" / "docs.jsonl", [{"text": t, "n": i} for i, t in enumerate(spec.texts)])
        anygram.build(src, tmp / "idx", shard_tokens=spec.shard_tokens, workers=1)
        return src, tmp / "idx", "text"
    src = write_jsonl(tmp / "src" / "docs.jsonl", [{"ids": d, "n": i} for i, d in enumerate(spec.docs)])
    anygram.build(src, tmp / "idx", ids_field="ids", token_width=spec.width, shard_tokens=spec.shard_tokens, workers=1)
    return src, tmp / "idx", "ids"


@pytest.fixture
def small_chunks(monkeypatch):
    """Many merge chunks even on tiny corpora, so that chunk boundaries are exercised."""
    monkeypatch.setattr(dd, "CHUNK_TOKENS", 3)


@settings(max_examples=20)
@given(spec=corpora(), k=st.integers(1, 6), mode=st.sampled_from(["first", "all"]), min_length=st.integers(0, 4), chunk=st.sampled_from([2, 7, 1 << 22]))
def test_dedup_matches_brute_force(tmp_path_factory, spec, k, mode, min_length, chunk):
    tmp = tmp_path_factory.mktemp("dd")
    src, idx, field = _build(tmp, spec)
    old = dd.CHUNK_TOKENS
    dd.CHUNK_TOKENS = chunk
    try:
        r = dedup(tmp / "out", index=idx, corpus=[src], k=k, mode=mode, min_length=min_length, plot=False, workers=2)
    finally:
        dd.CHUNK_TOKENS = old
    want = _expected_records(spec, k, mode, min_length, field)
    # empty documents are not indexed: copied as they are
    docs = spec.texts if spec.texts is not None else spec.docs
    empties = {i for i, d in enumerate(docs) if len(d) == 0}
    want = [w for w in want if w["n"] not in empties] + [{field: docs[i], "n": i} for i in empties]
    got = _read_jsonl(tmp / "out" / "corpus" / "docs.jsonl")
    assert sorted(got, key=lambda x: x["n"]) == sorted(want, key=lambda x: x["n"])
    assert r.docs_not_indexed == len(empties)
    assert r.docs_out + r.docs_dropped == r.docs_in == len(docs) - len(empties)
    assert not (tmp / "out" / ".work").exists()


@settings(max_examples=8)
@given(spec=corpora(text=True), k=st.integers(1, 5), mode=st.sampled_from(["first", "all"]))
def test_dedup_from_index_only(tmp_path_factory, spec, k, mode):
    """Without the corpus, documents and metadata are rebuilt from the index (empty ones are not in it)."""
    tmp = tmp_path_factory.mktemp("ddi")
    _, idx, field = _build(tmp, spec)
    dedup(tmp / "out", index=idx, k=k, mode=mode, min_length=0, plot=False, workers=1)
    want = [w for w in _expected_records(spec, k, mode, 0, field) if spec.texts[w["n"]]]
    assert _read_jsonl(tmp / "out" / "corpus" / "docs.jsonl") == want


def test_cross_shard_duplicates(tmp_path, small_chunks):
    dup = "the same long sentence, repeated in another shard"
    texts = [f"a {dup} b", "filler " * 20, f"c {dup} d", "xyz", f"{dup}"]
    src = write_jsonl(tmp_path / "c.jsonl", [{"text": t, "id": i} for i, t in enumerate(texts)])
    anygram.build(src, tmp_path / "idx", shard_tokens=70, workers=1)
    assert anygram.open(tmp_path / "idx").num_shards >= 3
    r = dedup(tmp_path / "out", index=tmp_path / "idx", corpus=[src], k=20, plot=False)
    got = _read_jsonl(tmp_path / "out" / "corpus" / "c.jsonl")
    assert got == [{"text": t, "id": i} for i, t in enumerate(dedup_texts(texts, 20, "first", 1)) if t is not None]
    assert got[0]["text"] == texts[0] and got[2]["text"] == "cd" and [g["id"] for g in got] == [0, 1, 2, 3]
    assert r.docs_dropped == 1 and r.duplicated_kgrams > 0
    assert r.top[0].count == 18 and any(t.count == 3 and dup in t.span_text for t in r.top)
    r = dedup(tmp_path / "out2", index=tmp_path / "idx", corpus=[src], k=20, mode="all", plot=False)
    got = _read_jsonl(tmp_path / "out2" / "corpus" / "c.jsonl")
    assert [g["text"] for g in got] == [t for t in dedup_texts(texts, 20, "all", 1) if t is not None]
    assert got[0]["text"] == "ab"


def test_unicode_cuts_are_narrowed(tmp_path):
    # the duplicated bytes start inside "©" (shares its last byte with "é") and end inside "😁"
    # (shares its first three bytes with "😀"): only whole characters are removed
    texts = ["xé abcdefgh😀y", "z© abcdefgh😁w"]
    src = write_jsonl(tmp_path / "c.jsonl", [{"text": t} for t in texts])
    r = dedup(tmp_path / "out", corpus=[src], k=5, plot=False, workers=1)
    got = [g["text"] for g in _read_jsonl(tmp_path / "out" / "corpus" / "c.jsonl")]
    assert got == [texts[0], "z©😁w"] == dedup_texts(texts, 5, "first", 1)
    assert r.bytes_removed == 9 and r.tokens_removed == 13 and r.spans_removed == 1


def test_resume_after_interruption(tmp_path, monkeypatch):
    monkeypatch.setattr(dd, "CHUNK_TOKENS", 5)
    monkeypatch.setattr(dd, "SAVE_EVERY", 0.0)
    texts = [("spam and eggs " * (i % 4 + 1)) + f"doc {i} " + "tail text here" * (i % 2) for i in range(30)]
    files = []
    for j in range(3):
        files.append(write_jsonl(tmp_path / "in" / f"part{j}.jsonl", [{"text": t, "j": j} for t in texts[j * 10 : (j + 1) * 10]]))
    anygram.build(tmp_path / "in", tmp_path / "idx", shard_tokens=200, workers=1)
    ref = dedup(tmp_path / "ref", index=tmp_path / "idx", corpus=[tmp_path / "in"], k=8, plot=False, workers=1)

    # interrupt the merge after a few chunks ...
    real_merge = dd.K_.merge_range
    calls = {"n": 0}

    def flaky(*a):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return real_merge(*a)

    monkeypatch.setattr(dd.K_, "merge_range", flaky)
    with pytest.raises(KeyboardInterrupt):
        dedup(tmp_path / "out", index=tmp_path / "idx", corpus=[tmp_path / "in"], k=8, plot=False, workers=1)
    state = json.loads((tmp_path / "out" / ".work" / "state.json").read_text())
    assert len(state["chunks_done"]) == 3
    monkeypatch.setattr(dd.K_, "merge_range", real_merge)

    # ... then the output, after the first file
    real_commit = dd.FileWriter.commit
    commits = {"n": 0}

    def flaky_commit(self):
        commits["n"] += 1
        if commits["n"] == 2:
            raise OSError("disk full")
        real_commit(self)

    monkeypatch.setattr(dd.FileWriter, "commit", flaky_commit)
    with pytest.raises(OSError):
        dedup(tmp_path / "out", index=tmp_path / "idx", corpus=[tmp_path / "in"], k=8, plot=False, workers=1)
    monkeypatch.setattr(dd.FileWriter, "commit", real_commit)
    r = dedup(tmp_path / "out", index=tmp_path / "idx", corpus=[tmp_path / "in"], k=8, plot=False, workers=1)
    assert r.resumed
    for j in range(3):
        assert (tmp_path / "out" / "corpus" / f"part{j}.jsonl").read_bytes() == (tmp_path / "ref" / "corpus" / f"part{j}.jsonl").read_bytes()
    a, b = r.to_dict(), ref.to_dict()
    for key in ("seconds", "resumed", "output", "report_path", "peak_rss_bytes"):
        a.pop(key), b.pop(key)
    assert a == b
    assert ref.docs_touched > 0


def test_resume_after_interrupted_build(tmp_path, monkeypatch):
    from anygram.builder import pipeline

    src = write_jsonl(tmp_path / "c.jsonl", [{"text": "abcdefgh"}, {"text": "xxabcdefgh"}])
    real = pipeline._tokenize_all

    def boom(ctx):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "_tokenize_all", boom)
    with pytest.raises(KeyboardInterrupt):
        dedup(tmp_path / "out", corpus=[src], k=5, plot=False, workers=1)
    assert (tmp_path / "out" / ".work" / "index.partial").is_dir()
    monkeypatch.setattr(pipeline, "_tokenize_all", real)
    r = dedup(tmp_path / "out", corpus=[src], k=5, plot=False, workers=1, keep_index=True)
    assert _read_jsonl(tmp_path / "out" / "corpus" / "c.jsonl") == [{"text": "abcdefgh"}, {"text": "xx"}]
    assert r.bytes_removed == 8 and (tmp_path / "out" / "index" / "manifest.json").is_file()
    assert r.index == str(tmp_path / "out" / "index") and anygram.open(r.index).total_docs == 2


def test_formats_round_trip(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    zstd = pytest.importorskip("zstandard")
    dup = "a duplicated paragraph of text ✓ that appears in every format"
    texts = [f"one {dup} end", f"two {dup}", "three", f"{dup} four"]
    inp = tmp_path / "in"
    inp.mkdir()
    recs = [{"text": t, "meta": {"i": i}, "tag": f"t{i}"} for i, t in enumerate(texts)]
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs).encode()
    (inp / "a.jsonl.gz").write_bytes(gzip.compress(lines))
    (inp / "b.jsonl.zst").write_bytes(zstd.ZstdCompressor().compress(lines))
    (inp / "c.json").write_text(json.dumps(recs, ensure_ascii=False))
    pq.write_table(pa.Table.from_pylist(recs), inp / "d.parquet")
    (inp / "docs").mkdir()
    for i, t in enumerate(texts):
        (inp / "docs" / f"f{i}.txt").write_text(t)
    r = dedup(tmp_path / "out", corpus=[inp], k=12, plot=False, workers=1)
    out = tmp_path / "out" / "corpus"
    all_texts = [d.text for d in iter_documents([inp])]
    want = dedup_texts(all_texts, 12, "first", 1)
    kept_txt = [f"docs/f{i}.txt" for i in range(4) if want[16 + i] is not None]
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "a.jsonl.gz", "b.jsonl.zst", "c.json", "d.parquet", *kept_txt]
    # expected: the corpus is the concatenation of every file's documents, in reading order
    got = [d.text for d in iter_documents([out])]
    assert got == [t for t in want if t is not None]
    want_meta = [(d.path, d.metadata) for d, t in zip(iter_documents([inp]), want) if t is not None]
    assert [(d.path, d.metadata) for d in iter_documents([out])] == want_meta
    assert ("d.parquet", {"meta": {"i": 2}, "tag": "t2"}) in want_meta
    assert pq.read_schema(out / "d.parquet").equals(pq.read_schema(inp / "d.parquet"))
    # c.json was a JSON array: it stays one, with the text field first
    assert json.loads((out / "c.json").read_text()) == [{"text": want[8 + i], "meta": {"i": i}, "tag": f"t{i}"} for i in range(4) if want[8 + i] is not None]
    assert r.docs_dropped == sum(t is None for t in want) and r.docs_touched >= 4


def test_errors(tmp_path):
    src = write_jsonl(tmp_path / "c.jsonl", [{"text": "abc"}])
    with pytest.raises(DedupError, match="k must be"):
        dedup(tmp_path / "o", corpus=[src], k=0)
    with pytest.raises(DedupError, match="mode"):
        dedup(tmp_path / "o", corpus=[src], mode="some")
    with pytest.raises(DedupError, match="no index"):
        dedup(tmp_path / "o", index=tmp_path / "nothing")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(DedupError, match="not empty"):
        dedup(tmp_path / "full", corpus=[src])
    other = write_jsonl(tmp_path / "d.jsonl", [{"text": "abd"}])
    anygram.build(src, tmp_path / "idx", workers=1)
    with pytest.raises(DedupError, match="built from these files"):
        dedup(tmp_path / "o2", index=tmp_path / "idx", corpus=[other], plot=False)


def test_cli_exact_output(tmp_path, capsys):
    from anygram.cli.main import main

    src = write_jsonl(tmp_path / "c.jsonl", [{"text": "abcdefgh"}, {"text": "xxabcdefgh", "k": 1}, {"text": "zz"}])
    out = tmp_path / "out"
    assert main(["dedup", str(src), "-o", str(out), "-k", "5", "--no-plot", "-q"]) == 0
    assert capsys.readouterr().out == (
        f"dedup (k=5, mode=first, min_length=1) -> {out}/corpus\n"
        "documents   3 in, 3 out, 1 touched, 0 dropped, 0 not indexed (copied)\n"
        "bytes       20 in, 12 out, 8 removed (40.00%)\n"
        "spans       1 removed (8 tokens); 4 duplicated 5-grams, 8 occurrences\n"
        "top duplicated strings (count, first document, span length, text):\n"
        '         2  doc 0             8  "abcde"\n'
        f"report      {out}/report.json\n"
    )
    assert (out / "corpus" / "c.jsonl").read_text() == '{"text": "abcdefgh"}\n{"text": "xx", "k": 1}\n{"text": "zz"}\n'
    # from the index alone, --mode all, --json: exactly the report's dict
    anygram.build(src, tmp_path / "idx", workers=1)
    assert main(["dedup", str(tmp_path / "idx"), "-o", str(tmp_path / "o2"), "-k", "5", "--mode", "all", "--no-plot", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data == json.loads((tmp_path / "o2" / "report.json").read_text())
    assert (data["docs_out"], data["docs_dropped"], data["bytes_removed"]) == (2, 1, 16)
    assert (tmp_path / "o2" / "corpus" / "c.jsonl").read_text() == '{"text": "xx", "k": 1}\n{"text": "zz"}\n'
    # errors: one line, the DedupError exit code
    assert main(["dedup", str(tmp_path / "idx"), "-o", str(tmp_path / "o2"), "-k", "0"]) == 9
    assert capsys.readouterr().err.startswith("anygram: error: ")
