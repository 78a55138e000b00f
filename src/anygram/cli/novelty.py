"""``anygram novelty``: how much of a file of generated texts occurs in the corpus, and how repetitive it is."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from .render import fmt_float, fmt_int, kv_table, table, text_snippet

#: texts listed one per row by default (all with --per-text)
SHOWN_TEXTS = 20


def add_parser(add: Callable[..., argparse.ArgumentParser], query: argparse.ArgumentParser) -> None:
    p = add("novelty", run, [query])
    p.add_argument("file", metavar="FILE", help="generated texts: JSONL (.jsonl/.jsonl.gz, see --field) or plain text, one per line (- for stdin)")
    p.add_argument("--field", default="text", metavar="F", help="JSONL field holding the text (default: text)")
    p.add_argument("--max-n", type=int, default=10, metavar="K", help="n-gram sizes 1..K for the absent and distinct shares (default 10)")
    p.add_argument("--no-agreement", action="store_true", help="skip the ∞-gram agreement (the slowest part)")
    p.add_argument("--plot", default=None, metavar="PNG", help="write the aggregate plots to this PNG (needs anygram[reports])")
    p.add_argument("--per-text", action="store_true", help=f"list every text (default: the first {SHOWN_TEXTS})")


def run(args: argparse.Namespace) -> int:
    """Novelty and repetition of generated texts against the corpus.

    Per text: the longest span found in the corpus at every position (mean, median, histogram),
    the share of its n-grams absent from the corpus (n = 1..K), how often the ∞-gram's most
    likely next token is the actual one (by the length of the suffix the ∞-gram found), and its
    longest internally repeated substring; then the same pooled over all texts. See
    docs/novelty.md for the exact definitions.
    """
    from anygram.analyses.novelty import novelty, read_texts, write_plots

    from .main import _emit_json, _open, _parse_ids

    idx = _open(args)
    texts: Any = read_texts(args.file, args.field)
    if args.ids:
        texts = (_parse_ids(t, "text") for t in texts)
    report = novelty(idx, texts, max_n=args.max_n, agreement=not args.no_agreement)
    if args.plot:
        write_plots(report, args.plot)
    if args.json:
        _emit_json(report)
        return 0
    print(render_novelty(report, args.per_text))
    if args.plot:
        print(f"\nplots: {args.plot}")
    return 0


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100.0 * x:.1f}%"


def render_novelty(r: Any, per_text: bool) -> str:
    lines = [kv_table([
        ("texts", fmt_int(r.texts)),
        ("tokens", fmt_int(r.tokens)),
        ("mean longest match", "-" if r.match_mean is None else f"{r.match_mean:.2f} tokens"),
        ("∞-gram agreement", _pct(r.agreement_rate)),
        ("longest repeat", "-" if r.longest_repeat_mean is None else f"mean {r.longest_repeat_mean:.1f}, max {r.longest_repeat_max} tokens"),
    ])]
    ns = list(r.absent_ngram_share)
    lines.append("")
    lines.append(table([["absent"] + [_pct(r.absent_ngram_share[n]) for n in ns], ["distinct"] + [_pct(r.distinct_ngram_share_mean[n]) for n in ns]],
                       headers=["n"] + [str(n) for n in ns], align="l" + "r" * len(ns)))
    total = sum(r.match_histogram.values()) or 1
    lines.append("")
    lines.append(table([[k, fmt_int(v), _pct(v / total)] for k, v in r.match_histogram.items()], headers=["longest match", "positions", "share"], align="lrr"))
    if r.agreement:
        lines.append("")
        rows = [[k, fmt_int(a.positions), fmt_int(a.agree), _pct(a.rate)] for k, a in r.agreement.items()]
        lines.append(table(rows, headers=["suffix length", "positions", "agree", "rate"], align="lrrr"))
    shown = r.per_text if per_text else r.per_text[:SHOWN_TEXTS]
    if shown:
        lines.append("")
        rows = []
        for t in shown:
            rep = t.longest_repeat
            rows.append([str(t.index), fmt_int(t.tokens), fmt_float(t.match_mean, 2) if t.match_mean is not None else "-",
                         _pct(t.absent_ngram_share.get(min(4, len(t.absent_ngram_share)))), _pct(t.agreement_rate),
                         str(rep.length), text_snippet(rep.text, 40) if rep.length else ""])
        k = min(4, len(r.absent_ngram_share))
        lines.append(table(rows, headers=["text", "tokens", "mean match", f"absent {k}-grams", "agreement", "repeat", "repeated text"], align="rrrrrrl"))
        if len(shown) < len(r.per_text):
            lines.append(f"... {fmt_int(len(r.per_text) - len(shown))} more texts (--per-text, or --json)")
    return "\n".join(lines)
