#!/usr/bin/env python3
"""Benchmark ``anygram dedup`` against the index build of the same corpus, in the same run.

Target (issue 4, section 3): on a 1 GB corpus, the wall time of the deduplication is at most
2x the wall time of building its index. Both run as subprocesses of this script, one after the
other, measured identically (wall clock; peak RSS of the process tree sampled every 50 ms with
psutil; the machine's load average before and after each step is recorded, since the machine may
be shared):

  0. (not timed) a warm-up build + dedup of the corpus's first 50 records in two shards, so that
     numba's compiled kernels are cached: the timed dedup measures the work, not the JIT
  1. ``anygram index CORPUS -o SCRATCH/index --workers W``
  2. ``anygram dedup SCRATCH/index -o SCRATCH/out --workers W -k K``: from the index alone (the
     documents and their metadata are rebuilt from it; for this JSONL corpus the output is the
     same as with the corpus given), writing the deduplicated copy, the report and the plot

then writes OUT.json and OUT.md (figures, ratio, PASS/MISS, the dedup report's summary).

    python benchmarks/bench_dedup.py --corpus CORPORA/code_1g/code_1g.jsonl \\
        --scratch /tmp/dedup-bench --out benchmarks/results/dedup_code_1g
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil

TARGET_RATIO = 2.0
SRC = Path(__file__).resolve().parent.parent / "src"


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    try:
        total += proc.memory_info().rss
        for c in proc.children(recursive=True):
            try:
                total += c.memory_info().rss
            except psutil.Error:
                pass
    except psutil.Error:
        pass
    return total


def run_measured(cmd: list[str], log: Path) -> dict[str, Any]:
    """Run ``cmd``; wall seconds, peak RSS of its process tree, exit code, load averages."""
    env = dict(os.environ, PYTHONPATH=str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    with open(log, "wb") as err:
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, env=env)
        ps = psutil.Process(p.pid)
        peak = [0]
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                peak[0] = max(peak[0], _tree_rss(ps))
                time.sleep(0.05)

        th = threading.Thread(target=sample, daemon=True)
        th.start()
        out, _ = p.communicate()
        stop.set()
        th.join()
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed with exit code {p.returncode}; see {log}")
    return {"cmd": cmd, "wall_seconds": wall, "peak_rss_bytes": peak[0], "load_before": load_before, "load_after": os.getloadavg(), "result": json.loads(out)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", required=True, help="JSONL corpus")
    ap.add_argument("--scratch", required=True, help="scratch directory (index + deduplicated copy; emptied first)")
    ap.add_argument("--out", required=True, help="results prefix: writes OUT.json and OUT.md")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("-k", type=int, default=50)
    ap.add_argument("--mode", default="first", choices=("first", "all"))
    args = ap.parse_args()

    scratch = Path(args.scratch)
    if scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir(parents=True)
    py = sys.executable
    # warm-up (not timed): compile and cache the numba kernels for a 2-shard index, as the
    # benchmark's index has, so that the timed run measures the work and not the JIT
    warm = scratch / "warmup"
    warm.mkdir()
    with open(args.corpus, "rb") as src:
        lines = [src.readline() for _ in range(50)]
    lines = [x for x in lines if x]
    (warm / "w.jsonl").write_bytes(b"".join(lines))
    half = len(lines) // 2
    budget = max(sum(map(len, lines[:half])), sum(map(len, lines[half:]))) + 1024  # two shards
    run_measured([py, "-m", "anygram", "index", str(warm / "w.jsonl"), "-o", str(warm / "index"), "--workers", "1", "--shard-tokens", str(budget), "--json"], warm / "build.log")
    run_measured([py, "-m", "anygram", "dedup", str(warm / "w.jsonl"), "--index", str(warm / "index"), "-o", str(warm / "out"), "--workers", str(args.workers), "-k", str(args.k), "--json"], warm / "dedup.log")
    shutil.rmtree(warm)
    build = run_measured([py, "-m", "anygram", "index", args.corpus, "-o", str(scratch / "index"), "--workers", str(args.workers), "--json"], scratch / "build.log")
    dd = run_measured(
        [py, "-m", "anygram", "dedup", str(scratch / "index"), "-o", str(scratch / "out"),
         "--workers", str(args.workers), "-k", str(args.k), "--mode", args.mode, "--json"],
        scratch / "dedup.log",
    )
    ratio = dd["wall_seconds"] / build["wall_seconds"]
    r = dd["result"]
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=SRC.parent, check=False).stdout.strip()
    record = {
        "corpus": args.corpus,
        "corpus_bytes": os.path.getsize(args.corpus),
        "k": args.k,
        "mode": args.mode,
        "workers": args.workers,
        "machine": {"cpus": os.cpu_count(), "ram_bytes": psutil.virtual_memory().total, "platform": platform.platform(), "python": platform.python_version()},
        "git": git,
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "build": build,
        "dedup": dd,
        "ratio_dedup_over_build": ratio,
        "target_ratio": TARGET_RATIO,
        "pass": ratio <= TARGET_RATIO,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(record, indent=1) + "\n")
    gb = 1 << 30
    lines = [
        f"# anygram dedup vs index build — {Path(args.corpus).name}",
        "",
        (
            f"{record['date']}, git {git}, {record['machine']['cpus']} CPUs, {record['machine']['ram_bytes'] / gb:.1f} GiB RAM, "
            f"{args.workers} workers, k = {args.k}, mode = {args.mode}. Command:"
        ),
        "",
        "```",
        f"python benchmarks/bench_dedup.py --corpus {args.corpus} --scratch {args.scratch} --out {args.out} --workers {args.workers} -k {args.k} --mode {args.mode}",
        "```",
        "",
        "| step | wall (s) | peak RSS (GiB) | load avg before → after |",
        "|---|---|---|---|",
        f"| build (`anygram index`) | {build['wall_seconds']:.1f} | {build['peak_rss_bytes'] / gb:.2f} | {build['load_before'][0]:.1f} → {build['load_after'][0]:.1f} |",
        f"| dedup (`anygram dedup`) | {dd['wall_seconds']:.1f} | {dd['peak_rss_bytes'] / gb:.2f} | {dd['load_before'][0]:.1f} → {dd['load_after'][0]:.1f} |",
        "",
        f"**dedup / build = {ratio:.2f}x** (target ≤ {TARGET_RATIO:.0f}x): **{'PASS' if ratio <= TARGET_RATIO else 'MISS'}**",
        "",
        "Dedup phases (s): " + ", ".join(f"{k} {v:.1f}" for k, v in r["seconds"].items()),
        "",
        (
            f"Result: {r['docs_in']} documents in, {r['docs_out']} out, {r['docs_touched']} touched, {r['docs_dropped']} dropped; "
            f"{r['bytes_removed']:,} of {r['bytes_in']:,} bytes removed ({100 * r['bytes_removed'] / max(1, r['bytes_in']):.1f}%) "
            f"in {r['spans_removed']:,} spans; {r['duplicated_kgrams']:,} distinct duplicated {args.k}-grams, {r['duplicated_windows']:,} occurrences."
        ),
        "",
        "Peak RSS counts the memory-mapped index and flag files the process touched (file-backed page cache, reclaimable).",
        "",
        "Top duplicated strings:",
        "",
        "| count | first doc | span tokens | text |",
        "|---|---|---|---|",
    ]
    for t in r["top"][:10]:
        shown = json.dumps(t["text"], ensure_ascii=False)[1:-1][:60].replace("|", "\\|").replace("`", "'")
        lines.append(f"| {t['count']} | {t['doc_ix']} | {t['span_tokens']} | `{shown}` |")
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
