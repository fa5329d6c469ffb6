"""A backtest report as ONE self-contained HTML page: inline CSS, inline charts, no URLs.

The page must open offline and years later, so nothing is fetched: no CDN, fonts or images.
Given the bars (``bars=``), the charts are interactive: TradingView's lightweight-charts is
inlined with its data (``report_charts``): candles with trade markers and the strategy's
indicators, equity with buy and hold, and drawdown, with zoom, pan and a shared crosshair.
Without the bars, or when the library is not installed, the charts are drawn here as SVG;
a few lines of inline JS add hover read-outs and table sorting, but everything is readable
without it (markers carry SVG ``<title>`` tooltips). Every string that came from a user
(strategy names, parameters, symbols, times) goes through ``html.escape``. Output is
deterministic: same input, byte-identical page.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping, Sequence, Set
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trading_strategy.backtesting.downsample import downsample_minmax

if TYPE_CHECKING:
    from trading_strategy.backtesting.indicator_plot import PlotSeries
    from trading_strategy.core.bars import BarSeries

__all__ = ["downsample_minmax", "render_html"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]
StrArray = NDArray[np.str_]

TRADE_TABLE_LIMIT = 2_000  # above this, show the first and last TRADE_TABLE_KEEP rows
TRADE_TABLE_KEEP = 1_000
MARKER_LIMIT = 1_000  # beyond this, markers overlap into noise and bloat the SVG
MARKER_KEEP = 500
DASH = "—"

# Chart geometry in viewBox units; the SVG scales to the page width, so these are ratios.
_W, _H = 960, 260
_LEFT, _RIGHT, _TOP, _BOTTOM = 76, 14, 12, 28

_PCT, _TWO = "{:,.2%}".format, "{:,.2f}".format
_FORMATS: dict[str, Callable[[float], str]] = {
    **dict.fromkeys(("total_return", "cagr", "volatility", "max_drawdown", "win_rate"), _PCT),
    **dict.fromkeys(("sharpe", "sortino", "calmar", "profit_factor", "expectancy"), _TWO),
    **dict.fromkeys(("average_win", "average_loss", "commission", "slippage"), _TWO),
    "exposure": _PCT,
    "max_drawdown_duration": "{:,.0f} bars".format,
    "trades": "{:,.0f}".format,
    "open_trades": "{:,.0f}".format,
    "turnover": "{:,.2f}×".format,
}
# Metric keys read well as labels once underscores go; only these need a hand.
_LABELS = {
    "cagr": "CAGR",
    "volatility": "Volatility (ann.)",
    "max_drawdown_duration": "Max DD duration",
    # metrics.trades counts closed round trips only; the trades table lists the open one too
    "trades": "Closed trades",
}


def _label(key: str) -> str:
    return _LABELS.get(key, key.replace("_", " ").capitalize())


_KPIS = ("total_return", "cagr", "sharpe", "max_drawdown", "win_rate", "trades")


# --------------------------------------------------------------------------- formatting


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _fmt_num(value: object) -> str:
    """A plain number for tables: ints with separators, floats without trailing zeros."""
    if value is None:
        return DASH
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float | Decimal):
        if isinstance(value, float) and not math.isfinite(value):
            return DASH if math.isnan(value) else ("∞" if value > 0 else "-∞")
        if 0 < abs(float(value)) < 1e-4:  # fixed point would round it to 0
            return f"{value:.4g}"
        text = f"{value:,.8f}".rstrip("0").rstrip(".")
        return "0" if text in ("-0", "") else text
    return str(value)


def _fmt_metric(key: str, value: object) -> str:
    """A metric as the stats table shows it: percentages, 2-decimal ratios, "—" for None."""
    if value is None or isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return _fmt_num(value)
    v = float(value)
    return _FORMATS[key](v) if key in _FORMATS and math.isfinite(v) else _fmt_num(value)


_OUTCOME = {"pos": "win", "neg": "loss"}


def _money(value: object) -> str:
    return _fmt_metric("commission", value)  # 2 decimals with separators, "—" for None


def _sign_class(value: object) -> str:
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool) and value == value:
        return "pos" if value > 0 else "neg" if value < 0 else ""
    return ""


def _short_time(value: object) -> str:
    """``2024-01-02`` for a UTC midnight timestamp (daily bars), else the string unchanged."""
    text = str(value)
    for suffix in ("T00:00:00+00:00", "T00:00:00Z", "T00:00:00", " 00:00:00"):
        if text.endswith(suffix) and len(text) == 10 + len(suffix):
            return text[:10]
    return text


def _sort_key(value: object) -> str:
    """``data-v`` for the sort script; None sorts first rather than breaking the order."""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return repr(float(value))
    return "-Infinity"


def _date_labels(times: Sequence[str]) -> list[str]:
    """Short axis labels: dates for long ranges, month-day and time for intraday ones."""
    try:
        parsed = [datetime.fromisoformat(t) for t in times]
        long_range = len(parsed) > 1 and abs((parsed[-1] - parsed[0]).days) >= 5
    except (TypeError, ValueError):  # not ISO, or naive mixed with aware: show them shortened
        return [str(t)[:16] for t in times]
    daily = all(d.hour == d.minute == 0 for d in parsed)
    return [d.strftime("%Y-%m-%d" if daily or long_range else "%m-%d %H:%M") for d in parsed]


def _nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values (1, 2, 2.5, 5 x 10^k steps) within [lo, hi]."""
    raw = (hi - lo) / count
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * mag >= raw)
    first = math.ceil(lo / step)
    # Multiply from an integer index instead of accumulating, so ticks do not drift.
    return [k * step for k in range(first, math.floor(hi / step) + 1)]


# --------------------------------------------------------------------------- charts


class _Scale:
    """Maps bar index and value to viewBox coordinates for one chart."""

    def __init__(self, n: int, lo: float, hi: float) -> None:
        self.n, self.lo, self.hi = n, lo, hi

    def xs(self, index: ArrayLike) -> FloatArray:
        i = np.asarray(index, dtype=np.float64)
        if self.n <= 1:  # a single bar sits in the middle rather than dividing by zero
            return np.full_like(i, (_LEFT + _W - _RIGHT) / 2)
        return np.asarray(_LEFT + i / (self.n - 1) * (_W - _LEFT - _RIGHT), dtype=np.float64)

    def ys(self, value: ArrayLike) -> FloatArray:
        v = np.asarray(value, dtype=np.float64)
        frac = (v - self.lo) / (self.hi - self.lo)
        return np.asarray(_H - _BOTTOM - frac * (_H - _TOP - _BOTTOM), dtype=np.float64)


def _points(xs: FloatArray, ys: FloatArray) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs.tolist(), ys.tolist(), strict=True))


def _chart(
    label: str,
    times: Sequence[str] | StrArray,
    lines: Sequence[tuple[FloatArray, str]],
    *,
    fmt: Callable[[float], str],
    unit: str = "",
    area: bool = False,
    extra_y: Sequence[float] = (),
    overlay: Callable[[_Scale], str] | None = None,
) -> str:
    """An SVG line chart over bar indices; the first line is the main one (hover read-out).

    ``fmt`` formats hover values; axis ticks are round numbers, shown plainly plus ``unit``.
    """
    n = len(times)
    plots: list[tuple[IntArray, FloatArray, str]] = []
    for values, cls in lines:
        finite = np.flatnonzero(np.isfinite(values))
        keep = finite[downsample_minmax(values[finite])]
        plots.append((keep, values[keep], cls))
    span = [p[1] for p in plots] + [np.asarray(extra_y, dtype=np.float64)]
    span += [np.zeros(1)] if area else []
    ys_all = np.concatenate(span)
    ys_all = ys_all[np.isfinite(ys_all)]
    if n == 0 or not plots or plots[0][0].size == 0 or ys_all.size == 0:
        return f'<p class="empty">{_esc(label)}: no data.</p>'
    lo, hi = float(ys_all.min()), float(ys_all.max())
    if hi - lo <= 1e-12 * max(1.0, abs(hi)):  # a flat series still needs a visible band
        lo, hi = lo - max(1.0, abs(lo) * 0.01), hi + max(1.0, abs(hi) * 0.01)
    ticks = _nice_ticks(lo, hi)
    pad = (hi - lo) * 0.04
    scale = _Scale(n, lo - pad, hi + pad)
    out = [f'<svg class="chart" viewBox="0 0 {_W} {_H}" role="img" aria-label="{_esc(label)}"']
    main_idx, main_vals, _ = plots[0]
    tips_t = "|".join(_short_time(times[i]) for i in main_idx.tolist())
    tips_v = "|".join(fmt(v) for v in main_vals.tolist())
    out.append(f' data-t="{_esc(tips_t)}" data-v="{_esc(tips_v)}">')
    for tick, y in zip(ticks, scale.ys(ticks).tolist(), strict=True):
        out.append(
            f'<line class="grid" x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="ylab" x="{_LEFT - 6}" y="{y + 4:.1f}">'
            f"{_esc(_fmt_num(round(tick, 9)) + unit)}</text>"
        )
    tick_idx = sorted(set(np.linspace(0, n - 1, min(n, 6)).round().astype(int).tolist()))
    labels = _date_labels([times[i] for i in tick_idx])
    for i, text, x in zip(tick_idx, labels, scale.xs(tick_idx).tolist(), strict=True):
        # Edge labels hang inwards so they are not clipped by the viewBox.
        anchor = "start" if i == 0 else "end" if i == tick_idx[-1] else "middle"
        out.append(
            f'<line class="tick" x1="{x:.1f}" x2="{x:.1f}" y1="{_H - _BOTTOM}" '
            f'y2="{_H - _BOTTOM + 4}"/><text class="xlab" x="{x:.1f}" y="{_H - 8}" '
            f'text-anchor="{anchor}">{_esc(text)}</text>'
        )
    for idx, vals, cls in plots:
        xs, ys = scale.xs(idx), scale.ys(vals)
        if area:
            base = float(scale.ys(0.0))
            edge = f"{xs[-1]:.1f},{base:.1f} {xs[0]:.1f},{base:.1f}"
            out.append(f'<polygon class="area {cls}" points="{_points(xs, ys)} {edge}"/>')
        out.append(f'<polyline class="line {cls}" points="{_points(xs, ys)}"/>')
    if overlay is not None:
        out.append(overlay(scale))
    out.append(
        f'<g class="hover" visibility="hidden"><line y1="{_TOP}" y2="{_H - _BOTTOM}"/>'
        f'<circle r="3.5"/><text y="{_TOP + 12}"></text></g></svg>'
    )
    return "".join(out)


def _trade_markers(
    trades: Sequence[Mapping[str, Any]], shown: Sequence[int], price_time: StrArray
) -> tuple[list[tuple[str, int, float, str, str]], list[float]]:
    """(kind, bar index, price, css class, tooltip) per entry and exit, and their prices."""
    n = len(price_time)

    def bar_of(when: object) -> int | None:
        if when is None or n == 0:
            return None
        # The bar at that time, or for a fill time that is not a bar time (e.g. between
        # bars) the next bar: chronologically sorted ISO strings compare correctly as text.
        return min(int(np.searchsorted(price_time, str(when))), n - 1)

    marks: list[tuple[str, int, float, str, str]] = []
    for number in shown:
        trade = trades[number]
        pnl = trade.get("pnl")
        closed = trade.get("exit_time") is not None
        outcome = _OUTCOME.get(_sign_class(pnl), "flat") if closed else "open"
        side = str(trade.get("side", "long"))
        for kind, when, price in (
            ("entry", trade.get("entry_time"), trade.get("entry_price")),
            ("exit", trade.get("exit_time"), trade.get("exit_price")),
        ):
            bar = bar_of(when)
            if bar is None or price is None:
                continue
            tip = f"#{number + 1} {side} {kind} · {_short_time(when)} · {_fmt_num(price)}"
            if kind == "exit":
                tip += f" · P&L {_money(pnl)}"
            marks.append((f"{kind} {side}", bar, float(price), outcome, tip))
    return marks, [m[2] for m in marks]


def _marker_svg(marks: Sequence[tuple[str, int, float, str, str]], scale: _Scale) -> str:
    xs = scale.xs([m[1] for m in marks]).tolist()
    ys = scale.ys([m[2] for m in marks]).tolist()
    out = []
    for (kind, _, _, outcome, tip), x, y in zip(marks, xs, ys, strict=True):
        if kind.startswith("exit"):  # an x: where the position was closed
            a, b, c, e = x - 4, x + 4, y - 4, y + 4
            d = f"M{a:.1f},{c:.1f}L{b:.1f},{e:.1f}M{b:.1f},{c:.1f}L{a:.1f},{e:.1f}"
        elif kind.endswith("short"):  # a downward triangle: sold first
            d = f"M{x - 5:.1f},{y - 7:.1f}L{x + 5:.1f},{y - 7:.1f}L{x:.1f},{y + 1:.1f}Z"
        else:  # an upward triangle below the price: bought
            d = f"M{x - 5:.1f},{y + 7:.1f}L{x + 5:.1f},{y + 7:.1f}L{x:.1f},{y - 1:.1f}Z"
        out.append(
            f'<g class="marker {kind} {outcome}"><title>{_esc(tip)}</title><path d="{d}"/></g>'
        )
    return "".join(out)


# --------------------------------------------------------------------------- tables


_NONE: frozenset[int] = frozenset()
_NUMERIC_COLS = {0, 2, 4, 6, 7, 8, 9}  # sorted by data-v, a number even when the cell is "—"


def _head_tail(count: int, limit: int, keep: int) -> tuple[list[int], int]:
    """Row indices to show and how many were left out between the head and the tail."""
    if count <= limit:
        return list(range(count)), 0
    return [*range(keep), *range(count - keep, count)], count - 2 * keep


def _table(
    head: Sequence[str], rows: Sequence[str], *, sortable: bool = False, numeric: Set[int] = _NONE
) -> str:
    """A scrollable data table; ``rows`` are ready ``<tr>`` strings (already escaped)."""
    ths = "".join(
        f'<th class="num">{_esc(h)}</th>' if c in numeric else f"<th>{_esc(h)}</th>"
        for c, h in enumerate(head)
    )
    cls = "trades sortable" if sortable else "trades"
    body = "".join(rows)
    return (
        f'<div class="scroll"><table class="{cls}"><thead><tr>{ths}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def _flatten(mapping: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Nested settings (e.g. the fill model) as dotted keys, one row each."""
    rows: list[tuple[str, Any]] = []
    for key, value in mapping.items():
        if isinstance(value, Mapping):
            rows.extend(_flatten(value, f"{prefix}{key}."))
        else:
            rows.append((f"{prefix}{key}", value))
    return rows


def _kv_table(title: str, mapping: Mapping[str, Any]) -> str:
    if not mapping:
        return f'<h3>{_esc(title)}</h3><p class="empty">None.</p>'
    rows = "".join(
        f"<tr><th>{_esc(k)}</th><td>{_esc(_short_time(_fmt_num(v)))}</td></tr>"
        for k, v in _flatten(mapping)
    )
    return f'<h3>{_esc(title)}</h3><table class="kv">{rows}</table>'


def _metrics_table(metrics: Mapping[str, Any], bench: Mapping[str, Any] | None) -> str:
    head = "<tr><th>Metric</th><th>Strategy</th>" + ("<th>Buy &amp; hold</th>" if bench else "")
    rows = [head + "</tr>"]
    for key, value in metrics.items():
        label = _label(key)
        sign = _sign_class(value) if key in ("total_return", "cagr") else ""
        row = f'<tr><th>{_esc(label)}</th><td class="{sign}">{_esc(_fmt_metric(key, value))}</td>'
        if bench:
            row += f"<td>{_esc(_fmt_metric(key, bench[key])) if key in bench else ''}</td>"
        rows.append(row + "</tr>")
    return f'<table class="kv metrics">{"".join(rows)}</table>'


def _kpi_extra(key: str, trades: Sequence[Mapping[str, Any]]) -> str:
    open_count = sum(1 for t in trades if t.get("exit_time") is None)
    if key != "trades" or not open_count:
        return ""
    return f"<small> + {open_count:,} open</small>"


def _trades_table(trades: Sequence[Mapping[str, Any]]) -> str:
    if not trades:
        return '<p class="empty">No trades.</p>'
    shown, omitted = _head_tail(len(trades), TRADE_TABLE_LIMIT, TRADE_TABLE_KEEP)
    cols = "#|Side|Quantity|Entry time|Entry price|Exit time|Exit price|P&L|Return|Commission"
    body = []
    for i in shown:
        if omitted and i == len(trades) - TRADE_TABLE_KEEP:
            body.append(
                f'<tr class="gap"><td colspan="10">… {omitted:,} trades not shown …</td></tr>'
            )
        t = trades[i]
        pnl, ret, fee, qty = t.get("pnl"), t.get("return"), t.get("commission"), t.get("quantity")
        exit_time = t.get("exit_time")
        state = "open" if exit_time is None else _OUTCOME.get(_sign_class(pnl), "")
        entry_p, exit_p = t.get("entry_price"), t.get("exit_price")
        cells = [
            (i + 1, f"{i + 1:,}"), (None, t.get("side", "")), (qty, _fmt_num(qty)),
            (None, _short_time(t.get("entry_time") or DASH)), (entry_p, _fmt_num(entry_p)),
            (None, "open" if exit_time is None else _short_time(exit_time)),
            (exit_p, _fmt_num(exit_p)), (pnl, _money(pnl)),
            (ret, _fmt_metric("total_return", ret)), (fee, _money(fee)),
        ]  # fmt: skip
        tds = [
            f'<td class="num" data-v="{_sort_key(v)}">{_esc(x)}</td>' if c in _NUMERIC_COLS
            else f"<td>{_esc(x)}</td>"
            for c, (v, x) in enumerate(cells)
        ]  # fmt: skip
        body.append(f'<tr class="{state}">{"".join(tds)}</tr>')
    note = (
        f'<p class="note">Showing the first {TRADE_TABLE_KEEP:,} and last {TRADE_TABLE_KEEP:,} '
        f"of {len(trades):,} trades.</p>"
        if omitted
        else ""
    )
    return note + _table(cols.split("|"), body, sortable=True, numeric=_NUMERIC_COLS)


def _trades_heading(trades: Sequence[Mapping[str, Any]]) -> str:
    """"Trades (33: 32 closed, 1 open)": the table's count next to the KPI's closed count."""
    open_count = sum(1 for t in trades if t.get("exit_time") is None)
    if not open_count:
        return f"Trades ({len(trades):,}, all closed)" if trades else "Trades (0)"
    return f"Trades ({len(trades):,}: {len(trades) - open_count:,} closed, {open_count:,} open)"


def _annualisation_note(settings: Mapping[str, Any]) -> str:
    annual = settings.get("annualisation")
    text = annual.get("text") if isinstance(annual, Mapping) else None
    if not text:
        return ""
    return f'<p class="note">CAGR, volatility and ratios {_esc(text)}.</p>'


def _orders_table(orders: Mapping[str, Any]) -> str:
    """Submitted, filled and refused orders; refusals by reason (zero_size: size rounded to
    zero lots), so a run that never traded says why."""
    if not orders:
        return ""
    rows = {k: orders[k] for k in ("submitted", "filled", "fills") if k in orders}
    for reason, count in (orders.get("rejections") or {}).items():
        rows[f"rejected: {reason}"] = count
    return _kv_table("Orders", rows)


def _risk_section(risk: Mapping[str, Any]) -> str:
    parts = ["<section><h2>Risk</h2>", _kv_table("Settings", risk.get("settings") or {})]
    verdicts = risk.get("verdicts") or {}
    ordered = sorted(verdicts.items(), key=lambda kv: (-int(kv[1]), str(kv[0])))
    parts.append(_kv_table("Verdicts (reason → count)", dict(ordered)))
    halts = list(risk.get("halts") or [])
    shown, omitted = _head_tail(len(halts), TRADE_TABLE_LIMIT, TRADE_TABLE_KEEP)
    keys = ("time", "scope", "state", "reason")
    rows = [
        "<tr>"
        + "".join(f"<td>{_esc(_short_time(halts[i].get(k, DASH)))}</td>" for k in keys)
        + "".join(f"<td>{_esc(v)}</td>" for v in _halt_outcome_cells(halts[i]))
        + "</tr>"
        for i in shown
    ]
    parts.append(f"<h3>Halts ({len(halts):,})</h3>")
    if omitted:
        parts.append(f'<p class="note">{omitted:,} halts in the middle not shown.</p>')
    if halts:
        parts.append(_table([k.capitalize() for k in keys]
                            + ["Drawdown at halt", "Deepest after", "Flat at"], rows))
    return "".join(parts) + "</section>"


def _halt_outcome_cells(event: Mapping[str, Any]) -> tuple[str, str, str]:
    if "drawdown" not in event:
        return DASH, DASH, DASH
    flat = event.get("flat_time")
    return (f"{event['drawdown']:.2%}", f"{event['max_drawdown_after']:.2%}",
            _short_time(flat) if flat else "never")


# --------------------------------------------------------------------------- page


def _curve_columns(curve: Sequence[Mapping[str, Any]]) -> tuple[StrArray, FloatArray]:
    """Times and equity of a report's curve; an ``EquityCurve`` already holds them."""
    from trading_strategy.backtesting.report import EquityCurve

    if isinstance(curve, EquityCurve):
        return curve.times, curve.equity
    times = np.array([str(p.get("time")) for p in curve], dtype=np.str_)
    equity = np.array([np.nan if p.get("equity") is None else p["equity"] for p in curve], float)
    return times, equity


def render_html(
    report: Mapping[str, Any], *, price_time: Sequence[str] | StrArray,
    price_close: Sequence[float] | FloatArray, bars: BarSeries | None = None,
    indicators: Sequence[PlotSeries] = (),
    sections: Sequence[str] = (),
) -> str:
    """The whole report page as a string; ``price_time``/``price_close`` are the bars
    (lists or arrays: the report's ``equity_curve.times`` and the bars' ``close``).

    ``bars`` (the run's ``BarSeries``) makes the charts interactive (candles, zoom, pan,
    crosshair) when lightweight-charts is installed; ``indicators``
    (``indicator_plot.plottable_indicators``) are drawn over the price or below it.
    """
    if len(price_time) != len(price_close):
        raise ValueError(
            f"price_time has {len(price_time)} entries but price_close has {len(price_close)}; "
            "pass one time per close"
        )
    if bars is not None and len(bars) != len(price_close):
        raise ValueError(f"bars has {len(bars)} bars but price_close has {len(price_close)} "
                         "closes; pass the run's own bars")
    data: Mapping[str, Any] = report.get("data") or {}
    metrics: Mapping[str, Any] = report.get("metrics") or {}
    trades: Sequence[Mapping[str, Any]] = report.get("trades") or []
    curve: Sequence[Mapping[str, Any]] = report.get("equity_curve") or []
    bench: Mapping[str, Any] | None = report.get("buy_and_hold")
    strategy = str(report.get("strategy", "strategy"))
    period = f"{_short_time(data.get('start', '?'))} → {_short_time(data.get('end', '?'))}"
    title = f"{strategy} · {data.get('symbol', '?')} {data.get('timeframe', '')} · {period}"

    eq_time, equity = _curve_columns(curve)
    close = np.asarray(price_close, dtype=np.float64)
    hold = None
    if bench and len(close) == len(equity) and len(close) and close[0] > 0:
        # Buy and hold of the same bars from the same starting equity, for comparison.
        hold = equity[0] * close / close[0]
    peak = np.fmax.accumulate(equity) if equity.size else equity
    with np.errstate(divide="ignore", invalid="ignore"):
        drawdown = np.where(peak > 0, (equity / peak - 1.0) * 100.0, np.nan)

    kpis = "".join(
        f'<div class="kpi"><span>{_esc(_label(k))}</span>'
        f'<b class="{_sign_class(metrics.get(k)) if k in ("total_return", "cagr") else ""}">'
        f"{_esc(_fmt_metric(k, metrics.get(k)))}</b>{_kpi_extra(k, trades)}</div>"
        for k in _KPIS
    )
    library = None
    if bars is not None:
        from trading_strategy.backtesting.report_charts import chart_library

        library = chart_library()
    if bars is not None and library is not None:
        from trading_strategy.backtesting.report_charts import interactive_charts

        charts, scripts, css = interactive_charts(bars, curve, equity, hold, drawdown, trades,
                                                  indicators, library)
    else:
        missing = (
            '<p class="note">Static charts: the interactive ones need lightweight-charts '
            "(run <code>npm ci</code> in the source tree).</p>" if bars is not None else ""
        )
        charts = missing + _svg_charts(np.asarray(price_time, dtype=np.str_), close, eq_time,
                                       equity, hold, drawdown, trades, indicators)
        scripts, css = "", ""
    body = [
        f'<header><h1>{_esc(strategy)}</h1><p class="sub">{_esc(data.get("symbol", "?"))} · '
        f"{_esc(data.get('timeframe', ''))} · {_esc(period)} · {_esc(_fmt_num(data.get('bars')))}"
        f' bars</p></header><div class="kpis">{kpis}</div>'
        + _annualisation_note(report.get("settings") or {}),
        charts,
        '<section class="cols"><div><h2>Statistics</h2>'
        + _metrics_table(metrics, bench)
        + "</div><div><h2>Configuration</h2>"
        + _kv_table("Parameters", report.get("params") or {})
        + _kv_table("Settings", report.get("settings") or {})
        + _kv_table("Data", data)
        + _orders_table(report.get("orders") or {})
        + "</div></section>",
        *sections,  # rendered by the caller, e.g. research.sensitivity.html_section
        _risk_section(report["risk"]) if report.get("risk") else "",
        f"<section><h2>{_esc(_trades_heading(trades))}</h2>{_trades_table(trades)}</section>",
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_esc(title)}</title><style>{_CSS}{css}</style></head>"
        f"<body><main>{''.join(body)}</main><script>{_JS}</script>{scripts}</body></html>\n"
    )


def _svg_charts(
    times: StrArray, close: FloatArray, eq_time: StrArray, equity: FloatArray,
    hold: FloatArray | None, drawdown: FloatArray, trades: Sequence[Mapping[str, Any]],
    indicators: Sequence[PlotSeries],
) -> str:
    """Equity, drawdown and price as inline SVG (the page without lightweight-charts)."""
    eq_lines = [(equity, "strategy")] + ([(hold, "bench")] if hold is not None else [])
    shown, hidden = _head_tail(len(trades), MARKER_LIMIT, MARKER_KEEP)
    marks, mark_prices = _trade_markers(trades, shown, times)
    note = f"Markers for the first and last {MARKER_KEEP:,} of {len(trades):,} trades."
    marker_note = f'<p class="note">{note}</p>' if hidden else ""
    legend = '<i class="sw strategy"></i>Strategy <i class="sw bench"></i>Buy &amp; hold'
    legend = f'<p class="legend">{legend}</p>' if len(eq_lines) > 1 else ""
    # Only the overlays fit a static price chart; panels need the interactive page.
    overlays = [(np.asarray(s.values, dtype=np.float64), "ind") for s in indicators
                if s.panel == "overlay" and len(s.values) == len(close)]
    names = " · ".join(s.name for s in indicators if s.panel == "overlay")
    overlay_note = f'<p class="legend">Indicators (grey): {_esc(names)}</p>' if overlays else ""
    return "".join([
        f"<section><h2>Equity</h2>{legend}"
        + _chart("Equity curve", eq_time, eq_lines, fmt=_TWO)
        + "</section>",
        "<section><h2>Drawdown (%)</h2>"
        + _chart(
            "Drawdown", eq_time, [(drawdown, "dd")], fmt=lambda v: f"{v:.2f}%", unit="%", area=True
        )
        + "</section>",
        "<section><h2>Price and trades</h2>"
        '<p class="legend">▲ long entry · ▼ short entry · ✕ exit · '
        '<span class="pos">green</span> win · <span class="neg">red</span> loss</p>'
        + overlay_note
        + _chart(
            "Close price with trades",
            times,
            [(close, "price"), *overlays],
            fmt=lambda v: _fmt_num(round(v, 6)),
            extra_y=mark_prices,
            overlay=lambda s: _marker_svg(marks, s),
        )
        + marker_note
        + "</section>",
    ])


_CSS = """
:root{--fg:#1f2430;--mute:#6b7280;--line:#e5e7eb;--bg:#f7f8fa;--card:#fff;--acc:#2563eb;
--win:#15803d;--loss:#dc2626}*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);
font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1100px;margin:0 auto;padding:24px 16px 48px}h1{font-size:24px;margin:0}
h2{font-size:16px;margin:0 0 8px}
h3{font-size:12px;margin:14px 0 6px;color:var(--mute);text-transform:uppercase;letter-spacing:.04em}
.sub,.note,.legend,.empty{color:var(--mute);margin:4px 0 8px}.pos{color:var(--win)}
.neg{color:var(--loss)}
section,.kpi{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:16px}
section{margin:16px 0}.kpi{padding:10px 14px}
.kpi span{display:block;color:var(--mute);font-size:12px}
.kpi b{font-size:20px}.kpi small{color:var(--mute)}.kpis{display:grid;gap:12px;margin-top:16px;
grid-template-columns:repeat(auto-fit,minmax(140px,1fr))}
.cols{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:24px}
svg.chart{width:100%;height:auto;display:block;font-size:11px}.grid{stroke:var(--line)}
.tick{stroke:var(--mute)}.ylab{fill:var(--mute);text-anchor:end}.xlab{fill:var(--mute)}
.line{fill:none;stroke-width:1.5;stroke-linejoin:round}.line.strategy,.line.price{stroke:var(--acc)}
.line.bench{stroke:#9ca3af;stroke-dasharray:5 4}
.line.ind{stroke:#f59e0b;stroke-width:1.2}.line.dd{stroke:var(--loss)}
.area.dd{fill:var(--loss);fill-opacity:.15;stroke:none}
.marker path{stroke-width:1.6;fill:none;stroke:var(--mute)}
.marker.entry path{stroke:#fff;stroke-width:.8;fill:var(--mute)}
.marker.entry.win path{fill:var(--win)}.marker.entry.loss path{fill:var(--loss)}
.marker.exit.win path{stroke:var(--win)}.marker.exit.loss path{stroke:var(--loss)}
.hover circle{fill:var(--acc)}.hover line{stroke:var(--mute);stroke-dasharray:3 3}
.hover text{fill:var(--fg);paint-order:stroke;stroke:#fff;stroke-width:4px;font-weight:600}
.sw{display:inline-block;width:18px;border-top:2px solid var(--acc);margin:0 6px 3px 0}
.sw.bench{border-top:2px dashed #9ca3af;margin-left:12px}table{border-collapse:collapse;width:100%}
.scroll{overflow:auto;max-height:640px}
th,td{padding:4px 8px;border-bottom:1px solid var(--line);text-align:left;white-space:nowrap}
.kv th{font-weight:500;color:var(--mute)}
.kv td,.num{text-align:right;font-variant-numeric:tabular-nums}
.kv td{white-space:normal;overflow-wrap:anywhere}
.trades thead th{position:sticky;top:0;background:var(--card)}
.sortable th{cursor:pointer;user-select:none}.sortable th[data-dir=asc]::after{content:" ▲"}
.sortable th[data-dir=desc]::after{content:" ▼"}tr.win td:nth-child(8){color:var(--win)}
tr.loss td:nth-child(8){color:var(--loss)}
tr.gap td{text-align:center;color:var(--mute);font-style:italic}
.metrics tr:first-child th+th{text-align:right}
"""

# Hover read-out from the main polyline's points plus the per-point labels in data-t/data-v,
# and click-to-sort tables. textContent only: labels are user data, never parsed as HTML.
_JS = """
document.querySelectorAll('svg.chart[data-t]').forEach(function (svg) {
  var pts = svg.querySelector('polyline.line').points, xs = [], i;
  var hv = svg.querySelector('.hover'), tx = hv.querySelector('text');
  var ln = hv.querySelector('line'), dot = hv.querySelector('circle');
  var t = svg.dataset.t.split('|'), v = svg.dataset.v.split('|');
  for (i = 0; i < pts.numberOfItems; i++) xs.push(pts.getItem(i).x);
  svg.addEventListener('mousemove', function (e) {
    var p = svg.createSVGPoint(), lo = 0, hi = xs.length - 1, m;
    p.x = e.clientX; p.y = e.clientY; p = p.matrixTransform(svg.getScreenCTM().inverse());
    while (lo < hi) { m = (lo + hi) >> 1; if (xs[m] < p.x) lo = m + 1; else hi = m; }
    if (lo > 0 && p.x - xs[lo - 1] < xs[lo] - p.x) lo--;
    var q = pts.getItem(lo), right = q.x > svg.viewBox.baseVal.width / 2;
    ln.setAttribute('x1', q.x); ln.setAttribute('x2', q.x);
    dot.setAttribute('cx', q.x); dot.setAttribute('cy', q.y);
    tx.setAttribute('x', right ? q.x - 8 : q.x + 8);
    tx.setAttribute('text-anchor', right ? 'end' : 'start');
    tx.textContent = t[lo] + '  ' + v[lo]; hv.setAttribute('visibility', 'visible');
  });
  svg.addEventListener('mouseleave', function () { hv.setAttribute('visibility', 'hidden'); });
});
function key(td) { var v = td.dataset.v; return v === undefined ? td.textContent : +v; }
document.querySelectorAll('table.sortable').forEach(function (tb) {
  var heads = tb.querySelectorAll('thead th');
  heads.forEach(function (th) { th.addEventListener('click', function () {
    var c = th.cellIndex, asc = th.dataset.dir !== 'asc', body = tb.tBodies[0], rows;
    heads.forEach(function (h) { delete h.dataset.dir; }); th.dataset.dir = asc ? 'asc' : 'desc';
    // The "trades not shown" row means nothing once rows are reordered: drop it.
    body.querySelectorAll('tr.gap').forEach(function (r) { r.remove(); });
    rows = [].slice.call(body.rows).sort(function (a, b) {
      var x = key(a.cells[c]), y = key(b.cells[c]);
      return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }); });
});
"""
