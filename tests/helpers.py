"""Shared test helpers: build small indexes from lists of documents."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Sequence

import pytest

import anygram

# infini-gram's engine matches index files by substring of the *whole path*; a directory whose
# path contains one of these words makes it map the wrong files (and crash): see docs/compat.md
IG_PATH_WORDS = ("tokenized", "table", "offset", "metadata", "metaoff")


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    return path


def build_from_ids(tmp: Path, docs: Sequence[Sequence[int]], token_width: int = 2, shard_tokens: int | None = None, name: str = "idx", eos_token_id: int | None = None) -> anygram.Index:
    """Index pre-tokenized documents (empty documents are skipped by the builder, as in real builds)."""
    src = write_jsonl(tmp / f"{name}_src" / "docs.jsonl", [{"ids": list(map(int, d)), "n": i} for i, d in enumerate(docs)])
    out = tmp / name
    anygram.build(src, out, ids_field="ids", token_width=token_width, shard_tokens=shard_tokens, workers=1, eos_token_id=eos_token_id, overwrite=True)
    return anygram.open(out)


def build_from_texts(tmp: Path, texts: Sequence[str], shard_tokens: int | None = None, name: str = "idx", tokenizer: str | None = None) -> anygram.Index:
    """Index texts (byte-level unless a tokenizer.json path is given)."""
    src = write_jsonl(tmp / f"{name}_src" / "docs.jsonl", [{"text": t, "n": i} for i, t in enumerate(texts)])
    out = tmp / name
    anygram.build(src, out, tokenizer=tokenizer, shard_tokens=shard_tokens, workers=1, overwrite=True)
    return anygram.open(out)


def ig_workdir(prefix: str) -> Path:
    """A fresh temporary directory that infini-gram's engine can use (skips the test if it cannot)."""
    d = Path(tempfile.mkdtemp(prefix=prefix))
    if any(w in str(d) for w in IG_PATH_WORDS):  # pragma: no cover - depends on TMPDIR
        shutil.rmtree(d, ignore_errors=True)
        pytest.skip(f"temporary directory {d} contains a word infini-gram's engine mistakes for an index file")
    return d
