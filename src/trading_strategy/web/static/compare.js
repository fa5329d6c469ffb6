// Two or more runs side by side: their metrics in columns and their equity on one chart.
"use strict";
TS.nav("runs");
const COLORS = ["#4c8dff", "#f0a030", "#26a69a", "#ef5350", "#b07cff", "#e0e060"];
const ROWS = [["strategy", r => r.summary.strategy], ["data", r => `${r.summary.symbol || "-"} ${r.summary.timeframe || ""}`],
  ["return", r => TS.pct(r.summary.total_return)], ["CAGR", r => TS.pct(r.summary.cagr)],
  ["Sharpe", r => TS.num(r.summary.sharpe, 2)], ["Sortino", r => TS.num(r.summary.sortino, 2)],
  ["max drawdown", r => TS.pct(r.summary.max_drawdown)], ["win rate", r => TS.pct(r.summary.win_rate)],
  ["profit factor", r => TS.num(r.summary.profit_factor, 2)], ["trades", r => r.summary.trade_count],
  ["params", r => Object.entries(r.params).map(([k, v]) => `${k}=${v}`).join(", ")]];

async function main() {
  const ids = (new URLSearchParams(location.search).get("ids") || "").split(",").filter(Boolean);
  if (ids.length < 2) { TS.say("name two runs or more: /runs/compare?ids=1,2"); return; }
  const runs = await Promise.all(ids.map(id => TS.api(`/api/v1/runs/${encodeURIComponent(id)}?points=1500`)));
  document.getElementById("runs").innerHTML = runs.map((r, i) => `<section class="card run-card">
    <h2 style="color:${COLORS[i % COLORS.length]}"><a href="/runs/${r.summary.id}">Run ${r.summary.id}</a></h2>
    <table>${ROWS.map(([k, f]) => `<tr><th>${k}</th><td class="num">${TS.esc(f(r))}</td></tr>`).join("")}</table>
    </section>`).join("");
  if (!Charts.available()) return;
  const chart = Charts.make(document.getElementById("equity"));
  runs.forEach((r, i) => {
    const first = r.equity.length ? r.equity[0].equity : 1;
    const series = chart.addSeries(LightweightCharts.LineSeries, { color: COLORS[i % COLORS.length],
                                                                  lineWidth: 2, title: `run ${r.summary.id}` });
    series.setData(r.equity.map(p => ({ time: p.time, value: 100 * p.equity / first })));
  });
  chart.timeScale().fitContent();
  document.body.dataset.ready = "1";
}
main().catch(e => TS.say(e.message));
