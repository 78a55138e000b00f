"""Micro-benchmark of an FM rank structure (``anygram.fm.rank_<name>``) over a cached BWT.

Builds the structure from a BWT stored as a ``.npy`` (uint8/uint16/uint32, memory-mapped), then
times the kernels on random positions: ``rank`` (symbol drawn from the BWT itself, so the
frequency mix is realistic), ``access`` (one LF step), ``range_symbols`` on ranges of several
widths, and a chain of LF steps (the document-retrieval access pattern). Results (size / text
bytes, build wall and CPU, ns of CPU per op: median over ``--reps`` batches) go to a JSON file.

    python benchmarks/bench_fm_rank.py --bwt /work/scratch/fmrank/en_bwt.npy \\
        --out-dir /work/scratch/fmrank/bench --json benchmarks/results/fm_rank_en.json \\
        --block 65536 --sample 512
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import shutil
import time
from pathlib import Path

import numpy as np

from anygram.engine._jit import kernel


@kernel(cache=True, nogil=True)
def _bench_rank(rank, R, cs, idx):
    s = 0
    for q in range(len(idx)):
        s += rank(R, cs[q], idx[q])
    return s


@kernel(cache=True, nogil=True)
def _bench_access(access, R, idx):
    s = 0
    for q in range(len(idx)):
        c, r = access(R, idx[q])
        s += c + r
    return s


@kernel(cache=True, nogil=True)
def _bench_lf(access, R, C, start, steps):
    """``steps`` LF steps from ``start``: ``i = C[c] + rank(c, i)``."""
    i = start
    n = R[0][0]
    for _ in range(steps):
        c, r = access(R, i)
        i = C[c] + r
        if i >= n:
            i = 0
    return i


@kernel(cache=True, nogil=True)
def _bench_range(range_symbols, R, los, width, out_sym, out_cnt):
    s = 0
    for q in range(len(los)):
        s += range_symbols(R, los[q], los[q] + width, out_sym, out_cnt)
    return s


@kernel(cache=True, nogil=True)
def _bench_count(rank, R, C, text, starts, m, out):
    """Backward search of ``text[s:s+m]`` over the BWT of the reversed text (the pattern is read
    left to right); ``out[q]`` = its count. Returns the number of patterns found."""
    n = R[0][0]
    found = 0
    for q in range(len(starts)):
        s = starts[q]
        lo = np.int64(0)
        hi = n
        for k in range(m):
            c = np.int64(text[s + k])
            lo = C[c] + rank(R, c, lo)
            hi = C[c] + rank(R, c, hi)
            if hi <= lo:
                break
        out[q] = max(hi - lo, 0)
        if hi > lo:
            found += 1
    return found


def _check(mod, R, bwt, rng, trials: int = 2000) -> None:
    """Spot-check the kernels against the BWT itself (so a fast wrong structure is not timed)."""
    n = len(bwt)
    for i in rng.integers(0, n, trials):
        c, _ = mod.access(R, int(i))
        if c != int(bwt[i]):
            raise SystemExit(f"access({i}) = {c}, BWT has {int(bwt[i])}")
    for i in rng.integers(0, n - 5000, 20):
        i = int(i)
        win = np.asarray(bwt[i : i + 5000]).astype(np.int64)
        c = int(win[0])
        r0 = mod.rank(R, c, i)
        if mod.rank(R, c, i + 5000) - r0 != int((win == c).sum()):
            raise SystemExit(f"rank({c}, {i + 5000}) disagrees with the BWT")
        out_s = np.empty(5000, np.int64)
        out_c = np.empty(5000, np.int64)
        k = mod.range_symbols(R, i, i + 5000, out_s, out_c)
        u, cc = np.unique(win, return_counts=True)
        if k != len(u) or (out_s[:k] != u).any() or (out_c[:k] != cc).any():
            raise SystemExit(f"range_symbols({i}, {i + 5000}) disagrees with the BWT")


def _ns(fn, nops: int, reps: int) -> float:
    """Median ns per op over ``reps`` runs, in CPU time of this thread (the benchmark machine is
    shared: wall time would count the time other processes hold the core)."""
    fn()  # warm (compile / page in)
    ts = []
    for _ in range(reps):
        t = time.thread_time()
        fn()
        ts.append(time.thread_time() - t)
    return float(np.median(ts)) / nops * 1e9


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--bwt", type=Path, required=True, help=".npy BWT (memory-mapped)")
    ap.add_argument("--sigma", type=int, default=256)
    ap.add_argument("--impl", default="fbb", help="rank module: anygram.fm.rank_<impl>")
    ap.add_argument(
        "--out-dir", type=Path, required=True, help="scratch directory for the built files"
    )
    ap.add_argument("--json", type=Path, help="append the result as one JSON line here")
    ap.add_argument("--block", type=int)
    ap.add_argument("--sample", type=int)
    ap.add_argument(
        "--text",
        type=Path,
        help="the text whose reversal the BWT is of: also time counts of its substrings",
    )
    ap.add_argument("--limit", type=int, help="only the first LIMIT symbols of the BWT")
    ap.add_argument("--ops", type=int, default=200_000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--keep", action="store_true", help="keep the built files")
    args = ap.parse_args()

    mod = importlib.import_module(f"anygram.fm.rank_{args.impl}")
    bwt = np.load(args.bwt, mmap_mode="r")
    if args.limit:
        bwt = bwt[: args.limit]
    n = len(bwt)
    params = {k: v for k, v in (("block", args.block), ("sample", args.sample)) if v is not None}
    if args.out_dir.exists():
        shutil.rmtree(args.out_dir)
    args.out_dir.mkdir(parents=True)
    t = time.perf_counter()
    tc = time.process_time()
    meta = mod.build(bwt, args.sigma, args.out_dir, "b.", **params)
    build_s = time.perf_counter() - t
    build_cpu_s = time.process_time() - tc
    R = mod.open(args.out_dir, "b.", meta)
    size = mod.size_bytes(R)
    rng = np.random.default_rng(0)
    _check(mod, R, bwt, rng)

    idx = np.sort(rng.integers(0, n + 1, args.ops)).astype(np.int64)
    rng.shuffle(idx)
    cs = np.asarray(bwt[np.minimum(rng.integers(0, n, args.ops), n - 1)]).astype(np.int64)
    res = {
        "impl": args.impl,
        "bwt": str(args.bwt),
        "n": n,
        "params": {k: meta.get(k) for k in ("block", "sample")},
        "bytes": size,
        "ratio": size / n,
        "files": {k: v["bytes"] for k, v in meta["files"].items()},
        "build_s": build_s,
        "build_cpu_s": build_cpu_s,
        "machine": platform.processor() or platform.machine(),
        "python": platform.python_version(),
    }
    tot = np.zeros(args.sigma + 1, np.int64)
    for c in range(args.sigma):
        tot[c + 1] = mod.rank(R, c, n)
    C = np.cumsum(tot)[:-1].copy()
    res["rank_ns"] = _ns(lambda: _bench_rank(mod.rank, R, cs, idx), args.ops, args.reps)
    aidx = np.minimum(idx, n - 1)
    res["access_ns"] = _ns(lambda: _bench_access(mod.access, R, aidx), args.ops, args.reps)
    steps = 100_000
    res["lf_chain_ns"] = _ns(
        lambda: _bench_lf(mod.access, R, C, np.int64(n // 3), np.int64(steps)), steps, args.reps
    )
    out_s = np.empty(args.sigma, np.int64)
    out_c = np.empty(args.sigma, np.int64)
    res["range_symbols_ns"] = {}
    for width in (2, 16, 256, 4096, 65536):
        los = rng.integers(0, max(1, n - width), 20_000 if width < 4096 else 2000).astype(np.int64)
        res["range_symbols_ns"][str(width)] = _ns(
            lambda los=los, width=width: _bench_range(
                mod.range_symbols, R, los, np.int64(width), out_s, out_c
            ),
            len(los),
            args.reps,
        )
    res["count_100_est_us"] = 200 * res["rank_ns"] / 1000
    if args.text is not None and not args.limit:
        text = np.memmap(args.text, dtype=np.uint8, mode="r")
        res["count_us"] = {}
        for m in (10, 100, 1000):
            # substrings without the document separator 0xff: the cached BWT comes from a suffix
            # array without a unique terminator, so LF through the text's first byte (0xff) is
            # off by one there (the FM builder adds a proper terminator)
            starts = np.array(
                [
                    s
                    for s in rng.integers(0, len(text) - m, 3000)
                    if not (text[s : s + m] == 0xFF).any()
                ][:1000],
                np.int64,
            )
            out = np.zeros(len(starts), np.int64)
            found = _bench_count(mod.rank, R, C, text, starts, np.int64(m), out)
            if found < len(starts):
                raise SystemExit(f"backward search found {found} of {len(starts)} substrings")
            res.setdefault("count_patterns", {})[str(m)] = len(starts)
            res["count_us"][str(m)] = (
                _ns(
                    lambda starts=starts, m=m, out=out: _bench_count(
                        mod.rank, R, C, text, starts, np.int64(m), out
                    ),
                    len(starts),
                    args.reps,
                )
                / 1000
            )
    res["extract_1000_est_us"] = 1000 * res["lf_chain_ns"] / 1000
    line = json.dumps(res)
    print(line)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        with args.json.open("a") as f:
            f.write(line + "\n")
    if not args.keep:
        shutil.rmtree(args.out_dir)


if __name__ == "__main__":
    main()
