"""A count in a fresh process without numpy or numba: what ``anygram count`` runs.

Importing numpy and numba and loading numba's cached kernels costs a fresh process 0.1–0.5 s,
far more than one count (a few dozen dependent reads). For byte-level and ids-only anygram
indexes, :func:`count_once` opens the index with the standard library only: the manifest is
parsed and checked (format, version, every file's size, checksums of small files), the token
and suffix-array files are memory-mapped, and the same binary search as
:func:`anygram.engine._search.find_range` runs on ``bytes`` slices (one C-level comparison per
step). Suffix-array pointers are range-checked as in the kernels. Other indexes (HF tokenizers,
infini-gram directories, several directories) return ``None`` and the caller uses
:func:`anygram.open`. ``tests/test_oneshot.py`` checks it against the kernels.
"""

from __future__ import annotations

import mmap
import os
from pathlib import Path

from .config import MANIFEST_NAME
from .errors import CorruptIndexError, QueryError
from .format.manifest import check_file, read_manifest


def _map(path: Path) -> mmap.mmap | bytes:
    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            return b""
        return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)


def _bound(ds: mmap.mmap | bytes, sa: mmap.mmap | bytes, k: int, n: int, q: bytes, strict: bool) -> int:
    """First rank whose suffix, cut to len(q) bytes, is >= q (``strict``: > q).

    Invariant: ranks < lo compare below (or, for strict, not above) q; ranks >= hi above.
    """
    m = len(q)
    size = len(ds)
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi) >> 1
        p = int.from_bytes(sa[mid * k : mid * k + k], "little")
        if p >= size:
            raise CorruptIndexError("suffix array pointer outside the token file (index corrupted; rebuild it)")
        s = ds[p : p + m]
        if s < q or (strict and s == q):
            lo = mid + 1
        else:
            hi = mid
    return lo


def count_once(path: str | os.PathLike[str], query: str | list[int]) -> int | None:
    """Occurrences of ``query`` in the index at ``path``, or ``None`` if this fast path does not apply."""
    root = Path(path)
    if not (root / MANIFEST_NAME).is_file():
        return None
    m = read_manifest(root)
    if m.kind != "sa":
        return None  # FM indexes: anygram.open
    kind = m.tokenizer.get("kind")
    w = m.token_width
    if isinstance(query, str):
        if kind != "bytes":
            return None
        q = query.encode("utf-8", errors="surrogatepass")
    else:
        sep = (1 << (8 * w)) - 1
        for t in query:
            if isinstance(t, bool) or not isinstance(t, int) or not 0 <= t < sep:
                raise QueryError(f"query contains token id {t!r}, outside [0, {sep - 1}] for this index")
        q = b"".join(t.to_bytes(w, "little") for t in query)
    entries = [f for s in m.shards for f in s.files.values()] + list(m.extra_files.values())
    for f in entries:
        check_file(root, f, "auto")
    total = 0
    for s in m.shards:
        if not q:
            total += s.tokens
            continue
        ds = _map(root / s.files["tokenized"].name)
        sa = _map(root / s.files["table"].name)
        lo = _bound(ds, sa, s.ptr_size, s.tokens, q, strict=False)
        hi = _bound(ds, sa, s.ptr_size, s.tokens, q, strict=True)
        total += hi - lo
    return total
