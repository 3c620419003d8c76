/* sarcgen review: plain JavaScript, no build step.
 * Every piece of run data reaches the page through textContent (h() below), never innerHTML:
 * reviews are model output and may contain markup. */
"use strict";

const TOKEN = new URLSearchParams(location.search).get("token") || "";
const BOOT = JSON.parse(document.getElementById("boot").textContent);
const FACET_TITLES = {outcome: "Outcome", decision: "Decision", label: "Label", device: "Device",
  aspect: "Aspect", genre: "Genre", judge: "Judge"};
const DECISION_WORDS = {accept: "accepted", reject: "rejected", flip: "label flipped", clear: "cleared"};
const LABELS = ["negative", "positive"];
const VALUE_WORDS = {"n/a": "not a record", none: "\u2014", accept: "accepted", reject: "rejected", flip: "label flipped"};

const state = {
  q: "", filters: {}, sort: "plan", desc: false, offset: 0,
  page: BOOT.page, sel: 0, detail: null, undo: [], showProv: false, busy: false,
};

/* ---------- small helpers ---------- */
function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const kid of kids.flat()) {
    if (kid === null || kid === undefined || kid === false) continue;
    el.appendChild(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return el;
}
const $ = (id) => document.getElementById(id);
/* replaceChildren() would print null as "null": drop empty slots first. */
function fill(el, ...kids) { el.replaceChildren(...kids.flat().filter((k) => k !== null && k !== undefined && k !== false)); }
const fmt = (n) => Number(n).toLocaleString("en-US");

async function api(path, opts) {
  const res = await fetch(path, Object.assign({headers: {"X-Review-Token": TOKEN, "Content-Type": "application/json"}}, opts || {}));
  const body = await res.json().catch(() => ({error: res.statusText}));
  if (!res.ok) throw new Error(body.error || res.statusText);
  return body;
}

let toastTimer = null;
function toast(msg, kind) {
  const t = $("toast");
  t.textContent = msg;
  t.className = "show " + (kind || "");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.className = ""; }, 2600);
}

function queryString(extra) {
  const p = new URLSearchParams();
  if (state.q) p.set("q", state.q);
  p.set("sort", state.sort);
  if (state.desc) p.set("desc", "true");
  p.set("offset", String(state.offset));
  p.set("limit", String(BOOT.page_size));
  for (const [f, vals] of Object.entries(state.filters)) for (const v of vals) p.append("f", f + ":" + v);
  for (const [k, v] of Object.entries(extra || {})) p.set(k, v);
  return p.toString();
}

/* ---------- loading ---------- */
async function load(selectLast) {
  state.busy = true;
  try {
    state.page = await api("/api/records?" + queryString());
  } catch (e) { toast("Could not load: " + e.message, "bad"); return; }
  finally { state.busy = false; }
  state.sel = selectLast ? Math.max(0, state.page.rows.length - 1) : 0;
  render();
}

function current() { return state.page.rows[state.sel] || null; }

async function loadDetail() {
  const row = current();
  if (!row) { state.detail = null; renderDetail(); return; }
  const key = row.key;
  renderDetail(row);  // the list row first, then the rest when it arrives
  try {
    const d = await api("/api/records/" + encodeURIComponent(key));
    if (current() && current().key === key) { state.detail = d; renderDetail(); }
  } catch (e) { toast("Could not load " + key + ": " + e.message, "bad"); }
}

/* ---------- header, facets, list ---------- */
function decisionStats(d) {
  return [["accept", "accepted"], ["reject", "rejected"], ["flip", "flipped"]]
    .map(([k, w]) => h("span", {class: "stat dec-" + k}, h("b", {}, fmt(d[k] || 0)), " " + w));
}

function renderStats() {
  const s = BOOT.summary;
  const dropped = s.filter_total - s.kept;
  const parts = [h("span", {class: "stat total"}, h("b", {}, fmt(s.records)), " records")];
  if (s.filtered) {
    parts.push(h("span", {class: "stat ok"}, h("b", {}, fmt(s.kept)), " kept"));
    parts.push(h("span", {class: "stat drop"}, h("b", {}, fmt(dropped)), " dropped"));
  } else parts.push(h("span", {class: "stat warn"}, "not filtered yet"));
  parts.push(h("span", {class: "sep"}), ...decisionStats(state.page.decisions || s.decisions));
  fill($("stats"), ...parts);
}

function toggleFilter(facet, value) {
  const set = new Set(state.filters[facet] || []);
  if (set.has(value)) set.delete(value); else set.add(value);
  if (set.size) state.filters[facet] = [...set]; else delete state.filters[facet];
  state.offset = 0;
  load();
}

function renderFacets() {
  const groups = [];
  const active = Object.keys(state.filters).length || state.q;
  if (active) groups.push(h("button", {class: "clear-all", onclick: resetQuery}, "Clear search and filters ", h("kbd", {}, "0")));
  for (const f of BOOT.facets) {
    const counts = state.page.facets[f] || {};
    const chosen = new Set(state.filters[f] || []);
    const entries = Object.entries(counts);
    for (const v of chosen) if (!(v in counts)) entries.push([v, 0]);
    if (!entries.length) continue;
    const max = Math.max(1, ...entries.map(([, n]) => n));
    const items = entries.map(([v, n]) => h("li", {},
      h("button", {class: "facet" + (chosen.has(v) ? " on" : ""), title: v, onclick: () => toggleFilter(f, v)},
        h("span", {class: "fname " + facetClass(f, v)}, VALUE_WORDS[v] || v),
        h("span", {class: "fcount"}, fmt(n)),
        h("span", {class: "fbar", style: null}))));
    items.forEach((li, i) => { li.querySelector(".fbar").style.width = (100 * entries[i][1] / max).toFixed(1) + "%"; });
    groups.push(h("section", {class: "fgroup"}, h("h3", {}, FACET_TITLES[f] || f), h("ul", {}, items)));
  }
  fill($("facets"), ...groups);
}

function facetClass(f, v) {
  if (f === "outcome") return v === "kept" ? "dot ok" : v === "unfiltered" ? "dot warn" : "dot drop";
  if (f === "decision") return "dot dec-" + v;
  if (f === "label") return "dot lab-" + v;
  return "";
}

function labelPill(row) {
  if (!row.label) return null;
  const flipped = row.decision && row.decision.decision === "flip";
  const shown = flipped ? (row.decision.label === 1 ? "positive" : "negative") : row.label;
  return h("span", {class: "pill lab-" + shown + (flipped ? " flipped" : ""), title: flipped ? "label flipped by " + row.decision.reviewer : "intended label"},
    flipped ? row.label + " \u2192 " + shown : shown);
}

function outcomePill(row) {
  if (row.outcome === "kept") return h("span", {class: "pill ok"}, "kept");
  if (row.outcome === "unfiltered") return h("span", {class: "pill warn"}, "unfiltered");
  return h("span", {class: "pill drop", title: row.detail || ""}, row.stage, h("i", {}, row.reason));
}

function decisionBadge(row) {
  if (!row.decision) return null;
  return h("span", {class: "badge dec-" + row.decision.decision}, DECISION_WORDS[row.decision.decision]);
}

function renderList() {
  const p = state.page;
  const rows = p.rows.map((r, i) => h("div", {
      class: "row" + (i === state.sel ? " sel" : "") + (r.decision ? " has-dec dec-" + r.decision.decision : ""),
      role: "option", "aria-selected": i === state.sel ? "true" : "false", "data-key": r.key,
      onclick: () => select(i)},
    h("div", {class: "row-meta"},
      h("span", {class: "rid"}, r.id), outcomePill(r), labelPill(r),
      r.device ? h("span", {class: "attr"}, r.device) : null,
      r.aspect ? h("span", {class: "attr soft"}, r.aspect) : null,
      h("span", {class: "grow"}), decisionBadge(r)),
    h("div", {class: "row-text"}, r.text || "(no text)")));
  if (!rows.length) rows.push(h("div", {class: "empty"}, "Nothing matches. ", h("button", {class: "link", onclick: resetQuery}, "Clear search and filters")));
  fill($("list"), ...rows);
  const first = p.total ? p.offset + 1 : 0;
  const last = p.offset + p.rows.length;
  fill($("list-head"), 
    h("span", {}, h("b", {}, fmt(p.total)), p.total === BOOT.summary.records ? " records" : " of " + fmt(BOOT.summary.records) + " match"),
    state.q ? h("span", {class: "chip"}, "\u201c" + state.q + "\u201d") : null,
    ...Object.entries(state.filters).flatMap(([f, vals]) => vals.map((v) =>
      h("button", {class: "chip", title: "remove this filter", onclick: () => toggleFilter(f, v)}, (FACET_TITLES[f] || f) + ": " + v, " \u00d7"))));
  fill($("pager"), 
    h("button", {class: "ghost", disabled: p.offset === 0 ? true : null, onclick: () => page(-1)}, "\u2190 ", h("kbd", {}, "[")),
    h("span", {}, fmt(first) + "\u2013" + fmt(last) + " of " + fmt(p.total)),
    h("button", {class: "ghost", disabled: last >= p.total ? true : null, onclick: () => page(1)}, h("kbd", {}, "]"), " \u2192"));
  const sel = $("list").querySelector(".row.sel");
  if (sel) sel.scrollIntoView({block: "nearest"});
}

/* ---------- detail ---------- */
function kv(k, v, cls) { return v === null || v === undefined || v === "" ? null : h("div", {class: "kv " + (cls || "")}, h("dt", {}, k), h("dd", {}, String(v))); }

function renderDetail(rowOnly) {
  const d = rowOnly || state.detail;
  const pane = $("detail");
  if (!d) { fill(pane, h("div", {class: "empty"}, "No record selected.")); return; }
  const full = !rowOnly;
  const dec = d.decision;
  const parts = [
    h("div", {class: "d-head"}, h("span", {class: "rid big"}, d.id), outcomePill(d), labelPill(d), h("span", {class: "grow"}), decisionBadge(d)),
    h("blockquote", {class: "review"}, d.text || "(no text)"),
    d.reviewable ? h("div", {class: "actions"},
      actionButton("accept", "Accept", "a", dec), actionButton("reject", "Reject", "x", dec),
      actionButton("flip", "Flip label", "f", dec), actionButton("clear", "Clear", "c", null),
      dec ? h("span", {class: "muted who"}, DECISION_WORDS[dec.decision] + " by " + dec.reviewer + ", " + dec.time.replace("T", " ").slice(0, 19)) : null)
      : h("p", {class: "muted"}, "A reply that never became a record: nothing to decide."),
    h("dl", {class: "attrs"},
      kv("label", d.decision && d.decision.decision === "flip" ? d.label + " \u2192 " + LABELS[d.decision.label] + " (human)" : d.label), kv("sarcastic", d.sarcastic === null ? null : d.sarcastic ? "yes" : "no"), kv("device", d.device),
      kv("aspect", d.aspect), kv("genre", d.genre), kv("length", d.length), kv("cue", full ? d.cue : null), kv("twin pair", full ? d.pair_id : null),
      kv("words", d.words), kv("plan index", d.plan_index >= 0 ? d.plan_index : null), kv("judge", d.judge)),
  ];
  if (d.stage) parts.push(section("Why it was dropped", h("div", {class: "why"},
    h("div", {}, h("b", {}, d.stage), " \u00b7 ", h("code", {}, d.reason)), d.detail ? h("div", {class: "muted"}, d.detail) : null)));
  if (full) parts.push(...detailSections(d));
  fill(pane, ...parts.filter(Boolean));
}

function actionButton(kind, text, key, dec) {
  const on = dec && dec.decision === kind;
  return h("button", {class: "act act-" + kind + (on ? " on" : ""), onclick: () => decide(kind)}, text, " ", h("kbd", {}, key));
}

function section(title, ...body) { return h("section", {class: "d-sec"}, h("h4", {}, title), ...body); }

function peerCard(p, note) {
  return h("div", {class: "peer" + (p.self ? " self" : ""), onclick: p.key && !p.self ? () => jumpTo(p.key) : null},
    h("div", {class: "peer-head"}, h("span", {class: "rid"}, p.id), h("span", {class: "muted"}, note)),
    h("div", {class: "peer-text"}, p.text || "(not in this run)"));
}

function detailSections(d) {
  const out = [];
  if (d.stale) out.push(section("Run folder changed", h("p", {class: "muted"},
    "This record's file was rewritten since the page opened (a stage ran again): restart sarcgen review to see it.")));
  if (d.judge_answer) out.push(section("Judge's answer", h("pre", {class: "answer"}, d.judge_answer.answer || ""),
    h("div", {class: "muted"}, "read as " + (d.judge_answer.judge_label === null ? "?" : LABELS[d.judge_answer.judge_label]) +
      ", sarcastic: " + (d.judge_answer.judge_sarcastic === null ? "?" : d.judge_answer.judge_sarcastic ? "yes" : "no") +
      " \u00b7 intended " + d.label + ", sarcastic: " + (d.sarcastic ? "yes" : "no"))));
  if (d.cluster && d.cluster.length) out.push(section("Near-duplicate cluster (" + d.cluster.length + ")",
    h("div", {class: "peers"}, d.cluster.map((m) => peerCard(m, m.role === "kept" ? "kept" : m.role + " " + (m.score === null ? "" : m.score))))));
  for (const c of d.decontamination || []) out.push(section("Matched an evaluation text",
    h("div", {class: "peers"}, peerCard({id: d.id, text: d.text, self: true}, "this review"),
      peerCard({id: c.source + " #" + c.eval_index, text: c.matched_text}, c.method + " " + c.score))));
  if (d.twin) out.push(section("Contrast twin", h("div", {class: "peers"}, peerCard(d.twin, d.twin.outcome))));
  out.push(section("Prompt", h("div", {id: "prompt"}, h("button", {class: "ghost", onclick: showPrompt}, "Render the prompt ", h("kbd", {}, "p")))));
  const prov = d.provenance || d.rejection;
  if (prov) {
    const det = h("details", {class: "prov", open: state.showProv ? true : null}, h("summary", {}, d.provenance ? "Provenance " : "Rejection ", h("kbd", {}, "v")),
      h("dl", {class: "attrs small"}, Object.entries(prov).map(([k, v]) => kv(k, typeof v === "object" && v !== null ? JSON.stringify(v) : v))));
    det.addEventListener("toggle", () => { state.showProv = det.open; });
    out.push(det);
  }
  return out;
}

async function showPrompt() {
  const row = current();
  if (!row) return;
  const box = $("prompt");
  if (!box) return;
  fill(box, h("span", {class: "muted"}, "rendering\u2026"));
  try {
    const p = await api("/api/records/" + encodeURIComponent(row.key) + "/prompt");
    if (p.error) { fill(box, h("p", {class: "muted"}, p.error)); return; }
    fill(box, 
      h("p", {class: "muted"}, "template " + p.template + (p.matches_provenance === false ? " (changed since generation: hash differs from the record's)" : "") + ", seed " + p.seed),
      ...p.messages.map((m) => h("div", {class: "msg msg-" + m.role}, h("div", {class: "role"}, m.role), h("pre", {}, m.content))));
    box.scrollIntoView({block: "start", behavior: "smooth"});
  } catch (e) { fill(box, h("p", {class: "muted"}, e.message)); }
}

/* ---------- actions ---------- */
function select(i) {
  state.sel = i;
  state.detail = null;
  renderList();
  loadDetail();
}

async function move(step) {
  const n = state.page.rows.length;
  const next = state.sel + step;
  if (next >= 0 && next < n) return select(next);
  if (step > 0 && state.page.offset + n < state.page.total) { state.offset += BOOT.page_size; await load(false); }
  else if (step < 0 && state.page.offset > 0) { state.offset = Math.max(0, state.offset - BOOT.page_size); await load(true); }
}

async function page(step) {
  const off = state.offset + step * BOOT.page_size;
  if (off < 0 || off >= state.page.total) return;
  state.offset = off;
  await load(false);
}

async function decide(kind, fromUndo) {
  const row = current();
  if (!row || !row.reviewable) return;
  const prev = row.decision ? row.decision.decision : "clear";
  if (kind === "flip" && prev === "flip" && !fromUndo) kind = "clear";  // f twice: back to the generated label
  let res;
  try {
    res = await api("/api/decisions", {method: "POST", body: JSON.stringify({key: row.key, decision: kind})});
  } catch (e) { toast("Not saved: " + e.message, "bad"); return; }
  if (!fromUndo) state.undo.push({key: row.key, decision: prev});
  state.page.rows[state.sel] = res.row;
  state.page.decisions = res.decisions;
  if (!state.q && !Object.keys(state.filters).length) { state.page.facets.decision = res.decisions; renderFacets(); }
  if (state.detail && state.detail.key === row.key) state.detail.decision = res.row.decision;
  renderStats();
  toast((fromUndo ? "Undone: " : "") + row.id + " " + DECISION_WORDS[kind] + (fromUndo ? "" : " \u00b7 u to undo"), kind);
  if (!fromUndo && kind !== "clear" && state.sel < state.page.rows.length - 1) select(state.sel + 1);
  else { renderList(); renderDetail(); }
}

async function undo() {
  const last = state.undo.pop();
  if (!last) { toast("Nothing to undo"); return; }
  const i = state.page.rows.findIndex((r) => r.key === last.key);
  if (i < 0) { await jumpTo(last.key); } else if (i !== state.sel) { select(i); }
  await decide(last.decision, true);
}

async function jumpTo(key) {
  state.q = key; $("q").value = key; state.filters = {}; state.offset = 0;
  await load(false);
  const i = state.page.rows.findIndex((r) => r.key === key);
  if (i >= 0) select(i);
}

function resetQuery() { state.q = ""; $("q").value = ""; state.filters = {}; state.offset = 0; load(); }

function modal(id, show) { $(id).classList.toggle("hidden", !show); }
function anyModal() { return ["help", "grid"].find((id) => !$(id).classList.contains("hidden")); }

async function showGrid() {
  const sheet = $("grid-sheet");
  fill(sheet, h("p", {class: "muted"}, "loading\u2026"));
  modal("grid", true);
  const g = await api("/api/coverage");
  const max = Math.max(1, ...g.before.flat());
  const head = h("tr", {}, h("th", {}, "device \\ aspect"), g.aspects.map((a) => h("th", {}, a)));
  const body = g.devices.map((dev, i) => h("tr", {}, h("th", {}, dev), g.aspects.map((a, j) => {
    const b = g.before[i][j], k = g.after[i][j], r = g.reviewed[i][j];
    const td = h("td", {class: k === 0 ? "cell empty-cell" : "cell", title: dev + " \u00d7 " + a},
      h("span", {class: "n-after"}, fmt(k)), h("span", {class: "n-before"}, "of " + fmt(b)), r !== k ? h("span", {class: "n-rev"}, fmt(r) + " after review") : null);
    td.style.setProperty("--heat", (k / max).toFixed(3));
    return td;
  })));
  fill(sheet, h("h2", {}, "Coverage: device \u00d7 aspect"),
    h("p", {class: "muted"}, "Big number: kept by the filter; small: generated (before the filter), as in filter_report.json. Empty cells are red."),
    h("table", {class: "grid"}, h("thead", {}, head), h("tbody", {}, body)),
    BOOT.has_lengths ? h("img", {src: "/files/filter_lengths.png?token=" + encodeURIComponent(TOKEN), alt: "length histogram", class: "hist"}) : null);
}

/* ---------- keyboard ---------- */
document.addEventListener("keydown", (ev) => {
  const inInput = ev.target instanceof HTMLInputElement || ev.target instanceof HTMLSelectElement;
  if (ev.key === "Escape") {
    if (anyModal()) { modal(anyModal(), false); return; }
    if (inInput) { ev.target.blur(); return; }
  }
  if (inInput || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  if (anyModal() && ev.key !== "?" && ev.key !== "g") { modal(anyModal(), false); }
  const keys = {
    j: () => move(1), ArrowDown: () => move(1), k: () => move(-1), ArrowUp: () => move(-1),
    "]": () => page(1), "[": () => page(-1),
    a: () => decide("accept"), x: () => decide("reject"), r: () => decide("reject"),
    f: () => decide("flip"), c: () => decide("clear"), u: undo,
    "/": () => $("q").focus(), "?": () => modal("help", $("help").classList.contains("hidden")),
    g: () => (anyModal() === "grid" ? modal("grid", false) : showGrid()), p: showPrompt, "0": resetQuery,
    v: () => { const det = document.querySelector("details.prov"); if (det) det.open = !det.open; },
  };
  const fn = keys[ev.key];
  if (fn) { ev.preventDefault(); fn(); }
});

let searchTimer = null;
$("q").addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => { state.q = $("q").value.trim(); state.offset = 0; load(); }, 250);
});
$("q").addEventListener("keydown", (ev) => {
  if (ev.key === "Enter") { clearTimeout(searchTimer); state.q = $("q").value.trim(); state.offset = 0; load().then(() => $("q").blur()); }
});
$("sort").addEventListener("change", () => { state.sort = $("sort").value; state.offset = 0; load(); $("sort").blur(); });
$("order").addEventListener("click", () => { state.desc = !state.desc; $("order").textContent = state.desc ? "\u2191" : "\u2193"; state.offset = 0; load(); });
$("help-btn").addEventListener("click", () => modal("help", true));
$("grid-btn").addEventListener("click", showGrid);
for (const id of ["help", "grid"]) $(id).addEventListener("click", (ev) => { if (ev.target === $(id)) modal(id, false); });
$("reviewer").textContent = BOOT.reviewer;
$("version").textContent = BOOT.version;

function render() { renderStats(); renderFacets(); renderList(); loadDetail(); }
render();
