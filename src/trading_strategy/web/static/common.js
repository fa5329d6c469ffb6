// Shared helpers of the pages: API calls (with the operator's token), formatting, nav.
"use strict";
const TS = {
  token() { return sessionStorage.getItem("ts-token") || ""; },
  async api(path, options = {}) {
    const headers = Object.assign({ "Accept": "application/json" }, options.headers || {});
    const token = TS.token();
    // the token goes in a header, never a cookie: another site cannot make us send it
    if (token) headers["Authorization"] = "Bearer " + token;
    if (options.body && typeof options.body !== "string") {
      headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(options.body);
    }
    const response = await fetch(path, Object.assign({}, options, { headers }));
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.detail || response.statusText);
    return data;
  },
  pct(v) { return v == null ? "-" : (v * 100).toFixed(2) + "%"; },
  num(v, d = 3) { return v == null ? "-" : Number(v).toFixed(d); },
  cls(v) { return v == null ? "" : (Number(v) >= 0 ? "pos" : "neg"); },
  esc(s) { return String(s == null ? "-" : s).replace(/[&<>"']/g,
    c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]); },
  say(text) { const el = document.getElementById("message"); if (el) el.textContent = text || ""; },
  nav(active) {
    const header = document.createElement("header");
    header.innerHTML = `<h1>trading-strategy</h1>
      <a href="/" class="${active === "dash" ? "active" : ""}">Dashboard</a>
      <a href="/runs" class="${active === "runs" ? "active" : ""}">Backtest runs</a>
      <a href="/research" class="${active === "research" ? "active" : ""}">Research</a>
      <a href="/api/docs">API</a><span class="spacer"></span>
      <input id="token" type="password" placeholder="operator token (for actions)">`;
    document.body.prepend(header);
    const input = header.querySelector("#token");
    input.value = TS.token();
    input.addEventListener("change", () => sessionStorage.setItem("ts-token", input.value.trim()));
  },
  chartOptions(el, extra = {}) {
    return Object.assign({
      width: el.clientWidth, height: el.clientHeight,
      layout: { background: { color: "#161c24" }, textColor: "#d8dee9" },
      grid: { vertLines: { color: "#1f2834" }, horzLines: { color: "#1f2834" } },
      timeScale: { timeVisible: true, borderColor: "#263040" },
      rightPriceScale: { borderColor: "#263040" },
      crosshair: { mode: 0 },
      autoSize: true,
    }, extra);
  },
};
