"""Benchmark loaders: JSONL(.gz), JSON, CSV/TSV, parquet and Hugging Face ``save_to_disk`` folders.

A benchmark is a list of items ``(id, text)``; the text of an item is one or several fields of a
record joined with ``joiner``. A field is a dotted path (``question.stem``) that maps over lists
(``question.choices.text`` gives every choice's text); list values are joined with newlines.
Without ``fields`` the layout of well-known benchmarks is recognised from the record's keys
(:data:`PRESETS`), else the first of a list of usual text fields is taken.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import json
import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import BenchmarkError, require

log = logging.getLogger(__name__)

#: (keys that must all be present, fields, joiner) — first match wins
PRESETS: tuple[tuple[frozenset[str], tuple[str, ...], str], ...] = (
    (frozenset({"prompt", "canonical_solution"}), ("prompt", "canonical_solution"), ""),  # HumanEval(+), MBPP+
    (frozenset({"text", "code", "test_list"}), ("text", "code"), "\n"),  # MBPP
    (frozenset({"prompt", "code", "test_list"}), ("prompt", "code"), "\n"),  # sanitized MBPP
    (frozenset({"question", "answerKey"}), ("question.stem", "question.choices.text"), "\n"),  # ARC
    (frozenset({"_mmlu"}), ("question", "A", "B", "C", "D"), "\n"),  # MMLU csv (no header)
    (frozenset({"goal", "sol1", "sol2"}), ("goal", "sol1", "sol2"), "\n"),  # PIQA
    (frozenset({"problem", "solution"}), ("problem",), "\n"),  # MATH
    (frozenset({"question", "passage"}), ("passage", "question"), "\n"),  # BoolQ
    (frozenset({"Complete Question"}), ("Complete Question",), "\n"),  # OpenBookQA
    (frozenset({"Body", "Question"}), ("Body", "Question"), " "),  # SVAMP
    (frozenset({"body", "question"}), ("body", "question"), " "),  # ASDiv
)

#: fallback: the first of these fields present in the first record
TEXT_FIELDS = ("question", "prompt", "problem", "input", "text", "query", "sentence", "context", "goal", "premise", "passage", "Question")

#: fields used as item ids, in order of preference
ID_FIELDS = ("id", "task_id", "qID", "ID", "idx", "question_id")

SUFFIXES = (".jsonl", ".jsonl.gz", ".json", ".json.gz", ".csv", ".tsv", ".parquet", ".arrow", ".jsonl.bz2")


@dataclass(frozen=True)
class BenchItem:
    """One item of a benchmark: an id and the text to check."""

    id: str
    text: str


@dataclass
class Benchmark:
    """A loaded benchmark: its name, source, the fields used and the items (empty ones skipped)."""

    name: str
    items: list[BenchItem]
    path: str = ""
    fields: tuple[str, ...] = ()
    joiner: str = "\n"
    skipped: int = 0
    layout: str = "custom"
    extra: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name, "path": self.path, "fields": list(self.fields), "joiner": self.joiner,
            "items": len(self.items), "skipped": self.skipped, "layout": self.layout,
        }


def default_name(path: Path) -> str:
    """``gsm8k/test`` for ``.../gsm8k/test.jsonl`` and for a folder ``.../mmlu/test`` ``mmlu/test``."""
    if path.is_dir():
        path = path.resolve()
        return f"{path.parent.name}/{path.name}" if path.parent.name else path.name
    stem = path.name
    for suf in sorted(SUFFIXES, key=len, reverse=True):
        if stem.endswith(suf):
            stem = stem[: -len(suf)]
            break
    parent = path.parent.name
    return f"{parent}/{stem}" if parent and parent != stem else stem


def load_benchmark(
    path: str | os.PathLike[str],
    fields: Sequence[str] | None = None,
    *,
    name: str | None = None,
    joiner: str | None = None,
    id_field: str | None = None,
    limit: int | None = None,
) -> Benchmark:
    """Load a benchmark file or folder; ``fields`` default to the recognised layout.

    Raises :class:`~anygram.errors.BenchmarkError` for a missing or unreadable file, an unknown
    format, a field absent from a record (naming the record), or a benchmark with no item.
    """
    p = Path(path)
    if not p.exists():
        raise BenchmarkError(f"benchmark {str(p)!r} does not exist")
    records = list(_records(p))
    if limit is not None:
        records = records[:limit]
    if not records:
        raise BenchmarkError(f"benchmark {str(p)!r} has no records")
    layout = "custom"
    if fields:
        flds = tuple(fields)
        join = "\n" if joiner is None else joiner
    else:
        flds, join, layout = _guess_fields(records[0][1], str(p))
        if joiner is not None:
            join = joiner
    items: list[BenchItem] = []
    skipped = 0
    for where, rec in records:
        parts = []
        for f in flds:
            value = _get(rec, f)
            if value is _MISSING:
                keys = ", ".join(sorted(map(str, rec))) if isinstance(rec, dict) else type(rec).__name__
                raise BenchmarkError(f"{where}: no field {f!r} (the record has: {keys}); choose fields with --fields")
            parts.append(_as_text(value))
        text = join.join(x for x in parts if x)
        if not text.strip():
            skipped += 1
            continue
        items.append(BenchItem(id=_item_id(rec, _relative(where, p), id_field), text=text))
    if skipped:
        log.warning("%s: %d empty item(s) skipped", p, skipped)
    if not items:
        raise BenchmarkError(f"benchmark {str(p)!r}: every item is empty in fields {', '.join(flds)}")
    return Benchmark(name=name or default_name(p), items=items, path=str(p), fields=flds, joiner=join, skipped=skipped, layout=layout)


def items_from_texts(name: str, texts: Iterable[str | tuple[str, str] | BenchItem]) -> Benchmark:
    """A benchmark from texts, ``(id, text)`` pairs or :class:`BenchItem` (ids default to positions)."""
    items = []
    for i, t in enumerate(texts):
        if isinstance(t, BenchItem):
            items.append(t)
        elif isinstance(t, tuple):
            items.append(BenchItem(id=str(t[0]), text=t[1]))
        else:
            items.append(BenchItem(id=str(i), text=t))
    return Benchmark(name=name, items=items)


# ---------------------------------------------------------------- internals
class _Missing:
    pass


_MISSING = _Missing()


def _get(rec: Any, path: str) -> Any:
    if isinstance(rec, dict) and path in rec:
        return rec[path]
    cur = [rec]
    mapped = False
    for part in path.split("."):
        nxt = []
        for c in cur:
            if isinstance(c, list):
                mapped = True
                c_list = c
            else:
                c_list = [c]
            for e in c_list:
                if isinstance(e, dict) and part in e:
                    nxt.append(e[part])
                elif isinstance(e, list) and part.isdigit() and int(part) < len(e):
                    nxt.append(e[int(part)])
                else:
                    return _MISSING
        cur = nxt
    return cur if mapped else cur[0]


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return "\n".join(t for t in (_as_text(v) for v in value) if t)
    if isinstance(value, dict):
        if "text" in value:
            return _as_text(value["text"])
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _relative(where: str, root: Path) -> str:
    """A record's place without the benchmark's own path: ``12`` in a file, ``sub/a.jsonl:12`` in a folder."""
    r = str(root)
    if where.startswith(r + ":"):
        return where[len(r) + 1 :]
    if where.startswith(r.rstrip("/") + "/"):
        return where[len(r.rstrip("/")) + 1 :]
    return where


def _item_id(rec: Any, where: str, id_field: str | None) -> str:
    if isinstance(rec, dict):
        for f in (id_field,) if id_field else ID_FIELDS:
            if f in rec and rec[f] is not None and not isinstance(rec[f], (dict, list)):
                return str(rec[f])
        if id_field:
            raise BenchmarkError(f"{where}: no id field {id_field!r}")
    return where


def _guess_fields(rec: Any, src: str) -> tuple[tuple[str, ...], str, str]:
    if not isinstance(rec, dict):
        raise BenchmarkError(f"{src}: records are {type(rec).__name__}, not objects")
    keys = set(rec)
    for need, flds, join in PRESETS:
        if need <= keys:
            return flds, join, "+".join(sorted(need - {"_mmlu"})) or "mmlu"
    for f in TEXT_FIELDS:
        if isinstance(rec.get(f), str):
            return (f,), "\n", f
    raise BenchmarkError(f"{src}: cannot tell which fields hold the text (the records have: {', '.join(sorted(map(str, keys)))}); pass --fields")


def _records(p: Path) -> Iterator[tuple[str, Any]]:
    if p.is_dir():
        if any((p / f).exists() for f in ("dataset_info.json", "state.json", "dataset_dict.json")) or list(p.glob("*.arrow")):
            yield from _arrow_dir(p)
            return
        files = sorted(f for f in p.rglob("*") if f.is_file() and f.name.endswith(SUFFIXES))
        if not files:
            raise BenchmarkError(f"benchmark folder {str(p)!r} has no .jsonl/.json/.csv/.tsv/.parquet/.arrow file")
        for f in files:
            yield from _file_records(f)
        return
    yield from _file_records(p)


def _open_text(p: Path) -> io.TextIOBase:
    name = p.name
    try:
        if name.endswith(".gz"):
            return io.TextIOWrapper(gzip.open(p, "rb"), encoding="utf-8")
        if name.endswith(".bz2"):
            return io.TextIOWrapper(bz2.open(p, "rb"), encoding="utf-8")
        return open(p, encoding="utf-8")
    except OSError as exc:
        raise BenchmarkError(f"cannot read benchmark {str(p)!r}: {exc}") from None


def _file_records(p: Path) -> Iterator[tuple[str, Any]]:
    name = p.name
    try:
        if name.endswith((".jsonl", ".jsonl.gz", ".jsonl.bz2")):
            with _open_text(p) as f:
                for i, line in enumerate(f):
                    if line.strip():
                        try:
                            yield f"{p}:{i + 1}", json.loads(line)
                        except json.JSONDecodeError as exc:
                            raise BenchmarkError(f"{p}:{i + 1}: not valid JSON ({exc.msg})") from None
        elif name.endswith((".json", ".json.gz")):
            with _open_text(p) as f:
                try:
                    data = json.load(f)
                except json.JSONDecodeError as exc:
                    raise BenchmarkError(f"{p}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
            rows = _json_rows(data, p)
            for i, rec in enumerate(rows):
                yield f"{p}:{i}", rec
        elif name.endswith((".csv", ".tsv")):
            yield from _csv_records(p)
        elif name.endswith(".parquet"):
            pq = require("pyarrow.parquet", "parquet", "reading parquet benchmarks")
            try:
                table = pq.read_table(p)
            except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for bad files
                raise BenchmarkError(f"cannot read parquet benchmark {str(p)!r}: {exc}") from None
            for i, rec in enumerate(table.to_pylist()):
                yield f"{p}:{i}", rec
        elif name.endswith(".arrow"):
            for i, rec in enumerate(_arrow_file(p)):
                yield f"{p}:{i}", rec
        else:
            raise BenchmarkError(f"{p}: unknown benchmark format (use .jsonl, .json, .csv, .tsv, .parquet, .arrow or a datasets folder)")
    except UnicodeDecodeError as exc:
        raise BenchmarkError(f"{p}: not UTF-8 text ({exc.reason})") from None
    except (OSError, EOFError) as exc:
        raise BenchmarkError(f"cannot read benchmark {str(p)!r}: {exc}") from None


def _json_rows(data: Any, p: Path) -> list[Any]:
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        lists = [v for v in data.values() if isinstance(v, list) and v and all(isinstance(e, dict) for e in v)]
        if len(lists) == 1:
            return lists[0]  # e.g. BIG-Bench Hard: {"canary": ..., "examples": [...]}
        for key in ("examples", "data", "rows", "items", "test"):
            if isinstance(data.get(key), list):
                return data[key]
        # a dict of columns ({"question": [...], "answer": [...]})
        cols = {k: v for k, v in data.items() if isinstance(v, list)}
        if cols and len({len(v) for v in cols.values()}) == 1:
            n = len(next(iter(cols.values())))
            return [{k: v[i] for k, v in cols.items()} for i in range(n)]
    raise BenchmarkError(f"{p}: JSON is neither a list of records nor an object holding one")


def _csv_records(p: Path) -> Iterator[tuple[str, Any]]:
    delim = "\t" if p.name.endswith(".tsv") else ","
    with _open_text(p) as f:
        rows = list(csv.reader(f, delimiter=delim))
    if not rows:
        return
    # MMLU's CSVs have no header: question, 4 choices, the answer letter
    mmlu = all(len(r) == 6 and r[5].strip() in ("A", "B", "C", "D") for r in rows[: min(len(rows), 20)])
    if mmlu:
        for i, r in enumerate(rows):
            yield f"{p}:{i + 1}", {"question": r[0], "A": r[1], "B": r[2], "C": r[3], "D": r[4], "answer": r[5], "_mmlu": True}
        return
    header = rows[0]
    for i, r in enumerate(rows[1:]):
        yield f"{p}:{i + 2}", dict(zip(header, r))


def _arrow_file(p: Path) -> list[dict[str, Any]]:
    pa = require("pyarrow", "parquet", "reading Hugging Face datasets saved to disk")
    try:
        with pa.memory_map(str(p)) as src:
            try:
                table = pa.ipc.open_stream(src).read_all()
            except pa.ArrowInvalid:
                src.seek(0)
                table = pa.ipc.open_file(src).read_all()
    except (pa.ArrowInvalid, OSError) as exc:
        raise BenchmarkError(f"cannot read arrow file {str(p)!r}: {exc}") from None
    return table.to_pylist()


def _arrow_dir(p: Path) -> Iterator[tuple[str, Any]]:
    """A ``Dataset.save_to_disk`` folder (its ``data-*.arrow`` files in order), or a DatasetDict's splits."""
    files = sorted(p.glob("*.arrow"))
    state = p / "state.json"
    if state.exists():
        try:
            order = [f["filename"] for f in json.loads(state.read_text())["_data_files"]]
            files = [p / f for f in order]
        except (KeyError, ValueError, TypeError):
            pass
    if not files:
        dd = p / "dataset_dict.json"
        splits = json.loads(dd.read_text()).get("splits", []) if dd.exists() else []
        for s in splits:
            yield from _arrow_dir(p / s)
        if splits:
            return
        raise BenchmarkError(f"{p}: no .arrow files in this datasets folder")
    n = 0
    for f in files:
        for rec in _arrow_file(f):
            yield f"{p}:{n}", rec
            n += 1
