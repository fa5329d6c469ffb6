// The sessions dashboard: a card per session, refreshed when the live stream says it changed.
"use strict";
TS.nav("dash");
let lastSeq = null;
const pending = new Set();

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

function render(detail) {
  const halted = detail.risk.halted || {};
  const strategies = Object.keys(detail.status.orders);
  const rows = strategies.map(name => {
    const state = (detail.risk.states || {})[name] || {};
    const stopped = halted[name] || state.state === "halted";
    const t = detail.status.orders[name].all || {};
    return `<tr data-strategy="${TS.esc(name)}"><td>${TS.esc(name)}</td>
      <td>${stopped ? '<span class="badge halted">halted</span>' : '<span class="badge ok">active</span>'}</td>
      <td class="num">${TS.pct(state.drawdown)}</td><td class="num">${t.sent ?? 0}</td><td class="num">${t.fills ?? 0}</td>
      <td class="num">${TS.pct(t.fill_rate)}</td><td class="num">${TS.num(t.slippage_bps_mean, 2)}</td>
      <td><button class="danger" data-act="halt">Halt</button> <button data-act="rearm">Re-arm</button></td></tr>`;
  }).join("");
  const portfolioHalt = halted.portfolio ? '<span class="badge halted">portfolio halted</span>' : "";
  return `<section class="card session" data-session="${TS.esc(detail.name)}">
    <h2>${TS.esc(detail.name)} <span class="muted">${TS.esc(detail.session_id)}</span> ${portfolioHalt}</h2>
    <table><thead><tr><th>strategy</th><th>state</th><th class="num">drawdown</th><th class="num">orders</th><th class="num">fills</th>
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
    </div>
    <h3>Recent fills</h3>${table(detail.recent_fills.slice(0, 10), [["seq", "seq", 1], ["time", "ts"],
      ["strategy", "strategy"], ["side", "side"], ["qty", "quantity", 1], ["price", "price", 1],
      ["position", "position_after", 1]])}
  </section>`;
}

async function refresh(name) {
  const detail = await TS.api("/api/v1/sessions/" + encodeURIComponent(name));
  const html = render(detail);
  const old = document.querySelector(`section.session[data-session="${CSS.escape(name)}"]`);
  if (old) old.outerHTML = html; else document.getElementById("sessions").insertAdjacentHTML("beforeend", html);
}

async function loadAll() {
  const list = await TS.api("/api/v1/sessions");
  const box = document.getElementById("sessions");
  if (!list.sessions.length) {
    box.innerHTML = '<section class="card"><p class="muted">No session yet: start one with ' +
      "<code>trading-strategy run --config examples/portfolio.toml</code>; it appears here.</p></section>";
    return;
  }
  box.innerHTML = "";
  for (const s of list.sessions) await refresh(s.name);
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
  } catch (err) { TS.say(`${act} refused: ${err.message}`); }
});

function addEvent(m) {
  const d = m.data || {};
  const row = `<tr><td>${m.seq}</td><td>${TS.esc(m.session)}</td><td>${m.kind}</td><td>${TS.esc(d.order_id)}</td>
    <td>${TS.esc(d.strategy)}</td><td>${TS.esc(d.from || "new")} → ${TS.esc(d.to)}</td>
    <td class="num">${d.quantity ? TS.esc(d.quantity + " @ " + d.price) : ""}</td></tr>`;
  const body = document.getElementById("events");
  body.insertAdjacentHTML("afterbegin", row);
  while (body.rows.length > 30) body.deleteRow(-1);
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
    }
    document.getElementById("seq").textContent = lastSeq;
  };
  ws.onclose = () => { live.textContent = "reconnecting…"; live.className = "badge halted";
                       setTimeout(connect, 1000); };
}

// batch the refreshes: a burst of fills redraws each session once
setInterval(() => { for (const name of pending) refresh(name).catch(e => TS.say(e.message)); pending.clear(); }, 500);
loadAll().catch(e => TS.say(e.message)).finally(connect);
