"""The HTTP server (anygram.server) through FastAPI's test client: every endpoint, every error path.

Query routes must answer exactly ``result.to_dict()`` of the Python call (after a JSON round
trip); the infini-gram endpoint must speak infini-gram's protocol; limits, the time budget and
the body size limit must fail with clear JSON errors without wedging the server.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

import httpx
from fastapi.testclient import TestClient

from anygram.config import QueryDefaults
from anygram.errors import CorruptIndexError, MissingExtraError
from anygram.results import CountResult
from anygram.server import ServerConfigError, ServerLimits, create_app
from helpers import build_from_ids, build_from_texts

TEXTS = [
    "the cat sat on the mat",
    "the dog sat on the log",
    "a cat and a dog met the cat",
    "naïve café – unicode ✓",
]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return build_from_texts(tmp_path_factory.mktemp("srv"), TEXTS)


@pytest.fixture(scope="module")
def ids_index(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return build_from_ids(tmp_path_factory.mktemp("srv_ids"), [[1, 2, 3, 4], [2, 3, 5], [7, 2, 3]], token_width=2)


@pytest.fixture(scope="module")
def client(tiny: Any, ids_index: Any) -> Any:
    app = create_app({"tiny": tiny, "ids": ids_index}, ServerLimits())
    with TestClient(app) as c:
        yield c


def jsonable(result: Any) -> Any:
    """What a client receives for a library result: to_dict() after a JSON round trip."""
    return json.loads(json.dumps(result.to_dict() if hasattr(result, "to_dict") else result))


# ------------------------------------------------------------------ native API: results
QUERIES: list[tuple[str, dict[str, Any], Any]] = [
    ("count", {"query": "the"}, lambda i: i.count("the")),
    ("count", {"query": ""}, lambda i: i.count("")),
    ("count", {"query": [116, 104, 101]}, lambda i: i.count([116, 104, 101])),
    ("count", {"query": "café"}, lambda i: i.count("café")),
    ("find", {"query": "sat"}, lambda i: i.find("sat")),
    ("prob", {"prompt": "the ca", "cont": "t"}, lambda i: i.prob("the ca", "t")),
    ("prob", {"prompt": [116], "cont": 104}, lambda i: i.prob([116], 104)),
    ("prob", {"prompt": "zzz", "cont": "t"}, lambda i: i.prob("zzz", "t")),
    ("ntd", {"prompt": "the "}, lambda i: i.ntd("the ", 1000)),
    ("ntd", {"prompt": "t", "max_support": 2}, lambda i: i.ntd("t", 2)),
    ("infgram_prob", {"prompt": "xx the ca", "cont": "t"}, lambda i: i.infgram_prob("xx the ca", "t")),
    ("infgram_ntd", {"prompt": "qq the "}, lambda i: i.infgram_ntd("qq the ", 1000)),
    ("score", {"text": "the cat sat"}, lambda i: i.score("the cat sat")),
    ("score", {"text": ""}, lambda i: i.score("")),
    ("score", {"text": "zq"}, lambda i: i.score("zq")),
    ("creativity", {"text": "a cat sat"}, lambda i: i.creativity("a cat sat")),
    ("longest_matches", {"text": "a cat sat"}, lambda i: i.longest_matches("a cat sat")),
    ("search_docs", {"query": "cat", "maxnum": 3, "seed": 7}, lambda i: i.search_docs("cat", 3, None, 7)),
    ("search_docs", {"query": "cat", "maxnum": 2, "max_disp_len": 5, "seed": 1}, lambda i: i.search_docs("cat", 2, 5, 1)),
    ("search_docs", {"query": "nothing here"}, lambda i: i.search_docs("nothing here")),
    ("get_doc_by_ix", {"doc_ix": 2}, lambda i: i.get_doc_by_ix(2)),
    ("get_doc_by_ix", {"doc_ix": 3, "max_disp_len": 4}, lambda i: i.get_doc_by_ix(3, 4)),
    ("get_doc_by_rank", {"shard": 0, "rank": 5}, lambda i: i.get_doc_by_rank(0, 5)),
    ("get_doc_by_ptr", {"shard": 0, "ptr": 30, "max_disp_len": 10}, lambda i: i.get_doc_by_ptr(0, 30, 10)),
    ("count_cnf", {"cnf": [["cat"], ["sat"]]}, lambda i: i.count_cnf([["cat"], ["sat"]])),
    ("count_cnf", {"cnf": [["cat", "dog"], ["the"]], "max_diff_tokens": 5}, lambda i: i.count_cnf([["cat", "dog"], ["the"]], None, 5)),
    ("find_cnf", {"cnf": [["cat", [100, 111, 103]], ["sat"]]}, lambda i: i.find_cnf([["cat", [100, 111, 103]], ["sat"]])),
    ("search_docs_cnf", {"cnf": [["cat"], ["sat"]], "maxnum": 2, "seed": 3}, lambda i: i.search_docs_cnf([["cat"], ["sat"]], 2, None, None, None, 3)),
]


@pytest.mark.parametrize(("route", "body", "call"), QUERIES, ids=[f"{q[0]}-{n}" for n, q in enumerate(QUERIES)])
def test_query_routes_answer_to_dict(client: Any, tiny: Any, route: str, body: dict[str, Any], call: Any) -> None:
    r = client.post(f"/api/v1/tiny/{route}", json=body)
    assert r.status_code == 200, r.text
    assert r.json() == jsonable(call(tiny))


def test_count_batch_and_ids_index(client: Any, tiny: Any, ids_index: Any) -> None:
    r = client.post("/api/v1/tiny/count_batch", json={"queries": ["the", [99, 97, 116], "", "zzz"]})
    assert r.status_code == 200
    assert r.json() == [jsonable(c) for c in tiny.count_batch(["the", [99, 97, 116], "", "zzz"])]
    items = [["the ca", "t"], [[116], 104], ["", "a"]]
    r = client.post("/api/v1/tiny/prob_batch", json={"items": [{"prompt": p, "cont": c} for p, c in items]})
    assert r.status_code == 200 and r.json() == [jsonable(p) for p in tiny.prob_batch([tuple(i) for i in items])]
    prompts = ["the ", [97], "", "zz"]
    r = client.post("/api/v1/tiny/ntd_batch", json={"prompts": prompts, "max_support": 50})
    assert r.status_code == 200 and r.json() == [jsonable(n) for n in tiny.ntd_batch(prompts, 50)]
    r = client.post("/api/v1/ids/count", json={"query": [2, 3]})
    assert r.json() == jsonable(ids_index.count([2, 3])) == {"count": 3, "approx": False}
    r = client.post("/api/v1/ids/ntd", json={"prompt": [2, 3]})
    assert r.json() == jsonable(ids_index.ntd([2, 3], 1000))


def test_tokenize_and_decode(client: Any, tiny: Any) -> None:
    r = client.post("/api/v1/tiny/tokenize", json={"texts": ["the", "", "✓"]})
    assert r.json() == {"token_ids": [tiny.tokenize("the"), [], tiny.tokenize("✓")]}
    r = client.post("/api/v1/tiny/decode", json={"token_ids": [[116, 104, 101], []]})
    assert r.json() == {"texts": ["the", ""]}
    r = client.post("/api/v1/ids/decode", json={"token_ids": [[1, 2]]})
    assert r.json() == {"texts": ["1 2"]}


def test_indexes_limits_info_health(client: Any, tiny: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    r = client.get("/api/v1/indexes")
    assert r.status_code == 200
    names = [e["name"] for e in r.json()["indexes"]]
    assert names == ["tiny", "ids"]
    info = client.get("/api/v1/tiny/info").json()
    expected = jsonable(tiny.info())
    expected.update(path=["tiny"], build={})
    for i, shard in enumerate(expected["shards"]):
        shard["path"] = f"tiny/{i}"
    assert info == expected
    # no filesystem path of the server leaks into any answer
    base = str(tmp_path_factory.getbasetemp())
    assert base not in r.text and base not in json.dumps(info)
    assert client.get("/api/v1/limits").json() == ServerLimits().public()
    h = client.get("/healthz").json()
    assert h["status"] == "ok" and h["indexes"] == 2 and h["overrunning"] == 0


def test_openapi_and_docs(client: Any) -> None:
    spec = client.get("/openapi.json").json()
    paths = set(spec["paths"])
    for route in {q[0] for q in QUERIES} | {"count_batch", "prob_batch", "ntd_batch", "tokenize", "decode"}:
        assert f"/api/v1/{{index}}/{route}" in paths, route
    assert "/api/infini-gram" in paths and "/api/v1/indexes" in paths
    compat_body = spec["paths"]["/api/infini-gram"]["post"]["requestBody"]["content"]["application/json"]
    assert "get_doc_by_rank" in compat_body["schema"]["properties"]["query_type"]["enum"]
    schemas = spec["components"]["schemas"]
    assert "CountResult" in schemas and "SearchDocsResult" in schemas
    r = client.get("/docs")
    assert r.status_code == 200 and "swagger" in r.text.lower()


def test_web_page(client: Any) -> None:
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert '<select id="qtype"' in r.text and "/static/app.js" in r.text
    js = client.get("/static/app.js")
    assert js.status_code == 200 and "/api/v1/" in js.text and "innerHTML" not in js.text
    assert client.get("/static/style.css").status_code == 200
    assert client.get("/static/../app.py").status_code == 404


# ------------------------------------------------------------------ native API: errors
def test_unknown_index_is_404(client: Any) -> None:
    for r in (client.post("/api/v1/nope/count", json={"query": "a"}), client.get("/api/v1/nope/info")):
        assert r.status_code == 404
        body = r.json()
        assert body["error"] == "UnknownIndexError" and "'nope'" in body["detail"] and "tiny" in body["detail"]
    # a path-like name is just an unknown name (or no route at all), never opened
    assert client.post("/api/v1/..%2Ftmp/count", json={"query": "a"}).status_code == 404
    assert client.get("/api/v1/unknown_route").status_code == 404
    r = client.get("/api/v1/tiny/count")
    assert r.status_code == 405 and r.json()["error"] == "Method Not Allowed"


def test_several_shards(tmp_path: Path) -> None:
    idx = build_from_texts(tmp_path, TEXTS * 3, shard_tokens=120)
    assert idx.num_shards > 1
    with TestClient(create_app({"multi": idx})) as c:
        assert c.post("/api/v1/multi/find", json={"query": "cat"}).json() == jsonable(idx.find("cat"))
        r = c.post("/api/v1/multi/search_docs", json={"query": "cat", "maxnum": 5, "seed": 2})
        assert r.json() == jsonable(idx.search_docs("cat", 5, None, 2))
        seg = idx.find("dog").segment_by_shard
        s = max(range(len(seg)), key=lambda i: seg[i][1] - seg[i][0])
        r = c.post("/api/v1/multi/get_doc_by_rank", json={"shard": s, "rank": seg[s][0]})
        assert r.json() == jsonable(idx.get_doc_by_rank(s, seg[s][0]))
        r = c.post("/", json={"index": "multi", "query_type": "find", "query": "cat"})
        assert r.json()["segment_by_shard"] == [list(x) for x in idx.find("cat").segment_by_shard]
        info = c.get("/api/v1/multi/info").json()
        assert [sh["path"] for sh in info["shards"]] == [f"multi/{i}" for i in range(idx.num_shards)]


def test_malformed_json_is_422(client: Any) -> None:
    r = client.post("/api/v1/tiny/count", content=b'{"query": "a"', headers={"content-type": "application/json"})
    assert r.status_code == 422
    body = r.json()
    assert body["error"] == "RequestValidationError" and body["detail"][0]["type"] == "json_invalid"
    r = client.post("/api/v1/tiny/count")  # no body at all
    assert r.status_code == 422 and r.json()["error"] == "RequestValidationError"


@pytest.mark.parametrize(
    ("route", "body"),
    [
        ("count", {"query": 123}),
        ("count", {"query": ["1", "2"]}),
        ("count", {"query": [1, True]}),
        ("count", {"query": [1.5]}),
        ("count", {"query": None}),
        ("count", {}),
        ("count", {"query": "a", "maxnum": 3}),  # unknown field
        ("count_batch", {"queries": "the"}),
        ("prob_batch", {"items": [["a", "b"]]}),
        ("prob", {"prompt": "a", "cont": 1.0}),
        ("prob", {"prompt": "a"}),
        ("ntd", {"prompt": "a", "max_support": 0}),
        ("ntd", {"prompt": "a", "max_support": "10"}),
        ("search_docs", {"query": "a", "maxnum": -1}),
        ("search_docs", {"query": "a", "seed": "x"}),
        ("get_doc_by_ix", {"doc_ix": -1}),
        ("get_doc_by_rank", {"shard": 0}),
        ("count_cnf", {"cnf": "cat AND dog"}),
        ("count_cnf", {"cnf": [[["cat"]]]}),
        ("tokenize", {"texts": "abc"}),
        ("decode", {"token_ids": [1, 2]}),
    ],
)
def test_wrong_types_are_422(client: Any, route: str, body: dict[str, Any]) -> None:
    r = client.post(f"/api/v1/tiny/{route}", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "RequestValidationError" and r.json()["detail"]


@pytest.mark.parametrize(
    ("index", "route", "body", "message"),
    [
        ("tiny", "count", {"query": [255]}, "outside [0, 254]"),
        ("tiny", "count", {"query": [1, 300]}, "token id 300"),
        ("tiny", "count", {"query": [-1]}, "token id -1"),
        ("tiny", "count", {"query": [2**70]}, "token id"),
        ("ids", "count", {"query": [65535]}, "outside [0, 65534]"),
        ("ids", "count", {"query": "text"}, "token ids"),
        ("tiny", "prob", {"prompt": "a", "cont": "ab"}, "not one"),
        ("tiny", "prob", {"prompt": "a", "cont": 999}, "999"),
        ("tiny", "count_batch", {"queries": ["a", [999]]}, "queries[1]"),
        ("tiny", "prob_batch", {"items": [{"prompt": "a", "cont": "bc"}]}, "not one"),
        ("tiny", "ntd_batch", {"prompts": ["a", [256]]}, "token id 256"),
        ("tiny", "get_doc_by_ix", {"doc_ix": 99}, "doc_ix"),
        ("tiny", "get_doc_by_rank", {"shard": 3, "rank": 0}, "shard"),
        ("tiny", "get_doc_by_rank", {"shard": 0, "rank": 10**6}, "rank"),
        ("tiny", "get_doc_by_ptr", {"shard": 0, "ptr": 10**6}, "ptr"),
        ("tiny", "count_cnf", {"cnf": []}, "cnf"),
        ("tiny", "count_cnf", {"cnf": [["a"], []]}, "cnf[1]"),
        ("tiny", "count_cnf", {"cnf": [[""]]}, "empty"),
        ("tiny", "decode", {"token_ids": [[255]]}, "token_ids[0]"),
        ("ids", "tokenize", {"texts": ["a"]}, "token ids"),
    ],
)
def test_bad_queries_are_400_with_the_library_message(client: Any, index: str, route: str, body: dict[str, Any], message: str) -> None:
    r = client.post(f"/api/v1/{index}/{route}", json=body)
    assert r.status_code == 400, r.text
    out = r.json()
    assert out["error"] in ("QueryError", "TokenizerError") and message in out["detail"]


def test_server_limits_are_400(tiny: Any) -> None:
    limits = ServerLimits(
        max_query_chars=20, max_query_tokens=5, max_text_tokens=8, max_batch=2, max_cnf_clauses=2,
        max_cnf_terms=2, max_support=3, max_clause_freq=10, max_diff_tokens=10, max_maxnum=2, max_disp_len=50,
    )
    cases = [
        ("count", {"query": "abcdef"}, "6 tokens; this server's limit is 5"),
        ("count", {"query": "x" * 21}, "21 characters"),
        ("count", {"query": [97] * 6}, "6 tokens"),
        ("score", {"text": "abcdefghi"}, "9 tokens; this server's limit is 8"),
        ("count_batch", {"queries": ["a", "b", "c"]}, "3 items"),
        ("prob_batch", {"items": [{"prompt": "a", "cont": "b"}] * 3}, "3 items"),
        ("ntd_batch", {"prompts": ["a"], "max_support": 4}, "max_support=4"),
        ("tokenize", {"texts": ["a", "b", "c"]}, "3 items"),
        ("count_cnf", {"cnf": [["a"], ["b"], ["c"]]}, "3 clauses"),
        ("count_cnf", {"cnf": [["a", "b", "c"]]}, "3 terms"),
        ("count_cnf", {"cnf": [["a"], ["abcdefg"]]}, "cnf[1][0] has 7 tokens"),
        ("count_cnf", {"cnf": [["a"]], "max_clause_freq": 11}, "max_clause_freq=11"),
        ("find_cnf", {"cnf": [["a"]], "max_diff_tokens": 11}, "max_diff_tokens=11"),
        ("ntd", {"prompt": "a", "max_support": 4}, "max_support=4"),
        ("infgram_ntd", {"prompt": "a", "max_support": 4}, "max_support=4"),
        ("search_docs", {"query": "a", "maxnum": 3}, "maxnum=3"),
        ("search_docs", {"query": "a", "max_disp_len": 51}, "max_disp_len=51"),
        ("search_docs_cnf", {"cnf": [["a"]], "maxnum": 3}, "maxnum=3"),
        ("get_doc_by_ix", {"doc_ix": 0, "max_disp_len": 51}, "max_disp_len=51"),
        ("prob", {"prompt": "a", "cont": "x" * 21}, "21 characters"),
    ]
    with TestClient(create_app({"tiny": tiny}, limits)) as c:
        for route, body, message in cases:
            r = c.post(f"/api/v1/tiny/{route}", json=body)
            assert r.status_code == 400, (route, r.text)
            assert r.json()["error"] == "QueryError" and message in r.json()["detail"], (route, r.json())
        # the server's max_support is also its default: sampled like the library with that value
        r = c.post("/api/v1/tiny/ntd", json={"prompt": ""})
        assert r.json() == jsonable(tiny.ntd("", 3)) and r.json()["approx"] is True
        # a smaller default max_disp_len than the library's 1000 when the limit is lower
        r = c.post("/api/v1/tiny/get_doc_by_ix", json={"doc_ix": 0})
        assert r.json() == jsonable(tiny.get_doc_by_ix(0, 50))
    with TestClient(create_app({"tiny": tiny}, ServerLimits(max_support=None))) as c:
        assert c.post("/api/v1/tiny/ntd", json={"prompt": ""}).json() == jsonable(tiny.ntd(""))


def test_oversize_body_is_413(tiny: Any) -> None:
    with TestClient(create_app({"tiny": tiny}, ServerLimits(max_body_bytes=100))) as c:
        big = {"query": "a" * 200}
        r = c.post("/api/v1/tiny/count", json=big)
        assert r.status_code == 413 and r.json()["detail"] == "the request body exceeds the limit of 100 bytes"

        def chunks() -> Any:  # no Content-Length: counted while read
            for _ in range(10):
                yield b'{"query": "' + b"a" * 30

        r = c.post("/api/v1/tiny/count", content=chunks(), headers={"content-type": "application/json"})
        assert r.status_code == 413 and "100 bytes" in r.json()["detail"]
        r = c.post("/", content=chunks())
        assert r.status_code == 413 and r.json() == {"error": "the request body exceeds the limit of 100 bytes"}
        r = c.post("/", json={"index": "tiny", "query_type": "count", "query": "a" * 200})
        assert r.status_code == 413 and set(r.json()) == {"error"}
        assert c.post("/api/v1/tiny/count", json={"query": "a"}).status_code == 200


# ------------------------------------------------------------------ time budget, responsiveness
class SlowIndex:
    """A stub Index whose count blocks until released (or raises what it is told to)."""

    defaults = QueryDefaults()
    tokenizer = None
    token_width = 2

    def __init__(self, raises: BaseException | None = None) -> None:
        self.release = threading.Event()
        self.started = threading.Event()
        self.raises = raises

    def count(self, query: Any) -> CountResult:
        if self.raises is not None:
            raise self.raises
        self.started.set()
        self.release.wait(30)
        return CountResult(count=42)

    def tokenize(self, text: str) -> list[int]:
        return [1] * len(text)


def _wait_idle(c: Any) -> None:
    deadline = time.monotonic() + 10
    while c.get("/healthz").json()["pending"] and time.monotonic() < deadline:
        time.sleep(0.01)


def test_time_budget_is_503_and_does_not_wedge(tiny: Any) -> None:
    slow = SlowIndex()
    app = create_app({"slow": slow, "tiny": tiny}, ServerLimits(time_budget=0.2, workers=1, max_pending=4))
    try:
        with TestClient(app) as c:
            t0 = time.monotonic()
            r = c.post("/api/v1/slow/count", json={"query": [1]})
            assert r.status_code == 503 and time.monotonic() - t0 < 5
            assert r.json()["error"] == "TimeBudgetExceededError" and "0.2 s" in r.json()["detail"]
            assert r.headers["retry-after"] == "1"
            # the one worker still runs the overrunning query: refused at once, not queued
            assert c.get("/healthz").json()["overrunning"] == 1
            r = c.post("/api/v1/tiny/count", json={"query": "the"})
            assert r.status_code == 503 and r.json()["error"] == "ServerBusyError"
            r = c.post("/", json={"index": "tiny", "query_type": "count", "query": "the"})
            assert r.status_code == 503 and set(r.json()) == {"error"}
            # endpoints that do not query stay up
            assert c.get("/api/v1/limits").status_code == 200 and c.get("/").status_code == 200
            slow.release.set()
            _wait_idle(c)
            h = c.get("/healthz").json()
            assert h["overrunning"] == 0 and h["pending"] == 0
            assert c.post("/api/v1/tiny/count", json={"query": "the"}).json() == jsonable(tiny.count("the"))
            # the compat endpoint answers infini-gram's error shape on a timeout
            slow.release.clear()
            r = c.post("/", json={"index": "slow", "query_type": "count", "query_ids": [1]})
            assert r.status_code == 503 and "time budget" in r.json()["error"]
            slow.release.set()
            _wait_idle(c)
    finally:
        slow.release.set()


def test_event_loop_stays_responsive_while_a_query_runs(tiny: Any) -> None:
    slow = SlowIndex()
    app = create_app({"slow": slow, "tiny": tiny}, ServerLimits(time_budget=20, workers=2, max_pending=2))

    async def scenario() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as ac:
            slow_req = asyncio.ensure_future(ac.post("/api/v1/slow/count", json={"query": [1]}))
            while not slow.started.is_set():
                await asyncio.sleep(0.01)
            # another query runs on the second worker while the first is blocked
            r = await ac.post("/api/v1/tiny/count", json={"query": "cat"})
            assert r.status_code == 200 and r.json() == jsonable(tiny.count("cat"))
            assert (await ac.get("/healthz")).json()["pending"] == 1
            # a second slow query fills max_pending: the third query is refused at once
            slow2 = asyncio.ensure_future(ac.post("/api/v1/slow/count", json={"query": [1]}))
            while app.state.anygram.runner.pending < 2:
                await asyncio.sleep(0.01)
            r = await ac.post("/api/v1/tiny/count", json={"query": "cat"})
            assert r.status_code == 503 and "too many queries" in r.json()["detail"]
            assert not slow_req.done()
            slow.release.set()
            for fut in (slow_req, slow2):
                r = await fut
                assert r.status_code == 200 and r.json() == {"count": 42, "approx": False}

    try:
        asyncio.run(scenario())
    finally:
        slow.release.set()
        app.state.anygram.close()


def test_internal_and_index_errors_are_json_500(tiny: Any) -> None:
    app = create_app({"bug": SlowIndex(RuntimeError("boom")), "bad": SlowIndex(CorruptIndexError("table.0 is truncated"))})
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.post("/api/v1/bad/count", json={"query": [1]})
        assert r.status_code == 500 and r.json() == {"error": "CorruptIndexError", "detail": "table.0 is truncated"}
        r = c.post("/api/v1/bug/count", json={"query": [1]})
        assert r.status_code == 500 and r.json()["error"] == "Internal Server Error" and "boom" not in r.text
        r = c.post("/", json={"index": "bad", "query_type": "count", "query_ids": [1]})
        assert r.status_code == 500 and "table.0 is truncated" in r.json()["error"]
        r = c.post("/", json={"index": "bug", "query_type": "count", "query_ids": [1]})
        assert r.status_code == 500 and set(r.json()) == {"error"} and "boom" not in r.text


def test_config_errors(tiny: Any) -> None:
    for bad in ({"time_budget": 0}, {"workers": 0}, {"max_body_bytes": -1}, {"max_maxnum": True}, {"workers": 8, "max_pending": 4}):
        with pytest.raises(ServerConfigError):
            ServerLimits(**bad)
    for name in ("", "../x", "a/b", "has space", ".hidden", "x" * 200):
        with pytest.raises(ServerConfigError):
            create_app({name: tiny})
    with pytest.raises(ServerConfigError):
        create_app({})


# ------------------------------------------------------------------ infini-gram's protocol
def ig(c: Any, **payload: Any) -> Any:
    r = c.post("/", json=payload)
    return r.status_code, r.json()


def strip_latency(d: dict[str, Any]) -> dict[str, Any]:
    assert isinstance(d.pop("latency"), float)
    return d


def test_infinigram_count_prob_ntd(client: Any, tiny: Any) -> None:
    st, r = ig(client, index="tiny", query_type="count", query="the")
    assert st == 200
    assert strip_latency(r) == {"count": tiny.count("the").count, "approx": False, "token_ids": [116, 104, 101], "tokens": ["t", "h", "e"]}
    st, r = ig(client, index="tiny", query_type="count", query_ids=[116, 104, 101], source="hf", timestamp="x", engine="c++")
    assert st == 200 and r["count"] == tiny.count("the").count
    st, r = ig(client, corpus="tiny", query_type="count", query="")  # legacy field name, empty query
    assert r["count"] == tiny.total_tokens and r["token_ids"] == []
    r = client.post("/api/infini-gram", json={"index": "tiny", "query_type": "count", "query": "the"}).json()
    assert r["count"] == tiny.count("the").count

    st, r = ig(client, index="tiny", query_type="prob", query="the cat")
    p = tiny.prob("the ca", "t")
    assert strip_latency(r) == {**jsonable(p), "token_ids": tiny.tokenize("the cat"), "tokens": list("the cat")}
    st, r = ig(client, index="tiny", query_type="infgram_prob", query="zz the cat")
    ip = tiny.infgram_prob("zz the ca", "t")
    assert r["prob"] == ip.prob and r["suffix_len"] == ip.suffix_len and r["longest_suffix"] == "zz the ca"[-ip.suffix_len :]

    st, r = ig(client, index="tiny", query_type="ntd", query="the ", max_support=1000)
    n = tiny.ntd("the ", 1000)
    assert r["prompt_cnt"] == n.prompt_cnt and r["approx"] is False
    assert r["result_by_token_id"] == {
        str(t): {"cont_cnt": e.cont_cnt, "prob": e.prob, "token": chr(t)} for t, e in n.result_by_token_id.items()
    }
    st, r = ig(client, index="tiny", query_type="infgram_ntd", query="qq the ")
    inn = tiny.infgram_ntd("qq the ", 1000)
    assert r["suffix_len"] == inn.suffix_len and r["longest_suffix"] == "qq the "[-inn.suffix_len :]
    assert {int(k): v["cont_cnt"] for k, v in r["result_by_token_id"].items()} == {k: v.cont_cnt for k, v in inn.result_by_token_id.items()}


def test_infinigram_cnf_find_and_documents(client: Any, tiny: Any) -> None:
    st, r = ig(client, index="tiny", query_type="count", query="cat AND sat")
    assert st == 200 and r["count"] == tiny.count_cnf([["cat"], ["sat"]]).count
    assert r["token_ids"] == [[tiny.tokenize("cat")], [tiny.tokenize("sat")]] and r["tokens"] == [[list("cat")], [list("sat")]]
    cnf_ids = [[tiny.tokenize("cat"), tiny.tokenize("dog")], [tiny.tokenize("the")]]
    st, r = ig(client, index="tiny", query_type="count", query_ids=cnf_ids, max_diff_tokens=5)
    assert r["count"] == tiny.count_cnf(cnf_ids, None, 5).count
    st, r = ig(client, index="tiny", query_type="count_cnf", query="cat OR dog AND the")
    assert r["count"] == tiny.count_cnf([["cat", "dog"], ["the"]]).count

    st, r = ig(client, index="tiny", query_type="find", query="sat")
    assert strip_latency(r) == {**jsonable(tiny.find("sat")), "token_ids": tiny.tokenize("sat"), "tokens": list("sat")}
    st, r = ig(client, index="tiny", query_type="find_cnf", query="dog AND met")
    f = tiny.find_cnf([["dog"], ["met"]])
    assert r["cnt"] == f.cnt == 1 and r["ptrs_by_shard"] == f.ptrs_by_shard and r["approx"] == f.approx

    # get_doc_by_ptr with the find_cnf pointer; spans mark the clauses
    ptr = f.ptrs_by_shard[0][0]
    st, r = ig(client, index="tiny", query_type="get_doc_by_ptr", query="cat OR dog AND met", s=0, ptr=ptr, max_disp_len=50)
    d = tiny.get_doc_by_ptr(0, ptr, 50)
    assert st == 200 and r["doc_ix"] == d.doc_ix and r["doc_len"] == d.doc_len and r["disp_len"] == d.disp_len
    assert json.loads(r["metadata"]) == d.metadata
    assert "".join(text for text, _ in r["spans"]) == d.text
    assert ["cat", "0"] in r["spans"] and ["dog", "0"] in r["spans"] and ["met", "1"] in r["spans"]
    assert r["token_ids"] == [[tiny.tokenize("cat"), tiny.tokenize("dog")], [tiny.tokenize("met")]]  # as infini-gram: the query's ids

    # find then get_doc_by_rank, highlighting the query
    seg = tiny.find("dog").segment_by_shard[0]
    st, r = ig(client, index="tiny", query_type="get_doc_by_rank", query="dog", s=0, rank=seg[0])
    d = tiny.get_doc_by_rank(0, seg[0])
    assert st == 200 and r["doc_ix"] == d.doc_ix and r["needle_offset"] == d.needle_offset
    assert ["dog", "0"] in r["spans"] and "".join(t for t, _ in r["spans"]) == d.text
    st, r = ig(client, index="tiny", query_type="get_doc_by_rank", s=0, rank=seg[0])  # query is optional here
    assert st == 200 and r["spans"] == [[d.text, None]]

    st, r = ig(client, index="tiny", query_type="search_docs", query="cat", maxnum=2)
    assert st == 200 and r["cnt"] == tiny.count("cat").count and len(r["documents"]) == 2 and len(r["idxs"]) == 2
    assert r["message"].startswith(f"{r['cnt']} occurrences found")
    for doc in r["documents"]:
        assert ["cat", "0"] in doc["spans"] and {"doc_ix", "doc_len", "disp_len", "metadata", "token_ids", "spans"} <= set(doc)
    st, r = ig(client, index="tiny", query_type="search_docs", query="cat AND sat")
    assert st == 200 and r["cnt"] == tiny.count_cnf([["cat"], ["sat"]]).count
    st, r = ig(client, index="tiny", query_type="search_docs_cnf", query_ids=[[tiny.tokenize("cat")]])
    assert st == 200 and r["documents"]
    st, r = ig(client, index="tiny", query_type="search_docs", query="not in corpus")
    assert r["cnt"] == 0 and r["documents"] == [] and r["message"] == "0 occurrences found"


@pytest.mark.parametrize(
    ("payload", "status", "message"),
    [
        ({"query_type": "count", "query": "a"}, 400, "Missing required field: index"),
        ({"index": "tiny", "query": "a"}, 400, "Missing required field: query_type"),
        ({"index": "tiny", "query_type": "attribute", "query": "a"}, 400, "Invalid query_type: attribute"),
        ({"index": "nope", "query_type": "count", "query": "a"}, 404, "unknown index 'nope'"),
        ({"index": 3, "query_type": "count", "query": "a"}, 400, "index must be a string"),
        ({"index": "tiny", "query_type": "count"}, 400, "Exactly one of query and query_ids"),
        ({"index": "tiny", "query_type": "count", "query": "a", "query_ids": [1]}, 400, "Exactly one of query and query_ids"),
        ({"index": "tiny", "query_type": "count", "query": "a", "maxnum": 2}, 400, "unknown field(s) for count: maxnum"),
        ({"index": "tiny", "query_type": "count", "query": 5}, 400, "query must be a string"),
        ({"index": "tiny", "query_type": "count", "query_ids": [[1]]}, 400, "triply-nested"),
        ({"index": "tiny", "query_type": "count", "query_ids": [1, True]}, 400, "triply-nested"),
        ({"index": "tiny", "query_type": "count", "query_ids": [255]}, 400, "outside [0, 254]"),
        ({"index": "ids", "query_type": "count", "query": "text"}, 400, "token ids"),
        ({"index": "tiny", "query_type": "prob", "query": ""}, 400, "non-empty query"),
        ({"index": "tiny", "query_type": "find", "query": "a AND b"}, 400, "not a CNF"),
        ({"index": "tiny", "query_type": "ntd", "query": "a", "max_support": "9"}, 400, "max_support must be a positive integer"),
        ({"index": "tiny", "query_type": "ntd", "query": "a", "max_support": 5000}, 400, "max_support=5000 exceeds"),
        ({"index": "tiny", "query_type": "search_docs", "query": "a", "maxnum": 11}, 400, "maxnum=11 exceeds"),
        ({"index": "tiny", "query_type": "get_doc_by_rank", "s": 0}, 400, "integer fields s and rank"),
        ({"index": "tiny", "query_type": "get_doc_by_ptr", "s": 9, "ptr": 0}, 400, "shard"),
        ({"index": "tiny", "query_type": "count", "query": "a AND b AND c AND d AND e"}, 400, "5 clauses"),
    ],
)
def test_infinigram_errors(client: Any, payload: dict[str, Any], status: int, message: str) -> None:
    r = client.post("/", json=payload)
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and message in body["error"], body


def test_infinigram_malformed_bodies(client: Any) -> None:
    for raw in (b'{"index": "tiny"', b"[1, 2]", b"\xff\xfe", b""):
        r = client.post("/api/infini-gram", content=raw, headers={"content-type": "application/json"})
        assert r.status_code == 400 and set(r.json()) == {"error"} and "JSON object" in r.json()["error"]


# ------------------------------------------------------------------ the CLI entry point
def test_cli_serve(monkeypatch: pytest.MonkeyPatch, tiny: Any, capsys: pytest.CaptureFixture[str]) -> None:
    import uvicorn

    from anygram.cli.main import main

    seen: dict[str, Any] = {}

    def fake_run(app: Any, host: str, port: int, log_level: str) -> None:
        seen.update(app=app, host=host, port=port)

    monkeypatch.setattr(uvicorn, "run", fake_run)
    path = str(Path(tiny.info().path[0]))
    assert main(["serve", path, f"other={path}", "--port", "8123", "--timeout", "2.5", "--max-body", "2K"]) == 0
    svc = seen["app"].state.anygram
    assert seen["host"] == "127.0.0.1" and seen["port"] == 8123
    assert list(svc.indexes) == [Path(path).name, "other"]
    assert svc.limits.time_budget == 2.5 and svc.limits.max_body_bytes == 2048
    assert "serving" in capsys.readouterr().err
    assert main(["serve", path, "--host", "0.0.0.0", "--max-support", "0"]) == 0
    assert seen["host"] == "0.0.0.0" and seen["app"].state.anygram.limits.max_support is None
    assert "reachable from other machines" in capsys.readouterr().err
    # two indexes under one name, a bad name
    assert main(["serve", path, path]) == 2
    assert "two indexes are named" in capsys.readouterr().err
    assert main(["serve", f"bad name={path}"]) == 2


def test_cli_serve_without_fastapi(monkeypatch: pytest.MonkeyPatch, tiny: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from anygram.cli.main import main

    monkeypatch.setitem(sys.modules, "fastapi", None)
    assert main(["serve", tiny.info().path[0]]) == MissingExtraError.exit_code
    err = capsys.readouterr().err
    assert "pip install 'anygram[server]'" in err and "fastapi" in err
