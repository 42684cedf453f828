// trackmood page, the scanned library: the mood map (canvas, every track), the paged table with
// true totals, playback (<audio> from /tracks/{id}/audio), "more like this", the M3U8 exports and
// the "teach trackmood" queue. Uses the helpers of app.js ($, el, getJSON, writeHeaders, num, pct).
"use strict";

const LIB = {
  page: 100, offset: 0, mood: "", uncertain: false, labelled: "",
  total: 0, all: 0, map: null, index: null, queue: [], at: 0, taught: 0,
};
const MOOD_COLOURS = { Calm: "#2a9d8f", Energetic: "#e76f51", Happy: "#e9b41a", Sad: "#457b9d" };
const fmtInt = (n) => Number(n).toLocaleString("en-US");

// ----------------------------------------------------------------------------- player
function play(track) {
  const player = $("player");
  player.src = `/tracks/${encodeURIComponent(track.id)}/audio`;
  $("now-playing").textContent = `Playing: ${track.name || track.id}` + (track.artist ? ` — ${track.artist}` : "");
  player.dataset.track = track.id;
  player.play().catch((e) => { $("now-playing").textContent = `Cannot play ${track.name || track.id}: ${e.message}`; });
}

// ----------------------------------------------------------------------------- table
function libQuery() {
  const q = new URLSearchParams({ limit: LIB.page, offset: LIB.offset });
  if (LIB.mood) q.set("mood", LIB.mood);
  if (LIB.uncertain) q.set("uncertain", "true");
  if (LIB.labelled) q.set("labelled", LIB.labelled);
  return q.toString();
}

async function loadTable() {
  let data;
  try { data = await getJSON(`/library/tracks?${libQuery()}`); } catch (e) { setError(`Could not read the library: ${e.message}`); return; }
  LIB.total = data.total; LIB.all = data.all;
  const tbody = document.querySelector("#lib-table tbody");
  tbody.replaceChildren(...data.tracks.map(libRow));
  const first = data.total ? LIB.offset + 1 : 0, last = LIB.offset + data.tracks.length;
  $("lib-count").textContent = data.all === 0 ? "" :
    `Showing ${fmtInt(first)}–${fmtInt(last)} of ${fmtInt(data.total)} matching tracks (${fmtInt(data.all)} in all).`;
  $("lib-empty").hidden = data.all > 0;
  const pages = Math.max(1, Math.ceil(data.total / LIB.page));
  $("lib-page").textContent = `page ${Math.floor(LIB.offset / LIB.page) + 1} of ${fmtInt(pages)}`;
  $("lib-prev").disabled = LIB.offset === 0;
  $("lib-next").disabled = last >= data.total;
}

function libRow(t) {
  const name = el("div", { class: "t-name", text: t.name || t.file || t.id });
  const sub = el("div", { class: "t-sub", text: [t.artist, t.file].filter(Boolean).join(" — ") });
  const mine = el("span", { class: "my-mood", text: t.label || "—" });
  const pick = el("select", { "aria-label": `Your mood for ${t.name || t.id}`, class: "label-pick" },
    el("option", { value: "", text: "set…" }), ...MOODS.map((m) => el("option", { value: m, text: m })));
  pick.addEventListener("change", async () => {
    if (!pick.value) return;
    const saved = await saveLabel(t.id, pick.value).catch((e) => { mine.textContent = `not saved: ${e.message}`; return null; });
    if (saved) { t.label = saved; mine.textContent = saved; markLabel(t.id, saved); }
    pick.value = "";
  });
  const conf = el("td", { class: "num", text: pct(t.confidence) });
  if (t.uncertain) conf.append(" ", el("span", { class: "uncertain", text: "uncertain", title: `the model hesitates: ${MOODS.map((m, i) => `${m} ${pct(t[PROBS[i]])}`).join(", ")}` }));
  return el("tr", { "data-id": t.id, "data-mood": t.mood || "" },
    el("td", {}, el("button", { type: "button", class: "icon play", title: "Play", "aria-label": `Play ${t.name || t.id}`, onclick: () => play(t) }, "▶")),
    el("td", { class: "track" }, name, sub),
    el("td", {}, el("span", { class: `badge ${moodClass(t.mood)}`, text: t.mood || "—" })),
    conf,
    el("td", { class: "num", text: num(t.valence) }),
    el("td", { class: "num", text: num(t.energy) }),
    el("td", {}, mine, " ", pick),
    el("td", {}, el("button", { type: "button", class: "linkish similar", onclick: () => similar(t) }, "More like this")),
  );
}

async function saveLabel(id, mood) {
  const r = await fetch(`/tracks/${encodeURIComponent(id)}/label`, {
    method: "PUT", headers: writeHeaders({ "Content-Type": "application/json" }), body: JSON.stringify({ mood }),
  });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(data.error || `the server answered ${r.status}`);
  return data.label;
}

function setupLibrary() {
  for (const b of document.querySelectorAll("#lib-mood button")) {
    b.addEventListener("click", () => {
      LIB.mood = b.dataset.mood; LIB.offset = 0;
      for (const o of document.querySelectorAll("#lib-mood button")) o.setAttribute("aria-pressed", o === b ? "true" : "false");
      refresh();
    });
  }
  $("lib-uncertain").addEventListener("change", (e) => { LIB.uncertain = e.target.checked; LIB.offset = 0; refresh(); });
  $("lib-labelled").addEventListener("change", (e) => { LIB.labelled = e.target.value; LIB.offset = 0; refresh(); });
  $("lib-prev").addEventListener("click", () => { LIB.offset = Math.max(0, LIB.offset - LIB.page); loadTable(); });
  $("lib-next").addEventListener("click", () => { if (LIB.offset + LIB.page < LIB.total) { LIB.offset += LIB.page; loadTable(); } });
  for (const b of document.querySelectorAll("[data-export]")) b.addEventListener("click", () => exportPlaylist(b.dataset.export));
  $("teach-start").addEventListener("click", startTeaching);
  $("teach-learn").addEventListener("click", learnFromLabels);
  $("teach-play").addEventListener("click", () => { const t = LIB.queue[LIB.at]; if (t) play(t); });
  $("teach-skip").addEventListener("click", () => nextToTeach());
  for (const b of document.querySelectorAll("#teach-moods button[data-mood]")) b.addEventListener("click", () => teach(b.dataset.mood));
  const canvas = $("lib-map");
  canvas.addEventListener("mousemove", (e) => hover(e, false));
  canvas.addEventListener("mouseleave", () => { $("lib-tip").hidden = true; });
  canvas.addEventListener("click", (e) => hover(e, true));
}

function refresh() { drawMap(); return loadTable(); }

// ----------------------------------------------------------------------------- map (canvas)
const CM = { pad: 34 };
function mapGeometry(canvas) {
  const size = canvas.width, inner = size - 2 * CM.pad;
  return { size, inner, x: (v) => CM.pad + v * inner, y: (e) => CM.pad + (1 - e) * inner };
}

function visible(i) {
  const m = LIB.map;
  if (LIB.mood && m.moods[m.mood[i]] !== LIB.mood) return false;
  if (LIB.uncertain && !m.uncertain[i]) return false;
  if (LIB.labelled === "true" && m.label[i] < 0) return false;
  if (LIB.labelled === "false" && m.label[i] >= 0) return false;
  return true;
}

function drawMap() {
  const canvas = $("lib-map"), m = LIB.map;
  const ratio = window.devicePixelRatio || 1, css = canvas.clientWidth || 480;
  if (canvas.width !== Math.round(css * ratio)) { canvas.width = Math.round(css * ratio); canvas.height = canvas.width; }
  const g = mapGeometry(canvas), ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, g.size, g.size);
  ctx.fillStyle = "#fbfbfd"; ctx.fillRect(CM.pad, CM.pad, g.inner, g.inner);
  ctx.strokeStyle = "#c9ccd6"; ctx.lineWidth = 1;
  ctx.strokeRect(CM.pad, CM.pad, g.inner, g.inner);
  ctx.beginPath(); ctx.moveTo(g.x(0.5), CM.pad); ctx.lineTo(g.x(0.5), CM.pad + g.inner);
  ctx.moveTo(CM.pad, g.y(0.5)); ctx.lineTo(CM.pad + g.inner, g.y(0.5)); ctx.stroke();
  ctx.fillStyle = "#555"; ctx.font = `${12 * ratio}px system-ui, sans-serif`; ctx.textAlign = "center";
  ctx.fillText("valence →", g.size / 2, g.size - 8 * ratio);
  ctx.save(); ctx.translate(12 * ratio, g.size / 2); ctx.rotate(-Math.PI / 2); ctx.fillText("energy →", 0, 0); ctx.restore();
  if (!m) return;
  const n = m.ids.length, r = (n > 3000 ? 1.6 : n > 500 ? 2.4 : 3.5) * ratio;
  let shown = 0, placed = 0;
  // faded points first (filtered out), then each mood's points in one path
  ctx.fillStyle = "rgba(150,150,160,0.18)";
  ctx.beginPath();
  for (let i = 0; i < n; i++) {
    if (m.valence[i] === null || m.energy[i] === null) continue;
    placed++;
    if (!visible(i)) { ctx.rect(g.x(m.valence[i]) - r / 2, g.y(m.energy[i]) - r / 2, r, r); }
  }
  ctx.fill();
  m.moods.forEach((mood, k) => {
    ctx.fillStyle = MOOD_COLOURS[mood] || "#888";
    ctx.globalAlpha = 0.75;
    ctx.beginPath();
    for (let i = 0; i < n; i++) {
      if (m.mood[i] !== k || m.valence[i] === null || m.energy[i] === null || !visible(i)) continue;
      const x = g.x(m.valence[i]), y = g.y(m.energy[i]);
      ctx.moveTo(x + r, y); ctx.arc(x, y, r, 0, 2 * Math.PI);
      shown++;
    }
    ctx.fill();
  });
  ctx.globalAlpha = 1; ctx.strokeStyle = "#111"; ctx.lineWidth = ratio;
  ctx.beginPath();
  for (let i = 0; i < n; i++) {
    if (m.label[i] < 0 || m.valence[i] === null || !visible(i)) continue;
    const x = g.x(m.valence[i]), y = g.y(m.energy[i]);
    ctx.moveTo(x + r + 2 * ratio, y); ctx.arc(x, y, r + 2 * ratio, 0, 2 * Math.PI);
  }
  ctx.stroke();
  canvas.dataset.points = String(placed);
  canvas.dataset.shown = String(shown);
  canvas.setAttribute("aria-label", `Mood map of ${fmtInt(placed)} tracks by valence and energy; ${fmtInt(shown)} match the filters`);
}

function buildIndex() {
  // a 64 x 64 grid of point indices: hover finds the nearest point without scanning them all
  const m = LIB.map, cells = new Map();
  for (let i = 0; i < m.ids.length; i++) {
    if (m.valence[i] === null || m.energy[i] === null) continue;
    const key = Math.min(63, Math.floor(m.valence[i] * 64)) * 64 + Math.min(63, Math.floor(m.energy[i] * 64));
    if (!cells.has(key)) cells.set(key, []);
    cells.get(key).push(i);
  }
  LIB.index = cells;
}

function nearest(v, e, radius) {
  const m = LIB.map, cx = Math.floor(v * 64), cy = Math.floor(e * 64);
  let best = -1, bestD = radius * radius;
  for (let dx = -1; dx <= 1; dx++) for (let dy = -1; dy <= 1; dy++) {
    for (const i of LIB.index.get((cx + dx) * 64 + cy + dy) || []) {
      if (!visible(i)) continue;
      const d = (m.valence[i] - v) ** 2 + (m.energy[i] - e) ** 2;
      if (d < bestD) { bestD = d; best = i; }
    }
  }
  return best;
}

async function hover(ev, click) {
  if (!LIB.map || !LIB.index) return;
  const canvas = $("lib-map"), box = canvas.getBoundingClientRect();
  const scale = canvas.width / box.width, g = mapGeometry(canvas);
  const v = ((ev.clientX - box.left) * scale - CM.pad) / g.inner, e = 1 - ((ev.clientY - box.top) * scale - CM.pad) / g.inner;
  const i = nearest(v, e, 0.02);
  const tip = $("lib-tip");
  if (i < 0) { tip.hidden = true; return; }
  const m = LIB.map, mood = m.moods[m.mood[i]];
  tip.replaceChildren(el("div", {}, el("span", { class: `badge ${moodClass(mood)}`, text: mood || "—" }),
    m.label[i] >= 0 ? ` your mood: ${m.moods[m.label[i]]}` : ""),
  el("div", { text: `valence ${num(m.valence[i])}, energy ${num(m.energy[i])}` }),
  el("div", { class: "hint", text: "click to play" }));
  tip.hidden = false;
  tip.style.left = `${ev.clientX - box.left + 12}px`;
  tip.style.top = `${ev.clientY - box.top + 12}px`;
  if (click) {
    const detail = await getJSON(`/tracks/${encodeURIComponent(m.ids[i])}`).catch(() => null);
    const t = detail ? detail.track : {};
    play({ id: m.ids[i], name: t.name || t.file, artist: t.artist });
  }
}

function markLabel(id, mood) {
  const m = LIB.map;
  if (!m) return;
  const i = m.ids.indexOf(id);
  if (i >= 0) { m.label[i] = m.moods.indexOf(mood); drawMap(); }
}

async function loadMap() {
  try {
    LIB.map = await getJSON("/library/map");
    buildIndex();
  } catch (e) { LIB.map = null; setError(`Could not read the mood map: ${e.message}`); }
  drawMap();
}

// ----------------------------------------------------------------------------- more like this
// An endpoint this server does not have (an older server): say so, do not break.
const absent = (r, data) => (r.status === 404 || r.status === 405) && !!data && /no such page or endpoint/.test(data.error || "");

async function similar(t) {
  const box = $("similar-box"), list = $("similar-list"), status = $("similar-status");
  box.hidden = false;
  list.replaceChildren();
  $("similar-h").textContent = `More like ${t.name || t.id}`;
  status.textContent = "Looking…";
  try {
    const r = await fetch(`/tracks/${encodeURIComponent(t.id)}/similar?limit=10`, { headers: { Accept: "application/json" } });
    const data = await r.json().catch(() => null);
    if (!r.ok) throw new Error(absent(r, data) ? "this server has no similar-tracks search" :
      (data && data.error) || `the server answered ${r.status}`);
    status.textContent = data.tracks.length ? "" : "No similar tracks found.";
    for (const s of data.tracks) {
      list.append(el("li", {},
        el("button", { type: "button", class: "icon play", "aria-label": `Play ${s.name || s.id}`, onclick: () => play(s) }, "▶"), " ",
        el("span", { class: "t-name", text: s.name || s.id }), s.artist ? el("span", { class: "t-sub", text: ` — ${s.artist}` }) : "",
        " ", el("span", { class: `badge ${moodClass(s.mood)}`, text: s.mood || "—" }),
        typeof s.similarity === "number" ? el("span", { class: "hint", text: ` similarity ${s.similarity.toFixed(2)}` }) : ""));
    }
  } catch (e) { status.textContent = `More like this is not available: ${e.message}.`; }
  box.scrollIntoView({ block: "nearest" }); // the table may be 100 rows long: show the answer
}

// ----------------------------------------------------------------------------- exports
async function exportPlaylist(mood) {
  const status = $("export-status");
  status.textContent = `Preparing ${mood}…`;
  try {
    const r = await fetch(`/playlists/${encodeURIComponent(mood)}.m3u8`);
    if (!r.ok) {
      const data = await r.json().catch(() => null);
      throw new Error(absent(r, data) ? "this server does not export playlists" :
        (data && data.error) || `the server answered ${r.status}`);
    }
    const url = URL.createObjectURL(await r.blob());
    const a = el("a", { href: url, download: `${mood}.m3u8` });
    document.body.append(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    status.textContent = `Downloaded ${mood}.m3u8. Its paths are relative to the folder holding all its tracks: save it there.`;
  } catch (e) { status.textContent = `Playlist not downloaded: ${e.message}.`; }
}

// ----------------------------------------------------------------------------- teach trackmood
async function startTeaching() {
  const status = $("teach-status");
  try {
    const data = await getJSON("/library/suggest?n=20");
    LIB.queue = data.tracks; LIB.at = 0; LIB.taught = 0;
    if (!LIB.queue.length) { $("teach-card").hidden = true; setStatus("Nothing to teach: scan some music first, or every track has your mood."); return; }
    $("teach-card").hidden = false;
    status.textContent = "";
    showToTeach();
  } catch (e) { setError(`Could not get suggestions: ${e.message}`); }
}

function showToTeach() {
  const t = LIB.queue[LIB.at];
  if (!t) {
    $("teach-name").textContent = "Done!";
    $("teach-artist").textContent = "";
    $("teach-why").textContent = `You labelled ${LIB.taught} track(s). Press "Learn from my labels" to teach the model.`;
    $("teach-play").disabled = true;
    for (const b of document.querySelectorAll("#teach-moods button")) b.disabled = true;
    return;
  }
  $("teach-play").disabled = false;
  for (const b of document.querySelectorAll("#teach-moods button")) b.disabled = false;
  $("teach-progress").textContent = `Track ${LIB.at + 1} of ${LIB.queue.length} · ${LIB.taught} labelled`;
  $("teach-card").dataset.track = t.id;
  $("teach-name").textContent = t.name || t.file || t.id;
  $("teach-artist").textContent = t.artist ? `— ${t.artist}` : "";
  $("teach-why").textContent = `The model says ${t.why || t.mood}. What is it to you?`;
  play(t);
}

function nextToTeach() { LIB.at++; showToTeach(); }

async function teach(mood) {
  const t = LIB.queue[LIB.at];
  if (!t) return;
  try {
    await saveLabel(t.id, mood);
    LIB.taught++;
    $("teach-status").textContent = `Saved: ${t.name || t.id} is ${mood} to you.`;
    markLabel(t.id, mood);
    nextToTeach();
    loadTable();
  } catch (e) { $("teach-status").textContent = `Not saved: ${e.message}`; }
}

async function learnFromLabels() {
  const button = $("teach-learn"), out = $("teach-result");
  button.disabled = true;
  out.textContent = "Learning from your labels…";
  try {
    const r = await fetch("/library/personal", { method: "POST", headers: writeHeaders() });
    const data = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(data.error || `the server answered ${r.status}`);
    out.textContent = data.summary;
    out.title = (data.lines || []).join("\n");
    if (data.adopted) await Promise.all([loadMap(), loadTable()]);
  } catch (e) {
    out.textContent = `Not learnt: ${e.message}`;
  } finally {
    button.disabled = false;
  }
}

// ----------------------------------------------------------------------------- start
document.addEventListener("DOMContentLoaded", async () => {
  setupLibrary();
  window.addEventListener("resize", () => drawMap());
  await Promise.all([loadMap(), loadTable()]);
  document.body.dataset.library = "ready";
});
