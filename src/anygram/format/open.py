"""Open index directories (anygram's, or infini-gram's) into validated shards.

What is verified when (see ``docs/format.md``):

* always: the manifest (JSON, format name and version, every field and its type, sizes that
  agree with each other), every listed file exists with its recorded size, the structure of
  every shard (:func:`anygram.format.shard.validate_shard`: entirely for arrays up to 16 MB,
  on a sample for larger ones);
* ``verify='auto'`` (default): plus the checksum of every file up to 4 MB, and of every file
  when the index is at most :data:`AUTO_FULL_VERIFY_BYTES`;
* ``verify='full'`` / :func:`verify`: checksum of every file and a full structural scan;
* ``verify='sizes'``: no checksums (structure and sizes only).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import MANIFEST_NAME
from ..errors import CorruptIndexError, IndexFormatError, QueryError, TokenizerError
from ..tokenizers import Tokenizer, load_tokenizer, tokenizer_from_spec
from .manifest import SHARD_FILES, check_file, read_manifest
from .shard import Shard, open_shard, validate_shard

#: indexes whose files add up to less than this are fully checksummed by verify="auto"
AUTO_FULL_VERIFY_BYTES = 32 << 20
#: verify modes accepted by :func:`open_index_dirs`
VERIFY_MODES = ("auto", "full", "sizes")
#: tokenizer kinds this version understands
TOKENIZER_KINDS = ("bytes", "hf", "ids", "unknown")


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
    #: "sa" (suffix arrays) or "fm" (FM-index shards, :class:`anygram.fm.shard.FMShard`)
    kind: str = "sa"
    fm: dict[str, Any] | None = None


def open_index_dirs(
    paths: list[Path],
    *,
    verify: str = "auto",
    eos_token_id: int | None = None,
    token_width: int | None = None,
    tokenizer: str | None = None,
) -> OpenedIndex:
    if verify not in VERIFY_MODES:
        raise QueryError(f"verify must be one of {', '.join(VERIFY_MODES)}, not {verify!r}")
    if not paths:
        raise IndexFormatError("no index path given")
    parts = [_open_one(p, verify, eos_token_id, token_width, tokenizer) for p in paths]
    first = parts[0]
    for other in parts[1:]:
        if other.kind != first.kind:
            raise IndexFormatError(f"{other.paths[0]} is a {other.kind!r} index and {first.paths[0]} a {first.kind!r} one: they cannot be queried as one index")
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
        kind=first.kind,
        fm=first.fm,
    )


def verify(
    path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    eos_token_id: int | None = None,
    token_width: int | None = None,
    tokenizer: str | None = None,
) -> dict[str, Any]:
    """Check an index entirely: every checksum and a full structural scan of every shard.

    Raises :class:`~anygram.errors.CorruptIndexError` (or another
    :class:`~anygram.errors.IndexFormatError`) naming the first problem found; returns a summary
    ``{"ok": True, "paths", "shards", "tokens", "docs", "bytes", "seconds"}``. Reads every byte
    of the index: minutes per hundred GB.
    """
    paths = [path] if isinstance(path, (str, os.PathLike)) else list(path)
    t0 = time.perf_counter()
    o = open_index_dirs([Path(p) for p in paths], verify="full", eos_token_id=eos_token_id, token_width=token_width, tokenizer=tokenizer)
    return {
        "ok": True,
        "paths": [str(p) for p in o.paths],
        "shards": len(o.shards),
        "tokens": sum(s.tok_cnt for s in o.shards),
        "docs": sum(s.doc_cnt for s in o.shards),
        "bytes": o.index_bytes,
        "seconds": round(time.perf_counter() - t0, 3),
    }


def _open_one(path: Path, verify: str, eos: int | None, width: int | None, tokenizer: str | None) -> OpenedIndex:
    try:
        exists, is_dir = path.exists(), path.is_dir()
        has_manifest = is_dir and (path / MANIFEST_NAME).exists()
    except OSError as exc:
        raise IndexFormatError(f"{path}: cannot access: {exc}") from None
    if not exists:
        raise IndexFormatError(f"{path}: no such index directory")
    if not is_dir:
        raise IndexFormatError(f"{path}: not a directory (an index is a directory with {MANIFEST_NAME})")
    if has_manifest:
        return _open_anygram(path, verify, eos)
    from .foreign import open_infinigram

    opened = open_infinigram(path, eos_token_id=eos, token_width=width, tokenizer=tokenizer)
    if verify == "full":
        for sh in opened.shards:
            validate_shard(sh, full=True)
    return opened


def _open_anygram(path: Path, verify: str, eos: int | None) -> OpenedIndex:
    m = read_manifest(path)
    entries = m.files()
    total = sum(f.bytes for f in entries)
    mode = "full" if verify == "auto" and total <= AUTO_FULL_VERIFY_BYTES else verify
    for f in entries:
        check_file(path, f, mode)
    kind = m.tokenizer.get("kind")
    if kind not in TOKENIZER_KINDS:
        raise IndexFormatError(
            f"{path / MANIFEST_NAME}: tokenizer kind {kind!r} is unknown to this anygram "
            f"(knows {', '.join(TOKENIZER_KINDS)}): upgrade anygram"
        )
    if kind == "bytes" and m.token_width != 1:
        raise CorruptIndexError(f"{path / MANIFEST_NAME}: a byte-level index must have token_width 1, not {m.token_width}")
    eos_id = m.eos_token_id if eos is None else int(eos)
    try:
        tok = tokenizer_from_spec(m.tokenizer, path, eos_id)
    except TokenizerError as exc:
        raise CorruptIndexError(f"{path}: the index's tokenizer cannot be loaded ({exc})") from None
    if tok is not None and tok.token_width > m.token_width:
        raise CorruptIndexError(
            f"{path}: the tokenizer needs {tok.token_width}-byte tokens but the manifest says token_width {m.token_width}"
        )
    shards: list[Any] = []
    for i, s in enumerate(m.shards):
        f = s.files
        if m.kind == "fm":
            from ..fm.shard import open_fm_shard

            shards.append(open_fm_shard(f"{path.name}/{i}", path, s, m.token_width, verify=verify))
            continue
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
                verify=verify,
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
        kind=m.kind,
        fm=m.fm,
    )


__all__ = ["SHARD_FILES", "OpenedIndex", "load_tokenizer", "open_index_dirs", "verify"]
