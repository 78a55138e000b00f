#!/usr/bin/env python3
"""Benchmark contamination checking: anygram's one-pass contamination vs infini-gram's ``count``
called on every window, on the same corpus, in the same run.

For the benchmarks given (default: GSM8K test, HumanEval, MBPP from the shared benchmark data),
with their default fields (see docs/contamination.md):
  1. the windows criterion (every overlapping window of ``--window`` characters) on a comparison
     set of items -- all items, or a fixed random subset (``--seed``) when infini-gram's loop
     would exceed ``--ig-budget`` seconds (estimated on a pilot) -- timed for
     (a) ``anygram.analyses.contamination.score_items(..., criteria=("windows",), threads=1)``,
     (b) the same with 2 threads, and
     (c) infini-gram 2.6.0's ``Engine_U8.count`` on each window's bytes in a Python loop (the
         text is encoded once; each window is a slice), one thread;
     and the per-window verdicts compared window by window: infini-gram's, and anygram's from the
     longest-match pass (``window_verdicts``), which also cross-checks (a) (``spans_present``,
     used when the longest-span criterion is off) through the found-window counts;
  2. the whole sets with every criterion (windows, 8-grams, longest span + 3 documents each) on
     ``--threads`` threads (default 2): wall time per benchmark, label rates.
Every file of both indexes is read once (page cache) and both tools run a pilot before timing. Writes OUT.json and OUT.md.

    python benchmarks/bench_contam.py --dir /work/bench-1g-c --benchdata ../shared/benchdata \\
        --out benchmarks/results/contam_code_1g

``--dir`` holds ``anygram_index`` and ``infinigram_index`` of the same corpus (as bench.py makes).
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import json
import os
import platform
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

DEFAULT_BENCHES = ("gsm8k/test.jsonl", "humaneval/HumanEval.jsonl.gz", "mbpp/mbpp.jsonl")


def make_ig(index_dir: str):
    # the C++ engine directly, as bench.py does (the Python wrapper refuses u8 with eos 255)
    from infini_gram import cpp_engine

    return cpp_engine.Engine_U8([index_dir], 255, 255, 4, False, 1, 3, 3, set(), 512, False, {})


def warm(folder: Path) -> float:
    """Read every file of an index once (page cache), as bench.py does before timing; returns seconds."""
    t0 = time.perf_counter()
    for f in sorted(folder.iterdir()):
        if f.is_file():
            with open(f, "rb") as fh:
                while fh.read(1 << 24):
                    pass
    return time.perf_counter() - t0


def ig_windows(eng, text: str, w: int) -> np.ndarray:
    raw = text.encode("utf-8")
    ids = list(raw)
    bo = [i for i, b in enumerate(raw) if (b & 0xC0) != 0x80] + [len(raw)]
    nw = max(0, len(bo) - 1 - w + 1)
    out = np.zeros(nw, bool)
    for k in range(nw):
        out[k] = eng.count(ids[bo[k] : bo[k + w]]).count > 0
    return out


def _commit() -> str:
    import subprocess

    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True, cwd=Path(__file__).parent).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", type=Path, required=True, help="folder with anygram_index and infinigram_index")
    ap.add_argument("--benchdata", type=Path, required=True, help="the shared benchmark data folder")
    ap.add_argument("--bench", action="append", help=f"benchmark paths relative to --benchdata (default: {', '.join(DEFAULT_BENCHES)})")
    ap.add_argument("--out", type=Path, required=True, help="output prefix: OUT.json and OUT.md")
    ap.add_argument("--window", type=int, default=50)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ig-budget", type=float, default=900.0, help="seconds infini-gram's loop may take (else a random subset)")
    ap.add_argument("--pilot", type=int, default=30, help="items per benchmark in the warm-up pilot")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-warm", action="store_true", help="do not read the index files before timing")
    if "--render" in sys.argv:  # re-render OUT.md from a saved OUT.json
        src = Path(sys.argv[sys.argv.index("--render") + 1])
        src.with_suffix(".md").write_text(render_md(json.loads(src.read_text())))
        return 0
    args = ap.parse_args()

    import anygram
    from anygram.analyses.benchmarks import load_benchmark
    from anygram.analyses.contamination import ContamParams, _Scorer, contamination, score_items

    load_start = os.getloadavg()
    benches = [load_benchmark(args.benchdata / b) for b in (args.bench or DEFAULT_BENCHES)]
    ag = anygram.open(args.dir / "anygram_index")
    ig = make_ig(str(args.dir / "infinigram_index"))
    w = args.window
    rng = random.Random(args.seed)
    wparams = ContamParams(criteria=("windows",), window=w, docs=0)
    scorer = _Scorer(ag, wparams)

    if not args.no_warm:
        for d in ("anygram_index", "infinigram_index"):
            print(f"read {d} once: {warm(args.dir / d):.1f} s", flush=True)
    # ---- pilot: warm both indexes and estimate infini-gram's time per window
    pilot = [it for b in benches for it in rng.sample(b.items, min(args.pilot, len(b.items)))]
    score_items(ag, pilot, wparams, threads=1)
    t0 = time.perf_counter()
    nwin = 0
    for it in pilot:
        nwin += ig_windows(ig, it.text, w).shape[0]
    ig_per_window = (time.perf_counter() - t0) / max(1, nwin)
    all_items = [(b.name, it) for b in benches for it in b.items]
    total_windows = sum(max(0, len(it.text) - w + 1) for _, it in all_items)
    projected = total_windows * ig_per_window
    if projected <= args.ig_budget:
        comp = all_items
        subset = "all items"
    else:
        frac = args.ig_budget / projected
        comp = [x for x in all_items if rng.random() < frac]
        subset = f"random subset: {len(comp)} of {len(all_items)} items (seed {args.seed}, each kept with p={frac:.3f})"
    comp_windows = sum(max(0, len(it.text) - w + 1) for _, it in comp)
    print(f"pilot: {ig_per_window * 1e6:.1f} us per infini-gram count; projected {projected:.0f} s for all {total_windows} windows; comparing on {subset}", flush=True)

    items = [it for _, it in comp]
    # ---- (a), (b) anygram
    t0 = time.perf_counter()
    r1 = score_items(ag, items, wparams, threads=1)
    ag1 = time.perf_counter() - t0
    t0 = time.perf_counter()
    r2 = score_items(ag, items, wparams, threads=args.threads)
    ag2 = time.perf_counter() - t0
    # ---- (c) infini-gram loop
    t0 = time.perf_counter()
    ig_verdicts = [ig_windows(ig, it.text, w) for it in items]
    igt = time.perf_counter() - t0
    print(f"anygram 1 thread {ag1:.2f} s, {args.threads} threads {ag2:.2f} s; infini-gram loop {igt:.2f} s", flush=True)
    # ---- agreement, window by window
    disagree = 0
    items_disagree = 0
    found_windows = 0
    for it, igv, res in zip(items, ig_verdicts, r1.item_results):
        agv = scorer.window_verdicts(it.text)
        d = int(np.count_nonzero(agv != igv)) if agv.shape == igv.shape else max(agv.shape[0], igv.shape[0])
        disagree += d
        items_disagree += d > 0
        found_windows += int(agv.sum())
        if res.windows.found != int(agv.sum()):
            items_disagree += 1
    same_labels = sum(a.windows.label == b.windows.label for a, b in zip(r1.item_results, r2.item_results))

    # ---- whole sets, every criterion, on --threads threads
    t0 = time.perf_counter()
    rep = contamination(ag, benches, threads=args.threads, docs=3)
    whole = time.perf_counter() - t0

    per_bench = []
    for r in rep.results:
        per_bench.append({
            "benchmark": r.benchmark, "items": r.items, "seconds": round(r.seconds, 3),
            "windows": r.windows.to_dict(), "ngrams": r.ngrams.to_dict(), "longest": r.longest.to_dict(),
        })
    res = {
        "command": "python benchmarks/bench_contam.py " + " ".join(sys.argv[1:]),
        "commit": _commit(),
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(), "loadavg_start": load_start, "loadavg_end": os.getloadavg()},
        "versions": {"anygram": anygram.__version__, "infini-gram": md.version("infini-gram"), "numpy": np.__version__},
        "index": {"anygram": str(args.dir / "anygram_index"), "infinigram": str(args.dir / "infinigram_index"), "total_tokens": ag.total_tokens},
        "params": {"window": w, "threads": args.threads, "seed": args.seed, "ig_budget": args.ig_budget},
        "benchmarks": [b.describe() for b in benches],
        "comparison": {
            "set": subset, "items": len(items), "windows": comp_windows, "found_windows": found_windows,
            "anygram_1thread_s": ag1, f"anygram_{args.threads}threads_s": ag2, "infinigram_loop_s": igt,
            "ratio_1thread": igt / ag1, f"ratio_{args.threads}threads": igt / ag2,
            "infinigram_us_per_window": igt / max(1, comp_windows) * 1e6,
            "window_disagreements": disagree, "items_with_disagreement": items_disagree,
            "labels_same_1_vs_n_threads": same_labels,
        },
        "whole_sets": {"threads": args.threads, "criteria": rep.params["criteria"], "wall_s": whole, "per_benchmark": per_bench},
    }
    out = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(res, indent=1))
    text = render_md(res)
    out.with_suffix(".md").write_text(text)
    print(text)
    return 0


def render_md(res: dict) -> str:
    """The Markdown report of a results dict (also: ``--render OUT.json`` re-renders a saved run)."""
    c = res["comparison"]
    p = res["params"]
    m = res["machine"]
    t = p["threads"]
    ls, le = m["loadavg_start"], m["loadavg_end"]
    ag1, ag2, igt = c["anygram_1thread_s"], c[f"anygram_{t}threads_s"], c["infinigram_loop_s"]
    lines = [
        "# Contamination benchmark: anygram vs infini-gram `count` per window",
        "",
        f"Command: `{res['command']}`",
        "",
        (
            f"Corpus index: {res['index']['total_tokens']:,} tokens (bytes); machine: {m['cpus']} CPUs, Python {m['python']}; "
            f"anygram {res['versions']['anygram']} (commit {res.get('commit', '?')}), infini-gram {res['versions']['infini-gram']}. "
            f"Load average (1/5/15 min) at start {ls[0]:.1f}/{ls[1]:.1f}/{ls[2]:.1f}, at end {le[0]:.1f}/{le[1]:.1f}/{le[2]:.1f} "
            "(a shared machine: other jobs ran during the measurement)."
        ),
        "",
        f"## Windows criterion ({p['window']}-character windows), {c['set']}",
        "",
        f"{c['items']} items, {c['windows']:,} windows, {c['found_windows']:,} found in the corpus.",
        "",
        "| tool | wall (s) | speed-up vs infini-gram loop |",
        "|---|---:|---:|",
        f"| infini-gram `count` per window (1 thread) | {igt:.2f} | 1.0x |",
        f"| anygram `score_items(criteria=('windows',))`, 1 thread | {ag1:.2f} | **{igt / ag1:.1f}x** |",
        f"| anygram `score_items(criteria=('windows',))`, {t} threads | {ag2:.2f} | {igt / ag2:.1f}x |",
        "",
        (
            f"Agreement: {c['window_disagreements']} of {c['windows']:,} window verdicts differ between infini-gram and anygram "
            f"({c['items_with_disagreement']} items with a difference). Target >= 10x faster: "
            f"{'PASS' if igt / ag1 >= 10 else 'MISS'} (1 thread vs 1 thread)."
        ),
        "",
        f"## Whole sets, every criterion (windows, 8-grams, longest span + 3 documents), {t} threads",
        "",
        f"Total wall time (loading excluded): {res['whole_sets']['wall_s']:.2f} s.",
        "",
        "| benchmark | items | wall (s) | windows dirty | suspicious | clean | too short | 8-gram dirty | mean longest (chars) | max longest (chars) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for b in res["whole_sets"]["per_benchmark"]:
        wr, nr, lg = b["windows"]["rates"], b["ngrams"]["rates"], b["longest"]
        lines.append(
            f"| {b['benchmark']} | {b['items']} | {b['seconds']:.2f} | {wr['dirty']:.1%} | {wr['suspicious']:.1%} | {wr['clean']:.1%} "
            f"| {wr['too_short']:.1%} | {nr['dirty']:.1%} | {lg['mean_chars']:.1f} | {lg['max_chars']} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
