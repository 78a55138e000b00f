"""The on-disk format: manifest round trip, structural checks, verify(), open cost, kernel guards."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

import anygram
from anygram.config import FORMAT_NAME, FORMAT_VERSION
from anygram.engine import _ntd
from anygram.engine._search import SuffixArrayCorrupt
from anygram.errors import CorruptIndexError
from anygram.format import manifest as M
from anygram.format import open as O
from anygram.format import shard as S
from anygram.format.manifest import Manifest, read_manifest, sha256_file
from anygram.format.open import verify
from helpers import build_from_ids, build_from_texts

DOCS_MD = Path(__file__).resolve().parents[1] / "docs" / "format.md"
TEXTS = [f"document {i}: {'alpha beta ' * (i % 3)}gamma delta {i}" for i in range(30)]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("fmt")
    build_from_texts(tmp, TEXTS, shard_tokens=700, name="bytes")
    build_from_ids(tmp, [[i % 50, (i * 7) % 300, 5, 6] for i in range(40)], token_width=2, shard_tokens=90, name="ids")
    return {"bytes": tmp / "bytes", "ids": tmp / "ids"}


def _unsampled(n: int, span: int = 3) -> int:
    """A rank r such that r-1 .. r+span are all outside the sampled entries (huge_mode)."""
    sampled = set(S._sample(n).tolist())
    return next(r for r in range(1, n - span) if not sampled & set(range(r - 1, r + span + 1)))


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def _reseal(d: Path, name: str) -> None:
    """Update a file's recorded checksum, as if the damage had happened before the build finished."""
    m = json.loads((d / "manifest.json").read_text())
    for s in m["shards"]:
        for f in s["files"].values():
            if f["name"] == name:
                f["sha256"] = sha256_file(d / name)
    (d / "manifest.json").write_text(json.dumps(m))


def test_manifest_round_trip(built: dict[str, Path]) -> None:
    for d in built.values():
        m = read_manifest(d)
        assert m.format == FORMAT_NAME and m.format_version == FORMAT_VERSION
        again = Manifest.from_json(json.loads(json.dumps(m.to_json())), d / "manifest.json")
        assert again.to_json() == m.to_json()
        assert len(m.shards) >= 2
        for s in m.shards:
            assert set(s.files) == set(M.SHARD_FILES)
            assert all(f.sha256 and re.fullmatch(r"[0-9a-f]{64}", f.sha256) for f in s.files.values())


def test_verify_summary(built: dict[str, Path]) -> None:
    r = verify(built["ids"])
    idx = anygram.open(built["ids"])
    assert r["ok"] and r["shards"] == idx.num_shards and r["tokens"] == idx.total_tokens and r["docs"] == idx.total_docs
    assert verify([built["bytes"]])["ok"]


def test_structure_checked_even_when_checksums_match(built: dict[str, Path], tmp_path: Path) -> None:
    """A damaged file whose checksum was recorded after the damage is still caught by the structure."""
    d = _copy(built["bytes"], tmp_path / "swapped")
    k = read_manifest(d).shards[0].ptr_size
    sa = bytearray((d / "table.0").read_bytes())
    mid = (len(sa) // k) // 2
    a, b = sa[mid * k : (mid + 1) * k], sa[(mid + 1) * k : (mid + 2) * k]
    sa[mid * k : (mid + 2) * k] = b + a  # still a permutation, no longer sorted
    (d / "table.0").write_bytes(bytes(sa))
    _reseal(d, "table.0")
    for mode in ("auto", "sizes", "full"):
        with pytest.raises(CorruptIndexError, match=r"table\.0: suffix-array entries are out of order"):
            anygram.open(d, verify=mode)

    d2 = _copy(built["ids"], tmp_path / "dup")
    sa = bytearray((d2 / "table.1").read_bytes())
    k = read_manifest(d2).shards[1].ptr_size
    sa[5 * k : 6 * k] = sa[9 * k : 10 * k]  # a position listed twice
    (d2 / "table.1").write_bytes(bytes(sa))
    _reseal(d2, "table.1")
    with pytest.raises(CorruptIndexError, match=r"table\.1"):
        verify(d2)

    d3 = _copy(built["bytes"], tmp_path / "stray_sep")
    ds = bytearray((d3 / "tokenized.1").read_bytes())
    pos = next(i for i in range(len(ds) // 2, len(ds)) if ds[i] != 0xFF)
    ds[pos] = 0xFF  # a separator inside a document
    (d3 / "tokenized.1").write_bytes(bytes(ds))
    _reseal(d3, "tokenized.1")
    with pytest.raises(CorruptIndexError, match=r"separator"):
        anygram.open(d3, verify="sizes")


@pytest.fixture
def huge_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make a small index look huge: no checksums under verify='auto', structure sampled only."""
    monkeypatch.setattr(M, "SMALL_FILE_LIMIT", 0)
    monkeypatch.setattr(O, "AUTO_FULL_VERIFY_BYTES", 0)
    monkeypatch.setattr(S, "FULL_SCAN_BYTES", 0)
    monkeypatch.setattr(S, "SAMPLE", 4)


def test_sampled_open_then_verify_catches(built: dict[str, Path], tmp_path: Path, huge_mode: None) -> None:
    d = _copy(built["bytes"], tmp_path / "x")
    k = read_manifest(d).shards[0].ptr_size
    sa = bytearray((d / "table.0").read_bytes())
    n = len(sa) // k
    r = _unsampled(n)
    sa[r * k : (r + 1) * k] = sa[(r + 2) * k : (r + 3) * k]
    (d / "table.0").write_bytes(bytes(sa))
    idx = anygram.open(d)  # sampled checks do not see it
    assert idx.num_shards >= 2
    with pytest.raises(CorruptIndexError, match=r"table\.0"):
        verify(d)
    with pytest.raises(CorruptIndexError, match="checksum"):
        anygram.open(d, verify="full")


def test_document_offsets_rechecked_on_access(built: dict[str, Path], tmp_path: Path, huge_mode: None) -> None:
    d = _copy(built["bytes"], tmp_path / "od")
    od = np.fromfile(d / "offset.0", dtype="<u8")
    n = od.shape[0]
    r = _unsampled(n, span=1)
    od[r] = od[r] + 3  # inside the previous document's text: not a separator
    od.tofile(d / "offset.0")
    idx = anygram.open(d)
    with pytest.raises(CorruptIndexError, match="invalid offsets"):
        idx.get_doc_by_ix(r)
    with pytest.raises(CorruptIndexError, match="invalid offsets"):
        idx.get_doc_by_ix(r - 1)  # its end is the damaged offset
    idx.get_doc_by_ix(r + 2)  # documents away from the damage still answer

    d2 = _copy(built["bytes"], tmp_path / "mt")
    mt = bytearray((d2 / "metadata.1").read_bytes())
    mt[1] = ord("#")  # first document's metadata is no longer JSON
    (d2 / "metadata.1").write_bytes(bytes(mt))
    idx = anygram.open(d2)
    first_of_shard1 = idx.shards[0].doc_cnt
    with pytest.raises(CorruptIndexError, match="metadata of document 0 is not JSON"):
        idx.get_doc_by_ix(first_of_shard1)


def test_last_document_and_metadata(built: dict[str, Path]) -> None:
    idx = anygram.open(built["bytes"])
    last = idx.get_doc_by_ix(idx.total_docs - 1)
    assert last.text == TEXTS[-1] and last.metadata.get("n", last.metadata.get("metadata", {}).get("n", None)) in (len(TEXTS) - 1, None)
    for sh in idx.shards:
        start, end = sh.doc_span(sh.doc_cnt - 1)
        assert end == sh.ds_size and start < end
        with pytest.raises(CorruptIndexError):
            sh.doc_span(sh.doc_cnt)


def test_kernel_guard_misaligned_pointer() -> None:
    """A misaligned pointer at the end of the token file must not make ntd read past it."""
    ds = np.array([0xFF, 0xFF, 1, 0], dtype=np.uint8)  # one document, one token (width 2)
    sa = np.array([3, 0], dtype=np.uint8)  # k=1; the first pointer is misaligned, at the last byte
    toks = np.empty(4, np.int64)
    cnts = np.empty(4, np.int64)
    with pytest.raises(SuffixArrayCorrupt):
        _ntd.ntd_exact(ds, sa, 1, 0, 2, 0, 2, 0, toks, cnts)


def test_misaligned_pointer_via_index(built: dict[str, Path], tmp_path: Path, huge_mode: None) -> None:
    d = _copy(built["ids"], tmp_path / "mis")
    k = read_manifest(d).shards[0].ptr_size
    sa = bytearray((d / "table.0").read_bytes())
    n = len(sa) // k
    r = _unsampled(n)
    ptr = int.from_bytes(sa[r * k : (r + 1) * k], "little") + 1
    sa[r * k : (r + 1) * k] = ptr.to_bytes(k, "little")
    (d / "table.0").write_bytes(bytes(sa))
    idx = anygram.open(d)
    with pytest.raises(CorruptIndexError, match="not aligned"):
        idx.get_doc_by_rank(0, r)
    try:  # ntd gallops over runs: it may or may not read the damaged rank, but never crashes
        idx.ntd([])
    except CorruptIndexError:
        pass


def test_open_cost_does_not_grow_with_index_size(tmp_path: Path) -> None:
    """A synthetic 17 MB-token shard (85 MB of files) opens in milliseconds: nothing big is scanned."""
    d = tmp_path / "big"
    d.mkdir()
    n = 17 << 20  # one document: a separator then zeros
    ds = np.zeros(n, dtype=np.uint8)
    ds[0] = 0xFF
    ds.tofile(d / "tokenized.0")
    # suffixes of zeros sort shortest first; the one starting with 0xff sorts last
    np.arange(n - 1, -1, -1, dtype="<u4").tofile(d / "table.0")
    np.zeros(1, dtype="<u8").tofile(d / "offset.0")
    (d / "metadata.0").write_bytes(b'{"n":0}\n')
    np.zeros(1, dtype="<u8").tofile(d / "metaoff.0")
    files = {r: {"name": f"{r}.0", "bytes": (d / f"{r}.0").stat().st_size} for r in M.SHARD_FILES}
    manifest = {
        "format": FORMAT_NAME, "format_version": FORMAT_VERSION, "tokenizer": {"kind": "bytes", "vocab_size": 256},
        "token_width": 1, "eos_token_id": 255, "shards": [{"tokens": n, "docs": 1, "ptr_size": 4, "files": files}],
    }
    (d / "manifest.json").write_text(json.dumps(manifest))
    for mode in ("sizes", "auto"):
        anygram.open(d, verify=mode)  # warm numba and the page cache
        t0 = time.perf_counter()
        idx = anygram.open(d, verify=mode)
        elapsed = time.perf_counter() - t0
        assert elapsed < 0.5, f"open(verify={mode!r}) took {elapsed:.2f}s"
    assert idx.count([0, 0, 0]).count == n - 3
    assert idx.get_doc_by_ix(0, max_disp_len=5).token_ids == [0] * 5


def test_docs_describe_every_field() -> None:
    text = DOCS_MD.read_text(encoding="utf-8")
    fields = ["format", "format_version", "anygram_version", "tokenizer", "token_width", "eos_token_id", "total_tokens",
              "total_docs", "shards", "tokens", "docs", "ptr_size", "files", "name", "bytes", "sha256", "extra_files", "build"]
    for f in fields:
        assert re.search(rf"[`.]{f}`", text), f"docs/format.md does not describe manifest field {f!r}"
    for role in M.SHARD_FILES:
        assert f"{role}.N" in text
    for mode in ("auto", "sizes", "full"):
        assert f'verify="{mode}"' in text
    assert "5.3" in text and "bytes per token" in text.lower()
