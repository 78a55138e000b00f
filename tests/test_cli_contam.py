"""``anygram contam``: exact output, --json, reports and error exits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import anygram
from anygram.cli.main import main
from helpers import write_jsonl

CORPUS = [
    {"text": "Q: Janet has 3 apples and buys 5 more. How many apples does she have now? A: 8", "src": "forum"},
    {"text": "def add(a, b):\n    return a + b\n", "src": "repo"},
]
BENCH = [
    {"id": "g1", "question": "Janet has 3 apples and buys 5 more. How many apples does she have now?"},
    {"id": "g2", "question": "Janet has 3 apples and buys 5 more. How many pears does Tom eat on Mondays?"},
    {"id": "g3", "question": "A completely different question about trains and their speed."},
    {"id": "g4", "question": "   "},
]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, Path]:
    d = tmp_path_factory.mktemp("clic")
    src = write_jsonl(d / "src" / "c.jsonl", CORPUS)
    anygram.build(src, d / "web", workers=1)
    write_jsonl(d / "other_src" / "o.jsonl", [{"text": "trains and their speed are a completely different question"}])
    anygram.build(d / "other_src", d / "other", workers=1)
    bench = write_jsonl(d / "gsm" / "test.jsonl", BENCH)
    return str(d / "web"), str(d / "other"), bench


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    cap = capsys.readouterr()
    return code, cap.out, cap.err


EXPECTED = """\
windows: 20 chars (tokens on a tokenizer index), dirty >= 0.8, suspicious >= 0.2; ngrams: 8-grams, dirty >= 0.7; longest span
benchmark  index  items  dirty  suspicious  clean  too short  mean score  8g dirty  8g mean  longest max (chars)  longest mean
---------  -----  -----  -----  ----------  -----  ---------  ----------  --------  -------  -------------------  ------------
gsm/test   web        3  33.3%       33.3%  33.3%       0.0%       48.8%     33.3%    44.4%                   70          40.3
gsm/test   other      3   0.0%       33.3%  66.7%       0.0%       11.1%      0.0%     0.0%                   30          14.0

gsm/test x web: most contaminated items
id  label       windows  ngrams  longest  longest span
--  ----------  -------  ------  -------  ------------------------------------------------------------
g1  dirty         51/51     8/8    70 x1  Janet has 3 apples and buys 5 more. How many apples does sh…
g2  suspicious    26/56     3/9    45 x1  Janet has 3 apples and buys 5 more. How many

gsm/test x other: most contaminated items
id  label       windows  ngrams  longest  longest span
--  ----------  -------  ------  -------  -----------------------------
g3  suspicious    14/42     0/2    30 x1  completely different question
"""


def test_contam_exact_output(setup: tuple[str, str, Path], capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    web, other, bench = setup
    code, out, err = run(capsys, "contam", f"{web},{other}", str(bench), "--window", "20", "-q")
    assert code == 0, err
    assert out == EXPECTED


def test_contam_json_html_png(setup: tuple[str, str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    web, _, bench = setup
    html, png = tmp_path / "r.html", tmp_path / "h.png"
    code, out, err = run(capsys, "contam", f"w={web}", f"G={bench}", "--window", "20", "--json", "--html", str(html), "--png", str(png), "--docs", "1", "--criteria", "windows,longest", "-q")
    assert code == 0, err
    d = json.loads(out)
    assert d["params"]["criteria"] == ["windows", "longest"] and "ngrams" not in d["params"]
    assert d["benchmarks"][0]["name"] == "G" and d["benchmarks"][0]["skipped"] == 1 and d["benchmarks"][0]["fields"] == ["question"]
    r = d["results"][0]
    assert r["index"] == "w" and r["ngrams"] is None
    g1 = r["item_results"][0]
    assert g1["id"] == "g1" and g1["windows"]["label"] == "dirty"
    assert g1["docs"][0]["metadata"]["metadata"]["src"] == "forum"
    page = html.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<mark>" in page and "g1" in page
    pytest.importorskip("matplotlib")
    assert png.read_bytes()[:4] == b"\x89PNG" and "data:image/png;base64," in page


def test_contam_fields_and_errors(setup: tuple[str, str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    web, _, bench = setup
    code, out, err = run(capsys, "contam", web, str(bench), "--fields", "nope", "-q")
    assert code == 5 and out == "" and err.startswith("anygram: error: ") and "no field 'nope'" in err
    code, out, err = run(capsys, "contam", web, str(tmp_path / "missing.jsonl"), "-q")
    assert code == 5 and "does not exist" in err
    code, out, err = run(capsys, "contam", web, str(bench), "--criteria", "windows,foo", "-q")
    assert code == 2 and "criteria" in err
    code, out, err = run(capsys, "contam", str(tmp_path / "noidx"), str(bench), "-q")
    assert code == 3 and "anygram: error:" in err
    code, out, err = run(capsys, "contam", web, str(bench), "--window", "0", "-q")
    assert code == 2 and "window must be a positive integer" in err
    # explicit fields with a joiner and the item id field
    code, out, err = run(capsys, "contam", web, str(bench), "--fields", "id,question", "--joiner", ": ", "--window", "20", "--top", "0", "--json", "-q")
    d = json.loads(out)
    assert d["benchmarks"][0]["fields"] == ["id", "question"] and d["benchmarks"][0]["joiner"] == ": "
