// The sessions dashboard: a card per session, refreshed when the live stream says it changed.
// Each card keeps its equity chart and feed-health panel across refreshes: only its body is
// redrawn, the chart grows point by point from the stream's `equity` messages.
"use strict";
TS.nav("dash");
let lastSeq = null;
const pending = new Set();
const charts = new Map();  // session name → { chart, series, last }

function table(rows, columns) {
  if (!rows.length) return '<p class="muted">none</p>';
  const head = columns.map(([label, , num]) => `<th class="${num ? "num" : ""}">${label}</th>`).join("");
  const body = rows.map(row => "<tr>" + columns.map(([, key, num]) =>
    `<td class="${num ? "num" : ""}">${TS.esc(typeof key === "function" ? key(row) : row[key])}</td>`
  ).join("") + "</tr>").join("");
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

function pnlRows(pnl) {
  const names = new Set([...Object.keys(pnl.realized || {}), ...Object.keys(pnl.unrealized || {})]);
  return [...names].sort().map(n => ({ strategy: n, realized: TS.num(pnl.realized[n], 2),
                                       unrealized: TS.num(pnl.unrealized[n], 2) }));
}

// decision and placement latency per strategy, from the session's metrics snapshot
function latencyRows(metrics) {
  const out = [];
  for (const [kind, series] of Object.entries((metrics && metrics.latency_ms) || {})) {
    for (const [key, q] of Object.entries(series)) {
      out.push({ kind: kind.replace("_", " "), who: key.replace(/strategy=/g, "").replace(/,/g, " "),
                 n: q.count, p50: TS.num(q.p50, 3), p95: TS.num(q.p95, 3) });
    }
  }
  return out;
}

// the strategy's badge: a risk halt wins over the operator's pause or stop
function badge(halted, control) {
  if (halted) return '<span class="badge halted">halted</span>';
  if (control === "paused") return '<span class="badge paused">paused</span>';
  if (control === "stopped") return '<span class="badge stopped">stopped</span>';
  return '<span class="badge ok">active</span>';
}

function controls(control) {
  const pause = control === "paused" ? '<button data-act="resume">Resume</button>'
    : `<button data-act="pause"${control === "stopped" ? " disabled" : ""}>Pause</button>`;
  const stop = control === "stopped" ? '<button data-act="start">Start</button>'
    : '<button data-act="stop">Stop</button>';
  return `<button class="danger" data-act="halt">Halt</button> <button data-act="rearm">Re-arm</button> ${pause} ${stop}`;
}

function body(detail) {
  const halted = detail.risk.halted || {};
  const states = detail.strategies || {};
  const names = [...new Set([...Object.keys(states), ...Object.keys(detail.status.orders)])].sort();
  const rows = names.map(name => {
    const risk = (detail.risk.states || {})[name] || {};
    const control = (states[name] || {}).state || "running";
    const t = (detail.status.orders[name] || {}).all || {};
    return `<tr data-strategy="${TS.esc(name)}" data-state="${TS.esc(control)}"><td>${TS.esc(name)}</td>
      <td>${badge(halted[name] || risk.state === "halted", control)}</td>
      <td class="num">${TS.pct(risk.drawdown)}</td><td class="num">${t.sent ?? 0}</td><td class="num">${t.fills ?? 0}</td>
      <td class="num">${TS.pct(t.fill_rate)}</td><td class="num">${TS.num(t.slippage_bps_mean, 2)}</td>
      <td class="controls">${controls(control)}</td></tr>`;
  }).join("");
  const metrics = detail.status.metrics;
  return `<table><thead><tr><th>strategy</th><th>state</th><th class="num">drawdown</th><th class="num">orders</th><th class="num">fills</th>
      <th class="num">fill rate</th><th class="num">slippage bps</th><th>controls</th></tr></thead>
      <tbody>${rows}</tbody></table>
    <div class="grid">
      <div><h3>Positions</h3>${table(detail.positions, [["strategy", "strategy"], ["symbol", "symbol"],
        ["quantity", "quantity", 1], ["last fill", "last_fill_price", 1]])}</div>
      <div><h3>P&amp;L <span class="muted">${TS.esc(detail.pnl.source || "no metrics yet")}</span></h3>
        ${table(pnlRows(detail.pnl), [["strategy", "strategy"], ["realized", "realized", 1], ["unrealized", "unrealized", 1]])}</div>
      <div><h3>Open orders</h3>${table(detail.open_orders, [["id", "id"], ["side", "side"], ["type", "type"],
        ["qty", "quantity", 1], ["status", "status"]])}</div>
      <div><h3>Risk</h3>${table(Object.entries(detail.risk.denials).flatMap(([s, byReason]) =>
        Object.entries(byReason).map(([reason, n]) => ({ s, reason, n }))),
        [["strategy", "s"], ["denied", "reason"], ["count", "n", 1]])}
        <p class="muted">last bar: ${TS.esc(Object.entries(detail.status.last_bar).map(([k, v]) => k + " " + v).join(", ") || "-")}</p></div>
      <div class="latency"><h3>Latency (ms)</h3>${table(latencyRows(metrics), [["", "kind"], ["strategy", "who"],
        ["n", "n", 1], ["p50", "p50", 1], ["p95", "p95", 1]])}</div>
    </div>
    <h3>Recent fills</h3>${table(detail.recent_fills.slice(0, 10), [["seq", "seq", 1], ["time", "ts"],
      ["strategy", "strategy"], ["side", "side"], ["qty", "quantity", 1], ["price", "price", 1],
      ["position", "position_after", 1]])}`;
}

function head(detail) {
  const portfolioHalt = (detail.risk.halted || {}).portfolio ? '<span class="badge halted">portfolio halted</span>' : "";
  return `${TS.esc(detail.name)} <span class="muted">${TS.esc(detail.session_id)}</span> ${portfolioHalt}`;
}

function card(name) {
  const found = document.querySelector(`section.session[data-session="${CSS.escape(name)}"]`);
  if (found) return found;
  const el = document.createElement("section");
  el.className = "card session";
  el.dataset.session = name;
  el.innerHTML = `<h2></h2><div class="body"></div>
    <div class="grid live-panels">
      <div><h3>Equity <span class="muted equity-last"></span></h3><div class="chart small equity"></div></div>
      <div><h3>Feed health <span class="muted health-note"></span></h3><div class="health"><p class="muted">loading…</p></div></div>
    </div>`;
  document.getElementById("sessions").appendChild(el);
  return el;
}

async function refresh(name) {
  // after=: the answer includes every journal row this page has seen on the stream
  const detail = await TS.api("/api/v1/sessions/" + encodeURIComponent(name) +
                              (lastSeq == null ? "" : "?after=" + lastSeq));
  const el = card(name);
  el.querySelector("h2").innerHTML = head(detail);
  el.querySelector(".body").innerHTML = body(detail);
  if (!charts.has(name)) await loadEquity(name, el);
}

// --- the equity chart: REST for the history, the stream for each new point ---------------
function chartPoint(p) {
  const value = p.total != null ? Number(p.total)
    : Object.values(p.equity).reduce((a, v) => a + Number(v), 0);
  return { time: p.time, value };
}

async function loadEquity(name, el) {
  if (!window.LightweightCharts) return;
  const box = el.querySelector(".equity");
  let entry = charts.get(name);
  if (!entry) {
    const chart = Charts.make(box, { height: 180 });
    const series = chart.addSeries(LightweightCharts.LineSeries, { color: "#4c8dff", lineWidth: 2 });
    entry = { chart, series, last: null, count: 0 };
    charts.set(name, entry);
  }
  const curve = await TS.api(`/api/v1/sessions/${encodeURIComponent(name)}/equity`);
  const data = [];
  for (const p of curve.points) {  // one value per time: the chart wants them increasing
    const point = chartPoint(p);
    if (data.length && data[data.length - 1].time >= point.time) data[data.length - 1].value = point.value;
    else data.push(point);
  }
  entry.series.setData(data);
  entry.chart.timeScale().fitContent();
  entry.last = data.length ? data[data.length - 1] : null;
  entry.count = data.length;
  showEquity(el, entry);
}

function growEquity(name, points) {
  const entry = charts.get(name);
  if (!entry) return;  // its card is not drawn yet: the REST call will have these points
  for (const p of points) {
    const point = chartPoint(p);
    if (entry.last && point.time < entry.last.time) continue;  // replayed after a restart
    entry.series.update(point);
    if (!entry.last || point.time > entry.last.time) entry.count += 1;
    entry.last = point;
  }
  // a glance at the whole run: the chart follows the curve as it grows
  entry.chart.timeScale().fitContent();
  const el = document.querySelector(`section.session[data-session="${CSS.escape(name)}"]`);
  if (el) showEquity(el, entry);
}

function showEquity(el, entry) {
  const box = el.querySelector(".equity");
  box.dataset.points = entry.count;
  el.querySelector(".equity-last").textContent = entry.last
    ? `${entry.last.value.toFixed(2)} · ${entry.count} points` : "no points yet";
}

// --- feed health, polled (cheap: the session's folder is read, cached by the server) ------
const STATE_CLASS = { healthy: "ok", replay: "live", stale: "halted", "failed-over": "paused" };

async function refreshHealth(name) {
  const el = document.querySelector(`section.session[data-session="${CSS.escape(name)}"]`);
  if (!el) return;
  const h = await TS.api(`/api/v1/sessions/${encodeURIComponent(name)}/health`);
  // a running session may change without a journal event (a pause from the command line)
  if (h.running) pending.add(name);
  el.querySelector(".health-note").textContent = (h.running ? "running" : "not running") +
    (h.updated_age_s == null ? "" : `, updated ${TS.num(h.updated_age_s, 1)} s ago`);
  const rows = h.instruments.map(i => `<tr data-symbol="${TS.esc(i.symbol)}"><td>${TS.esc(i.symbol)}</td>
    <td><span class="badge ${STATE_CLASS[i.state] || ""}">${TS.esc(i.state)}</span></td>
    <td>${TS.esc(i.provider)}${i.primary && i.primary !== i.provider ? ` <span class="muted">(primary ${TS.esc(i.primary)})</span>` : ""}</td>
    <td>${TS.esc(i.last_bar)}</td><td class="num">${i.last_bar_age_s == null ? "-" : TS.num(i.last_bar_age_s, 1) + " s"}</td>
    <td class="num">${i.switches}</td></tr>`).join("");
  el.querySelector(".health").innerHTML = h.instruments.length
    ? `<table><thead><tr><th>symbol</th><th>feed</th><th>provider</th><th>last bar</th><th class="num">age</th>
       <th class="num">switches</th></tr></thead><tbody>${rows}</tbody></table>`
    : '<p class="muted">no bar yet</p>';
}

async function loadAll() {
  const list = await TS.api("/api/v1/sessions");
  const box = document.getElementById("sessions");
  if (!list.sessions.length) {
    box.innerHTML = '<section class="card"><p class="muted">No session yet: start one with ' +
      "<code>trading-strategy run --config examples/portfolio.toml</code>; it appears here.</p></section>";
    return;
  }
  if (!box.querySelector("section.session")) box.innerHTML = "";
  for (const s of list.sessions) {
    const had = charts.has(s.name);
    await refresh(s.name);
    if (had) await loadEquity(s.name, card(s.name));  // resync after a reconnect
    refreshHealth(s.name).catch(e => TS.say(e.message));
  }
}

document.addEventListener("click", async (e) => {
  const button = e.target.closest("button[data-act]");
  if (!button) return;
  const session = button.closest("section.session").dataset.session;
  const strategy = button.closest("tr").dataset.strategy;
  const act = button.dataset.act;
  try {
    const r = await TS.api(`/api/v1/sessions/${encodeURIComponent(session)}/strategies/${encodeURIComponent(strategy)}/${act}`,
                           { method: "POST", body: { note: "from the dashboard" } });
    TS.say(`${act} of ${strategy} requested by ${r.actor}`);
    // the session applies it within a bar: look again until its state shows it
    for (const delay of [300, 800, 1500, 3000]) setTimeout(() => pending.add(session), delay);
  } catch (err) { TS.say(`${act} refused: ${err.message}`); }
});

function addEvent(m) {
  const d = m.data || {};
  const row = `<tr><td>${m.seq}</td><td>${TS.esc(m.session)}</td><td>${m.kind}</td><td>${TS.esc(d.order_id)}</td>
    <td>${TS.esc(d.strategy)}</td><td>${TS.esc(d.from || "new")} → ${TS.esc(d.to)}</td>
    <td class="num">${d.quantity ? TS.esc(d.quantity + " @ " + d.price) : ""}</td></tr>`;
  const events = document.getElementById("events");
  events.insertAdjacentHTML("afterbegin", row);
  while (events.rows.length > 30) events.deleteRow(-1);
}

function connect() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const url = `${proto}//${location.host}/api/v1/stream` + (lastSeq == null ? "" : `?after=${lastSeq}`);
  const ws = new WebSocket(url);
  const live = document.getElementById("live");
  ws.onopen = () => { live.textContent = "live"; live.className = "badge live"; };
  ws.onmessage = (ev) => {
    const m = JSON.parse(ev.data);
    if (m.kind === "snapshot") { if (lastSeq != null) loadAll(); lastSeq = m.seq; }
    else if (m.kind === "order" || m.kind === "fill") {
      lastSeq = m.seq; addEvent(m);
      if (m.session) pending.add(m.session);
    } else if (m.kind === "equity" && m.session) {
      if (!charts.has(m.session)) pending.add(m.session);  // a new session: draw its card
      growEquity(m.session, m.data.points || []);
    } else if ((m.kind === "risk" || m.kind === "strategy") && m.session) {
      pending.add(m.session);  // a halt, re-arm, pause...: the card shows it at once
    } else if (m.kind === "health" && m.session) {
      refreshHealth(m.session).catch(e => TS.say(e.message));
    }
    document.getElementById("seq").textContent = lastSeq;
  };
  ws.onclose = () => { live.textContent = "reconnecting…"; live.className = "badge halted";
                       setTimeout(connect, 1000); };
}

// batch the refreshes: a burst of fills redraws each session once
setInterval(() => { for (const name of pending) refresh(name).catch(e => TS.say(e.message)); pending.clear(); }, 500);
setInterval(() => {
  for (const el of document.querySelectorAll("section.session")) {
    refreshHealth(el.dataset.session).catch(e => TS.say(e.message));
  }
}, 2000);
loadAll().catch(e => TS.say(e.message)).finally(connect);
