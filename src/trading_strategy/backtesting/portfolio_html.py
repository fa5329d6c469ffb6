"""A portfolio backtest report as ONE self-contained HTML page (see ``html_report``).

The total equity and one curve per strategy on one chart (each strategy's curve carried
over the times it has no bar, its capital before its first bar), the total's drawdown, the
attribution table (capital, P&L, contribution, the strategy's own return and risk), the
statistics of the total beside each strategy's, the configuration and risk sections, and
each strategy's trades.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from trading_strategy.backtesting.html_report import (
    _CSS,
    _JS,
    _TWO,
    _chart,
    _esc,
    _fmt_metric,
    _fmt_num,
    _kv_table,
    _label,
    _money,
    _orders_table,
    _risk_section,
    _short_time,
    _sign_class,
    _trades_heading,
    _trades_table,
)

__all__ = ["render_portfolio_html"]

FloatArray = NDArray[np.float64]

#: line colours of the strategies, in order (then repeated)
_PALETTE = ("#f59e0b", "#10b981", "#8b5cf6", "#ef4444", "#0ea5e9", "#84cc16", "#ec4899",
            "#64748b")
_KPIS = ("total_return", "cagr", "sharpe", "max_drawdown", "win_rate", "trades")


def _moment(text: str) -> str:
    """A sortable form of a report time: daily dates and intraday times side by side."""
    return f"{text}T00:00:00Z" if len(text) == 10 else text


def _aligned(curve: Sequence[Mapping[str, Any]], union: Sequence[str],
             capital: float) -> np.ndarray[Any, np.dtype[np.float64]]:
    """A strategy's equity at each of the portfolio's times: its last value at or before
    the time (it has no bar then), its capital before its first bar."""
    if not curve:
        return np.full(len(union), capital, dtype=np.float64)
    own = np.array([_moment(str(p["time"])) for p in curve])
    values = np.array([float(p["equity"]) for p in curve], dtype=np.float64)
    at = np.searchsorted(own, np.array(union), side="right") - 1
    return np.where(at >= 0, values[np.maximum(at, 0)], capital)


def _attribution(strategies: Sequence[Mapping[str, Any]], book: Mapping[str, Any],
                 metrics: Mapping[str, Any]) -> str:
    head = ("Strategy", "Kind", "Symbol", "Capital", "Final equity", "P&L", "Contribution",
            "Share of P&L", "Return", "Sharpe", "Max DD", "Closed trades")
    rows = []
    for k, s in enumerate(strategies):
        m = s["metrics"]
        swatch = f'<i class="sw" style="border-color:{_PALETTE[k % len(_PALETTE)]}"></i>'
        rows.append(
            f"<tr><td>{swatch}{_esc(s['name'])}</td><td>{_esc(s['strategy'])}</td>"
            f"<td>{_esc(s['symbol'])}</td><td class=\"num\">{_esc(_money(s['capital']))}</td>"
            f"<td class=\"num\">{_esc(_money(s['final_equity']))}</td>"
            f"<td class=\"num {_sign_class(s['pnl'])}\">{_esc(_money(s['pnl']))}</td>"
            f"<td class=\"num\">{_esc(_fmt_metric('total_return', s['contribution']))}</td>"
            f"<td class=\"num\">{_esc(_fmt_metric('total_return', s['pnl_share']))}</td>"
            f"<td class=\"num\">{_esc(_fmt_metric('total_return', m['total_return']))}</td>"
            f"<td class=\"num\">{_esc(_fmt_metric('sharpe', m['sharpe']))}</td>"
            f"<td class=\"num\">{_esc(_fmt_metric('max_drawdown', m['max_drawdown']))}</td>"
            f"<td class=\"num\">{_esc(_fmt_metric('trades', m['trades']))}</td></tr>")
    rows.append(
        f"<tr><th>Total</th><td></td><td></td>"
        f"<td class=\"num\">{_esc(_money(book['initial_capital']))}</td>"
        f"<td class=\"num\">{_esc(_money(book['final_equity']))}</td>"
        f"<td class=\"num {_sign_class(book['pnl'])}\">{_esc(_money(book['pnl']))}</td>"
        f"<td class=\"num\">{_esc(_fmt_metric('total_return', metrics.get('total_return')))}"
        "</td><td class=\"num\">100.00%</td>"
        f"<td class=\"num\">{_esc(_fmt_metric('total_return', metrics.get('total_return')))}"
        f"</td><td class=\"num\">{_esc(_fmt_metric('sharpe', metrics.get('sharpe')))}</td>"
        f"<td class=\"num\">{_esc(_fmt_metric('max_drawdown', metrics.get('max_drawdown')))}"
        f"</td><td class=\"num\">{_esc(_fmt_metric('trades', metrics.get('trades')))}</td>"
        "</tr>")
    ths = "".join(f'<th class="num">{_esc(h)}</th>' if c >= 3 else f"<th>{_esc(h)}</th>"
                  for c, h in enumerate(head))
    return (f'<div class="scroll"><table class="trades"><thead><tr>{ths}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table></div>")


def _metrics_grid(metrics: Mapping[str, Any], strategies: Sequence[Mapping[str, Any]]) -> str:
    head = "<tr><th>Metric</th><th>Portfolio</th>" + "".join(
        f"<th>{_esc(s['name'])}</th>" for s in strategies) + "</tr>"
    rows = [head]
    for key, value in metrics.items():
        cells = [value] + [s["metrics"].get(key) for s in strategies]
        rows.append(f"<tr><th>{_esc(_label(key))}</th>" + "".join(
            f"<td>{_esc(_fmt_metric(key, v))}</td>" for v in cells) + "</tr>")
    return f'<div class="scroll"><table class="kv metrics">{"".join(rows)}</table></div>'


def render_portfolio_html(report: Mapping[str, Any], *, interactive: bool = False) -> str:
    """The whole page as a string (deterministic: same report, same bytes).

    ``interactive`` draws the equity and drawdown with lightweight-charts (zoom, pan,
    crosshair read-outs of every strategy) when it is installed, as the single report does.
    """
    data: Mapping[str, Any] = report.get("data") or {}
    metrics: Mapping[str, Any] = report.get("metrics") or {}
    book: Mapping[str, Any] = report.get("portfolio") or {}
    strategies: Sequence[Mapping[str, Any]] = book.get("strategies") or []
    curve: Sequence[Mapping[str, Any]] = report.get("equity_curve") or []
    name = str(report.get("strategy", "portfolio"))
    period = f"{_short_time(data.get('start', '?'))} → {_short_time(data.get('end', '?'))}"
    timeframe = data.get("timeframe") or "mixed timeframes"
    title = f"{name} · {data.get('symbol', '?')} {timeframe} · {period}"

    times = [str(p.get("time")) for p in curve]
    union = [_moment(t) for t in times]
    total = np.array([np.nan if p.get("equity") is None else p["equity"] for p in curve],
                     dtype=np.float64)
    lines = [(total, "strategy")]
    legend = ['<i class="sw strategy"></i>Total']
    for k, s in enumerate(strategies):
        lines.append((_aligned(s.get("equity_curve") or [], union, float(s["capital"])),
                      f"s{k % len(_PALETTE)}"))
        legend.append(f'<i class="sw s{k % len(_PALETTE)}"></i>{_esc(s["name"])}')
    names = [str(s["name"]) for s in strategies]
    peak = np.fmax.accumulate(total) if total.size else total
    with np.errstate(divide="ignore", invalid="ignore"):
        drawdown = np.where(peak > 0, (total / peak - 1.0) * 100.0, np.nan)
    trades: Sequence[Mapping[str, Any]] = report.get("trades") or []
    kpis = "".join(
        f'<div class="kpi"><span>{_esc(_label(k))}</span>'
        f'<b class="{_sign_class(metrics.get(k)) if k in ("total_return", "cagr") else ""}">'
        f"{_esc(_fmt_metric(k, metrics.get(k)))}</b></div>" for k in _KPIS)
    coupled = ", ".join(book.get("coupled_by") or [])
    mode = f"{book.get('mode', '?')}" + (f" ({coupled})" if coupled else "")
    per_strategy = []
    for s in strategies:
        own = [t for t in trades if t.get("strategy") == s["name"]]
        per_strategy.append(
            f"<details><summary>{_esc(s['name'])} · {_esc(_trades_heading(own))}</summary>"
            f"{_trades_table(own)}</details>")
    annual = (report.get("settings") or {}).get("annualisation") or {}
    note = f'<p class="note">CAGR, volatility and ratios {_esc(annual["text"])}.</p>' \
        if isinstance(annual, Mapping) and annual.get("text") else ""
    charts = _interactive(union, total, drawdown, names, lines[1:]) if interactive else None
    if charts is None:
        charts = (
            f"<section><h2>Equity</h2><p class=\"legend\">{' '.join(legend)}</p>"
            + _chart("Equity: total and by strategy", times, lines, fmt=_TWO) + "</section>"
            "<section><h2>Drawdown of the total (%)</h2>"
            + _chart("Drawdown", times, [(drawdown, "dd")], fmt=lambda v: f"{v:.2f}%",
                     unit="%", area=True) + "</section>",
            "", "")
    sections, scripts, css = charts
    body = [
        f"<header><h1>{_esc(name)}</h1><p class=\"sub\">{len(strategies)} strategies · "
        f"{_esc(data.get('symbol', '?'))} · {_esc(timeframe)} · {_esc(period)} · "
        f"{_esc(_fmt_num(data.get('bars')))} bar times · run {_esc(mode)}</p></header>"
        f'<div class="kpis">{kpis}</div>{note}',
        sections,
        "<section><h2>Attribution</h2>"
        '<p class="note">Contribution: the strategy\'s P&amp;L over the portfolio\'s capital '
        "(they add up to the total return).</p>"
        + _attribution(strategies, book, metrics) + "</section>",
        "<section><h2>Statistics</h2>" + _metrics_grid(metrics, strategies) + "</section>",
        '<section class="cols"><div><h2>Configuration</h2>'
        + _kv_table("Settings", report.get("settings") or {})
        + _kv_table("Data", data) + "</div><div><h2>Strategies</h2>"
        + "".join(_kv_table(s["name"], {"strategy": s["strategy"], "symbol": s["symbol"],
                                        "capital": s["capital"], "size": s["size"],
                                        **{f"params.{k}": v for k, v in s["params"].items()}})
                  for s in strategies)
        + _orders_table(report.get("orders") or {}) + "</div></section>",
        _risk_section(report["risk"]) if report.get("risk") else "",
        "<section><h2>Trades</h2>" + "".join(per_strategy) + "</section>",
    ]
    colours = "".join(f".line.s{k}{{stroke:{c}}}.sw.s{k}{{border-color:{c}}}"
                      for k, c in enumerate(_PALETTE))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_esc(title)}</title><style>{_CSS}{colours}"
        ".line.strategy{stroke-width:2.2}details{margin:6px 0}summary{cursor:pointer}"
        f"{css}</style></head><body><main>{''.join(body)}</main><script>{_JS}</script>"
        f"{scripts}</body></html>\n"
    )


def _interactive(union: Sequence[str], total: FloatArray, drawdown: FloatArray,
                 names: Sequence[str], lines: Sequence[tuple[FloatArray, str]],
                 ) -> tuple[str, str, str] | None:
    """(sections, scripts, CSS) of the interactive equity chart, None without the library."""
    from trading_strategy.backtesting.report_charts import (
        chart_library,
        chart_page_parts,
        equity_data_json,
        trade_times_ns,
    )

    library = chart_library()
    if library is None:
        return None
    payload, points = equity_data_json(
        equity_ts=trade_times_ns(union), equity=total, drawdown=drawdown,
        lines=[(n, values) for n, (values, _) in zip(names, lines, strict=True)])
    note = (f"{points:,} of {len(union):,} points (each stretch's extremes kept). "
            if points < len(union) else "") + "Scroll or drag to zoom and pan."
    return chart_page_parts(library, payload, title="Equity: total and by strategy, "
                            "drawdown of the total", note=note, with_price=False)
