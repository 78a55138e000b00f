"""Opening infini-gram layouts (v4 flat files, v6 per-shard directories) without infini-gram installed.

The layouts are made by renaming the files of an anygram build (the shard files are the same
bytes); the differential tests against infini-gram's own indexer are in test_infinigram_diff.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import anygram
from anygram.errors import CorruptIndexError, IndexFormatError
from anygram.format.foreign import infer_token_width
from helpers import build_from_ids, build_from_texts

ROLES = ("tokenized", "table", "offset", "metadata", "metaoff")


def _as_v4(src: Path, dst: Path) -> Path:
    dst.mkdir(parents=True)
    for f in src.iterdir():
        if f.name.split(".")[0] in ROLES:
            shutil.copy(f, dst / f.name)
    return dst


def _as_v6(src: Path, dst: Path) -> list[Path]:
    """One v6 directory per shard of ``src``: ``dst/<n>/{tokenized,table,...}``."""
    out = []
    for f in sorted(src.glob("tokenized.*"), key=lambda f: int(f.name.split(".")[1])):
        n = f.name.split(".")[1]
        d = dst / n
        d.mkdir(parents=True)
        for r in ROLES:
            if (src / f"{r}.{n}").is_file():
                shutil.copy(src / f"{r}.{n}", d / r)
        out.append(d)
    return out


def _same_answers(a: anygram.Index, b: anygram.Index, queries: list) -> None:
    assert (a.total_tokens, a.total_docs, a.num_shards) == (b.total_tokens, b.total_docs, b.num_shards)
    for q in queries:
        assert a.find(q) == b.find(q)
        assert a.ntd(q) == b.ntd(q)
        assert a.infgram_ntd(q, max_support=2) == b.infgram_ntd(q, max_support=2)
    for d in range(a.total_docs):
        x, y = a.get_doc_by_ix(d), b.get_doc_by_ix(d)
        assert (x.token_ids, x.metadata, x.doc_len) == (y.token_ids, y.metadata, y.doc_len)


def test_v4_byte_level(tmp_path: Path) -> None:
    idx = build_from_texts(tmp_path, ["abracadabra", "cadabra", "abc abc"], shard_tokens=10)
    v4 = _as_v4(tmp_path / "idx", tmp_path / "ig_v4")
    ig = anygram.open(v4)
    info = ig.info()
    assert (info.format, info.format_version, info.token_width, ig.tokenizer is not None) == ("infini-gram-v4", 4, 1, True)
    assert ig.num_shards == idx.num_shards > 1
    _same_answers(idx, ig, ["a", "abra", "c", "", "zz"])
    assert ig.get_doc_by_ix(0).metadata["metadata"] == {"n": 0}


@pytest.mark.parametrize("width", [2, 4])
def test_v4_ids_width_inferred(tmp_path: Path, width: int) -> None:
    docs = [[1, 2, 3, 1, 2], [2, 3], [70000 if width == 4 else 700, 1, 2]]
    idx = build_from_ids(tmp_path, docs, token_width=width)
    ig = anygram.open(_as_v4(tmp_path / "idx", tmp_path / "ig"))
    assert ig.token_width == width and ig.tokenizer is None
    assert ig.eos_token_id == (1 << (8 * width)) - 1
    _same_answers(idx, ig, [[1, 2], [2], [3, 1], []])
    with pytest.raises(anygram.QueryError):
        ig.count("text needs a tokenizer")
    assert anygram.open(tmp_path / "ig", eos_token_id=0).ntd([3]).result_by_token_id.keys() == {0, 1}


def test_v6_single_dir_list_and_parent(tmp_path: Path) -> None:
    idx = build_from_texts(tmp_path, [f"doc {i} " + "ab" * i for i in range(12)], shard_tokens=20)
    assert idx.num_shards >= 3
    dirs = _as_v6(tmp_path / "idx", tmp_path / "v6")
    one = anygram.open(dirs[0])
    assert one.info().format == "infini-gram-v6" and one.num_shards == 1
    assert one.total_tokens == idx.shards[0].tok_cnt
    listed = anygram.open(dirs)
    parent = anygram.open(tmp_path / "v6")
    for ig in (listed, parent):
        assert ig.info().format_version == 6
        _same_answers(idx, ig, ["ab", "doc 1", "b", ""])


def test_v6_parent_natural_order(tmp_path: Path) -> None:
    texts = [f"x{i}" for i in range(11)]
    idx = build_from_texts(tmp_path, texts, shard_tokens=3)
    assert idx.num_shards == 11
    dirs = _as_v6(tmp_path / "idx", tmp_path / "v6")
    parent = anygram.open(tmp_path / "v6")  # subdirectories 0..10: "10" must come after "9"
    assert [s.name for s in parent.shards] == [f"v6/{d.name}" for d in dirs]
    assert [parent.get_doc_by_ix(i).text for i in range(11)] == texts


def test_v6_ignores_unigram_and_other_files(tmp_path: Path) -> None:
    build_from_texts(tmp_path, ["hello", "world"])
    (d,) = _as_v6(tmp_path / "idx", tmp_path / "v6")
    (d / "unigram").write_text("104 1\n")
    (d / "notes.txt").write_text("x")
    assert anygram.open(d).count("l").count == 3


def test_errors(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(IndexFormatError, match="neither an anygram index"):
        anygram.open(tmp_path / "empty")
    build_from_texts(tmp_path, ["hello", "world"])
    v4 = _as_v4(tmp_path / "idx", tmp_path / "v4")
    (v4 / "table.0").unlink()
    with pytest.raises(IndexFormatError, match="table.0"):
        anygram.open(v4)
    (d,) = _as_v6(tmp_path / "idx", tmp_path / "v6")
    (d / "table").write_bytes((d / "table").read_bytes()[:-1])
    with pytest.raises(IndexFormatError, match="token width"):
        anygram.open(d)
    with pytest.raises(CorruptIndexError):
        anygram.open(d, token_width=1)


def test_infer_token_width() -> None:
    assert infer_token_width(12, 12) == 1
    assert infer_token_width(12, 6) == 2
    assert infer_token_width(12, 3) == 4
    assert infer_token_width(600, 600) == 2  # 600 bytes need 2-byte pointers: 300 tokens of 2 bytes
    assert infer_token_width(601, 601) is None
    assert infer_token_width(600, 1200) == 1
    assert infer_token_width(0, 0) is None
