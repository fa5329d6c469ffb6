// One stored optimisation or walk-forward: verdicts, heatmap, diagnostics and top trials,
// or the windows and the stitched out-of-sample equity.
"use strict";
Research.nav();
const researchId = location.pathname.split("/").filter(Boolean).pop();

// red (worst) through the panel's grey to green (best), readable under light text
function heatColour(t) {
  const mix = (a, b, k) => a.map((v, i) => Math.round(v + (b[i] - v) * k));
  const [bad, mid, good] = [[122, 38, 42], [42, 47, 56], [30, 110, 78]];
  const rgb = t < 0.5 ? mix(bad, mid, t * 2) : mix(mid, good, (t - 0.5) * 2);
  return `rgb(${rgb.join(",")})`;
}

function heatmap(h) {
  const el = document.getElementById("heatmap");
  if (!h) { el.innerHTML = '<p class="muted">No eligible trial: no heatmap.</p>'; return; }
  const values = h.values.flat().filter(v => v != null);
  const low = Math.min(...values), high = Math.max(...values);
  const shade = v => {
    if (v == null) return "";
    let t = high === low ? 0.5 : (v - low) / (high - low);
    if (!h.maximize) t = 1 - t;
    return ` style="background:${heatColour(t)}"`;
  };
  document.getElementById("heatmap-caption").textContent =
    `${h.maximize ? "best" : "lowest"} score per cell; green is better`;
  const corner = h.y ? `${TS.esc(h.y)} \\ ${TS.esc(h.x)}` : TS.esc(h.x);
  el.innerHTML = `<table class="heatmap"><tr><th>${corner}</th>${h.columns.map(c => `<th class="num">${TS.esc(c)}</th>`).join("")}</tr>`
    + h.rows.map((r, i) => `<tr><th class="num">${TS.esc(h.y ? r : "score")}</th>${h.values[i].map(v =>
      `<td class="num"${shade(v)}>${v == null ? "–" : TS.num(v, 3)}</td>`).join("")}</tr>`).join("")
    + "</table>";
}

function interval(iv, fmt) { return iv ? `${fmt(iv.value)} (${fmt(iv.low)} .. ${fmt(iv.high)})` : "-"; }

function diagnostics(report) {
  const d = report.diagnostics || {};
  const lines = (report.verdicts || []).filter(l => !l.startsWith("overall:"));
  const rows = [];
  const add = (present, name, value) => { if (present) rows.push([name, value, lines.shift()]); };
  const dsr = d.deflated_sharpe, pbo = d.pbo, boot = d.bootstrap, st = d.stability;
  add(dsr, "Deflated Sharpe ratio", dsr && `${TS.pct(dsr.dsr)} · ${dsr.trials} trials, ${dsr.observations} bars, `
    + `expected max Sharpe per bar ${TS.num(dsr.expected_max_sharpe, 3)}`);
  add(pbo, "Probability of backtest overfitting", pbo && `${TS.pct(pbo.pbo)} · ${pbo.splits} splits, ${pbo.combinations} combinations`);
  add(boot, "Bootstrap intervals", boot && `return ${interval(boot.total_return, TS.pct)}; Sharpe ${interval(boot.sharpe, v => TS.num(v, 2))}; `
    + `max DD ${interval(boot.max_drawdown, TS.pct)} · ${TS.pct(boot.confidence)} over ${boot.samples} resamples of ${boot.trades} trades`);
  add(st, "Parameter stability", st && `${TS.esc(st.verdict)} · neighbours keep ${TS.pct(st.ratio)} (${st.neighbours} neighbours)`);
  document.getElementById("diagnostics").innerHTML = rows.map(([name, value, line]) =>
    `<tr><th>${name}</th><td>${TS.esc(value)}</td><td class="${line && Research.isWarning(line) ? "neg" : "pos"}">${TS.esc(line || "")}</td></tr>`).join("")
    || '<tr><td class="muted">no diagnostics (no eligible trial)</td></tr>';
}

function topTrials(report, maximize) {
  const names = Object.keys(report.params || {});
  const metrics = ["total_return", "sharpe", "max_drawdown", "trades"];
  const scored = (report.trials || []).filter(t => t.score != null)
    .sort((a, b) => maximize ? b.score - a.score : a.score - b.score).slice(0, 20);
  document.getElementById("trials-head").innerHTML = "<tr>" + names.map(n => `<th class="num">${TS.esc(n)}</th>`).join("")
    + '<th class="num">score</th>' + metrics.map(m => `<th class="num">${m.replace("_", " ")}</th>`).join("") + "</tr>";
  const cell = (m, v) => m === "trades" ? (v ?? "-") : (m === "sharpe" ? TS.num(v, 2) : TS.pct(v));
  document.getElementById("trials").innerHTML = scored.map(t => "<tr>"
    + names.map(n => `<td class="num">${TS.esc(t.params[n])}</td>`).join("")
    + `<td class="num">${TS.num(t.score, 3)}</td>`
    + metrics.map(m => `<td class="num">${cell(m, (t.stats || {})[m])}</td>`).join("") + "</tr>").join("")
    || `<tr><td colspan="${names.length + 5}" class="muted">no scored trial</td></tr>`;
}

function walkForward(report) {
  document.getElementById("walk").hidden = false;
  document.getElementById("windows").innerHTML = (report.windows || []).map(w => `<tr>
    <td>${w.window}</td><td>${TS.esc(w.train_start)} → ${TS.esc(w.train_end)}</td>
    <td>${TS.esc(w.test_start)} → ${TS.esc(w.test_end)}</td><td>${TS.esc(w.params)}</td>
    <td class="num">${TS.num(w.train_score, 3)}</td>
    <td class="num ${TS.cls(w.test_return)}">${TS.pct(w.test_return)}</td>
    <td class="num">${TS.num(w.test_sharpe, 2)}</td></tr>`).join("");
  document.getElementById("oos-stats").innerHTML = Object.entries(report.stats || {}).map(([k, v]) =>
    `<div><span>${TS.esc(k.replace(/_/g, " "))}</span>${TS.esc(typeof v === "number" && !Number.isInteger(v) ? v.toFixed(4) : v)}</div>`).join("");
  if (!Charts.available()) return;
  const equity = report.equity || [];
  // without bar times (older reports) one point a day from 2000-01-01 keeps the shape
  const times = report.equity_times || equity.map((_, i) => 946684800 + i * 86400);
  const chart = Charts.make(document.getElementById("equity"));
  const line = chart.addSeries(LightweightCharts.LineSeries, { color: "#4c8dff", lineWidth: 2 });
  const points = [];
  for (let i = 0; i < equity.length; i++)
    if (!points.length || times[i] > points.at(-1).time) points.push({ time: times[i], value: equity[i] });
  line.setData(points);
  chart.timeScale().fitContent();
}

function stats(s, report) {
  const items = [["kind", Research.kind(s.kind)], ["data", `${s.symbol || "-"} ${s.timeframe || ""}`],
    ["objective", s.objective], ["trials", s.trials ?? "-"],
    [s.kind === "walk_forward" ? "last chosen params" : "best params", Research.params(s.best_params)],
    [s.kind === "walk_forward" ? "out-of-sample score" : "best score", TS.num(s.best_score, 4)],
    ["created (UTC)", s.created_at.slice(0, 19).replace("T", " ")], ["code", s.code_version]];
  if (report.method) items.splice(1, 0, ["method", report.method]);
  document.getElementById("stats").innerHTML =
    items.map(([k, v]) => `<div><span>${k}</span>${TS.esc(v)}</div>`).join("");
}

async function main() {
  const run = await TS.api(`/api/v1/research/${researchId}`);
  const s = run.summary, report = run.report;
  document.title = `Research ${s.id} · ${s.strategy}`;
  document.getElementById("title").textContent =
    `${s.kind === "walk_forward" ? "Walk-forward" : "Optimisation"} ${s.id}: ${s.strategy} on ${s.symbol || "-"}`;
  document.getElementById("describe").textContent = report.description || "";
  stats(s, report);
  document.getElementById("verdicts").innerHTML = Research.verdicts(report.verdicts);
  if (s.kind === "walk_forward") walkForward(report);
  else {
    document.getElementById("sweep").hidden = false;
    const maximize = report.heatmap ? report.heatmap.maximize : !s.objective.startsWith("minimize");
    heatmap(report.heatmap);
    diagnostics(report);
    topTrials(report, maximize);
  }
  document.getElementById("delete").onclick = async () => {
    if (!confirm(`Delete research run ${s.id}?`)) return;
    try {
      await TS.api(`/api/v1/research/${s.id}`, { method: "DELETE" });
      location.href = "/research";
    } catch (e) { TS.say(e.message); }
  };
  document.body.dataset.ready = "1";
}
main().catch(e => { TS.say(e.message); document.body.dataset.ready = "1"; });
