#!/usr/bin/env python3
"""Benchmark the FM-index kind against the suffix-array kind, infini-gram's SA and the fm-index package.

For a byte-level index of a JSONL corpus, in one run:
  1. builds (each a subprocess, measured as benchmarks/bench.py does: wall time and peak RSS of the
     whole process tree sampled every 50 ms): the FM kind (default sampling) and, unless
     ``--sa-index`` names an existing one, the suffix-array kind with the same workers/memory;
     index bytes / text bytes for both;
  2. warm latency (index files read once first) of ``count`` by query length (1 ... 1000 bytes,
     present queries cut from random documents), of locating one occurrence, and of reading
     1,000 bytes of document context around an occurrence, for the FM kind, the SA kind and
     infini-gram's engine (``--ig-index``); every count is compared across engines, ntd and
     infgram_ntd of sampled prompts FM vs SA;
  3. ``--fm-package``: the ``fm-index`` PyPI package (Rust, in memory) on the same text: build
     time, peak RSS, pickled size, count and locate latency (it has no document retrieval);
  4. ``--curve 8,16,32,64,128``: one FM build per SA sampling rate (ISA rate = 2x), its size and
     locate / document latency.
Writes OUT/fm_results.json and OUT/fm_results.md.

    python benchmarks/bench_fm.py --corpus /work/corpora/en/en.jsonl --out /work/scratch/fm/bench-en \
        --fm-package --curve 8,16,32,64,128
    python benchmarks/bench_fm.py --corpus /work/corpora/code_1g/code_1g.jsonl --out /work/scratch/fm/bench-code \
        --sa-index /work/bench-1g-c/anygram_index --ig-index /work/bench-1g-c/infinigram_index
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import shutil
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("anygram_bench", HERE / "bench.py")
B = importlib.util.module_from_spec(_spec)
sys.modules["anygram_bench"] = B
_spec.loader.exec_module(B)  # type: ignore[union-attr]

LENGTHS = (1, 2, 5, 10, 100, 1000)

BUILD = r"""
import dataclasses, json, sys, anygram
kw = json.loads(sys.argv[3])
s = anygram.build(sys.argv[1], sys.argv[2], progress=False, **kw)
print("BUILD_SUMMARY " + json.dumps(dataclasses.asdict(s)), flush=True)
"""


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def build(corpus: Path, out: Path, name: str, kw: dict[str, Any]) -> dict[str, Any]:
    idx = out / name
    shutil.rmtree(idx, ignore_errors=True)
    shutil.rmtree(idx.with_name(idx.name + ".partial"), ignore_errors=True)
    cmd = [sys.executable, "-c", BUILD, str(corpus), str(idx), json.dumps(kw)]
    log(f"building {name} {kw}")
    r = B.run_measured(cmd, out / "logs" / f"{name}_build.log")
    if r["returncode"] != 0:
        sys.exit(f"build {name} failed; see {r['log']}")
    summary = None
    for line in Path(r["log"]).read_text(errors="replace").splitlines():
        if line.startswith("BUILD_SUMMARY "):
            summary = json.loads(line[len("BUILD_SUMMARY ") :])
    r.update(index_dir=str(idx), index_bytes=B.dir_bytes(idx), params=kw, summary=summary)
    log(f"{name}: {r['wall_seconds']:.1f} s, peak RSS {r['peak_rss_bytes'] / 2**20:.0f} MiB, {r['index_bytes'] / 2**20:.1f} MiB")
    record(out, name, r)
    return r


def record(out: Path, name: str, r: dict[str, Any]) -> None:
    """Keep every measured build in OUT/builds.json (reused by --skip-build)."""
    path = out / "builds.json"
    d = json.loads(path.read_text()) if path.exists() else {}
    d[name] = r
    path.write_text(json.dumps(d, indent=1, default=str))


def queries(corpus: Any, rng: random.Random, n: int) -> dict[int, list[list[int]]]:
    out: dict[int, list[list[int]]] = {}
    for L in LENGTHS:
        qs = []
        for _ in range(n):
            d = corpus.random_doc(rng, L)
            i = rng.randrange(len(d) - L + 1)
            qs.append(list(d[i : i + L]))
        out[L] = qs
    return out


def timed(fn, argss, budget: float = 20.0) -> tuple[dict[str, Any], list[Any]]:
    times, outs = B.time_calls(fn, argss, budget)
    return B.stats(times), outs


def occurrence_args(idx: Any, qs: list[list[int]], rng: random.Random) -> list[tuple[int, int, int]]:
    """(shard, rank, m) of one random occurrence of each query (suffix order of that index)."""
    out = []
    for q in qs:
        fr = idx.find(q)
        if fr.cnt == 0:
            continue
        k = rng.randrange(fr.cnt)
        for s, (a, b) in enumerate(fr.segment_by_shard):
            if k < b - a:
                out.append((s, a + k, len(q)))
                break
            k -= b - a
    return out


def fm_locate(idx: Any):
    def f(s: int, r: int, m: int) -> int:
        return int(idx._positions(s, r, r + 1, m)[0]) * idx.token_width
    return f


def sa_locate(idx: Any):
    from anygram.engine._search import read_ptr

    def f(s: int, r: int, m: int) -> int:
        sh = idx.shards[s]
        return int(read_ptr(sh.sa, r, sh.ptr_size, sh.ds_size))
    return f


def doc_context(idx: Any, locate):
    def f(s: int, r: int, m: int) -> int:
        d = idx.get_doc_by_ptr(s, locate(s, r, m), max_disp_len=1000)
        return d.disp_len
    return f


def query_phase(args: argparse.Namespace, fm_dir: Path, sa_dir: Path | None, corpus: Any) -> dict[str, Any]:
    import anygram

    rng = random.Random(args.seed)
    qs = queries(corpus, rng, args.queries)
    res: dict[str, Any] = {"count": {}, "locate": {}, "doc_1000": {}, "agreement": {}}
    engines: dict[str, Any] = {"fm": anygram.open(fm_dir)}
    if sa_dir is not None:
        engines["sa"] = anygram.open(sa_dir)
    ig = None
    if args.ig_index:
        ig = B.make_ig_engine(str(args.ig_index))
    for name, d in (("fm", fm_dir), ("sa", sa_dir), ("infinigram", args.ig_index)):
        if d is not None:
            log(f"warming {name} ({B.warm_files(Path(d)) / 2**20:.0f} MiB)")
    # warm-up (JIT) then count by length
    for e in engines.values():
        for q in qs[5][:20]:
            e.count(q)
    counts: dict[str, dict[int, list[int]]] = {}
    for L in LENGTHS:
        row = {}
        for name, e in engines.items():
            st, outs = timed(lambda q, e=e: e.count(q).count, [(q,) for q in qs[L]])
            row[name] = st
            counts.setdefault(name, {})[L] = outs
        if ig is not None:
            st, outs = timed(lambda q: ig.count(q)["count"], [(q,) for q in qs[L]])
            row["infinigram"] = st
            counts.setdefault("infinigram", {})[L] = outs
        res["count"][L] = row
        log(f"count {L:>4} B: " + ", ".join(f"{k} {v['median_ms']:.3f} ms" for k, v in row.items()))
    agree = {}
    for name in counts:
        if name == "fm":
            continue
        agree[name] = all(counts["fm"][L][: len(counts[name][L])] == counts[name][L][: len(counts["fm"][L])] for L in LENGTHS)
    res["agreement"]["count_equal"] = agree
    # locate and document context for 10-byte queries (one random occurrence each)
    for L in (10, 100):
        for name, e in engines.items():
            loc = fm_locate(e) if name == "fm" else sa_locate(e)
            oa = occurrence_args(e, qs[L], rng)
            st, _ = timed(loc, oa)
            res["locate"].setdefault(L, {})[name] = st
            st, _ = timed(doc_context(e, loc), oa)
            res["doc_1000"].setdefault(L, {})[name] = st
        if ig is not None:
            oa = []
            for q in qs[L]:
                f = ig.find(q)
                segs = f["segment_by_shard"]
                tot = sum(b - a for a, b in segs)
                if tot:
                    k = rng.randrange(tot)
                    for s, (a, b) in enumerate(segs):
                        if k < b - a:
                            oa.append((s, a + k))
                            break
                        k -= b - a
            st, _ = timed(lambda s, r: ig.get_doc_by_rank(s=s, rank=r, max_disp_len=1000), oa)
            res["doc_1000"][L]["infinigram"] = st
        log(f"locate {L} B: " + ", ".join(f"{k} {v['median_ms']:.3f} ms" for k, v in res["locate"][L].items()))
        log(f"doc 1000 {L} B: " + ", ".join(f"{k} {v['median_ms']:.3f} ms" for k, v in res["doc_1000"][L].items()))
    # ntd / infgram_ntd: identical answers FM vs SA, and their latency
    if "sa" in engines:
        prompts = [q[:k] for q in qs[100][:60] for k in (1, 3, 8, 40)]
        same = all(engines["fm"].ntd(p).to_dict() == engines["sa"].ntd(p).to_dict() for p in prompts)
        same_inf = all(engines["fm"].infgram_ntd(p + [0x7E]).to_dict() == engines["sa"].infgram_ntd(p + [0x7E]).to_dict() for p in prompts[:100])
        res["agreement"].update(ntd_equal=same, infgram_ntd_equal=same_inf, prompts=len(prompts))
        for name in ("fm", "sa"):
            st, _ = timed(lambda p, e=engines[name]: e.ntd(p), [(p,) for p in prompts])
            res.setdefault("ntd", {})[name] = st
        log(f"agreement: {res['agreement']}; ntd fm {res['ntd']['fm']['median_ms']:.3f} ms sa {res['ntd']['sa']['median_ms']:.3f} ms")
    return res


FMPKG = r"""
import json, pickle, sys, time, random
from fm_index import FMIndex
texts = []
with open(sys.argv[1], "rb") as f:
    for line in f:
        t = json.loads(line).get("text")
        if isinstance(t, str): texts.append(t)
text = "\x01".join(texts)
t0 = time.perf_counter()
fm = FMIndex(text)
build = time.perf_counter() - t0
size = len(pickle.dumps(fm))
qs = json.loads(open(sys.argv[2]).read())
out = {"build_seconds": build, "pickle_bytes": size, "text_chars": len(text), "count": {}, "locate": {}}
for L, ql in qs.items():
    for q in ql[:5]: fm.count(q)
    ts, cs = [], []
    for q in ql:
        t = time.perf_counter(); c = fm.count(q); ts.append(time.perf_counter() - t); cs.append(c)
    out["count"][L] = {"times": ts, "counts": cs}
    ts = []
    for q, c in zip(ql, cs):
        if c > 1000: continue  # locate every occurrence: queries with at most 1,000
        t = time.perf_counter(); fm.locate(q); ts.append(time.perf_counter() - t)
    out["locate"][L] = {"times": ts}
print("FMPKG " + json.dumps(out), flush=True)
"""


def fm_package(args: argparse.Namespace, out: Path, corpus: Any) -> dict[str, Any]:
    rng = random.Random(args.seed + 1)
    qs: dict[str, list[str]] = {}
    for L in (1, 2, 5, 10, 100, 1000):
        ql = []
        while len(ql) < args.queries:
            d = corpus.random_doc(rng, L).decode("utf-8", errors="ignore")
            if len(d) >= L:
                i = rng.randrange(len(d) - L + 1)
                ql.append(d[i : i + L])
        qs[str(L)] = ql
    recorded = json.loads((out / "builds.json").read_text()) if (out / "builds.json").exists() else {}
    qpath = out / "fmpkg_queries.json"
    if "fmpkg" in recorded and not args.fresh_fm_package and qpath.exists():
        qs = json.loads(qpath.read_text())
    qpath.write_text(json.dumps(qs))
    recorded = json.loads((out / "builds.json").read_text()) if (out / "builds.json").exists() else {}
    if "fmpkg" in recorded and not args.fresh_fm_package:
        r = recorded["fmpkg"]  # reuse the measured run (its output is in its log)
    else:
        log("fm-index package: building in memory")
        r = B.run_measured([sys.executable, "-c", FMPKG, str(args.corpus), str(qpath)], out / "logs" / "fmpkg.log")
        record(out, "fmpkg", r)
    data = None
    for line in Path(r["log"]).read_text(errors="replace").splitlines():
        if line.startswith("FMPKG "):
            data = json.loads(line[6:])
    if data is None:
        return {"error": f"failed (rc {r['returncode']}), see {r['log']}"}
    res = {"wall_seconds": r["wall_seconds"], "peak_rss_bytes": r["peak_rss_bytes"], "build_seconds": data["build_seconds"],
           "pickle_bytes": data["pickle_bytes"], "text_chars": data["text_chars"], "count": {}, "locate": {}}
    for L in data["count"]:
        res["count"][L] = B.stats(data["count"][L]["times"])
        res["locate"][L] = B.stats(data["locate"][L]["times"])
    log(f"fm-index: build {data['build_seconds']:.1f} s, peak {r['peak_rss_bytes'] / 2**20:.0f} MiB, pickled {data['pickle_bytes'] / 2**20:.0f} MiB")
    # the same queries on the FM kind (character queries -> UTF-8 bytes)
    import anygram

    fm = anygram.open(out / "fm")
    for L, ql in qs.items():
        enc = [list(q.encode("utf-8")) for q in ql]
        st, _ = timed(lambda q: fm.count(q).count, [(q,) for q in enc])
        res["count"][L]["anygram_fm_median_ms"] = st.get("median_ms", float("nan"))
        # locate every occurrence, as the package's locate does
        def loc_all(q: list[int]) -> int:
            fr = fm.find(q)
            return sum(len(fm._positions(s, a, b, len(q))) for s, (a, b) in enumerate(fr.segment_by_shard))
        st, _ = timed(loc_all, [(q,) for q, c in zip(enc, data["count"][L]["counts"]) if c <= 1000], budget=30)
        res["locate"][L]["anygram_fm_median_ms"] = st.get("median_ms", float("nan"))
    return res


def curve(args: argparse.Namespace, out: Path, corpus: Any) -> list[dict[str, Any]]:
    import anygram

    rows = []
    rng = random.Random(args.seed + 2)
    qs = queries(corpus, rng, args.queries)[10]
    for s in [int(x) for x in args.curve.split(",") if x]:
        name = f"fm_s{s}"
        b = build(args.corpus, out, name, {"kind": "fm", "sa_sample": s, "isa_sample": 2 * s, "workers": args.workers, "max_memory": args.mem << 30, "rank": args.rank})
        idx = anygram.open(out / name)
        B.warm_files(out / name)
        oa = occurrence_args(idx, qs, rng)
        loc = fm_locate(idx)
        st_l, _ = timed(loc, oa)
        st_d, _ = timed(doc_context(idx, loc), oa)
        info = idx.info()
        rows.append({"sa_sample": s, "isa_sample": 2 * s, "index_bytes": b["index_bytes"], "ratio": b["index_bytes"] / args.text_bytes,
                     "sample_bytes": info.fm["sample_bytes"], "rank_bytes": info.fm["rank_bytes"], "locate": st_l, "doc_1000": st_d,
                     "build_seconds": b["wall_seconds"]})
        log(f"curve s={s}: {rows[-1]['ratio']:.3f}x, locate {st_l['median_ms']:.3f} ms, doc {st_d['median_ms']:.3f} ms")
        shutil.rmtree(out / name)
    return rows


def text_bytes(corpus: Any) -> int:
    total = 0
    for i in range(corpus.n):
        total += len(corpus.doc(i))
    return total


def write_md(res: dict[str, Any], path: Path) -> None:
    L = []
    tb = res["text_bytes"]
    L.append(f"# FM-index benchmark: {Path(res['corpus']).name}\n")
    L.append(f"Command: `{res['command']}`  \nMachine: {res['machine'].get('cpu_model', '')}, {res['machine'].get('logical_cores', '')} cores, {res['machine'].get('ram_bytes', 0) / 2**30:.0f} GiB RAM (shared); date {res['date']}; anygram {res['anygram_commit']}\n")
    L.append(f"Text: {tb:,} bytes of document text ({res['docs']:,} documents, {res['tokens']:,} tokens with separators).\n")
    L.append("## Size and build\n")
    L.append("| index | bytes | bytes / text byte | build wall (s) | build peak RSS (MiB) |")
    L.append("|---|---:|---:|---:|---:|")
    for name, b in res["builds"].items():
        L.append(f"| {name} | {b['index_bytes']:,} | {b['index_bytes'] / tb:.3f} | {b.get('wall_seconds', float('nan')):.1f} | {b.get('peak_rss_bytes', 0) / 2**20:.0f} |")
    if "fm" in res["builds"] and "sa" in res["builds"] and res["builds"]["sa"].get("wall_seconds"):
        fm, sa = res["builds"]["fm"], res["builds"]["sa"]
        L.append(f"\nFM / SA: size {fm['index_bytes'] / sa['index_bytes']:.3f}x, build wall {fm['wall_seconds'] / sa['wall_seconds']:.2f}x, peak RSS {fm['peak_rss_bytes'] / sa['peak_rss_bytes']:.2f}x\n")
    if res.get("fm_details"):
        L.append(f"FM parts: {json.dumps(res['fm_details'])}\n")
    q = res["queries"]
    L.append("## Warm latency, median ms (p99)\n")
    engines = list(next(iter(q["count"].values())).keys())
    L.append("| query | " + " | ".join(engines) + " |")
    L.append("|---|" + "---:|" * len(engines))
    for Lq, row in q["count"].items():
        L.append(f"| count {Lq} B | " + " | ".join(f"{row[e]['median_ms']:.3f} ({row[e]['p99_ms']:.3f})" if e in row else "" for e in engines) + " |")
    for kind in ("locate", "doc_1000"):
        for Lq, row in q[kind].items():
            label = "locate one occurrence" if kind == "locate" else "1,000 bytes of document"
            L.append(f"| {label} ({Lq} B query) | " + " | ".join(f"{row[e]['median_ms']:.3f} ({row[e]['p99_ms']:.3f})" if e in row else "n/a" for e in engines) + " |")
    if "ntd" in q:
        L.append(f"| ntd (exact, {q['agreement'].get('prompts')} prompts) | " + " | ".join(f"{q['ntd'][e]['median_ms']:.3f} ({q['ntd'][e]['p99_ms']:.3f})" if e in q["ntd"] else "n/a" for e in engines) + " |")
    L.append(f"\nAgreement: {json.dumps(q['agreement'])}\n")
    if res.get("fm_package"):
        p = res["fm_package"]
        L.append("## fm-index PyPI package (4.0.0, Rust, in memory) on the same text\n")
        if "error" in p:
            L.append(p["error"])
        else:
            L.append(f"Build {p['build_seconds']:.1f} s (process wall {p['wall_seconds']:.1f} s), peak RSS {p['peak_rss_bytes'] / 2**20:.0f} MiB, pickled index {p['pickle_bytes']:,} bytes ({p['pickle_bytes'] / tb:.2f}x the text). No document retrieval.\n")
            L.append("Median ms; locate = every occurrence, over the queries with at most 1,000 occurrences.\n")
            L.append("| query (chars) | fm-index count | anygram FM count | fm-index locate all | anygram FM locate all |")
            L.append("|---|---:|---:|---:|---:|")
            for k in p["count"]:
                c, l = p["count"][k], p["locate"][k]
                L.append(f"| {k} | {c['median_ms']:.4f} | {c['anygram_fm_median_ms']:.4f} | {l.get('median_ms', float('nan')):.4f} | {l['anygram_fm_median_ms']:.4f} |")
    if res.get("curve"):
        L.append("\n## Sampling rate: size / latency\n")
        L.append("| SA sample | ISA sample | bytes / text byte | samples (MiB) | rank (MiB) | locate median ms | 1,000-byte document median ms |")
        L.append("|---:|---:|---:|---:|---:|---:|---:|")
        for r in res["curve"]:
            L.append(f"| {r['sa_sample']} | {r['isa_sample']} | {r['ratio']:.3f} | {r['sample_bytes'] / 2**20:.1f} | {r['rank_bytes'] / 2**20:.1f} | {r['locate']['median_ms']:.3f} | {r['doc_1000']['median_ms']:.3f} |")
    path.write_text("\n".join(L) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--sa-index", type=Path, default=None, help="existing SA-kind index of the same corpus (else built in this run)")
    ap.add_argument("--no-sa", action="store_true", help="no SA-kind comparison at all")
    ap.add_argument("--ig-index", type=Path, default=None, help="infini-gram index of the same corpus (speed reference)")
    ap.add_argument("--fm-package", action="store_true", help="also run the fm-index PyPI package (in memory: small corpora only)")
    ap.add_argument("--curve", default="", help="SA sampling rates for the size/latency curve, e.g. 8,16,32,64,128")
    ap.add_argument("--fresh-fm-package", action="store_true", help="rerun the fm-index package even if OUT/builds.json records a run")
    ap.add_argument("--reuse-sa", action="store_true", help="rebuild the FM index only; the SA build measured earlier in OUT is reused")
    ap.add_argument("--skip-build", action="store_true", help="reuse OUT/fm (and OUT/sa) and their recorded build figures")
    ap.add_argument("--rank", default=None, help="rank structure (default: the builder's)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--mem", type=int, default=8, help="GiB for each build")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    import subprocess

    import anygram

    corpus = B.Corpus(B.corpus_files(args.corpus))
    args.text_bytes = text_bytes(corpus)
    res: dict[str, Any] = {
        "corpus": str(args.corpus), "command": " ".join([Path(sys.executable).name] + sys.argv), "machine": B.machine_info(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "text_bytes": args.text_bytes, "builds": {},
        "anygram_commit": subprocess.run(["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False).stdout.strip(),
    }
    kw = {"workers": args.workers, "max_memory": args.mem << 30}
    if args.skip_build:
        recorded = json.loads((out / "builds.json").read_text())
        res["builds"] = {k: v for k, v in recorded.items() if k in ("fm", "sa")}
    else:
        res["builds"]["fm"] = build(args.corpus, out, "fm", {**kw, "kind": "fm", "rank": args.rank})
        if args.reuse_sa:
            res["builds"]["sa"] = json.loads((out / "builds.json").read_text())["sa"]
        elif not args.no_sa and args.sa_index is None:
            res["builds"]["sa"] = build(args.corpus, out, "sa", kw)
    sa_dir = None if args.no_sa else (args.sa_index or out / "sa")
    if args.sa_index is not None:
        m = json.loads((args.sa_index / "manifest.json").read_text())
        res["builds"]["sa (existing index, builder's own figures)"] = {
            "index_bytes": B.dir_bytes(args.sa_index), "wall_seconds": m["build"].get("wall_seconds", float("nan")),
            "peak_rss_bytes": m["build"].get("peak_rss_bytes", 0), "index_dir": str(args.sa_index)}
    if args.ig_index is not None:
        res["builds"]["infinigram (existing)"] = {"index_bytes": B.dir_bytes(args.ig_index), "wall_seconds": float("nan"), "peak_rss_bytes": 0}
    fm = anygram.open(out / "fm")
    info = fm.info()
    res.update(tokens=info.total_tokens, docs=info.total_docs, fm_details=info.fm)
    res["queries"] = query_phase(args, out / "fm", sa_dir, corpus)
    if args.fm_package:
        res["fm_package"] = fm_package(args, out, corpus)
    if args.curve:
        res["curve"] = curve(args, out, corpus)
    (out / "fm_results.json").write_text(json.dumps(res, indent=1, default=str))
    write_md(res, out / "fm_results.md")
    log(f"wrote {out / 'fm_results.md'}")


if __name__ == "__main__":
    main()
