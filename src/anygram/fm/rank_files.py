"""What the rank structures' ``open`` functions share: symbol widths, metadata integers, file maps.

A rank structure's metadata comes from the manifest, so every value is checked before it sizes
a map; every file must hold exactly the bytes its metadata implies.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CorruptIndexError
from ..format.shard import map_exact


def symbol_dtype(sigma: int) -> np.dtype:
    """The narrowest little-endian unsigned type holding ``sigma`` symbol codes."""
    if sigma <= 1 << 8:
        return np.dtype("<u1")
    if sigma <= 1 << 16:
        return np.dtype("<u2")
    return np.dtype("<u4")


def meta_int(meta: dict[str, Any], key: str, lo: int, hi: int) -> int:
    """``meta[key]``, which must be an integer in ``[lo, hi]`` (else :class:`CorruptIndexError`)."""
    v = meta.get(key)
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise CorruptIndexError(f"rank structure metadata: {key!r} = {v!r} is not an integer in [{lo}, {hi}]")
    return v


def map_listed(out_dir: Path, files: dict[str, Any], key: str, dtype: Any, count: int) -> np.ndarray:
    """The file that ``files[key]["name"]`` names, mapped as exactly ``count`` values of ``dtype``."""
    f = files.get(key)
    if not isinstance(f, dict) or not isinstance(f.get("name"), str):
        raise CorruptIndexError(f"rank structure metadata lists no {key!r} file")
    return map_exact(out_dir / f["name"], np.dtype(dtype), count)
