"""rank_fbb (block-boosted Huffman-shaped wavelet trees with RRR bitvectors) against naive Python.

Sequences are arbitrary symbol strings (the structure does not rely on them being a BWT), plus
real BWTs of hypothesis texts. Small blocks (256 symbols) put block boundaries inside short inputs.
The whole module also runs once under ``ANYGRAM_JIT=0`` (``test_without_jit``), on fewer examples.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anygram.errors import CorruptIndexError
from anygram.fm import rank_fbb as fbb
from strategies import POOLS, texts

NOJIT = os.environ.get("ANYGRAM_JIT", "1") == "0"
EXAMPLES = 6 if NOJIT else 30
MAX_LEN = 600 if NOJIT else 1100


# ----------------------------------------------------------------------------- naive references


def naive_rank(seq: list[int], c: int, i: int) -> int:
    return sum(1 for x in seq[:i] if x == c)


def naive_range(seq: list[int], lo: int, hi: int) -> list[tuple[int, int]]:
    return sorted(Counter(seq[lo:hi]).items())


def naive_bwt(text: bytes, sep: int = 0xFF) -> list[int]:
    """BWT of the reversed text with a separator in front of every document (sorted rotations)."""
    t = text[::-1]
    n = len(t)
    rots = sorted(range(n), key=lambda i: t[i:] + t[:i])
    return [t[i - 1] if i else t[n - 1] for i in rots]


# ----------------------------------------------------------------------------- strategies


@st.composite
def sequences(draw: st.DrawFn) -> tuple[list[int], int]:
    """``(symbols, sigma)`` in one of several shapes that stress the structure."""
    shape = draw(
        st.sampled_from(
            ["tiny", "runs", "single", "bytes", "sparse", "empty", "one", "skewed", "bwt"]
        )
    )
    n = draw(st.integers(0, MAX_LEN))
    if shape == "empty":
        return [], draw(st.sampled_from([1, 256, 1 << 32]))
    if shape == "one":
        sigma = draw(st.sampled_from([1, 256, 65536, 1 << 32]))
        return [draw(st.integers(0, sigma - 1))], sigma
    if shape == "bwt":
        docs = draw(texts())
        text = b"".join(b"\xff" + d.encode("utf-8") for d in docs)
        return naive_bwt(text), 256
    if shape in ("tiny", "runs", "skewed"):
        width = draw(st.sampled_from([1, 2, 4]))
        sigma = 1 << (8 * width)
        alpha = draw(st.lists(st.sampled_from(POOLS[width]), min_size=1, max_size=4, unique=True))
    elif shape == "single":
        sigma = draw(st.sampled_from([1, 256, 1 << 32]))
        alpha = [draw(st.integers(0, sigma - 1))]
    elif shape == "bytes":
        sigma = 256
        alpha = list(range(256))
    else:  # sparse large token ids
        sigma = 1 << 32
        alpha = draw(st.lists(st.integers(0, sigma - 1), min_size=2, max_size=300, unique=True))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if shape == "runs":
        seq: list[int] = []
        while len(seq) < n:
            seq += [alpha[int(rng.integers(len(alpha)))]] * int(rng.integers(1, 400))
        seq = seq[:n]
    elif shape == "skewed":
        p = np.array([2.0 ** -(k * 3) for k in range(len(alpha))])
        seq = [alpha[k] for k in rng.choice(len(alpha), n, p=p / p.sum())]
    else:
        seq = [alpha[int(k)] for k in rng.integers(0, len(alpha), n)]
    return seq, sigma


def _build(tmp: Path, seq: list[int], sigma: int, block: int, sample: int) -> tuple:
    arr = np.array(seq, dtype=np.uint64).astype(fbb.symbol_dtype(sigma))
    meta = fbb.build(arr, sigma, tmp, "t.", block=block, sample=sample)
    json.dumps(meta)  # JSON-able
    return fbb.open(tmp, "t.", meta), meta


def _positions(n: int, block: int, rng: np.random.Generator, extra: int = 40) -> list[int]:
    """0, n, every block boundary +-1, and random positions."""
    ps = {0, n}
    for b in range(0, n + 1, block):
        ps.update((b - 1, b, b + 1))
    ps.update(int(x) for x in rng.integers(0, n + 1, extra))
    return sorted(p for p in ps if 0 <= p <= n)


# ----------------------------------------------------------------------------- properties


@settings(max_examples=EXAMPLES)
@given(sequences(), st.sampled_from([256, 512]), st.sampled_from([24, 56, 120]), st.data())
def test_property_rank_access_range(tmp_path_factory, sq, block, sample, data) -> None:
    seq, sigma = sq
    tmp = tmp_path_factory.mktemp("fbb")
    R, meta = _build(tmp, seq, sigma, block, sample)
    n = len(seq)
    assert meta["n"] == n
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    present = sorted(set(seq))
    absent = [c for c in (0, 1, 255, 256, 65535, sigma - 1, sigma) if c not in present][:3]
    pos = _positions(n, block, rng)
    for c in present[:6] + absent + [-1]:
        pref = np.concatenate([[0], np.cumsum(np.array(seq, dtype=np.int64) == c)])
        for i in pos:
            assert fbb.rank(R, c, i) == pref[i], (c, i)
        assert fbb.rank(R, c, n + 5) == pref[n]  # clamped
    for c in present[6:]:
        i = int(rng.integers(0, n + 1))
        assert fbb.rank(R, c, i) == naive_rank(seq, c, i)
    # access at every position (one LF step's pair)
    seen: Counter[int] = Counter()
    for i, x in enumerate(seq):
        assert tuple(fbb.access(R, i)) == (x, seen[x]), i
        seen[x] += 1
    assert tuple(fbb.access(R, n)) == (-1, 0)
    assert tuple(fbb.access(R, -1)) == (-1, 0)
    # range_symbols on random ranges, ranges across blocks and the whole sequence
    cap = max(1, min(n, 1 << 20, sigma))
    out_s = np.full(cap, -7, np.int64)
    out_c = np.full(cap, -7, np.int64)
    ranges = [(0, n), (0, 0), (n, n)]
    ranges += [tuple(sorted(int(x) for x in rng.integers(0, n + 1, 2))) for _ in range(12)]
    ranges += [(max(0, b - 3), min(n, b + 2)) for b in range(block, n, block)]
    for lo, hi in ranges:
        size = max(1, min(hi - lo, sigma))
        k = fbb.range_symbols(R, lo, hi, out_s[:size], out_c[:size])
        want = naive_range(seq, lo, hi)
        assert k == len(want), (lo, hi)
        assert list(zip(out_s[:k].tolist(), out_c[:k].tolist())) == want, (lo, hi)
    assert fbb.size_bytes(R) == meta["bytes"]


@settings(max_examples=max(4, EXAMPLES // 4))
@given(st.data())
def test_property_build_params_and_blocks_exact_multiple(tmp_path_factory, data) -> None:
    """A length that is an exact multiple of the block (rank at n lands on a block end)."""
    block = 256
    nb = data.draw(st.integers(1, 3))
    alpha = data.draw(st.lists(st.integers(0, 255), min_size=1, max_size=20, unique=True))
    seq = data.draw(st.lists(st.sampled_from(alpha), min_size=nb * block, max_size=nb * block))
    R, _ = _build(tmp_path_factory.mktemp("fbb"), seq, 256, block, 24)
    for c in alpha:
        assert fbb.rank(R, c, len(seq)) == seq.count(c)
        assert fbb.rank(R, c, block) == seq[:block].count(c)


def test_huffman_lengths_are_a_prefix_code() -> None:
    for freq in ([1], [5, 5], [1, 1, 2, 4, 8, 16, 32, 64], list(range(1, 60)), [10**6, 1, 1]):
        lens = fbb._huffman_lengths(np.array(freq, np.int64))
        assert abs(sum(2.0 ** -int(x) for x in lens) - 1.0) < 1e-9 or len(freq) == 1


def test_rrr_word_roundtrip() -> None:
    rng = np.random.default_rng(5)
    for _ in range(300 if not NOJIT else 40):
        k = int(rng.integers(0, 65))
        bits = rng.choice(64, k, replace=False)
        word = np.zeros(1, np.uint64)
        for b in bits:
            word[0] |= np.uint64(1) << np.uint64(int(b))
        words = np.concatenate([word, np.zeros(1, np.uint64)])  # one record of 2 words
        rec, offs = fbb._rrr_encode(words, np.int64(2))
        assert len(rec) == 10 and int(rec[8]) == k
        for p in range(0, 65, 7 if NOJIT else 1):
            r, bit = fbb._rank1b(rec, offs, np.int64(2), 0, 0, p)
            assert r == sum(1 for b in bits if b < p)
            if p < 64:
                assert bit == int(p in set(bits.tolist()))


def test_bad_params_and_symbols(tmp_path) -> None:
    seq = np.zeros(10, np.uint8)
    for params in (
        {"block": 1000},
        {"block": 128},
        {"block": 1 << 23},
        {"sample": 100},
        {"sample": 64},
    ):
        with pytest.raises(ValueError):
            fbb.build(seq, 256, tmp_path, "p.", **params)
    with pytest.raises(ValueError):
        fbb.build(np.array([3, 9], np.uint8), 4, tmp_path, "q.")


# ----------------------------------------------------------------------------- corruption


@pytest.fixture()
def built(tmp_path):
    rng = np.random.default_rng(3)
    seq = rng.choice([1, 2, 3, 0xFF, 40, 41], 3000, p=[0.4, 0.2, 0.2, 0.1, 0.05, 0.05]).astype(
        np.uint8
    )
    meta = fbb.build(seq, 256, tmp_path, "c.", block=512, sample=24)
    return tmp_path, seq, meta


def _exercise(R, n: int) -> None:
    """Call every kernel all over the place: must not crash (answers may be wrong)."""
    out_s = np.empty(256, np.int64)
    out_c = np.empty(256, np.int64)
    for i in range(0, n + 1, 37):
        for c in (1, 2, 3, 0xFF, 40, 7):
            fbb.rank(R, c, i)
        fbb.access(R, min(i, n - 1))
        fbb.range_symbols(R, i // 2, i, out_s, out_c)
    fbb.range_symbols(R, 0, n, out_s, out_c)


def test_corrupt_meta_and_sizes(built) -> None:
    d, _, meta = built
    fbb.open(d, "c.", meta)
    for key, val in (
        ("name", "plain"),
        ("n", -1),
        ("block", 1000),
        ("nblocks", 1),
        ("entries", 1),
        ("symbols", 999),
    ):
        with pytest.raises(CorruptIndexError):
            fbb.open(d, "c.", {**meta, key: val})
    with pytest.raises(CorruptIndexError):
        fbb.open(d, "c.", {**meta, "files": {}})
    for key in fbb._FILES:
        path = d / meta["files"][key]["name"]
        data = path.read_bytes()
        path.write_bytes(data[:-1])  # truncated
        with pytest.raises(CorruptIndexError):
            fbb.open(d, "c.", meta)
        path.write_bytes(data + b"\0" * 8)  # grown
        with pytest.raises(CorruptIndexError):
            fbb.open(d, "c.", meta)
        path.unlink()
        with pytest.raises(CorruptIndexError):
            fbb.open(d, "c.", meta)
        path.write_bytes(data)


@pytest.mark.parametrize("key", fbb._FILES)
def test_corrupt_contents_never_crash(built, key) -> None:
    """Overwrite a file's bytes with random data of the same size: open() raises
    CorruptIndexError or the kernels run without crashing (out-of-bounds reads are clamped)."""
    d, seq, meta = built
    path = d / meta["files"][key]["name"]
    data = bytearray(path.read_bytes())
    rng = np.random.default_rng(len(key))
    for trial in range(3):
        bad = bytearray(data)
        if trial == 0:
            bad[:] = rng.integers(0, 256, len(bad), dtype=np.uint8).tobytes()
        elif trial == 1:
            bad[:] = b"\xff" * len(bad)
        else:
            for p in rng.integers(0, max(1, len(bad)), 5):
                if len(bad):
                    bad[int(p)] ^= 0xA5
        path.write_bytes(bytes(bad))
        try:
            R = fbb.open(d, "c.", meta)
        except CorruptIndexError:
            continue
        _exercise(R, len(seq))
    path.write_bytes(bytes(data))


# ----------------------------------------------------------------------------- plain Python


@pytest.mark.skipif(NOJIT, reason="already running without JIT")
def test_without_jit() -> None:
    """The same tests with ANYGRAM_JIT=0 (kernels as plain Python), on fewer and smaller inputs."""
    env = {**os.environ, "ANYGRAM_JIT": "0", "PYTHONPATH": os.pathsep.join(sys.path)}
    r = subprocess.run(  # noqa: PLW1510 - the return code is asserted below
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-x",
            "-p",
            "no:cacheprovider",
            __file__,
            "-k",
            "not corrupt_contents",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]


def test_deep_huffman_codes(tmp_path) -> None:
    """Fibonacci frequencies give the deepest Huffman tree a block allows (here 22 levels)."""
    f = [1, 1]
    while sum(f) + f[-1] + f[-2] <= 1 << 16:
        f.append(f[-1] + f[-2])
    seq = np.repeat(np.arange(len(f), dtype=np.uint64) * 1000, f)
    np.random.default_rng(1).shuffle(seq)
    R, _ = _build(tmp_path, seq.tolist(), 1 << 32, 1 << 16, 56)
    assert int(fbb._huffman_lengths(np.array(f, np.int64)).max()) >= 20
    for i in range(0, len(seq), 997):
        c, r = fbb.access(R, i)
        assert c == seq[i] and r == int((seq[:i] == c).sum())
    for j in (0, 1, len(f) - 1):
        c = j * 1000
        assert fbb.rank(R, c, len(seq)) == f[j]
