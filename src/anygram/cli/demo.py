"""``anygram demo``: a tour that needs no download.

It indexes text every machine with Python has: the ``.py`` sources of the running interpreter's
standard library (``sysconfig.get_paths()["stdlib"]``), without test suites, ``site-packages``
and ``__pycache__`` (about 12 MB for CPython 3.11), as UTF-8 bytes (one token per byte). Then
it runs a few queries and prints their results and timings: counts of common phrases, the
next-token distribution after ``raise ``, an ∞-gram distribution after a long prompt, a search
with the match highlighted, and the score of a short snippet.

``--max-bytes`` (or ``$ANYGRAM_DEMO_MAX_BYTES``) caps the source text indexed (default 40 MiB,
which holds the whole standard library); tests use a small cap to run in a few seconds.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import Any

#: directories of the standard library that are left out (test suites, third-party packages)
SKIP_DIRS = frozenset(
    {"test", "tests", "idle_test", "site-packages", "dist-packages", "__pycache__", "_bundled", "lib-dynload"}
)
DEFAULT_MAX_BYTES = 40 << 20

COUNT_QUERIES = ("def __init__(self", "import os", "raise ValueError", "except Exception as e", "lambda x:")
NTD_PROMPT = "raise "
INFGRAM_PROMPT = "class Point3D(Shape):\n    def __repr__(self):\n        return "
SEARCH_QUERY = "raise NotImplementedError"
SCORE_SNIPPET = '''def mean(values):
    if not values:
        raise ValueError("mean of empty sequence")
    return sum(values) / len(values)
'''


def stdlib_sources(max_bytes: int) -> tuple[Path, list[Path], int]:
    """The standard library's ``.py`` files (relative paths, sorted, top-level modules first) up to ``max_bytes``."""
    root = Path(sysconfig.get_paths()["stdlib"])
    picked: list[Path] = []
    total = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        for fn in sorted(filenames):
            if not fn.endswith(".py"):
                continue
            p = Path(dirpath) / fn
            try:
                size = p.stat().st_size
            except OSError:
                continue
            if total + size > max_bytes:
                continue
            picked.append(p.relative_to(root))
            total += size
    return root, picked, total


def _link_tree(root: Path, files: list[Path], dest: Path) -> None:
    """Mirror the picked files under ``dest`` (symlinks; copies where symlinks are refused)."""
    for rel in files:
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.symlink(root / rel, target)
        except OSError:
            shutil.copyfile(root / rel, target)


def run_demo(args: argparse.Namespace) -> int:
    from anygram.builder.pipeline import build
    from anygram.builder.resources import parse_size
    from anygram.errors import BuildError

    from . import render
    from .main import _emit_json, _numba_without_scipy, render_score

    as_json = args.json
    say = (lambda *a, **k: None) if as_json else print
    max_bytes = parse_size(args.max_bytes or os.environ.get("ANYGRAM_DEMO_MAX_BYTES") or DEFAULT_MAX_BYTES) or DEFAULT_MAX_BYTES
    root, files, total = stdlib_sources(max_bytes)
    if not files:
        raise BuildError(f"no standard-library sources found under {root} within {max_bytes} bytes")

    tmp: str | None = None
    if args.out:
        base = Path(args.out)
        base.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.mkdtemp(prefix="anygram-demo-")
        base = Path(tmp)
    corpus = base / "corpus"
    out = base / "index"
    report: dict[str, Any] = {"corpus": {"root": str(root), "files": len(files), "bytes": total}, "queries": []}
    try:
        if corpus.exists():
            shutil.rmtree(corpus)
        _link_tree(root, files, corpus)
        say(f"anygram demo: indexing {len(files)} .py files ({render.fmt_bytes(total)}) of the Python "
            f"{sys.version.split()[0]} standard library")
        say(f"  from {root}")
        say(f"  into {out} (UTF-8 bytes as tokens)\n")
        summary = build(corpus, out, workers=1, overwrite=True, progress=not as_json)
        report["build"] = summary.to_dict()
        say(render.render_build_summary(summary))

        from anygram.index import open as open_index

        t0 = time.perf_counter()
        with _numba_without_scipy():
            idx = open_index(out)
            idx.count([])
        t_open = time.perf_counter() - t0
        say(f"\nopened the index and started numba in {render.fmt_seconds(t_open)} (the timings below include loading\n"
            "each query kernel on first use: compiled on the very first run, then read from numba's on-disk cache)")

        def timed(name: str, fn: Any, *a: Any, **kw: Any) -> tuple[Any, float]:
            t = time.perf_counter()
            res = fn(*a, **kw)
            dt = time.perf_counter() - t
            report["queries"].append({"query": name, "args": [x if isinstance(x, (str, int)) else str(x) for x in a], "seconds": dt, "result": res.to_dict()})
            return res, dt

        # counts
        rows = []
        for q in COUNT_QUERIES:
            res, dt = timed("count", idx.count, q)
            rows.append([repr(q), render.fmt_int(res.count), render.fmt_seconds(dt)])
        say("\n$ anygram count IDX QUERY")
        say(render.table(rows, headers=["query", "count", "time"], align="lrr"))

        # n-gram next-token distribution
        res, dt = timed("ntd", idx.ntd, NTD_PROMPT)
        say(f"\n$ anygram ntd IDX {NTD_PROMPT!r} --top 8      ({render.fmt_seconds(dt)})")
        say(f"prompt count: {render.fmt_int(res.prompt_cnt)}; {len(res.result_by_token_id)} distinct next bytes")
        if res.result_by_token_id:
            say(render.render_distribution(res.result_by_token_id, idx.decode, idx.eos_token_id, 8))

        # infini-gram next-token distribution
        res, dt = timed("infgram_ntd", idx.infgram_ntd, INFGRAM_PROMPT)
        suffix = INFGRAM_PROMPT.encode()[len(INFGRAM_PROMPT.encode()) - res.suffix_len :].decode("utf-8", "replace")
        say(f"\n$ anygram infgram IDX {INFGRAM_PROMPT!r} --top 5      ({render.fmt_seconds(dt)})")
        say(f"longest suffix found: {res.suffix_len} of {len(INFGRAM_PROMPT.encode())} tokens  {render.text_snippet(suffix)}")
        say(f"prompt count: {render.fmt_int(res.prompt_cnt)}; {render.plural(len(res.result_by_token_id), 'distinct next token')}")
        if res.result_by_token_id:
            say(render.render_distribution(res.result_by_token_id, idx.decode, idx.eos_token_id, 5))

        # search with highlighted context
        res, dt = timed("search_docs", idx.search_docs, SEARCH_QUERY, maxnum=2, max_disp_len=160, seed=0)
        say(f"\n$ anygram search IDX {SEARCH_QUERY!r} --maxnum 2 --context 160 --seed 0      ({render.fmt_seconds(dt)})")
        if res.cnt == 0:
            say("no match")
        else:
            color = render.use_color(sys.stdout)
            say(f"{render.fmt_int(res.cnt)} occurrences; showing {len(res.documents)}")
            for doc in res.documents:
                say()
                say(render.render_doc(doc, idx.decode, len(SEARCH_QUERY.encode()), color))

        # score a snippet
        res, dt = timed("score", idx.score, SCORE_SNIPPET)
        say(f"\n$ anygram score IDX snippet.py      ({render.fmt_seconds(dt)})")
        say("\n".join("    " + line for line in SCORE_SNIPPET.rstrip().splitlines()))
        say(render_score(idx, res, False))
        if res.zero_prob_tokens:
            say("(∞-gram probabilities are unsmoothed: a token the corpus never saw after the matched suffix\n"
                " gets probability 0, and one such token makes the perplexity infinite)")

        if args.keep or args.out:
            say(f"\nThe index is in {out}. Try:\n  anygram ntd {out} 'import '\n  anygram search {out} 'yield from'")
        elif not as_json:
            say("\n(temporary index removed; --keep or --out DIR keeps it)")
        report["index"] = str(out) if (args.keep or args.out) else None
        idx.close()
        del idx
    finally:
        if tmp is not None and not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        elif corpus.exists():
            shutil.rmtree(corpus, ignore_errors=True)
    if as_json:
        _emit_json(report)
    return 0
