"""``anygram`` command line: argument parsing, one function per command, error handling.

Start-up is kept short: this module imports only the standard library at import time; each
command imports the parts of anygram it needs (query commands never load the build stack's
pydivsufsort or tqdm). Every command accepts ``--json``, which prints exactly
``result.to_dict()`` as one JSON document on stdout.

Exit codes: 0 success; an :class:`~anygram.errors.AnygramError` prints
``anygram: error: <message>`` on stderr and exits with its ``exit_code`` (2 query, 3 index
format, 4 corrupt index, 5 corpus, 6 build, 7 tokenizer, 8 missing extra); 2 for command-line
usage errors; 130 when interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from anygram.index import Index

PROG = "anygram"
#: commands that run a few searches: fastest without numba in a fresh process (see engine/_jit.py)
ONE_SHOT = frozenset({"count", "find", "prob", "ntd", "infgram", "search", "doc", "info"})


# ============================================================== helpers
def _emit_json(result: Any) -> None:
    data = result.to_dict() if hasattr(result, "to_dict") else result
    print(json.dumps(data))


def _index_paths(spec: str) -> str | list[str]:
    """``IDX``: one path, or a comma-separated list of index directories queried together."""
    if "," in spec and not os.path.exists(spec):
        return [p for p in (s.strip() for s in spec.split(",")) if p]
    return spec


def _open(args: argparse.Namespace, verify: str = "auto") -> Index:
    from anygram.index import open as open_index

    with _numba_without_scipy():
        idx = open_index(_index_paths(args.index), verify=verify)
        idx.count([])  # initialise numba's CPU target now, while SciPy is hidden
    return idx


@contextlib.contextmanager
def _numba_without_scipy() -> Iterator[None]:
    """Let numba set up its CPU target without importing SciPy.

    When numba sets up its target (on the first kernel load, even from its on-disk cache) it
    imports ``numba.np.arraymath``, which probes for BLAS by importing ``scipy.linalg`` when SciPy
    is installed: about 150 ms of a ~0.7 s command. anygram's kernels use no BLAS, so a
    short-lived CLI process hides ``scipy.linalg`` while it opens the index and runs its first
    kernel (numba then records "no BLAS" for this process only), and makes it importable again
    right after. ``ANYGRAM_CLI_KEEP_SCIPY=1`` turns this off.
    """
    mod = "scipy.linalg"
    if mod in sys.modules or "numba.np.arraymath" in sys.modules or os.environ.get("ANYGRAM_CLI_KEEP_SCIPY"):
        yield
        return
    sys.modules[mod] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        if mod in sys.modules and sys.modules[mod] is None:
            del sys.modules[mod]


def _parse_ids(text: str, what: str) -> list[int]:
    """Token ids separated by spaces and/or commas."""
    from anygram.errors import QueryError

    parts = [p for p in text.replace(",", " ").split() if p]
    ids = []
    for p in parts:
        try:
            ids.append(int(p, 0))
        except ValueError:
            raise QueryError(f"{what}: {p!r} is not a token id (with --ids, give integers separated by spaces or commas)") from None
    return ids


def _query(args: argparse.Namespace, text: str, what: str = "query") -> str | list[int]:
    return _parse_ids(text, what) if getattr(args, "ids", False) else text


def _cont(args: argparse.Namespace, text: str) -> str | int:
    """CONT: a one-token string, or a token id with --ids."""
    if getattr(args, "ids", False):
        ids = _parse_ids(text, "cont")
        if len(ids) != 1:
            from anygram.errors import QueryError

            raise QueryError(f"cont must be one token id, not {len(ids)}")
        return ids[0]
    return text


def _query_len(idx: Index, q: str | list[int]) -> int:
    return len(q) if isinstance(q, list) else len(idx.tokenize(q))


def _decoder(idx: Index) -> Callable[[list[int]], str] | None:
    if idx.tokenizer is None:
        return None
    return idx.decode


def _show(idx: Index, ids: list[int], limit: int = 60) -> str:
    from .render import text_snippet

    dec = _decoder(idx)
    if dec is None:
        return " ".join(map(str, ids))
    return text_snippet(dec(ids), limit)


# ============================================================== commands
def cmd_index(args: argparse.Namespace) -> int:
    """Build an index from files, folders, JSONL(.gz/.zst) or parquet.

    Folders are walked recursively (text files by extension unless --include is given). Progress
    bars go to stderr; a summary table (tokens, documents, shards, bytes/token, wall time, peak
    RSS, skipped records) is printed at the end. An interrupted build resumes when the same
    command is run again.
    """
    from anygram.builder.pipeline import build

    progress = not (args.quiet or args.json)
    summary = build(
        args.inputs,
        args.output,
        tokenizer=args.tokenizer,
        eos_token_id=args.eos_token_id,
        max_memory=args.max_memory,
        workers=args.workers,
        shard_tokens=args.shard_tokens,
        text_field=args.text_field,
        ids_field=args.ids_field,
        token_width=args.token_width,
        on_error="fail" if args.strict else "skip",
        include=args.include or (),
        exclude=args.exclude or (),
        overwrite=args.overwrite,
        progress=progress,
        kind=args.kind,
        sa_sample=args.sa_sample,
        isa_sample=args.isa_sample,
        rank=args.rank,
    )
    if args.json:
        _emit_json(summary)
    else:
        from .render import render_build_summary

        print(render_build_summary(summary))
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    """Show an index's tokenizer, sizes and shards (--verify: checksum every file)."""
    idx = _open(args, verify="full" if args.verify else "auto")
    info = idx.info()
    if args.json:
        _emit_json(info)
        return 0
    from .render import render_info

    print(render_info(info))
    if args.verify:
        print("\nverified: every file matches its checksum in the manifest")
    return 0


def cmd_count(args: argparse.Namespace) -> int:
    """Count the occurrences of QUERY (text, or token ids with --ids)."""
    from anygram.oneshot import count_once
    from anygram.results import CountResult

    query = _query(args, args.query)
    paths = _index_paths(args.index)
    n = count_once(paths, query) if isinstance(paths, str) else None
    res = CountResult(count=n) if n is not None else _open(args).count(query)
    if args.json:
        _emit_json(res)
    else:
        print(f"{res.count}" + (" (approximate)" if res.approx else ""))
    return 0


def cmd_find(args: argparse.Namespace) -> int:
    """Locate QUERY: the total count and its suffix-array range [start, end) in each shard."""
    idx = _open(args)
    res = idx.find(_query(args, args.query))
    if args.json:
        _emit_json(res)
        return 0
    from .render import fmt_int, table

    print(f"count: {fmt_int(res.cnt)}")
    rows = [[str(s), str(a), str(b), fmt_int(b - a)] for s, (a, b) in enumerate(res.segment_by_shard)]
    print(table(rows, headers=["shard", "start", "end", "count"]))
    return 0


def cmd_prob(args: argparse.Namespace) -> int:
    """n-gram probability of the token CONT after PROMPT: count(PROMPT CONT) / count(PROMPT)."""
    idx = _open(args)
    res = idx.prob(_query(args, args.prompt, "prompt"), _cont(args, args.cont))
    if args.json:
        _emit_json(res)
        return 0
    from .render import fmt_int, fmt_prob

    if res.prompt_cnt == 0:
        print("prompt not found (prob = -1)")
    else:
        print(f"prob: {fmt_prob(res.prob)}  ({fmt_int(res.cont_cnt)} / {fmt_int(res.prompt_cnt)})")
    return 0


def _print_ntd(idx: Index, res: Any, top: int) -> None:
    from .render import fmt_int, plural, render_distribution

    kind = "approximate, sampled" if res.approx else "exact"
    print(f"prompt count: {fmt_int(res.prompt_cnt)}; {plural(len(res.result_by_token_id), 'distinct next token')} ({kind})")
    if res.result_by_token_id:
        print(render_distribution(res.result_by_token_id, _decoder(idx), idx.eos_token_id, top))


def cmd_ntd(args: argparse.Namespace) -> int:
    """Next-token distribution after PROMPT (n-gram): token, count, probability."""
    idx = _open(args)
    res = idx.ntd(_query(args, args.prompt, "prompt"), max_support=args.max_support)
    if args.json:
        _emit_json(res)
        return 0
    _print_ntd(idx, res, args.top)
    return 0


def cmd_infgram(args: argparse.Namespace) -> int:
    """∞-gram: the next-token distribution (or, with --cont, the probability of one token) after
    the longest suffix of PROMPT that occurs in the corpus."""
    idx = _open(args)
    prompt = _query(args, args.prompt, "prompt")
    if args.cont is not None:
        res = idx.infgram_prob(prompt, _cont(args, args.cont))
    else:
        res = idx.infgram_ntd(prompt, max_support=args.max_support)
    if args.json:
        _emit_json(res)
        return 0
    from .render import fmt_int, fmt_prob

    ids = prompt if isinstance(prompt, list) else idx.tokenize(prompt)
    suffix = ids[len(ids) - res.suffix_len :] if res.suffix_len else []
    print(f"longest suffix found: {res.suffix_len} of {len(ids)} tokens  {_show(idx, suffix)}")
    if args.cont is not None:
        if res.prompt_cnt == 0:
            print("prob: -1 (suffix not found)")
        else:
            print(f"prob: {fmt_prob(res.prob)}  ({fmt_int(res.cont_cnt)} / {fmt_int(res.prompt_cnt)})")
    else:
        _print_ntd(idx, res, args.top)
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    """Show documents containing QUERY, with their metadata and the match highlighted.

    Occurrences are sampled uniformly (use --seed for a repeatable sample). The match is shown in
    bold colour on a terminal and between [[ ]] otherwise (NO_COLOR disables colour).
    """
    idx = _open(args)
    q = _query(args, args.query)
    res = idx.search_docs(q, maxnum=args.maxnum, max_disp_len=args.context, seed=args.seed)
    if args.json:
        _emit_json(res)
        return 0
    from .render import plural, render_doc, use_color

    color = use_color(sys.stdout)
    n = _query_len(idx, q)
    if res.cnt == 0:
        print("no match")
        return 0
    # occurrences are sampled with replacement (as infini-gram does): show each one once
    seen: set[tuple[int, int]] = set()
    docs = [d for d in res.documents if (d.shard, d.ptr) not in seen and not seen.add((d.shard, d.ptr))]  # type: ignore[func-returns-value]
    print(f"{plural(res.cnt, 'occurrence')}; showing {len(docs)}")
    for doc in docs:
        print()
        print(render_doc(doc, _decoder(idx), n, color))
    return 0


def cmd_doc(args: argparse.Namespace) -> int:
    """Show one document: by number (--ix), or around a byte offset (--shard --ptr) or a
    suffix-array rank (--shard --rank) as returned by `find` and `search --json`."""
    from anygram.errors import QueryError

    idx = _open(args)
    if args.ix is not None:
        if args.shard is not None or args.ptr is not None or args.rank is not None:
            raise QueryError("give either --ix, or --shard with --ptr or --rank")
        doc = idx.get_doc_by_ix(args.ix, max_disp_len=args.context)
    else:
        if args.shard is None or (args.ptr is None) == (args.rank is None):
            raise QueryError("give either --ix, or --shard with exactly one of --ptr and --rank")
        if args.ptr is not None:
            doc = idx.get_doc_by_ptr(args.shard, args.ptr, max_disp_len=args.context)
        else:
            doc = idx.get_doc_by_rank(args.shard, args.rank, max_disp_len=args.context)
    if args.json:
        _emit_json(doc)
        return 0
    from .render import render_doc

    print(render_doc(doc, _decoder(idx), 0, False))
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    """Score a text (FILE, or - for stdin) with the ∞-gram model: per-token probabilities,
    perplexity, and how long the matched suffixes are."""
    from anygram.errors import CorpusError

    try:
        if args.file == "-":
            text = sys.stdin.read()
        else:
            with open(args.file, encoding="utf-8") as f:
                text = f.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise CorpusError(f"cannot read {args.file}: {exc}") from None
    idx = _open(args)
    res = idx.score(_query(args, text, "text"))
    if args.json:
        _emit_json(res)
        return 0
    print(render_score(idx, res, args.tokens))
    return 0


def render_score(idx: Index, res: Any, per_token: bool) -> str:
    from .render import fmt_float, fmt_int, fmt_prob, kv_table, table, token_label

    dec = _decoder(idx)
    lines = []
    if per_token:
        rows = [
            [str(i), str(t), token_label(dec, t, None), fmt_prob(p), str(sl), fmt_int(pc), fmt_int(cc)]
            for i, (t, p, sl, pc, cc) in enumerate(zip(res.token_ids, res.probs, res.suffix_lens, res.prompt_cnts, res.cont_cnts))
        ]
        lines.append(table(rows, headers=["pos", "id", "token", "prob", "suffix", "prompt_cnt", "cont_cnt"], align="rrlrrrr"))
        lines.append("")
    n = len(res.token_ids)
    pairs: list[tuple[str, Any]] = [
        ("tokens", fmt_int(n)),
        ("perplexity", fmt_float(res.perplexity, 2)),
        ("zero-prob tokens", fmt_int(res.zero_prob_tokens)),
        ("mean matched suffix", f"{res.mean_suffix_len:.2f} tokens"),
    ]
    if n:
        # the longest span of the text found in the corpus: a matched suffix plus the token after it
        best = max(range(n), key=lambda i: (res.suffix_lens[i] + (res.cont_cnts[i] > 0), -i))
        length = res.suffix_lens[best] + (1 if res.cont_cnts[best] > 0 else 0)
        start = best - res.suffix_lens[best]
        span = res.token_ids[start : start + length]
        pairs.append(("longest match", f"{length} tokens at {start}  {_show(idx, span)}"))
    lines.append(kv_table(pairs))
    return "\n".join(lines)


def _serve_specs(specs: list[str]) -> dict[str, str | list[str]]:
    """``IDX`` arguments of ``serve``: ``DIR`` (served under its folder name) or ``NAME=DIR[,DIR...]``."""
    from anygram.server.exceptions import ServerConfigError

    out: dict[str, str | list[str]] = {}
    for spec in specs:
        if "=" in spec and not os.path.exists(spec):
            name, path = spec.split("=", 1)
        else:
            name, path = os.path.basename(os.path.normpath(spec.split(",")[0])), spec
        if name in out:
            raise ServerConfigError(f"two indexes are named {name!r}: give one a name with NAME=DIR")
        out[name] = _index_paths(path)
    return out


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve indexes over HTTP: a JSON API, infini-gram's API protocol and a web page.

    Each IDX is an index directory, served under its folder name, or NAME=DIR (NAME=DIR1,DIR2 for
    several directories queried together). Clients only ever send a name. The server listens on
    127.0.0.1 unless --host says otherwise; the web page is at /, the API docs at /docs.
    Needs the server extra: pip install 'anygram[server]'.
    """
    from anygram.errors import MissingExtraError

    try:
        import fastapi  # noqa: F401
    except ImportError:
        raise MissingExtraError("fastapi", "server", "anygram serve") from None
    try:
        import uvicorn
    except ImportError:
        raise MissingExtraError("uvicorn", "server", "anygram serve") from None
    from anygram.builder.resources import parse_size
    from anygram.index import open as open_index
    from anygram.server import ServerLimits, create_app

    limits = ServerLimits(
        time_budget=args.timeout,
        workers=args.workers,
        max_pending=max(args.max_pending, args.workers),
        max_body_bytes=parse_size(args.max_body) or 0,
        max_query_tokens=args.max_query_tokens,
        max_maxnum=args.max_maxnum,
        max_disp_len=args.max_disp_len,
        max_support=args.max_support or None,
        max_cnf_clauses=args.max_cnf_clauses,
        max_cnf_terms=args.max_cnf_terms,
    )
    indexes = {}
    for name, paths in _serve_specs(args.indexes).items():
        idx = open_index(paths)
        idx.count([])  # load the kernels before the first request
        indexes[name] = idx
    app = create_app(indexes, limits)
    print(f"{PROG}: serving {', '.join(indexes)} on http://{args.host}:{args.port}/ (API docs at /docs)", file=sys.stderr)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"{PROG}: warning: listening on {args.host}: reachable from other machines", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning" if args.quiet else "info")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Index this Python's standard library sources and run a few example queries (no download)."""
    from .demo import run_demo

    return run_demo(args)


# ============================================================== parser
def _doc(fn: Callable[..., Any]) -> tuple[str, str]:
    text = (fn.__doc__ or "").strip()
    first = text.split("\n\n", 1)[0].replace("\n", " ")
    return " ".join(first.split()), text


def build_parser() -> argparse.ArgumentParser:
    from anygram._version import __version__

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Exact search, n-gram and ∞-gram language models over large corpora (suffix arrays).",
        epilog="Run 'anygram COMMAND --help' for the options of a command; 'anygram demo' for a tour.",
    )
    parser.add_argument("--version", action="version", version=f"anygram {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    sub.required = True

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print the result as JSON (exactly result.to_dict())")

    query = argparse.ArgumentParser(add_help=False, parents=[common])
    query.add_argument("index", metavar="IDX", help="index directory (several: comma-separated, queried together)")
    query.add_argument("--ids", action="store_true", help="queries are token ids separated by spaces or commas, not text")

    def add(name: str, fn: Callable[..., Any], parents: list[argparse.ArgumentParser]) -> argparse.ArgumentParser:
        short, full = _doc(fn)
        p = sub.add_parser(name, help=short, description=full, parents=parents, formatter_class=argparse.RawDescriptionHelpFormatter)
        p.set_defaults(func=fn)
        return p

    # index
    p = add("index", cmd_index, [common])
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="files or folders (.txt/.md/.py..., .jsonl(.gz/.zst), .parquet)")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="index directory to create")
    p.add_argument("--tokenizer", metavar="PATH|bytes", default=None, help="tokenizer.json (or its folder), or 'bytes' for UTF-8 bytes (default)")
    p.add_argument("--eos-token-id", type=int, default=None, metavar="ID", help="token id that marks the end of a document in ntd results")
    p.add_argument("--text-field", default="text", metavar="F", help="JSONL/parquet field with the text (default: text)")
    p.add_argument("--ids-field", default=None, metavar="F", help="JSONL/parquet field with pre-tokenized token ids")
    p.add_argument("--token-width", type=int, choices=(1, 2, 4), default=None, metavar="W", help="bytes per token id with --ids-field (1, 2 or 4; default 2)")
    p.add_argument("--max-memory", default=None, metavar="SIZE", help="RAM the build may use, e.g. 8G (default: 60%% of available)")
    p.add_argument("--workers", type=int, default=None, metavar="N", help="processes: 1 reads/tokenizes, N-1 sort suffix arrays (default: CPU count)")
    p.add_argument("--shard-tokens", type=int, default=None, metavar="N", help="at most N tokens per shard (default: from --max-memory)")
    p.add_argument("--include", action="append", metavar="GLOB", help="only files matching GLOB in folders (repeatable)")
    p.add_argument("--exclude", action="append", metavar="GLOB", help="skip files matching GLOB in folders (repeatable)")
    p.add_argument("--strict", action="store_true", help="fail on the first bad record instead of skipping it")
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.add_argument("--kind", choices=("sa", "fm"), default="sa", help="sa: suffix arrays (default); fm: compact FM-index (docs/fm.md)")
    p.add_argument("--sa-sample", type=int, default=None, metavar="N", help="--kind fm: keep every N-th suffix-array entry (default 64; locate cost ~N steps)")
    p.add_argument("--isa-sample", type=int, default=None, metavar="M", help="--kind fm: inverse suffix-array sample rate (default 128; document reads start within M steps)")
    p.add_argument("--rank", default=None, metavar="NAME", help="--kind fm: rank structure over the BWT (module anygram.fm.rank_NAME)")

    p = add("info", cmd_info, [common])
    p.add_argument("index", metavar="IDX", help="index directory (several: comma-separated)")
    p.add_argument("--verify", action="store_true", help="checksum every file (reads the whole index)")

    p = add("count", cmd_count, [query])
    p.add_argument("query", metavar="QUERY")

    p = add("find", cmd_find, [query])
    p.add_argument("query", metavar="QUERY")

    p = add("prob", cmd_prob, [query])
    p.add_argument("prompt", metavar="PROMPT")
    p.add_argument("cont", metavar="CONT", help="one token: a string that is one token, or an id with --ids")

    p = add("ntd", cmd_ntd, [query])
    p.add_argument("prompt", metavar="PROMPT", help="may be empty ('') for the unigram distribution")
    p.add_argument("--max-support", type=int, default=None, metavar="N", help="sample prompts with more than N occurrences (default: exact)")
    p.add_argument("--top", type=int, default=20, metavar="K", help="show the K most frequent tokens (default 20)")

    p = add("infgram", cmd_infgram, [query])
    p.add_argument("prompt", metavar="PROMPT")
    p.add_argument("--cont", default=None, metavar="TOKEN", help="probability of this one token instead of the distribution")
    p.add_argument("--max-support", type=int, default=None, metavar="N", help="sample suffixes with more than N occurrences")
    p.add_argument("--top", type=int, default=20, metavar="K", help="show the K most frequent tokens (default 20)")

    p = add("search", cmd_search, [query])
    p.add_argument("query", metavar="QUERY")
    p.add_argument("--maxnum", type=int, default=3, metavar="N", help="documents to show (default 3)")
    p.add_argument("--context", type=int, default=200, metavar="TOKENS", help="tokens shown around each match (default 200)")
    p.add_argument("--seed", type=int, default=None, metavar="S", help="random seed of the sample")

    p = add("doc", cmd_doc, [query])
    p.add_argument("--ix", type=int, default=None, metavar="N", help="document number (over all shards)")
    p.add_argument("--shard", type=int, default=None, metavar="S", help="shard number, with --ptr or --rank")
    p.add_argument("--ptr", type=int, default=None, metavar="P", help="byte offset in the shard")
    p.add_argument("--rank", type=int, default=None, metavar="R", help="rank in the shard's suffix array")
    p.add_argument("--context", type=int, default=1000, metavar="N", help="tokens to show (default 1000)")

    p = add("score", cmd_score, [query])
    p.add_argument("file", metavar="FILE", help="text file to score, or - for stdin")
    p.add_argument("--tokens", action="store_true", help="also print a per-token table")

    p = add("serve", cmd_serve, [])
    p.add_argument("indexes", nargs="+", metavar="IDX", help="index directory, or NAME=DIR (NAME=DIR1,DIR2: several queried together)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--timeout", type=float, default=10.0, metavar="S", help="time budget of one query in seconds (default 10; HTTP 503 above)")
    p.add_argument("--workers", type=int, default=4, metavar="N", help="threads running queries (default 4)")
    p.add_argument("--max-pending", type=int, default=64, metavar="N", help="queries admitted at once, running or queued (default 64)")
    p.add_argument("--max-body", default="1M", metavar="SIZE", help="largest request body (default 1M; HTTP 413 above)")
    p.add_argument("--max-query-tokens", type=int, default=1000, metavar="N", help="tokens of one query (default 1000)")
    p.add_argument("--max-maxnum", type=int, default=10, metavar="N", help="documents one search may return (default 10)")
    p.add_argument("--max-disp-len", type=int, default=10_000, metavar="N", help="tokens shown per document (default 10000)")
    p.add_argument("--max-support", type=int, default=1000, metavar="N", help="largest and default max_support of ntd (default 1000; 0: exact by default, no limit)")
    p.add_argument("--max-cnf-clauses", type=int, default=4, metavar="N", help="clauses (AND) of a CNF query (default 4)")
    p.add_argument("--max-cnf-terms", type=int, default=4, metavar="N", help="terms (OR) per CNF clause (default 4)")
    p.add_argument("-q", "--quiet", action="store_true", help="log warnings only, not every request")

    p = add("demo", cmd_demo, [common])
    p.add_argument("--out", default=None, metavar="DIR", help="build the demo index in DIR (default: a temporary directory)")
    p.add_argument("--keep", action="store_true", help="keep the temporary index and print its path")
    p.add_argument(
        "--max-bytes", default=None, metavar="SIZE",
        help="index at most this much source text (default 40M, or $ANYGRAM_DEMO_MAX_BYTES)",
    )

    from . import contam, dedup, novelty, trace

    trace.add_parser(add, query)
    novelty.add_parser(add, query)
    contam.add_parser(add, common)
    dedup.add_parser(add, common)
    return parser


COMMANDS = ("index", "info", "count", "find", "prob", "ntd", "infgram", "search", "doc", "score", "serve", "demo", "trace", "novelty", "contam", "dedup")


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (the console script exits with it)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error (already printed)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    if args.command in ONE_SHOT and not getattr(args, "verify", False) and "anygram.engine._jit" not in sys.modules:
        # a handful of binary searches: run the kernels as plain Python and skip numba's start-up
        # (~0.3 s import + cache loading); `score` and `demo` scan whole texts and keep the JIT
        os.environ.setdefault("ANYGRAM_JIT", "0")
    from anygram.errors import AnygramError

    try:
        return int(args.func(args) or 0)
    except AnygramError as exc:
        _flush_stdout()
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        _flush_stdout()
        print(f"\n{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `anygram search ... | head`
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass
        return 0


def _flush_stdout() -> None:
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
