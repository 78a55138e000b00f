"""``anygram trace``: which spans of a text occur verbatim in the corpus, and in which documents."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from .render import BOLD, MATCH, RESET, fmt_int, plural, render_doc, use_color


def add_parser(add: Callable[..., argparse.ArgumentParser], query: argparse.ArgumentParser) -> None:
    p = add("trace", run, [query])
    p.add_argument("text", nargs="?", default=None, metavar="TEXT", help="the text to trace (or --file)")
    p.add_argument("--file", default=None, metavar="F", help="read the text from F (- for stdin)")
    p.add_argument("--min-len", type=int, default=None, metavar="N", help="shortest span in tokens (default 8; 32 on a byte-level index)")
    p.add_argument("--max-cnt", type=int, default=None, metavar="N", help="drop spans occurring more than N times (default: no limit)")
    p.add_argument("--delim", action="append", default=None, metavar="TOKEN", help="a one-token delimiter spans may end with but not contain (repeatable; e.g. '.' and a newline)")
    p.add_argument("--bow", action="store_true", help="spans start at a beginning-of-word token and end before one")
    p.add_argument("--bow-ids", default=None, metavar="IDS", help="beginning-of-word token ids, comma-separated (default: whitespace bytes, or the tokenizer's word-start tokens)")
    p.add_argument("--top-frac", type=float, default=None, metavar="F", help="OLMoTrace filter: keep the ceil(F * tokens) spans of lowest unigram probability (OLMoTrace: 0.05)")
    p.add_argument("--max-unigram-logprob", type=float, default=None, metavar="X", help="keep spans whose summed unigram log-probability is at most X")
    p.add_argument("--max-docs", type=int, default=3, metavar="N", help="documents shown per span (default 3)")
    p.add_argument("--context", type=int, default=40, metavar="TOKENS", help="tokens of context either side of a span (default 40)")


def _read_text(args: argparse.Namespace) -> str:
    from anygram.errors import CorpusError, QueryError

    if (args.text is None) == (args.file is None):
        raise QueryError("give the text to trace as TEXT or with --file (not both)")
    if args.text is not None:
        return args.text
    try:
        if args.file == "-":
            return sys.stdin.read()
        with open(args.file, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise CorpusError(f"cannot read {args.file}: {exc}") from None


def run(args: argparse.Namespace) -> int:
    """Trace a text back to the corpus: its maximal spans found verbatim (≥ --min-len tokens),
    their counts, and the documents they occur in, with context.

    The semantics are infini-gram's `attribute` (delimiters, beginning-of-word spans, --max-cnt),
    plus OLMoTrace's filters of common spans (--top-frac, --max-unigram-logprob). The text is
    printed with the found spans highlighted (bold colour on a terminal, [[ ]] otherwise), then
    each span with its documents.
    """
    from anygram.errors import QueryError

    from .main import _open, _parse_ids, _query

    text = _read_text(args)
    idx = _open(args)
    delims: list[int] = []
    for d in args.delim or []:
        ids = _parse_ids(d, "--delim") if args.ids else idx.tokenize(d.encode().decode("unicode_escape") if "\\" in d else d)
        if len(ids) != 1:
            raise QueryError(f"--delim {d!r} is {len(ids)} tokens, not one")
        delims += ids
    bow_ids = _parse_ids(args.bow_ids, "--bow-ids") if args.bow_ids else None
    res = idx.attribute(
        _query(args, text, "text"), delim_ids=delims, min_len=args.min_len, max_cnt=args.max_cnt, enforce_bow=args.bow,
        bow_ids=bow_ids, top_frac=args.top_frac, max_unigram_logprob=args.max_unigram_logprob, max_docs=args.max_docs,
        context=args.context,
    )
    if args.json:
        from .main import _emit_json

        _emit_json(res)
        return 0
    decode = idx.decode if idx.tokenizer is not None and res.text else None
    print(render_trace(res, decode, use_color(sys.stdout), idx.token_width == 1 and decode is not None))
    return 0


def _segments(n: int, spans: list[Any], ids: list[int], byte_level: bool) -> list[tuple[int, int, bool]]:
    """The text cut into (start, end, covered) runs; cuts moved off UTF-8 continuation bytes."""
    covered = [False] * n
    for s in spans:
        for i in range(s.l, s.r):
            covered[i] = True
    cuts = [0] + [i for i in range(1, n) if covered[i] != covered[i - 1]]
    flags = [covered[c] for c in cuts]
    pos = [_snap(ids, c) if byte_level else c for c in cuts] + [n]
    return [(pos[j], pos[j + 1], flags[j]) for j in range(len(cuts)) if pos[j + 1] > pos[j]]


def _snap(ids: list[int], c: int) -> int:
    while 0 < c < len(ids) and (ids[c] & 0xC0) == 0x80:
        c -= 1
    return c


def render_trace(res: Any, decode: Callable[[list[int]], str] | None, color: bool, byte_level: bool) -> str:
    """The text with its found spans highlighted, then every span with its documents."""
    ids = res.token_ids
    n = len(ids)
    lines = []
    pct = 100.0 * res.covered_tokens / n if n else 0.0
    head = f"{plural(n, 'token')}; {plural(len(res.spans), 'span')} found cover {fmt_int(res.covered_tokens)} tokens ({pct:.1f}%)"
    if res.num_maximal_spans != len(res.spans):
        head += f"; {fmt_int(res.num_maximal_spans)} before filtering"
    p = res.params
    head += f"  [min_len {p['min_len']}" + (f", max_cnt {p['max_cnt']}" if p["max_cnt"] is not None else "") + "]"
    lines.append(head)
    lines.append("")
    if decode is not None:
        body = []
        for a, b, cov in _segments(n, res.spans, ids, byte_level):
            piece = decode(ids[a:b])
            body.append((f"{MATCH}{piece}{RESET}" if color else f"[[{piece}]]") if cov else piece)
        lines.append("".join(body))
    else:
        lines.append(" ".join(map(str, ids)))
    for i, s in enumerate(res.spans, 1):
        lines.append("")
        shown = repr(s.text) if decode is not None else " ".join(map(str, ids[s.l : s.r]))
        title = f"span {i}: tokens {s.l}-{s.r} ({s.length}), {plural(s.count, 'occurrence')}, unigram logprob {s.unigram_logprob_sum:.2f}"
        lines.append(f"{BOLD}{title}{RESET}" if color else title)
        lines.append(f"  {shown}")
        for d in s.docs:
            doc = render_doc(d, decode, s.length, color)
            lines.extend("  " + line for line in doc.splitlines())
    return "\n".join(lines)
