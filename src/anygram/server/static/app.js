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
  if (!docs.length) return;
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

async function run(ev) {
  ev.preventDefault();
  const index = $("index").value;
  const qtype = $("qtype").value;
  const text = $("q").value;
  const status = $("status");
  const out = $("result");
  out.replaceChildren();
  status.className = "muted";
  status.textContent = "searching…";
  const asIds = $("ids").checked;
  const isCnf = / AND | OR /.test(text);
  const query = (s) => (asIds ? parseIds(s) : s);
  const t0 = performance.now();
  try {
    if (qtype === "count") {
      const r = isCnf
        ? await api(index + "/count_cnf", { cnf: parseCnf(text).map((c) => c.map(query)) })
        : await api(index + "/count", { query: query(text) });
      out.append(el("p", {}, el("span", { class: "count" }, fmt(r.count)), r.approx ? " (approximate)" : ""));
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
    status.textContent = `${((performance.now() - t0) / 1000).toFixed(3)} s`;
  } catch (e) {
    status.className = "error";
    status.textContent = e.message;
  }
}

function showInfo() {
  const info = state.indexes[$("index").value];
  $("index-info").textContent = info
    ? `${fmt(info.total_tokens)} tokens · ${fmt(info.total_docs)} documents · ${info.shards.length} shard(s) · tokenizer: ${info.tokenizer.kind || "?"}`
    : "";
}

async function init() {
  $("search").addEventListener("submit", run);
  $("index").addEventListener("change", showInfo);
  $("qtype").addEventListener("change", () => {
    $("maxnum-label").hidden = $("qtype").value !== "search_docs";
  });
  $("maxnum-label").hidden = true;
  try {
    const [r, limits] = await Promise.all([api("indexes"), api("limits")]);
    $("maxnum").max = limits.max_maxnum;
    for (const { name, info } of r.indexes) {
      state.indexes[name] = info;
      $("index").append(el("option", { value: name }, name));
    }
    showInfo();
  } catch (e) {
    $("status").className = "error";
    $("status").textContent = e.message;
  }
}

init();
