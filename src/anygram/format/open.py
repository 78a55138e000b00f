"""Open index directories (anygram's, or infini-gram's) into validated shards."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import MANIFEST_NAME
from ..errors import IndexFormatError
from ..tokenizers import Tokenizer, load_tokenizer, tokenizer_from_spec
from .manifest import SHARD_FILES, check_file, read_manifest
from .shard import Shard, open_shard

#: indexes whose files add up to less than this are fully checksummed by verify="auto"
AUTO_FULL_VERIFY_BYTES = 32 << 20


@dataclass
class OpenedIndex:
    paths: list[Path]
    shards: list[Shard]
    token_width: int
    eos_token_id: int
    tokenizer: Tokenizer | None
    tokenizer_spec: dict[str, Any]
    format: str
    format_version: int
    index_bytes: int
    build: dict[str, Any] = field(default_factory=dict)


def open_index_dirs(
    paths: list[Path],
    *,
    verify: str = "auto",
    eos_token_id: int | None = None,
    token_width: int | None = None,
    tokenizer: str | None = None,
) -> OpenedIndex:
    parts = [_open_one(p, verify, eos_token_id, token_width, tokenizer) for p in paths]
    first = parts[0]
    for other in parts[1:]:
        if other.token_width != first.token_width or other.tokenizer_spec != first.tokenizer_spec:
            raise IndexFormatError(
                f"{other.paths[0]} and {first.paths[0]} use different tokenizers or token widths; "
                "they cannot be queried as one index"
            )
    if len(parts) == 1:
        return first
    return OpenedIndex(
        paths=[p for o in parts for p in o.paths],
        shards=[s for o in parts for s in o.shards],
        token_width=first.token_width,
        eos_token_id=first.eos_token_id,
        tokenizer=first.tokenizer,
        tokenizer_spec=first.tokenizer_spec,
        format=first.format,
        format_version=first.format_version,
        index_bytes=sum(o.index_bytes for o in parts),
        build=first.build,
    )


def _open_one(path: Path, verify: str, eos: int | None, width: int | None, tokenizer: str | None) -> OpenedIndex:
    if not path.exists():
        raise IndexFormatError(f"{path}: no such index directory")
    if not path.is_dir():
        raise IndexFormatError(f"{path}: not a directory (an index is a directory with {MANIFEST_NAME})")
    if (path / MANIFEST_NAME).is_file():
        return _open_anygram(path, verify, eos)
    from .foreign import open_infinigram

    return open_infinigram(path, eos_token_id=eos, token_width=width, tokenizer=tokenizer)


def _open_anygram(path: Path, verify: str, eos: int | None) -> OpenedIndex:
    m = read_manifest(path)
    entries = [f for s in m.shards for f in s.files.values()] + list(m.extra_files.values())
    total = sum(f.bytes for f in entries)
    mode = "full" if verify == "auto" and total <= AUTO_FULL_VERIFY_BYTES else verify
    for f in entries:
        check_file(path, f, mode)
    eos_id = m.eos_token_id if eos is None else int(eos)
    tok = tokenizer_from_spec(m.tokenizer, path, eos_id)
    shards = []
    for i, s in enumerate(m.shards):
        f = s.files
        missing = [r for r in ("tokenized", "table", "offset") if r not in f]
        if missing:
            raise IndexFormatError(f"{path / MANIFEST_NAME}: shard {i} lists no {', '.join(missing)} file")
        shards.append(
            open_shard(
                f"{path.name}/{i}",
                path / f["tokenized"].name,
                path / f["table"].name,
                path / f["offset"].name,
                path / f["metadata"].name if "metadata" in f else None,
                path / f["metaoff"].name if "metaoff" in f else None,
                m.token_width,
                expect_tokens=s.tokens,
                expect_docs=s.docs,
                expect_ptr_size=s.ptr_size,
            )
        )
    return OpenedIndex(
        paths=[path],
        shards=shards,
        token_width=m.token_width,
        eos_token_id=eos_id,
        tokenizer=tok,
        tokenizer_spec=m.tokenizer,
        format=m.format,
        format_version=m.format_version,
        index_bytes=total + (path / MANIFEST_NAME).stat().st_size,
        build=m.build,
    )


__all__ = ["OpenedIndex", "open_index_dirs", "SHARD_FILES", "load_tokenizer"]
