"""``anygram dedup``: exact-substring deduplication of a corpus (see docs/dedup.md)."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from typing import Any


def run(args: argparse.Namespace) -> int:
    """Remove repeated substrings of K or more tokens from a corpus; write a copy and a report.

    SOURCE is an index directory (the copy is rebuilt from the index: byte-level or pre-tokenized
    indexes), or corpus files/folders (indexed first, into --index if given, or read back with an
    existing --index). The deduplicated corpus goes to OUT/corpus in the input's own formats
    (JSONL(.gz/.zst), JSON, parquet, text files; metadata kept), the report to OUT/report.json and
    OUT/spans.png. --mode first (default) keeps the first occurrence of every duplicated string,
    --mode all removes every occurrence. An interrupted run resumes when run again.
    """
    from anygram.analyses.dedup import dedup

    sources = list(args.sources)
    index = args.index
    corpus: list[str] | None = sources
    if index is None and len(sources) == 1 and os.path.isfile(os.path.join(sources[0], "manifest.json")):
        index, corpus = sources[0], None
    progress = not (args.quiet or args.json)
    result = dedup(
        args.out, index=index, corpus=corpus, k=args.k, mode=args.mode, min_length=args.min_length,
        top=args.top, plot=not args.no_plot, workers=args.workers, max_memory=args.max_memory,
        text_field=args.text_field, keep_index=args.keep_index, overwrite=args.overwrite, progress=progress,
    )
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        print(render(result))
    return 0


def render(r: Any) -> str:
    """The human summary of a :class:`~anygram.analyses.dedup.DedupResult`."""
    pct = (100.0 * r.bytes_removed / r.bytes_in) if r.bytes_in else 0.0
    lines = [
        f"dedup (k={r.k}, mode={r.mode}, min_length={r.min_length}) -> {r.output}",
        f"documents   {r.docs_in} in, {r.docs_out} out, {r.docs_touched} touched, {r.docs_dropped} dropped, {r.docs_not_indexed} not indexed (copied)",
        f"bytes       {r.bytes_in} in, {r.bytes_out} out, {r.bytes_removed} removed ({pct:.2f}%)",
        f"spans       {r.spans_removed} removed ({r.tokens_removed} tokens); {r.duplicated_kgrams} duplicated {r.k}-grams, {r.duplicated_windows} occurrences",
    ]
    if r.top:
        lines.append("top duplicated strings (count, first document, span length, text):")
        for t in r.top:
            shown = t.text if t.ids is None else " ".join(map(str, t.ids))
            lines.append(f"  {t.count:>8}  doc {t.doc_ix:<8} {t.span_tokens:>6}  {json.dumps(shown, ensure_ascii=False)}")
    lines.append(f"report      {r.report_path}" + (f", {r.plot_path}" if r.plot_path else ""))
    return "\n".join(lines)


def add_parser(add: Callable[..., argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    p = add("dedup", run, [common])
    p.add_argument("sources", nargs="+", metavar="SOURCE", help="an index directory, or corpus files/folders")
    p.add_argument("-o", "--out", required=True, metavar="OUT", help="output directory (corpus copy in OUT/corpus, report in OUT)")
    p.add_argument("--index", default=None, metavar="IDX", help="index of the corpus (built there if missing; default: a temporary one in OUT/.work)")
    p.add_argument("-k", "--k", type=int, default=50, metavar="K", help="shortest duplicated span to remove, in tokens (default 50)")
    p.add_argument("--mode", choices=("first", "all"), default="first", help="keep the first occurrence (default) or remove all")
    p.add_argument("--min-length", type=int, default=1, metavar="N", help="drop documents that lost text and keep fewer than N tokens (default 1)")
    p.add_argument("--top", type=int, default=20, metavar="N", help="top duplicated strings in the report (default 20)")
    p.add_argument("--no-plot", action="store_true", help="no histogram PNG")
    p.add_argument("--workers", type=int, default=None, metavar="N", help="threads (and build processes; default: CPU count)")
    p.add_argument("--max-memory", default=None, metavar="SIZE", help="RAM for building the index, e.g. 8G")
    p.add_argument("--text-field", default="text", metavar="F", help="JSONL/parquet field with the text when building (default: text)")
    p.add_argument("--keep-index", action="store_true", help="keep an index built here as OUT/index")
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
