"""Opt-in large-corpus checks (``pytest -m large``): build a real corpus, compare with brute force.

Set ``ANYGRAM_LARGE_CORPUS`` to a JSONL file with a "text" field (for example the
``code_200m/code_200m.jsonl`` or ``en/en.jsonl`` made by ``../shared/corpora/make_corpora.sh``).
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

import anygram

pytestmark = pytest.mark.large


def _corpus() -> Path:
    path = os.environ.get("ANYGRAM_LARGE_CORPUS")
    if not path or not Path(path).is_file():
        pytest.skip("set ANYGRAM_LARGE_CORPUS to a JSONL corpus to run the large tests")
    return Path(path)


def _overlapping_count(hay: bytes, needle: bytes) -> int:
    n, i = 0, hay.find(needle)
    while i >= 0:
        n += 1
        i = hay.find(needle, i + 1)
    return n


def test_large_build_counts_match_brute_force(tmp_path: Path) -> None:
    src = _corpus()
    summary = anygram.build(src, tmp_path / "idx", workers=2)
    texts = [json.loads(line)["text"].encode("utf-8") for line in open(src, encoding="utf-8")]
    texts = [t for t in texts if t]
    assert summary.docs == len(texts)
    assert summary.tokens == sum(len(t) + 1 for t in texts)
    stream = b"\xff" + b"\xff".join(texts)
    idx = anygram.open(tmp_path / "idx")
    rng = random.Random(7)
    for _ in range(100):
        doc = rng.choice(texts)
        n = rng.choice([1, 2, 5, 10, 50])
        if len(doc) <= n:
            continue
        i = rng.randrange(len(doc) - n)
        q = doc[i : i + n]
        assert idx.count(list(q)).count == _overlapping_count(stream, q)
    assert anygram.verify(tmp_path / "idx")["ok"]


def test_large_fm_build_counts_and_documents_match_brute_force(tmp_path: Path) -> None:
    """The FM kind on a real corpus: counts by brute force, documents read back through the ISA samples."""
    src = _corpus()
    summary = anygram.build(src, tmp_path / "fm", workers=2, kind="fm")
    texts = [json.loads(line)["text"].encode("utf-8") for line in open(src, encoding="utf-8")]
    texts = [t for t in texts if t]
    assert summary.docs == len(texts)
    stream = b"\xff" + b"\xff".join(texts)
    idx = anygram.open(tmp_path / "fm")
    assert idx.kind == "fm" and idx.total_docs == len(texts)
    rng = random.Random(11)
    for _ in range(60):
        doc = rng.choice(texts)
        n = rng.choice([3, 10, 50, 200])
        if len(doc) <= n:
            continue
        i = rng.randrange(len(doc) - n)
        q = doc[i : i + n]
        assert idx.count(list(q)).count == _overlapping_count(stream, q)
    for d in rng.sample(range(len(texts)), 20):
        got = idx.get_doc_by_ix(d, max_disp_len=2000)
        assert bytes(got.token_ids) == texts[d][:2000]
    assert anygram.verify(tmp_path / "fm")["ok"]
