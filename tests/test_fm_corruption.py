"""Damaged FM indexes: a named exception, never a crash (the guarantees of tests/test_corruption.py).

Every file of an FM shard (the FM arrays, every file of the rank structure, the document files)
is truncated, extended, deleted, or overwritten in place. With ``verify="auto"`` on a small
index every damage is caught at open (checksums). In "big index" mode (no checksums, structure
sampled) queries of every kind run in a subprocess: each answers or raises an
:class:`~anygram.errors.IndexFormatError`; a segfault fails the test.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import anygram
from anygram.errors import CorruptIndexError
from helpers import write_jsonl
from test_corruption import IDS_DOCS, QUERIES, TEXTS, _mutate, _run_worker, sampled_results

OPS = ("trunc_half", "delete", "flip_first", "flip_mid", "random")
SIZE_OPS = ("trunc_half", "delete")


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("fm_pristine")
    src_b = write_jsonl(tmp / "b_src" / "d.jsonl", [{"text": t, "n": i} for i, t in enumerate(TEXTS)])
    src_i = write_jsonl(tmp / "i_src" / "d.jsonl", [{"ids": d, "n": i} for i, d in enumerate(IDS_DOCS)])
    anygram.build(src_b, tmp / "bytes", kind="fm", shard_tokens=1800, workers=1, sa_sample=4, isa_sample=8)
    anygram.build(src_i, tmp / "ids", kind="fm", ids_field="ids", token_width=2, shard_tokens=600, workers=1, sa_sample=4, isa_sample=8)
    for p in (tmp / "bytes", tmp / "ids"):
        assert anygram.open(p).num_shards == 2
    return {"bytes": tmp / "bytes", "ids": tmp / "ids"}


@pytest.fixture(scope="module")
def cases(pristine: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    root = tmp_path_factory.mktemp("fm_damaged")
    out = []
    for kind, src in pristine.items():
        m = json.loads((src / "manifest.json").read_text())
        for role, f in m["shards"][0]["files"].items():
            for op in OPS:
                name = f"{kind}-{role}-{op}"
                dst = root / name
                shutil.copytree(src, dst)
                _mutate(dst / f["name"], op, seed=hash(name) & 0xFFFF)
                out.append({"name": name, "kind": kind, "role": role, "op": op, "path": str(dst)})
    return out


def test_every_fm_file_is_covered(cases: list[dict]) -> None:
    roles = {c["role"] for c in cases}
    assert {"fm_sa", "fm_isa", "fm_alpha", "fm_c", "offset", "metadata", "metaoff"} <= roles
    assert any(r.startswith("rank_") for r in roles)


def test_every_damage_detected_at_open_with_auto(cases: list[dict]) -> None:
    missed = []
    for c in cases:
        try:
            anygram.open(c["path"])
        except CorruptIndexError:
            continue
        missed.append(c["name"])
    assert not missed, f"damage not detected at open: {missed}"


def test_sampled_checks_never_crash(cases: list[dict], tmp_path: Path) -> None:
    sampled_results(cases, tmp_path, SIZE_OPS)


def test_pristine_fm_indexes_answer_in_every_mode(pristine: dict[str, Path], tmp_path: Path) -> None:
    cases = [{"name": k, "kind": k, "path": str(p)} for k, p in pristine.items()]
    for verify, big in (("auto", False), ("full", False), ("auto", True)):
        for r in _run_worker(tmp_path, cases, verify, big).values():
            assert r["open"] is None, r
            assert set(r["queries"].values()) == {"ok"}, r


assert QUERIES  # the worker's queries (shared with tests/test_corruption.py)
