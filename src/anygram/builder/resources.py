"""Memory planning for builds and peak-RSS measurement of a process tree."""

from __future__ import annotations

import os
import threading
import time

import psutil

#: bytes of RAM one shard's suffix-array build needs per byte of token data (text + int32 SA + slack)
BUILD_BYTES_PER_BYTE = 5.3
#: RSS of a build process before it holds any shard (Python, numpy, numba, pydivsufsort)
WORKER_BASE_BYTES = 128 << 20


def available_memory() -> int:
    return int(psutil.virtual_memory().available)


def default_max_memory() -> int:
    """60% of the RAM available now."""
    return int(available_memory() * 0.6)


def parse_size(text: str | int | None) -> int | None:
    """'8G', '512M', '100k', '123' -> bytes (binary units)."""
    if text is None:
        return None
    if isinstance(text, (bool, float)):
        from ..errors import BuildError

        raise BuildError(f"a size must be an integer number of bytes or a string like '8G', not {text!r}")
    if isinstance(text, int):
        if text <= 0:
            from ..errors import BuildError

            raise BuildError(f"a size must be positive, not {text}")
        return text
    s = str(text).strip().upper().removesuffix("B").removesuffix("I")
    mult = 1
    for suffix, m in (("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30), ("T", 1 << 40)):
        if s.endswith(suffix):
            s, mult = s[:-1], m
            break
    try:
        value = float(s)
    except ValueError:
        from ..errors import BuildError

        raise BuildError(f"cannot parse size {text!r} (examples: 8G, 512M, 100000)") from None
    if not (0 < value < float("inf")):
        from ..errors import BuildError

        raise BuildError(f"a size must be positive and finite, not {text!r}")
    return int(value * mult)


class PeakRSS:
    """Samples the RSS of this process and all its children in a background thread."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="anygram-rss", daemon=True)

    def _sample(self) -> int:
        me = psutil.Process(os.getpid())
        total = 0
        try:
            total += me.memory_info().rss
            for child in me.children(recursive=True):
                try:
                    total += child.memory_info().rss
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    pass
        except psutil.Error:
            pass
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sample())
            time.sleep(self.interval)

    def __enter__(self) -> PeakRSS:
        self.peak = self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._sample())
