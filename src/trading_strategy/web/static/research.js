// The research list: stored optimisations and walk-forwards, newest first.
"use strict";
Research.nav();
const LIMIT = 50;
let offset = 0;

async function load() {
  const q = new URLSearchParams({ limit: LIMIT, offset });
  const kind = document.getElementById("f-kind").value;
  const strategy = document.getElementById("f-strategy").value.trim();
  if (kind) q.set("kind", kind);
  if (strategy) q.set("strategy", strategy);
  try {
    const data = await TS.api("/api/v1/research?" + q);
    document.getElementById("research").innerHTML = data.runs.map(r => `<tr>
      <td><a href="/research/${r.id}">${r.id}</a></td>
      <td>${TS.esc(r.created_at.slice(0, 16).replace("T", " "))}</td><td>${TS.esc(Research.kind(r.kind))}</td>
      <td>${TS.esc(r.strategy)}</td><td>${TS.esc((r.symbol || "-") + " " + (r.timeframe || ""))}</td>
      <td>${TS.esc(r.objective)}</td><td class="num">${r.trials ?? "-"}</td>
      <td>${TS.esc(Research.params(r.best_params))}</td><td class="num">${TS.num(r.best_score, 3)}</td>
      <td class="${r.verdict && Research.isWarning(r.verdict) ? "neg" : ""}">${TS.esc(r.verdict)}</td></tr>`).join("")
      || '<tr><td colspan="10" class="muted">nothing stored yet: run trading-strategy optimize</td></tr>';
    document.getElementById("page").textContent =
      `${data.total ? offset + 1 : 0}–${offset + data.runs.length} of ${data.total}`;
    document.getElementById("prev").disabled = offset === 0;
    document.getElementById("next").disabled = offset + data.runs.length >= data.total;
    TS.say("");
  } catch (e) { TS.say(e.message); }
  document.body.dataset.ready = "1";
}

for (const id of ["f-kind", "f-strategy"])
  document.getElementById(id).addEventListener("change", () => { offset = 0; load(); });
document.getElementById("prev").onclick = () => { offset = Math.max(0, offset - LIMIT); load(); };
document.getElementById("next").onclick = () => { offset += LIMIT; load(); };
load();
