"""numba's cache must not serve a kernel compiled against an older version of a callee's file."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from anygram.engine import _jit


def test_source_tag_is_a_stable_checksum() -> None:
    tag = _jit.source_tag()
    assert len(tag) == 8 and int(tag, 16) >= 0
    assert _jit.source_tag() == tag  # computed once


@pytest.mark.skipif(not _jit.jit_enabled(), reason="numba disabled")
def test_cross_file_callee_edit_is_not_served_from_cache(tmp_path: Path) -> None:
    """A kernel calling a kernel of another file sees that file's edit in a fresh process."""
    pkg = tmp_path / "anygram_cache_probe"
    (pkg / "engine").mkdir(parents=True)
    jit_src = Path(_jit.__file__).read_text()
    (pkg / "__init__.py").write_text("")
    (pkg / "engine" / "__init__.py").write_text("")
    (pkg / "engine" / "_jit.py").write_text(jit_src)
    (pkg / "engine" / "callee.py").write_text("from ._jit import kernel\n\n@kernel(cache=True)\ndef value():\n    return 1\n")
    (pkg / "engine" / "caller.py").write_text(
        "from ._jit import kernel\nfrom .callee import value\n\n@kernel(cache=True)\ndef twice():\n    return 2 * value()\n"
    )
    run = [sys.executable, "-c", "from anygram_cache_probe.engine.caller import twice; print(twice())"]
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    assert subprocess.run(run, env=env, capture_output=True, text=True, check=True).stdout.strip() == "2"
    (pkg / "engine" / "callee.py").write_text("from ._jit import kernel\n\n@kernel(cache=True)\ndef value():\n    return 21\n")
    assert subprocess.run(run, env=env, capture_output=True, text=True, check=True).stdout.strip() == "42"


@pytest.mark.skipif(not _jit.jit_enabled(), reason="numba disabled")
def test_kernels_keep_their_names_and_pickle() -> None:
    from anygram.engine import _cnf

    assert _cnf.merge_clause.__qualname__ == "merge_clause"
    assert _cnf.merge_clause.py_func.__qualname__ == "merge_clause"
    assert pickle.loads(pickle.dumps(_cnf.merge_clause)) is not None
