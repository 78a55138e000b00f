// anygram web page: plain JavaScript over the JSON API (/api/v1/...). Text from the corpus is
// always inserted with textContent, never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { indexes: {} };

async function api(path, body) {
  const init = body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  };
  const resp = await fetch("/api/v1/" + path, init);
  let data;
  try { data = await resp.json(); } catch (e) { data = { detail: resp.statusText }; }
  if (!resp.ok) {
    const d = data.detail;
    const msg = Array.isArray(d) ? d.map((e) => (e.loc || []).join(".") + ": " + e.msg).join("; ") : (d || data.error);
    throw new Error(resp.status + ": " + msg);
  }
  return data;
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

const fmt = (n) => Number(n).toLocaleString("en-US");

function parseIds(text) {
  const parts = text.split(/[\s,]+/).filter(Boolean);
  const ids = parts.map((p) => Number(p));
  if (ids.some((x) => !Number.isInteger(x))) throw new Error("token ids must be integers separated by spaces or commas");
  return ids;
}

// "a OR b AND c" -> [["a", "b"], ["c"]] (OR binds tighter than AND, as in infini-gram)
function parseCnf(text) {
  return text.split(" AND ").map((clause) => clause.split(" OR "));
}

async function termIds(index, terms) {
  if ($("ids").checked) return terms.map(parseIds);
  const r = await api(index + "/tokenize", { texts: terms });
  return r.token_ids;
}

// split token ids into [ids, isMatch] segments around occurrences of any term (longest first)
function segments(tokens, terms) {
  const sorted = terms.filter((t) => t.length).sort((a, b) => b.length - a.length);
  const out = [];
  let plain = [];
  for (let i = 0; i < tokens.length;) {
    const hit = sorted.find((t) => t.every((x, j) => tokens[i + j] === x));
    if (hit) {
      if (plain.length) out.push([plain, false]);
      out.push([tokens.slice(i, i + hit.length), true]);
      plain = [];
      i += hit.length;
    } else {
      plain.push(tokens[i]);
      i += 1;
    }
  }
  if (plain.length) out.push([plain, false]);
  return out;
}

function flatten(obj, prefix, rows) {
  for (const [k, v] of Object.entries(obj || {})) {
    const key = prefix ? prefix + "." + k : k;
    if (v && typeof v === "object" && !Array.isArray(v)) flatten(v, key, rows);
    else rows.push([key, typeof v === "string" ? v : JSON.stringify(v)]);
  }
  return rows;
}

async function showDocs(index, res, terms) {
  const out = $("result");
  // occurrences are sampled with replacement (as infini-gram does): show each one once
  const seen = new Set();
  const docs = [];
  res.documents.forEach((d, i) => {
    const key = d.shard + ":" + d.ptr;
    if (!seen.has(key)) { seen.add(key); docs.push([d, res.idxs[i]]); }
  });
  const kind = res.approx ? " occurrences (approximate)" : " occurrences";
  out.append(el("p", {}, el("span", { class: "count" }, fmt(res.cnt)), kind, docs.length ? `; showing ${docs.length}` : ""));
  if (!docs.length) {
    out.append(el("p", { class: "muted" }, "No document contains it. Matching is exact and case-sensitive: try a shorter text."));
    return;
  }
  const segs = docs.map(([d]) => segments(d.token_ids, terms));
  const flat = segs.flat().map(([ids]) => ids);
  const texts = flat.length ? (await api(index + "/decode", { token_ids: flat })).texts : [];
  let k = 0;
  docs.forEach(([d, occurrence], i) => {
    const pre = el("pre");
    for (const [, isMatch] of segs[i]) {
      const t = texts[k++];
      pre.append(isMatch ? el("mark", {}, t) : document.createTextNode(t));
    }
    const meta = el("table", { class: "meta" });
    for (const [key, v] of flatten(d.metadata, "", [])) meta.append(el("tr", {}, el("td", {}, key), el("td", {}, v)));
    const shown = d.disp_len < d.doc_len ? `, ${fmt(d.disp_len)} shown` : "";
    out.append(el("article", { class: "doc" },
      el("h3", {}, `Document #${fmt(d.doc_ix)} · ${fmt(d.doc_len)} tokens${shown} · occurrence #${fmt(occurrence)}`),
      meta, pre));
  });
}

async function showNtd(index, res) {
  const out = $("result");
  const info = state.indexes[index] || {};
  const entries = Object.entries(res.result_by_token_id).map(([t, e]) => [Number(t), e]);
  entries.sort((a, b) => b[1].cont_cnt - a[1].cont_cnt);
  const top = entries.slice(0, 25);
  let head = `prompt count ${fmt(res.prompt_cnt)} · ${fmt(entries.length)} distinct next tokens`;
  if (res.suffix_len !== undefined) head += ` · longest suffix found: ${res.suffix_len} tokens`;
  if (res.approx) head += " · approximate (sampled)";
  out.append(el("p", {}, head));
  if (!top.length) return;
  // the end of a document counts as eos_token_id, which may be the separator id (not decodable)
  const words = top.filter(([t]) => t !== info.eos_token_id).map(([t]) => [t]);
  const texts = words.length ? (await api(index + "/decode", { token_ids: words })).texts : [];
  const labels = new Map(words.map(([t], i) => [t, JSON.stringify(texts[i])]));
  const max = top[0][1].cont_cnt;
  const chart = el("div", { class: "chart" });
  top.forEach(([t, e]) => {
    const label = t === info.eos_token_id ? "[end of document]" : labels.get(t);
    chart.append(el("span", { class: "tok", title: "token id " + t }, label),
      el("div", { class: "bar", style: `width:${(100 * e.cont_cnt / max).toFixed(1)}%` }),
      el("span", { class: "num" }, `${fmt(e.cont_cnt)} · ${(100 * e.prob).toFixed(2)}%`));
  });
  out.append(chart);
}

// ------------------------------------------------------------------ search view
const QTYPES = {
  count: {
    help: "How many times the text occurs in the corpus, exactly as typed.",
    placeholder: "text to count, e.g. natural language",
  },
  search_docs: {
    help: "Documents containing the text, with every occurrence highlighted and the document's metadata. Occurrences are sampled at random.",
    placeholder: "text to find in documents",
  },
  ntd: {
    help: "Which tokens follow the text in the corpus, and how often (the n-gram next-token distribution of the whole text as a prompt).",
    placeholder: "a prompt, e.g. the beginning of a sentence",
  },
  infgram_ntd: {
    help: "Like the n-gram distribution, but using the longest end of the prompt that occurs in the corpus (∞-gram), so a long prompt still gets an answer.",
    placeholder: "a prompt; only its longest suffix found in the corpus is used",
  },
};

function busy(button, status, on, label) {
  button.disabled = on;
  if (on) {
    button.dataset.label = button.textContent;
    button.textContent = label;
    status.className = "loading";
    status.textContent = label;
  } else if (button.dataset.label) {
    button.textContent = button.dataset.label;
  }
}

function showError(status, e) {
  status.className = "error";
  status.setAttribute("role", "alert");
  status.textContent = "Error: " + e.message;
}

function done(status, t0, extra) {
  status.className = "muted";
  status.setAttribute("role", "status");
  status.textContent = (extra ? extra + " · " : "") + `answered in ${((performance.now() - t0) / 1000).toFixed(3)} s`;
}

async function run(ev) {
  if (ev) ev.preventDefault();
  const index = $("index").value;
  const qtype = $("qtype").value;
  const text = $("q").value;
  const status = $("status");
  const out = $("result");
  out.replaceChildren();
  if (!text.length) {
    showError(status, new Error("type a text to search for"));
    return;
  }
  location.hash = "search?" + new URLSearchParams({ index, qtype, q: text, ids: $("ids").checked ? "1" : "" });
  busy($("go"), status, true, "Searching…");
  out.setAttribute("aria-busy", "true");
  const asIds = $("ids").checked;
  const isCnf = / AND | OR /.test(text);
  const query = (s) => (asIds ? parseIds(s) : s);
  const t0 = performance.now();
  try {
    if (qtype === "count") {
      const r = isCnf
        ? await api(index + "/count_cnf", { cnf: parseCnf(text).map((c) => c.map(query)) })
        : await api(index + "/count", { query: query(text) });
      const what = r.count === 1 ? " occurrence" : " occurrences";
      out.append(el("p", { class: "count-line" }, el("span", { class: "count" }, fmt(r.count)), what, r.approx ? " (approximate)" : "",
        el("span", { class: "muted" }, " of ", el("q", {}, text))));
      if (r.count > 0 && !isCnf) {
        const more = el("button", { type: "button", class: "link" }, "show documents");
        more.addEventListener("click", () => { $("qtype").value = "search_docs"; qtypeChanged(); run(); });
        out.append(more);
      }
    } else if (qtype === "search_docs") {
      const maxnum = Number($("maxnum").value) || 1;
      const clauses = isCnf ? parseCnf(text) : [[text]];
      const r = isCnf
        ? await api(index + "/search_docs_cnf", { cnf: clauses.map((c) => c.map(query)), maxnum })
        : await api(index + "/search_docs", { query: query(text), maxnum });
      await showDocs(index, r, await termIds(index, clauses.flat()));
    } else {
      if (isCnf) throw new Error("a next-token distribution takes a plain prompt, not AND / OR");
      await showNtd(index, await api(index + "/" + qtype, { prompt: query(text) }));
    }
    done(status, t0);
  } catch (e) {
    showError(status, e);
  } finally {
    busy($("go"), status, false);
    out.removeAttribute("aria-busy");
  }
}

function qtypeChanged() {
  const spec = QTYPES[$("qtype").value];
  $("maxnum-label").hidden = $("qtype").value !== "search_docs";
  $("qtype-help").textContent = spec.help;
  $("q").placeholder = $("ids").checked ? "token ids separated by spaces, e.g. 464 3797" : spec.placeholder;
}

const EXAMPLE_LABELS = { count: "count", search_docs: "documents with", ntd: "what follows" };

// example queries taken from the index itself (the start of its first document), so they match
async function showExamples() {
  const box = $("examples");
  box.replaceChildren();
  const index = $("index").value;
  const info = state.indexes[index];
  if (!info || !info.total_docs || idsOnlyIndex(info)) return;
  let words = [];
  try {
    const d = await api(index + "/get_doc_by_ix", { doc_ix: Math.floor(info.total_docs / 2), max_disp_len: 200 });
    words = (d.text || "").split(/\s+/).filter((w) => /^[\p{L}\p{N}_]{2,}$/u.test(w));
  } catch (e) {
    return;
  }
  if (words.length < 3) return;
  const i = Math.min(2, words.length - 3);
  const examples = [
    ["count", words[i] + " " + words[i + 1]],
    ["search_docs", words[i] + " " + words[i + 1] + " " + words[i + 2]],
    ["ntd", words[i] + " "],
  ];
  box.append("Examples from this index: ");
  examples.forEach(([qtype, q], k) => {
    const a = el("button", { type: "button", class: "example", "data-qtype": qtype }, `${EXAMPLE_LABELS[qtype]} “${q}”`);
    a.addEventListener("click", () => {
      $("qtype").value = qtype;
      $("ids").checked = false;
      $("q").value = q;
      qtypeChanged();
      run();
    });
    if (k) box.append(" ");
    box.append(a);
  });
}

// ------------------------------------------------------------------ views and init
function showView(name) {
  for (const v of ["search", "trace", "contam"]) {
    $("view-" + v).hidden = v !== name;
    document.querySelector(`a.tab[data-view=${v}]`).classList.toggle("active", v === name);
  }
}

function routeFromHash() {
  const h = location.hash.slice(1);
  const [view, qs] = h.split("?");
  showView(["trace", "contam"].includes(view) ? view : "search");
  if (view === "search" && qs) {
    const p = new URLSearchParams(qs);
    if (p.get("index") && state.indexes[p.get("index")]) $("index").value = p.get("index");
    if (p.get("qtype") && QTYPES[p.get("qtype")]) $("qtype").value = p.get("qtype");
    $("ids").checked = p.get("ids") === "1";
    qtypeChanged();
    if (p.get("q") !== null && p.get("q") !== $("q").value) {
      $("q").value = p.get("q");
      run();
    }
  }
}

const idsOnlyIndex = (info) => !info.tokenizer.kind || info.tokenizer.kind === "ids";

function showInfo() {
  const info = state.indexes[$("index").value];
  $("index-info").textContent = info
    ? `${fmt(info.total_tokens)} tokens · ${fmt(info.total_docs)} documents · ${info.shards.length} shard(s) · tokenizer: ${idsOnlyIndex(info) ? "none (type token ids)" : info.tokenizer.kind}`
    : "";
  const idsOnly = info && idsOnlyIndex(info);
  $("ids").checked = Boolean(idsOnly) || ($("ids").disabled ? false : $("ids").checked);
  $("ids").disabled = Boolean(idsOnly);
  qtypeChanged();
}

async function init() {
  $("search").addEventListener("submit", run);
  $("trace-form").addEventListener("submit", runTrace);
  $("contam-form").addEventListener("submit", runContam);
  $("contam-file").addEventListener("change", contamFileChanged);
  $("index").addEventListener("change", () => { showInfo(); showExamples(); });
  $("qtype").addEventListener("change", qtypeChanged);
  $("ids").addEventListener("change", qtypeChanged);
  window.addEventListener("hashchange", routeFromHash);
  qtypeChanged();
  try {
    const [r, limits] = await Promise.all([api("indexes"), api("limits")]);
    state.limits = limits;
    $("maxnum").max = limits.max_maxnum;
    for (const { name, info } of r.indexes) {
      state.indexes[name] = info;
      $("index").append(el("option", { value: name }, name));
    }
    showInfo();
    routeFromHash();
    await showExamples();
  } catch (e) {
    showError($("status"), e);
  }
  document.body.dataset.ready = "1";
}

// ------------------------------------------------------------------ trace view
// POST /api/v1/{index}/attribute answers AttributionResult.to_dict(): {token_ids, text, spans:
// [{l, r, length, count, unigram_logprob_sum, text, char_start, char_end, docs: [DocResult]}],
// num_maximal_spans, covered_tokens, params}

async function runTrace(ev) {
  if (ev) ev.preventDefault();
  const index = $("index").value;
  const text = $("trace-text").value;
  const status = $("trace-status");
  const out = $("trace-result");
  out.replaceChildren();
  if (!text.trim()) { showError(status, new Error("paste a text to trace")); return; }
  busy($("trace-go"), status, true, "Tracing…");
  const t0 = performance.now();
  try {
    const body = { text };
    const minLen = Number($("trace-min").value);
    if (minLen) body.min_len = minLen;
    const res = await api(index + "/attribute", body);
    await renderTrace(index, res, out);
    done(status, t0, `${res.spans.length} span${res.spans.length === 1 ? "" : "s"} found`);
  } catch (e) {
    showError(status, e);
  } finally {
    busy($("trace-go"), status, false);
  }
}

// [[begin, end, covering span numbers]] pieces of [0, n) where the set of covering spans changes
function coverPieces(n, ranges) {
  const cuts = new Set([0, n]);
  ranges.forEach(([a, b]) => { cuts.add(a); cuts.add(b); });
  const pts = [...cuts].filter((x) => x >= 0 && x <= n).sort((a, b) => a - b);
  const pieces = [];
  for (let k = 0; k + 1 < pts.length; k++) {
    const [a, b] = [pts[k], pts[k + 1]];
    pieces.push([a, b, ranges.map(([l, r], i) => (l <= a && b <= r ? i : -1)).filter((i) => i >= 0)]);
  }
  return pieces;
}

function flash(id) {
  const card = document.getElementById(id);
  if (!card) return;
  card.scrollIntoView({ block: "start" });
  card.classList.add("flash");
  setTimeout(() => card.classList.remove("flash"), 1500);
}

async function renderTrace(index, res, out) {
  const spans = res.spans;
  const ids = res.token_ids;
  // the text with its spans highlighted: by character offsets when the index has a tokenizer,
  // else by token ranges decoded here
  const byChars = spans.every((s) => s.char_start !== null && s.char_start !== undefined);
  const n = byChars ? res.text.length : ids.length;
  const ranges = spans.map((s) => (byChars ? [s.char_start, s.char_end] : [s.l, s.r]));
  const pieces = coverPieces(n, ranges);
  // documents: [before, match, after] token pieces of each occurrence
  const docPieces = [];
  spans.forEach((s) => (s.docs || []).forEach((d) => {
    const a = d.needle_offset, b = d.needle_offset + s.length;
    docPieces.push(d.token_ids.slice(0, a), d.token_ids.slice(a, b), d.token_ids.slice(b));
  }));
  const toDecode = (byChars ? [] : pieces.map(([a, b]) => ids.slice(a, b))).concat(docPieces);
  const texts = toDecode.length ? (await api(index + "/decode", { token_ids: toDecode })).texts : [];
  const pieceText = (k) => (byChars ? res.text.slice(pieces[k][0], pieces[k][1]) : texts[k]);
  let dk = byChars ? 0 : pieces.length;

  const pct = ids.length ? (100 * res.covered_tokens / ids.length).toFixed(1) : "0";
  out.append(el("p", { class: "trace-summary" },
    `${fmt(spans.length)} span${spans.length === 1 ? "" : "s"} of at least ${res.params.min_len ?? "?"} tokens found verbatim in the corpus`,
    res.num_maximal_spans !== spans.length ? ` (${fmt(res.num_maximal_spans)} before filtering)` : "",
    ` · ${fmt(res.covered_tokens)} of ${fmt(ids.length)} tokens (${pct}%) covered`));
  const pre = el("pre", { class: "traced" });
  pieces.forEach(([, , cover], k) => {
    const t = pieceText(k);
    if (!cover.length) { pre.append(document.createTextNode(t)); return; }
    const m = el("mark", { class: cover.length > 1 ? "overlap" : "", "data-spans": cover.join(" "),
      title: `span${cover.length > 1 ? "s" : ""} ${cover.map((i) => i + 1).join(", ")}: click for the documents` }, t);
    m.addEventListener("click", () => flash("span-" + cover[0]));
    pre.append(m);
  });
  out.append(pre);
  if (!spans.length) {
    out.append(el("p", { class: "muted" }, "No span of the minimum length occurs in the corpus: try a smaller minimum length."));
    return;
  }
  out.append(el("h2", {}, "Spans and the documents they occur in"));
  spans.forEach((s, i) => {
    const card = el("article", { class: "span-card", id: "span-" + i },
      el("h3", {}, `Span ${i + 1} · ${s.length} tokens · ${fmt(s.count)} occurrence${s.count === 1 ? "" : "s"} in the corpus`),
      el("pre", { class: "span-text" }, el("mark", {}, s.text)));
    const docs = s.docs || [];
    if (docs.length < s.count) card.append(el("p", { class: "muted" }, `showing ${docs.length} of them`));
    docs.forEach((d) => {
      const [before, match, after] = [texts[dk], texts[dk + 1], texts[dk + 2]];
      dk += 3;
      const meta = el("table", { class: "meta" });
      for (const [key, v] of flatten(d.metadata, "", [])) meta.append(el("tr", {}, el("td", {}, key), el("td", {}, v)));
      card.append(el("div", { class: "doc" },
        el("h4", {}, `Document #${fmt(d.doc_ix)} · ${fmt(d.doc_len)} tokens`), meta,
        el("pre", {}, d.disp_len < d.doc_len ? "…" : "", before, el("mark", {}, match), after, d.disp_len < d.doc_len ? "…" : "")));
    });
    out.append(card);
  });
}

// ------------------------------------------------------------------ contamination view
// POST /api/v1/{index}/contamination answers ContaminationReport.to_dict(): {params, indexes,
// benchmarks, results: [{benchmark, index, items, windows: {counts, rates, mean_score}, ngrams,
// longest, item_results: [{id, unit, length, tokens, windows: {total, found, score, label},
// ngrams, longest: {tokens, chars, count, start, end, text}, spans, docs: [{doc_ix, metadata,
// context, match_start, match_len}]}]}]}

function contamFileChanged() {
  const f = $("contam-file").files[0];
  $("contam-file-info").textContent = f ? `${f.name} (${fmt(f.size)} bytes): the fields named above are checked, joined by a newline` : "";
  $("contam-text").disabled = Boolean(f);
}

// items as [{id, text}]: from the chosen JSONL file (the named fields), else one per pasted line
async function contamItems() {
  const f = $("contam-file").files[0];
  const fields = $("contam-fields").value.split(/[\s,]+/).filter(Boolean);
  if (f) {
    if (!fields.length) throw new Error("name the field(s) of each JSON line to check, e.g. question");
    const lines = (await f.text()).split(/\r?\n/).filter((l) => l.trim());
    return lines.map((line, i) => {
      let obj;
      try { obj = JSON.parse(line); } catch (e) { throw new Error(`${f.name} line ${i + 1} is not JSON: ${e.message}`); }
      if (typeof obj === "string") return { id: String(i), text: obj };
      const missing = fields.filter((k) => !(k in obj));
      if (missing.length) throw new Error(`${f.name} line ${i + 1} has no field ${missing.join(", ")} (it has: ${Object.keys(obj).join(", ")})`);
      const id = obj.id ?? obj.task_id ?? obj.question_id ?? i;
      return { id: String(id), text: fields.map((k) => (typeof obj[k] === "string" ? obj[k] : JSON.stringify(obj[k]))).join("\n") };
    });
  }
  return $("contam-text").value.split(/\r?\n/).filter((l) => l.trim()).map((text, i) => ({ id: String(i + 1), text }));
}

const LABEL_ORDER = ["dirty", "suspicious", "clean", "too_short"];

async function runContam(ev) {
  if (ev) ev.preventDefault();
  const index = $("index").value;
  const status = $("contam-status");
  const out = $("contam-result");
  out.replaceChildren();
  busy($("contam-go"), status, true, "Checking…");
  const t0 = performance.now();
  try {
    const items = await contamItems();
    if (!items.length) throw new Error("paste at least one item (one per line) or choose a JSONL file");
    const body = { items };
    const w = Number($("contam-window").value);
    if (w) body.window = w;
    const res = await api(index + "/contamination", body);
    renderContam(items, res, out);
    done(status, t0, `${fmt(items.length)} item${items.length === 1 ? "" : "s"} checked`);
  } catch (e) {
    showError(status, e);
  } finally {
    busy($("contam-go"), status, false);
  }
}

const pct = (x) => (x === null || x === undefined ? "–" : (100 * x).toFixed(1) + "%");

function badge(label) {
  return el("span", { class: "badge " + label }, label.replace("_", " "));
}

// the item's text with the [start, end) ranges (characters) found in the corpus highlighted
function highlighted(text, spans) {
  const node = el("span", { class: "item-text" });
  let at = 0;
  for (const [a, b] of spans) {
    if (a > at) node.append(text.slice(at, a));
    node.append(el("mark", {}, text.slice(a, b)));
    at = b;
  }
  node.append(text.slice(at));
  return node;
}

function renderContam(items, res, out) {
  const r = res.results[0];
  const params = res.params || {};
  const crits = ["windows", "ngrams"].filter((c) => r[c]);
  const crit = crits[0];
  const summary = el("div", { class: "summary" });
  for (const c of crits) {
    const p = params[c] || {};
    const desc = c === "windows" ? `windows of ${p.window ?? "?"} (dirty ≥ ${p.dirty}, suspicious ≥ ${p.suspicious})` : `${p.n ?? 8}-grams (dirty ≥ ${p.dirty})`;
    const line = el("p", {}, el("b", {}, c === "windows" ? "Overlapping windows found" : "n-grams found"), ` · ${desc}: `);
    LABEL_ORDER.filter((l) => r[c].counts[l]).forEach((l) => line.append(badge(l), ` ${fmt(r[c].counts[l])} (${pct(r[c].rates[l])})  `));
    summary.append(line);
  }
  if (r.longest) summary.append(el("p", {}, el("b", {}, "Longest span found"), ` · mean ${r.longest.mean_tokens.toFixed(1)} tokens, max ${fmt(r.longest.max_tokens)} tokens (${fmt(r.longest.max_chars)} characters)`));
  out.append(summary);

  const filter = el("select", { id: "contam-filter", "aria-label": "show items" }, el("option", { value: "" }, "all items"),
    ...LABEL_ORDER.filter((l) => crit && r[crit].counts[l]).map((l) => el("option", { value: l }, `${l.replace("_", " ")} only`)));
  out.append(el("div", { class: "row" }, el("label", {}, "Show ", filter), el("span", { class: "muted" }, "click an item for its longest span and the documents it occurs in")));

  const table = el("table", { class: "contam" });
  const head = el("tr", {}, el("th", {}, "id"), el("th", {}, "item (found in the corpus highlighted)"));
  crits.forEach((c) => head.append(el("th", {}, c === "windows" ? "windows found" : "n-grams found")));
  if (r.longest) head.append(el("th", {}, "longest span"));
  table.append(head);
  const byId = new Map(items.map((it) => [it.id, it.text]));
  r.item_results.forEach((it) => {
    const text = byId.get(it.id) ?? "";
    const label = crit && it[crit] ? it[crit].label : "";
    const row = el("tr", { class: "item-row", "data-label": label, tabindex: "0" },
      el("td", {}, it.id),
      el("td", { class: "item" }, it.unit === "chars" ? highlighted(text, it.spans) : text));
    crits.forEach((c) => {
      const s = it[c];
      row.append(el("td", { class: "num" }, s ? badge(s.label) : "", s ? ` ${pct(s.score)} (${fmt(s.found)}/${fmt(s.total)})` : "–"));
    });
    if (r.longest) row.append(el("td", { class: "num" }, it.longest ? `${fmt(it.longest.tokens)} tok · ${fmt(it.longest.count)}×` : "–"));
    const detail = el("tr", { class: "item-detail", hidden: "" });
    const cell = el("td", { colspan: String(2 + crits.length + (r.longest ? 1 : 0)) });
    if (it.longest && it.longest.tokens) {
      cell.append(el("p", {}, `Longest span found: ${fmt(it.longest.tokens)} tokens, ${fmt(it.longest.chars)} characters, ${fmt(it.longest.count)} occurrence${it.longest.count === 1 ? "" : "s"}`),
        el("pre", { class: "span-text" }, el("mark", {}, it.longest.text)));
    } else {
      cell.append(el("p", { class: "muted" }, "No part of this item was found in the corpus."));
    }
    (it.docs || []).forEach((d) => {
      const meta = el("table", { class: "meta" });
      for (const [key, v] of flatten(d.metadata, "", [])) meta.append(el("tr", {}, el("td", {}, key), el("td", {}, v)));
      const c = d.context;
      cell.append(el("div", { class: "doc" }, el("h4", {}, `Document #${fmt(d.doc_ix)}`), meta,
        el("pre", {}, c.slice(0, d.match_start), el("mark", {}, c.slice(d.match_start, d.match_start + d.match_len)), c.slice(d.match_start + d.match_len))));
    });
    detail.append(cell);
    const toggle = () => { detail.hidden = !detail.hidden; };
    row.addEventListener("click", toggle);
    row.addEventListener("keydown", (e) => { if (e.key === "Enter") toggle(); });
    table.append(row, detail);
  });
  filter.addEventListener("change", () => {
    table.querySelectorAll("tr.item-row").forEach((row) => {
      const show = !filter.value || row.dataset.label === filter.value;
      row.hidden = !show;
      if (!show) row.nextSibling.hidden = true;
    });
  });
  out.append(table);
}

init();
