"""Corpus readers: folders, JSONL(.gz/.zst), .json, parquet, pre-tokenized ids, bad records."""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import pytest

from anygram.errors import CorpusError, MissingExtraError
from anygram.readers import SkipReport, iter_documents
from anygram.readers.dispatch import estimate_bytes, list_inputs


def docs_of(*paths, **kw):
    report = kw.pop("report", None) or SkipReport()
    return list(iter_documents(paths, report=report, **kw)), report


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return path


def jsonl(records) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


# ------------------------------------------------------------------------ folders
def test_directory_recursive_sorted_with_relative_paths(tmp_path):
    root = tmp_path / "corpus"
    write(root / "b.txt", "bee")
    write(root / "a.md", "ay")
    write(root / "sub" / "deep" / "c.py", "print(1)")
    write(root / ".hidden.txt", "no")
    write(root / ".git" / "x.txt", "no")
    write(root / "image.png", b"\x89PNG")
    write(root / "noext", "no")
    docs, report = docs_of(root)
    assert [d.path for d in docs] == ["a.md", "b.txt", "sub/deep/c.py"]
    assert [d.text for d in docs] == ["ay", "bee", "print(1)"]
    assert docs[2].meta_record() == {"path": "sub/deep/c.py", "linenum": 0, "metadata": {}}
    assert report.total == 0


def test_directory_include_exclude_globs(tmp_path):
    root = tmp_path / "c"
    write(root / "keep.txt", "k")
    write(root / "drop.log", "d")
    write(root / "noext", "n")
    write(root / "vendor" / "lib.txt", "v")
    write(root / "src" / "x.txt", "x")
    docs, _ = docs_of(root, include=("*.txt", "noext"), exclude=("vendor",))
    assert [d.path for d in docs] == ["keep.txt", "noext", "src/x.txt"]
    docs, _ = docs_of(root, exclude=("src/*", "keep.*"))
    assert [d.path for d in docs] == ["vendor/lib.txt"]
    with pytest.raises(CorpusError, match="no input files"):
        docs_of(root, include=("*.nothing",))


def test_list_inputs_errors_and_dedup(tmp_path):
    with pytest.raises(CorpusError, match="not found"):
        list_inputs([tmp_path / "missing"])
    f = write(tmp_path / "d" / "a.txt", "a")
    files = list_inputs([tmp_path / "d", f, f])
    assert [p.name for p, _ in files] == ["a.txt"]
    # the folder being built into is never read
    write(tmp_path / "d" / "out" / "manifest.json", '{"text": "x"}')
    assert len(list_inputs([tmp_path / "d"], skip_dirs=[tmp_path / "d" / "out"])) == 1


def test_text_file_invalid_utf8_reports_line(tmp_path):
    write(tmp_path / "ok.txt", "fine")
    write(tmp_path / "bad.txt", b"line one\nline two \xff\xfe\n")
    write(tmp_path / "empty.txt", "")
    docs, report = docs_of(tmp_path)
    assert [d.path for d in docs] == ["ok.txt"]
    assert report.counts == {"invalid UTF-8": 1, "empty document": 1}
    assert any(e.startswith("bad.txt:2: invalid UTF-8") for e in report.examples)
    with pytest.raises(CorpusError, match="bad.txt:2"):
        docs_of(tmp_path, report=SkipReport(on_error="fail"))


def test_text_file_too_large_is_skipped_unread(tmp_path):
    write(tmp_path / "big.txt", "x" * 5000)
    write(tmp_path / "small.txt", "y" * 10)
    docs, report = docs_of(tmp_path, max_record_bytes=1000)
    assert [d.path for d in docs] == ["small.txt"]
    assert report.counts == {"document too large": 1}


# ------------------------------------------------------------------------ JSON Lines
def test_jsonl_fields_and_metadata(tmp_path):
    f = write(tmp_path / "d.jsonl", jsonl([{"content": "hello", "id": 1, "src": "a"}, {"content": "bye", "id": 2}]))
    docs, report = docs_of(f, text_field="content")
    assert [(d.text, d.metadata, d.linenum, d.path) for d in docs] == [
        ("hello", {"id": 1, "src": "a"}, 0, "d.jsonl"),
        ("bye", {"id": 2}, 1, "d.jsonl"),
    ]
    assert report.total == 0


def test_jsonl_bad_records_counted_with_file_line(tmp_path):
    lines = [
        json.dumps({"text": "good one"}).encode(),
        b"{not json",
        b"",
        json.dumps({"text": ""}).encode(),
        json.dumps({"other": "x"}).encode(),
        json.dumps({"text": 5}).encode(),
        b"[1, 2]",
        b'{"text": "bad \xff utf8"}',
        json.dumps({"text": "good two"}).encode(),
    ]
    f = write(tmp_path / "d.jsonl", b"\n".join(lines) + b"\n")
    docs, report = docs_of(f)
    assert [d.text for d in docs] == ["good one", "good two"]
    assert [d.linenum for d in docs] == [0, 8]
    assert report.counts == {
        "malformed JSON": 1,
        "blank line": 1,
        "empty document": 1,
        "missing or non-string field 'text'": 2,
        "record is not a JSON object": 1,
        "invalid UTF-8": 1,
    }
    assert [e.split(":")[1] for e in report.examples] == ["2", "3", "4", "5", "6", "7", "8"]
    with pytest.raises(CorpusError, match=r"d\.jsonl:2: malformed JSON"):
        docs_of(f, report=SkipReport(on_error="fail"))


def test_jsonl_gzip_and_zstd(tmp_path):
    zstd = pytest.importorskip("zstandard")
    recs = [{"text": f"doc {i}", "i": i} for i in range(1000)]
    raw = jsonl(recs).encode()
    write(tmp_path / "a.jsonl.gz", gzip.compress(raw))
    write(tmp_path / "b.jsonl.zst", zstd.ZstdCompressor().compress(raw))
    docs, report = docs_of(tmp_path)
    assert len(docs) == 2000 and report.total == 0
    assert [d.text for d in docs[:1000]] == [d.text for d in docs[1000:]] == [r["text"] for r in recs]
    assert {d.path for d in docs} == {"a.jsonl.gz", "b.jsonl.zst"}
    assert estimate_bytes([tmp_path]) == 4 * sum(p.stat().st_size for p in tmp_path.iterdir())


def test_truncated_compressed_file_keeps_lines_before(tmp_path):
    zstd = pytest.importorskip("zstandard")
    raw = jsonl({"text": f"document number {i} " * 20} for i in range(2000)).encode()
    gz = gzip.compress(raw)
    zs = zstd.ZstdCompressor().compress(raw)
    write(tmp_path / "a.jsonl.gz", gz[: len(gz) // 2])
    write(tmp_path / "b.jsonl.zst", zs[: len(zs) // 2])
    write(tmp_path / "c.jsonl.gz", b"not gzip at all")
    docs, report = docs_of(tmp_path)
    assert report.counts == {"corrupt or truncated file": 3}
    by_file = {p: sum(d.path == p for d in docs) for p in ("a.jsonl.gz", "b.jsonl.zst")}
    assert all(0 < n < 2000 for n in by_file.values())
    assert any(e.startswith("c.jsonl.gz:1:") for e in report.examples)
    with pytest.raises(CorpusError, match="corrupt or truncated"):
        docs_of(tmp_path / "a.jsonl.gz", report=SkipReport(on_error="fail"))


def test_huge_line_is_skipped_and_next_line_read(tmp_path):
    f = write(tmp_path / "d.jsonl", jsonl([{"text": "a"}, {"text": "x" * 200_000}, {"text": "b"}]))
    docs, report = docs_of(f, max_record_bytes=10_000)
    # the limit for a JSON line is 2 * max_record_bytes + 1 MiB: raise it to see the skip
    assert [d.text for d in docs] == ["a", "x" * 200_000, "b"]
    from anygram.readers import dispatch

    with open(f, "rb") as fh:
        lines = list(dispatch._lines(fh, "d.jsonl", report, 1000))
    assert [ln for ln, _ in lines] == [1, 2, 3] and lines[1][1] is None and lines[2][1] == b'{"text": "b"}\n'


def test_ids_field_jsonl(tmp_path):
    f = write(tmp_path / "d.jsonl", jsonl([{"ids": [1, 2, 3], "text": "ignored", "m": 1}, {"ids": [1, "x"]}, {"ids": []}, {"ids": [7]}]))
    docs, report = docs_of(f, ids_field="ids")
    assert [(d.ids, d.text, d.metadata) for d in docs] == [([1, 2, 3], "", {"m": 1}), ([7], "", {})]
    assert report.counts == {"missing or non-integer-list field 'ids'": 1, "empty document": 1}
    with pytest.raises(CorpusError, match="pre-tokenized"):
        docs_of(write(tmp_path / "t.txt", "x"), ids_field="ids")


# ------------------------------------------------------------------------ .json files
def test_json_array_of_records_is_streamed(tmp_path, monkeypatch):
    from anygram.readers import dispatch

    monkeypatch.setattr(dispatch, "_CHUNK", 7)  # force records to straddle read chunks
    recs = [{"text": f"record {i} \u00e9\n", "i": i} for i in range(50)]
    f = write(tmp_path / "data.json", json.dumps(recs, indent=2))
    docs, report = docs_of(f)
    assert [(d.text, d.metadata) for d in docs] == [(r["text"], {"i": r["i"]}) for r in recs]
    assert [d.linenum for d in docs] == list(range(50))
    assert docs[1].line == 6  # "[", then 4 lines per pretty-printed record
    assert report.total == 0


def test_json_lines_named_json_and_pretty_stream(tmp_path):
    a = write(tmp_path / "lines.json", jsonl([{"text": "one"}, {"text": "two"}]))
    b = write(tmp_path / "pretty.json", json.dumps({"text": "p1"}, indent=2) + "\n" + json.dumps({"text": "p2"}, indent=2))
    docs, report = docs_of(a, b)
    assert [d.text for d in docs] == ["one", "two", "p1", "p2"]
    assert report.total == 0


def test_non_record_json_is_plain_text(tmp_path):
    pkg = '{"name": "x", "version": "1.0"}\n'
    write(tmp_path / "package.json", pkg)
    write(tmp_path / "list.json", "[1, 2, 3]")
    write(tmp_path / "broken.json", "{ this is not json")
    docs, report = docs_of(tmp_path)
    assert [(d.path, d.text) for d in docs] == [("broken.json", "{ this is not json"), ("list.json", "[1, 2, 3]"), ("package.json", pkg)]
    assert report.total == 0


def test_json_array_malformed_element_reported(tmp_path):
    f = write(tmp_path / "d.json", '[{"text": "a"},\n {"text": "b"},\n {"text": oops}]')
    docs, report = docs_of(f)
    assert [d.text for d in docs] == ["a", "b"]
    assert report.counts == {"malformed JSON": 1}
    assert report.examples[0].startswith("d.json:3:")
    f2 = write(tmp_path / "e.json.gz", gzip.compress(b'[{"text": "a"}, {"text": "b"}'))
    docs, report = docs_of(f2)
    assert [d.text for d in docs] == ["a", "b"] and report.counts == {"malformed JSON": 1}


# ------------------------------------------------------------------------ parquet
def test_parquet_text_metadata_and_nulls(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table({"text": ["alpha", None, "gamma", ""], "n": [1, 2, 3, 4], "tags": [["x"], [], None, ["y"]]})
    f = tmp_path / "d.parquet"
    pq.write_table(table, f, row_group_size=2)
    docs, report = docs_of(f)
    assert [(d.text, d.metadata, d.linenum) for d in docs] == [
        ("alpha", {"n": 1, "tags": ["x"]}, 0),
        ("gamma", {"n": 3, "tags": None}, 2),
    ]
    assert report.counts == {"null or non-string 'text'": 1, "empty document": 1}
    assert sorted(e.split(":")[1] for e in report.examples) == ["2", "4"]
    docs, report = docs_of(f, text_field="body")
    assert docs == [] and list(report.counts) == ["no column 'body'"]


def test_parquet_ids_field(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    f = tmp_path / "d.parquet"
    pq.write_table(pa.table({"ids": [[1, 2], None, [70000]], "src": ["a", "b", "c"]}), f)
    docs, report = docs_of(f, ids_field="ids")
    assert [(d.ids, d.metadata) for d in docs] == [([1, 2], {"src": "a"}), ([70000], {"src": "c"})]
    assert report.total == 1


def test_missing_extras_name_the_extra(tmp_path, monkeypatch):
    write(tmp_path / "a.jsonl.zst", b"\x28\xb5\x2f\xfd")
    write(tmp_path / "b.parquet", b"PAR1")
    monkeypatch.setitem(sys.modules, "zstandard", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(MissingExtraError, match=r"anygram\[zstd\]") as e:
        docs_of(tmp_path / "a.jsonl.zst")
    assert e.value.extra == "zstd"
    with pytest.raises(MissingExtraError, match=r"anygram\[parquet\]"):
        docs_of(tmp_path / "b.parquet")


# ------------------------------------------------------------------------ SkipReport
def test_skip_report_settle_checkpoint_and_mute():
    r = SkipReport(max_examples=3)
    for i in range(5):
        r.position = i
        r.skip("bad", f"f:{i}")
    r.skip("worse", "f:9", position=1)
    assert r.counts == {"bad": 5, "worse": 1} and r.total == 6 and len(r.examples) == 3
    r.settle(2)  # positions 0 and 1
    assert r.checkpoint()["counts"] == {"bad": 2, "worse": 1}
    r2 = SkipReport()
    r2.restore(r.checkpoint())
    r2.muted = True
    r2.skip("bad", "f:0")
    assert r2.counts == {"bad": 2, "worse": 1}
    with pytest.raises(CorpusError):
        SkipReport(on_error="ignore")
    strict = SkipReport(on_error="fail")
    strict.muted = True
    strict.skip("bad", "f:1")  # replayed records never raise
