"""The script and styles of the report's interactive charts (``report_charts`` embeds them).

The script reads the JSON block ``#chart-data`` (``chart_data_json`` or ``equity_data_json``)
and draws with the inlined lightweight-charts: candles, indicator overlays and panels and
trade markers in ``#chart-price`` (absent on a portfolio's page), equity, other equity
lines and drawdown in ``#chart-equity``; it fills ``#legend-price`` / ``#legend-equity``
with the values under the crosshair and marks ``body[data-charts=ready]`` when done.
"""

from __future__ import annotations

__all__ = ["CHART_CSS", "CHART_JS"]

# Light theme to match the page; values read out in one legend line above each chart. The
# chart the pointer is in leads: its zoom, pan and crosshair are copied to the other chart
# (copying both ways would echo back and forth, as the charts' time grids differ).
CHART_CSS = """
.chart-box{position:relative;height:420px;margin-top:4px}
.chart-head{display:flex;gap:12px;align-items:baseline}.chart-head h2{margin:0}
.chart-head button{margin-left:auto;font:inherit;font-size:12px;padding:2px 10px;
border:1px solid var(--line);border-radius:6px;background:var(--card);cursor:pointer}
.chart-legend{font-size:12px;color:var(--mute);min-height:18px;margin:6px 0 0;
font-variant-numeric:tabular-nums;overflow-wrap:anywhere}
.chart-legend span{margin-right:12px}.chart-legend b{color:var(--fg);font-weight:600}
.chart-legend .sw{width:12px;margin:0 4px 3px 0}
"""

CHART_JS = r"""
(function () {
  "use strict";
  var note = document.getElementById("chart-note");
  try { draw(JSON.parse(document.getElementById("chart-data").textContent)); }
  catch (e) { note.textContent = "The interactive charts failed: " + e.message; throw e; }

  function draw(D) {
    var LC = window.LightweightCharts, C = D.candles, E = D.equity;
    var GREEN = "#15803d", RED = "#dc2626", BLUE = "#2563eb", GREY = "#9ca3af";
    var PALETTE = ["#f59e0b", "#7c3aed", "#0891b2", "#db2777", "#65a30d", "#ea580c", "#475569"];
    var priceEl = document.getElementById("chart-price");
    var eqEl = document.getElementById("chart-equity");
    var formats = {};
    function fmt(v, d) {
      var f = formats[d] || (formats[d] = new Intl.NumberFormat("en-US",
        { minimumFractionDigits: d, maximumFractionDigits: d }));
      return v == null ? "—" : f.format(v);
    }
    function px(v) { return fmt(v, D.decimals); }
    function when(t) { var s = new Date(t * 1000).toISOString();
      return D.intraday ? s.slice(0, 16).replace("T", " ") : s.slice(0, 10); }
    function options() {
      return { autoSize: true,
        layout: { background: { color: "#ffffff" }, textColor: "#4b5563", fontSize: 11,
                  attributionLogo: true, panes: { separatorColor: "#e5e7eb" } },
        grid: { vertLines: { color: "#f1f3f6" }, horzLines: { color: "#f1f3f6" } },
        // one width on both charts, so their time axes line up
        rightPriceScale: { borderColor: "#e5e7eb", minimumWidth: 84 },
        // fitContent must show every candle, however many per pixel
        timeScale: { borderColor: "#e5e7eb", timeVisible: D.intraday, secondsVisible: false,
                     minBarSpacing: 0.01 },
        crosshair: { mode: LC.CrosshairMode.Normal } };
    }
    function line(chart, values, times, opts, pane) {
      var s = chart.addSeries(LC.LineSeries, Object.assign({ lineWidth: 2, priceLineVisible: false,
        lastValueVisible: false, crosshairMarkerVisible: false }, opts), pane);
      var data = new Array(times.length);
      for (var i = 0; i < times.length; i++)
        data[i] = values[i] == null ? { time: times[i] } : { time: times[i], value: values[i] };
      s.setData(data);
      return s;
    }

    // price: candles, overlays and trade markers in pane 0, one pane per other indicator
    // (a portfolio's page has no price chart: C is null)
    var price = null, candles = null, lines = [], color = 0, marks = [], tradesAt = {}, i;
    if (C) drawPrice();
    // texts are made on hover: formatting thousands of numbers up front costs a blink
    function mark(t, r, exit) { (tradesAt[t] = tradesAt[t] || []).push([r, exit]); }
    function tradeText(m) {
      var r = m[0];
      if (m[1]) return "#" + r[0] + " exit " + r[8] + " @ " + px(r[7]) + ", P&L " + fmt(r[9], 2);
      return "#" + r[0] + " " + (r[1] > 0 ? "long" : "short") + " entry " + r[5] + " @ " +
        px(r[4]);
    }
    function drawPrice() {
      priceEl.style.height = (420 + 150 * D.panels.length) + "px";
      price = LC.createChart(priceEl, options());
      candles = price.addSeries(LC.CandlestickSeries, { upColor: GREEN, downColor: RED,
        borderVisible: false, wickUpColor: GREEN, wickDownColor: RED,
        priceFormat: { type: "price", precision: D.decimals,
                       minMove: Math.pow(10, -D.decimals) } });
      var bars = new Array(C.t.length);
      for (i = 0; i < C.t.length; i++)
        bars[i] = { time: C.t[i], open: C.o[i], high: C.h[i], low: C.l[i], close: C.c[i] };
      candles.setData(bars);
      D.overlays.forEach(function (s) {
        var c = PALETTE[color++ % PALETTE.length];
        line(price, s.v, C.t, { color: c }, 0);
        lines.push({ name: s.name, color: c, v: s.v });
      });
      D.panels.forEach(function (p, k) {
        p.lines.forEach(function (s) {
          var c = PALETTE[color++ % PALETTE.length];
          line(price, s.v, C.t, { color: c, lastValueVisible: true }, k + 1);
          lines.push({ name: s.name, color: c, v: s.v });
        });
      });
      if (D.panels.length) price.panes()[0].setStretchFactor(420 / 150);

      D.trades.forEach(function (r) {
        var c = r[2] > 0 ? GREEN : r[2] < 0 ? RED : GREY;
        if (r[3] != null) {
          marks.push({ time: r[3], shape: r[1] > 0 ? "arrowUp" : "arrowDown", color: c,
            position: r[4] == null ? (r[1] > 0 ? "belowBar" : "aboveBar")
                                   : (r[1] > 0 ? "atPriceBottom" : "atPriceTop"), price: r[4] });
          mark(r[3], r, false);
        }
        if (r[6] != null) {
          marks.push({ time: r[6], shape: "circle", color: c,
            position: r[7] == null ? "aboveBar" : "atPriceMiddle", price: r[7] });
          mark(r[6], r, true);
        }
      });
      marks.sort(function (a, b) { return a.time - b.time; });
      LC.createSeriesMarkers(candles, marks);
    }

    // equity with buy and hold, drawdown below it
    var eq = LC.createChart(eqEl, options());
    var eqLine = line(eq, E.v, E.t, { color: BLUE, lastValueVisible: true,
      crosshairMarkerVisible: true,
      priceFormat: { type: "price", precision: 2, minMove: 0.01 } }, 0);
    if (E.bh) line(eq, E.bh, E.t, { color: GREY, lineWidth: 1, lineStyle: LC.LineStyle.Dashed }, 0);
    var eqLines = E.lines.map(function (s) {
      var c = PALETTE[color++ % PALETTE.length];
      line(eq, s.v, E.t, { color: c, lineWidth: 1 }, 0);
      return { name: s.name, color: c, v: s.v };
    });
    var dd = eq.addSeries(LC.BaselineSeries, { baseValue: { type: "price", price: 0 },
      topLineColor: RED, topFillColor1: "rgba(0,0,0,0)", topFillColor2: "rgba(0,0,0,0)",
      bottomLineColor: RED, bottomFillColor1: "rgba(220,38,38,0.08)",
      bottomFillColor2: "rgba(220,38,38,0.35)", lineWidth: 1, priceLineVisible: false,
      priceFormat: { type: "custom", minMove: 0.01,
                     formatter: function (v) { return v.toFixed(2) + "%"; } } }, 1);
    var ddData = new Array(E.t.length);
    for (i = 0; i < E.t.length; i++)
      ddData[i] = E.dd[i] == null ? { time: E.t[i] } : { time: E.t[i], value: E.dd[i] };
    dd.setData(ddData);
    eq.panes()[0].setStretchFactor(2);

    // legends: the values under the crosshair, the last bar's when the pointer is away
    function nearest(ts, t) {
      var lo = 0, hi = ts.length - 1, m;
      while (lo < hi) { m = (lo + hi) >> 1; if (ts[m] < t) lo = m + 1; else hi = m; }
      if (lo > 0 && t - ts[lo - 1] < ts[lo] - t) lo--;
      return lo;
    }
    function legend(id, items) {
      var el = document.getElementById(id);
      el.textContent = "";
      items.forEach(function (it) {
        var span = document.createElement("span");
        if (it.color) {
          var sw = document.createElement("i");
          sw.className = "sw"; sw.style.borderTopColor = it.color; span.appendChild(sw);
        }
        span.appendChild(document.createTextNode(it.label ? it.label + " " : ""));
        var b = document.createElement("b"); b.textContent = it.value; span.appendChild(b);
        el.appendChild(span);
        el.appendChild(document.createTextNode(" "));
      });
    }
    function showPrice(i) {
      if (!C || !C.t.length) return;
      var items = [{ label: "", value: when(C.t[i]) }, { label: "O", value: px(C.o[i]) },
        { label: "H", value: px(C.h[i]) }, { label: "L", value: px(C.l[i]) },
        { label: "C", value: px(C.c[i]) }];
      lines.forEach(function (l) {
        items.push({ label: l.name, value: px(l.v[i]), color: l.color });
      });
      var here = tradesAt[C.t[i]] || [];
      here.slice(0, 3).forEach(function (m) { items.push({ label: "", value: tradeText(m) }); });
      if (here.length > 3) items.push({ label: "", value: "+" + (here.length - 3) + " more" });
      legend("legend-price", items);
    }
    function showEquity(j) {
      if (!E.t.length) return;
      var items = [{ label: "", value: when(E.t[j]) },
        { label: eqLines.length ? "Total" : "Equity", value: fmt(E.v[j], 2), color: BLUE }];
      eqLines.forEach(function (l) {
        items.push({ label: l.name, value: fmt(l.v[j], 2), color: l.color });
      });
      if (E.bh) items.push({ label: "Buy & hold", value: fmt(E.bh[j], 2), color: GREY });
      items.push({ label: "Drawdown", value: E.dd[j] == null ? "—" : E.dd[j].toFixed(2) + "%",
                   color: RED });
      legend("legend-equity", items);
    }
    var charts = price ? [price, eq] : [eq], lead = charts[0];
    [[priceEl, price], [eqEl, eq]].filter(function (p) { return p[1]; }).forEach(function (pair) {
      ["pointerenter", "pointerdown", "wheel", "touchstart"].forEach(function (name) {
        pair[0].addEventListener(name, function () { lead = pair[1]; },
                                 { passive: true, capture: true });
      });
    });
    charts.forEach(function (c) {
      c.timeScale().subscribeVisibleTimeRangeChange(function (range) {
        if (c !== lead || !range) return;
        charts.forEach(function (o) {
          if (o !== c) { try { o.timeScale().setVisibleRange(range); } catch (e) { /* no data */ } }
        });
      });
      c.subscribeCrosshairMove(function (p) {
        if (c !== lead) return;
        var other = c === price ? eq : price;
        if (p.time == null) {
          if (other) other.clearCrosshairPosition();
          showPrice(C ? C.t.length - 1 : 0); showEquity(E.t.length - 1);
          return;
        }
        var i = C ? nearest(C.t, p.time) : 0, j = nearest(E.t, p.time);
        showPrice(i); showEquity(j);
        if (c === price) { if (E.t.length) eq.setCrosshairPosition(E.v[j], E.t[j], eqLine); }
        else if (price && C.t.length) price.setCrosshairPosition(C.c[i], C.t[i], candles);
      });
    });
    showPrice(C ? C.t.length - 1 : 0); showEquity(E.t.length - 1);
    charts.forEach(function (c) { c.timeScale().fitContent(); });
    document.getElementById("chart-reset").addEventListener("click", function () {
      charts.forEach(function (c) { c.timeScale().fitContent(); });
    });
    window.reportCharts = { price: price, equity: eq, candles: candles, markers: marks.length };
    document.body.dataset.charts = "ready";
  }
})();
"""
