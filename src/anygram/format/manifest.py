"""``manifest.json``: what an index directory holds, checked when it is opened.

Layout of an anygram suffix-array index (one directory)::

    manifest.json        format name and version, tokenizer, token width, shards, checksums
    tokenizer.json       copy of the HF tokenizer (absent for byte-level indexes)
    tokenized.N          shard N's token bytes: each document preceded by one separator token
                         (all 0xff bytes), tokens little-endian of ``token_width`` bytes
    table.N              suffix array: ``tokens`` entries of ``ptr_size`` bytes, little-endian
                         byte offsets into tokenized.N, in byte-lexicographic suffix order
    offset.N             uint64 little-endian byte offset of each document's separator
    metadata.N           one JSON line per document ({"path", "linenum", "metadata"})
    metaoff.N            uint64 little-endian byte offset of each metadata line

The shard files are those of infini-gram's v4 layout, so infini-gram's engine opens an anygram
index and anygram opens an infini-gram index (see :mod:`anygram.format.foreign`).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import FORMAT_NAME, FORMAT_VERSION, MANIFEST_NAME
from ..errors import CorruptIndexError, IndexFormatError

#: files of one shard, by role, and their name pattern
SHARD_FILES = {
    "tokenized": "tokenized.{n}",
    "table": "table.{n}",
    "offset": "offset.{n}",
    "metadata": "metadata.{n}",
    "metaoff": "metaoff.{n}",
}
#: files whose checksum is verified on every open when smaller than this (bytes)
SMALL_FILE_LIMIT = 4 << 20


@dataclass
class FileEntry:
    name: str
    bytes: int
    sha256: str | None = None

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "bytes": self.bytes}
        if self.sha256:
            d["sha256"] = self.sha256
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> FileEntry:
        return cls(name=str(d["name"]), bytes=int(d["bytes"]), sha256=d.get("sha256"))


@dataclass
class ShardEntry:
    tokens: int
    docs: int
    ptr_size: int
    files: dict[str, FileEntry]

    def to_json(self) -> dict[str, Any]:
        return {
            "tokens": self.tokens,
            "docs": self.docs,
            "ptr_size": self.ptr_size,
            "files": {role: f.to_json() for role, f in self.files.items()},
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ShardEntry:
        return cls(
            tokens=int(d["tokens"]),
            docs=int(d["docs"]),
            ptr_size=int(d["ptr_size"]),
            files={role: FileEntry.from_json(f) for role, f in d["files"].items()},
        )


@dataclass
class Manifest:
    tokenizer: dict[str, Any]
    token_width: int
    eos_token_id: int
    shards: list[ShardEntry]
    build: dict[str, Any] = field(default_factory=dict)
    extra_files: dict[str, FileEntry] = field(default_factory=dict)
    anygram_version: str = ""
    format: str = FORMAT_NAME
    format_version: int = FORMAT_VERSION

    @property
    def total_tokens(self) -> int:
        return sum(s.tokens for s in self.shards)

    @property
    def total_docs(self) -> int:
        return sum(s.docs for s in self.shards)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "format_version": self.format_version,
            "anygram_version": self.anygram_version,
            "tokenizer": self.tokenizer,
            "token_width": self.token_width,
            "eos_token_id": self.eos_token_id,
            "total_tokens": self.total_tokens,
            "total_docs": self.total_docs,
            "shards": [s.to_json() for s in self.shards],
            "extra_files": {k: f.to_json() for k, f in self.extra_files.items()},
            "build": self.build,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any], where: Path) -> Manifest:
        if not isinstance(d, dict) or d.get("format") != FORMAT_NAME:
            raise IndexFormatError(f"{where}: not an anygram manifest (format={d.get('format') if isinstance(d, dict) else None!r})")
        version = d.get("format_version")
        if not isinstance(version, int) or version > FORMAT_VERSION or version < 1:
            raise IndexFormatError(
                f"{where}: index format version {version!r} is not supported by this anygram "
                f"(supports 1..{FORMAT_VERSION}); upgrade anygram or rebuild the index"
            )
        try:
            m = cls(
                tokenizer=dict(d["tokenizer"]),
                token_width=int(d["token_width"]),
                eos_token_id=int(d["eos_token_id"]),
                shards=[ShardEntry.from_json(s) for s in d["shards"]],
                build=dict(d.get("build", {})),
                extra_files={k: FileEntry.from_json(f) for k, f in d.get("extra_files", {}).items()},
                anygram_version=str(d.get("anygram_version", "")),
                format_version=version,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CorruptIndexError(f"{where}: manifest is missing or has a malformed field: {exc!r}") from exc
        if m.token_width not in (1, 2, 4):
            raise CorruptIndexError(f"{where}: token_width {m.token_width} is not 1, 2 or 4")
        return m


def read_manifest(index_dir: Path) -> Manifest:
    path = index_dir / MANIFEST_NAME
    if not path.is_file():
        raise IndexFormatError(f"{index_dir}: no {MANIFEST_NAME} (not an anygram index)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptIndexError(f"{path}: manifest is not valid JSON: {exc}") from exc
    return Manifest.from_json(data, path)


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to ``path`` through a temporary file, fsync, rename."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, sort_keys=False)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def check_file(index_dir: Path, entry: FileEntry, verify: str) -> Path:
    """Check one file's existence, size and (small files, or ``verify='full'``) checksum."""
    path = index_dir / entry.name
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise CorruptIndexError(f"{path}: file listed in the manifest is missing") from None
    if size != entry.bytes:
        raise CorruptIndexError(
            f"{path}: size is {size} bytes, the manifest says {entry.bytes} (truncated or replaced)"
        )
    if entry.sha256 and verify != "sizes" and (verify == "full" or size <= SMALL_FILE_LIMIT):
        if sha256_file(path) != entry.sha256:
            raise CorruptIndexError(f"{path}: checksum does not match the manifest (file corrupted)")
    return path
