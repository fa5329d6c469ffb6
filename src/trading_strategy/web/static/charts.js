// Chart builders over lightweight-charts (served from /static/vendor, no CDN).
"use strict";
const Charts = {
  available() {
    if (window.LightweightCharts) return true;
    TS.say("charts unavailable: run `npm ci` (it copies lightweight-charts into web/static/vendor)");
    return false;
  },
  make(el, extra) { return LightweightCharts.createChart(el, TS.chartOptions(el, extra)); },
  secs(iso) { return Math.floor(Date.parse(iso) / 1000); },
  markers(trades, firstTime) {
    const out = [];
    for (const t of trades) {
      const long = t.side === "long" || t.side === "buy";
      out.push({ time: Charts.secs(t.entry_time), position: long ? "belowBar" : "aboveBar",
                 color: long ? "#26a69a" : "#ef5350", shape: long ? "arrowUp" : "arrowDown",
                 text: long ? "B" : "S" });
      if (t.exit_time) out.push({ time: Charts.secs(t.exit_time), position: long ? "aboveBar" : "belowBar",
                                  color: "#f0a030", shape: long ? "arrowDown" : "arrowUp", text: "x" });
    }
    return out.filter(m => m.time >= firstTime).sort((a, b) => a.time - b.time);
  },
  // moving one chart's time range moves the others: zoom/pan stay in step
  sync(charts) {
    let busy = false;
    for (const c of charts) c.timeScale().subscribeVisibleLogicalRangeChange(() => {});
    for (const c of charts) c.timeScale().subscribeVisibleTimeRangeChange(range => {
      if (busy || !range) return;
      busy = true;
      for (const other of charts) if (other !== c) { try { other.timeScale().setVisibleRange(range); } catch (e) { /* empty */ } }
      busy = false;
    });
  },
};
