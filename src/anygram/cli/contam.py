"""``anygram contam``: benchmark contamination of one or several indexes (see docs/contamination.md)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from typing import Any


def run(args: argparse.Namespace) -> int:
    """Check benchmarks for contamination: which items occur verbatim (in part) in the corpora.

    IDX is an index directory, NAME=DIR, or several separated by commas (each a corpus of its
    own: one column of the table); DIR1+DIR2 queries several directories together as one corpus.
    Each BENCH is a benchmark file (.jsonl(.gz), .json, .csv/.tsv, .parquet, .arrow), a folder of
    them, or a Hugging Face datasets folder (save_to_disk), optionally NAME=PATH. Fields default
    to the known layout of the benchmark (GSM8K question, HumanEval prompt + canonical_solution,
    MBPP text + code, MMLU question + choices, ...); --fields overrides them.

    Criteria (side by side): windows = fraction of overlapping --window-character windows found
    (dirty >= --dirty, suspicious >= --suspicious); ngrams = fraction of --ngram-grams found
    (words on a byte-level index, index tokens otherwise; dirty >= --ngram-dirty); longest =
    longest verbatim span, its count and up to --docs documents holding it.
    """
    from anygram.analyses.benchmarks import load_benchmark
    from anygram.analyses.contamination import contamination
    from anygram.errors import QueryError

    from .render import table

    indexes = _index_specs(args.indexes)
    benches = []
    fields = [f.strip() for f in args.fields.split(",") if f.strip()] if args.fields else None
    for spec in args.benchmarks:
        name = None
        path = spec
        if "=" in spec and not os.path.exists(spec):
            name, path = spec.split("=", 1)
        benches.append(load_benchmark(path, fields, name=name, joiner=args.joiner, id_field=args.id_field, limit=args.limit))
    criteria = [c.strip() for c in args.criteria.split(",") if c.strip()]
    if not criteria:
        raise QueryError("--criteria is empty")
    total = sum(len(b.items) for b in benches) * len(indexes)
    bar, progress = _progress(total, args.quiet)
    try:
        report = contamination(
            indexes, benches, criteria=criteria, window=args.window, dirty=args.dirty, suspicious=args.suspicious,
            ngram=args.ngram, ngram_dirty=args.ngram_dirty, docs=args.docs, context=args.context,
            threads=args.threads, progress=progress,
        )
    finally:
        if bar is not None:
            bar.close()
    from anygram.analyses import contamination_report as rep

    if args.png:
        rep.write_heatmap(report, args.png)
    if args.html:
        rep.write_html(report, args.html, rep.texts_of(benches), max_items=args.html_items)
    if args.json:
        print(json.dumps(report.to_dict()))
        return 0
    print(rep.params_line(report))
    headers, rows = rep.summary_rows(report)
    print(table(rows, headers=headers))
    if args.top:
        for r in report.results:
            shown = [it for it in rep.top_items(r, args.top) if (it.windows and it.windows.found) or (it.ngrams and it.ngrams.found)]
            if not shown:
                continue
            print()
            print(f"{r.benchmark} x {r.index}: most contaminated items")
            trows = []
            for it in shown:
                trows.append([
                    it.id,
                    it.windows.label if it.windows else "-",
                    _frac(it.windows), _frac(it.ngrams),
                    f"{it.longest.chars} x{it.longest.count}" if it.longest else "-",
                    _snippet(it.longest.text) if it.longest else "",
                ])
            print(table(trows, headers=["id", "label", "windows", "ngrams", "longest", "longest span"], align="llrrrl"))
    if args.html:
        print(f"\nHTML report: {args.html}")
    if args.png:
        print(f"heat-map: {args.png}")
    return 0


def _frac(s: Any) -> str:
    if s is None:
        return "-"
    return f"{s.found}/{s.total}"


def _snippet(text: str, limit: int = 60) -> str:
    t = " ".join(text.split())
    return t if len(t) <= limit else t[: limit - 1] + "…"


def _index_specs(spec: str) -> dict[str, str | list[str]]:
    out: dict[str, str | list[str]] = {}
    from anygram.errors import QueryError

    parts = [spec] if os.path.exists(spec) else [s for s in spec.split(",") if s.strip()]
    for part in parts:
        part = part.strip()
        if "=" in part and not os.path.exists(part):
            name, path = part.split("=", 1)
        else:
            name, path = os.path.basename(os.path.normpath(part.split("+")[0])), part
        paths: str | list[str] = path if os.path.exists(path) or "+" not in path else [p for p in path.split("+") if p]
        if name in out:
            raise QueryError(f"two indexes are named {name!r}: name them with NAME=DIR")
        out[name] = paths
    return out


def _progress(total: int, quiet: bool) -> tuple[Any, Callable[[int], None] | None]:
    if quiet or total < 50:
        return None, None
    from tqdm import tqdm

    bar = tqdm(total=total, desc="contamination", unit="item", file=sys.stderr, dynamic_ncols=True, leave=False)
    return bar, bar.update


def add_parser(add: Callable[..., argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """Register ``contam`` with the main parser's ``add(name, fn, parents)``."""
    p = add("contam", run, [common])
    p.add_argument("indexes", metavar="IDX[,IDX...]", help="index directories (comma: separate corpora; NAME=DIR; DIR1+DIR2: one corpus)")
    p.add_argument("benchmarks", nargs="+", metavar="BENCH", help="benchmark files or folders (NAME=PATH to name one)")
    p.add_argument("--fields", default=None, metavar="F[,F...]", help="fields joined into an item's text (dotted paths; default: the benchmark's known layout)")
    p.add_argument("--joiner", default=None, metavar="S", help="string between fields (default: newline; '' for HumanEval)")
    p.add_argument("--id-field", default=None, metavar="F", help="field holding item ids (default: id, task_id, ... or the record number)")
    p.add_argument("--criteria", default="windows,ngrams,longest", metavar="C[,C...]", help="windows, ngrams, longest (default: all three)")
    p.add_argument("--window", type=int, default=50, metavar="N", help="window length in characters (tokens on a tokenizer index; default 50)")
    p.add_argument("--dirty", type=float, default=0.8, metavar="F", help="windows: dirty at this fraction (default 0.8)")
    p.add_argument("--suspicious", type=float, default=0.2, metavar="F", help="windows: suspicious at this fraction (default 0.2)")
    p.add_argument("--ngram", type=int, default=8, metavar="N", help="n of the n-gram criterion (default 8)")
    p.add_argument("--ngram-dirty", type=float, default=0.7, metavar="F", help="ngrams: dirty at this fraction (default 0.7, as PaLM)")
    p.add_argument("--docs", type=int, default=3, metavar="K", help="documents shown per item for its longest span (default 3; 0: none)")
    p.add_argument("--context", type=int, default=200, metavar="TOKENS", help="tokens of context around the span in each document (default 200)")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="only the first N items of each benchmark")
    p.add_argument("--top", type=int, default=5, metavar="K", help="items listed per benchmark and index (default 5; 0: none)")
    p.add_argument("--html", default=None, metavar="FILE", help="write a self-contained HTML report")
    p.add_argument("--html-items", type=int, default=100, metavar="N", help="items detailed per benchmark in the HTML report (default 100)")
    p.add_argument("--png", default=None, metavar="FILE", help="write the heat-map (benchmarks x indexes, dirty rate) as PNG (needs anygram[reports])")
    p.add_argument("--threads", type=int, default=None, metavar="N", help="threads (default: ANYGRAM_THREADS or all cores)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
