// The runs list: sort and filter on the server, select two to compare, launch a backtest.
"use strict";
TS.nav("runs");
const SORTS = ["id", "created_at", "total_return", "cagr", "sharpe", "sortino", "max_drawdown",
               "win_rate", "profit_factor", "trade_count"];
const LIMIT = 50;
let offset = 0;
const sortBox = document.getElementById("f-sort");
sortBox.innerHTML = SORTS.map(s => `<option>${s}</option>`).join("");

async function load() {
  const q = new URLSearchParams({ limit: LIMIT, offset, sort: sortBox.value,
                                  order: document.getElementById("f-order").value });
  for (const key of ["strategy", "symbol"]) {
    const v = document.getElementById("f-" + key).value.trim();
    if (v) q.set(key, v);
  }
  try {
    const data = await TS.api("/api/v1/runs?" + q);
    document.getElementById("runs").innerHTML = data.runs.map(r => `<tr>
      <td><input type="checkbox" value="${r.id}"></td><td><a href="/runs/${r.id}">${r.id}</a></td>
      <td>${TS.esc(r.created_at.slice(0, 16).replace("T", " "))}</td><td>${TS.esc(r.strategy)}</td>
      <td>${TS.esc((r.symbol || "-") + " " + (r.timeframe || ""))}</td>
      <td class="num ${TS.cls(r.total_return)}">${TS.pct(r.total_return)}</td>
      <td class="num">${TS.pct(r.cagr)}</td><td class="num">${TS.num(r.sharpe, 2)}</td>
      <td class="num neg">${TS.pct(r.max_drawdown)}</td><td class="num">${TS.pct(r.win_rate)}</td>
      <td class="num">${r.trade_count ?? "-"}</td><td><a href="/runs/${r.id}">open</a></td></tr>`).join("")
      || '<tr><td colspan="12" class="muted">no runs match</td></tr>';
    document.getElementById("page").textContent =
      `${data.total ? offset + 1 : 0}–${offset + data.runs.length} of ${data.total}`;
    TS.say("");
  } catch (e) { TS.say(e.message); }
}

for (const id of ["f-strategy", "f-symbol", "f-sort", "f-order"])
  document.getElementById(id).addEventListener("change", () => { offset = 0; load(); });
document.getElementById("prev").onclick = () => { offset = Math.max(0, offset - LIMIT); load(); };
document.getElementById("next").onclick = () => { offset += LIMIT; load(); };
document.getElementById("compare").onclick = () => {
  const ids = [...document.querySelectorAll("#runs input:checked")].map(b => b.value);
  if (ids.length < 2) { TS.say("select two runs or more to compare"); return; }
  location.href = "/runs/compare?ids=" + ids.join(",");
};

document.getElementById("launch").addEventListener("submit", async (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  let params;
  try { params = JSON.parse(f.get("params") || "{}"); } catch { TS.say("params: not valid JSON"); return; }
  const jobBox = document.getElementById("job");
  try {
    let job = await TS.api("/api/v1/backtests", { method: "POST", body: {
      strategy: f.get("strategy"), data: f.get("data"), params,
      cash: Number(f.get("cash")), commission: Number(f.get("commission")) } });
    while (job.state === "queued" || job.state === "running") {
      jobBox.textContent = `${job.state} ${job.total ? Math.round(100 * job.done / job.total) : 0}%`;
      await new Promise(r => setTimeout(r, 300));
      job = await TS.api("/api/v1/backtests/" + job.job);
    }
    if (job.state === "failed") { jobBox.textContent = "failed: " + job.error; return; }
    jobBox.innerHTML = `done: <a href="/runs/${job.run_id}">run ${job.run_id}</a>`;
    load();
  } catch (err) { jobBox.textContent = "refused: " + err.message; }
});
load();
