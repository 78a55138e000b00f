"""Tokenizers: raw UTF-8 bytes (default) or any Hugging Face ``tokenizers`` tokenizer.json.

A tokenizer turns text into a numpy array of token ids of the index's token width (1, 2 or 4
bytes, chosen from the vocabulary size) and back. The all-ones id of that width (0xff, 0xffff,
0xffffffff) is the document separator and is never a valid token. The tokenizer's identity is
stored in the manifest (and a tokenizer.json is copied into the index) so that string queries are
tokenized exactly as the corpus was.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .errors import QueryError, TokenizerError, require

DTYPE_BY_WIDTH = {1: np.dtype("<u1"), 2: np.dtype("<u2"), 4: np.dtype("<u4")}


def token_width_for_vocab(vocab_size: int) -> int:
    """Smallest token width (bytes) whose all-ones separator id is not a token id."""
    if vocab_size < 1:
        raise TokenizerError(f"vocabulary size must be positive, got {vocab_size}")
    for width in (1, 2, 4):
        if vocab_size <= (1 << (8 * width)) - 1:
            return width
    raise TokenizerError(f"vocabulary of {vocab_size} ids does not fit in 32-bit token ids")


def separator_id(width: int) -> int:
    """The document separator id (all bits set) for a token width."""
    return (1 << (8 * width)) - 1


class Tokenizer(Protocol):
    """What the builder and the index need of a tokenizer."""

    vocab_size: int
    token_width: int
    eos_token_id: int

    def encode(self, text: str) -> np.ndarray: ...

    def encode_batch(self, texts: list[str]) -> list[np.ndarray]: ...

    def decode(self, ids: Iterable[int]) -> str: ...

    def spec(self) -> dict[str, Any]: ...

    def describe(self) -> str: ...


class ByteTokenizer:
    """UTF-8 bytes as tokens (ids 0..254; 0xff never occurs in UTF-8 and separates documents)."""

    vocab_size = 256
    token_width = 1
    dtype = DTYPE_BY_WIDTH[1]

    def __init__(self, eos_token_id: int = 0xFF) -> None:
        self.eos_token_id = eos_token_id

    def encode(self, text: str) -> np.ndarray:
        return np.frombuffer(text.encode("utf-8", errors="surrogatepass"), dtype=np.uint8)

    def encode_batch(self, texts: list[str]) -> list[np.ndarray]:
        return [self.encode(t) for t in texts]

    def decode(self, ids: Iterable[int]) -> str:
        data = bytes(int(i) & 0xFF for i in ids) if not isinstance(ids, np.ndarray) else ids.astype(np.uint8).tobytes()
        return data.decode("utf-8", errors="replace")

    def spec(self) -> dict[str, Any]:
        return {"kind": "bytes", "vocab_size": 256}

    def describe(self) -> str:
        return "UTF-8 bytes"


class IdsTokenizer:
    """Stand-in for pre-tokenized corpora built without a known tokenizer: queries take token ids."""

    def __init__(self, token_width: int, eos_token_id: int | None = None) -> None:
        if token_width not in (1, 2, 4):
            raise TokenizerError(f"token_width must be 1, 2 or 4, not {token_width}")
        self.token_width = token_width
        self.vocab_size = separator_id(token_width)
        self.dtype = DTYPE_BY_WIDTH[token_width]
        self.eos_token_id = separator_id(token_width) if eos_token_id is None else int(eos_token_id)

    def encode(self, text: str) -> np.ndarray:
        raise TokenizerError("this index was built from token ids without a tokenizer: query with token ids")

    def encode_batch(self, texts: list[str]) -> list[np.ndarray]:
        raise TokenizerError("this index was built from token ids without a tokenizer")

    def decode(self, ids: Iterable[int]) -> str:
        return " ".join(str(int(i)) for i in ids)

    def spec(self) -> dict[str, Any]:
        return {"kind": "ids", "vocab_size": self.vocab_size}

    def describe(self) -> str:
        return f"token ids ({self.token_width}-byte)"


class HFTokenizer:
    """A Hugging Face ``tokenizers`` tokenizer loaded offline from a tokenizer.json file."""

    def __init__(self, path: str | os.PathLike[str], eos_token_id: int | None = None) -> None:
        tk = require("tokenizers", "tokenizers", "Tokenizing with a tokenizer.json")
        self.path = Path(path)
        if self.path.is_dir():
            self.path = self.path / "tokenizer.json"
        if not self.path.is_file():
            raise TokenizerError(
                f"tokenizer file not found: {self.path} (give the path of a tokenizer.json or of "
                "its folder; tokenizers are never downloaded)"
            )
        try:
            self._tk = tk.Tokenizer.from_file(str(self.path))
        except Exception as exc:  # the Rust side raises a bare Exception
            raise TokenizerError(f"cannot load tokenizer {self.path}: {exc}") from exc
        # ids may have gaps (a hand-written vocab, added tokens): size the width by the largest id
        vocab = self._tk.get_vocab(with_added_tokens=True)
        self.vocab_size = max(int(self._tk.get_vocab_size(with_added_tokens=True)), max(vocab.values(), default=-1) + 1)
        self.token_width = token_width_for_vocab(self.vocab_size)
        self.dtype = DTYPE_BY_WIDTH[self.token_width]
        self.sha256 = _sha256_file(self.path)
        self.eos_token_id = self._guess_eos() if eos_token_id is None else int(eos_token_id)

    def _guess_eos(self) -> int:
        for name in ("<|endoftext|>", "</s>", "<eos>", "[SEP]", "<|end_of_text|>"):
            tid = self._tk.token_to_id(name)
            if tid is not None:
                return int(tid)
        return separator_id(self.token_width)

    def encode(self, text: str) -> np.ndarray:
        return np.asarray(self._tk.encode(text, add_special_tokens=False).ids, dtype=self.dtype)

    def encode_batch(self, texts: list[str]) -> list[np.ndarray]:
        encs = self._tk.encode_batch(texts, add_special_tokens=False)
        return [np.asarray(e.ids, dtype=self.dtype) for e in encs]

    def decode(self, ids: Iterable[int]) -> str:
        return self._tk.decode([int(i) for i in ids], skip_special_tokens=False)

    def spec(self) -> dict[str, Any]:
        return {
            "kind": "hf",
            "file": "tokenizer.json",
            "source": str(self.path),
            "sha256": self.sha256,
            "vocab_size": self.vocab_size,
        }

    def describe(self) -> str:
        return f"tokenizers: {self.path.name} ({self.vocab_size} ids)"

    def copy_into(self, index_dir: Path) -> None:
        """Copy the tokenizer.json into an index, checking it did not change since it was loaded."""
        dest = index_dir / "tokenizer.json"
        if self.path.resolve() != dest.resolve():
            shutil.copyfile(self.path, dest)
        if _sha256_file(dest) != self.sha256:
            raise TokenizerError(f"{self.path} changed while the index was being built")


def load_tokenizer(name_or_path: str | os.PathLike[str] | None, eos_token_id: int | None = None) -> Tokenizer:
    """``None`` or ``"bytes"``: UTF-8 bytes; otherwise a path to a tokenizer.json (or its folder)."""
    if name_or_path is None or str(name_or_path) in ("bytes", "utf-8", "utf8", "byte"):
        return ByteTokenizer() if eos_token_id is None else ByteTokenizer(eos_token_id)
    return HFTokenizer(name_or_path, eos_token_id)


def tokenizer_from_spec(spec: dict[str, Any], index_dir: Path, eos_token_id: int | None) -> Tokenizer | None:
    """Recreate the tokenizer recorded in a manifest; ``None`` for an unknown tokenizer (ids only)."""
    kind = spec.get("kind")
    if kind == "bytes":
        return ByteTokenizer() if eos_token_id is None else ByteTokenizer(eos_token_id)
    if kind == "hf":
        path = index_dir / spec.get("file", "tokenizer.json")
        tok = HFTokenizer(path, eos_token_id)
        if spec.get("sha256") and tok.sha256 != spec["sha256"]:
            from .errors import CorruptIndexError

            raise CorruptIndexError(f"{path}: tokenizer checksum does not match the manifest")
        return tok
    return None


def check_token_ids(ids: Iterable[int], width: int, what: str = "query") -> np.ndarray:
    """Validate token ids for an index of this width and return them as a little-endian array."""
    sep = separator_id(width)
    try:
        arr = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids)
    except (TypeError, ValueError) as exc:
        raise QueryError(f"{what} must be a list of integer token ids") from exc
    if arr.size == 0:
        return np.zeros(0, dtype=DTYPE_BY_WIDTH[width])
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        raise QueryError(f"{what} must be a flat list of integer token ids")
    lo, hi = int(arr.min()), int(arr.max())
    if lo < 0 or hi >= sep:
        bad = lo if lo < 0 else hi
        raise QueryError(
            f"{what} contains token id {bad}, outside [0, {sep - 1}] for this index "
            f"({sep} is the document separator)"
        )
    return arr.astype(DTYPE_BY_WIDTH[width])


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
