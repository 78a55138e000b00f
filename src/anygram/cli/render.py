"""Human-readable rendering of results for the command line.

Everything here returns strings (no printing) and imports nothing heavy, so the CLI can render a
result without pulling in numpy or numba by itself. Results are duck-typed dataclasses from
:mod:`anygram.results`.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TextIO

BOLD = "\x1b[1m"
MATCH = "\x1b[1;31m"  # bold red
DIM = "\x1b[2m"
RESET = "\x1b[0m"
#: files holding one document per record: their documents are shown as ``path:record``
RECORD_FILES = (".jsonl", ".jsonl.gz", ".jsonl.zst", ".json.gz", ".json.zst", ".ndjson", ".parquet")


def use_color(stream: TextIO | None = None) -> bool:
    """ANSI colour when the stream is a terminal and ``NO_COLOR`` is unset."""
    stream = stream or sys.stdout
    if os.environ.get("NO_COLOR"):
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


# ----------------------------------------------------------------- numbers
def fmt_int(n: int) -> str:
    return f"{n:,}"


def plural(n: int, word: str) -> str:
    """``plural(2, "token")`` -> ``'2 tokens'``."""
    return f"{fmt_int(n)} {word}{'' if n == 1 else 's'}"


def fmt_bytes(n: float) -> str:
    """1536 -> '1.5 KiB' (binary units)."""
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


def fmt_seconds(s: float) -> str:
    if s < 1e-3:
        return f"{s * 1e6:.0f} µs"
    if s < 1:
        return f"{s * 1e3:.1f} ms"
    if s < 120:
        return f"{s:.2f} s"
    return f"{int(s // 60)} min {s % 60:.0f} s"


def fmt_prob(p: float) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "nan"
    if p < 0:
        return "-1"
    return f"{p:.4f}"


def fmt_float(x: float, digits: int = 3) -> str:
    if isinstance(x, str):  # "inf" from to_dict
        return x
    if math.isinf(x):
        return "inf"
    if math.isnan(x):
        return "nan"
    return f"{x:.{digits}f}"


def bar(fraction: float, width: int = 20) -> str:
    """A unicode bar of ``fraction`` (0..1) of ``width`` cells, with eighth-block resolution."""
    fraction = min(max(fraction, 0.0), 1.0)
    eighths = round(fraction * width * 8)
    full, rest = divmod(eighths, 8)
    return "█" * full + ("" if rest == 0 else " ▏▎▍▌▋▊▉"[rest])


# ------------------------------------------------------------------ tables
def table(rows: Sequence[Sequence[Any]], headers: Sequence[str] | None = None, align: str | None = None) -> str:
    """Align columns; ``align`` holds one of ``l``/``r`` per column (default: numbers right)."""
    cells = [[str(c) for c in r] for r in rows]
    if headers is not None:
        cells.insert(0, [str(h) for h in headers])
    if not cells:
        return ""
    ncol = max(len(r) for r in cells)
    for r in cells:
        r.extend([""] * (ncol - len(r)))
    if align is None:
        body = cells[1:] if headers is not None else cells
        align = "".join("r" if body and all(_numeric(r[i]) for r in body) else "l" for i in range(ncol))
    widths = [max(_width(r[i]) for r in cells) for i in range(ncol)]
    lines = []
    for r in cells:
        parts = []
        for i, c in enumerate(r):
            pad = " " * (widths[i] - _width(c))
            parts.append(pad + c if align[i] == "r" else c + pad)
        lines.append("  ".join(parts).rstrip())
    if headers is not None:
        lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def kv_table(pairs: Iterable[tuple[str, Any]]) -> str:
    """``key  value`` lines with the keys aligned."""
    pairs = list(pairs)
    w = max((len(k) for k, _ in pairs), default=0)
    return "\n".join(f"{k + ':':<{w + 1}}  {v}" for k, v in pairs)


def _numeric(s: str) -> bool:
    s = s.replace(",", "").replace("%", "").strip()
    if not s:
        return True
    try:
        float(s)
        return True
    except ValueError:
        return s in ("inf", "-inf", "nan", "-")


def _width(s: str) -> int:
    # ANSI sequences take no room on screen
    if "\x1b[" not in s:
        return len(s)
    out, i = 0, 0
    while i < len(s):
        if s.startswith("\x1b[", i):
            j = s.find("m", i)
            i = j + 1 if j >= 0 else len(s)
        else:
            out += 1
            i += 1
    return out


# ------------------------------------------------------------------ tokens
def token_label(decode: Callable[[list[int]], str] | None, token_id: int, eos_token_id: int | None = None) -> str:
    """A token as a repr-escaped string (``'\\n'``), ``<eos>`` for the end of a document."""
    if eos_token_id is not None and token_id == eos_token_id:
        return "<eos>"
    if decode is None:
        return str(token_id)
    try:
        text = decode([token_id])
    except Exception:  # noqa: BLE001 - an ids-only index has nothing better to show
        return str(token_id)
    return repr(text)


def text_snippet(text: str, limit: int = 60) -> str:
    """repr of ``text``, cut in the middle when long."""
    r = repr(text)
    if len(r) <= limit:
        return r
    half = (limit - 3) // 2
    return r[:half] + "..." + r[-half:]


# ------------------------------------------------------------------ results
def render_distribution(
    dist: dict[int, Any],
    decode: Callable[[list[int]], str] | None,
    eos_token_id: int | None,
    top: int | None,
) -> str:
    """Table of a next-token distribution: id, token, count, prob, bar (most frequent first)."""
    items = sorted(dist.items(), key=lambda kv: (-kv[1].cont_cnt, kv[0]))
    shown = items if top is None else items[:top]
    pmax = max((tp.prob for _, tp in shown), default=1.0) or 1.0
    rows = [
        [str(t), token_label(decode, t, eos_token_id), fmt_int(tp.cont_cnt), fmt_prob(tp.prob), bar(tp.prob / pmax)]
        for t, tp in shown
    ]
    out = table(rows, headers=["id", "token", "count", "prob", ""], align="rlrrl")
    if len(shown) < len(items):
        rest = sum(tp.cont_cnt for _, tp in items[len(shown):])
        more = len(items) - len(shown)
        out += f"\n... {plural(more, 'more token')} ({plural(rest, 'occurrence')})"
    return out


def render_build_summary(s: Any) -> str:
    """The table printed after ``anygram index`` (and by the demo)."""
    pairs = [
        ("index", s.path),
        ("tokens", fmt_int(s.tokens)),
        ("documents", fmt_int(s.docs)),
        ("shards", fmt_int(s.shards)),
        ("text", fmt_bytes(s.text_bytes)),
        ("index size", fmt_bytes(s.index_bytes)),
        ("bytes/token", f"{s.bytes_per_token:.2f}"),
        ("wall time", fmt_seconds(s.wall_seconds)),
        ("peak RSS", fmt_bytes(s.peak_rss_bytes)),
    ]
    if s.resumed_shards:
        pairs.append(("resumed shards", fmt_int(s.resumed_shards)))
    total_skipped = sum(s.skipped.values())
    pairs.append(("skipped records", fmt_int(total_skipped)))
    out = kv_table(pairs)
    if total_skipped:
        rows = [[fmt_int(n), reason] for reason, n in sorted(s.skipped.items(), key=lambda kv: -kv[1])]
        out += "\n" + "\n".join("  " + line for line in table(rows, headers=["count", "reason"]).splitlines())
        if s.skipped_examples:
            out += "\n  first examples:"
            for ex in s.skipped_examples[:5]:
                out += f"\n    {ex}"
    return out


def render_info(info: Any) -> str:
    tok = info.tokenizer or {}
    tok_desc = tok.get("kind", "?")
    if tok.get("vocab_size"):
        tok_desc += f" (vocab {fmt_int(tok['vocab_size'])})"
    if tok.get("file"):
        tok_desc += f", {tok['file']}"
    pairs = [
        ("index", ", ".join(info.path)),
        ("format", f"{info.format} v{info.format_version}"),
        ("kind", _kind_desc(info)),
        ("tokenizer", tok_desc),
        ("token width", f"{info.token_width} byte{'s' if info.token_width > 1 else ''}"),
        ("eos token id", info.eos_token_id),
        ("tokens", fmt_int(info.total_tokens)),
        ("documents", fmt_int(info.total_docs)),
        ("shards", fmt_int(len(info.shards))),
        ("index size", fmt_bytes(info.index_bytes)),
        ("bytes/token", f"{info.bytes_per_token:.2f}"),
    ]
    created = (info.build or {}).get("created")
    if created:
        pairs.append(("built", created))
    out = kv_table(pairs)
    if len(info.shards) > 1 or info.shards:
        rows = [
            [str(i), sh.path, fmt_int(sh.tokens), fmt_int(sh.docs), fmt_bytes(sh.ds_bytes), fmt_bytes(sh.sa_bytes), str(sh.ptr_size)]
            for i, sh in enumerate(info.shards)
        ]
        heads = ["shard", "path", "tokens", "docs", "tokens size", "table size", "ptr"]
        if getattr(info, "kind", "sa") == "fm":
            heads[4:6] = ["text size", "FM size"]
        out += "\n\n" + table(rows, headers=heads, align="rlrrrrr")
    return out


def _kind_desc(info: Any) -> str:
    if getattr(info, "kind", "sa") != "fm":
        return "sa (suffix arrays)"
    fm = info.fm or {}
    text = sum(sh.ds_bytes for sh in info.shards)
    ratio = f", {info.index_bytes / text:.3f}x the token bytes" if text else ""
    return (f"fm (FM-index, rank {fm.get('rank')}, SA sample {fm.get('sa_sample')}, ISA sample {fm.get('isa_sample')}; "
            f"rank {fmt_bytes(fm.get('rank_bytes', 0))}, samples {fmt_bytes(fm.get('sample_bytes', 0))}{ratio})")


def highlight(before: str, match: str, after: str, color: bool) -> str:
    if color:
        return f"{before}{MATCH}{match}{RESET}{after}"
    return f"{before}[[{match}]]{after}"


def doc_header(doc: Any, color: bool) -> str:
    meta = doc.metadata or {}
    where = meta.get("path")
    if where is not None and "linenum" in meta and str(where).lower().endswith(RECORD_FILES):
        where = f"{where}:{meta['linenum'] + 1}"
    extra = meta.get("metadata")
    head = f"doc #{doc.doc_ix}"
    if where:
        head += f"  {where}"
    head += f"  (shard {doc.shard}, ptr {doc.ptr}, {fmt_int(doc.doc_len)} tokens"
    if doc.disp_len < doc.doc_len:
        head += f", showing {fmt_int(doc.disp_len)}"
    head += ")"
    if extra:
        head += "  " + ", ".join(f"{k}={v!r}" for k, v in extra.items())
    elif meta and where is None:
        head += "  " + ", ".join(f"{k}={v!r}" for k, v in meta.items())
    return f"{BOLD}{head}{RESET}" if color else head


def render_doc(
    doc: Any,
    decode: Callable[[list[int]], str] | None,
    needle_len: int,
    color: bool,
) -> str:
    """A document window with the match (``needle_len`` tokens at ``needle_offset``) highlighted."""
    ids = doc.token_ids
    if decode is None:
        return doc_header(doc, color) + "\n" + (doc.text or " ".join(map(str, ids)))
    if needle_len <= 0:
        return doc_header(doc, color) + "\n" + decode(ids)
    a = doc.needle_offset
    b = min(len(ids), a + needle_len)
    body = highlight(decode(ids[:a]), decode(ids[a:b]), decode(ids[b:]), color)
    return doc_header(doc, color) + "\n" + body
