"""Indexes built by the official infini-gram indexer, opened read-only with the same engine.

Two layouts are recognised (see ``docs/compat.md``):

* **v4** (``python -m infini_gram.indexing``): flat files ``tokenized.N``, ``table.N``,
  ``offset.N`` and optionally ``metadata.N``, ``metaoff.N`` (and ``unigram.N``, ignored) in one
  directory, one shard per ``N``.
* **v6** (``python -m infini_gram.indexing_v6``): one shard per directory, with unsuffixed files
  ``tokenized``, ``table``, ``offset`` and optionally ``metadata``, ``metaoff`` (and ``unigram``,
  ignored). A multi-shard v6 index is a list of such directories: pass them all to
  :func:`anygram.open`, or their parent directory (its shard sub-directories are taken in natural
  name order, ``2`` before ``10``).

The shard files are byte-for-byte the same in both layouts (only the names differ), so both are
mapped by :func:`~anygram.format.shard.open_shard` and queried by the same kernels. infini-gram
records no manifest, so the token width is inferred from the file sizes (its pointer width is
``ceil(log2(ds_size) / 8)`` bytes) unless given.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import IndexFormatError
from ..tokenizers import load_tokenizer, separator_id
from .shard import open_shard

_NUM = re.compile(r"^tokenized\.(\d+)$")
_ROLES = ("tokenized", "table", "offset", "metadata", "metaoff")
_DIGITS = re.compile(r"(\d+)")


def _ptr_size(ds_size: int) -> int:
    return max(1, ((max(ds_size, 1) - 1).bit_length() + 7) // 8)


def infer_token_width(ds_size: int, sa_size: int) -> int | None:
    """The token width (1, 2 or 4) for which ``sa_size`` is one pointer per token, else None."""
    for w in (1, 2, 4):
        if ds_size % w:
            continue
        tok = ds_size // w
        if tok and sa_size == tok * _ptr_size(ds_size):
            return w
    return None


def _natural_key(name: str) -> list[object]:
    return [int(p) if p.isdigit() else p for p in _DIGITS.split(name)]


def _v6_shard(d: Path) -> bool:
    return (d / "tokenized").is_file()


def find_infinigram_shards(path: Path) -> tuple[int, list[tuple[str, dict[str, Path]]]]:
    """The layout version (4 or 6) and, per shard, its name and files by role (present or not)."""
    entries = list(path.iterdir())
    nums = sorted(int(m.group(1)) for f in entries if (m := _NUM.match(f.name)))
    if nums:
        return 4, [(f"{path.name}/{n}", {r: path / f"{r}.{n}" for r in _ROLES}) for n in nums]
    if _v6_shard(path):
        return 6, [(path.name, {r: path / r for r in _ROLES})]
    subdirs = sorted((d for d in entries if d.is_dir() and _v6_shard(d)), key=lambda d: _natural_key(d.name))
    if subdirs:
        return 6, [(f"{path.name}/{d.name}", {r: d / r for r in _ROLES}) for d in subdirs]
    raise IndexFormatError(
        f"{path}: neither an anygram index (no manifest.json) nor an infini-gram index "
        "(no tokenized.N files of the v4 layout, no tokenized file of the v6 layout)"
    )


def open_infinigram(path: Path, *, eos_token_id: int | None, token_width: int | None, tokenizer: str | None):
    from .open import OpenedIndex

    version, found = find_infinigram_shards(path)
    for name, files in found:
        for role in ("tokenized", "table", "offset"):
            if not files[role].is_file():
                raise IndexFormatError(f"{path}: shard {name} has no {files[role].name} file")
    if token_width is None:
        d0, t0 = found[0][1]["tokenized"], found[0][1]["table"]
        token_width = infer_token_width(d0.stat().st_size, t0.stat().st_size)
        if token_width is None:
            raise IndexFormatError(f"{path}: cannot infer the token width of this infini-gram index; pass token_width")
    tok = load_tokenizer(tokenizer, eos_token_id) if (tokenizer is not None or token_width == 1) else None
    eos = eos_token_id if eos_token_id is not None else (tok.eos_token_id if tok is not None else separator_id(token_width))
    shards = []
    total = 0
    for name, files in found:
        has_meta = files["metadata"].is_file() and files["metaoff"].is_file()
        shards.append(
            open_shard(
                name,
                files["tokenized"],
                files["table"],
                files["offset"],
                files["metadata"] if has_meta else None,
                files["metaoff"] if has_meta else None,
                token_width,
            )
        )
        total += sum(p.stat().st_size for p in files.values() if p.is_file())
    return OpenedIndex(
        paths=[path],
        shards=shards,
        token_width=token_width,
        eos_token_id=eos,
        tokenizer=tok,
        tokenizer_spec=tok.spec() if tok is not None else {"kind": "unknown"},
        format=f"infini-gram-v{version}",
        format_version=version,
        index_bytes=total,
    )
