// Shared by the research pages: the nav link (until common.js has it) and formatting.
"use strict";
const Research = {
  nav() {
    TS.nav("research");
    const header = document.querySelector("header");
    let link = header.querySelector('a[href="/research"]');
    if (!link) {  // common.js of an older build: add the link after "Backtest runs"
      link = document.createElement("a");
      link.href = "/research";
      link.textContent = "Research";
      header.querySelector('a[href="/runs"]').after(link);
    }
    link.classList.add("active");
  },
  params(p) {
    return p ? Object.entries(p).map(([k, v]) => `${k}=${v}`).join(", ") : "-";
  },
  kind(k) { return k === "walk_forward" ? "walk-forward" : k; },
  // plain-language lines, the warning ones marked (the words the HTML report looks for)
  isWarning(line) { return /NOT|suspicion|spike|high|loss|vanishes|degrades|unstable/.test(line); },
  verdicts(lines) {
    return (lines || []).map(l =>
      `<div class="verdict ${Research.isWarning(l) ? "warn" : "good"}">${TS.esc(l)}</div>`).join("")
      || '<p class="muted">no verdict</p>';
  },
};
