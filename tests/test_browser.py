"""The web page in a real headless Chromium (Debian's ``chromium``, driven by Playwright).

A real uvicorn server runs on a free loopback port over a small index; the tests type queries in
the page as a user would and check what it shows against the Python API: the count, the
highlighted matches in documents, the next-token bar chart, errors and the loading state.
Screenshots go to a temporary directory, or to ``$ANYGRAM_SCREENSHOTS`` when it is set.

Playwright drives the system's Chromium (``executable_path``), so ``playwright install`` (a
browser download) is never needed. The tests skip only when no Chromium binary is found
(``.ci/run`` installs Debian's ``chromium`` when it runs as root); set ``ANYGRAM_CHROMIUM`` to use
another binary.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")

import anygram
from anygram.analyses.benchmarks import BenchItem
from anygram.analyses.contamination import ContamParams, score_items
from anygram.server import ServerLimits, create_app
from helpers import build_from_ids, write_jsonl

pytestmark = pytest.mark.browser

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


def find_chromium() -> str | None:
    env = os.environ.get("ANYGRAM_CHROMIUM")
    if env:
        return env if Path(env).is_file() else None
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


CHROMIUM = find_chromium()
if CHROMIUM is None:
    pytest.skip(
        "no Chromium binary found (looked for " + ", ".join(CHROMIUM_NAMES) + " on PATH and $ANYGRAM_CHROMIUM); "
        "install Debian's chromium (apt-get install chromium; .ci/run does it as root)",
        allow_module_level=True,
    )

# Playwright is in the test dependency group: its absence is an installation error, not a skip
from playwright.sync_api import Browser, Page, expect, sync_playwright

LONG = (
    "Exact substring search over a suffix array answers how often a string occurs in a corpus, "
    "and in which documents, in milliseconds even for very large collections of text."
)
DOCS = [
    {"text": "the cat sat on the mat and the cat slept", "title": "cats"},
    {"text": LONG, "title": "long"},
    {"text": "Some other document about suffix arrays and search engines.", "title": "other"},
    {"text": "the dog sat on the log", "title": "dogs"},
    {"text": "a cat and a dog met the cat at noon", "title": "both"},
    {"text": "the quick brown fox jumps over the lazy dog", "title": "fox"},
    {"text": "naïve café – unicode ✓ and <b>not bold</b>", "title": "html & unicode"},
]


@pytest.fixture(scope="module")
def idx(tmp_path_factory: pytest.TempPathFactory) -> anygram.Index:
    tmp = tmp_path_factory.mktemp("browser")
    src = write_jsonl(tmp / "src" / "docs.jsonl", DOCS)
    anygram.build(src, tmp / "idx", workers=1, overwrite=True)
    return anygram.open(tmp / "idx")


@pytest.fixture(scope="module")
def ids_idx(tmp_path_factory: pytest.TempPathFactory) -> anygram.Index:
    return build_from_ids(tmp_path_factory.mktemp("browser_ids"), [[1, 2, 3, 4], [2, 3, 5], [7, 2, 3]], token_width=2)


@pytest.fixture(scope="module")
def server(idx: anygram.Index, ids_idx: anygram.Index) -> Iterator[str]:
    """A real uvicorn server on a free loopback port (bound here, so no race for the port)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = create_app({"tiny": idx, "ids": ids_idx}, ServerLimits(time_budget=10))
    srv = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = os.environ.get("ANYGRAM_SCREENSHOTS")
    path = Path(out) if out else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def page(browser: Browser, server: str) -> Iterator[Page]:
    ctx = browser.new_context(viewport={"width": 1100, "height": 800})
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.set_default_timeout(10_000)
    pg.goto(server + "/")
    pg.wait_for_selector("body[data-ready='1']")
    yield pg
    ctx.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def shot(page: Page, shots: Path, name: str) -> Path:
    path = shots / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 1000
    return path


def search(page: Page, qtype: str, text: str) -> None:
    page.select_option("#qtype", qtype)
    page.fill("#q", text)
    page.press("#q", "Enter")
    expect(page.locator("#status")).to_contain_text("answered in")


def test_page_explains_itself(page: Page) -> None:
    """Labels, help for the selected query type, a placeholder and the index's size are shown."""
    expect(page.locator("#index")).to_have_value("tiny")
    expect(page.locator("#index-info")).to_contain_text(f"{len(DOCS)} documents")
    expect(page.locator("#qtype-help")).to_contain_text("How many times")
    assert page.get_attribute("#q", "placeholder")
    page.select_option("#qtype", "search_docs")
    expect(page.locator("#qtype-help")).to_contain_text("Documents containing")
    expect(page.locator("#maxnum-label")).to_be_visible()
    page.select_option("#qtype", "count")
    expect(page.locator("#maxnum-label")).to_be_hidden()


def test_count(page: Page, idx: anygram.Index, shots: Path) -> None:
    search(page, "count", "the cat")
    expected = idx.count("the cat").count
    assert expected == 3
    expect(page.locator("#result .count")).to_have_text(f"{expected:,}")
    expect(page.locator("#result")).to_contain_text("occurrences")
    shot(page, shots, "count")
    # a text that does not occur: 0, not an error
    search(page, "count", "the zebra")
    expect(page.locator("#result .count")).to_have_text("0")
    # a CNF count
    search(page, "count", "cat AND dog")
    expect(page.locator("#result .count")).to_have_text(str(idx.count_cnf([["cat"], ["dog"]]).count))


def test_documents_highlight_matches(page: Page, idx: anygram.Index, shots: Path) -> None:
    page.select_option("#qtype", "search_docs")
    page.fill("#maxnum", "10")
    search(page, "search_docs", "cat")
    res = idx.search_docs("cat", 10)
    expect(page.locator("#result .count")).to_have_text(str(res.cnt))
    arts = page.locator("#result article.doc")
    expect(arts.first).to_be_visible()
    # occurrences are sampled at random (with replacement): each one is shown once, all from
    # documents that contain the query
    n = arts.count()
    assert 1 <= n <= res.cnt
    headings = arts.locator("h3").all_inner_texts()
    assert len(set(headings)) == n
    assert {int(re.search(r"Document #(\d+)", t).group(1)) for t in headings} <= {i for i, d in enumerate(DOCS) if "cat" in d["text"]}
    # every occurrence of "cat" in each shown document is highlighted, and only those
    for i in range(arts.count()):
        art = arts.nth(i)
        doc_ix = int(re.search(r"Document #(\d+)", art.locator("h3").inner_text()).group(1))
        text = DOCS[doc_ix]["text"]
        assert art.locator("pre").inner_text() == text
        marks = art.locator("pre mark").all_inner_texts()
        assert marks == ["cat"] * text.count("cat")
        expect(art.locator("table.meta")).to_contain_text(DOCS[doc_ix]["title"])
    shot(page, shots, "documents")


def test_documents_text_is_not_html(page: Page) -> None:
    """Corpus text with markup is shown as text, never interpreted."""
    search(page, "search_docs", "<b>not")
    pre = page.locator("#result article.doc pre").first
    expect(pre).to_contain_text("<b>not bold</b>")
    expect(pre.locator("b")).to_have_count(0)
    expect(pre.locator("mark")).to_have_text("<b>not")


def test_ntd_bar_chart(page: Page, idx: anygram.Index, shots: Path) -> None:
    search(page, "ntd", "the ")
    res = idx.ntd("the ", 1000)
    entries = sorted(res.result_by_token_id.items(), key=lambda kv: -kv[1].cont_cnt)
    bars = page.locator("#result .chart .bar")
    expect(bars).to_have_count(min(25, len(entries)))
    labels = page.locator("#result .chart .tok").all_inner_texts()
    nums = page.locator("#result .chart .num").all_inner_texts()
    got = {lab: int(n.split(" ·")[0].replace(",", "")) for lab, n in zip(labels, nums)}
    want = {'"' + idx.decode([t]) + '"': e.cont_cnt for t, e in entries}
    assert got == want
    # bar widths are proportional to the counts, the largest at 100 %
    widths = [float(re.search(r"width:\s*([\d.]+)%", bars.nth(i).get_attribute("style")).group(1)) for i in range(bars.count())]
    top = entries[0][1].cont_cnt
    assert widths == pytest.approx([100 * e.cont_cnt / top for _, e in entries], abs=0.06)
    expect(page.locator("#result")).to_contain_text(f"prompt count {res.prompt_cnt}")
    shot(page, shots, "ntd")
    # the ∞-gram form answers a prompt whose full text never occurs
    search(page, "infgram_ntd", "zzz the ")
    inf = idx.infgram_ntd("zzz the ", 1000)
    assert inf.suffix_len == len(" the ")
    expect(page.locator("#result")).to_contain_text(f"prompt count {inf.prompt_cnt} · {len(inf.result_by_token_id)} distinct next tokens · longest suffix found: {inf.suffix_len} tokens")


def test_errors_are_shown(page: Page) -> None:
    page.check("#ids")
    search_error(page, "99999")
    expect(page.locator("#status")).to_contain_text("99999")
    search_error(page, "12 abc")
    expect(page.locator("#status")).to_contain_text("token ids must be integers")
    page.uncheck("#ids")
    page.select_option("#qtype", "ntd")
    search_error(page, "a AND b")
    expect(page.locator("#status")).to_contain_text("plain prompt")


def test_ids_only_index(page: Page, ids_idx: anygram.Index) -> None:
    """An index without a tokenizer: the page switches to token ids and says so."""
    page.select_option("#index", "ids")
    expect(page.locator("#index-info")).to_contain_text("tokenizer: none (type token ids)")
    expect(page.locator("#ids")).to_be_checked()
    expect(page.locator("#ids")).to_be_disabled()
    expect(page.locator("#examples button")).to_have_count(0)
    search(page, "count", "2 3")
    expect(page.locator("#result .count")).to_have_text(str(ids_idx.count([2, 3]).count))
    page.select_option("#index", "tiny")
    expect(page.locator("#ids")).to_be_enabled()
    expect(page.locator("#ids")).not_to_be_checked()


def search_error(page: Page, text: str) -> None:
    page.fill("#q", text)
    page.press("#q", "Enter")
    expect(page.locator("#status.error")).to_be_visible()
    expect(page.locator("#go")).to_be_enabled()


def test_loading_state(page: Page) -> None:
    """While a query runs the button is disabled and a spinner says so; then the answer replaces it."""
    page.evaluate(
        "window._fetch = window.fetch; window.fetch = (...a) => new Promise((ok) => setTimeout(() => ok(window._fetch(...a)), 700))"
    )
    page.fill("#q", "dog")
    page.press("#q", "Enter")
    expect(page.locator("#go")).to_be_disabled()
    expect(page.locator("#status.loading")).to_contain_text("Searching")
    expect(page.locator("#result .count")).to_have_text("3")
    expect(page.locator("#go")).to_be_enabled()
    expect(page.locator("#status")).not_to_have_class(re.compile("loading"))


def test_examples_and_shareable_link(page: Page, server: str, idx: anygram.Index) -> None:
    """The example buttons (taken from the index) run a query that matches; the URL replays it."""
    buttons = page.locator("#examples button.example")
    expect(buttons).to_have_count(3)
    buttons.first.click()
    expect(page.locator("#status")).to_contain_text("answered in")
    query = page.input_value("#q")
    assert int(page.inner_text("#result .count").replace(",", "")) == idx.count(query).count > 0
    url = page.url
    assert "#search?" in url
    page.goto("about:blank")
    page.goto(url)
    expect(page.locator("#result .count")).to_have_text(f"{idx.count(query).count:,}")
    expect(page.locator("#q")).to_have_value(query)


# ------------------------------------------------------------------ trace view
def test_trace_view(page: Page, idx: anygram.Index, shots: Path) -> None:
    page.click("a.tab[data-view=trace]")
    expect(page.locator("#view-trace")).to_be_visible()
    expect(page.locator("#view-search")).to_be_hidden()
    page.click("#trace-go")
    expect(page.locator("#trace-status.error")).to_contain_text("paste a text")

    text = "A model wrote: " + LONG[30:110] + " and then we do not know. Also suffix arrays and search engines."
    page.fill("#trace-text", text)
    page.fill("#trace-min", "12")
    page.click("#trace-go")
    expect(page.locator("#trace-status")).to_contain_text("answered in")
    res = idx.attribute(text, min_len=12, max_docs=10, context=50)
    assert len(res.spans) == 2
    expect(page.locator("#trace-status")).to_contain_text(f"{len(res.spans)} spans found")
    # the highlighted parts of the text are exactly the characters of the spans
    covered = sorted({i for s in res.spans for i in range(s.char_start, s.char_end)})
    marks = page.locator("#trace-result pre.traced mark")
    assert "".join(marks.all_inner_texts()) == "".join(text[i] for i in covered)
    assert page.inner_text("#trace-result pre.traced") == text
    cards = page.locator("#trace-result article.span-card")
    expect(cards).to_have_count(len(res.spans))
    for i, s in enumerate(res.spans):
        card = cards.nth(i)
        expect(card.locator("h3")).to_contain_text(f"{s.length} tokens · {s.count} occurrence")
        expect(card.locator("pre.span-text mark")).to_have_text(s.text)
        docs = card.locator("div.doc")
        expect(docs).to_have_count(len(s.docs))
        for k in range(len(s.docs)):
            expect(docs.nth(k).locator("h4")).to_contain_text(f"Document #{s.docs[k].doc_ix}")
            expect(docs.nth(k).locator("pre mark")).to_have_text(s.text)
            expect(docs.nth(k).locator("table.meta")).to_contain_text(DOCS[s.docs[k].doc_ix]["title"])
    # a highlighted span leads to its documents
    marks.last.click()
    expect(cards.last).to_have_class(re.compile("flash"))
    shot(page, shots, "trace")


# ------------------------------------------------------------------ contamination view
def expected_contam(idx: anygram.Index, items: list[tuple[str, str]], window: int) -> Any:
    """What the server computes (its defaults: 3 documents, 200 tokens of context)."""
    params = ContamParams(window=window, docs=3, context=200)
    return score_items(idx, [BenchItem(id=i, text=t) for i, t in items], params, threads=1)


def contam_rows(page: Page) -> list[list[str]]:
    rows = page.locator("#contam-result table.contam tr.item-row")
    return [[c.strip() for c in rows.nth(i).locator("td").all_inner_texts()] for i in range(rows.count())]


def test_contamination_view_pasted_items(page: Page, idx: anygram.Index, shots: Path) -> None:
    items = [
        LONG,
        LONG[:60] + " but then something entirely new and different appears here",
        "nothing like this is in the corpus at all, not one bit of it",
    ]
    page.click("a.tab[data-view=contam]")
    page.fill("#contam-text", "\n".join(items))
    page.fill("#contam-window", "20")
    page.click("#contam-go")
    expect(page.locator("#contam-status")).to_contain_text("3 items checked")
    want = expected_contam(idx, [(str(i + 1), t) for i, t in enumerate(items)], 20)
    assert [r.windows.label for r in want.item_results] == ["dirty", "suspicious", "clean"]
    rows = contam_rows(page)
    assert [r[0] for r in rows] == ["1", "2", "3"]
    for row, r in zip(rows, want.item_results):
        assert row[2].startswith(r.windows.label) and f"({r.windows.found}/{r.windows.total})" in row[2]
        assert row[3].startswith(r.ngrams.label) and f"({r.ngrams.found}/{r.ngrams.total})" in row[3]
        assert row[4].startswith(f"{r.longest.tokens} tok")
    summary = page.locator("#contam-result .summary")
    expect(summary).to_contain_text("dirty 1 (33.3%)")
    # the parts of item 2 found in the corpus are highlighted (windows are characters here)
    marks = page.locator("#contam-result tr.item-row").nth(1).locator("mark").all_inner_texts()
    r2 = want.item_results[1]
    assert marks == [items[1][a:b] for a, b in r2.spans]
    # a click shows the longest span and the documents holding it, the span highlighted
    page.locator("#contam-result tr.item-row").first.click()
    detail = page.locator("#contam-result tr.item-detail").first
    expect(detail).to_be_visible()
    expect(detail).to_contain_text(f"Longest span found: {want.item_results[0].longest.tokens} tokens")
    expect(detail.locator("div.doc pre mark")).to_have_text(want.item_results[0].longest.text)
    expect(detail.locator("div.doc")).to_contain_text("long")
    shot(page, shots, "contamination")
    # the class filter
    page.select_option("#contam-filter", "dirty")
    expect(page.locator("#contam-result tr.item-row:visible")).to_have_count(1)
    page.select_option("#contam-filter", "")
    expect(page.locator("#contam-result tr.item-row:visible")).to_have_count(3)


def test_contamination_view_jsonl_file(page: Page, idx: anygram.Index, tmp_path: Path) -> None:
    f = write_jsonl(tmp_path / "bench.jsonl", [
        {"id": "q1", "question": LONG, "answer": "yes"},
        {"id": "q2", "question": "a question nobody ever wrote into this small corpus", "answer": "no"},
    ])
    page.click("a.tab[data-view=contam]")
    page.set_input_files("#contam-file", str(f))
    expect(page.locator("#contam-file-info")).to_contain_text("bench.jsonl")
    page.fill("#contam-fields", "prompt")
    page.click("#contam-go")
    expect(page.locator("#contam-status.error")).to_contain_text("has no field prompt")
    page.fill("#contam-fields", "question")
    page.fill("#contam-window", "20")
    page.click("#contam-go")
    expect(page.locator("#contam-status")).to_contain_text("2 items checked")
    rows = contam_rows(page)
    assert [(r[0], r[2].split()[0]) for r in rows] == [("q1", "dirty"), ("q2", "clean")]
