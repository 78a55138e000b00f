"""The analyses and the HTTP server over an FM index (``kind="fm"``) answer as over suffix arrays.

Attribution (``Index.attribute``) is compared with the suffix-array kind on hypothesis corpora;
occurrences are compared as sets (the FM kind lists them by position, see docs/fm.md). The server
answers every query route, ``attribute`` and ``contamination`` for an FM index exactly as the
Python API does; ``dedup`` refuses an FM index with a clear error.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import anygram
from anygram.errors import DedupError
from helpers import write_jsonl
from strategies import CorpusSpec, corpora, spec_pieces


def build_fm_twin(spec: CorpusSpec, tmp: Path) -> tuple[Any, Any]:
    """(suffix-array index, FM index) of one hypothesis corpus."""
    sa, _ = spec.build(tmp)
    kw: dict[str, Any] = {"shard_tokens": spec.shard_tokens, "workers": 1, "kind": "fm", "sa_sample": 3, "isa_sample": 5}
    if spec.texts is None:
        kw.update(ids_field="ids", token_width=spec.width, eos_token_id=spec.eos)
    anygram.build(tmp / "idx_src", tmp / "fm", **kw)
    return sa, anygram.open(tmp / "fm")


def _canon(res: Any) -> dict[str, Any]:
    d = res.to_dict()
    for s in d["spans"]:
        order = sorted(range(len(s["occurrences"])), key=lambda i: tuple(s["occurrences"][i]))
        s["occurrences"] = [s["occurrences"][i] for i in order]
        if s["docs"]:
            s["docs"] = [s["docs"][i] for i in order]
    return d


@settings(max_examples=25, deadline=None)
@given(spec=corpora(), data=st.data())
def test_attribute_fm_equals_suffix_array(spec: CorpusSpec, data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sa, fm = build_fm_twin(spec, Path(tmp))
        assert fm.kind == "fm" and sa.kind == "sa"
        alpha = sorted({t for d in spec.all_docs() for t in d})
        for _ in range(3):
            ids = data.draw(spec_pieces(spec))
            kw = {
                "delim_ids": data.draw(st.lists(st.sampled_from(alpha), max_size=2, unique=True)),
                "enforce_bow": data.draw(st.booleans()),
                "bow_ids": data.draw(st.lists(st.sampled_from(alpha), min_size=1, max_size=2, unique=True)),
                "min_len": data.draw(st.integers(1, 4)),
                "max_cnt": data.draw(st.one_of(st.none(), st.integers(1, 6))),
                "max_docs": 1000,
                "context": 3,
            }
            assert _canon(fm.attribute(ids, **kw)) == _canon(sa.attribute(ids, **kw)), (ids, kw)


TEXTS = ["the cat sat on the mat", "the dog sat on the log", "a cat and a dog met the cat", "naïve café – unicode ✓"] * 3


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any]:
    tmp = tmp_path_factory.mktemp("fmapi")
    src = write_jsonl(tmp / "src" / "docs.jsonl", [{"text": t, "n": i} for i, t in enumerate(TEXTS)])
    anygram.build(src, tmp / "sa", workers=1, shard_tokens=150)
    anygram.build(src, tmp / "fm", workers=1, shard_tokens=150, kind="fm")
    return anygram.open(tmp / "sa"), anygram.open(tmp / "fm")


def test_dedup_refuses_an_fm_index(tmp_path: Path) -> None:
    from anygram.analyses.dedup import dedup

    src = write_jsonl(tmp_path / "src" / "docs.jsonl", [{"text": t} for t in TEXTS])
    anygram.build(src, tmp_path / "fm", workers=1, kind="fm")
    with pytest.raises(DedupError, match="kind 'fm'"):
        dedup(tmp_path / "out", index=tmp_path / "fm", k=5)
    assert not (tmp_path / "out" / "docs.jsonl").exists()


def test_server_answers_for_an_fm_index(pair: tuple[Any, Any]) -> None:
    pytest.importorskip("fastapi")
    pytest.importorskip("httpx")
    from fastapi.testclient import TestClient

    from anygram.server import ServerLimits, create_app
    from test_server import QUERIES, jsonable

    sa, fm = pair
    # a generous budget: the first call of each FM kernel may compile it (on a busy CI machine)
    with TestClient(create_app({"fm": fm, "sa": sa}, ServerLimits(time_budget=600.0))) as c:
        for route, body, call in QUERIES:
            if route.startswith("get_doc_by_rank"):
                continue  # ranks are of each kind's own order
            r = c.post(f"/api/v1/fm/{route}", json=body)
            assert r.status_code == 200, (route, r.text)
            assert r.json() == jsonable(call(fm)), route
            if route in ("count", "prob", "ntd", "infgram_ntd", "count_cnf", "score", "get_doc_by_ix"):
                other = c.post(f"/api/v1/sa/{route}", json=body).json()
                if not other.get("approx"):  # the FM kind's ntd is exact where max_support samples
                    assert r.json() == other, route
        text = "the cat sat on the log and a dog met the cat"
        r = c.post("/api/v1/fm/attribute", json={"text": text, "min_len": 6})
        assert r.status_code == 200, r.text
        assert r.json() == json.loads(json.dumps(fm.attribute(text, min_len=6, max_docs=10, context=50).to_dict()))
        assert [(s["l"], s["r"], s["count"]) for s in r.json()["spans"]] == [(s.l, s.r, s.count) for s in sa.attribute(text, min_len=6).spans]
        r = c.post("/api/v1/fm/contamination", json={"items": [{"id": "a", "text": "the cat sat on the mat"}], "window": 5})
        assert r.status_code == 200, r.text
        s = c.post("/api/v1/sa/contamination", json={"items": [{"id": "a", "text": "the cat sat on the mat"}], "window": 5}).json()
        def strip(d: dict[str, Any]) -> list[dict[str, Any]]:  # documents: the same set, in each kind's order
            items = [{k: v for k, v in it.items() if k != "seconds"} for it in d["results"][0]["item_results"]]
            for it in items:
                it["docs"] = sorted(it["docs"], key=lambda x: x["doc_ix"])
            return items

        assert strip(r.json()) == strip(s)
