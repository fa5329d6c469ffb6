// One run: candles with trade markers, equity and drawdown (downsampled; full detail on zoom).
"use strict";
TS.nav("runs");
const runId = location.pathname.split("/").filter(Boolean).pop();
let equitySeries, drawdownSeries, fullRange, zoomTimer;

function stats(run) {
  const m = run.metrics, s = run.summary;
  const items = [["return", TS.pct(s.total_return)], ["CAGR", TS.pct(s.cagr)],
    ["Sharpe", TS.num(s.sharpe, 2)], ["Sortino", TS.num(s.sortino, 2)],
    ["max drawdown", TS.pct(s.max_drawdown)], ["win rate", TS.pct(s.win_rate)],
    ["profit factor", TS.num(s.profit_factor, 2)], ["trades", s.trade_count ?? "-"],
    ["exposure", TS.pct(m.exposure)], ["bars", s.bars ?? "-"],
    ["params", Object.entries(run.params).map(([k, v]) => `${k}=${v}`).join(", ") || "-"],
    ["code", s.code_version]];
  document.getElementById("stats").innerHTML =
    items.map(([k, v]) => `<div><span>${k}</span>${TS.esc(v)}</div>`).join("");
}

function setEquity(points, run) {
  equitySeries.setData(points.map(p => ({ time: p.time, value: p.equity })));
  drawdownSeries.setData(points.map(p => ({ time: p.time, value: p.drawdown * 100 })));
  document.getElementById("resolution").textContent = run.downsampled
    ? `${points.length} of ${run.equity_points_total} points (zoom in for detail)`
    : `${points.length} points, full resolution`;
}

async function zoomed(range) {
  if (!range || !fullRange) return;
  const whole = range.from <= fullRange.from && range.to >= fullRange.to;
  const q = new URLSearchParams({ points: 2000 });
  if (!whole) {
    q.set("start", new Date(range.from * 1000).toISOString());
    q.set("end", new Date(range.to * 1000).toISOString());
  }
  const part = await TS.api(`/api/v1/runs/${runId}?` + q);
  if (!part.equity.length) return;
  // outside the window keep the overview, inside put the detail
  const outside = window.overview.filter(p => p.time < part.equity[0].time || p.time > part.equity.at(-1).time);
  const merged = outside.concat(part.equity).sort((a, b) => a.time - b.time);
  setEquity(merged, part);
}

async function main() {
  const run = await TS.api(`/api/v1/runs/${runId}?points=2000`);
  const s = run.summary;
  document.title = `Run ${s.id} · ${s.strategy}`;
  document.getElementById("title").textContent =
    `Run ${s.id}: ${s.strategy} on ${s.symbol || "-"} ${s.timeframe || ""}`;
  stats(run);
  document.getElementById("trades").innerHTML = run.trades.map(t => `<tr><td>${TS.esc(t.side)}</td>
    <td class="num">${TS.esc(t.quantity)}</td><td>${TS.esc(t.entry_time.slice(0, 10))}</td>
    <td class="num">${TS.esc(t.entry_price)}</td><td>${TS.esc((t.exit_time || "open").slice(0, 10))}</td>
    <td class="num">${TS.esc(t.exit_price)}</td><td class="num ${TS.cls(t.pnl)}">${TS.esc(t.pnl)}</td>
    <td class="num ${TS.cls(t.trade_return)}">${TS.pct(t.trade_return)}</td></tr>`).join("");
  if (!Charts.available()) return;
  const priceChart = Charts.make(document.getElementById("price"));
  const equityChart = Charts.make(document.getElementById("equity"));
  const ddChart = Charts.make(document.getElementById("drawdown"));
  const candles = priceChart.addSeries(LightweightCharts.CandlestickSeries, {
    upColor: "#26a69a", downColor: "#ef5350", borderVisible: false,
    wickUpColor: "#26a69a", wickDownColor: "#ef5350" });
  equitySeries = equityChart.addSeries(LightweightCharts.LineSeries, { color: "#4c8dff", lineWidth: 2 });
  drawdownSeries = ddChart.addSeries(LightweightCharts.AreaSeries, {
    lineColor: "#ef5350", topColor: "rgba(239,83,80,0.05)", bottomColor: "rgba(239,83,80,0.4)",
    priceFormat: { type: "custom", formatter: v => v.toFixed(1) + "%" } });
  window.overview = run.equity;
  setEquity(run.equity, run);
  if (run.equity.length) fullRange = { from: run.equity[0].time, to: run.equity.at(-1).time };
  try {
    const bars = await TS.api(`/api/v1/runs/${runId}/candles?points=5000`);
    candles.setData(bars);
    if (bars.length) LightweightCharts.createSeriesMarkers(candles, Charts.markers(run.trades, bars[0].time));
  } catch (e) { TS.say("price chart: " + e.message); }
  for (const c of [priceChart, equityChart, ddChart]) c.timeScale().fitContent();
  Charts.sync([priceChart, equityChart, ddChart]);
  if (run.downsampled) equityChart.timeScale().subscribeVisibleTimeRangeChange(range => {
    clearTimeout(zoomTimer);
    zoomTimer = setTimeout(() => zoomed(range).catch(e => TS.say(e.message)), 250);
  });
  document.body.dataset.ready = "1";
}
main().catch(e => TS.say(e.message));
