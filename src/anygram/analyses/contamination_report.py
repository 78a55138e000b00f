"""Rendering of a :class:`ContaminationReport`: a text table, a heat-map PNG and an HTML page.

The PNG needs matplotlib (the ``reports`` extra); the HTML page is self-contained (inline CSS,
the heat-map inlined as a base64 PNG when matplotlib is installed, no external asset).
"""

from __future__ import annotations

import base64
import html
import io
import os
import tempfile
from pathlib import Path
from typing import Any

from ..errors import require
from .contamination_results import BenchmarkContamination, ContaminationReport, ItemContamination

# ------------------------------------------------------------------ helpers


def write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write bytes through a temporary file in the same folder, fsync, rename."""
    p = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", dir=str(p.parent) or ".")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def params_line(report: ContaminationReport) -> str:
    """One line describing the criteria and their parameters."""
    p = report.params
    parts = []
    if "windows" in p:
        w = p["windows"]
        parts.append(f"windows: {w['window']} chars (tokens on a tokenizer index), dirty >= {w['dirty']:g}, suspicious >= {w['suspicious']:g}")
    if "ngrams" in p:
        parts.append(f"ngrams: {p['ngrams']['n']}-grams, dirty >= {p['ngrams']['dirty']:g}")
    if "longest" in p:
        parts.append("longest span")
    return "; ".join(parts)


def summary_rows(report: ContaminationReport) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the benchmark × index summary table."""
    crit = report.params["criteria"]
    headers = ["benchmark", "index", "items"]
    if "windows" in crit:
        headers += ["dirty", "suspicious", "clean", "too short", "mean score"]
    if "ngrams" in crit:
        headers += ["8g dirty" if report.params["ngrams"]["n"] == 8 else f"{report.params['ngrams']['n']}g dirty", "8g mean" if report.params["ngrams"]["n"] == 8 else "ng mean"]
    if "longest" in crit:
        headers += ["longest max (chars)", "longest mean"]
    rows = []
    for r in report.results:
        row = [r.benchmark, r.index, str(r.items)]
        if r.windows is not None:
            row += [_pct(r.windows.rates["dirty"]), _pct(r.windows.rates["suspicious"]), _pct(r.windows.rates["clean"]), _pct(r.windows.rates["too_short"]), _pct(r.windows.mean_score)]
        if r.ngrams is not None:
            row += [_pct(r.ngrams.rates["dirty"]), _pct(r.ngrams.mean_score)]
        if r.longest is not None:
            row += [str(r.longest.max_chars), f"{r.longest.mean_chars:.1f}"]
        rows.append(row)
    return headers, rows


def top_items(r: BenchmarkContamination, k: int) -> list[ItemContamination]:
    """The ``k`` most contaminated items (by windows score, then 8-gram score, then longest span)."""

    def key(it: ItemContamination) -> tuple[float, float, int]:
        return (
            (it.windows.score or 0.0) if it.windows else 0.0,
            (it.ngrams.score or 0.0) if it.ngrams else 0.0,
            it.longest.chars if it.longest else 0,
        )

    return sorted(r.item_results, key=key, reverse=True)[:k]


# ------------------------------------------------------------------ heat map


def heatmap_png(report: ContaminationReport, criterion: str = "windows", label: str = "dirty") -> bytes:
    """A heat-map (benchmarks × indexes) of the rate of ``label`` under ``criterion``, as PNG bytes."""
    mpl = require("matplotlib", "reports", "drawing the contamination heat-map")
    mpl.use("Agg", force=False)
    plt = require("matplotlib.pyplot", "reports", "drawing the contamination heat-map")
    import numpy as np

    if criterion not in report.params["criteria"]:
        criterion = "ngrams" if "ngrams" in report.params["criteria"] else criterion
    benches, idxs, rows = report.matrix(criterion, label)
    data = np.array([[np.nan if v is None else 100 * v for v in row] for row in rows], dtype=float).reshape(len(benches), len(idxs))
    fig, ax = plt.subplots(figsize=(1.6 + 1.4 * len(idxs), 1.0 + 0.45 * len(benches)), dpi=110)
    try:
        vmax = max(1.0, float(np.nanmax(data)) if np.isfinite(data).any() else 1.0)
        im = ax.imshow(data, cmap="Reds", vmin=0, vmax=vmax, aspect="auto")
        ax.set_xticks(range(len(idxs)), idxs, rotation=30, ha="right")
        ax.set_yticks(range(len(benches)), benches)
        for i in range(len(benches)):
            for j in range(len(idxs)):
                v = data[i, j]
                dark = not np.isnan(v) and v > vmax / 2
                ax.text(j, i, "-" if np.isnan(v) else f"{v:.1f}%", ha="center", va="center", fontsize=8, color="white" if dark else "black")
        ax.set_title(f"{label} items (%), {criterion}", fontsize=9)
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        return buf.getvalue()
    finally:
        plt.close(fig)


def write_heatmap(report: ContaminationReport, path: str | os.PathLike[str], criterion: str = "windows", label: str = "dirty") -> None:
    """Write :func:`heatmap_png` to ``path`` atomically."""
    write_atomic(path, heatmap_png(report, criterion, label))


# ------------------------------------------------------------------ HTML

_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222;max-width:1200px}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px}
th{background:#f3f3f3}td.n{text-align:right}.dirty{background:#f8d0d0}.suspicious{background:#fbeac0}
.clean{background:#e3f3e3}.too_short{background:#eee}pre{white-space:pre-wrap;background:#fafafa;border:1px solid #ddd;padding:6px;font-size:12px}
mark{background:#ffb3b3}details{margin:.3em 0}.meta{color:#666;font-size:12px}
"""


def _highlight(text: str, spans: list[tuple[int, int]], unit: str) -> str:
    if unit != "chars" or not spans:
        return html.escape(text)
    out, pos = [], 0
    for a, b in spans:
        out.append(html.escape(text[pos:a]))
        out.append(f"<mark>{html.escape(text[a:b])}</mark>")
        pos = b
    out.append(html.escape(text[pos:]))
    return "".join(out)


def html_report(report: ContaminationReport, texts: dict[tuple[str, str], str] | None = None, max_items: int = 100, png: bytes | None = None) -> str:
    """A self-contained HTML page: parameters, the summary table, the heat-map, the top items.

    ``texts`` maps ``(benchmark, item id)`` to the item's text (for highlighting the matched
    windows); ``png`` is the heat-map (default: drawn here when matplotlib is installed).
    """
    if png is None:
        try:
            png = heatmap_png(report)
        except ImportError:
            png = None
    e = html.escape
    h = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>anygram contamination report</title>", f"<style>{_CSS}</style></head><body>"]
    h.append("<h1>Benchmark contamination</h1>")
    h.append(f"<p>{e(params_line(report))}</p>")
    h.append("<p class='meta'>Indexes: " + "; ".join(f"<b>{e(i['name'])}</b> ({i['total_tokens']:,} tokens, {i['total_docs']:,} docs, unit: {e(i['unit'])})" for i in report.indexes) + "</p>")
    h.append("<p class='meta'>Benchmarks: " + "; ".join(f"<b>{e(b['name'])}</b> ({b['items']} items, fields {e(' + '.join(b['fields']))}{', ' + str(b['skipped']) + ' empty skipped' if b.get('skipped') else ''})" for b in report.benchmarks) + "</p>")
    headers, rows = summary_rows(report)
    h.append("<table><tr>" + "".join(f"<th>{e(x)}</th>" for x in headers) + "</tr>")
    for row in rows:
        h.append("<tr>" + "".join(f"<td{'' if i < 2 else ' class=n'}>{e(x)}</td>" for i, x in enumerate(row)) + "</tr>")
    h.append("</table>")
    if png:
        h.append(f"<p><img alt='heat-map' src='data:image/png;base64,{base64.b64encode(png).decode('ascii')}'></p>")
    texts = texts or {}
    for r in report.results:
        h.append(f"<h2>{e(r.benchmark)} &times; {e(r.index)}</h2>")
        shown = [it for it in top_items(r, max_items) if (it.windows and it.windows.found) or (it.ngrams and it.ngrams.found) or it.docs]
        if not shown:
            h.append("<p>No item has a window or n-gram in this corpus.</p>")
            continue
        h.append(f"<p class='meta'>{len(shown)} item(s) with a match, most contaminated first (at most {max_items}).</p>")
        for it in shown:
            lab = it.windows.label if it.windows else (it.ngrams.label if it.ngrams else "clean")
            score = []
            if it.windows:
                score.append(f"windows {it.windows.found}/{it.windows.total} ({_pct(it.windows.score)})")
            if it.ngrams:
                score.append(f"ngrams {it.ngrams.found}/{it.ngrams.total} ({_pct(it.ngrams.score)})")
            if it.longest:
                score.append(f"longest {it.longest.chars} chars × {it.longest.count}")
            h.append(f"<details><summary class='{lab}'><b>{e(it.id)}</b> [{lab}] {e(', '.join(score))}</summary>")
            text = texts.get((r.benchmark, it.id))
            if text is not None:
                h.append(f"<pre>{_highlight(text, it.spans, it.unit)}</pre>")
            elif it.longest and it.longest.text:
                h.append(f"<p>Longest span:</p><pre>{e(it.longest.text)}</pre>")
            for d in it.docs:
                c = d.context
                snippet = e(c[: d.match_start]) + "<mark>" + e(c[d.match_start : d.match_start + d.match_len]) + "</mark>" + e(c[d.match_start + d.match_len :])
                meta = e(str(d.metadata))[:300]
                h.append(f"<p class='meta'>document {d.doc_ix} (shard {d.shard}): {meta}</p><pre>{snippet}</pre>")
            h.append("</details>")
    h.append("</body></html>")
    return "\n".join(h)


def write_html(report: ContaminationReport, path: str | os.PathLike[str], texts: dict[tuple[str, str], str] | None = None, max_items: int = 100) -> None:
    """Write :func:`html_report` to ``path`` atomically."""
    write_atomic(path, html_report(report, texts, max_items).encode("utf-8"))


def texts_of(benchmarks: list[Any]) -> dict[tuple[str, str], str]:
    """``(benchmark, id) -> text`` of loaded :class:`~anygram.analyses.benchmarks.Benchmark` objects."""
    return {(b.name, it.id): it.text for b in benchmarks for it in b.items}
