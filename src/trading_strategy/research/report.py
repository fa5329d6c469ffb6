"""Self-contained HTML pages of a search and of a walk-forward (inline CSS and SVG: no
script, no CDN, readable offline)."""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trading_strategy.research.results import SweepResult
    from trading_strategy.research.walk_forward import WalkForwardResult

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:13px}
td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}
th{background:#f3f3f3}
.verdict{padding:.6em 1em;border-left:4px solid #888;background:#fafafa;margin:.3em 0}
.warn{border-color:#c0392b}.good{border-color:#27ae60}
"""


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "–"
        return f"{value:.4g}"
    return html.escape(str(value))


def _colour(value: float, low: float, high: float, maximize: bool) -> str:
    if not math.isfinite(value):
        return "#eee"
    t = 0.5 if high == low else (value - low) / (high - low)
    if not maximize:
        t = 1 - t
    # red (worst) through white to green (best)
    if t < 0.5:
        k = t * 2
        return f"rgb(230,{int(110 + 145 * k)},{int(110 + 145 * k)})"
    k = (t - 0.5) * 2
    return f"rgb({int(255 - 155 * k)},{int(255 - 45 * k)},{int(255 - 135 * k)})"


def heatmap_table(result: SweepResult) -> str:
    if result.best is None:
        return "<p>No eligible trial: no heatmap.</p>"
    table = result.heatmap()
    values = [float(v) for v in table.to_numpy().ravel() if v == v]
    low, high = (min(values), max(values)) if values else (0.0, 0.0)
    x_name = html.escape(str(table.columns.name or ""))
    y_name = html.escape(str(table.index.name or ""))
    out = [f"<table><tr><th>{y_name} \\ {x_name}</th>"]
    out += [f"<th>{_fmt(c)}</th>" for c in table.columns]
    out.append("</tr>")
    for label, row in table.iterrows():
        out.append(f"<tr><th>{_fmt(label)}</th>")
        for v in row:
            value = float(v)
            colour = _colour(value, low, high, result.objective.maximize)
            out.append(f'<td style="background:{colour}">{_fmt(value)}</td>')
        out.append("</tr>")
    out.append("</table>")
    return "".join(out)


def verdict_block(lines: list[str]) -> str:
    out = []
    for line in lines:
        bad = any(w in line for w in ("NOT", "suspicion", "spike", "high", "loss"))
        out.append(f'<div class="verdict {"warn" if bad else "good"}">{html.escape(line)}</div>')
    return "".join(out)


def frame_table(frame: Any, limit: int = 50) -> str:
    head = frame.head(limit)
    out = ["<table><tr>"] + [f"<th>{html.escape(str(c))}</th>" for c in head.columns]
    out.append("</tr>")
    for _, row in head.iterrows():
        out.append("<tr>" + "".join(f"<td>{_fmt(v)}</td>" for v in row) + "</tr>")
    out.append("</table>")
    if len(frame) > limit:
        out.append(f"<p>… {len(frame) - limit} more rows in the JSON output.</p>")
    return "".join(out)


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title><style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
            f"{body}</body></html>\n")


def render_sweep(result: SweepResult, title: str) -> str:
    counts = result.counts
    rules = ", ".join(map(str, result.constraints))
    summary = (f"<p>{html.escape(result.method)} search, {html.escape(str(result.objective))}"
               f"{', constraints: ' + html.escape(rules) if rules else ''}"
               f". {counts['trials']} trials: {counts['ok']} ran, {counts['invalid']} refused "
               f"by the strategy's validation, {counts['error']} failed, {counts['rejected']} "
               f"outside the constraints, {counts['scored']} scored.</p>")
    best = result.best
    best_html = ("<p>Best: " + html.escape(str(best.params)) + f" → {_fmt(result.score(best))}"
                 "</p>" if best else "")
    body = (summary + best_html + "<h2>Verdict</h2>" + verdict_block(result.verdicts)
            + "<h2>Heatmap</h2>" + heatmap_table(result)
            + "<h2>Trials</h2>" + frame_table(result.frame))
    return _page(title, body)


def equity_svg(values: list[float], width: int = 800, height: int = 220) -> str:
    finite = [v for v in values if math.isfinite(v)]
    if len(finite) < 2:
        return ""
    low, high = min(finite), max(finite)
    span = (high - low) or 1.0
    step = width / (len(values) - 1)
    points = " ".join(f"{i * step:.1f},{height - (v - low) / span * height:.1f}"
                      for i, v in enumerate(values) if math.isfinite(v))
    return (f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
            f'<polyline fill="none" stroke="#2c6fbb" stroke-width="1.5" points="{points}"/>'
            f"</svg>")


def render_walk_forward(result: WalkForwardResult, title: str) -> str:
    import pandas as pd  # type: ignore[import-untyped, import-not-found, unused-ignore]

    windows = pd.DataFrame(result.window_rows())
    stats = "".join(f"<tr><th>{html.escape(k)}</th><td>{_fmt(v)}</td></tr>"
                    for k, v in result.stats.items())
    curve = list(result.equity)
    if len(curve) > 2000:
        stride = len(curve) // 2000 + 1
        curve = [*curve[::stride], curve[-1]]
    body = (f"<p>{html.escape(result.describe())}</p><h2>Verdict</h2>"
            + verdict_block(result.verdicts)
            + "<h2>Stitched out-of-sample equity</h2>" + equity_svg(curve)
            + f"<table>{stats}</table><h2>Windows</h2>" + frame_table(windows, 500))
    return _page(title, body)


# --- the stored document the dashboard draws ---------------------------------------------


def heatmap_data(result: SweepResult) -> dict[str, Any] | None:
    """The heatmap as plain lists (``rows`` × ``columns`` of ``values``, None where no
    eligible trial), for a page that colours it itself; None without an eligible trial."""
    if result.best is None:
        return None
    table = result.heatmap()

    def plain(value: Any) -> Any:
        item = value.item() if hasattr(value, "item") else value
        return None if isinstance(item, float) and not math.isfinite(item) else item

    return {"x": table.columns.name, "y": table.index.name,
            "columns": [plain(c) for c in table.columns],
            "rows": [plain(r) for r in table.index],
            "values": [[plain(float(v)) for v in row] for row in table.to_numpy()],
            "maximize": result.objective.maximize}


def oos_equity_times(result: WalkForwardResult) -> list[int] | None:
    """UTC seconds of each point of the stitched out-of-sample equity (the bar before the
    first test span, then every test bar), or None if the spans do not line up with it."""
    ts = result.backtest.bars.ts
    if not result.windows or result.windows[0].test[0] < 1:
        return None
    index = [result.windows[0].test[0] - 1]
    for w in result.windows:
        index.extend(range(w.test[0], w.test[1]))
    if len(index) != len(result.equity):
        return None
    return [int(ts[i]) // 1_000_000_000 for i in index]


def sweep_document(result: SweepResult, title: str) -> dict[str, Any]:
    """What ``--json`` writes plus the title and heatmap: a stored optimisation."""
    import json

    return {**json.loads(result.to_json()), "title": title, "heatmap": heatmap_data(result)}


def walk_forward_document(result: WalkForwardResult, title: str) -> dict[str, Any]:
    """What ``--json`` writes plus the title and the equity's times: a stored walk-forward."""
    import json

    return {**json.loads(result.to_json()), "title": title,
            "equity_times": oos_equity_times(result)}
