"""The command line: exact output of the commands, --json forms, error messages and exit codes.

Most tests call ``main([...])`` in-process (capsys captures stdout/stderr; stdout is not a TTY,
so matches are shown as [[...]]); one test runs ``python -m anygram`` in a subprocess.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import anygram
from anygram.cli import main as cli_main
from anygram.cli.main import COMMANDS, build_parser, main

DOCS = [
    {"text": "the cat sat on the mat", "src": "a"},
    {"text": "the dog sat on the log", "src": "b"},
]
ROOT = Path(__file__).resolve().parents[1]


def _write_jsonl(path: Path, records: list) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.writelines((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records)
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("cli")
    return _write_jsonl(d / "src" / "c.jsonl", [*DOCS, {"text": "", "src": "c"}, "not json"])


@pytest.fixture(scope="module")
def idx(corpus: Path) -> str:
    out = corpus.parent.parent / "idx"
    anygram.build(corpus, out, workers=1)
    return str(out)


def ok(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Run a command that must succeed silently on stderr; return its stdout."""
    code, out, err = run(capsys, *argv)
    assert (code, err) == (0, ""), err
    return out


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    cap = capsys.readouterr()
    return code, cap.out, cap.err


# ------------------------------------------------------------------ index
def test_index_summary_and_json(corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "index", str(corpus), "-o", str(tmp_path / "i1"), "--workers", "1", "--quiet")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == f"index:            {tmp_path / 'i1'}"
    assert "tokens:           46" in lines
    assert "documents:        2" in lines
    assert "shards:           1" in lines
    assert "skipped records:  2" in lines
    assert any(re.fullmatch(r"bytes/token:\s+\d+\.\d\d", ln) for ln in lines)
    assert any(ln.strip() == "1  malformed JSON" for ln in lines)
    assert "    c.jsonl:4: malformed JSON (Expecting value: line 1 column 1 (char 0))" in lines
    assert err == ""  # --quiet: no progress bars

    code, out, err = run(capsys, "index", str(corpus), "-o", str(tmp_path / "i2"), "--workers", "1", "--json")
    assert code == 0 and err == ""  # --json: no progress bars either
    d = json.loads(out)
    assert d["tokens"] == 46 and d["docs"] == 2 and d["shards"] == 1
    assert d["skipped"] == {"empty document": 1, "malformed JSON": 1}
    assert set(d) == set(anygram.BuildSummary.__dataclass_fields__)


def test_index_errors(corpus: Path, idx: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.jsonl"
    code, out, err = run(capsys, "index", str(missing), "-o", str(tmp_path / "x"), "-q")
    assert (code, out) == (5, "")
    assert err == f"anygram: error: input not found: {missing}\n"

    code, _, err = run(capsys, "index", str(corpus), "-o", idx, "-q")
    assert code == 6
    assert err.startswith(f"anygram: error: {idx} already exists") and err.count("\n") == 1

    code, _, err = run(capsys, "index", str(corpus), "-o", str(tmp_path / "y"), "-q", "--strict", "--workers", "1")
    assert code == 5 and err.startswith("anygram: error: c.jsonl:")


# ------------------------------------------------------------------ queries
def test_count(idx: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "count", idx, "the") == (0, "4\n", "")
    assert run(capsys, "count", idx, "sat on") == (0, "2\n", "")
    assert run(capsys, "count", idx, "zebra") == (0, "0\n", "")
    assert run(capsys, "count", idx, "--json", "sat on") == (0, '{"count": 2, "approx": false}\n', "")
    assert run(capsys, "count", idx, "--ids", "116 104 101") == (0, "4\n", "")
    assert run(capsys, "count", idx, "--ids", "116,104,101") == (0, "4\n", "")


def test_count_several_indexes(idx: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "count", f"{idx},{idx}", "the") == (0, "8\n", "")


def test_find(idx: str, capsys: pytest.CaptureFixture[str]) -> None:
    out = ok(capsys, "find", idx, "the")
    lines = out.splitlines()
    assert lines[0] == "count: 4"
    assert lines[1].split() == ["shard", "start", "end", "count"]
    assert lines[3].split()[0] == "0" and lines[3].split()[-1] == "4"
    out = ok(capsys, "find", idx, "the", "--json")
    d = json.loads(out)
    assert d["cnt"] == 4 and d == json.loads(json.dumps(anygram.open(idx).find("the").to_dict()))


def test_prob(idx: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "prob", idx, "the ", "c") == (0, "prob: 0.2500  (1 / 4)\n", "")
    assert run(capsys, "prob", idx, "zebra", "c") == (0, "prompt not found (prob = -1)\n", "")
    assert run(capsys, "prob", idx, "--ids", "116 104 101 32", "99") == (0, "prob: 0.2500  (1 / 4)\n", "")
    out = ok(capsys, "prob", idx, "the ", "c", "--json")
    assert json.loads(out) == {"prompt_cnt": 4, "cont_cnt": 1, "prob": 0.25}
    code, out, err = run(capsys, "prob", idx, "the", "ca")
    assert code == 2 and out == "" and err.startswith("anygram: error: cont 'ca' is 2 tokens")


NTD_THE = """\
prompt count: 4; 4 distinct next tokens (exact)
 id  token  count    prob
---  -----  -----  ------  --------------------
 99  'c'        1  0.2500  ████████████████████
100  'd'        1  0.2500  ████████████████████
108  'l'        1  0.2500  ████████████████████
... 1 more token (1 occurrence)
"""


def test_ntd(idx: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "ntd", idx, "the ", "--top", "3") == (0, NTD_THE, "")
    out = ok(capsys, "ntd", idx, "the ", "--json")
    assert out == (
        '{"prompt_cnt": 4, "result_by_token_id": {"99": {"cont_cnt": 1, "prob": 0.25}, '
        '"100": {"cont_cnt": 1, "prob": 0.25}, "108": {"cont_cnt": 1, "prob": 0.25}, '
        '"109": {"cont_cnt": 1, "prob": 0.25}}, "approx": false}\n'
    )
    # the end of a document shows as <eos>
    out = ok(capsys, "ntd", idx, "mat")
    assert out.splitlines()[-1].split()[:4] == ["255", "<eos>", "1", "1.0000"]
    assert run(capsys, "ntd", idx, "zebra") == (0, "prompt count: 0; 0 distinct next tokens (exact)\n", "")


def test_infgram(idx: str, capsys: pytest.CaptureFixture[str]) -> None:
    out = ok(capsys, "infgram", idx, "a hat on the ")
    lines = out.splitlines()
    assert lines[0] == "longest suffix found: 10 of 13 tokens  'at on the '"
    assert lines[1] == "prompt count: 2; 2 distinct next tokens (exact)"
    assert [ln.split()[1] for ln in lines[4:]] == ["'l'", "'m'"]
    out = ok(capsys, "infgram", idx, "a hat on the ", "--cont", "m")
    assert out.splitlines() == ["longest suffix found: 10 of 13 tokens  'at on the '", "prob: 0.5000  (1 / 2)"]
    out = ok(capsys, "infgram", idx, "a hat on the ", "--cont", "m", "--json")
    assert json.loads(out) == {"prompt_cnt": 2, "cont_cnt": 1, "prob": 0.5, "suffix_len": 10}
    out = ok(capsys, "infgram", idx, "a hat on the ", "--json")
    assert json.loads(out)["suffix_len"] == 10


def test_search(idx: str, capsys: pytest.CaptureFixture[str]) -> None:
    out = ok(capsys, "search", idx, "sat on", "--maxnum", "20", "--seed", "1")
    lines = out.splitlines()
    assert lines[0] == "2 occurrences; showing 2"
    bodies = sorted(ln for ln in lines if "[[" in ln)
    assert bodies == ["the cat [[sat on]] the mat", "the dog [[sat on]] the log"]
    headers = sorted(ln for ln in lines if ln.startswith("doc #"))
    assert headers[0].startswith("doc #0  c.jsonl:1  (shard 0, ptr ") and headers[0].endswith("22 tokens)  src='a'")
    out = ok(capsys, "search", idx, "sat on", "--maxnum", "1", "--seed", "1", "--json")
    d = json.loads(out)
    assert d["cnt"] == 2 and len(d["documents"]) == 1 and d["documents"][0]["metadata"]["metadata"]["src"] in "ab"
    assert run(capsys, "search", idx, "zebra") == (0, "no match\n", "")


def test_doc(idx: str, capsys: pytest.CaptureFixture[str]) -> None:
    out = ok(capsys, "doc", idx, "--ix", "1")
    assert out.splitlines() == ["doc #1  c.jsonl:2  (shard 0, ptr 24, 22 tokens)  src='b'", "the dog sat on the log"]
    out = ok(capsys, "doc", idx, "--ix", "1", "--context", "7")
    assert out.splitlines()[1] == "the dog"
    out = ok(capsys, "doc", idx, "--ix", "0", "--json")
    assert json.loads(out)["text"] == "the cat sat on the mat"
    out = ok(capsys, "doc", idx, "--shard", "0", "--rank", "0", "--json")
    assert json.loads(out)["doc_ix"] in (0, 1)
    code, out, err = run(capsys, "doc", idx, "--ix", "9")
    assert (code, out, err) == (2, "", "anygram: error: doc_ix must be an integer in [0, 2)\n")
    code, _, err = run(capsys, "doc", idx)
    assert code == 2 and err.startswith("anygram: error: give either --ix")


def test_score(idx: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "snippet.txt"
    f.write_text("the cat")
    out = ok(capsys, "score", idx, str(f))
    assert out.splitlines() == [
        "tokens:               7",
        "perplexity:           1.73",
        "zero-prob tokens:     0",
        "mean matched suffix:  3.00 tokens",
        "longest match:        7 tokens at 0  'the cat'",
    ]
    out = ok(capsys, "score", idx, str(f), "--tokens")
    lines = out.splitlines()
    assert lines[0].split() == ["pos", "id", "token", "prob", "suffix", "prompt_cnt", "cont_cnt"]
    assert lines[2].split() == ["0", "116", "'t'", "0.1739", "0", "46", "8"]
    monkeypatch.setattr(sys, "stdin", io.StringIO("the cat\n"))
    out = ok(capsys, "score", idx, "-", "--json")
    d = json.loads(out)
    assert d["perplexity"] == "inf" and d["zero_prob_tokens"] == 1 and len(d["probs"]) == 8
    code, out, err = run(capsys, "score", idx, str(tmp_path / "missing.txt"))
    assert code == 5 and err.startswith(f"anygram: error: cannot read {tmp_path / 'missing.txt'}")


def test_info(idx: str, capsys: pytest.CaptureFixture[str]) -> None:
    out = ok(capsys, "info", idx)
    lines = out.splitlines()
    assert lines[0] == f"index:         {idx}"
    assert "tokenizer:     bytes (vocab 256)" in lines
    assert "tokens:        46" in lines and "documents:     2" in lines
    out = ok(capsys, "info", idx, "--verify")
    assert out.splitlines()[-1] == "verified: every file matches its checksum in the manifest"
    out = ok(capsys, "info", idx, "--json")
    d = json.loads(out)
    assert d["total_tokens"] == 46 and d["total_docs"] == 2 and len(d["shards"]) == 1


# ------------------------------------------------------------------ errors
def test_missing_index(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "count", str(tmp_path / "nope"), "x")
    assert (code, out) == (3, "")
    assert err == f"anygram: error: {tmp_path / 'nope'}: no such index directory\n"


def test_bad_query_ids(idx: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "count", idx, "--ids", "300")
    assert (code, out) == (2, "")
    assert err.startswith("anygram: error: ") and "300" in err and err.count("\n") == 1
    code, _, err = run(capsys, "count", idx, "--ids", "1 x")
    assert code == 2 and err == (
        "anygram: error: query: 'x' is not a token id (with --ids, give integers separated by spaces or commas)\n"
    )
    code, _, err = run(capsys, "ntd", idx, "the", "--max-support", "0")
    assert code == 2 and err.startswith("anygram: error: max_support must be a positive integer")


def test_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "bogus")
    assert code == 2 and "invalid choice" in err
    code, _, err = run(capsys)
    assert code == 2 and "required" in err
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.strip() == f"anygram {anygram.__version__}"


def test_keyboard_interrupt(idx: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_main, "cmd_count", boom)
    code, _, err = run(capsys, "count", idx, "the")
    assert code == 130 and err.strip() == "anygram: interrupted" and "Traceback" not in err


# ------------------------------------------------------------------ help, docs, entry points
def test_every_command_has_help_and_docs(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, __import__("argparse")._SubParsersAction))
    assert set(sub.choices) == set(COMMANDS)
    docs = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    for name in COMMANDS:
        code, out, _ = run(capsys, name, "--help")
        assert code == 0 and out.startswith(f"usage: anygram {name}")
        assert sub.choices[name].description, name
        assert f"## anygram {name}" in docs, f"docs/cli.md lacks a section for {name}"
        assert f"$ anygram {name}" in docs, f"docs/cli.md lacks an example of {name}"


def test_python_m_anygram_help() -> None:
    r = subprocess.run([sys.executable, "-m", "anygram", "--help"], check=False, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stderr == ""
    assert r.stdout.startswith("usage: anygram")
    for name in COMMANDS:
        assert name in r.stdout


def test_query_commands_do_not_import_build_stack(idx: str) -> None:
    code = (
        "import sys\n"
        "from anygram.cli.main import main\n"
        f"rc = main(['count', {idx!r}, 'the'])\n"
        "heavy = [m for m in ('tqdm', 'pydivsufsort', 'scipy.linalg') if m in sys.modules]\n"
        "print(rc, heavy)\n"
    )
    env = {**os.environ, "ANYGRAM_CLI_KEEP_SCIPY": ""}
    r = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60, env=env)
    assert r.stdout.splitlines() == ["4", "0 []"], r.stderr


# ------------------------------------------------------------------ demo
def test_demo_small(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "demo", "--out", str(tmp_path / "demo"), "--max-bytes", "150k")
    assert code == 0, err
    assert out.startswith("anygram demo: indexing ")
    for needle in ("$ anygram count IDX QUERY", "'def __init__(self'", "$ anygram ntd IDX 'raise '",
                   "$ anygram infgram IDX", "$ anygram search IDX", "$ anygram score IDX", "perplexity:"):
        assert needle in out, needle
    assert (tmp_path / "demo" / "index" / "manifest.json").is_file()
    assert not (tmp_path / "demo" / "corpus").exists()

    code, out, err = run(capsys, "demo", "--max-bytes", "100k", "--json")
    assert code == 0 and err == ""
    d = json.loads(out)
    assert 0 < d["corpus"]["bytes"] <= 100 * 1024 and d["build"]["docs"] > 0 and d["index"] is None
    assert [q["query"] for q in d["queries"]][-4:] == ["ntd", "infgram_ntd", "search_docs", "score"]
