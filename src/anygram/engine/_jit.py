"""The decorator every kernel uses: numba's ``njit`` — or nothing, when ``ANYGRAM_JIT=0``.

With ``ANYGRAM_JIT=0`` (read once, when the kernel modules are first imported) kernels run as
plain Python over the same memory maps and numba is never imported. That costs microseconds per
search step instead of nanoseconds, but saves numba's ~0.3 s import and cache loading, so the CLI
uses it for one-shot lookups (a few binary searches); ``NUMBA_DISABLE_JIT=1`` has the same effect
on the kernels but still imports numba.

numba's on-disk cache checks only the timestamp of the file that defines a kernel, not of the
files its callees come from: after an edit of ``_search.py``, a cached ``_cnf`` kernel would keep
the old ``read_ptr`` inlined and answer from stale code. Every cached kernel's name therefore
carries a checksum of all of anygram's kernel sources (:func:`source_tag`), so any edit to one of
them compiles every kernel afresh.
"""

from __future__ import annotations

import functools
import os
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def jit_enabled() -> bool:
    return os.environ.get("ANYGRAM_JIT", "1").strip().lower() not in ("0", "false", "no", "off")


@functools.cache
def source_tag() -> str:
    """CRC-32 (hex) of every anygram source file that defines or calls kernels."""
    root = Path(__file__).resolve().parent.parent
    crc = 0
    for path in sorted(root.rglob("*.py")):
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if b"kernel" in data:
            crc = zlib.crc32(path.relative_to(root).as_posix().encode() + b"\0" + data, crc)
    return f"{crc:08x}"


def kernel(**options: Any) -> Callable[[F], F]:
    """``@kernel(cache=True, nogil=True)``: compile with numba unless ANYGRAM_JIT=0."""
    if not jit_enabled():
        return lambda f: f
    import numba

    jit = numba.njit(**options)
    if not options.get("cache"):
        return jit  # type: ignore[no-any-return]

    def deco(fn: F) -> F:
        # the cache's file names are fixed when the dispatcher is made: rename for that moment only
        # (the function keeps its name for pickling, tracebacks and introspection)
        name = fn.__qualname__
        fn.__qualname__ = f"{name}__{source_tag()}"
        try:
            dispatcher = jit(fn)
        finally:
            fn.__qualname__ = name
        dispatcher.__qualname__ = name
        return dispatcher  # type: ignore[no-any-return]

    return deco
