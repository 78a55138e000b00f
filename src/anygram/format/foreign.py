"""Indexes built by the official infini-gram indexer, opened read-only with the same engine.

v4 layout: flat files ``tokenized.N``, ``table.N``, ``offset.N`` (and optionally ``metadata.N``,
``metaoff.N``) in one directory. infini-gram records no manifest, so the token width is inferred
from the file sizes (its pointer width is ``ceil(log2(ds_size) / 8)``) unless given.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import IndexFormatError
from ..tokenizers import load_tokenizer, separator_id
from .shard import open_shard

_NUM = re.compile(r"^tokenized\.(\d+)$")


def _ptr_size(ds_size: int) -> int:
    return max(1, ((max(ds_size, 1) - 1).bit_length() + 7) // 8)


def infer_token_width(ds_size: int, sa_size: int) -> int | None:
    for w in (1, 2, 4):
        if ds_size % w:
            continue
        tok = ds_size // w
        if tok and sa_size == tok * _ptr_size(ds_size):
            return w
    return None


def open_infinigram(path: Path, *, eos_token_id: int | None, token_width: int | None, tokenizer: str | None):  # noqa: ANN201
    from .open import OpenedIndex

    nums = sorted(int(m.group(1)) for f in path.iterdir() if (m := _NUM.match(f.name)))
    if not nums:
        raise IndexFormatError(
            f"{path}: neither an anygram index (no manifest.json) nor an infini-gram index (no tokenized.N files)"
        )
    if token_width is None:
        d0, t0 = path / f"tokenized.{nums[0]}", path / f"table.{nums[0]}"
        if not t0.is_file():
            raise IndexFormatError(f"{path}: {t0.name} is missing")
        token_width = infer_token_width(d0.stat().st_size, t0.stat().st_size)
        if token_width is None:
            raise IndexFormatError(f"{path}: cannot infer the token width of this infini-gram index; pass token_width")
    tok = load_tokenizer(tokenizer, eos_token_id) if (tokenizer is not None or token_width == 1) else None
    eos = eos_token_id if eos_token_id is not None else (tok.eos_token_id if tok is not None else separator_id(token_width))
    shards = []
    total = 0
    for n in nums:
        files = {r: path / f"{r}.{n}" for r in ("tokenized", "table", "offset", "metadata", "metaoff")}
        shards.append(
            open_shard(f"{path.name}/{n}", files["tokenized"], files["table"], files["offset"],
                       files["metadata"] if files["metadata"].is_file() else None,
                       files["metaoff"] if files["metaoff"].is_file() else None, token_width)
        )
        total += sum(p.stat().st_size for p in files.values() if p.is_file())
    return OpenedIndex(
        paths=[path],
        shards=shards,
        token_width=token_width,
        eos_token_id=eos,
        tokenizer=tok,
        tokenizer_spec=tok.spec() if tok is not None else {"kind": "unknown"},
        format="infini-gram-v4",
        format_version=4,
        index_bytes=total,
    )
