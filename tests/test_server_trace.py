"""``POST /api/v1/{index}/attribute`` through FastAPI's test client: the response is exactly
``Index.attribute(...).to_dict()`` (after a JSON round trip); limits and bad bodies fail cleanly."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient

from anygram.server import ServerLimits, create_app
from helpers import build_from_ids, build_from_texts

TEXTS = ["the cat sat on the mat. the end", "the dog sat on the log", "naïve café – unicode ✓ sat on the mat"]


@pytest.fixture(scope="module")
def indexes(tmp_path_factory: pytest.TempPathFactory) -> Any:
    t = build_from_texts(tmp_path_factory.mktemp("trace_srv"), TEXTS)
    i = build_from_ids(tmp_path_factory.mktemp("trace_ids"), [[1, 2, 3, 4], [2, 3, 5], [7, 2, 3]], token_width=2)
    return t, i


@pytest.fixture(scope="module")
def client(indexes: Any) -> Any:
    t, i = indexes
    app = create_app({"tiny": t, "ids": i}, ServerLimits(max_maxnum=5, max_disp_len=100, max_text_tokens=200))
    with TestClient(app) as c:
        yield c


def rt(result: Any) -> Any:
    return json.loads(json.dumps(result.to_dict()))


def test_attribute_text_equals_python(client: Any, indexes: Any) -> None:
    tiny, _ = indexes
    text = "a café – unicode ✓ sat on the log. the cat sat on the mat"
    r = client.post("/api/v1/tiny/attribute", json={"text": text, "min_len": 6})
    assert r.status_code == 200, r.text
    exp = rt(tiny.attribute(text, min_len=6, max_docs=5, context=50))
    assert r.json() == exp
    body = r.json()
    assert set(body) == {"token_ids", "text", "spans", "num_maximal_spans", "covered_tokens", "params"}
    assert [(s["text"], s["count"]) for s in body["spans"]] == [
        (" café – unicode ✓ sat on the ", 1), (" sat on the log", 1), (". the ", 1), ("the cat sat on the mat", 1)]
    for s in body["spans"]:
        assert text[s["char_start"] : s["char_end"]] == s["text"]
        assert set(s) == {"l", "r", "length", "count", "unigram_logprob_sum", "text", "char_start", "char_end", "occurrences", "docs"}
        assert len(s["docs"]) == min(5, s["count"])
        assert s["occurrences"] == [[d["shard"], d["ptr"]] for d in s["docs"]]


def test_attribute_params_and_ids(client: Any, indexes: Any) -> None:
    tiny, ids_index = indexes
    body = {"text": "the cat sat on the log. the end", "min_len": 3, "max_cnt": 2, "delim_ids": [46], "enforce_bow": True,
            "top_frac": 0.2, "max_docs": 2, "context": 4, "documents": False}
    r = client.post("/api/v1/tiny/attribute", json=body)
    assert r.status_code == 200, r.text
    kw = {k: v for k, v in body.items() if k != "text"}
    assert r.json() == rt(tiny.attribute(body["text"], **kw))
    r = client.post("/api/v1/ids/attribute", json={"query_ids": [9, 2, 3, 4, 2, 3, 5], "min_len": 2})
    assert r.status_code == 200, r.text
    assert r.json() == rt(ids_index.attribute([9, 2, 3, 4, 2, 3, 5], min_len=2, max_docs=5, context=50))
    assert [(s["l"], s["r"], s["count"]) for s in r.json()["spans"]] == [(1, 4, 1), (4, 7, 1)]


@pytest.mark.parametrize(
    "body, status",
    [
        ({}, 400),
        ({"text": "a", "query_ids": [1]}, 400),
        ({"text": "the cat", "max_docs": 6}, 400),
        ({"text": "the cat", "context": 101}, 400),
        ({"text": "x" * 201}, 400),
        ({"text": "the cat", "min_len": 0}, 422),
        ({"text": "the cat", "min_len": "3"}, 422),
        ({"text": "the cat", "bogus": 1}, 422),
        ({"text": "the cat", "top_frac": 3}, 400),
        ({"query_ids": [255]}, 400),
    ],
)
def test_attribute_errors(client: Any, body: dict, status: int) -> None:
    r = client.post("/api/v1/tiny/attribute", json=body)
    assert r.status_code == status, r.text
    assert "error" in r.json()


def test_attribute_unknown_index(client: Any) -> None:
    r = client.post("/api/v1/nope/attribute", json={"text": "a"})
    assert r.status_code == 404
