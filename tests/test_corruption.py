"""Damaged, truncated and foreign indexes: a named exception with a clear message, never a crash.

Guarantees tested here (see docs/format.md, "What is verified when"):

G1  verify="auto" on a small index (all of these): ANY damage to ANY file -- truncation, extension,
    a flipped byte, random content, deletion -- raises CorruptIndexError when the index is opened
    (sizes always, checksums of every file of a small index).
G2  verify="sizes": a file whose size changed or that is missing raises CorruptIndexError at open;
    any change to the suffix array, the document offsets or the metadata offsets is caught at open
    by the structural checks (every entry of arrays up to 16 MB). Same-size damage to the token
    bytes or to the metadata text is undetectable by design without checksums: then every query
    either answers or raises CorruptIndexError -- never a crash, never another exception.
G3  "big index" mode (thresholds patched to zero, so that nothing is checksummed and the structure
    is only sampled, as for an index of hundreds of GB with verify="auto"): size damage is caught at
    open; anything else is caught at open, caught at query time (range checks inside the kernels
    and on every document / metadata access), or answered without crashing.

Queries of every kind (count, find, prob, ntd, infgram_prob, infgram_ntd, score, longest_matches,
search_docs, get_doc_by_ix, get_doc_by_rank, count_batch) run in a subprocess, many cases per
process, so that a segfault shows as a negative return code (and names the case being run).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import anygram
from anygram.errors import AnygramError, CorruptIndexError, IndexFormatError
from helpers import build_from_ids, build_from_texts

ROLES = ("tokenized", "table", "offset", "metadata", "metaoff")
SIZE_OPS = ("trunc0", "trunc_half", "minus1", "plus1", "delete")
CONTENT_OPS = ("flip_first", "flip_mid", "flip_last", "random")
OPS = SIZE_OPS + CONTENT_OPS
#: same-size damage to these is caught by the structural checks alone (G2)
STRUCTURAL_ROLES = ("table", "offset", "metaoff")

TEXTS = [f"doc {i}: the quick brown fox {'jumps ' * (i % 4)}over the lazy dog {i * 7} ünïcode" for i in range(40)]
_rng = random.Random(1234)
IDS_DOCS = [[_rng.randrange(0, 700) for _ in range(_rng.randrange(1, 30))] for _ in range(60)]


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("pristine")
    b = build_from_texts(tmp, TEXTS, shard_tokens=1800, name="bytes")
    i = build_from_ids(tmp, IDS_DOCS, token_width=2, shard_tokens=600, name="ids")
    assert b.num_shards == 2 and i.num_shards == 2, (b, i)
    return {"bytes": tmp / "bytes", "ids": tmp / "ids"}


def _mutate(path: Path, op: str, seed: int = 0) -> None:
    data = path.read_bytes()
    n = len(data)
    if op == "delete":
        path.unlink()
        return
    new = {
        "trunc0": lambda: b"",
        "trunc_half": lambda: data[: n // 2],
        "minus1": lambda: data[:-1],
        "plus1": lambda: data + b"\x00",
        "flip_first": lambda: bytes([data[0] ^ 0xFF]) + data[1:],
        "flip_mid": lambda: data[: n // 2] + bytes([data[n // 2] ^ 0xFF]) + data[n // 2 + 1 :],
        "flip_last": lambda: data[:-1] + bytes([data[-1] ^ 0xFF]),
        "random": lambda: random.Random(seed).randbytes(n),
    }[op]()
    path.write_bytes(new)


def _cases(pristine: dict[str, Path], root: Path) -> list[dict]:
    """One damaged copy of an index per (index, shard file, operation)."""
    out = []
    for kind, src in pristine.items():
        for shard in (0, 1):
            for role in ROLES:
                for op in OPS:
                    name = f"{kind}-{role}.{shard}-{op}"
                    dst = root / name
                    shutil.copytree(src, dst)
                    _mutate(dst / f"{role}.{shard}", op, seed=hash(name) & 0xFFFF)
                    out.append({"name": name, "kind": kind, "role": role, "op": op, "path": str(dst)})
    return out


@pytest.fixture(scope="module")
def cases(pristine: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    return _cases(pristine, tmp_path_factory.mktemp("damaged"))


# ------------------------------------------------------------------ G1: verify="auto"
def test_every_damage_detected_at_open_with_auto(cases: list[dict]) -> None:
    assert len(cases) == 2 * 2 * len(ROLES) * len(OPS)
    missed = []
    for c in cases:
        try:
            anygram.open(c["path"])
        except CorruptIndexError as exc:
            msg = str(exc)
            assert c["path"] in msg or f"{c['role']}" in msg, (c["name"], msg)
            continue
        missed.append(c["name"])
    assert not missed, f"damage not detected at open: {missed}"


# ------------------------------------------------------------------ the query worker
WORKER = textwrap.dedent(
    r"""
    import json, sys
    import anygram
    from anygram.errors import AnygramError, IndexFormatError
    from anygram.format import manifest as M, open as O, shard as S

    spec = json.load(open(sys.argv[1]))
    if spec["big"]:  # behave as for a huge index: no checksums, structure sampled only
        M.SMALL_FILE_LIMIT = 0
        O.AUTO_FULL_VERIFY_BYTES = 0
        S.FULL_SCAN_BYTES = 0
        S.SAMPLE = 4

    def queries(idx, kind, q):
        yield "count", lambda: idx.count(q["count"])
        yield "count_empty", lambda: idx.count([])
        yield "count_missing", lambda: idx.count(q["missing"])
        yield "count_batch", lambda: idx.count_batch([q["count"], q["long"], q["missing"]] * 30)
        yield "find", lambda: idx.find(q["long"])
        yield "prob", lambda: idx.prob(q["prompt"], q["cont"])
        yield "ntd", lambda: idx.ntd(q["prompt"])
        yield "ntd_sampled", lambda: idx.ntd(q["short"], max_support=2)
        yield "infgram_prob", lambda: idx.infgram_prob(q["long"], q["cont"])
        yield "infgram_ntd", lambda: idx.infgram_ntd(q["long"])
        yield "score", lambda: idx.score(q["long"])
        yield "longest_matches", lambda: idx.longest_matches(q["long"])
        yield "search_docs", lambda: idx.search_docs(q["short"], maxnum=8, seed=1)
        for d in sorted({0, idx.total_docs // 2, idx.total_docs - 1}):
            yield f"get_doc_by_ix[{d}]", lambda d=d: idx.get_doc_by_ix(d, max_disp_len=50)
        for s in range(idx.num_shards):
            n = idx.shards[s].tok_cnt
            for r in sorted({0, n // 2, n - 1}):
                yield f"get_doc_by_rank[{s},{r}]", lambda s=s, r=r: idx.get_doc_by_rank(s, r, max_disp_len=20)

    for case in spec["cases"]:
        print("START", case["name"], flush=True)
        res = {"name": case["name"], "open": None, "queries": {}}
        try:
            idx = anygram.open(case["path"], verify=spec["verify"])
        except IndexFormatError as exc:
            res["open"] = type(exc).__name__
        except BaseException as exc:
            res["open"] = f"BUG {type(exc).__name__}: {exc}"
        else:
            for qname, fn in queries(idx, case["kind"], spec["queries"][case["kind"]]):
                try:
                    fn()
                    res["queries"][qname] = "ok"
                except IndexFormatError as exc:
                    res["queries"][qname] = type(exc).__name__
                except BaseException as exc:
                    res["queries"][qname] = f"BUG {type(exc).__name__}: {exc}"
        print("RESULT", json.dumps(res), flush=True)
    print("DONE", flush=True)
    """
)

QUERIES = {
    "bytes": {"count": "the", "missing": "zzzqqq", "long": "the quick brown fox jumps over the lazy dog 77",
              "prompt": "the quick", "cont": " ", "short": "o"},
    "ids": {"count": IDS_DOCS[0][:1], "missing": [699, 698, 697, 696], "long": IDS_DOCS[3] + IDS_DOCS[4][:5],
            "prompt": IDS_DOCS[5][:1], "cont": IDS_DOCS[5][1] if len(IDS_DOCS[5]) > 1 else 1, "short": IDS_DOCS[7][:1]},
}


def _run_worker(tmp: Path, cases: list[dict], verify: str, big: bool) -> dict[str, dict]:
    spec = tmp / f"spec-{verify}-{big}.json"
    spec.write_text(json.dumps({"cases": cases, "verify": verify, "big": big, "queries": QUERIES}))
    script = tmp / "worker.py"
    script.write_text(WORKER)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(anygram.__file__).parents[1]), os.environ.get("PYTHONPATH", "")]))
    p = subprocess.run([sys.executable, str(script), str(spec)], check=False, capture_output=True, text=True, env=env, timeout=600)
    lines = p.stdout.splitlines()
    started = [ln[6:] for ln in lines if ln.startswith("START ")]
    results = {r["name"]: r for r in (json.loads(ln[7:]) for ln in lines if ln.startswith("RESULT "))}
    if p.returncode != 0 or "DONE" not in lines:
        crashed = started[-1] if started else "?"
        pytest.fail(f"worker died with return code {p.returncode} during case {crashed!r} (a segfault is < 0)\n{p.stderr[-3000:]}")
    return results


def _bugs(results: dict[str, dict]) -> list[str]:
    out = []
    for name, r in results.items():
        if r["open"] and r["open"].startswith("BUG"):
            out.append(f"{name}: open: {r['open']}")
        out += [f"{name}: {q}: {v}" for q, v in r["queries"].items() if v.startswith("BUG")]
    return out


# ------------------------------------------------------------------ G2: verify="sizes"
def test_sizes_mode_never_crashes(cases: list[dict], tmp_path: Path) -> None:
    results = _run_worker(tmp_path, cases, "sizes", big=False)
    assert len(results) == len(cases)
    assert not _bugs(results), _bugs(results)
    must_open_fail = [c["name"] for c in cases if c["op"] in SIZE_OPS or c["role"] in STRUCTURAL_ROLES]
    missed = [n for n in must_open_fail if results[n]["open"] != "CorruptIndexError"]
    assert not missed, f"not detected at open with verify='sizes': {missed}"
    # the undetectable-by-design rest (same-size damage to token bytes / metadata text) answered
    # or raised CorruptIndexError, checked by _bugs above; make sure they did run queries
    rest = [results[c["name"]] for c in cases if c["name"] not in must_open_fail]
    assert rest and all(r["open"] == "CorruptIndexError" or len(r["queries"]) >= 15 for r in rest)


# ------------------------------------------------------------------ G3: huge-index mode
def sampled_results(cases: list[dict], tmp: Path, size_ops: tuple[str, ...]) -> dict[str, dict]:
    """All cases queried in "big index" mode: no crash, no other exception, size damage caught at open."""
    results = _run_worker(tmp, cases, "auto", big=True)
    assert len(results) == len(cases)
    assert not _bugs(results), _bugs(results)
    missed = [c["name"] for c in cases if c["op"] in size_ops and results[c["name"]]["open"] != "CorruptIndexError"]
    assert not missed, f"size damage not detected at open: {missed}"
    return results


def test_sampled_checks_never_crash(cases: list[dict], tmp_path: Path) -> None:
    results = sampled_results(cases, tmp_path, SIZE_OPS)
    # some damage must get past the sampled open checks and be caught by the kernels' range checks
    at_query = [n for n, r in results.items() if r["open"] is None and "CorruptIndexError" in r["queries"].values()]
    assert at_query, "expected some damage to be caught at query time in sampled mode"


def test_pristine_indexes_answer_in_every_mode(pristine: dict[str, Path], tmp_path: Path) -> None:
    cases = [{"name": k, "kind": k, "path": str(p)} for k, p in pristine.items()]
    for verify, big in (("auto", False), ("sizes", False), ("full", False), ("auto", True)):
        results = _run_worker(tmp_path, cases, verify, big)
        for r in results.values():
            assert r["open"] is None, r
            assert set(r["queries"].values()) == {"ok"}, r


# ------------------------------------------------------------------ manifest damage
def _manifest_cases() -> list[tuple[str, object, type]]:
    """(name, edit of the parsed manifest or raw bytes, expected exception)."""
    C, F = CorruptIndexError, IndexFormatError

    def drop(*keys: str):
        def f(m: dict) -> None:
            d = m
            for k in keys[:-1]:
                d = d[k] if not isinstance(d, list) else d[int(k)]
            del d[keys[-1]]
        return f

    def put(value: object, *keys: str):
        def f(m: dict) -> None:
            d = m
            for k in keys[:-1]:
                d = d[int(k)] if isinstance(d, list) else d[k]
            d[keys[-1] if not isinstance(d, list) else int(keys[-1])] = value
        return f

    def add(key: str, delta: int, *path: str):
        def f(m: dict) -> None:
            d = m
            for k in path:
                d = d[int(k)] if isinstance(d, list) else d[k]
            d[key] += delta
        return f

    out: list[tuple[str, object, type]] = [
        ("empty file", b"", C),
        ("invalid json", b'{"format": "anygram-sa", ', C),
        ("binary garbage", bytes(range(256)), C),
        ("json list", b"[1, 2, 3]", C),
        ("json null", b"null", C),
        ("deep nesting", b"[" * 100000 + b"]" * 100000, C),
        ("wrong format name", put("infini-gram", "format"), F),
        ("no format name", drop("format"), F),
        ("future version", put(99, "format_version"), F),
        ("version as string", put("1", "format_version"), C),
        ("version zero", put(0, "format_version"), C),
        ("missing shards", drop("shards"), C),
        ("empty shards", put([], "shards"), C),
        ("shards not a list", put({"0": {}}, "shards"), C),
        ("missing token_width", drop("token_width"), C),
        ("missing eos", drop("eos_token_id"), C),
        ("missing tokenizer", drop("tokenizer"), C),
        ("tokenizer kind missing", drop("tokenizer", "kind"), C),
        ("unknown tokenizer kind", put("sentencepiece", "tokenizer", "kind"), F),
        ("token_width 3", put(3, "token_width"), C),
        ("token_width string", put("2", "token_width"), C),
        ("token_width float", put(2.0, "token_width"), C),
        ("token_width bool", put(True, "token_width"), C),
        ("eos negative", put(-1, "eos_token_id"), C),
        ("eos too large", put(1 << 40, "eos_token_id"), C),
        ("tokens string", put("12", "shards", "0", "tokens"), C),
        ("tokens null", put(None, "shards", "0", "tokens"), C),
        ("tokens negative", put(-5, "shards", "0", "tokens"), C),
        ("tokens +1", add("tokens", 1, "shards", "0"), C),
        ("docs +1", add("docs", 1, "shards", "1"), C),
        ("docs missing", drop("shards", "0", "docs"), C),
        ("ptr_size 0", put(0, "shards", "0", "ptr_size"), C),
        ("ptr_size 9", put(9, "shards", "0", "ptr_size"), C),
        ("ptr_size +1", add("ptr_size", 1, "shards", "0"), C),
        ("files a list", put([], "shards", "0", "files"), C),
        ("files missing", drop("shards", "0", "files"), C),
        ("no table file", drop("shards", "0", "files", "table"), C),
        ("no metaoff file", drop("shards", "1", "files", "metaoff"), C),
        ("unknown role", put({"name": "x", "bytes": 1}, "shards", "0", "files", "bogus"), C),
        ("file name traversal", put("../../etc/passwd", "shards", "0", "files", "offset", "name"), C),
        ("file name absolute", put("/etc/passwd", "shards", "0", "files", "offset", "name"), C),
        ("file name int", put(7, "shards", "0", "files", "offset", "name"), C),
        ("file name of other shard", put("offset.1", "shards", "0", "files", "offset", "name"), C),
        ("file name manifest", put("manifest.json", "shards", "0", "files", "metadata", "name"), C),
        ("bytes string", put("100", "shards", "0", "files", "tokenized", "bytes"), C),
        ("sha256 malformed", put("xyz", "shards", "0", "files", "table", "sha256"), C),
        ("sha256 wrong", put("0" * 64, "shards", "0", "files", "table", "sha256"), C),
        ("total_tokens wrong", add("total_tokens", 1), C),
        ("total_docs wrong", add("total_docs", -1), C),
        ("extra_files a list", put([], "extra_files"), C),
        ("build a list", put([], "build"), C),
        ("anygram_version int", put(3, "anygram_version"), C),
        ("file missing on disk", put("nothere.0", "shards", "0", "files", "metadata", "name"), C),
    ]
    for role in ROLES:
        for delta in (-1, 1):
            out.append((f"{role} bytes {delta:+d}", add("bytes", delta, "shards", "1", "files", role), C))
    return out


MANIFEST_CASES = _manifest_cases()


@pytest.mark.parametrize("kind", ["bytes", "ids"])
def test_manifest_damage(pristine: dict[str, Path], tmp_path: Path, kind: str) -> None:
    original = json.loads((pristine[kind] / "manifest.json").read_text())
    failures = []
    for name, edit, expected in MANIFEST_CASES:
        d = tmp_path / name.replace(" ", "_")
        shutil.copytree(pristine[kind], d)
        if isinstance(edit, bytes):
            (d / "manifest.json").write_bytes(edit)
        else:
            m = json.loads(json.dumps(original))
            edit(m)
            (d / "manifest.json").write_text(json.dumps(m))
        # a wrong checksum is invisible to verify="sizes" by definition (files are intact)
        for verify in ("auto", "full") if name == "sha256 wrong" else ("auto", "sizes", "full"):
            try:
                anygram.open(d, verify=verify)
            except AnygramError as exc:
                right = isinstance(exc, CorruptIndexError) if expected is CorruptIndexError else (
                    isinstance(exc, IndexFormatError) and not isinstance(exc, CorruptIndexError))
                if not right or str(d) not in str(exc):
                    failures.append(f"{name} [{verify}]: {type(exc).__name__}: {exc}")
                if name == "future version" and "upgrade" not in str(exc):
                    failures.append(f"{name}: message does not say to upgrade: {exc}")
            except Exception as exc:  # noqa: BLE001 - any other exception is the bug under test
                failures.append(f"{name} [{verify}]: unnamed {type(exc).__name__}: {exc}")
            else:
                failures.append(f"{name} [{verify}]: opened without error")
    assert not failures, "\n".join(failures)


def test_manifest_messages_are_clear(pristine: dict[str, Path], tmp_path: Path) -> None:
    d = tmp_path / "v"
    shutil.copytree(pristine["bytes"], d)
    m = json.loads((d / "manifest.json").read_text())
    m["format_version"] = 7
    (d / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(IndexFormatError, match=r"newer anygram.*upgrade anygram") as ei:
        anygram.open(d)
    assert not isinstance(ei.value, CorruptIndexError)
    m["format_version"] = 1
    m["shards"][0]["tokens"] = "12"
    (d / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(CorruptIndexError, match=r"manifest.json.*'tokens' must be an integer"):
        anygram.open(d)
    shutil.rmtree(d)
    shutil.copytree(pristine["bytes"], d)
    (d / "table.1").write_bytes((d / "table.1").read_bytes()[:-1])
    with pytest.raises(CorruptIndexError, match=r"table\.1: size is \d+ bytes, the manifest says \d+"):
        anygram.open(d, verify="sizes")


def test_manifest_deleted_opens_as_infinigram_or_refuses(pristine: dict[str, Path], tmp_path: Path) -> None:
    """Without its manifest the directory is an infini-gram v4 layout: right answers or a clear refusal."""
    for kind, q in (("bytes", "the quick"), ("ids", IDS_DOCS[3][:2])):
        d = tmp_path / kind
        shutil.copytree(pristine[kind], d)
        (d / "manifest.json").unlink()
        expect = anygram.open(pristine[kind]).count(q).count
        try:
            idx = anygram.open(d, token_width=2 if kind == "ids" else None, verify="full")
        except IndexFormatError as exc:
            assert str(d) in str(exc)
            continue
        assert idx.count(q).count == expect


# ------------------------------------------------------------------ foreign paths
def test_foreign_paths(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    rnd = tmp_path / "random"
    rnd.mkdir()
    r = random.Random(5)
    for i in range(5):
        (rnd / f"file{i}.bin").write_bytes(r.randbytes(1000))
    (rnd / "notes.txt").write_text("hello")
    (rnd / "sub").mkdir()
    afile = tmp_path / "afile"
    afile.write_bytes(b"not an index")
    cases = [
        (empty, r"neither an anygram index \(no manifest.json\) nor an infini-gram index"),
        (rnd, r"neither an anygram index"),
        (afile, r"not a directory"),
        (tmp_path / "nothing", r"no such index directory"),
    ]
    for path, pattern in cases:
        for verify in ("auto", "sizes", "full"):
            with pytest.raises(IndexFormatError, match=pattern):
                anygram.open(path, verify=verify)
    with pytest.raises(IndexFormatError):
        anygram.open([])


def test_foreign_truncated_infinigram_layout(pristine: dict[str, Path], tmp_path: Path) -> None:
    """An infini-gram-style directory (no manifest) with a truncated table is refused, not crashed on."""
    d = tmp_path / "ig"
    shutil.copytree(pristine["bytes"], d)
    (d / "manifest.json").unlink()
    (d / "table.0").write_bytes((d / "table.0").read_bytes()[:-3])
    with pytest.raises(IndexFormatError):
        anygram.open(d, token_width=1)
    d2 = tmp_path / "ig2"
    shutil.copytree(pristine["bytes"], d2)
    (d2 / "manifest.json").unlink()
    data = bytearray((d2 / "offset.1").read_bytes())
    data[9] ^= 0x40  # second offset moves: no longer at a separator / increasing
    (d2 / "offset.1").write_bytes(bytes(data))
    with pytest.raises(CorruptIndexError, match=r"offset\.1"):
        anygram.open(d2, token_width=1)
