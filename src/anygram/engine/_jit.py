"""The decorator every kernel uses: numba's ``njit`` — or nothing, when ``ANYGRAM_JIT=0``.

With ``ANYGRAM_JIT=0`` (read once, when the kernel modules are first imported) kernels run as
plain Python over the same memory maps and numba is never imported. That costs microseconds per
search step instead of nanoseconds, but saves numba's ~0.3 s import and cache loading, so the CLI
uses it for one-shot lookups (a few binary searches); ``NUMBA_DISABLE_JIT=1`` has the same effect
on the kernels but still imports numba.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def jit_enabled() -> bool:
    return os.environ.get("ANYGRAM_JIT", "1").strip().lower() not in ("0", "false", "no", "off")


def kernel(**options: Any) -> Callable[[F], F]:
    """``@kernel(cache=True, nogil=True)``: compile with numba unless ANYGRAM_JIT=0."""
    if not jit_enabled():
        return lambda f: f
    import numba

    return numba.njit(**options)  # type: ignore[no-any-return]
