"""The notebook display of a result: the report's headline metrics and an inline SVG of
equity and drawdown. Self-contained (no script, no CDN), so it renders offline and in
exported notebooks; metric labels and formats are the HTML report's.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

# the HTML report's formatting, so a notebook and the report show a metric alike
from trading_strategy.backtesting.html_report import _fmt_metric, _label, downsample_minmax

FloatArray = npt.NDArray[np.float64]

_W, _H, _PAD = 640, 180, 4
_DD_H = 60


def drawdown(equity: FloatArray) -> FloatArray:
    """Fraction below the running peak after each bar (0 at a new high, -0.25 = 25 % down)."""
    values = np.asarray(equity, dtype=np.float64)
    if values.size == 0:
        return values
    peak = np.maximum.accumulate(values)
    with np.errstate(divide="ignore", invalid="ignore"):
        out: FloatArray = np.where(peak > 0, values / peak - 1.0, 0.0)
    return out


def metric_text(key: str, value: object) -> str:
    return _fmt_metric(key, value)


def _polyline(values: FloatArray, height: int, top: int, cls: str) -> str:
    keep = downsample_minmax(values)
    ys = values[keep]
    lo, hi = float(ys.min()), float(ys.max())
    span = hi - lo if hi > lo else 1.0
    n = max(len(values) - 1, 1)
    x = _PAD + keep * ((_W - 2 * _PAD) / n)
    y = top + _PAD + (hi - ys) * ((height - 2 * _PAD) / span)
    points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(x.tolist(), y.tolist(), strict=True))
    return f'<polyline class="{cls}" points="{points}"/>'


def chart_svg(equity: FloatArray) -> str:
    """Equity above, drawdown below, one SVG scaled to the cell width."""
    values = np.asarray(equity, dtype=np.float64)
    if values.size == 0 or not np.all(np.isfinite(values)):
        return ""
    height = _H + _DD_H
    return (
        f'<svg viewBox="0 0 {_W} {height}" width="100%" style="max-width:{_W}px" '
        'role="img" aria-label="Equity and drawdown">'
        '<style>.eq{fill:none;stroke:#2563eb;stroke-width:1.5}'
        '.dd{fill:none;stroke:#dc2626;stroke-width:1}</style>'
        f'<rect x="0" y="0" width="{_W}" height="{height}" fill="none" stroke="#e5e7eb"/>'
        + _polyline(values, _H, 0, "eq")
        + f'<line x1="0" x2="{_W}" y1="{_H}" y2="{_H}" stroke="#e5e7eb"/>'
        + _polyline(drawdown(values), _DD_H, _H, "dd")
        + "</svg>"
    )


_HEADLINE = ("total_return", "cagr", "sharpe", "sortino", "max_drawdown", "volatility",
             "trades", "win_rate", "profit_factor", "exposure", "final_equity")


def result_html(report: Mapping[str, Any], equity: FloatArray) -> str:
    data: Mapping[str, Any] = report.get("data") or {}
    metrics: Mapping[str, Any] = report.get("metrics") or {}
    title = (f"{report.get('strategy', 'strategy')} · {data.get('symbol', '?')} "
             f"{data.get('timeframe', '')} · {data.get('start', '?')} → {data.get('end', '?')}")
    rows = "".join(
        f'<tr><th style="text-align:left">{html.escape(_label(key))}</th>'
        f'<td style="text-align:right">{html.escape(_fmt_metric(key, metrics[key]))}</td></tr>'
        for key in _HEADLINE if key in metrics)
    return (f'<div class="trading-strategy-result"><b>{html.escape(title)}</b>'
            '<div style="display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start">'
            f"<table>{rows}</table><div style=\"flex:1;min-width:320px\">"
            f"{chart_svg(equity)}</div></div></div>")
