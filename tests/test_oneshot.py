"""The stdlib-only count of ``anygram count`` (anygram.oneshot) agrees with the kernels."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import anygram
from anygram.oneshot import count_once
from strategies import corpora, queries


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_count_once_matches_index(data: st.DataObject) -> None:
    spec = data.draw(corpora())
    with tempfile.TemporaryDirectory() as tmp:
        idx, _ = spec.build(Path(tmp))
        path = idx.info().path[0]
        for q in queries(data.draw, spec, 12):
            assert count_once(path, q) == idx.count(q).count
        if spec.texts is not None:
            for t in spec.texts[:3]:
                for part in (t[:2], t[1:4], t):
                    assert count_once(path, part) == idx.count(part).count


def test_count_once_declines_what_it_cannot_serve(tmp_path: Path) -> None:
    from helpers import build_from_ids

    idx = build_from_ids(tmp_path, [[1, 2, 3]], token_width=2)
    path = idx.info().path[0]
    assert count_once(path, "text on an ids index") is None  # needs the full path (QueryError there)
    assert count_once(tmp_path / "nowhere", [1]) is None
    with pytest.raises(anygram.QueryError):
        count_once(path, [70000])
    assert count_once(path, []) == idx.count([]).count


def test_cli_count_fresh_process_does_not_import_numpy(tmp_path: Path) -> None:
    from helpers import build_from_texts

    idx = build_from_texts(tmp_path, ["the cat sat", "the dog"])
    path = idx.info().path[0]
    code = (
        "import sys; from anygram.cli.main import main; rc = main(['count', sys.argv[1], 'the']);"
        "print('numpy' in sys.modules, 'numba' in sys.modules); sys.exit(rc)"
    )
    out = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True, env={**os.environ}, check=True)
    assert out.stdout.split() == ["2", "False", "False"]
