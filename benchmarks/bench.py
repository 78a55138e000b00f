#!/usr/bin/env python3
"""Benchmark anygram against the official infini-gram package, in the same run, on the same corpus.

Measures, for a byte-level (u8) index of a JSONL corpus:
  1. build: wall time, peak RSS of the whole process tree (psutil, sampled every 50 ms), index
     bytes and bytes per token -- each builder runs as a subprocess, measured identically;
  2. warm query latency (index files read once before timing) of count, prob, ntd (exact),
     infgram_prob, infgram_ntd (exact), creativity / longest_matches of a 500-byte text, and
     anygram ``score`` of a 1,000-token document vs infini-gram's ``infgram_prob`` at every
     position, for present and absent queries of 1, 2, 5, 10, 100, 1000 tokens (bytes);
  3. agreement: every answer of both engines is compared;
  4. a fresh-process one-shot count (``anygram count IDX TEXT`` vs a python process importing
     infini-gram, opening the index and counting);
then writes OUT/results.json, OUT/results.md (tables, ratios vs targets, PASS/MISS) and
OUT/latency.png.

Corpora: make them with the project's script ``shared/corpora/make_corpora.sh OUT_DIR`` (needs
root on Debian 12, ~8 GB free, ~5 minutes); it writes OUT_DIR/{code_200m,code_1g,en}/NAME.jsonl.

    pip install -e . && pip install infini-gram==2.6.0 transformers matplotlib psutil
    python benchmarks/bench.py --corpus CORPORA/code_200m/code_200m.jsonl --out bench-200m
    python benchmarks/bench.py --corpus CORPORA/code_200m/code_200m.jsonl --out bench-200m --skip-build
    python benchmarks/bench.py --corpus small.jsonl --out /tmp/b --quick

See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.metadata as md
import json
import math
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

LENGTHS = (1, 2, 5, 10, 100, 1000)
KINDS = ("present", "absent")
CREATIVITY_LEN = 500
SCORE_LEN = 1000
MUTATE_EVERY = 50  # "absent" creativity/score texts: one mutated byte per 50
INFINI_MAX_SUPPORT = 10**12  # large enough for an exact ntd at any corpus size here
ENGINES = ("anygram", "infinigram")
AG_DIR, IG_DIR = "anygram_index", "infinigram_index"

# --------------------------------------------------------------------------- targets
# (key, description, ratio anygram/infini-gram must be <= this) ; score is a speedup (>=)
TARGETS = {
    "build_wall": 0.1,
    "build_rss": 0.35,
    "bytes_per_token": 1.0,
    "count_median": 0.5,
    "count_p99": 1.0,
    "prob_median": 0.5,
    "prob_p99": 1.0,
    "infgram_prob_median": 0.5,
    "ntd_median": 0.2,
    "infgram_ntd_median": 0.2,
    "creativity_median": 0.1,
    "score_speedup": 20.0,
    "oneshot_count": 2.0,
}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --------------------------------------------------------------------------- machine
def machine_info() -> dict[str, Any]:
    import psutil

    cpu = platform.processor()
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass

    def ver(name: str) -> str | None:
        try:
            return md.version(name)
        except md.PackageNotFoundError:
            return None

    commit, dirty, where = None, None, None
    try:
        import anygram

        pkg = Path(anygram.__file__).resolve().parent
        where = str(pkg)
        git = ["git", "-C", str(pkg)]
        commit = subprocess.run(git + ["rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10).stdout.strip() or None
        if commit:
            dirty = bool(subprocess.run(git + ["status", "--porcelain", "--", "."], capture_output=True, text=True, timeout=10).stdout.strip())
    except Exception:
        pass
    return {
        "cpu_model": cpu,
        "logical_cores": os.cpu_count(),
        "physical_cores": psutil.cpu_count(logical=False),
        "ram_bytes": psutil.virtual_memory().total,
        "os": platform.platform(),
        "python": platform.python_version(),
        "numpy": ver("numpy"),
        "numba": ver("numba"),
        "anygram": ver("anygram"),
        "anygram_commit": commit,
        "anygram_uncommitted_changes": dirty,
        "anygram_package": where,
        "infini-gram": ver("infini-gram"),
        "transformers": ver("transformers"),
    }


# --------------------------------------------------------------------------- corpus
def corpus_files(corpus: Path) -> list[Path]:
    if corpus.is_file():
        return [corpus]
    files = sorted(p for p in corpus.rglob("*") if p.is_file() and re.search(r"\.jsonl?(\.gz)?$", p.name))
    if not files:
        sys.exit(f"error: no .jsonl/.json(.gz) files under {corpus}")
    return files


def _open(path: Path):
    return gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")


class Corpus:
    """Random access to the documents (UTF-8 bytes of the "text" field) of JSONL files."""

    def __init__(self, files: list[Path]) -> None:
        self.files = files
        self.lines: list[tuple[int, int]] = []  # (file index, byte offset) for plain files
        self.gz_docs: list[bytes] = []
        for fi, p in enumerate(files):
            if p.name.endswith(".gz"):
                with _open(p) as f:
                    for line in f:
                        if line.strip():
                            self.gz_docs.append(line)
                continue
            with open(p, "rb") as f:
                off = 0
                for line in f:
                    if line.strip():
                        self.lines.append((fi, off))
                    off += len(line)
        self.n = len(self.lines) + len(self.gz_docs)
        self.size_bytes = sum(p.stat().st_size for p in files)
        self._fh: dict[int, Any] = {}

    def doc(self, i: int) -> bytes:
        if i >= len(self.lines):
            line = self.gz_docs[i - len(self.lines)]
        else:
            fi, off = self.lines[i]
            f = self._fh.get(fi) or self._fh.setdefault(fi, open(self.files[fi], "rb"))
            f.seek(off)
            line = f.readline()
        text = json.loads(line).get("text")
        if not isinstance(text, str):
            return b""
        return text.encode("utf-8", errors="surrogatepass")

    def random_doc(self, rng: random.Random, min_len: int, tries: int = 2000) -> bytes:
        for _ in range(tries):
            d = self.doc(rng.randrange(self.n))
            if len(d) >= min_len:
                return d
        raise RuntimeError(f"no document of >= {min_len} bytes found in {tries} draws")


# --------------------------------------------------------------------------- process tree RSS
def run_measured(cmd: list[str], log_path: Path, env: dict[str, str] | None = None, interval: float = 0.05) -> dict[str, Any]:
    """Run ``cmd``; wall time and peak of the summed RSS of the process and all its descendants."""
    import psutil

    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as lf:
        lf.write((" ".join(cmd) + "\n").encode())
        lf.flush()
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=lf, stderr=subprocess.STDOUT, env=env)
        peak = 0
        samples = 0
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak, samples
            try:
                root = psutil.Process(proc.pid)
            except psutil.NoSuchProcess:
                return
            while not stop.is_set():
                total = 0
                try:
                    procs = [root] + root.children(recursive=True)
                except psutil.NoSuchProcess:
                    break
                for p in procs:
                    try:
                        total += p.memory_info().rss
                    except (psutil.NoSuchProcess, psutil.AccessDenied):
                        pass
                peak = max(peak, total)
                samples += 1
                stop.wait(interval)

        th = threading.Thread(target=sample, daemon=True)
        th.start()
        rc = proc.wait()
        wall = time.perf_counter() - t0
        stop.set()
        th.join()
    return {"returncode": rc, "wall_seconds": wall, "peak_rss_bytes": peak, "rss_samples": samples, "log": str(log_path)}


def drop_caches() -> bool:
    try:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def dir_bytes(d: Path) -> int:
    return sum(p.stat().st_size for p in d.rglob("*") if p.is_file())


def warm_files(d: Path) -> int:
    """Read every file of an index once so that queries are timed with it in the page cache."""
    n = 0
    for p in sorted(d.rglob("*")):
        if p.is_file():
            with open(p, "rb", buffering=0) as f:
                while True:
                    b = f.read(64 << 20)
                    if not b:
                        break
                    n += len(b)
    return n


# --------------------------------------------------------------------------- builds
AG_BUILD = r"""
import dataclasses, json, sys, anygram
s = anygram.build(sys.argv[1], sys.argv[2], workers=int(sys.argv[3]), max_memory=int(sys.argv[4]), progress=False)
print("BUILD_SUMMARY " + json.dumps(dataclasses.asdict(s)), flush=True)
"""


def build_anygram(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    idx = out / AG_DIR
    if idx.exists():
        shutil.rmtree(idx)
    shutil.rmtree(idx.with_name(idx.name + ".partial"), ignore_errors=True)
    dropped = drop_caches() if args.drop_caches else False
    cmd = [sys.executable, "-c", AG_BUILD, str(args.corpus), str(idx), str(args.workers), str(args.mem << 30)]
    log(f"building anygram index -> {idx}")
    r = run_measured(cmd, out / "logs" / "anygram_build.log")
    if r["returncode"] != 0:
        sys.exit(f"anygram build failed (rc={r['returncode']}); see {r['log']}")
    summary = None
    for line in Path(r["log"]).read_text(errors="replace").splitlines():
        if line.startswith("BUILD_SUMMARY "):
            summary = json.loads(line[len("BUILD_SUMMARY ") :])
    import anygram

    ix = anygram.open(idx)
    r.update(caches_dropped=dropped, command=cmd[:1] + ["-c", "<anygram.build(...)>"] + cmd[3:], index_dir=str(idx), index_bytes=dir_bytes(idx), tokens=ix.total_tokens, docs=ix.total_docs, shards=ix.num_shards, anygram_summary=summary)
    r["bytes_per_token"] = r["index_bytes"] / r["tokens"]
    log(f"anygram build: {r['wall_seconds']:.1f} s, peak RSS {r['peak_rss_bytes'] / 2**20:.0f} MiB, {r['bytes_per_token']:.3f} B/token, {ix.num_shards} shards")
    return r


def build_infinigram(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    idx = (out / IG_DIR).resolve()
    if idx.exists():
        shutil.rmtree(idx)
    if args.corpus.is_file():  # the indexer wants a directory of *.json* files (absolute path)
        data_dir = (out / "infinigram_input").resolve()
        shutil.rmtree(data_dir, ignore_errors=True)
        data_dir.mkdir(parents=True)
        (data_dir / args.corpus.name).symlink_to(args.corpus.resolve())
    else:
        data_dir = args.corpus.resolve()
    dropped = drop_caches() if args.drop_caches else False
    cmd = [sys.executable, "-m", "infini_gram.indexing", "--data_dir", str(data_dir), "--save_dir", str(idx), "--token_dtype", "u8", "--cpus", str(args.workers), "--mem", str(args.mem), "--shards", "1", "--add_metadata"]
    # its default --ulimit (1048576 open files) fails where the hard limit is lower
    import resource

    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    cmd += ["--ulimit", str(1048576 if hard == resource.RLIM_INFINITY else min(hard, 1048576))]
    log(f"building infini-gram index -> {idx}")
    env = dict(os.environ, TRANSFORMERS_VERBOSITY="error", TOKENIZERS_PARALLELISM="false")
    r = run_measured(cmd, out / "logs" / "infinigram_build.log", env=env)
    if r["returncode"] != 0 or not (idx / "table.0").exists():
        sys.exit(f"infini-gram build failed (rc={r['returncode']}); see {r['log']}")
    tokens = sum(p.stat().st_size for p in idx.glob("tokenized.*"))  # u8: one byte per token
    docs = sum(p.stat().st_size for p in idx.glob("offset.*")) // 8
    r.update(caches_dropped=dropped, command=cmd, index_dir=str(idx), index_bytes=dir_bytes(idx), tokens=tokens, docs=docs, shards=1)
    r["bytes_per_token"] = r["index_bytes"] / r["tokens"]
    log(f"infini-gram build: {r['wall_seconds']:.1f} s, peak RSS {r['peak_rss_bytes'] / 2**20:.0f} MiB, {r['bytes_per_token']:.3f} B/token")
    return r


# --------------------------------------------------------------------------- engines
class AnygramEngine:
    name = "anygram"

    def __init__(self, path: Path) -> None:
        import anygram

        self.ix = anygram.open(path)

    # raw calls (timed)
    def count(self, q):
        return self.ix.count(q)

    def prob(self, p, c):
        return self.ix.prob(p, c)

    def ntd(self, p):
        return self.ix.ntd(p)

    def infgram_prob(self, p, c):
        return self.ix.infgram_prob(p, c)

    def infgram_ntd(self, p):
        return self.ix.infgram_ntd(p)

    def creativity(self, t):
        return self.ix.creativity(t)

    def longest_matches(self, t):
        return self.ix.longest_matches(t)

    def score(self, doc):
        return self.ix.score(doc)

    # normalisation (not timed)
    @staticmethod
    def norm(kind: str, r: Any) -> Any:
        if kind == "count":
            return r.count
        if kind == "prob":
            return (r.prompt_cnt, r.cont_cnt, round(r.prob, 12) if r.prompt_cnt else -1.0)
        if kind == "ntd":
            return (r.prompt_cnt, {int(t): v.cont_cnt for t, v in r.result_by_token_id.items()}, bool(r.approx))
        if kind == "infgram_prob":
            return (r.prompt_cnt, r.cont_cnt, round(r.prob, 12) if r.prompt_cnt else -1.0, r.suffix_len)
        if kind == "infgram_ntd":
            return (r.prompt_cnt, {int(t): v.cont_cnt for t, v in r.result_by_token_id.items()}, bool(r.approx), r.suffix_len)
        if kind == "creativity":
            return list(r.rs)
        if kind == "longest_matches":
            return [m.start + m.length for m in r.matches]
        if kind == "score":
            return list(zip(r.suffix_lens, r.prompt_cnts, r.cont_cnts))
        raise KeyError(kind)


IG_MAKE = r"""
def make_ig_engine(index_dir):
    # InfiniGramEngine(index_dir=D, eos_token_id=255, vocab_size=256, token_dtype='u8', version=4)
    # is impossible: the wrapper asserts eos_token_id < vocab_size while the u8 C++ engine stores
    # vocab_size in a byte (256 -> "incompatible constructor arguments"). So the wrapper object is
    # made around the C++ engine directly, with eos 255 (the separator, as anygram) and vocab 255.
    from infini_gram import cpp_engine
    from infini_gram.engine import InfiniGramEngine
    e = InfiniGramEngine.__new__(InfiniGramEngine)
    e.max_support, e.max_clause_freq, e.max_diff_tokens, e.maxnum, e.max_disp_len = 1000, 50000, 100, 1, 1000
    e.token_id_max = 255
    e.engine = cpp_engine.Engine_U8([index_dir], 255, 255, 4, False, 1, 3, 3, set(), 512, False, {})
    return e
"""
exec(IG_MAKE)


class InfinigramEngine:
    name = "infinigram"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.e = make_ig_engine(str(path))

    def shard_ends_with(self, p: bytes) -> bool:
        """Whether the last bytes of some shard's token file are ``p``."""
        for f in self.path.glob("tokenized.*"):
            with open(f, "rb") as fh:
                size = f.stat().st_size
                if size >= len(p):
                    fh.seek(size - len(p))
                    if fh.read() == p:
                        return True
        return False

    def _ok(self, r):
        if isinstance(r, dict) and "error" in r:
            raise RuntimeError(f"infini-gram error: {r['error']}")
        return r

    def count(self, q):
        return self.e.count(q)

    def prob(self, p, c):
        return self.e.prob(p, c)

    def ntd(self, p):
        return self.e.ntd(p, max_support=INFINI_MAX_SUPPORT)

    def infgram_prob(self, p, c):
        return self.e.infgram_prob(p, c)

    def infgram_ntd(self, p):
        return self.e.infgram_ntd(p, max_support=INFINI_MAX_SUPPORT)

    def creativity(self, t):
        return self.e.creativity(t)

    longest_matches = None  # anygram only

    def score(self, doc):
        # infini-gram has no whole-document pass: infgram_prob at every position
        return [self.e.infgram_prob(doc[:i], doc[i]) for i in range(len(doc))]

    def norm(self, kind: str, r: Any) -> Any:
        if kind == "score":
            return [(x["suffix_len"], x["prompt_cnt"], x["cont_cnt"]) for x in (self._ok(y) for y in r)]
        r = self._ok(r)
        if kind == "count":
            return r["count"]
        if kind == "prob":
            return (r["prompt_cnt"], r["cont_cnt"], round(r["prob"], 12) if r["prompt_cnt"] else -1.0)
        if kind == "ntd":
            return (r["prompt_cnt"], {int(t): v["cont_cnt"] for t, v in r["result_by_token_id"].items()}, bool(r["approx"]))
        if kind == "infgram_prob":
            return (r["prompt_cnt"], r["cont_cnt"], round(r["prob"], 12) if r["prompt_cnt"] else -1.0, r["suffix_len"])
        if kind == "infgram_ntd":
            return (r["prompt_cnt"], {int(t): v["cont_cnt"] for t, v in r["result_by_token_id"].items()}, bool(r["approx"]), r["suffix_len"])
        if kind == "creativity":
            return list(r["rs"])
        raise KeyError(kind)


# --------------------------------------------------------------------------- query sets
def mutate(q: list[int], rng: random.Random, pos: int | None = None) -> list[int]:
    q = list(q)
    i = rng.randrange(len(q)) if pos is None else pos
    old = q[i]
    while q[i] == old:
        q[i] = rng.randrange(255)  # never 0xff, the document separator
    return q


def make_queries(corpus: Corpus, n: int, n_texts: int, engines: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """Present/absent prompts (with their next byte) per length, and 500/1000-byte texts."""
    qs: dict[str, Any] = {"prompts": {}, "creativity": {}, "score": {}, "absent_failures": 0}
    for L in LENGTHS:
        present, absent = [], []
        for _ in range(n):
            d = corpus.random_doc(rng, L + 1)
            s = rng.randrange(len(d) - L)
            present.append((list(d[s : s + L]), d[s + L]))
        for p, c in present:
            for _attempt in range(200):
                q = mutate(p, rng)
                if all(eng.norm("count", eng.count(q)) == 0 for eng in engines.values()):
                    absent.append((q, c))
                    break
                if _attempt % 20 == 19:  # many absent 1-byte values are rare: resample the base
                    d = corpus.random_doc(rng, L + 1)
                    s = rng.randrange(len(d) - L)
                    p, c = list(d[s : s + L]), d[s + L]
            else:
                qs["absent_failures"] += 1
        qs["prompts"][L] = {"present": present, "absent": absent}
    for key, length in (("creativity", CREATIVITY_LEN), ("score", SCORE_LEN)):
        pres, muts = [], []
        for _ in range(n_texts):
            d = corpus.random_doc(rng, length)
            s = 0 if key == "score" else rng.randrange(len(d) - length + 1)
            t = list(d[s : s + length])
            pres.append(t)
            m = list(t)
            for i in range(0, length, MUTATE_EVERY):
                m = mutate(m, rng, i + rng.randrange(min(MUTATE_EVERY, length - i)))
            muts.append(m)
        qs[key] = {"present": pres, "absent": muts}
    return qs


# --------------------------------------------------------------------------- timing
def time_calls(fn: Callable, argss: list[tuple], budget: float) -> tuple[list[float], list[Any]]:
    times, outs = [], []
    t_start = time.perf_counter()
    for a in argss:
        t0 = time.perf_counter()
        r = fn(*a)
        times.append(time.perf_counter() - t0)
        outs.append(r)
        if time.perf_counter() - t_start > budget:
            break
    return times, outs


def stats(times: list[float]) -> dict[str, Any]:
    if not times:
        return {"n": 0}
    a = np.asarray(times)
    return {"n": len(times), "median_ms": float(np.median(a) * 1e3), "p99_ms": float(np.percentile(a, 99) * 1e3), "mean_ms": float(a.mean() * 1e3), "max_ms": float(a.max() * 1e3)}


def short(x: Any, limit: int = 300) -> str:
    s = repr(x)
    return s if len(s) <= limit else s[:limit] + "..."


def ig_ntd_collapse(ig: Any, prompt: list[int], x: Any, y: Any) -> bool:
    """A known infini-gram defect, not an anygram error: its exact ntd is a divide and conquer that
    counts a whole range as one token when the first and last next tokens are equal after mapping
    both "end of the shard" and "document separator" to eos. When the prompt occurs at the very
    end of the shard (the corpus ends with it), the first suffix of its range ends the shard and the
    last is followed by a separator, so infini-gram reports {eos: prompt_cnt}. Recognised when
    infini-gram answered exactly that, the counts agree, and the shard ends with the (suffix) prompt."""
    pc_x, dist_x = x[0], x[1]
    pc_y, dist_y = y[0], y[1]
    if pc_x != pc_y or dist_y != {255: pc_y} or len(dist_x) < 2 or sum(dist_x.values()) != pc_x:
        return False
    L = y[3] if len(y) > 3 else len(prompt)
    p = bytes(prompt[len(prompt) - L :])
    return ig.shard_ends_with(p)


def ig_creativity_short(ig: Any, text: list[int], x: Any, y: Any) -> bool:
    """A known infini-gram defect: its creativity sometimes reports a shorter span than occurs
    (its neighbour-LCP shortcut misses the match, e.g. when the query sorts before every suffix).
    Recognised, at every position where the answers differ, by infini-gram's *own* counts: the
    span anygram reports occurs (count > 0) and cannot be extended by one token (count 0)."""
    if not (isinstance(x, list) and isinstance(y, list) and len(x) == len(y) == len(text)):
        return False
    for p, (a, b) in enumerate(zip(x, y)):
        if a == b:
            continue
        if a < b or ig.count(text[p:a])["count"] <= 0:
            return False
        if a < len(text) and ig.count(text[p : a + 1])["count"] != 0:
            return False
    return True


def run_cell(engines: dict[str, Any], kind: str, argss: list[tuple], budget: float, agreement: dict[str, Any]) -> dict[str, Any]:
    """Time every engine on the same arguments; compare their normalised answers."""
    cell: dict[str, Any] = {}
    outs: dict[str, list[Any]] = {}
    times: dict[str, list[float]] = {}
    args_now = argss
    for name, eng in engines.items():
        fn = getattr(eng, kind, None)
        if fn is None:
            continue
        t, o = time_calls(fn, args_now, budget)
        times[name], outs[name] = t, o
        if len(t) < len(args_now):  # budget exhausted: the other engine runs the same prefix
            args_now = args_now[: len(t)]
    n = min(len(t) for t in times.values()) if times else 0
    for name in times:
        cell[name] = stats(times[name][:n])
    cell["n_planned"] = len(argss)
    cell["n"] = n
    if len(outs) == 2:
        ag, ig = engines["anygram"], engines["infinigram"]
        a = agreement.setdefault(kind, {"compared": 0, "disagreements": 0, "examples": []})
        for i in range(n):
            x, y = ag.norm(kind, outs["anygram"][i]), ig.norm(kind, outs["infinigram"][i])
            a["compared"] += 1
            if x != y:
                quirk = (kind in ("ntd", "infgram_ntd") and ig_ntd_collapse(ig, argss[i][0], x, y)) or (
                    kind in ("creativity", "longest_matches_vs_creativity") and ig_creativity_short(ig, list(argss[i][0]), x, y)
                )
                if quirk:
                    a["infinigram_quirk"] = a.get("infinigram_quirk", 0) + 1
                    if len(a.setdefault("quirk_examples", [])) < 2:
                        a["quirk_examples"].append({"query": short(argss[i]), "anygram": short(x), "infinigram": short(y)})
                    continue
                a["disagreements"] += 1
                if len(a["examples"]) < 5:
                    detail = {"query": short(argss[i]), "anygram": short(x), "infinigram": short(y)}
                    if isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
                        j = next(k for k in range(len(x)) if x[k] != y[k])
                        detail.update(first_diff_position=j, anygram_at=x[j], infinigram_at=y[j])
                    a["examples"].append(detail)
        ma, mi = cell["anygram"].get("median_ms"), cell["infinigram"].get("median_ms")
        pa, pi = cell["anygram"].get("p99_ms"), cell["infinigram"].get("p99_ms")
        if ma is not None and mi:
            cell["ratio_median"] = ma / mi
            cell["ratio_p99"] = pa / pi
    return cell


def warmup(engines: dict[str, Any], qs: dict[str, Any]) -> None:
    """Compile every anygram kernel (numba JIT) and touch every infini-gram path once."""
    p, c = qs["prompts"][10]["present"][0]
    t5 = qs["creativity"]["present"][0]
    for eng in engines.values():
        for _ in range(2):
            eng.count(p)
            eng.prob(p, c)
            eng.ntd(p)
            eng.infgram_prob(p, c)
            eng.infgram_ntd(p)
            eng.creativity(t5)
            if eng.longest_matches is not None:
                eng.longest_matches(t5)
            eng.score(qs["score"]["present"][0][:50])


def run_queries(args: argparse.Namespace, engines: dict[str, Any], qs: dict[str, Any]) -> tuple[dict, dict]:
    lat: dict[str, Any] = {}
    agreement: dict[str, Any] = {}
    for kind in ("count", "prob", "ntd", "infgram_prob", "infgram_ntd"):
        for L in LENGTHS:
            for pk in KINDS:
                items = qs["prompts"][L][pk]
                argss = [(q,) for q, _ in items] if kind in ("count", "ntd", "infgram_ntd") else [(q, c) for q, c in items]
                cell = run_cell(engines, kind, argss, args.cell_budget, agreement)
                lat.setdefault(kind, {}).setdefault(str(L), {})[pk] = cell
                log(f"{kind:13s} L={L:<5d} {pk:8s} " + "  ".join(f"{e}: med {cell[e].get('median_ms', float('nan')):.4f} ms p99 {cell[e].get('p99_ms', float('nan')):.4f} ms" for e in engines) + (f"  ratio {cell['ratio_median']:.3f}" if "ratio_median" in cell else "") + (f"  (n={cell['n']}/{cell['n_planned']})" if cell["n"] < cell["n_planned"] else ""))
    for kind, L in (("creativity", CREATIVITY_LEN), ("longest_matches", CREATIVITY_LEN), ("score", SCORE_LEN)):
        src = "score" if kind == "score" else "creativity"
        for pk in KINDS:
            argss = [(t,) for t in qs[src][pk]]
            cell = run_cell(engines, kind, argss, args.cell_budget, agreement)
            if kind == "score" and "infinigram" in cell and "anygram" in cell and cell["n"]:
                cell["speedup"] = cell["infinigram"]["median_ms"] / cell["anygram"]["median_ms"]
            lat.setdefault(kind, {}).setdefault(str(L), {})[pk] = cell
            log(f"{kind:13s} L={L:<5d} {pk:8s} " + "  ".join(f"{e}: med {cell[e]['median_ms']:.3f} ms" for e in engines if e in cell and cell[e].get("n")) + (f"  ratio {cell['ratio_median']:.3f}" if "ratio_median" in cell else ""))
    # the anygram-only longest_matches agrees with infini-gram creativity (same spans)
    if "infinigram" in engines and "anygram" in engines:
        a = agreement.setdefault("longest_matches_vs_creativity", {"compared": 0, "disagreements": 0, "examples": []})
        for pk in KINDS:
            for t in qs["creativity"][pk]:
                x = engines["anygram"].norm("longest_matches", engines["anygram"].longest_matches(t))
                y = engines["infinigram"].norm("creativity", engines["infinigram"].creativity(t))
                a["compared"] += 1
                if x != y:
                    if ig_creativity_short(engines["infinigram"], list(t), x, y):
                        a["infinigram_quirk"] = a.get("infinigram_quirk", 0) + 1
                        continue
                    a["disagreements"] += 1
                    if len(a["examples"]) < 5:
                        a["examples"].append({"query": short(t), "anygram": short(x), "infinigram": short(y)})
    return lat, agreement


# --------------------------------------------------------------------------- one-shot
IG_ONESHOT = "import sys\n" + IG_MAKE + r"""
e = make_ig_engine(sys.argv[1])
print(e.count(list(sys.argv[2].encode('utf-8')))['count'])
"""
AG_ONESHOT = r"""
import sys, anygram
print(anygram.open(sys.argv[1]).count(sys.argv[2]).count)
"""


def _first_int(s: str) -> int | None:
    m = re.search(r"\d+", s.replace(",", ""))
    return int(m.group()) if m else None


def oneshot(args: argparse.Namespace, out: Path, qs: dict[str, Any]) -> dict[str, Any]:
    text = "the"
    for q, _ in qs["prompts"][10]["present"]:
        try:
            t = bytes(q).decode("utf-8")
        except UnicodeDecodeError:
            continue
        if t.isprintable() and t.strip() == t and not t.startswith("-"):
            text = t
            break
    ag_idx, ig_idx = str(out / AG_DIR), str((out / IG_DIR).resolve())
    cmds = {}
    res: dict[str, Any] = {"text": text, "runs": args.oneshot_runs}
    if "anygram" in args.engines:
        cli = shutil.which("anygram")
        cmd = [cli, "count", ag_idx, text] if cli else None
        mode = "anygram CLI"
        if cmd is not None:
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                res["anygram_cli_error"] = (r.stderr or r.stdout).strip().splitlines()[-1:] or [f"rc={r.returncode}"]
                cmd = None
        if cmd is None:
            cmd = [sys.executable, "-c", AG_ONESHOT, ag_idx, text]
            mode = "python -c 'anygram.open(IDX).count(TEXT)' (anygram CLI unavailable)"
        cmds["anygram"] = cmd
        res["anygram_mode"] = mode
    if "infinigram" in args.engines:
        cmds["infinigram"] = [sys.executable, "-c", IG_ONESHOT, ig_idx, text]
    times: dict[str, list[float]] = {k: [] for k in cmds}
    counts: dict[str, Any] = {}
    # a user's Python caches bytecode; PYTHONDONTWRITEBYTECODE (set on some CI images) would make
    # every run recompile both packages' sources, so it is dropped for both engines alike
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    res["env_note"] = "PYTHONDONTWRITEBYTECODE unset for both engines; first run untimed"
    for k, cmd in cmds.items():  # untimed first run: numba cache, bytecode, page cache
        r = subprocess.run(cmd, capture_output=True, text=True, env=env)
        counts[k] = _first_int(r.stdout)
    for _ in range(args.oneshot_runs):
        for k, cmd in cmds.items():
            t0 = time.perf_counter()
            r = subprocess.run(cmd, capture_output=True, text=True, env=env)
            times[k].append(time.perf_counter() - t0)
            if r.returncode != 0:
                res.setdefault("errors", {})[k] = r.stderr[-500:]
    for k in cmds:
        res[k] = {"median_s": statistics.median(times[k]), "times_s": times[k], "count": counts[k], "command": [c if c != AG_ONESHOT and c != IG_ONESHOT else "<script>" for c in cmds[k]]}
    if len(cmds) == 2:
        res["ratio"] = res["anygram"]["median_s"] / res["infinigram"]["median_s"]
        res["counts_agree"] = counts["anygram"] == counts["infinigram"]
    log(f"one-shot count {text!r}: " + ", ".join(f"{k} {res[k]['median_s']:.3f} s" for k in cmds) + (f", ratio {res['ratio']:.2f}" if "ratio" in res else ""))
    return res


# --------------------------------------------------------------------------- report
def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "**MISS**")


def fmt_ms(x: float | None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:.3f}" if x < 10 else f"{x:.1f}"


def targets_table(res: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    b = res.get("build", {})
    if "anygram" in b and "infinigram" in b:
        for key, field, label in (("build_wall", "wall_seconds", "build wall time"), ("build_rss", "peak_rss_bytes", "build peak RSS (process tree)"), ("bytes_per_token", "bytes_per_token", "index bytes / token")):
            r = b["anygram"][field] / b["infinigram"][field]
            rows.append({"target": label, "goal": f"<= {TARGETS[key]}x", "measured": f"{r:.3f}x", "ok": r <= TARGETS[key], "worst": None})
    lat = res.get("latency", {})

    def worst(kind: str, stat: str) -> tuple[float, str] | None:
        best = None
        for L, cells in lat.get(kind, {}).items():
            for pk, cell in cells.items():
                if stat in cell:
                    if best is None or cell[stat] > best[0]:
                        best = (cell[stat], f"L={L} {pk}")
        return best

    for kind, stat, key, label in (
        ("count", "ratio_median", "count_median", "count median, every length"),
        ("count", "ratio_p99", "count_p99", "count p99, every length"),
        ("prob", "ratio_median", "prob_median", "prob median, every length"),
        ("prob", "ratio_p99", "prob_p99", "prob p99, every length"),
        ("infgram_prob", "ratio_median", "infgram_prob_median", "infgram_prob median, every length"),
        ("ntd", "ratio_median", "ntd_median", "ntd (exact) median, every length"),
        ("infgram_ntd", "ratio_median", "infgram_ntd_median", "infgram_ntd (exact) median, every length"),
        ("creativity", "ratio_median", "creativity_median", "creativity (500 bytes) median"),
    ):
        w = worst(kind, stat)
        if w:
            rows.append({"target": label, "goal": f"<= {TARGETS[key]}x", "measured": f"worst {w[0]:.3f}x ({w[1]})", "ok": w[0] <= TARGETS[key]})
    sp = [(c["speedup"], pk) for c_ in lat.get("score", {}).values() for pk, c in c_.items() if "speedup" in c]
    if sp:
        s = min(sp)
        rows.append({"target": "score (1,000 tokens) vs infgram_prob at every position", "goal": f">= {TARGETS['score_speedup']}x faster", "measured": f"worst {s[0]:.1f}x faster ({s[1]})", "ok": s[0] >= TARGETS["score_speedup"]})
    o = res.get("oneshot", {})
    if "ratio" in o:
        rows.append({"target": "one-shot count, fresh process", "goal": f"<= {TARGETS['oneshot_count']}x", "measured": f"{o['ratio']:.2f}x", "ok": o["ratio"] <= TARGETS["oneshot_count"]})
    ag = res.get("agreement", {})
    if ag:
        dis = sum(a["disagreements"] for a in ag.values())
        rows.append({"target": "agreement with infini-gram", "goal": "0 disagreements", "measured": f"{dis} / {sum(a['compared'] for a in ag.values())}", "ok": dis == 0})
    return rows


def write_markdown(res: dict[str, Any], path: Path) -> None:
    m, p = res["machine"], res["parameters"]
    L: list[str] = []
    L.append("# anygram vs infini-gram benchmark\n")
    L.append(f"- command: `{res['command']}`")
    L.append(f"- date: {res['date']}; total benchmark time {res.get('elapsed_seconds', 0):.0f} s")
    if "load_average_start" in res:
        la = lambda x: "/".join(f"{v:.2f}" for v in x)  # noqa: E731
        L.append(f"- load average (1/5/15 min) at start {la(res['load_average_start'])}, at end {la(res.get('load_average_end', ()))} (the benchmark itself accounts for about 1; more means other processes shared the CPUs)")
    L.append(f"- machine: {m['cpu_model']}, {m['logical_cores']} logical cores, {m['ram_bytes'] / 2**30:.1f} GiB RAM; {m['os']}")
    L.append(f"- versions: python {m['python']}, numpy {m['numpy']}, numba {m['numba']}, anygram {m['anygram']} (commit {m['anygram_commit']}{', with uncommitted changes' if m.get('anygram_uncommitted_changes') else ''}; `{m.get('anygram_package')}`), infini-gram {m['infini-gram']}")
    c = res["corpus"]
    L.append(f"- corpus: `{c['path']}` ({c['bytes'] / 1e6:.1f} MB, {c['documents']} documents, {len(c['files'])} file(s)); byte-level (u8) indexes")
    L.append(f"- parameters: workers={p['workers']}, mem={p['mem_gib']} GiB (both builders), {p['queries']} queries per (type, length, present/absent), {p['texts']} texts for creativity/score, seed {p['seed']}, per-cell time budget {p['cell_budget']} s")
    L.append("- latency: warm (every index file read once before timing; JIT warmed up), one query at a time from Python, same query lists for both engines; p99 = numpy's interpolated 99th percentile over the n queries of a cell (with n=100 it lies between the two slowest)")
    L.append(f"- ntd / infgram_ntd are exact in both (infini-gram `max_support={INFINI_MAX_SUPPORT}`)\n")

    rows = targets_table(res)
    if rows:
        L.append("## Targets (ratio = anygram / infini-gram)\n")
        L.append("| target | goal | measured | verdict |")
        L.append("|---|---|---|---|")
        for r in rows:
            L.append(f"| {r['target']} | {r['goal']} | {r['measured']} | {verdict(r['ok'])} |")
        L.append("")

    b = res.get("build", {})
    if b:
        L.append("## Build\n")
        L.append("| engine | wall (s) | peak RSS, process tree (MiB) | index (MB) | tokens | bytes/token | shards | caches dropped |")
        L.append("|---|---|---|---|---|---|---|---|")
        for e in ENGINES:
            if e in b:
                x = b[e]
                L.append(f"| {e} | {x['wall_seconds']:.1f} | {x['peak_rss_bytes'] / 2**20:.0f} | {x['index_bytes'] / 1e6:.1f} | {x['tokens']:,} | {x['bytes_per_token']:.3f} | {x['shards']} | {x.get('caches_dropped')} |")
        if "anygram" in b and "infinigram" in b:
            a, i = b["anygram"], b["infinigram"]
            L.append(f"| ratio | {a['wall_seconds'] / i['wall_seconds']:.3f} | {a['peak_rss_bytes'] / i['peak_rss_bytes']:.3f} | {a['index_bytes'] / i['index_bytes']:.3f} | | {a['bytes_per_token'] / i['bytes_per_token']:.3f} | | |")
        if b.get("reused"):
            L.append("\n(build figures reused from a previous run: --skip-build)")
        L.append("")

    lat = res.get("latency", {})
    if lat:
        L.append("## Query latency, warm (ms)\n")
        L.append("| query | length | kind | n | anygram median | infini-gram median | ratio | anygram p99 | infini-gram p99 | ratio p99 | target |")
        L.append("|---|---|---|---|---|---|---|---|---|---|---|")
        tgt = {"count": ("count_median", "count_p99"), "prob": ("prob_median", "prob_p99"), "infgram_prob": ("infgram_prob_median", None), "ntd": ("ntd_median", None), "infgram_ntd": ("infgram_ntd_median", None), "creativity": ("creativity_median", None)}
        for kind, cells in lat.items():
            for Ls, byk in cells.items():
                for pk, cell in byk.items():
                    a, i = cell.get("anygram", {}), cell.get("infinigram", {})
                    rm, rp = cell.get("ratio_median"), cell.get("ratio_p99")
                    v = ""
                    if kind in tgt and rm is not None:
                        km, kp = tgt[kind]
                        ok = rm <= TARGETS[km] and (kp is None or rp <= TARGETS[kp])
                        v = verdict(ok)
                    if kind == "score" and "speedup" in cell:
                        v = f"{cell['speedup']:.1f}x faster: {verdict(cell['speedup'] >= TARGETS['score_speedup'])}"
                    n = f"{cell['n']}" + (f"/{cell['n_planned']}" if cell["n"] < cell["n_planned"] else "")
                    L.append(f"| {kind} | {Ls} | {pk} | {n} | {fmt_ms(a.get('median_ms'))} | {fmt_ms(i.get('median_ms'))} | {'-' if rm is None else f'{rm:.3f}'} | {fmt_ms(a.get('p99_ms'))} | {fmt_ms(i.get('p99_ms'))} | {'-' if rp is None else f'{rp:.3f}'} | {v} |")
        L.append("\n`score`: anygram `score(doc)` (one pass) vs infini-gram `infgram_prob(doc[:i], doc[i])` for every i (the cell is the whole document). "
                 f"`absent` texts for creativity/score have one random byte mutated per {MUTATE_EVERY}. `longest_matches` is anygram-only (compared against infini-gram creativity below).\n")

    ag = res.get("agreement", {})
    if ag:
        L.append("## Agreement (every answer compared)\n")
        L.append("| query | compared | disagreements | infini-gram defect (not counted) |")
        L.append("|---|---|---|---|")
        for k, a in ag.items():
            L.append(f"| {k} | {a['compared']} | {a['disagreements']} | {a.get('infinigram_quirk', 0)} |")
        for k, a in ag.items():
            for ex in a["examples"]:
                L.append(f"\n- disagreement, {k}: `{json.dumps(ex)[:800]}`")
        if any(a.get("infinigram_quirk") for a in ag.values()):
            L.append("\ninfini-gram defect: its exact ntd collapses a prompt's whole range to `{eos: count}` when the "
                     "prompt ends the corpus (first next token = end of shard, last = separator, both mapped to eos). "
                     "anygram counts every occurrence. infini-gram defect (creativity): at some positions it reports a "
                     "shorter span than occurs; counted as a defect only when infini-gram's own count confirms that "
                     "anygram's span occurs and cannot be extended. Examples:")
            for k, a in ag.items():
                for ex in a.get("quirk_examples", []):
                    L.append(f"\n- {k}: `{json.dumps(ex)[:400]}`")
        L.append("")

    o = res.get("oneshot", {})
    if o:
        L.append("## One-shot count in a fresh process\n")
        L.append(f"Text {o['text']!r}; median of {o['runs']} runs after one untimed run (numba cache warm, page cache warm).\n")
        L.append("| engine | how | median (s) | count |")
        L.append("|---|---|---|---|")
        for e in ENGINES:
            if e in o:
                how = o.get("anygram_mode", "") if e == "anygram" else "python -c: import infini_gram, open engine, count"
                L.append(f"| {e} | {how} | {o[e]['median_s']:.3f} | {o[e]['count']} |")
        if "ratio" in o:
            L.append(f"| ratio | | {o['ratio']:.2f} | agree: {o['counts_agree']} |")
        if "anygram_cli_error" in o:
            L.append(f"\n`anygram count` failed: `{o['anygram_cli_error']}`")
        L.append("")
    if res.get("notes"):
        L.append("## Notes\n")
        for n_ in res["notes"]:
            L.append(f"- {n_}")
    path.write_text("\n".join(L) + "\n", encoding="utf-8")


def plot(res: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lat = res.get("latency", {})
    kinds = [k for k in ("count", "prob", "ntd", "infgram_prob", "infgram_ntd") if k in lat]
    fig, axes = plt.subplots(2, 3, figsize=(16, 9))
    colors = {"anygram": "tab:blue", "infinigram": "tab:orange"}
    for ax, kind in zip(axes.flat, kinds):
        for e in ENGINES:
            for pk, ls in (("present", "-"), ("absent", "--")):
                xs, ys, ps = [], [], []
                for Ls, byk in lat[kind].items():
                    cell = byk.get(pk, {})
                    if cell.get(e, {}).get("n"):
                        xs.append(int(Ls))
                        ys.append(cell[e]["median_ms"])
                        ps.append(cell[e]["p99_ms"])
                if xs:
                    ax.plot(xs, ys, ls, marker="o", color=colors[e], label=f"{e} {pk} median")
                    ax.plot(xs, ps, ls, marker="x", color=colors[e], alpha=0.35, label=f"{e} {pk} p99")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(kind)
        ax.set_xlabel("query length (tokens = bytes)")
        ax.set_ylabel("latency (ms)")
        ax.grid(True, which="both", alpha=0.3)
    if kinds:
        axes.flat[0].legend(fontsize=7)
    ax = axes.flat[5]
    labels, vals = [], {e: [] for e in ENGINES}
    for kind in ("creativity", "longest_matches", "score"):
        for Ls, byk in lat.get(kind, {}).items():
            for pk, cell in byk.items():
                labels.append(f"{kind}\n{Ls} {pk}")
                for e in ENGINES:
                    vals[e].append(cell.get(e, {}).get("median_ms", np.nan) if cell.get(e, {}).get("n") else np.nan)
    xs = np.arange(len(labels))
    for j, e in enumerate(ENGINES):
        ax.bar(xs + (j - 0.5) * 0.4, vals[e], 0.4, color=colors[e], label=e)
    ax.set_xticks(xs, labels, fontsize=7)
    ax.set_yscale("log")
    ax.set_ylabel("median latency (ms)")
    ax.set_title("whole texts (score: infini-gram = infgram_prob per position)", fontsize=10)
    ax.legend(fontsize=7)
    fig.suptitle(f"anygram vs infini-gram, warm latency — {Path(res['corpus']['path']).name}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --------------------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Corpora: build them with shared/corpora/make_corpora.sh OUT_DIR (then pass "
        "OUT_DIR/code_200m/code_200m.jsonl, OUT_DIR/code_1g/code_1g.jsonl or OUT_DIR/en/en.jsonl). "
        "Requires: pip install infini-gram==2.6.0 transformers matplotlib psutil. See benchmarks/README.md.",
    )
    ap.add_argument("--corpus", type=Path, required=True, help="a JSONL file ({\"text\": ...} per line) or a folder of .jsonl/.json(.gz) files")
    ap.add_argument("--out", type=Path, required=True, help="output folder: indexes, logs, results.json, results.md, latency.png")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="build workers / cpus for both builders (default: all cores)")
    ap.add_argument("--mem", type=int, default=None, help="GiB of RAM both builders may use (default: half of RAM)")
    ap.add_argument("--queries", type=int, default=None, help="queries per (type, length, present/absent) (default 100; --quick: 20)")
    ap.add_argument("--texts", type=int, default=None, help="500-byte texts (creativity) and 1,000-byte documents (score) per kind (default 20; --quick: 3)")
    ap.add_argument("--skip-build", action="store_true", help="reuse the indexes in --out (and their build figures from results.json)")
    ap.add_argument("--only", choices=ENGINES, help="benchmark one engine only (no ratios, no agreement)")
    ap.add_argument("--quick", action="store_true", help="few queries, fewer one-shot runs: a smoke test")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cell-budget", type=float, default=120.0, help="seconds per engine per (type, length, kind) before the query list is cut (both engines then use the same prefix)")
    ap.add_argument("--oneshot-runs", type=int, default=None, help="timed fresh-process runs (default 5; --quick: 3)")
    ap.add_argument("--no-drop-caches", dest="drop_caches", action="store_false", help="do not drop the page cache before each build (needs root anyway)")
    args = ap.parse_args()

    import psutil

    if args.mem is None:
        args.mem = max(1, int(psutil.virtual_memory().total / 2**30 / 2))
    if args.queries is None:
        args.queries = 20 if args.quick else 100
    if args.texts is None:
        args.texts = 3 if args.quick else 20
    if args.oneshot_runs is None:
        args.oneshot_runs = 3 if args.quick else 5
    args.engines = [args.only] if args.only else list(ENGINES)
    if not args.corpus.exists():
        sys.exit(f"error: corpus {args.corpus} not found (make corpora with shared/corpora/make_corpora.sh OUT_DIR)")
    args.corpus = args.corpus.resolve()
    out = args.out.resolve()
    bad = [w for w in ("tokenized", "table", "offset", "metadata", "metaoff") if w in str(out)]
    if bad and "infinigram" in args.engines:
        # infini-gram's engine picks its index files by substring of the whole path
        sys.exit(f"error: --out {out} contains {bad[0]!r}: infini-gram's engine would map the wrong files; choose another folder")
    out.mkdir(parents=True, exist_ok=True)
    if "infinigram" in args.engines:
        try:
            import infini_gram  # noqa: F401
        except ImportError:
            sys.exit("error: infini-gram is not installed: pip install infini-gram==2.6.0 transformers")

    t_all = time.perf_counter()
    files = corpus_files(args.corpus)
    log(f"reading document offsets of {len(files)} file(s)")
    corpus = Corpus(files)
    res: dict[str, Any] = {
        "command": " ".join(["python", sys.argv[0]] + sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": machine_info(),
        "corpus": {"path": str(args.corpus), "files": [str(f) for f in files], "bytes": corpus.size_bytes, "documents": corpus.n},
        "parameters": {"workers": args.workers, "mem_gib": args.mem, "queries": args.queries, "texts": args.texts, "seed": args.seed, "lengths": list(LENGTHS), "cell_budget": args.cell_budget, "oneshot_runs": args.oneshot_runs, "engines": args.engines, "quick": args.quick, "infinigram_max_support": INFINI_MAX_SUPPORT},
        "notes": [],
        "load_average_start": os.getloadavg(),
    }
    prev_path = out / "results.json"

    # 1. builds
    if args.skip_build:
        prev = json.loads(prev_path.read_text()) if prev_path.exists() else {}
        res["build"] = {k: v for k, v in prev.get("build", {}).items() if k in args.engines}
        res["build"]["reused"] = True
        for e, d in (("anygram", AG_DIR), ("infinigram", IG_DIR)):
            if e in args.engines and not (out / d).exists():
                sys.exit(f"error: --skip-build but {out / d} does not exist")
    else:
        res["build"] = {}
        if "anygram" in args.engines:
            res["build"]["anygram"] = build_anygram(args, out)
        if "infinigram" in args.engines:
            res["build"]["infinigram"] = build_infinigram(args, out)
        if not any(v.get("caches_dropped") for v in res["build"].values() if isinstance(v, dict)):
            res["notes"].append("page cache could not be dropped before the builds (not root?)")

    # 2-3. warm queries + agreement
    engines: dict[str, Any] = {}
    for e, d, cls in (("anygram", AG_DIR, AnygramEngine), ("infinigram", IG_DIR, InfinigramEngine)):
        if e in args.engines:
            n = warm_files(out / d)
            log(f"{e}: read {n / 1e6:.0f} MB of index files into the page cache")
            engines[e] = cls(out / d)
    rng = random.Random(args.seed)
    log("sampling queries")
    qs = make_queries(corpus, args.queries, args.texts, engines, rng)
    if qs["absent_failures"]:
        res["notes"].append(f"{qs['absent_failures']} absent queries could not be made (mutations kept finding the query); those cells have fewer queries")
    log("warm-up (numba JIT)")
    warmup(engines, qs)
    res["latency"], res["agreement"] = run_queries(args, engines, qs)
    for kind, cells in res["latency"].items():
        for Ls, byk in cells.items():
            for pk, cell in byk.items():
                if cell["n"] < cell["n_planned"]:
                    res["notes"].append(f"{kind} L={Ls} {pk}: only {cell['n']} of {cell['n_planned']} queries fit in the {args.cell_budget:.0f} s budget per cell")
    if len(engines) == 2:
        dis = {k: a["disagreements"] for k, a in res["agreement"].items() if a["disagreements"]}
        log(f"agreement: {'all answers agree' if not dis else f'DISAGREEMENTS {dis}'}")
    del engines

    # 4. one-shot
    res["oneshot"] = oneshot(args, out, qs)
    if res["oneshot"].get("anygram_mode", "").startswith("python"):
        res["notes"].append("one-shot: `anygram count` CLI unavailable; the anygram process is `python -c \"import anygram; anygram.open(IDX).count(TEXT)\"`")

    # 5. outputs
    res["elapsed_seconds"] = time.perf_counter() - t_all
    res["load_average_end"] = os.getloadavg()
    res["targets"] = targets_table(res)
    prev_path.write_text(json.dumps(res, indent=1, default=str))
    write_markdown(res, out / "results.md")
    try:
        plot(res, out / "latency.png")
    except Exception as exc:  # a missing matplotlib must not lose the measurements
        log(f"plot failed: {exc!r}")
    log(f"wrote {out / 'results.json'}, {out / 'results.md'}, {out / 'latency.png'}")
    print((out / "results.md").read_text())


if __name__ == "__main__":
    main()
