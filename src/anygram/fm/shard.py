"""Opening one FM shard's files as read-only memory maps, with structural validation.

Checked on open (see ``docs/fm.md``): the C array (starts 0, 1; every token code occurs; ends
at ``n + 1``), the alphabet (strictly increasing token ids, ending with the separator), the
separator count equals the number of documents, the sample files' sizes, the rank structure's
own checks (its ``open``), the document offsets (as the suffix-array kind: entirely up to
16 MB, else on a sample; each checked offset must hold a separator, read back through the FM
index). Sample values and LF steps are range-checked inside the kernels (:class:`FMCorrupt`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..engine._jit import jit_enabled
from ..errors import BuildError, CorruptIndexError
from ..format import shard as _sa_shard
from ..format.manifest import ShardEntry
from ..format.shard import _EMPTY, Shard, _check_metaoff, _chunks, _sample, map_exact, map_file
from .build import rank_module, rank_prefix
from .kernels import P_NN, FMCorrupt, kernels_for
from .packed import bits_for, words_for

_DT = {1: np.dtype("<u1"), 2: np.dtype("<u2"), 4: np.dtype("<u4")}
#: documents whose separator is read back through the index on open (all with verify="full")
SEP_SAMPLE = 64


@dataclass
class FMShard(Shard):
    """An FM shard: no token file (``ds``/``sa`` are empty); the text is read back with LF steps."""

    C: np.ndarray = field(default_factory=lambda: _EMPTY)
    alpha: np.ndarray = field(default_factory=lambda: _EMPTY)
    saw: np.ndarray = field(default_factory=lambda: _EMPTY)
    isaw: np.ndarray = field(default_factory=lambda: _EMPTY)
    par: np.ndarray = field(default_factory=lambda: _EMPTY)
    R: tuple = ()
    rank_name: str = ""
    kern: Any = None
    fm_bytes: int = 0
    rank_bytes: int = 0

    @property
    def ds_size(self) -> int:
        return self.tok_cnt * self.token_width

    @property
    def sigma(self) -> int:
        return int(self.par[6])

    @functools.cached_property
    def _code_table(self) -> np.ndarray | None:
        """Code of every token id (0: absent) for widths 1 and 2: one lookup instead of a search."""
        if self.token_width > 2:
            return None
        table = np.zeros(1 << (8 * self.token_width), dtype=np.int64)
        table[self.alpha.astype(np.int64)] = np.arange(1, self.alpha.shape[0] + 1, dtype=np.int64)
        return table

    def codes(self, ids: np.ndarray) -> np.ndarray:
        """Codes of token ids in this shard (0 for ids that do not occur in it)."""
        ids = np.asarray(ids)
        table = self._code_table
        if table is not None and (ids.dtype.kind == "u" and ids.dtype.itemsize <= self.token_width):
            return table[ids]
        ids = ids.astype(np.int64)
        alpha = self.alpha
        pos = np.searchsorted(alpha, ids)
        ok = pos < alpha.shape[0]
        ok[ok] = alpha[pos[ok]] == ids[ok]
        return np.where(ok, pos + 1, 0).astype(np.int64)

    def extract(self, a: int, b: int) -> np.ndarray:
        """Token ids ``T[a:b]`` (token positions) of this shard."""
        out = np.empty(max(0, b - a), dtype=np.int64)
        if b > a:
            try:
                self.kern.extract(self.C, self.R, self.par, self.isaw, self.alpha, a, b, out)
            except FMCorrupt as exc:
                raise CorruptIndexError(f"shard {self.name}: {exc} (index corrupted; rebuild it)") from None
        return out

    def _is_sep(self, pos: int) -> bool:
        # no token file to look at: separators are read back through the index on open
        # (SEP_SAMPLE of them), so doc_span checks only the offsets' order, alignment and range
        return True


def open_fm_shard(name: str, path: Path, entry: ShardEntry, w: int, *, verify: str = "auto") -> FMShard:
    """Map and validate one FM shard (files and sizes already checked against the manifest)."""
    fm = entry.fm or {}
    f = entry.files
    n = entry.tokens
    N = n + 1
    sigma = int(fm["sigma"])
    sa_s, isa_s, bits = int(fm["sa_sample"]), int(fm["isa_sample"]), int(fm["sample_bits"])
    where = f"shard {name}"
    C = map_exact(path / f["fm_c"].name, np.dtype("<i8"), sigma + 1)
    alpha = map_exact(path / f["fm_alpha"].name, _DT[w], sigma - 1)
    saw = map_exact(path / f["fm_sa"].name, np.dtype("<u8"), words_for(-(-N // sa_s), bits))
    isaw = map_exact(path / f["fm_isa"].name, np.dtype("<u8"), words_for(n // isa_s + 1, bits))
    if bits != bits_for(n):
        raise CorruptIndexError(f"{where}: sample width {bits} bits, expected {bits_for(n)}")
    d = np.diff(C)
    if int(C[0]) != 0 or int(C[1]) != 1 or int(C[-1]) != N or (d.shape[0] > 1 and np.any(d[1:] <= 0)):
        raise CorruptIndexError(f"{path / f['fm_c'].name}: the C array is not 0, 1, strictly increasing to {N}")
    a64 = alpha.astype(np.int64)
    sep_val = (1 << (8 * w)) - 1
    if a64.shape[0] == 0 or np.any(np.diff(a64) <= 0) or int(a64[-1]) != sep_val:
        raise CorruptIndexError(f"{path / f['fm_alpha'].name}: the alphabet is not strictly increasing or lacks the separator")
    sep_code = sigma - 1
    if int(C[sep_code + 1] - C[sep_code]) != entry.docs:
        raise CorruptIndexError(f"{where}: {entry.docs} documents but the FM index holds {int(C[sep_code + 1] - C[sep_code])} separators")
    rank = fm.get("rank") or {}
    rname = rank.get("name")
    try:
        rmod = rank_module(rname)
    except BuildError:
        raise CorruptIndexError(f"{where}: unknown rank structure {rname!r} (index from a newer anygram?)") from None
    if rank.get("n") != N or rank.get("sigma") != sigma:
        raise CorruptIndexError(f"{where}: the rank structure describes {rank.get('n')} symbols of alphabet {rank.get('sigma')}, expected {N} and {sigma}")
    idx = int(name.rsplit("/", 1)[-1]) if name.rsplit("/", 1)[-1].isdigit() else 0
    prefix = _prefix_of(rank, rank_prefix(idx))
    try:
        R = rmod.open(path, prefix, rank)
    except CorruptIndexError:
        raise
    except (ValueError, KeyError, TypeError, OSError) as exc:
        raise CorruptIndexError(f"{where}: rank structure cannot be opened: {exc}") from None
    par = np.array([n, N, sa_s, isa_s, bits, sep_code, sigma], dtype=np.int64)
    od_path = path / f["offset"].name
    od = map_exact(od_path, np.dtype("<u8"), entry.docs)
    mt = om = None
    paths = {"offset": od_path}
    if "metadata" in f and "metaoff" in f:
        mt = map_file(path / f["metadata"].name)
        om = map_exact(path / f["metaoff"].name, np.dtype("<u8"), entry.docs)
        paths["metadata"] = path / f["metadata"].name
        paths["metaoff"] = path / f["metaoff"].name
    fm_bytes = sum(int(x.bytes) for role, x in f.items() if role.startswith(("fm_", "rank_")))
    sh = FMShard(
        name=name, ds=_EMPTY, sa=_EMPTY, od=od, mt=mt, om=om, token_width=w, ptr_size=entry.ptr_size,
        tok_cnt=n, doc_cnt=entry.docs, paths=paths, C=C, alpha=alpha, saw=saw, isaw=isaw, par=par, R=R,
        rank_name=rname, kern=kernels_for(rmod), fm_bytes=fm_bytes, rank_bytes=int(rmod.size_bytes(R)),
    )
    if int(par[P_NN]) != N:
        raise CorruptIndexError(f"{where}: inconsistent sizes")
    full = verify == "full"
    _check_fm_offsets(sh, od_path, full)
    if sh.om is not None and sh.mt is not None:
        _check_metaoff(sh, paths["metaoff"], full)
    return sh


def _prefix_of(rank: dict[str, Any], default: str) -> str:
    """The prefix of the rank files (their common start), else the builder's default."""
    names = [v.get("name") for v in (rank.get("files") or {}).values() if isinstance(v, dict)]
    if names and all(isinstance(x, str) for x in names):
        import os

        p = os.path.commonprefix(names)
        if p.startswith("fm_rank.") and p.endswith("."):
            return p
    return default


def _check_fm_offsets(sh: FMShard, path: Path, full: bool) -> None:
    od, w, n, size = sh.od, sh.token_width, sh.doc_cnt, sh.ds_size
    if int(od[0]) != 0:
        raise CorruptIndexError(f"{path}: first document offset is {int(od[0])}, not 0")
    if full or od.nbytes <= _sa_shard.FULL_SCAN_BYTES:
        prev = -1
        for a, b in _chunks(n):
            raw = od[a:b]
            if np.any(raw >= np.uint64(size)):
                raise CorruptIndexError(f"{path}: a document offset is outside the shard's {size} bytes")
            chunk = raw.astype(np.int64)
            if chunk[0] <= prev or np.any(np.diff(chunk) <= 0) or np.any(chunk % w):
                raise CorruptIndexError(f"{path}: document offsets are not strictly increasing multiples of the token width")
            prev = int(chunk[-1])
        idx = np.arange(n) if full else _sample(n)[: SEP_SAMPLE if jit_enabled() else 2]
    else:
        idx = _sample(n)
        vals = od[idx]
        if np.any(vals >= np.uint64(size)):
            raise CorruptIndexError(f"{path}: a document offset is outside the shard's {size} bytes")
        v = vals.astype(np.int64)
        if np.any(np.diff(v) <= 0) or np.any(v % w):
            raise CorruptIndexError(f"{path}: document offsets are not strictly increasing multiples of the token width")
        idx = idx[:: max(1, idx.shape[0] // (SEP_SAMPLE if jit_enabled() else 2))]
    sep = (1 << (8 * w)) - 1
    for i in idx.tolist():
        p = int(od[i]) // w
        if int(sh.extract(p, p + 1)[0]) != sep:
            raise CorruptIndexError(f"{path}: a document offset does not point at a separator")
