"""Benchmark: ``Index.attribute`` (anygram trace) against infini-gram 2.6.0's ``attribute``.

Same corpus, same inputs, same parameters, measured in the same run, text by text (the two
engines alternate, so both see the same page-cache state):

* inputs: ``--n`` model-output-like texts: half are passages of corpus documents, half are items
  of the evaluation sets in ``--benchdata`` (HumanEval, MBPP, GSM8K), each mutated (one
  character replaced at a random place in every ``--mutate-every`` characters, so verbatim spans
  are broken as in generated text);
* configurations: ``plain`` (min_len 32 bytes, max_cnt 10) and ``olmotrace`` (delimiters "\\n"
  and ".", spans on word boundaries with whitespace as beginning-of-word bytes, min_len 16,
  max_cnt 10);
* infini-gram returns every span with all its occurrence pointers (at most max_cnt = 10).
  anygram is timed twice: ``anygram (pointers)`` returns the same, every span with all its
  occurrences as (shard, ptr) (``max_docs=10, documents=False``): the like-for-like comparison;
  ``anygram (documents)`` also fetches each occurrence's document (metadata, 50 bytes of
  context either side, decoded text), what ``anygram trace`` shows;
* every text runs once untimed on both engines first (JIT, page cache), then ``--repeat`` times
  timed, keeping each text's minimum per engine (scheduling noise on a shared machine only adds
  time, and infini-gram, which runs a thread per position, may take more CPU share from other
  jobs than a single-threaded call); the two anygram variants alternate which runs first for a
  text (the first pays its page faults);
* checks: identical spans (l, r, count), unigram log-probability sums (infini-gram with
  ``precompute_unigram_logprobs``), and the same occurrences (document line number and offset
  in the document, since the two indexes shard differently). infini-gram's creativity quirk
  (docs/compat.md, quirk 5) is counted separately if it ever makes spans differ.

Writes ``OUT.json`` and ``OUT.md``. Example::

    python benchmarks/bench_trace.py --anygram-index bench-1g/anygram_index \\
        --infinigram-index bench-1g/infinigram_index --corpus CORPORA/code_1g/code_1g.jsonl \\
        --benchdata ../shared/benchdata --out benchmarks/results/trace_code_1g
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import anygram

BOW = [9, 10, 13, 32]
CONFIGS = {
    "plain": {"delim_ids": [], "min_len": 32, "max_cnt": 10, "enforce_bow": False},
    "olmotrace": {"delim_ids": [10, 46], "min_len": 16, "max_cnt": 10, "enforce_bow": True},
}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def corpus_passages(path: Path, n: int, rng: random.Random, lo: int, hi: int) -> list[str]:
    """``n`` passages of ``lo``..``hi`` characters from documents spread over the whole file."""
    size = path.stat().st_size
    out = []
    with open(path, "rb") as f:
        while len(out) < n:
            f.seek(rng.randrange(size))
            f.readline()
            line = f.readline()
            if not line:
                continue
            text = json.loads(line)["text"]
            if len(text) < hi + 10:
                continue
            length = rng.randrange(lo, hi)
            a = rng.randrange(len(text) - length)
            out.append(text[a : a + length])
    return out


def benchdata_items(root: Path, n: int, rng: random.Random, hi: int) -> list[str]:
    items: list[str] = []
    with gzip.open(root / "humaneval" / "HumanEval.jsonl.gz", "rt", encoding="utf-8") as f:
        items += [r["prompt"] + r["canonical_solution"] for r in map(json.loads, f)]
    with open(root / "mbpp" / "mbpp.jsonl", encoding="utf-8") as f:
        items += [r["code"] for r in map(json.loads, f)]
    with open(root / "gsm8k" / "test.jsonl", encoding="utf-8") as f:
        items += [r["question"] + "\n" + r["answer"] for r in map(json.loads, f)]
    rng.shuffle(items)
    return [t[:hi] for t in items[:n]]


def mutate(text: str, every: int, rng: random.Random) -> str:
    chars = list(text)
    for j in range(0, len(chars), every):
        k = rng.randrange(j, min(len(chars), j + every))
        chars[k] = rng.choice("xqzjk")
    return "".join(chars)


def doc_key(idx: anygram.Index, shard: int, ptr: int) -> tuple[int, int]:
    """(line number of the document in the corpus file, token offset in it) of an occurrence."""
    d = idx.get_doc_by_ptr(shard, ptr, 1)
    sh = idx.shards[shard]
    start, _ = sh.doc_span(d.doc_ix - int(idx._doc_base[shard]))
    return int(d.metadata.get("linenum", -1)), (ptr - start) // sh.token_width


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, math.ceil(q * len(xs)) - 1)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--anygram-index", required=True, type=Path)
    ap.add_argument("--infinigram-index", required=True, type=Path, help="infini-gram's byte-level (u8) index of the same corpus")
    ap.add_argument("--corpus", required=True, type=Path, help="the corpus JSONL (passages are taken from it)")
    ap.add_argument("--benchdata", required=True, type=Path, help="folder with humaneval/, mbpp/, gsm8k/")
    ap.add_argument("--out", required=True, type=Path, help="output path without extension (.json and .md are written)")
    ap.add_argument("--n", type=int, default=300, help="texts (half corpus passages, half benchmark items)")
    ap.add_argument("--min-chars", type=int, default=300)
    ap.add_argument("--max-chars", type=int, default=1000)
    ap.add_argument("--mutate-every", type=int, default=60)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per text and engine; the minimum is kept")
    ap.add_argument("--warmup", type=int, default=5, help="untimed texts first (with --no-warm-pass)")
    ap.add_argument("--no-warm-pass", dest="warm_pass", action="store_false",
                    help="do not run every text once untimed before timing (then the first engine to touch a page pays its miss)")
    args = ap.parse_args()

    from infini_gram import cpp_engine

    rng = random.Random(args.seed)
    log("sampling inputs")
    texts = [mutate(t, args.mutate_every, rng) for t in corpus_passages(args.corpus, args.n // 2, rng, args.min_chars, args.max_chars)]
    texts += [mutate(t, args.mutate_every, rng) for t in benchdata_items(args.benchdata, args.n - args.n // 2, rng, args.max_chars)]
    sources = ["corpus"] * (args.n // 2) + ["benchdata"] * (args.n - args.n // 2)

    ag = anygram.open(args.anygram_index)
    ig_as_ag = anygram.open(args.infinigram_index, verify="sizes")
    t0 = time.perf_counter()
    ig = cpp_engine.Engine_U8([str(args.infinigram_index)], 255, 255, 4, False, 1, 3, 3, set(BOW), 512, True, {})
    ig_open = time.perf_counter() - t0
    ids_all = [ag.tokenize(t) for t in texts]
    log(f"{len(texts)} texts, {sum(map(len, ids_all))} bytes; infini-gram engine opened in {ig_open:.2f} s")

    results: dict[str, Any] = {}
    for cname, cfg in CONFIGS.items():
        kw = dict(cfg, bow_ids=BOW)
        # untimed pass over every text: JIT, and both indexes' pages that these queries touch
        for ids in ids_all if args.warm_pass else ids_all[: args.warmup]:
            ag.attribute(ids, **kw, max_docs=10, context=50)
            ig.attribute(ids, cfg["delim_ids"], cfg["min_len"], cfg["max_cnt"], cfg["enforce_bow"])
        t_ag, t_ag0, t_ig = [], [], []
        spans_total = span_diff = occ_diff = sum_diff = quirk = docs_total = 0
        examples = []
        for i, ids in enumerate(ids_all):
            # the two anygram variants share the index's pages: the first to run pays the page
            # faults of this text, so they alternate who goes first (infini-gram in between).
            # Each text runs --repeat times; its time is the minimum (scheduling noise on a
            # shared machine only ever adds time).
            def run_docs(ids: list[int] = ids, kw: dict = kw) -> tuple[Any, float]:
                t = time.perf_counter()
                return ag.attribute(ids, **kw, max_docs=10, context=50), time.perf_counter() - t

            def run_ptrs(ids: list[int] = ids, kw: dict = kw) -> tuple[Any, float]:
                t = time.perf_counter()
                return ag.attribute(ids, **kw, max_docs=10, documents=False), time.perf_counter() - t

            da = dp = di = math.inf
            for rep in range(args.repeat):
                first, second = (run_docs, run_ptrs) if (i + rep) % 2 == 0 else (run_ptrs, run_docs)
                r1, d1 = first()
                a1 = time.perf_counter()
                b = ig.attribute(ids, cfg["delim_ids"], cfg["min_len"], cfg["max_cnt"], cfg["enforce_bow"])
                di = min(di, time.perf_counter() - a1)
                r2, d2 = second()
                (a, x), (p, y) = ((r1, d1), (r2, d2)) if first is run_docs else ((r2, d2), (r1, d1))
                da, dp = min(da, x), min(dp, y)
            t_ag.append(da)
            t_ig.append(di)
            t_ag0.append(dp)
            sa = [(s.l, s.r, s.count) for s in a.spans]
            sb = [(s.l, s.r, s.count) for s in b.spans]
            spans_total += len(sb)
            if sa != sb:
                lens_ig = [r - l for l, r in enumerate(ig.creativity(ids).rs)]
                lens_ag = [r - l for l, r in enumerate(ag.creativity(ids).rs)]
                if lens_ig != lens_ag:
                    quirk += 1
                else:
                    span_diff += 1
                    if len(examples) < 5:
                        examples.append({"text": i, "anygram": sa[:20], "infinigram": sb[:20]})
                continue
            for x, y, z in zip(a.spans, b.spans, p.spans):
                docs_total += len(x.docs)
                if x.occurrences != z.occurrences or [(d.shard, d.ptr) for d in x.docs] != x.occurrences:
                    occ_diff += 1
                if not math.isclose(x.unigram_logprob_sum, y.unigram_logprob_sum, rel_tol=1e-9):
                    sum_diff += 1
                ka = sorted(doc_key(ag, sh, ptr) for sh, ptr in z.occurrences)
                kb = sorted(doc_key(ig_as_ag, d.s, d.ptr) for d in y.docs)
                if ka != kb:
                    occ_diff += 1
                    if len(examples) < 5:
                        examples.append({"text": i, "span": [x.l, x.r], "anygram": ka, "infinigram": kb})
            if (i + 1) % 50 == 0:
                log(f"{cname}: {i + 1}/{len(ids_all)} texts; anygram {sum(t_ag):.2f} s, infini-gram {sum(t_ig):.2f} s")
        res = {
            "params": cfg,
            "texts": len(ids_all),
            "spans": spans_total,
            "docs_returned_by_anygram": docs_total,
            "span_disagreements": span_diff,
            "unigram_sum_disagreements": sum_diff,
            "occurrence_disagreements": occ_diff,
            "infinigram_quirk5_texts": quirk,
            "examples": examples,
        }
        for name, ts in (("anygram", t_ag), ("anygram_pointers", t_ag0), ("infinigram", t_ig)):
            res[name] = {"total_s": sum(ts), "median_ms": 1e3 * statistics.median(ts), "p90_ms": 1e3 * pct(ts, 0.9), "p99_ms": 1e3 * pct(ts, 0.99)}
        res["speedup_total"] = sum(t_ig) / sum(t_ag0)
        res["speedup_median"] = statistics.median(t_ig) / statistics.median(t_ag0)
        res["speedup_total_documents"] = sum(t_ig) / sum(t_ag)
        res["speedup_median_documents"] = statistics.median(t_ig) / statistics.median(t_ag)
        res["by_source"] = {
            src: {"speedup_total": sum(t for t, s in zip(t_ig, sources) if s == src) / sum(t for t, s in zip(t_ag0, sources) if s == src),
                  "speedup_total_documents": sum(t for t, s in zip(t_ig, sources) if s == src) / sum(t for t, s in zip(t_ag, sources) if s == src)}
            for src in ("corpus", "benchdata")
        }
        results[cname] = res
        log(f"{cname}: speedup {res['speedup_total']:.1f}x (total), {res['speedup_median']:.1f}x (median), with documents "
            f"{res['speedup_total_documents']:.1f}x / {res['speedup_median_documents']:.1f}x; "
            f"span disagreements {span_diff}, occurrence {occ_diff}, sums {sum_diff}, quirk {quirk}")

    import psutil

    out = {
        "command": " ".join([Path(sys.executable).name] + sys.argv),
        "machine": {"cpu_count": os.cpu_count(), "ram_bytes": psutil.virtual_memory().total, "python": platform.python_version(),
                    "platform": platform.platform()},
        "versions": {"anygram": anygram.__version__ if hasattr(anygram, "__version__") else None, "anygram_path": str(Path(anygram.__file__).parent)},
        "repeat": args.repeat,
        "inputs": {"n": len(texts), "bytes": sum(map(len, ids_all)), "min_chars": args.min_chars, "max_chars": args.max_chars,
                   "mutate_every": args.mutate_every, "seed": args.seed},
        "anygram_settings": {"max_docs": 10, "context": 50, "bow_ids": BOW},
        "results": results,
    }
    try:
        import importlib.metadata as md

        out["versions"]["infini-gram"] = md.version("infini-gram")
        out["versions"]["numba"] = md.version("numba")
    except Exception:  # noqa: BLE001
        pass
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(out, indent=1))
    os.replace(tmp, args.out.with_suffix(".json"))
    args.out.with_suffix(".md").write_text(render_md(out))
    log(f"wrote {args.out}.json / .md")
    return 0


def render_md(out: dict[str, Any]) -> str:
    L = ["# anygram trace (`Index.attribute`) vs infini-gram `attribute`", ""]
    L.append(f"Command: `{out['command']}`")
    L.append("")
    inp = out["inputs"]
    L.append(f"Inputs: {inp['n']} texts ({inp['bytes']:,} bytes; half corpus passages, half HumanEval/MBPP/GSM8K items, "
             f"{inp['min_chars']}–{inp['max_chars']} characters, one character replaced per {inp['mutate_every']}), seed {inp['seed']}. "
             f"Machine: {out['machine']['cpu_count']} cores, {out['machine']['ram_bytes'] / 2**30:.1f} GiB; versions {out['versions']}.")
    L.append("")
    L.append("infini-gram returns every span with all its occurrence pointers (≤ max_cnt = 10). `anygram (pointers)` returns the same "
             "(`max_docs=10, documents=False`): the like-for-like comparison. `anygram (documents)` also fetches every occurrence's "
             "document with metadata and 50 bytes of context either side (what `anygram trace` shows). Speed-up = infini-gram time / "
             "anygram time, same texts, same run, after one untimed pass over all texts on both engines; "
             f"each text's time is the minimum of {out['repeat']} runs (per engine and variant).")
    L.append("")
    L.append("| config | spans | infini-gram total / median / p99 | anygram (pointers) total / median / p99 | speed-up total (median) | anygram (documents) total / median / p99 | speed-up total (median) | span / occurrence / sum disagreements | quirk-5 texts |")
    L.append("|---|---|---|---|---|---|---|---|---|")
    for c, r in out["results"].items():
        a, a0, i = r["anygram"], r["anygram_pointers"], r["infinigram"]
        L.append(f"| {c} `{json.dumps(r['params'])}` | {r['spans']} | {i['total_s']:.2f} s / {i['median_ms']:.1f} ms / {i['p99_ms']:.1f} ms | "
                 f"{a0['total_s']:.2f} s / {a0['median_ms']:.1f} ms / {a0['p99_ms']:.1f} ms | **{r['speedup_total']:.1f}×** ({r['speedup_median']:.1f}×) | "
                 f"{a['total_s']:.2f} s / {a['median_ms']:.1f} ms / {a['p99_ms']:.1f} ms | {r['speedup_total_documents']:.1f}× ({r['speedup_median_documents']:.1f}×) | "
                 f"{r['span_disagreements']} / {r['occurrence_disagreements']} / {r['unigram_sum_disagreements']} | {r['infinigram_quirk5_texts']} |")
    L.append("")
    for c, r in out["results"].items():
        L.append(f"- {c}: speed-up by source (pointers / documents): " + ", ".join(
            f"{k} {v['speedup_total']:.1f}× / {v['speedup_total_documents']:.1f}×" for k, v in r["by_source"].items()))
        for ex in r["examples"]:
            L.append(f"  - example disagreement: `{json.dumps(ex)[:600]}`")
    L.append("")
    return "\n".join(L)


if __name__ == "__main__":
    sys.exit(main())
