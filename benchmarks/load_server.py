"""Load test of `anygram serve`: concurrent clients on loopback, mixed queries, bad requests, aborts.

A script, not a unit test. It starts ``anygram serve`` on a free loopback port over ``--index``
(or targets a running server with ``--url`` and ``--name``), then runs three phases:

1. **load**: ``--clients`` closed-loop clients (asyncio + httpx, one keep-alive connection each)
   send a mix of ``count``, ``prob``, ``ntd`` and ``search_docs`` for ``--duration`` seconds.
   Queries are drawn from the corpus itself (random windows of random documents, fetched through
   the API before the run), so they hit. Meanwhile ``--bad-clients`` clients send oversize
   bodies, malformed JSON, wrong types, unknown indexes, unknown token ids and over-long queries:
   each must get its 4xx, and the good requests must see no error.
2. **abort**: ``--aborts`` clients send a slow query (``--slow-query``, a ``count_cnf`` of common
   terms) and close their connection mid-request while it runs; right after, a good query must
   succeed quickly (< 0.5 s), and ``/healthz`` must show the query pool empty again within the
   time budget.
3. **after**: a short second load phase (``--after`` seconds) checks throughput and errors are
   unchanged once the aborted queries are gone.

Throughput, p50 / p90 / p99 / max latency per query type, errors, the server's and the load
generator's CPU time and the machine's load average during the run are printed and written to
``--out`` (``.md`` and ``.json``). The load generator runs on the same machine and shares its
cores with the server: its CPU time is reported next to the server's.

    python benchmarks/load_server.py --index /work/bench-1g-c/anygram_index --name code \\
        --clients 16 --duration 30 --out benchmarks/results/load_code_1g
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import resource
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np

try:
    import psutil
except ImportError:  # pragma: no cover
    psutil = None

GOOD_TYPES = ("count", "prob", "ntd", "search_docs")
#: the field of each answer that is > 0 when the query was found in the corpus
HIT_FIELD = {"count": "count", "prob": "prompt_cnt", "ntd": "prompt_cnt", "search_docs": "cnt"}


# --------------------------------------------------------------------------- queries
@dataclass
class Workload:
    """Queries drawn from the corpus: token-id windows and their decoded text."""

    windows: list[list[int]]
    texts: list[str]
    vocab: int

    def good(self, rng: random.Random, qtype: str) -> tuple[str, dict[str, Any]]:
        w = rng.choice(self.windows)
        if qtype == "count":
            # text queries (tokenized by the server) and id queries, 2..40 tokens
            n = rng.randint(2, min(40, len(w)))
            if rng.random() < 0.5:
                t = rng.choice(self.texts)
                a = rng.randrange(max(1, len(t) - n))
                return "count", {"query": t[a:a + n]}
            return "count", {"query": w[:n]}
        if qtype == "prob":
            n = rng.randint(2, min(20, len(w)))
            return "prob", {"prompt": w[:n - 1], "cont": w[n - 1]}
        if qtype == "ntd":
            n = rng.randint(3, min(20, len(w)))
            return "ntd", {"prompt": w[:n]}
        n = rng.randint(4, min(30, len(w)))
        return "search_docs", {"query": w[:n], "maxnum": rng.randint(1, 3), "max_disp_len": 200}


async def fetch_workload(client: httpx.AsyncClient, name: str, n_docs: int, seed: int) -> Workload:
    info = (await client.get(f"/api/v1/{name}/info")).json()
    rng = random.Random(seed)
    total_docs = info["total_docs"]
    vocab = info["tokenizer"].get("vocab_size") or 256
    windows: list[list[int]] = []
    texts: list[str] = []
    tries = 0
    while len(windows) < n_docs and tries < n_docs * 5:
        tries += 1
        ix = rng.randrange(total_docs)
        r = await client.post(f"/api/v1/{name}/get_doc_by_ix", json={"doc_ix": ix, "max_disp_len": 2000})
        r.raise_for_status()
        d = r.json()
        ids = d["token_ids"]
        if len(ids) < 64:
            continue
        a = rng.randrange(len(ids) - 60)
        windows.append(ids[a:a + 60])
        texts.append(d["text"][:400])
    if not windows:
        raise SystemExit("no document of 64 tokens or more found to draw queries from")
    return Workload(windows, texts, vocab)


def bad_requests(name: str, wl: Workload, limits: dict[str, Any]) -> list[tuple[str, str, dict[str, Any], set[int]]]:
    """(kind, path, httpx request kwargs, accepted statuses) of requests that must be refused."""
    big = b'{"query": "' + b"a" * (limits["max_body_bytes"] + 1024) + b'"}'
    too_long = [wl.windows[0][0]] * (limits["max_query_tokens"] + 1)
    return [
        ("oversize body", f"/api/v1/{name}/count", {"content": big, "headers": {"content-type": "application/json"}}, {413}),
        ("malformed JSON", f"/api/v1/{name}/count", {"content": b'{"query": "ab', "headers": {"content-type": "application/json"}}, {422}),
        ("wrong type", f"/api/v1/{name}/count", {"json": {"query": 12}}, {422}),
        ("unknown field", f"/api/v1/{name}/ntd", {"json": {"prompt": [1], "max_suport": 3}}, {422}),
        ("unknown index", "/api/v1/no_such_index/count", {"json": {"query": "x"}}, {404}),
        ("unknown token id", f"/api/v1/{name}/count", {"json": {"query": [wl.vocab + 10]}}, {400}),
        ("query over the token limit", f"/api/v1/{name}/count", {"json": {"query": too_long}}, {400}),
        ("maxnum over the limit", f"/api/v1/{name}/search_docs", {"json": {"query": [1, 2], "maxnum": limits["max_maxnum"] + 1}}, {400}),
        ("infini-gram protocol, bad query_type", "/", {"json": {"index": name, "query_type": "nope", "query": "x"}}, {400}),
    ]


# --------------------------------------------------------------------------- clients
@dataclass
class Stats:
    lat: dict[str, list[float]] = field(default_factory=lambda: {t: [] for t in GOOD_TYPES})
    errors: dict[str, int] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)
    hits: int = 0
    misses: int = 0
    bad: dict[str, dict[str, int]] = field(default_factory=dict)
    bad_wrong: list[str] = field(default_factory=list)

    def error(self, key: str, sample: str) -> None:
        self.errors[key] = self.errors.get(key, 0) + 1
        if len(self.error_samples) < 20:
            self.error_samples.append(sample)


def new_client(base: str, timeout: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base, timeout=timeout, limits=httpx.Limits(max_connections=1, max_keepalive_connections=1))


async def good_client(c: httpx.AsyncClient, name: str, wl: Workload, stats: Stats, stop: float, seed: int, mix: list[str], interval: float) -> None:
    """Closed loop (interval 0: the next request as soon as the answer is in), or open loop: one
    request every ``interval`` s on a fixed schedule, latency counted from the scheduled time (so
    a server that falls behind is charged for the wait: no coordinated omission)."""
    rng = random.Random(seed)
    next_at = time.perf_counter() + rng.random() * interval
    while time.perf_counter() < stop:
        qtype, body = wl.good(rng, rng.choice(mix))
        if interval:
            now = time.perf_counter()
            if next_at > now:
                await asyncio.sleep(next_at - now)
            t0 = next_at
            next_at += interval
            if t0 >= stop:
                break
        else:
            t0 = time.perf_counter()
        try:
            r = await c.post(f"/api/v1/{name}/{qtype}", json=body)
        except httpx.HTTPError as e:
            stats.error(f"{qtype}: {type(e).__name__}", repr(e))
            continue
        dt = time.perf_counter() - t0
        if r.status_code != 200:
            stats.error(f"{qtype}: HTTP {r.status_code}", r.text[:300])
            continue
        stats.lat[qtype].append(dt)
        d = r.json()
        if d[HIT_FIELD[qtype]] > 0:
            stats.hits += 1
        else:
            stats.misses += 1


async def bad_client(c: httpx.AsyncClient, bads: list[tuple[str, str, dict[str, Any], set[int]]], stats: Stats, stop: float, seed: int, pause: float) -> None:
    rng = random.Random(seed)
    while time.perf_counter() < stop:
        kind, path, kw, ok = rng.choice(bads)
        try:
            r = await c.post(path, **kw)
            status = r.status_code
            body_ok = r.headers.get("content-type", "").startswith("application/json") and "error" in r.json()
        except httpx.HTTPError as e:
            status, body_ok = -1, False
            stats.bad_wrong.append(f"{kind}: {e!r}")
        per = stats.bad.setdefault(kind, {})
        per[str(status)] = per.get(str(status), 0) + 1
        if status not in ok or not body_ok:
            stats.bad_wrong.append(f"{kind}: HTTP {status}")
        await asyncio.sleep(pause)


async def load_phase(base: str, name: str, wl: Workload, args: argparse.Namespace, duration: float, seed: int, bads: list | None) -> tuple[Stats, float]:
    stats = Stats()
    mix = [t for t in args.mix.split(",") if t]
    # clients are created and connected before the clock starts: creating an httpx client (its
    # SSL context) blocks this process's event loop for tens of ms, which would be charged to
    # the first requests of an open loop
    n_bad = args.bad_clients if bads else 0
    clients = [new_client(base, 30.0) for _ in range(args.clients + n_bad)]
    await asyncio.gather(*(c.get("/healthz") for c in clients))
    t0 = time.perf_counter()
    stop = t0 + duration
    interval = args.clients / args.rate if args.rate else 0.0
    tasks = [good_client(clients[i], name, wl, stats, stop, seed * 1000 + i, mix, interval) for i in range(args.clients)]
    tasks += [bad_client(clients[args.clients + i], bads, stats, stop, seed * 1000 + 500 + i, args.bad_pause) for i in range(n_bad)]
    try:
        await asyncio.gather(*tasks)
    finally:
        for c in clients:
            await c.aclose()
    return stats, time.perf_counter() - t0


async def abort_phase(base: str, name: str, wl: Workload, args: argparse.Namespace, budget: float) -> dict[str, Any]:
    """Slow queries whose clients disconnect mid-request; then the server must answer at once."""
    slow = json.loads(args.slow_query)
    out: dict[str, Any] = {"aborted": args.aborts, "slow_query": f"count_cnf {json.dumps(slow)}"}
    async with new_client(base, 60.0) as c:
        for _ in range(2):  # the first call may load kernels
            t0 = time.perf_counter()
            r = await c.post(f"/api/v1/{name}/count_cnf", json=slow)
            out["slow_query_s_alone"] = round(time.perf_counter() - t0, 3)
            out["slow_query_status_alone"] = r.status_code
    clients = [new_client(base, 60.0) for _ in range(args.aborts)]
    tasks = [asyncio.create_task(cl.post(f"/api/v1/{name}/count_cnf", json=slow)) for cl in clients]
    await asyncio.sleep(out["slow_query_s_alone"] / 4)
    async with httpx.AsyncClient(base_url=base, timeout=10) as hc:
        health_during = (await hc.get("/healthz")).json()
    for t in tasks:
        t.cancel()  # closes the connection mid-request
    for cl in clients:
        await cl.aclose()
    await asyncio.gather(*tasks, return_exceptions=True)
    out["healthz_while_slow"] = health_during
    async with new_client(base, 30.0) as c:
        t0 = time.perf_counter()
        r = await c.post(f"/api/v1/{name}/count", json={"query": wl.windows[0][:8]})
        out["next_request_status"] = r.status_code
        out["next_request_s"] = round(time.perf_counter() - t0, 4)
        h = (await c.get("/healthz")).json()
        out["healthz_after_next_request"] = h
        t0 = time.perf_counter()
        freed = None
        while time.perf_counter() - t0 < budget + 5:
            h = (await c.get("/healthz")).json()
            if h["pending"] == 0 and h["overrunning"] == 0:
                freed = round(time.perf_counter() - t0, 3)
                break
            await asyncio.sleep(0.02)
        out["pool_free_after_s"] = freed
    out["ok"] = (out["next_request_status"] == 200 and out["next_request_s"] < 0.5 and freed is not None
                 and health_during["pending"] >= 1)
    return out


# --------------------------------------------------------------------------- reporting
def summarize(stats: Stats, elapsed: float) -> dict[str, Any]:
    per: dict[str, Any] = {}
    all_lat: list[float] = []
    for t, lat in stats.lat.items():
        if not lat:
            continue
        a = np.array(lat) * 1000
        all_lat += lat
        per[t] = {"n": len(lat), "rps": round(len(lat) / elapsed, 1), "p50_ms": round(float(np.percentile(a, 50)), 2),
                  "p90_ms": round(float(np.percentile(a, 90)), 2), "p99_ms": round(float(np.percentile(a, 99)), 2),
                  "max_ms": round(float(a.max()), 2)}
    a = np.array(all_lat) * 1000 if all_lat else np.zeros(1)
    n_bad = sum(sum(v.values()) for v in stats.bad.values())
    return {
        "elapsed_s": round(elapsed, 2),
        "good_requests": len(all_lat),
        "throughput_rps": round(len(all_lat) / elapsed, 1),
        "p50_ms": round(float(np.percentile(a, 50)), 2), "p99_ms": round(float(np.percentile(a, 99)), 2),
        "max_ms": round(float(a.max()), 2),
        "errors": sum(stats.errors.values()), "errors_by_kind": stats.errors, "error_samples": stats.error_samples,
        "hit_rate": round(stats.hits / max(1, stats.hits + stats.misses), 4),
        "per_type": per,
        "bad_requests": n_bad, "bad_rps": round(n_bad / elapsed, 1), "bad_statuses": stats.bad,
        "bad_answered_wrong": len(stats.bad_wrong), "bad_wrong_samples": stats.bad_wrong[:20],
    }


def markdown(res: dict[str, Any]) -> str:
    cfg, load, after, ab = res["config"], res["load"], res["after"], res["abort"]
    lines = [
        f"# Load test of `anygram serve`: {cfg['index_desc']}",
        "",
        f"Command: `{res['command']}`",
        "",
        f"Date {res['date']} · {res['machine']} · commit {res['commit']}",
        f"Server: `{' '.join(res['server_cmd'])}`" if res.get("server_cmd") else f"Server: {cfg['url']} (already running)",
        (f"Clients: {cfg['clients']} closed-loop good clients" if not cfg["rate"] else
         f"Clients: open loop at {cfg['rate']:g} good requests/s on a fixed schedule over {cfg['clients']} clients "
         "(latency counted from the scheduled send time)") +
        f" (one keep-alive connection each; mix {cfg['mix']}), "
        f"{cfg['bad_clients']} bad-request clients (a pause of {cfg['bad_pause']} s between requests), all in one asyncio "
        "process on the same machine as the server.",
        "",
        "| phase | duration s | good req/s | p50 ms | p99 ms | max ms | errors | bad requests (4xx as expected / wrong) |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for label, ph in (("load (+ bad requests)", load), ("after the aborts", after)):
        lines.append(f"| {label} | {ph['elapsed_s']} | **{ph['throughput_rps']}** | {ph['p50_ms']} | **{ph['p99_ms']}** | {ph['max_ms']} | "
                     f"**{ph['errors']}** | {ph['bad_requests'] - ph['bad_answered_wrong']} / {ph['bad_answered_wrong']} |")
    lines += ["", "Per query type (load phase):", "", "| type | requests | req/s | p50 ms | p90 ms | p99 ms | max ms |", "|---|---:|---:|---:|---:|---:|---:|"]
    for t, p in load["per_type"].items():
        lines.append(f"| {t} | {p['n']} | {p['rps']} | {p['p50_ms']} | {p['p90_ms']} | {p['p99_ms']} | {p['max_ms']} |")
    lines += ["", f"Hit rate of the good queries (count/prompt count/documents > 0): {load['hit_rate']:.1%}.", "",
              "Bad requests sent during the load phase (status: number):", ""]
    for kind, st in load["bad_statuses"].items():
        lines.append(f"- {kind}: " + ", ".join(f"HTTP {k} × {v}" for k, v in sorted(st.items())))
    lines += ["", "Aborted clients:", ""]
    lines.append(f"- {ab['aborted']} clients sent a slow query ({ab['slow_query']}, {ab['slow_query_s_alone']} s alone) and closed "
                 f"their connection mid-request; `/healthz` while they ran: {ab['healthz_while_slow']}; right after the "
                 f"next request: {ab['healthz_after_next_request']}")
    lines.append(f"- the next request: HTTP {ab['next_request_status']} in {ab['next_request_s'] * 1000:.1f} ms; "
                 f"the query pool was empty again after {ab['pool_free_after_s']} s (the aborted queries run to their end: "
                 "Python cannot stop a thread)")
    lines += [f"- verdict: {'OK' if ab['ok'] else 'FAILED'}", "", "CPU (both on the same cores):", ""]
    lines.append(f"- server process: {res['cpu']['server_s']} s CPU; load generator: {res['cpu']['client_s']} s CPU, "
                 f"over {res['cpu']['wall_s']} s wall ({res['cpu']['cores']} cores)")
    lines.append(f"- load average (1 min) before: {res['loadavg']['before']}, during the load phase: mean {res['loadavg']['mean']}, "
                 f"max {res['loadavg']['max']} (other processes on the machine included)")
    verdict = "met" if res["targets_met"] else "NOT met"
    lines += ["", f"Targets: ≥ 200 req/s, p99 < 100 ms, 0 errors; bad requests all 4xx; the server not wedged after aborts: **{verdict}**.", ""]
    return "\n".join(lines)


def targets_met(res: dict[str, Any]) -> bool:
    """≥ 200 good req/s (open loop: ≥ 99 % of an offered rate of ≥ 200/s), p99 < 100 ms, 0 errors,
    every bad request answered with its 4xx, the server not wedged after the aborts."""
    load, after, rate = res["load"], res["after"], res["config"].get("rate") or 0
    served = load["throughput_rps"] >= 200 or (rate >= 200 and load["throughput_rps"] >= 0.99 * rate)
    return bool(served and load["p99_ms"] < 100 and load["errors"] == 0 and after["errors"] == 0
                and load["bad_answered_wrong"] == 0 and res["abort"]["ok"])


# --------------------------------------------------------------------------- main
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(args: argparse.Namespace) -> tuple[subprocess.Popen[bytes], str, list[str]]:
    port = free_port()
    cmd = [sys.executable, "-m", "anygram", "serve", f"{args.name}={args.index}", "--host", "127.0.0.1", "--port", str(port),
           "--workers", str(args.server_workers), "--timeout", str(args.timeout), "--quiet"]
    log = open(args.server_log, "wb") if args.server_log else subprocess.DEVNULL  # noqa: SIM115 (the server's lifetime)
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}: {' '.join(cmd)}")
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return proc, base, cmd
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start within 120 s")


async def sample_loadavg(samples: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        samples.append(os.getloadavg()[0])
        try:
            await asyncio.wait_for(stop.wait(), 1.0)
        except TimeoutError:
            pass


async def main_async(args: argparse.Namespace, base: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base, timeout=60) as c:
        limits = (await c.get("/api/v1/limits")).json()
        wl = await fetch_workload(c, args.name, args.docs, args.seed)
        # warm-up: every query type once per window of a few (loads the pages the queries touch first)
        rng = random.Random(args.seed + 1)
        t_end = time.perf_counter() + args.warmup
        while time.perf_counter() < t_end:
            qtype, body = wl.good(rng, rng.choice(GOOD_TYPES))
            await c.post(f"/api/v1/{args.name}/{qtype}", json=body)
    bads = bad_requests(args.name, wl, limits)
    samples: list[float] = []
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_loadavg(samples, stop))
    load_stats, load_elapsed = await load_phase(base, args.name, wl, args, args.duration, args.seed, bads if args.bad_clients else None)
    stop.set()
    await sampler
    abort = await abort_phase(base, args.name, wl, args, limits["time_budget"])
    after_stats, after_elapsed = await load_phase(base, args.name, wl, args, args.after, args.seed + 7, None)
    return {
        "limits": limits,
        "load": summarize(load_stats, load_elapsed),
        "abort": abort,
        "after": summarize(after_stats, after_elapsed),
        "loadavg_samples": samples,
    }


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True,
                              cwd=Path(__file__).parent).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--index", help="index directory: start `anygram serve` over it")
    ap.add_argument("--url", help="target a running server instead (e.g. http://127.0.0.1:8000)")
    ap.add_argument("--name", default="idx", help="index name on the server (default idx)")
    ap.add_argument("--clients", type=int, default=16, help="concurrent good clients (default 16)")
    ap.add_argument("--rate", type=float, default=0, help="open loop: good requests per second in total, on a fixed "
                    "schedule spread over the clients (default 0: closed loop, each client as fast as it is answered)")
    ap.add_argument("--bad-clients", type=int, default=2, help="concurrent bad-request clients (default 2)")
    ap.add_argument("--bad-pause", type=float, default=0.05, help="seconds between a bad client's requests (default 0.05)")
    ap.add_argument("--duration", type=float, default=30, help="seconds of the load phase (default 30)")
    ap.add_argument("--after", type=float, default=5, help="seconds of the load phase after the aborts (default 5)")
    ap.add_argument("--warmup", type=float, default=5, help="seconds of warm-up queries (default 5)")
    ap.add_argument("--mix", default=",".join(GOOD_TYPES), help="query types, comma-separated, drawn uniformly")
    ap.add_argument("--docs", type=int, default=300, help="random documents to draw queries from (default 300)")
    ap.add_argument("--aborts", type=int, default=2, help="clients that abort a slow query (default 2)")
    ap.add_argument("--slow-query", default='{"cnf": [["struct"], ["static"], ["int"], ["return"]], "max_clause_freq": 500000}',
                    help="body of the slow count_cnf query the aborting clients send (default: four common words of C code)")
    ap.add_argument("--server-workers", type=int, default=4, help="--workers of the started server (default 4)")
    ap.add_argument("--timeout", type=float, default=10, help="--timeout of the started server (default 10)")
    ap.add_argument("--server-log", default=None, help="file for the started server's output")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--desc", default=None, help="what the index is, for the report")
    ap.add_argument("--out", default=None, help="write OUT.md and OUT.json")
    ap.add_argument("--rewrite", default=None, metavar="JSON", help="only rewrite the .md of a results .json (no run)")
    args = ap.parse_args()
    if args.rewrite:
        res = json.loads(Path(args.rewrite).read_text())
        res["targets_met"] = targets_met(res)
        Path(args.rewrite).write_text(json.dumps(res, indent=1) + "\n")
        Path(args.rewrite).with_suffix(".md").write_text(markdown(res))
        return 0
    if bool(args.index) == bool(args.url):
        ap.error("give exactly one of --index and --url")

    proc, cmd = None, None
    if args.index:
        proc, base, cmd = start_server(args)
    else:
        base = args.url.rstrip("/")
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    sproc = psutil.Process(proc.pid) if (psutil and proc) else None
    s0 = sproc.cpu_times() if sproc else None
    load_before = os.getloadavg()[0]
    w0 = time.perf_counter()
    try:
        res = asyncio.run(main_async(args, base))
    finally:
        s1 = sproc.cpu_times() if sproc else None
        if proc:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
    wall = time.perf_counter() - w0
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    samples = res.pop("loadavg_samples")
    res["cpu"] = {
        "server_s": round((s1.user + s1.system) - (s0.user + s0.system), 1) if s0 else None,
        "client_s": round((ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime), 1),
        "wall_s": round(wall, 1), "cores": os.cpu_count(),
    }
    res["loadavg"] = {"before": round(load_before, 2), "mean": round(float(np.mean(samples)), 2) if samples else None,
                      "max": round(max(samples), 2) if samples else None}
    res["command"] = "python " + " ".join([os.path.relpath(sys.argv[0])] + sys.argv[1:])
    res["server_cmd"] = (["anygram"] + cmd[3:]) if cmd else None
    res["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    res["machine"] = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    res["commit"] = git_commit()
    res["config"] = {k: v for k, v in vars(args).items() if k not in ("out",)}
    res["config"]["index_desc"] = args.desc or (args.index or args.url)
    res["targets_met"] = targets_met(res)
    md = markdown(res)
    print(md)
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.with_suffix(".json").write_text(json.dumps(res, indent=1) + "\n")
        out.with_suffix(".md").write_text(md)
    return 0 if res["targets_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
