// trackmood page: upload tables/audio or a Spotify link, show the moods as a table, a mood map,
// timelines and the model card. Plain JS, no libraries, no network beyond this server.
"use strict";

const MOODS = ["Calm", "Energetic", "Happy", "Sad"];
const PROBS = ["p_calm", "p_energetic", "p_happy", "p_sad"];
const TABLE_EXT = [".csv", ".tsv", ".parquet", ".pq", ".json", ".jsonl", ".ndjson"];
const AUDIO_EXT = [".wav", ".flac", ".mp3", ".ogg", ".oga", ".opus", ".m4a", ".aac", ".mp4", ".aiff", ".aif"];
const MAX_SHOWN = 500;
const SVGNS = "http://www.w3.org/2000/svg";

const state = {
  tracks: new Map(),   // key -> row
  nextKey: 0,
  mood: "",
  search: "",
  sortKey: null,
  sortDir: 1,
  regions: null,
  savedTotal: 0,   // predicted tracks the server keeps (GET /tracks total)
  savedLoaded: 0,
};

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

function svg(tag, attrs) {
  const node = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  return node;
}

const ext = (name) => { const i = name.lastIndexOf("."); return i < 0 ? "" : name.slice(i).toLowerCase(); };
const pct = (p) => (p === null || p === undefined ? "" : (100 * p).toFixed(0) + "%");
const num = (v, d = 2) => (v === null || v === undefined ? "" : Number(v).toFixed(d));
const moodClass = (m) => (m ? m.toLowerCase() : "none");

// ----------------------------------------------------------------------------- status
function setStatus(text) { $("status").textContent = text || ""; }
function setError(text) { $("error").textContent = text || ""; }
function progress(on, value, text) {
  const box = $("progress-box"), bar = $("progress");
  box.hidden = !on;
  if (value === null || value === undefined) bar.removeAttribute("value"); else bar.value = value;
  $("progress-text").textContent = text || "";
  document.body.setAttribute("aria-busy", on ? "true" : "false");
}

// ----------------------------------------------------------------------------- requests
// Requests that change something carry the server's token, which the server put in the page.
const TOKEN = (document.querySelector('meta[name="trackmood-token"]') || {}).content || "";
function writeHeaders(extra) { return Object.assign({ "X-Trackmood-Token": TOKEN }, extra || {}); }

function send(method, url, body, label) {
  // XMLHttpRequest so the upload can show its progress.
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, url);
    xhr.setRequestHeader("X-Trackmood-Token", TOKEN);
    xhr.responseType = "text";
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) progress(true, Math.round((100 * e.loaded) / e.total), `Uploading ${label}… ${Math.round((100 * e.loaded) / e.total)}%`);
    };
    xhr.upload.onload = () => progress(true, null, `Predicting ${label}…`);
    xhr.onload = () => {
      let data = null;
      try { data = xhr.responseText ? JSON.parse(xhr.responseText) : null; } catch (e) { data = null; }
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else reject(new Error((data && data.error) || `${label}: the server answered ${xhr.status}`));
    };
    xhr.onerror = () => reject(new Error(`${label}: the server could not be reached`));
    if (body instanceof FormData) xhr.send(body);
    else if (body !== undefined) { xhr.setRequestHeader("Content-Type", "application/json"); xhr.send(JSON.stringify(body)); }
    else xhr.send();
  });
}

async function getJSON(url) {
  const r = await fetch(url, { headers: { Accept: "application/json" } });
  const data = await r.json().catch(() => null);
  if (!r.ok) throw new Error((data && data.error) || `${url}: ${r.status}`);
  return data;
}

// ----------------------------------------------------------------------------- data
function addRows(rows) {
  for (const r of rows) {
    const key = r.id ? "id:" + r.id : "row:" + state.nextKey++;
    const old = state.tracks.get(key);
    state.tracks.set(key, Object.assign({}, old || {}, r, { _key: key }));
  }
  render();
}

function visibleRows() {
  const q = state.search.trim().toLowerCase();
  let rows = Array.from(state.tracks.values());
  if (state.mood === "!error") rows = rows.filter((r) => r.reason);
  else if (state.mood) rows = rows.filter((r) => r.mood === state.mood);
  if (q) rows = rows.filter((r) => [r.name, r.artist, r.album, r.id].some((v) => v && String(v).toLowerCase().includes(q)));
  if (state.sortKey) {
    const k = state.sortKey, d = state.sortDir;
    rows.sort((a, b) => {
      const x = a[k], y = b[k];
      if (x === y) return 0;
      if (x === null || x === undefined || x === "") return 1;
      if (y === null || y === undefined || y === "") return -1;
      return (typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y))) * d;
    });
  }
  return rows;
}

// ----------------------------------------------------------------------------- table
function render() {
  const rows = visibleRows();
  const tbody = document.querySelector("#tracks-table tbody");
  tbody.replaceChildren();
  for (const r of rows.slice(0, MAX_SHOWN)) tbody.append(tableRow(r));
  const total = state.tracks.size;
  $("empty").hidden = total > 0;
  const kept = state.savedTotal > state.savedLoaded ? ` The server keeps ${state.savedTotal.toLocaleString("en-US")} predicted tracks; the newest ${state.savedLoaded.toLocaleString("en-US")} are loaded here.` : "";
  $("count").textContent = total === 0 ? "" :
    `Showing ${Math.min(rows.length, MAX_SHOWN)} of ${rows.length} matching tracks (${total} on this page)` +
    (rows.length > MAX_SHOWN ? "; download the CSV for every row." : ".") + kept;
  drawPoints(rows);
  drawTimelines(rows);
}

const MOOD_CHOICES = ["Calm", "Energetic", "Happy", "Sad"];

// The mood badge: for a track in the library, a button that lets the user give their own mood
// (PUT /tracks/{id}/label), which a personal model learns from ('trackmood train --personal').
function moodCell(r) {
  if (!r.id || !r.mood) return [el("span", { class: `badge ${moodClass(r.mood)}`, text: r.mood || "—" })];
  const badge = el("button", {
    type: "button", class: `badge badge-button ${moodClass(r.mood)}`, text: r.mood,
    title: "Give this track your own mood", "aria-expanded": "false",
  });
  const mine = el("span", { class: "my-mood", text: r.label ? `your mood: ${r.label}` : "" });
  const menu = el("span", { class: "mood-menu", role: "group", "aria-label": "Your mood for this track" });
  menu.hidden = true;
  for (const m of MOOD_CHOICES) {
    const b = el("button", { type: "button", class: `badge ${moodClass(m)}`, text: m });
    b.addEventListener("click", async () => {
      const resp = await fetch(`/tracks/${encodeURIComponent(r.id)}/label`, {
        method: "PUT", headers: writeHeaders({ "Content-Type": "application/json" }), body: JSON.stringify({ mood: m }),
      });
      if (resp.ok) {
        r.label = (await resp.json()).label;
        mine.textContent = `your mood: ${r.label}`;
      } else {
        mine.textContent = "not saved: " + ((await resp.json().catch(() => ({}))).error || resp.status);
      }
      menu.hidden = true;
      badge.setAttribute("aria-expanded", "false");
    });
    menu.append(b);
  }
  badge.addEventListener("click", () => {
    menu.hidden = !menu.hidden;
    badge.setAttribute("aria-expanded", String(!menu.hidden));
  });
  return [badge, " ", menu, " ", mine];
}

function tableRow(r) {
  const title = el("div", { class: "t-name", text: r.name || r.id || `row ${r.row}` });
  const sub = el("div", { class: "t-sub", text: [r.artist, r.album].filter(Boolean).join(" — ") });
  const cells = [el("td", { class: "track" }, title, sub)];
  if (r.reason) {
    cells.push(el("td", { colspan: 7, class: "row-error" }, el("span", { class: "badge error-badge", text: "error" }), " ", r.reason));
  } else {
    cells.push(el("td", {}, ...moodCell(r)));
    for (const p of PROBS) {
      const cell = el("td", { class: "num" });
      if (r[p] !== null && r[p] !== undefined) {
        const bar = el("span", { class: `bar ${p.slice(2)}`, "aria-hidden": "true" });
        bar.style.width = Math.round(100 * r[p]) + "%";
        cell.append(el("span", { class: "bar-track", "aria-hidden": "true" }, bar), el("span", { text: pct(r[p]) }));
      }
      cells.push(cell);
    }
    cells.push(el("td", { class: "num", text: num(r.valence) }));
    cells.push(el("td", { class: "num", text: num(r.energy) }));
  }
  cells.push(el("td", { class: "source", text: r.source || "" }));
  const actions = el("td", {});
  if (r.id && !r.reason) {
    actions.append(el("button", {
      type: "button", class: "icon", text: "✕", title: "Remove from the library",
      "aria-label": `Remove ${r.name || r.id} from the library`, onclick: () => removeTrack(r),
    }));
  }
  cells.push(actions);
  return el("tr", { "data-mood": r.mood || "", class: r.reason ? "has-error" : "" }, ...cells);
}

async function removeTrack(r) {
  try {
    const resp = await fetch(`/tracks/${encodeURIComponent(r.id)}`, { method: "DELETE", headers: writeHeaders() });
    if (!resp.ok && resp.status !== 404) {
      const data = await resp.json().catch(() => null);
      throw new Error((data && data.error) || `delete failed (${resp.status})`);
    }
    state.tracks.delete(r._key);
    setStatus(`Removed ${r.name || r.id}.`);
    render();
  } catch (e) { setError(e.message); }
}

function setupTable() {
  for (const th of document.querySelectorAll("#tracks-table th[data-key]")) {
    th.querySelector("button").addEventListener("click", () => {
      const k = th.dataset.key;
      if (state.sortKey === k) state.sortDir = -state.sortDir;
      else { state.sortKey = k; state.sortDir = k.startsWith("p_") || k === "valence" || k === "energy" ? -1 : 1; }
      for (const other of document.querySelectorAll("#tracks-table th[data-key]")) other.setAttribute("aria-sort", "none");
      th.setAttribute("aria-sort", state.sortDir > 0 ? "ascending" : "descending");
      render();
    });
  }
  for (const b of document.querySelectorAll("#mood-filter button")) {
    b.addEventListener("click", () => {
      state.mood = b.dataset.mood;
      for (const o of document.querySelectorAll("#mood-filter button")) o.setAttribute("aria-pressed", o === b ? "true" : "false");
      render();
    });
  }
  $("search").addEventListener("input", (e) => { state.search = e.target.value; render(); });
  $("download").addEventListener("click", downloadCSV);
}

// ----------------------------------------------------------------------------- CSV
// The server writes the CSV (trackmood.outputs.csv_safe, the CLI's rule): formula-like text
// cells get a leading ' so a spreadsheet shows them as text; numbers stay numbers.
async function downloadCSV() {
  const cols = ["id", "name", "artist", "album", "mood", ...PROBS, "quadrant", "valence", "energy", "confidence", "model", "status", "source", "reason"];
  const rows = visibleRows();
  const cell = (v) => (v === undefined || (typeof v === "object" && v !== null) ? null : v);
  let blob;
  try {
    const r = await fetch("/download.csv", {
      method: "POST",
      headers: writeHeaders({ "Content-Type": "application/json" }),
      body: JSON.stringify({ columns: cols, rows: rows.map((r) => cols.map((c) => cell(r[c]))) }),
    });
    if (!r.ok) {
      const data = await r.json().catch(() => null);
      throw new Error((data && data.error) || `download: the server answered ${r.status}`);
    }
    blob = new Blob([await r.text()], { type: "text/csv" });
  } catch (e) {
    setError(e.message);
    return;
  }
  const url = URL.createObjectURL(blob);
  const a = el("a", { href: url, download: "trackmood-predictions.csv" });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
  setStatus(`Downloaded ${rows.length} rows as CSV.`);
}

// ----------------------------------------------------------------------------- map
const MAP = { left: 48, top: 12, size: 456 };
const mx = (v) => MAP.left + v * MAP.size;
const my = (e) => MAP.top + (1 - e) * MAP.size;

function drawAxes() {
  const g = $("map-axes");
  g.replaceChildren();
  g.append(svg("rect", { x: MAP.left, y: MAP.top, width: MAP.size, height: MAP.size, class: "frame" }));
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    g.append(svg("line", { x1: mx(t), x2: mx(t), y1: MAP.top, y2: MAP.top + MAP.size, class: t === 0.5 ? "mid" : "grid" }));
    g.append(svg("line", { y1: my(t), y2: my(t), x1: MAP.left, x2: MAP.left + MAP.size, class: t === 0.5 ? "mid" : "grid" }));
    const xl = svg("text", { x: mx(t), y: MAP.top + MAP.size + 16, "text-anchor": "middle", class: "tick" });
    xl.textContent = t.toString();
    const yl = svg("text", { x: MAP.left - 6, y: my(t) + 4, "text-anchor": "end", class: "tick" });
    yl.textContent = t.toString();
    g.append(xl, yl);
  }
  const xt = svg("text", { x: MAP.left + MAP.size / 2, y: MAP.top + MAP.size + 34, "text-anchor": "middle", class: "axis" });
  xt.textContent = "valence →";
  const yt = svg("text", { x: 14, y: MAP.top + MAP.size / 2, "text-anchor": "middle", class: "axis", transform: `rotate(-90 14 ${MAP.top + MAP.size / 2})` });
  yt.textContent = "energy →";
  g.append(xt, yt);
}

function drawRegions(reg) {
  const g = $("map-regions");
  g.replaceChildren();
  if (!reg) return;
  const n = reg.valence.length, cell = MAP.size / n;
  for (let i = 0; i < n; i++) {        // energy rows, bottom to top
    for (let j = 0; j < n; j++) {      // valence columns
      const mood = reg.moods[i][j];
      g.append(svg("rect", {
        x: (MAP.left + j * cell).toFixed(2), y: (MAP.top + (n - 1 - i) * cell).toFixed(2),
        width: (cell + 0.6).toFixed(2), height: (cell + 0.6).toFixed(2), class: `region ${moodClass(mood)}`,
      }));
    }
  }
  const held = Object.entries(reg.held || {}).map(([k, v]) => `${k} ${Number(v).toPrecision(3)}`).join(", ");
  $("map-note").textContent = `Background: model ${reg.model}, other features held at ${held}.`;
}

function drawPoints(rows) {
  const g = $("map-points");
  g.replaceChildren();
  let shown = 0, missing = 0;
  for (const r of rows) {
    if (r.reason || !r.mood) continue;
    if (r.valence === null || r.valence === undefined || r.energy === null || r.energy === undefined) { missing++; continue; }
    const label = `${r.name || r.id || "track"}${r.artist ? " by " + r.artist : ""}: ${r.mood}` +
      ` (${pct(r[`p_${r.mood.toLowerCase()}`])}), valence ${num(r.valence)}, energy ${num(r.energy)}`;
    const c = svg("circle", {
      cx: mx(Math.min(1, Math.max(0, r.valence))).toFixed(2), cy: my(Math.min(1, Math.max(0, r.energy))).toFixed(2),
      r: 6, class: `point ${moodClass(r.mood)}`, tabindex: shown < MAX_SHOWN ? "0" : "-1",
      "aria-label": label, "data-key": r._key,
    });
    const t = svg("title", {});
    t.textContent = label;
    c.append(t);
    c.addEventListener("mouseenter", (e) => showTip(r, e.target));
    c.addEventListener("focus", (e) => showTip(r, e.target));
    c.addEventListener("mouseleave", hideTip);
    c.addEventListener("blur", hideTip);
    g.append(c);
    shown++;
  }
  $("map").setAttribute("aria-label", `Mood map with ${shown} tracks` + (missing ? `; ${missing} tracks have no valence/energy` : ""));
}

function showTip(r, target) {
  const tip = $("tooltip");
  tip.replaceChildren(
    el("strong", { text: r.name || r.id || "track" }),
    r.artist ? el("div", { text: r.artist }) : "",
    el("div", {}, el("span", { class: `badge ${moodClass(r.mood)}`, text: r.mood })),
    el("div", { class: "tip-probs", text: MOODS.map((m, i) => `${m} ${pct(r[PROBS[i]])}`).join(" · ") }),
    el("div", { text: `valence ${num(r.valence)}, energy ${num(r.energy)}` }),
  );
  tip.hidden = false;
  const wrap = $("map-wrap").getBoundingClientRect(), box = target.getBoundingClientRect();
  let left = box.left - wrap.left + 12, top = box.top - wrap.top + 12;
  if (left + 220 > wrap.width) left = Math.max(0, box.left - wrap.left - 220);
  tip.style.left = left + "px";
  tip.style.top = top + "px";
}
function hideTip() { $("tooltip").hidden = true; }

// ----------------------------------------------------------------------------- timelines
function fmtTime(s) { s = Math.max(0, Math.round(s)); return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`; }

function drawTimelines(rows) {
  const box = $("timelines");
  box.replaceChildren();
  const withTl = rows.filter((r) => Array.isArray(r.timeline) && r.timeline.length);
  $("timelines-section").hidden = withTl.length === 0;
  for (const r of withTl.slice(0, 100)) {
    const segs = r.timeline.filter((t) => t && typeof t.start === "number" && typeof t.end === "number");
    if (!segs.length) continue;
    const start = Math.min(...segs.map((t) => t.start)), end = Math.max(...segs.map((t) => t.end));
    const span = Math.max(end - start, 1e-6);
    const strip = el("div", { class: "strip", role: "img",
      "aria-label": `${r.name || r.id}: ` + segs.map((t) => `${fmtTime(t.start)}–${fmtTime(t.end)} ${t.mood}`).join(", ") });
    for (const t of segs) {
      const s = el("span", { class: `seg ${moodClass(t.mood)}`, title: `${fmtTime(t.start)}–${fmtTime(t.end)}: ${t.mood}` });
      s.style.width = ((100 * (t.end - t.start)) / span).toFixed(3) + "%";
      strip.append(s);
    }
    box.append(el("div", { class: "timeline" },
      el("div", { class: "tl-name", text: r.name || r.id }), strip,
      el("div", { class: "tl-axis" }, el("span", { text: fmtTime(start) }), el("span", { text: fmtTime(end) }))));
  }
}

// ----------------------------------------------------------------------------- inputs
async function handleFiles(fileList) {
  const files = Array.from(fileList || []);
  if (!files.length) return;
  setError("");
  const tables = files.filter((f) => TABLE_EXT.includes(ext(f.name)));
  const audio = files.filter((f) => AUDIO_EXT.includes(ext(f.name)) || (f.type || "").startsWith("audio/"));
  const other = files.filter((f) => !tables.includes(f) && !audio.includes(f));
  const errors = other.map((f) => `${f.name}: not a table (.csv, .parquet, .json) or an audio file`);
  let done = 0;
  for (const f of tables) {
    const fd = new FormData();
    fd.append("file", f, f.name);
    try {
      progress(true, 0, `Uploading ${f.name}…`);
      const data = await send("POST", "/predict/file", fd, f.name);
      addRows(data.predictions);
      done += data.count - data.errors;
      if (data.errors) errors.push(`${f.name}: ${data.errors} of ${data.count} rows could not be predicted (see the Errors filter)`);
    } catch (e) { errors.push(e.message); }
  }
  if (audio.length) {
    const fd = new FormData();
    for (const f of audio) fd.append("files", f, f.name);
    if ($("timeline-on").checked) fd.append("timeline", String(Number($("timeline-sec").value) || 10));
    const label = audio.length === 1 ? audio[0].name : `${audio.length} audio files`;
    try {
      progress(true, 0, `Uploading ${label}…`);
      const data = await send("POST", "/predict/audio", fd, label);
      addRows(data.predictions);
      done += data.count - data.errors;
      if (data.errors) errors.push(`${data.errors} of ${data.count} audio files could not be predicted`);
    } catch (e) { errors.push(e.message); }
  }
  progress(false);
  setStatus(`Predicted ${done} track${done === 1 ? "" : "s"}.`);
  setError(errors.join("\n"));
}

async function handleSpotify(ev) {
  ev.preventDefault();
  const ref = $("spotify-ref").value.trim();
  if (!ref) { setError("Paste a Spotify track or playlist link first."); return; }
  setError("");
  progress(true, null, "Asking Spotify…");
  try {
    const data = await send("POST", "/predict/spotify", { refs: [ref] }, "Spotify");
    addRows(data.predictions);
    setStatus(`Predicted ${data.count - data.errors} Spotify track(s).`);
    if (data.messages && data.messages.length) setError(data.messages.join("\n"));
  } catch (e) { setError(e.message); }
  progress(false);
}

function setupInputs() {
  const drop = $("drop"), input = $("file-input");
  input.addEventListener("change", () => { handleFiles(input.files).finally(() => { input.value = ""; }); });
  drop.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); input.click(); } });
  for (const t of ["dragenter", "dragover"]) drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.add("over"); });
  for (const t of ["dragleave", "drop"]) drop.addEventListener(t, () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => { e.preventDefault(); handleFiles(e.dataTransfer.files); });
  $("spotify-form").addEventListener("submit", handleSpotify);
}

// ----------------------------------------------------------------------------- start
async function start() {
  setupTable();
  setupInputs();
  drawAxes();
  render();
  getJSON("/model").then(renderCard).catch((e) => { $("model-card").textContent = `No model card: ${e.message}`; });
  getJSON("/model/regions?n=40").then((r) => { state.regions = r; drawRegions(r); }).catch(() => {
    $("map-note").textContent = "The model's decision regions are not available.";
  });
  try {
    // the tracks predicted earlier (uploads, Spotify); the scanned library has its own view above
    const page = await getJSON("/tracks?limit=1000");
    state.savedTotal = page.total;
    state.savedLoaded = page.tracks.length;
    if (page.tracks.length) addRows(page.tracks.map((t) => Object.assign({}, t, { source: t.source || "saved" })));
  } catch (e) { setError(`Could not read the saved predictions: ${e.message}`); }
  document.body.dataset.ready = "true";
}

document.addEventListener("DOMContentLoaded", start);
