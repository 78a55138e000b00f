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

Parsing is strict: every field has the documented JSON type (an integer is a JSON integer, not a
string, float or boolean), sizes agree with each other (``tokenized`` = tokens × token_width,
``table`` = tokens × ptr_size, ``offset``/``metaoff`` = docs × 8), file names are plain names
inside the index directory. A manifest written by a newer anygram raises
:class:`~anygram.errors.IndexFormatError` asking to upgrade; a damaged one
:class:`~anygram.errors.CorruptIndexError`. See ``docs/format.md``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import (
    FM_FORMAT_VERSION,
    FORMAT_NAME,
    FORMAT_VERSION,
    FORMAT_VERSION_MAX,
    INDEX_KINDS,
    MANIFEST_NAME,
)
from ..errors import CorruptIndexError, IndexFormatError

#: files of one shard, by role, and their name pattern
SHARD_FILES = {
    "tokenized": "tokenized.{n}",
    "table": "table.{n}",
    "offset": "offset.{n}",
    "metadata": "metadata.{n}",
    "metaoff": "metaoff.{n}",
}
#: roles every shard must list
REQUIRED_ROLES = ("tokenized", "table", "offset")
#: FM-index shards (kind "fm"): document files as above, the FM arrays, and ``rank_*`` files
#: written by the rank structure (see :mod:`anygram.fm.build`)
FM_ROLES = ("offset", "metadata", "metaoff", "fm_sa", "fm_isa", "fm_alpha", "fm_c")
FM_REQUIRED_ROLES = ("offset", "fm_sa", "fm_isa", "fm_alpha", "fm_c")
#: files whose checksum is verified on every open (verify="auto") when smaller than this (bytes)
SMALL_FILE_LIMIT = 4 << 20
#: a manifest larger than this is not one anygram wrote (protects json.loads from huge files)
MAX_MANIFEST_BYTES = 256 << 20

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class _Bad(Exception):
    """A malformed manifest field (turned into CorruptIndexError with the manifest's path)."""


def _int(d: dict[str, Any], key: str, where: str, lo: int = 0, hi: int | None = None) -> int:
    if key not in d:
        raise _Bad(f"{where}: missing field {key!r}")
    v = d[key]
    if isinstance(v, bool) or not isinstance(v, int):
        raise _Bad(f"{where}: field {key!r} must be an integer, not {type(v).__name__} {v!r}")
    if v < lo or (hi is not None and v > hi):
        raise _Bad(f"{where}: field {key!r} = {v} is outside [{lo}, {'∞' if hi is None else hi}]")
    return v


def _obj(d: dict[str, Any], key: str, where: str, optional: bool = False) -> dict[str, Any]:
    if key not in d:
        if optional:
            return {}
        raise _Bad(f"{where}: missing field {key!r}")
    v = d[key]
    if not isinstance(v, dict):
        raise _Bad(f"{where}: field {key!r} must be a JSON object, not {type(v).__name__}")
    return v


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
    def from_json(cls, d: Any, where: str = "file entry") -> FileEntry:
        if not isinstance(d, dict):
            raise _Bad(f"{where} must be a JSON object, not {type(d).__name__}")
        name = d.get("name")
        if not isinstance(name, str) or not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
            raise _Bad(f"{where}: 'name' must be a plain file name inside the index directory, not {name!r}")
        size = _int(d, "bytes", where)
        sha = d.get("sha256")
        if sha is not None and (not isinstance(sha, str) or not _SHA256.match(sha)):
            raise _Bad(f"{where}: 'sha256' must be 64 lowercase hex digits, not {sha!r}")
        return cls(name=name, bytes=size, sha256=sha)


@dataclass
class ShardEntry:
    tokens: int
    docs: int
    ptr_size: int
    files: dict[str, FileEntry]
    #: FM shards: {"n", "sigma", "sa_sample", "isa_sample", "sample_bits", "rank": {...}}
    fm: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        d = {
            "tokens": self.tokens,
            "docs": self.docs,
            "ptr_size": self.ptr_size,
            "files": {role: f.to_json() for role, f in self.files.items()},
        }
        if self.fm is not None:
            d["fm"] = self.fm
        return d

    @classmethod
    def from_json(cls, d: Any, where: str = "shard", kind: str = "sa") -> ShardEntry:
        if not isinstance(d, dict):
            raise _Bad(f"{where} must be a JSON object, not {type(d).__name__}")
        files = _obj(d, "files", where)
        entries = {}
        for role, f in files.items():
            known = (role in FM_ROLES or role.startswith("rank_")) if kind == "fm" else role in SHARD_FILES
            if not known or not isinstance(role, str):
                expected = ", ".join(FM_ROLES) + ", rank_*" if kind == "fm" else ", ".join(SHARD_FILES)
                raise _Bad(f"{where}: unknown file role {role!r} (expected {expected})")
            entries[role] = FileEntry.from_json(f, f"{where} file {role!r}")
        fm = _obj(d, "fm", where) if kind == "fm" else None
        return cls(
            tokens=_int(d, "tokens", where),
            docs=_int(d, "docs", where),
            ptr_size=_int(d, "ptr_size", where, 1, 8),
            files=entries,
            fm=fm,
        )

    def check(self, token_width: int, where: str) -> None:
        """Sizes recorded for this shard agree with each other (no file access)."""
        if self.fm is not None:
            self._check_fm(token_width, where)
            return
        missing = [r for r in REQUIRED_ROLES if r not in self.files]
        if missing:
            raise _Bad(f"{where}: lists no {', '.join(missing)} file")
        if ("metadata" in self.files) != ("metaoff" in self.files):
            raise _Bad(f"{where}: lists only one of the metadata and metaoff files")
        if self.docs > self.tokens or (self.tokens > 0) != (self.docs > 0):
            raise _Bad(f"{where}: {self.docs} documents for {self.tokens} tokens (every document starts with a separator token)")
        expect = {
            "tokenized": self.tokens * token_width,
            "table": self.tokens * self.ptr_size,
            "offset": self.docs * 8,
            "metaoff": self.docs * 8,
        }
        for role, size in expect.items():
            f = self.files.get(role)
            if f is not None and f.bytes != size:
                raise _Bad(f"{where}: file {f.name} is recorded as {f.bytes} bytes, expected {size} "
                           f"({self.tokens} tokens, {self.docs} docs, token_width {token_width}, ptr_size {self.ptr_size})")
        ds_size = self.tokens * token_width
        if self.ptr_size < 8 and ds_size > (1 << (8 * self.ptr_size)):
            raise _Bad(f"{where}: ptr_size {self.ptr_size} cannot address {ds_size} bytes of tokens")

    def _check_fm(self, token_width: int, where: str) -> None:
        from ..fm.packed import bits_for, words_for

        fm = self.fm or {}
        missing = [r for r in FM_REQUIRED_ROLES if r not in self.files]
        if missing:
            raise _Bad(f"{where}: lists no {', '.join(missing)} file")
        if ("metadata" in self.files) != ("metaoff" in self.files):
            raise _Bad(f"{where}: lists only one of the metadata and metaoff files")
        if self.tokens < 1 or self.docs < 1 or self.docs > self.tokens:
            raise _Bad(f"{where}: {self.docs} documents for {self.tokens} tokens (an FM shard holds at least one document)")
        n = _int(fm, "n", f"{where} fm", 1)
        if n != self.tokens:
            raise _Bad(f"{where}: fm.n = {n} but the shard has {self.tokens} tokens")
        sigma = _int(fm, "sigma", f"{where} fm", 2, (1 << (8 * token_width)) + 1)
        sa_s = _int(fm, "sa_sample", f"{where} fm", 1, 1 << 30)
        isa_s = _int(fm, "isa_sample", f"{where} fm", 1, 1 << 30)
        bits = _int(fm, "sample_bits", f"{where} fm", 1, 64)
        if bits != bits_for(n):
            raise _Bad(f"{where}: fm.sample_bits = {bits}, expected {bits_for(n)} for {n} tokens")
        rank = _obj(fm, "rank", f"{where} fm")
        if not isinstance(rank.get("name"), str) or not isinstance(rank.get("files"), dict):
            raise _Bad(f"{where}: fm.rank needs a 'name' and 'files'")
        for key, f in rank["files"].items():
            entry = self.files.get(f"rank_{key}")
            if entry is None or not isinstance(f, dict) or f.get("name") != entry.name:
                raise _Bad(f"{where}: rank file {key!r} is not listed as file role 'rank_{key}'")
        expect = {
            "offset": self.docs * 8,
            "metaoff": self.docs * 8,
            "fm_alpha": (sigma - 1) * token_width,
            "fm_c": (sigma + 1) * 8,
            "fm_sa": words_for(-(-(n + 1) // sa_s), bits) * 8,
            "fm_isa": words_for(n // isa_s + 1, bits) * 8,
        }
        for role, size in expect.items():
            f = self.files.get(role)
            if f is not None and f.bytes != size:
                raise _Bad(f"{where}: file {f.name} is recorded as {f.bytes} bytes, expected {size} "
                           f"({self.tokens} tokens, {self.docs} docs, sigma {sigma}, samples {sa_s}/{isa_s})")


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
    #: "sa" (suffix array, infini-gram layout) or "fm" (FM-index, see anygram.fm)
    kind: str = "sa"
    #: FM indexes: build parameters {"sa_sample", "isa_sample", "rank", "rank_params"}
    fm: dict[str, Any] | None = None

    @property
    def total_tokens(self) -> int:
        return sum(s.tokens for s in self.shards)

    @property
    def total_docs(self) -> int:
        return sum(s.docs for s in self.shards)

    def files(self) -> list[FileEntry]:
        """Every file the manifest lists (shard files, then extra files)."""
        return [f for s in self.shards for f in s.files.values()] + list(self.extra_files.values())

    def to_json(self) -> dict[str, Any]:
        kind = {} if self.kind == "sa" else {"kind": self.kind, "fm": self.fm or {}}
        return {
            "format": self.format,
            "format_version": self.format_version,
            **kind,
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
    def from_json(cls, d: Any, where: Path) -> Manifest:
        if not isinstance(d, dict):
            raise CorruptIndexError(f"{where}: the manifest must be a JSON object, not {type(d).__name__}")
        fmt = d.get("format")
        if fmt != FORMAT_NAME:
            raise IndexFormatError(f"{where}: not an anygram manifest (format is {fmt!r}, expected {FORMAT_NAME!r})")
        version = d.get("format_version")
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise CorruptIndexError(f"{where}: 'format_version' must be a positive integer, not {version!r}")
        if version > FORMAT_VERSION_MAX:
            raise IndexFormatError(
                f"{where}: index format version {version} was written by a newer anygram; this anygram "
                f"reads versions 1..{FORMAT_VERSION_MAX}: upgrade anygram (pip install -U anygram)"
            )
        kind = d.get("kind", "sa")
        if not isinstance(kind, str):
            raise CorruptIndexError(f"{where}: 'kind' must be a string, not {kind!r}")
        if kind not in INDEX_KINDS:
            raise IndexFormatError(f"{where}: index kind {kind!r} is unknown to this anygram (knows {', '.join(INDEX_KINDS)}): upgrade anygram")
        if kind == "fm" and version < FM_FORMAT_VERSION:
            raise CorruptIndexError(f"{where}: an FM index needs format_version >= {FM_FORMAT_VERSION}, not {version}")
        try:
            m = cls._parse(d, version, kind)
        except _Bad as exc:
            raise CorruptIndexError(f"{where}: malformed manifest: {exc}") from None
        return m

    @classmethod
    def _parse(cls, d: dict[str, Any], version: int, kind: str = "sa") -> Manifest:
        tokenizer = _obj(d, "tokenizer", "manifest")
        if not isinstance(tokenizer.get("kind"), str):
            raise _Bad("manifest: 'tokenizer' has no string 'kind'")
        width = _int(d, "token_width", "manifest")
        if width not in (1, 2, 4):
            raise _Bad(f"manifest: token_width {width} is not 1, 2 or 4")
        eos = _int(d, "eos_token_id", "manifest", 0, (1 << (8 * width)) - 1)
        shards_raw = d.get("shards")
        if not isinstance(shards_raw, list) or not shards_raw:
            raise _Bad("manifest: 'shards' must be a non-empty JSON array")
        shards = [ShardEntry.from_json(s, f"shard {i}", kind) for i, s in enumerate(shards_raw)]
        for i, s in enumerate(shards):
            s.check(width, f"shard {i}")
        extra = {k: FileEntry.from_json(f, f"extra file {k!r}") for k, f in _obj(d, "extra_files", "manifest", optional=True).items()}
        version_str = d.get("anygram_version", "")
        if not isinstance(version_str, str):
            raise _Bad("manifest: 'anygram_version' must be a string")
        m = cls(
            tokenizer=tokenizer,
            token_width=width,
            eos_token_id=eos,
            shards=shards,
            build=_obj(d, "build", "manifest", optional=True),
            extra_files=extra,
            anygram_version=version_str,
            format_version=version,
            kind=kind,
            fm=_obj(d, "fm", "manifest") if kind == "fm" else None,
        )
        for key, value in (("total_tokens", m.total_tokens), ("total_docs", m.total_docs)):
            if key in d and _int(d, key, "manifest") != value:
                raise _Bad(f"manifest: {key} = {d[key]} but the shards add up to {value}")
        names = [f.name for f in m.files()]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup or MANIFEST_NAME in names:
            raise _Bad(f"manifest: file names listed twice or clashing with the manifest: {dup or [MANIFEST_NAME]}")
        return m


def read_manifest(index_dir: Path) -> Manifest:
    path = index_dir / MANIFEST_NAME
    if not path.is_file():
        raise IndexFormatError(f"{index_dir}: no {MANIFEST_NAME} (not an anygram index)")
    try:
        if path.stat().st_size > MAX_MANIFEST_BYTES:
            raise CorruptIndexError(f"{path}: {path.stat().st_size} bytes is too large to be an anygram manifest")
        raw = path.read_bytes()
    except OSError as exc:
        raise IndexFormatError(f"{path}: cannot read the manifest: {exc}") from exc
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise CorruptIndexError(f"{path}: manifest is not valid JSON: {exc}") from None
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
    """Check one file's existence, size and checksum.

    The checksum is verified with ``verify='full'``, and with ``verify='auto'`` for files up to
    :data:`SMALL_FILE_LIMIT` bytes (the caller turns ``auto`` into ``full`` for small indexes);
    ``verify='sizes'`` checks existence and size only.
    """
    path = index_dir / entry.name
    try:
        st = path.stat()
    except FileNotFoundError:
        raise CorruptIndexError(f"{path}: file listed in the manifest is missing") from None
    except OSError as exc:
        raise CorruptIndexError(f"{path}: cannot access a file listed in the manifest: {exc}") from None
    if not path.is_file():
        raise CorruptIndexError(f"{path}: listed in the manifest but not a regular file")
    size = st.st_size
    if size != entry.bytes:
        raise CorruptIndexError(
            f"{path}: size is {size} bytes, the manifest says {entry.bytes} (truncated, extended or replaced)"
        )
    if entry.sha256 and verify != "sizes" and (verify == "full" or size <= SMALL_FILE_LIMIT):
        try:
            digest = sha256_file(path)
        except OSError as exc:
            raise CorruptIndexError(f"{path}: cannot read: {exc}") from None
        if digest != entry.sha256:
            raise CorruptIndexError(f"{path}: checksum does not match the manifest (file corrupted)")
    return path
