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
  if (!info || !info.total_docs || !info.tokenizer || !info.tokenizer.kind || info.tokenizer.kind === "ids") return;
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

function showInfo() {
  const info = state.indexes[$("index").value];
  $("index-info").textContent = info
    ? `${fmt(info.total_tokens)} tokens · ${fmt(info.total_docs)} documents · ${info.shards.length} shard(s) · tokenizer: ${info.tokenizer.kind || "none (token ids only)"}`
    : "";
  const idsOnly = info && !info.tokenizer.kind;
  if (idsOnly) $("ids").checked = true;
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
// POST /api/v1/{index}/attribute: maximal spans of the text found verbatim in the corpus
function spanBounds(s) {
  return [s.l ?? s.begin ?? s.start, s.r ?? s.end];
}

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
    const minLen = Number($("trace-min").value) || 1;
    const res = await api(index + "/attribute", { text, min_len: minLen });
    const ids = res.token_ids || (await api(index + "/tokenize", { texts: [text] })).token_ids[0];
    const spans = res.spans || [];
    await renderTrace(index, ids, spans, out);
    done(status, t0, `${spans.length} span${spans.length === 1 ? "" : "s"} found`);
  } catch (e) {
    showError(status, e);
  } finally {
    busy($("trace-go"), status, false);
  }
}

async function renderTrace(index, ids, spans, out) {
  // token boundaries where highlighting changes
  const cover = new Array(ids.length).fill(0);
  spans.forEach((s) => { const [l, r] = spanBounds(s); for (let i = l; i < r; i++) cover[i]++; });
  const cuts = [];
  for (let i = 0; i <= ids.length; i++) if (i === 0 || i === ids.length || (cover[i] > 0) !== (cover[i - 1] > 0)) cuts.push(i);
  const pieces = [];
  for (let k = 0; k + 1 < cuts.length; k++) pieces.push([cuts[k], cuts[k + 1]]);
  const spanTexts = spans.map((s) => { const [l, r] = spanBounds(s); return ids.slice(l, r); });
  const toDecode = pieces.map(([l, r]) => ids.slice(l, r)).concat(spanTexts);
  const texts = toDecode.length ? (await api(index + "/decode", { token_ids: toDecode })).texts : [];
  const pre = el("pre", { class: "traced" });
  pieces.forEach(([l, r], k) => {
    if (cover[l] > 0) {
      const m = el("mark", { "data-begin": l, "data-end": r, title: "found verbatim in the corpus; click for its spans" }, texts[k]);
      m.addEventListener("click", () => {
        const first = spans.findIndex((s) => { const [a, b] = spanBounds(s); return a < r && b > l; });
        const card = document.getElementById("span-" + first);
        if (card) { card.scrollIntoView({ behavior: "smooth", block: "start" }); card.classList.add("flash"); setTimeout(() => card.classList.remove("flash"), 1200); }
      });
      pre.append(m);
    } else {
      pre.append(document.createTextNode(texts[k]));
    }
  });
  const covered = cover.filter((c) => c > 0).length;
  out.append(el("p", {}, `${fmt(covered)} of ${fmt(ids.length)} tokens (${ids.length ? (100 * covered / ids.length).toFixed(1) : 0}%) are in spans found verbatim in the corpus.`), pre);
  if (!spans.length) {
    out.append(el("p", { class: "muted" }, "No span of the minimum length occurs in the corpus."));
    return;
  }
  out.append(el("h2", {}, "Spans and their documents"));
  spans.forEach((s, i) => {
    const [l, r] = spanBounds(s);
    const card = el("article", { class: "span-card", id: "span-" + i },
      el("h3", {}, `Span ${i + 1} · tokens ${l}–${r} (${r - l}) · ${fmt(s.count ?? s.cnt ?? 0)} occurrence${(s.count ?? s.cnt) === 1 ? "" : "s"} in the corpus`),
      el("pre", {}, el("mark", {}, texts[pieces.length + i])));
    const docs = s.docs || s.documents || [];
    docs.forEach((d) => card.append(docCard(d, spanTexts[i])));
    out.append(card);
  });
}

// one document window with the occurrences of `needle` (token ids) highlighted
function docCard(d, needle) {
  const pre = el("pre");
  const toks = d.token_ids || [];
  if (toks.length && d.text !== undefined && needle && needle.length) {
    // highlight by the needle offset when given, else by search
    const off = d.needle_offset ?? -1;
    pre.dataset.offset = off;
  }
  pre.append(document.createTextNode(d.text ?? ""));
  const meta = el("table", { class: "meta" });
  for (const [key, v] of flatten(d.metadata, "", [])) meta.append(el("tr", {}, el("td", {}, key), el("td", {}, v)));
  return el("div", { class: "doc" }, el("h4", {}, `Document #${fmt(d.doc_ix)}` + (d.doc_len !== undefined ? ` · ${fmt(d.doc_len)} tokens` : "")), meta, pre);
}

// ------------------------------------------------------------------ contamination view
// POST /api/v1/{index}/contamination: per-item scores and classes for a list of items
function contamFileChanged() {
  const f = $("contam-file").files[0];
  $("contam-file-info").textContent = f ? `${f.name}: ${fmt(f.size)} bytes; the fields named above are checked` : "";
}

async function contamItems() {
  const f = $("contam-file").files[0];
  const fields = $("contam-fields").value.split(/[\s,]+/).filter(Boolean);
  if (f) {
    const lines = (await f.text()).split(/\r?\n/).filter((l) => l.trim());
    return lines.map((line, i) => {
      let obj;
      try { obj = JSON.parse(line); } catch (e) { throw new Error(`${f.name} line ${i + 1} is not JSON: ${e.message}`); }
      if (typeof obj === "string") return obj;
      const missing = fields.filter((k) => !(k in obj));
      if (missing.length) throw new Error(`${f.name} line ${i + 1} has no field ${missing.join(", ")} (it has: ${Object.keys(obj).join(", ")})`);
      return fields.map((k) => String(obj[k])).join("\n");
    });
  }
  return $("contam-text").value.split(/\r?\n/).filter((l) => l.trim());
}

const CLASS_ORDER = ["dirty", "suspicious", "clean"];

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
    const res = await api(index + "/contamination", { items });
    renderContam(items, res, out);
    done(status, t0, `${items.length} item${items.length === 1 ? "" : "s"} checked`);
  } catch (e) {
    showError(status, e);
  } finally {
    busy($("contam-go"), status, false);
  }
}

function renderContam(items, res, out) {
  const rows = res.items || res.results || [];
  const counts = {};
  rows.forEach((r) => { counts[r.class ?? r.label] = (counts[r.class ?? r.label] || 0) + 1; });
  const summary = el("p", { class: "summary" });
  Object.keys(counts).sort((a, b) => CLASS_ORDER.indexOf(a) - CLASS_ORDER.indexOf(b)).forEach((c) => {
    summary.append(el("span", { class: "badge " + c }, `${c}: ${counts[c]} (${(100 * counts[c] / rows.length).toFixed(1)}%)`), " ");
  });
  out.append(summary);
  const scoreKeys = rows.length ? Object.keys(rows[0]).filter((k) => typeof rows[0][k] === "number" && k !== "index") : [];
  const table = el("table", { class: "contam" });
  table.append(el("tr", {}, el("th", {}, "#"), el("th", {}, "item"), el("th", {}, "class"), ...scoreKeys.map((k) => el("th", {}, k.replace(/_/g, " ")))));
  rows.forEach((r, i) => {
    const c = r.class ?? r.label;
    const text = items[i] ?? "";
    table.append(el("tr", { class: "row-" + c },
      el("td", {}, i + 1),
      el("td", { class: "item", title: text }, text.length > 120 ? text.slice(0, 120) + "…" : text),
      el("td", {}, el("span", { class: "badge " + c }, c)),
      ...scoreKeys.map((k) => el("td", { class: "num" }, Number.isInteger(r[k]) ? fmt(r[k]) : Number(r[k]).toFixed(3)))));
  });
  out.append(table);
}

init();
