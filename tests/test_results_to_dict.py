"""``to_dict()`` of every result type equals the obviously-correct reference
(``dataclasses.asdict`` then JSON-readiness), on real results of a small index."""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

import pytest

from anygram.results import CountResult, _jsonable
from helpers import build_from_texts

TEXTS = ["the cat sat on the mat", "the dog sat on the log", "a cat and a dog met the cat", "naïve café ✓"]


def reference(result: Any) -> Any:
    def jsonable(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: jsonable(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [jsonable(x) for x in v]
        if isinstance(v, float) and not math.isfinite(v):
            return None if math.isnan(v) else ("inf" if v > 0 else "-inf")
        return v

    return jsonable(asdict(result))


@pytest.fixture(scope="module")
def idx(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return build_from_texts(tmp_path_factory.mktemp("todict"), TEXTS, shard_tokens=40)


QUERIES = [
    lambda i: i.count("the"),
    lambda i: i.count_batch(["the", "cat", "zz"])[1],
    lambda i: i.find("sat"),
    lambda i: i.prob("the ca", "t"),
    lambda i: i.prob("zzz", "t"),
    lambda i: i.ntd("the "),
    lambda i: i.infgram_prob("xx the ca", "t"),
    lambda i: i.infgram_ntd("qq the "),
    lambda i: i.score("the cat sat"),
    lambda i: i.score("zq"),
    lambda i: i.creativity("a cat sat"),
    lambda i: i.longest_matches("a cat sat"),
    lambda i: i.search_docs("cat", 3, seed=1),
    lambda i: i.get_doc_by_ix(2),
    lambda i: i.count_cnf([["cat"], ["dog"]]),
    lambda i: i.find_cnf([["cat", "dog"], ["sat"]]),
    lambda i: i.search_docs_cnf([["cat"], ["dog"]], 2, seed=0),
    lambda i: i.info(),
    lambda i: i.attribute("a cat and a dog met the cat at noon", min_len=4),
]


@pytest.mark.parametrize("q", range(len(QUERIES)))
def test_to_dict_equals_asdict_reference(idx: Any, q: int) -> None:
    result = QUERIES[q](idx)
    got = result.to_dict()
    assert got == reference(result)
    assert type(got) is dict


def test_to_dict_special_values_and_copies() -> None:
    c = CountResult(count=3, approx=False)
    assert c.to_dict() == {"count": 3, "approx": False}
    src = {"a": (1, 2), "b": [float("inf"), float("-inf"), float("nan"), 1.5], "c": {1: (True, None)}}
    out = _jsonable(src)
    assert out == {"a": [1, 2], "b": ["inf", "-inf", None, 1.5], "c": {1: [True, None]}}
    out["a"].append(3)
    assert src["a"] == (1, 2)  # a new list, not the input
    ids = [1, 2, 3]
    assert _jsonable(ids) == ids and _jsonable(ids) is not ids
