// trackmood page, the model card: its facts, its metrics in words and its confusion matrix.
// Uses the helpers of app.js ($, el).
"use strict";

// ----------------------------------------------------------------------------- model card
function findConfusion(obj, depth = 0) {
  if (!obj || typeof obj !== "object" || depth > 5) return null;
  for (const [k, v] of Object.entries(obj)) {
    if (/confusion/i.test(k)) {
      if (Array.isArray(v) && v.length && Array.isArray(v[0])) return { matrix: v, labels: obj.labels || null, where: k };
      if (v && typeof v === "object" && Array.isArray(v.matrix)) return { matrix: v.matrix, labels: v.labels || v.classes || null, where: k };
      if (v && typeof v === "object" && !Array.isArray(v)) {
        const labels = Object.keys(v);
        if (labels.length && labels.every((l) => v[l] && typeof v[l] === "object")) {
          return { matrix: labels.map((a) => labels.map((b) => Number(v[a][b] || 0))), labels, where: k };
        }
      }
    }
  }
  for (const v of Object.values(obj)) {
    if (v && typeof v === "object") { const f = findConfusion(v, depth + 1); if (f) return f; }
  }
  return null;
}

// Model-card metric keys in words ("cv · recall_mean · Calm" -> "Recall of Calm, cross-validated").
const METRIC_WORDS = {
  accuracy: "Accuracy", accuracy_mean: "Accuracy", accuracy_pooled: "Accuracy, all held-out predictions",
  accuracy_std: "Accuracy spread between folds (±)", accuracy_pooled_mean: "Accuracy, all held-out predictions",
  accuracy_pooled_std: "Accuracy spread between repeats (±)", macro_f1: "Macro F1 (mean of the moods' F1)",
  macro_f1_mean: "Macro F1 (mean of the moods' F1)", macro_f1_std: "Macro F1 spread between folds (±)",
  macro_f1_pooled_mean: "Macro F1, all held-out predictions", macro_f1_pooled_std: "Macro F1 spread between repeats (±)",
  log_loss_mean: "Log loss (lower is better)", recall_mean: "Recall", recall: "Recall", f1_per_class: "F1",
  n: "Clips", groups: "Artists", crops: "Training crops", folds: "Folds", repeats: "Repeats", fits: "Models fitted",
  seconds: "Seconds to evaluate", grouped: "Grouped by artist", protocol: "How it was measured",
  cv: "Cross-validation", heads_roc_auc: "Valence/energy head ROC AUC", published_reference: "Published for comparison",
  personal_accuracy: "Personal model accuracy on your labels", bundled_accuracy: "Bundled model accuracy on your labels",
  labels: "Your labels", base_rows: "Base clips", extra_training_rows_max: "Most extra training rows",
  leave_one_table_out: "Leave one table out", pooled: "all held-out predictions", mean: "mean", std: "spread (±)",
};
const MOOD_NAMES = new Set(["Calm", "Energetic", "Happy", "Sad", "energy", "valence"]);

function metricLabel(path) {
  // the last key that is not a mood names the measure; moods and the section qualify it
  const words = path.map((k) => METRIC_WORDS[k] || k.replace(/_/g, " "));
  const moods = path.filter((k) => MOOD_NAMES.has(k));
  const keys = path.filter((k) => !MOOD_NAMES.has(k));
  if (!keys.length) return words.join(", ");
  const main = METRIC_WORDS[keys[keys.length - 1]] || keys[keys.length - 1].replace(/_/g, " ");
  const section = keys.slice(0, -1).map((k) => METRIC_WORDS[k] || k.replace(/_/g, " "));
  let label = main.charAt(0).toUpperCase() + main.slice(1);
  if (moods.length) label += ` of ${moods.join(", ")}`;
  if (section.length) label += ` (${section.join(", ").toLowerCase()})`;
  return label;
}

function metricValue(key, v) {
  if (typeof v !== "number") return String(v);
  if (Number.isInteger(v)) return v.toLocaleString("en-US");
  if (/accuracy|recall|f1|auc|precision/i.test(key) && v >= 0 && v <= 1) return `${(100 * v).toFixed(1)} %`;
  return Math.abs(v) < 1000 ? v.toFixed(3) : v.toFixed(0);
}

function scalarMetrics(metrics, path = [], out = [], depth = 0) {
  if (!metrics || typeof metrics !== "object" || depth > 2) return out;
  for (const [k, v] of Object.entries(metrics)) {
    if (/confusion|std_means|choices|C_chosen/i.test(k)) continue;
    const here = [...path, k];
    if (typeof v === "number") out.push([metricLabel(here), metricValue(here.join(" "), v)]);
    else if (typeof v === "boolean") out.push([metricLabel(here), v ? "yes" : "no"]);
    else if (typeof v === "string" && v.length < 200) out.push([metricLabel(here), v]);
    else if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === "number")) {
      out.push([metricLabel(here).replace(/ci95/i, "95% interval"), v.map((x) => metricValue(here.join(" "), x)).join(" to ")]);
    } else if (v && typeof v === "object" && !Array.isArray(v)) scalarMetrics(v, here, out, depth + 1);
    if (out.length > 40) break;
  }
  return out;
}

function renderCard(card) {
  const box = $("model-card");
  box.replaceChildren();
  box.append(el("p", {}, el("strong", { text: card.name || "model" }), card.kind ? ` (${card.kind})` : ""));
  if (card.description) box.append(el("p", { text: card.description }));
  const dl = el("dl", { class: "facts" });
  const fact = (k, v) => { if (v) dl.append(el("dt", { text: k }), el("dd", { text: v })); };
  fact("Features", (card.features || []).join(", "));
  fact("Classes", (card.classes || []).join(", "));
  if (card.created) fact("Trained", String(card.created));
  if (card.versions) fact("Libraries", Object.entries(card.versions).map(([k, v]) => `${k} ${v}`).join(", "));
  box.append(dl);
  if (Array.isArray(card.training_files) && card.training_files.length) {
    box.append(el("h3", { text: "Training data" }));
    const t = el("table", { class: "small" }, el("thead", {}, el("tr", {},
      el("th", { scope: "col", text: "file" }), el("th", { scope: "col", text: "rows" }), el("th", { scope: "col", text: "sha256" }))));
    const tb = el("tbody");
    for (const f of card.training_files) tb.append(el("tr", {}, el("td", { text: f.file || "" }), el("td", { class: "num", text: f.rows ?? "" }), el("td", { class: "mono", text: String(f.sha256 || "").slice(0, 12) })));
    t.append(tb);
    box.append(el("div", { class: "table-wrap" }, t));
  }
  const metrics = card.metrics;
  const scalars = scalarMetrics(metrics);
  if (scalars.length) {
    box.append(el("h3", { text: "Metrics" }));
    const dlm = el("dl", { class: "facts" });
    for (const [k, v] of scalars) dlm.append(el("dt", { text: k }), el("dd", { text: v }));
    box.append(dlm);
  }
  const cm = findConfusion(metrics);
  box.append(el("h3", { text: "Confusion matrix" }));
  if (cm) box.append(confusionTable(cm, card.classes));
  else box.append(el("p", { class: "hint", text: "This model's card carries no confusion matrix" + (metrics ? "; its metrics are listed above." : " and no metrics.") }));
  if (card.terms) box.append(el("h3", { text: "Data and terms" }), el("p", { class: "terms", text: card.terms }));
}

function confusionTable(cm, classes) {
  const labels = cm.labels || classes || cm.matrix.map((_, i) => String(i));
  const t = el("table", { class: "confusion" }, el("caption", { text: `Rows: true mood; columns: predicted mood (${cm.where}).` }));
  const head = el("tr", {}, el("th", { scope: "col", text: "true \\ predicted" }));
  for (const l of labels) head.append(el("th", { scope: "col", text: l }));
  t.append(el("thead", {}, head));
  const tb = el("tbody");
  cm.matrix.forEach((row, i) => {
    const sum = row.reduce((a, b) => a + Number(b), 0) || 1;
    const tr = el("tr", {}, el("th", { scope: "row", text: labels[i] ?? String(i) }));
    row.forEach((v, j) => {
      const share = Number(v) / sum;
      const td = el("td", { class: "num" + (i === j ? " diag" : ""), text: Number.isInteger(Number(v)) ? String(v) : Number(v).toFixed(2),
        title: `${labels[i]} predicted as ${labels[j]}: ${(100 * share).toFixed(0)}% of the row` });
      td.style.backgroundColor = `rgba(42, 92, 170, ${(0.08 + 0.6 * share).toFixed(3)})`;
      if (share > 0.55) td.classList.add("dark");
      tr.append(td);
    });
    tb.append(tr);
  });
  t.append(tb);
  return el("div", { class: "table-wrap" }, t);
}
