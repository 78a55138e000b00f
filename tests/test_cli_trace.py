"""``anygram trace`` and ``anygram novelty``: exact output (stdout is not a TTY: spans as [[...]]),
--json equal to the library's to_dict(), and error exits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import anygram
from anygram.analyses.novelty import novelty
from anygram.cli.main import main

DOCS = [
    {"text": "the quick brown fox jumps over the lazy dog", "src": "a"},
    {"text": "a lazy dog sleeps. the quick cat", "src": "b"},
]


@pytest.fixture(scope="module")
def idx(tmp_path_factory: pytest.TempPathFactory) -> str:
    d = tmp_path_factory.mktemp("cli_trace")
    src = d / "c.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in DOCS), encoding="utf-8")
    anygram.build(src, d / "idx", workers=1)
    return str(d / "idx")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    cap = capsys.readouterr()
    return code, cap.out, cap.err


TEXT = "I saw the quick brown cat and a lazy dog sleeps."

TRACE_OUT = """\
48 tokens; 3 spans found cover 35 tokens (72.9%)  [min_len 5]

I saw[[ the quick brown ]]cat and [[a lazy dog sleeps.]]

span 1: tokens 5-16 (11), 1 occurrence, unigram logprob -31.31
  ' the quick '
  doc #1  c.jsonl:2  (shard 0, ptr 63, 32 tokens, showing 17)  src='b'
  ps.[[ the quick ]]cat

span 2: tokens 6-22 (16), 1 occurrence, unigram logprob -50.73
  'the quick brown '
  doc #0  c.jsonl:1  (shard 0, ptr 1, 43 tokens, showing 19)  src='a'
  [[the quick brown ]]fox

span 3: tokens 30-48 (18), 1 occurrence, unigram logprob -54.45
  'a lazy dog sleeps.'
  doc #1  c.jsonl:2  (shard 0, ptr 45, 32 tokens, showing 21)  src='b'
  [[a lazy dog sleeps.]] th
"""


def test_trace_exact_output(idx: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "trace", idx, TEXT, "--min-len", "5", "--context", "3")
    assert (code, err) == (0, "")
    assert out == TRACE_OUT


def test_trace_json_file_and_filters(idx: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "t.txt"
    f.write_text(TEXT, encoding="utf-8")
    code, out, err = run(capsys, "trace", idx, "--file", str(f), "--min-len", "5", "--json", "--max-docs", "1", "--top-frac", "0.05")
    assert (code, err) == (0, "")
    exp = anygram.open(idx).attribute(TEXT, min_len=5, max_docs=1, context=40, top_frac=0.05)
    assert json.loads(out) == json.loads(json.dumps(exp.to_dict()))
    assert len(exp.spans) == 3 and exp.num_maximal_spans == 3  # ceil(0.05 * 48) = 3
    code, out, _ = run(capsys, "trace", idx, TEXT, "--min-len", "5", "--delim", ".", "--bow", "--max-docs", "0")
    assert code == 0
    assert "[[ the quick brown]] cat and a[[ lazy dog sleeps.]]" in out
    code, out, err = run(capsys, "trace", idx, "116 104 101 32 113 117", "--ids", "--min-len", "3", "--max-docs", "0")
    assert code == 0 and "1 span found cover 6 tokens (100.0%)" in out and "[[the qu]]" in out


def test_trace_errors(idx: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "trace", idx)[0] == 2
    code, _, err = run(capsys, "trace", idx, "x", "--file", "y")
    assert code == 2 and "not both" in err
    code, _, err = run(capsys, "trace", idx, "abc", "--min-len", "0")
    assert (code, err) == (2, "anygram: error: min_len must be at least 1\n")
    code, _, err = run(capsys, "trace", idx, "abc", "--delim", "ab")
    assert code == 2 and "not one" in err
    code, _, err = run(capsys, "trace", idx, "--file", str(tmp_path / "missing.txt"))
    assert code == 5


NOVELTY_OUT = """\
texts:               2
tokens:              53
mean longest match:  4.96 tokens
∞-gram agreement:    73.6%
longest repeat:      mean 4.0, max 7 tokens

n             1      2      3
--------  -----  -----  -----
absent     1.9%  11.8%  22.4%
distinct  60.1%  89.4%  92.2%

longest match  positions  share
-------------  ---------  -----
0                      1   1.9%
1                      7  13.2%
2-3                   15  28.3%
4-7                   21  39.6%
8-15                   8  15.1%
16-31                  1   1.9%

suffix length  positions  agree    rate
-------------  ---------  -----  ------
0                      3      1   33.3%
1                      7      1   14.3%
2-3                   15     14   93.3%
4-7                   19     15   78.9%
8-15                   8      8  100.0%
16-31                  1      0    0.0%

text  tokens  mean match  absent 3-grams  agreement  repeat  repeated text
----  ------  ----------  --------------  ---------  ------  -------------
   0      19        7.63            5.9%      89.5%       1  't'
   1      34        3.47           31.2%      64.7%       7  ' sleeps'
"""


def test_novelty_exact_output_and_json(idx: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gen = tmp_path / "gen.jsonl"
    texts = ["the quick brown cat", "a lazy fox sleeps sleeps, zzz over"]
    gen.write_text("".join(json.dumps({"out": t}) + "\n" for t in texts), encoding="utf-8")
    code, out, err = run(capsys, "novelty", idx, str(gen), "--field", "out", "--max-n", "3")
    assert (code, err) == (0, "")
    assert out == NOVELTY_OUT
    code, out, err = run(capsys, "novelty", idx, str(gen), "--field", "out", "--max-n", "3", "--json")
    assert code == 0
    assert json.loads(out) == json.loads(json.dumps(novelty(anygram.open(idx), texts, max_n=3).to_dict()))
    png = tmp_path / "p.png"
    code, out, err = run(capsys, "novelty", idx, str(gen), "--field", "out", "--no-agreement", "--plot", str(png))
    assert code == 0 and png.read_bytes()[:4] == b"\x89PNG" and f"plots: {png}" in out
    assert "∞-gram agreement:    -" in out
    code, _, err = run(capsys, "novelty", idx, str(gen))
    assert code == 5 and "no string field 'text'" in err
