"""The index builder: suffix arrays, sharding, huge documents, atomicity, resume, determinism."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

import anygram
from anygram.builder import pipeline
from anygram.builder.resources import BUILD_BYTES_PER_BYTE, WORKER_BASE_BYTES
from anygram.builder.suffix_array import build_table, ptr_size_for
from anygram.errors import BuildError, CorpusError
from helpers import write_jsonl

SHARD_ROLES = ("tokenized", "table", "offset", "metadata", "metaoff")


def naive_count(docs: list[bytes] | list[list[int]], query) -> int:
    """Occurrences of ``query`` (bytes or a list of ids) inside the documents (never across)."""
    m = len(query)
    total = 0
    for d in docs:
        total += sum(1 for i in range(len(d) - m + 1) if d[i : i + m] == query)
    return total


def shard_files(index: Path) -> dict[str, bytes]:
    """Every file of an index except the manifest (which holds timestamps)."""
    return {p.name: p.read_bytes() for p in sorted(index.iterdir()) if p.name != "manifest.json"}


def random_texts(seed: int, n: int, alphabet: str = "ab c\u00e9", max_len: int = 60) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, max_len))) for _ in range(n)]


# ------------------------------------------------------------------------ suffix arrays
def naive_sa(data: bytes, width: int) -> list[int]:
    """Token-aligned byte offsets sorted by the suffix's bytes (a shorter prefix first)."""
    return sorted(range(0, len(data), width), key=lambda i: data[i:])


def decode_table(raw: bytes, k: int) -> list[int]:
    return [int.from_bytes(raw[i : i + k], "little") for i in range(0, len(raw), k)]


@pytest.mark.parametrize("width", [1, 2, 4])
def test_suffix_array_matches_naive_order(tmp_path, width):
    rng = np.random.default_rng(width)
    for trial in range(25):
        ntok = int(rng.integers(1, 300))
        # tiny alphabets make long repeats; include the separator id and high bytes
        alphabet = rng.choice([0, 1, 2, 255, 256, 65535, 65536, 2**32 - 1][: 3 + trial % 6], size=3)
        ids = rng.choice(alphabet, size=ntok) % (1 << (8 * width))
        data = ids.astype(f"<u{width}").tobytes()
        ds, sa = tmp_path / f"ds{trial}", tmp_path / f"sa{trial}"
        ds.write_bytes(data)
        res = build_table(ds, sa, width)
        k = ptr_size_for(len(data))
        assert res["ptr_size"] == k and res["bytes"] == ntok * k == sa.stat().st_size
        assert decode_table(sa.read_bytes(), k) == naive_sa(data, width)


def test_suffix_array_pointer_width_and_large_offsets(tmp_path):
    assert [ptr_size_for(n) for n in (1, 256, 257, 65536, 65537, 1 << 24, (1 << 24) + 1, 1 << 32, (1 << 32) + 1)] == [1, 1, 2, 2, 3, 3, 4, 4, 5]
    rng = np.random.default_rng(0)
    data = rng.integers(0, 4, size=70_000, dtype=np.uint16).astype("<u2").tobytes()  # 3-byte pointers
    ds, sa = tmp_path / "ds", tmp_path / "sa"
    ds.write_bytes(data)
    assert build_table(ds, sa, 2)["ptr_size"] == 3
    ptrs = np.array(decode_table(sa.read_bytes(), 3))
    assert sorted(ptrs.tolist()) == list(range(0, len(data), 2))
    # spot-check the order on neighbours (a full naive sort is too slow here)
    for i in rng.integers(0, len(ptrs) - 1, size=300):
        assert data[ptrs[i] :] < data[ptrs[i + 1] :]
    ds.write_bytes(b"abc")
    with pytest.raises(BuildError, match="multiple of the token width"):
        build_table(ds, sa, 2)


# ------------------------------------------------------------------------ planning
def test_plan_shard_bytes():
    gib = 1 << 30
    # a small corpus: one shard, capped by what memory can sort
    assert pipeline.plan_shard_bytes(1000, 8 * gib, 4, 1) == pipeline.memory_cap(8 * gib, 4, 1)
    assert pipeline.memory_cap(8 * gib, 1, 1) == int((8 * gib - WORKER_BASE_BYTES) / BUILD_BYTES_PER_BYTE)
    assert pipeline.memory_cap(64 * gib, 1, 2) == (1 << 31) - 2  # 32-bit libdivsufsort, aligned
    # a large corpus is split across workers with slack: exactly `workers` shards
    est = 1000 * (1 << 20)
    per = pipeline.plan_shard_bytes(est, 64 * gib, 4, 2)
    assert per % 2 == 0 and 3 * per < est * 1.05 < 4 * per
    # memory, not workers, bounds the shard
    assert pipeline.plan_shard_bytes(est, 2 * gib, 2, 1) == pipeline.memory_cap(2 * gib, 2, 1)
    with pytest.raises(BuildError, match="too little"):
        pipeline.plan_shard_bytes(est, WORKER_BASE_BYTES + (1 << 16), 1, 1)
    # a corpus smaller than a tiny budget still builds
    assert pipeline.plan_shard_bytes(1000, WORKER_BASE_BYTES + 100_000, 1, 1) > 1000


def test_token_estimates():
    from anygram.tokenizers import ByteTokenizer, IdsTokenizer

    assert pipeline.estimate_token_bytes(4000, ByteTokenizer(), False) == 4000
    assert pipeline.estimate_token_bytes(4000, IdsTokenizer(2), True) == 2000
    assert pipeline.estimate_token_bytes(4000, IdsTokenizer(4), True) == 4000


# ------------------------------------------------------------------------ builds
def test_build_counts_and_summary(tmp_path):
    texts = random_texts(1, 200)
    src = write_jsonl(tmp_path / "src" / "d.jsonl", [{"text": t, "i": i} for i, t in enumerate(texts)])
    with open(src, "a") as f:
        f.write("{broken\n")
    s = anygram.build(src, tmp_path / "idx", workers=1)
    raw = [t.encode() for t in texts]
    assert (s.shards, s.docs, s.tokens) == (1, 200, sum(map(len, raw)) + 200)
    assert s.text_bytes == sum(map(len, raw))
    assert s.skipped == {"malformed JSON": 1} and s.skipped_examples[0].startswith("d.jsonl:201:")
    assert s.peak_rss_bytes > 0 and s.wall_seconds > 0 and 1 < s.bytes_per_token < 40
    assert not (tmp_path / "idx.partial").exists()
    idx = anygram.open(tmp_path / "idx")
    for q in ["a", "ab", "b c", "\u00e9a", "aaaa", "zz"]:
        assert idx.count(q).count == naive_count(raw, q.encode()), q
    manifest = json.loads((tmp_path / "idx" / "manifest.json").read_text())
    assert manifest["build"]["skipped"] == {"malformed JSON": 1}


def test_sharded_build_equals_one_shard(tmp_path):
    texts = random_texts(2, 120, alphabet="ab")
    src = write_jsonl(tmp_path / "d.jsonl", [{"text": t} for t in texts])
    one = anygram.build(src, tmp_path / "one", workers=1)
    many = anygram.build(src, tmp_path / "many", workers=1, shard_tokens=300)
    assert one.shards == 1 and many.shards > 5
    assert (one.tokens, one.docs) == (many.tokens, many.docs)
    a, b = anygram.open(tmp_path / "one"), anygram.open(tmp_path / "many")
    raw = [t.encode() for t in texts]
    for q in ["a", "ab", "bab", "aaab", "bbbbbb"]:
        assert a.count(q).count == b.count(q).count == naive_count(raw, q.encode())
    manifest = json.loads((tmp_path / "many" / "manifest.json").read_text())
    assert all(sh["tokens"] <= 300 for sh in manifest["shards"])


def test_huge_document_gets_its_own_shard(tmp_path):
    texts = ["small one", "x" * 1000 + "needle" + "y" * 1000, "small two", "needle"]
    src = write_jsonl(tmp_path / "d.jsonl", [{"text": t} for t in texts])
    s = anygram.build(src, tmp_path / "idx", workers=1, shard_tokens=100)
    manifest = json.loads((tmp_path / "idx" / "manifest.json").read_text())
    assert [sh["docs"] for sh in manifest["shards"]] == [1, 1, 2]
    assert manifest["shards"][1]["tokens"] == 2007 and s.skipped == {}
    assert anygram.open(tmp_path / "idx").count("needle").count == 2


def test_document_beyond_memory_is_skipped(tmp_path):
    # max_memory leaves ~64 KiB of shard per worker: the 100 kB document cannot be sorted
    mem = WORKER_BASE_BYTES + int(BUILD_BYTES_PER_BYTE * (64 << 10)) + 100
    texts = ["before", "z" * 100_000, "after"]
    src = write_jsonl(tmp_path / "d.jsonl", [{"text": t} for t in texts])
    s = anygram.build(src, tmp_path / "idx", workers=1, max_memory=mem)
    assert s.docs == 2 and s.skipped == {"document too large": 1}
    assert s.skipped_examples[0].startswith("d.jsonl:2: document too large")
    with pytest.raises(CorpusError, match="d.jsonl:2: document too large"):
        anygram.build(src, tmp_path / "strict", workers=1, max_memory=mem, on_error="fail")


def test_directory_build_keeps_paths_and_skips_output(tmp_path):
    corpus = tmp_path / "corpus"
    (corpus / "sub").mkdir(parents=True)
    (corpus / "a.txt").write_text("hello world")
    (corpus / "sub" / "b.md").write_text("hello there")
    (corpus / "bad.txt").write_bytes(b"\xff\xfe")
    out = corpus / "idx"  # inside the corpus: must not index itself on a rebuild
    s1 = anygram.build(corpus, out, workers=1)
    s2 = anygram.build(corpus, out, workers=1, overwrite=True)
    assert s1.docs == s2.docs == 2 and s2.skipped == {"invalid UTF-8": 1}
    idx = anygram.open(out)
    assert idx.count("hello").count == 2
    meta = (out / "metadata.0").read_text().splitlines()
    assert [json.loads(m)["path"] for m in meta] == ["a.txt", "sub/b.md"]


def test_pretokenized_width4(tmp_path):
    rng = random.Random(3)
    docs = [[rng.choice([5, 70_000, 2**32 - 2]) for _ in range(rng.randint(1, 30))] for _ in range(50)]
    records = [{"ids": d} for d in docs] + [{"ids": [2**32 - 1]}, {"ids": [-1]}]
    src = write_jsonl(tmp_path / "d.jsonl", records)
    s = anygram.build(src, tmp_path / "idx", ids_field="ids", token_width=4, workers=1, shard_tokens=100)
    assert s.docs == 50 and s.skipped == {"token id out of range": 2} and s.shards > 1
    idx = anygram.open(tmp_path / "idx")
    for q in [[5], [70_000, 5], [2**32 - 2, 2**32 - 2], [5, 5, 5]]:
        assert idx.count(q).count == naive_count(docs, q)


def test_bad_arguments_and_outputs(tmp_path):
    src = write_jsonl(tmp_path / "d.jsonl", [{"text": "abc"}])
    for kw in ({"on_error": "maybe"}, {"workers": 0}, {"shard_tokens": 0}, {"max_memory": "lots"}, {"token_width": 3}):
        with pytest.raises(BuildError):
            anygram.build(src, tmp_path / "x", **kw)
    anygram.build(src, tmp_path / "idx", workers=1)
    with pytest.raises(BuildError, match="already exists"):
        anygram.build(src, tmp_path / "idx", workers=1)
    (tmp_path / "precious").mkdir()
    (tmp_path / "precious" / "thesis.tex").write_text("years of work")
    with pytest.raises(BuildError, match="not an index"):
        anygram.build(src, tmp_path / "precious", workers=1, overwrite=True)
    assert (tmp_path / "precious" / "thesis.tex").exists()
    empty = write_jsonl(tmp_path / "e.jsonl", [{"text": ""}, {"nope": 1}])
    with pytest.raises(BuildError, match="no documents"):
        anygram.build(empty, tmp_path / "e", workers=1)
    assert not (tmp_path / "e").exists()


def test_progress_bars(tmp_path, capsys):
    src = write_jsonl(tmp_path / "d.jsonl", [{"text": t} for t in random_texts(4, 50)])
    anygram.build(src, tmp_path / "idx", workers=1, shard_tokens=200, progress=True)
    assert "reading" in capsys.readouterr().err


# ------------------------------------------------------------------------ determinism
def test_same_build_twice_is_byte_identical(tmp_path):
    src = write_jsonl(tmp_path / "d.jsonl", [{"text": t, "i": i} for i, t in enumerate(random_texts(5, 300))])
    anygram.build(src, tmp_path / "a", workers=1, shard_tokens=2000)
    anygram.build(src, tmp_path / "b", workers=1, shard_tokens=2000)
    fa, fb = shard_files(tmp_path / "a"), shard_files(tmp_path / "b")
    assert fa == fb and sum(n.startswith("table.") for n in fa) > 2
    ma, mb = (json.loads((tmp_path / p / "manifest.json").read_text()) for p in "ab")
    assert ma["shards"] == mb["shards"]


def test_parallel_build_equals_serial(tmp_path):
    """workers=2 (spawned processes) gives the same files as workers=1."""
    texts = random_texts(6, 400, max_len=120)
    src = write_jsonl(tmp_path / "d.jsonl", [{"text": t} for t in texts])
    serial = anygram.build(src, tmp_path / "s", workers=1, shard_tokens=3000)
    parallel = anygram.build(src, tmp_path / "p", workers=2, shard_tokens=3000)
    assert serial.shards == parallel.shards > 3
    assert shard_files(tmp_path / "s") == shard_files(tmp_path / "p")
    raw = [t.encode() for t in texts]
    assert anygram.open(tmp_path / "p").count("ab c").count == naive_count(raw, b"ab c")


# ------------------------------------------------------------------------ atomicity and resume
class Interrupt(Exception):
    pass


def interrupt_at_shard(monkeypatch, n: int) -> None:
    """Make the build die when it opens shard ``n`` (shards 0..n-1 are closed by then)."""
    real = pipeline.ShardWriter.__init__

    def init(self, directory, k, width):
        if k == n:
            raise Interrupt(f"simulated crash at shard {k}")
        real(self, directory, k, width)

    monkeypatch.setattr(pipeline.ShardWriter, "__init__", init)


def test_interrupted_build_resumes_to_the_same_index(tmp_path, monkeypatch):
    records = [{"text": t, "i": i} for i, t in enumerate(random_texts(7, 300))]
    lines = [json.dumps(r) for r in records]
    for at in (3, 40, 41, 150, 299):  # bad lines spread over the shards
        lines.insert(at, "{bad json")
    src = tmp_path / "d.jsonl"
    src.write_text("\n".join(lines) + "\n\n")
    ref = anygram.build(src, tmp_path / "ref", workers=1, shard_tokens=1500)

    with monkeypatch.context() as m:
        interrupt_at_shard(m, 3)
        with pytest.raises(Interrupt):
            anygram.build(src, tmp_path / "idx", workers=1, shard_tokens=1500)
    partial = tmp_path / "idx.partial"
    assert not (tmp_path / "idx").exists() and (partial / "build_state.json").exists()
    state = json.loads((partial / "build_state.json").read_text())
    assert len(state["shards"]) == 3 and set(state["tables"]) == {"0", "1", "2"}
    assert not (partial / "tokenized.3").exists()

    resumed = anygram.build(src, tmp_path / "idx", workers=1, shard_tokens=1500)
    assert resumed.resumed_shards == 3 and ref.resumed_shards == 0
    assert (resumed.shards, resumed.docs, resumed.tokens) == (ref.shards, ref.docs, ref.tokens)
    assert resumed.skipped == ref.skipped == {"malformed JSON": 5, "blank line": 1}
    assert shard_files(tmp_path / "idx") == shard_files(tmp_path / "ref")
    assert not partial.exists()


def test_fail_on_bad_record_keeps_built_shards_and_resumes(tmp_path):
    records = [json.dumps({"text": t}) for t in random_texts(8, 200)]
    records.insert(150, "{bad json")
    src = tmp_path / "d.jsonl"
    src.write_text("\n".join(records) + "\n")
    with pytest.raises(CorpusError, match=r"d\.jsonl:151: malformed JSON"):
        anygram.build(src, tmp_path / "idx", workers=1, shard_tokens=1000, on_error="fail")
    state = json.loads((tmp_path / "idx.partial" / "build_state.json").read_text())
    assert len(state["shards"]) >= 3 and len(state["tables"]) == len(state["shards"])
    # the same input, now skipping bad records, resumes from what was built
    s = anygram.build(src, tmp_path / "idx", workers=1, shard_tokens=1000, on_error="skip")
    assert s.resumed_shards == len(state["shards"]) and s.skipped == {"malformed JSON": 1} and s.docs == 200
    anygram.build(src, tmp_path / "ref", workers=1, shard_tokens=1000)
    assert shard_files(tmp_path / "idx") == shard_files(tmp_path / "ref")


def test_interrupted_suffix_arrays_are_rebuilt(tmp_path, monkeypatch):
    src = write_jsonl(tmp_path / "d.jsonl", [{"text": t} for t in random_texts(9, 100)])
    ref = anygram.build(src, tmp_path / "ref", workers=1, shard_tokens=800)
    calls = []

    def failing(*args):
        calls.append(args)
        if len(calls) == 2:
            raise OSError("disk full")
        return build_table(*args)

    with monkeypatch.context() as m:
        m.setattr(pipeline, "build_table", failing)
        with pytest.raises(BuildError, match="shard 1 failed.*resume"):
            anygram.build(src, tmp_path / "idx", workers=1, shard_tokens=800)
    state = json.loads((tmp_path / "idx.partial" / "build_state.json").read_text())
    assert len(state["shards"]) == 2 and set(state["tables"]) == {"0"}
    s = anygram.build(src, tmp_path / "idx", workers=1, shard_tokens=800)
    assert s.resumed_shards == 2 and ref.shards > 2
    assert shard_files(tmp_path / "idx") == shard_files(tmp_path / "ref")


def test_changed_input_or_parameters_start_over(tmp_path, monkeypatch):
    src = write_jsonl(tmp_path / "d.jsonl", [{"text": t} for t in random_texts(10, 100)])
    with monkeypatch.context() as m:
        interrupt_at_shard(m, 2)
        with pytest.raises(Interrupt):
            anygram.build(src, tmp_path / "idx", workers=1, shard_tokens=800)
    s = anygram.build(src, tmp_path / "idx", workers=1, shard_tokens=700)
    assert s.resumed_shards == 0
    with monkeypatch.context() as m:
        interrupt_at_shard(m, 2)
        with pytest.raises(Interrupt):
            anygram.build(src, tmp_path / "idx2", workers=1, shard_tokens=800)
    with open(src, "a") as f:
        f.write(json.dumps({"text": "one more"}) + "\n")
    s = anygram.build(src, tmp_path / "idx2", workers=1, shard_tokens=800)
    assert s.resumed_shards == 0 and s.docs == 101


def test_dead_worker_pool_is_a_build_error(tmp_path: Path) -> None:
    """Worker processes cannot start from code read on stdin: a named BuildError, not a raw pool error."""
    import subprocess
    import sys

    src = tmp_path / "c.jsonl"
    src.write_text("".join(f'{{"text": "document number {i} with some text"}}\n' for i in range(40)))
    code = (
        "import anygram\n"
        f"anygram.build({str(src)!r}, {str(tmp_path / 'idx')!r}, workers=2, shard_tokens=200)\n"
    )
    out = subprocess.run([sys.executable, "-"], input=code, capture_output=True, text=True, timeout=120)
    assert out.returncode != 0
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("anygram.errors.BuildError:") and "rerun the same build" in last
    assert (tmp_path / "idx.partial" / "build_state.json").is_file()  # what was built is kept
