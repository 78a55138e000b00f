"""``POST /api/v1/{index}/contamination`` through FastAPI's test client."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient

from anygram.analyses.contamination import score_items
from anygram.server import ServerLimits, create_app
from helpers import build_from_ids, build_from_texts

TEXTS = ["the cat sat on the mat and looked at the dog", "naïve café – unicode ✓ and more text here"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return build_from_texts(tmp_path_factory.mktemp("srvc"), TEXTS)


@pytest.fixture(scope="module")
def ids_index(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return build_from_ids(tmp_path_factory.mktemp("srvc_ids"), [[1, 2, 3, 4, 5, 6], [2, 3, 5]], token_width=2)


@pytest.fixture(scope="module")
def client(tiny: Any, ids_index: Any) -> Any:
    with TestClient(create_app({"tiny": tiny, "ids": ids_index}, ServerLimits(max_batch=5, max_maxnum=4))) as c:
        yield c


def _strip(d: dict[str, Any]) -> dict[str, Any]:
    d = json.loads(json.dumps(d))
    for r in d["results"]:
        r["seconds"] = 0
    return d


def test_answer_is_the_python_result(client: Any, tiny: Any) -> None:
    items = [{"id": "a", "text": "the cat sat on the mat"}, {"id": 7, "text": "café – unicode ✓ and nothing"}, {"text": "zzz"}]
    body = {"items": items, "window": 5, "ngram": 2, "docs": 2, "context": 10}
    resp = client.post("/api/v1/tiny/contamination", json=body)
    assert resp.status_code == 200, resp.text
    got = _strip(resp.json())
    ref = score_items(tiny, [("a", items[0]["text"]), ("7", items[1]["text"]), ("2", "zzz")], window=5, ngram=2, docs=2, context=10, benchmark="request", index_name="tiny", threads=1)
    assert got["results"] == _strip({"results": [ref.to_dict()]})["results"]
    assert got["params"]["windows"]["window"] == 5 and got["params"]["criteria"] == ["windows", "ngrams", "longest"]
    assert got["indexes"] == [{"name": "tiny", "path": "tiny", "total_tokens": tiny.total_tokens, "total_docs": tiny.total_docs, "unit": "chars"}]
    assert got["benchmarks"][0]["name"] == "request" and got["benchmarks"][0]["items"] == 3
    first = got["results"][0]["item_results"][0]
    assert first["id"] == "a" and first["windows"]["label"] == "dirty" and first["docs"][0]["doc_ix"] == 0
    assert [it["id"] for it in got["results"][0]["item_results"]] == ["a", "7", "2"]


def test_token_ids_and_criteria(client: Any) -> None:
    resp = client.post("/api/v1/ids/contamination", json={"items": [{"text": [2, 3, 4, 9]}], "window": 2, "criteria": ["windows"], "name": "mine"})
    assert resp.status_code == 200, resp.text
    d = resp.json()
    r = d["results"][0]
    assert r["benchmark"] == "mine" and r["index"] == "ids" and r["ngrams"] is None and r["longest"] is None
    assert r["item_results"][0]["windows"] == {"total": 3, "found": 2, "score": 2 / 3, "label": "suspicious"}
    assert r["item_results"][0]["unit"] == "tokens"


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"items": [{"text": "a"}] * 6}, 400, "items has 6 items"),
        ({"items": [{"text": "a"}], "docs": 5}, 400, "docs=5"),
        ({"items": [{"text": "a"}], "context": 10**6}, 400, "max_disp_len"),
        ({"items": [{"text": "a"}], "dirty": 0.1, "suspicious": 0.5}, 400, "suspicious"),
        ({"items": [{"text": "a" * 20000}]}, 400, "characters"),
        ({"items": [{"text": "a"}], "criteria": ["bogus"]}, 422, ""),
        ({"items": [{"text": "a"}], "window": 0}, 422, ""),
        ({"items": [{"text": "a"}], "dirty": 2}, 422, ""),
        ({"items": [{"txt": "a"}]}, 422, ""),
        ({"items": "a"}, 422, ""),
    ],
)
def test_errors(client: Any, body: dict[str, Any], status: int, message: str) -> None:
    resp = client.post("/api/v1/tiny/contamination", json=body)
    assert resp.status_code == status, resp.text
    assert message in resp.text


def test_unknown_index_and_text_on_ids_index(client: Any) -> None:
    assert client.post("/api/v1/nope/contamination", json={"items": []}).status_code == 404
    resp = client.post("/api/v1/ids/contamination", json={"items": [{"text": "abc"}]})
    assert resp.status_code == 400 and "token ids" in resp.text


def test_empty_items_list(client: Any) -> None:
    resp = client.post("/api/v1/tiny/contamination", json={"items": []})
    assert resp.status_code == 200
    r = resp.json()["results"][0]
    assert r["items"] == 0 and r["windows"]["counts"]["dirty"] == 0
