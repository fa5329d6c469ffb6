"""Interactive charts for the HTML report: TradingView's lightweight-charts, inlined.

The report stays one file that opens offline: the library's standalone build (copied into
``web/static/vendor`` by ``npm ci``, the same file the web app serves) goes into the page
with its licence header, and the data goes in as one JSON block. ``chart_library`` is None
when the build is absent (a pip install without npm); the report then draws its SVG charts.

The data is reduced here, before it is embedded, so a million-bar run makes a page of about
a megabyte that draws at once: bars are aggregated into at most ``MAX_CANDLES`` candles
(each bucket's open, high, low and close: no wick is lost), indicators take each bucket's
last value (what the strategy saw at the candle's close), and equity and drawdown keep each
bucket's extremes (``downsample_minmax``), so the worst drawdown is never smoothed away.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from trading_strategy.backtesting.downsample import downsample_minmax
from trading_strategy.backtesting.indicator_plot import OVERLAY, PlotSeries
from trading_strategy.backtesting.report_chart_script import CHART_CSS, CHART_JS

__all__ = [
    "MAX_CANDLES",
    "VENDOR_SCRIPT",
    "chart_data_json",
    "chart_library",
    "chart_page_parts",
    "equity_data_json",
    "interactive_charts",
    "library_notice",
    "trade_times_ns",
]

if TYPE_CHECKING:
    from trading_strategy.core.bars import BarSeries

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

VENDOR_SCRIPT = (Path(__file__).resolve().parents[1] / "web" / "static" / "vendor"
                 / "lightweight-charts.standalone.production.js")
MAX_CANDLES = 4_000  # a few per pixel column of a wide screen; zooming in shows them apart
MAX_EQUITY_POINTS = 4_000
MARKER_TRADES = 4_000  # above this, markers for the first and last half only
_NS = 1_000_000_000


def chart_library() -> str | None:
    """The standalone lightweight-charts build as text, or None when it is not installed."""
    try:
        text = VENDOR_SCRIPT.read_text(encoding="utf-8")
    except OSError:
        return None
    # inside an inline <script>, "</script" would end the element early
    return re.sub(r"</(script)", r"<\\/\1", text, flags=re.IGNORECASE)


def library_notice(script: str) -> str:
    """The attribution the library's licence asks for, from its own ``@license`` header:
    "TradingView Lightweight Charts™ v5.2.1 · Copyright (c) 2026 TradingView, Inc. · ..."."""
    header = re.match(r"\s*/\*!(.*?)\*/", script, flags=re.DOTALL)
    lines = [] if header is None else [
        line.strip(" *\t") for line in header.group(1).splitlines()]
    kept = [line for line in lines if line and line != "@license"]
    return " · ".join(kept) or "TradingView Lightweight Charts™, Apache License 2.0"


def trade_times_ns(times: Sequence[object]) -> IntArray:
    """Report time texts (``2024-01-02``, ``2024-01-02T10:00:00Z``, ``...+00:00``) as UTC ns;
    -1 where a time is missing or unreadable."""
    text = np.array(["NaT" if t is None else str(t) for t in times], dtype=np.str_)
    if text.size == 0:
        return np.zeros(0, dtype=np.int64)
    text = np.strings.replace(np.strings.replace(text, "+00:00", ""), "Z", "")
    try:
        moments = text.astype("datetime64[ns]")
    except ValueError:  # not the report's own format: one at a time, unreadable ones dropped
        moments = np.array([_one_time(t) for t in text.tolist()], dtype="datetime64[ns]")
    out = moments.astype(np.int64)
    return np.where(np.isnat(moments), -1, out)


def _one_time(text: str) -> np.datetime64:
    try:
        return np.datetime64(text, "ns")
    except ValueError:
        return np.datetime64("NaT", "ns")


def _seconds(ts_ns: IntArray) -> IntArray:
    """Whole UTC seconds, strictly increasing as the chart needs: bars closer than a second
    apart are pushed a second later each rather than dropped."""
    secs = np.asarray(ts_ns, dtype=np.int64) // _NS
    if secs.size > 1 and not bool(np.all(np.diff(secs) > 0)):
        ramp = np.arange(secs.size, dtype=np.int64)
        secs = np.maximum.accumulate(secs - ramp) + ramp
    return secs


def _nums(values: FloatArray, digits: int = 8) -> str:
    """A JSON array of numbers at ``digits`` significant digits; NaN and inf as null."""
    fmt = f"{{:.{digits}g}}".format
    return "[" + ",".join(fmt(v) if math.isfinite(v) else "null"
                          for v in np.asarray(values, dtype=np.float64).tolist()) + "]"


def _ints(values: IntArray) -> str:
    return "[" + ",".join(map(str, np.asarray(values, dtype=np.int64).tolist())) + "]"


def _decimals(close: FloatArray) -> int:
    """The fewest decimals that show the prices as given (2 for stocks, 5 for FX...)."""
    sample = close[np.isfinite(close)][:2_000]
    for k in range(9):
        scaled = sample * 10.0**k
        if np.all(np.abs(scaled - np.round(scaled)) < 1e-6 * np.maximum(1.0, np.abs(scaled))):
            return max(k, 2 if k else 0)
    return 8


def chart_data_json(
    *,
    ts: IntArray,
    ohlc: tuple[FloatArray, FloatArray, FloatArray, FloatArray],
    equity_ts: IntArray,
    equity: FloatArray,
    bench: FloatArray | None,
    drawdown: FloatArray,
    trades: Sequence[Mapping[str, Any]],
    indicators: Sequence[PlotSeries],
    max_candles: int = MAX_CANDLES,
) -> tuple[str, dict[str, int]]:
    """The charts' data as JSON text safe inside ``<script>``, and a summary for the page's
    note (``bars``, ``candles``, ``step`` bars per candle, ``equity_points``,
    ``marked_trades``)."""
    o, h, low, c = (np.asarray(a, dtype=np.float64) for a in ohlc)
    n = len(ts)
    step = max(1, -(-n // max(1, max_candles)))
    starts = np.arange(0, n, step, dtype=np.intp)
    ends = np.minimum(starts + step - 1, n - 1)
    if n:
        candles = (o[starts], np.maximum.reduceat(h, starts), np.minimum.reduceat(low, starts),
                   c[ends])
    else:
        candles = (o, h, low, c)
    candle_t = _seconds(np.asarray(ts, dtype=np.int64)[starts])

    overlays = [s for s in indicators if s.panel == OVERLAY]
    panels: dict[str, list[PlotSeries]] = {}
    for s in indicators:
        if s.panel != OVERLAY:
            panels.setdefault(s.panel, []).append(s)

    def line(s: PlotSeries) -> str:
        values = np.asarray(s.values, dtype=np.float64)
        picked = values[ends] if len(values) == n else np.full(len(ends), math.nan)
        return f'{{"name":{json.dumps(s.name)},"v":{_nums(picked)}}}'

    rows, marked = _trade_rows(trades, np.asarray(ts, dtype=np.int64), step, candle_t)
    parts = [
        f'"intraday":{json.dumps(bool(n > 1 and np.median(np.diff(candle_t)) < 86_400))}',
        f'"decimals":{_decimals(c)}',
        f'"candles":{{"t":{_ints(candle_t)},"o":{_nums(candles[0])},"h":{_nums(candles[1])},'
        f'"l":{_nums(candles[2])},"c":{_nums(candles[3])}}}',
        f'"overlays":[{",".join(line(s) for s in overlays)}]',
        '"panels":[' + ",".join(
            f'{{"title":{json.dumps(title)},"lines":[{",".join(line(s) for s in lines)}]}}'
            for title, lines in panels.items()) + "]",
        f'"trades":{json.dumps(rows, separators=(",", ":"), allow_nan=False)}',
    ]
    equity_part, points = _equity_part(equity_ts, equity, bench, drawdown, ())
    summary = {"bars": n, "candles": len(starts), "step": step, "equity_points": points,
               "marked_trades": marked, "trades": len(trades)}
    return _script_safe("{" + ",".join([*parts, equity_part]) + "}"), summary


def equity_data_json(
    *,
    equity_ts: IntArray,
    equity: FloatArray,
    drawdown: FloatArray,
    lines: Sequence[tuple[str, FloatArray]] = (),
) -> tuple[str, int]:
    """The data of a page with the equity chart only (a portfolio: the total, one line per
    strategy in ``lines`` and the total's drawdown) and its number of points."""
    secs = _seconds(np.asarray(equity_ts, dtype=np.int64))
    intraday = bool(secs.size > 1 and np.median(np.diff(secs)) < 86_400)
    part, points = _equity_part(equity_ts, equity, None, drawdown, lines)
    head = (f'"intraday":{json.dumps(intraday)},"decimals":2,"candles":null,"overlays":[],'
            '"panels":[],"trades":[]')
    return _script_safe("{" + head + "," + part + "}"), points


def _script_safe(text: str) -> str:
    # "<" only occurs inside strings (user-named indicators), where \u003c means the same
    return text.replace("<", "\\u003c")


def _equity_part(equity_ts: IntArray, equity: FloatArray, bench: FloatArray | None,
                 drawdown: FloatArray, lines: Sequence[tuple[str, FloatArray]],
                 ) -> tuple[str, int]:
    """``"equity":{...}``: the points that keep the extremes of equity and drawdown (other
    lines are sampled at the same points) and how many there are."""
    keep = np.union1d(_finite_extremes(equity, MAX_EQUITY_POINTS),
                      _finite_extremes(drawdown, MAX_EQUITY_POINTS // 2)).astype(np.intp)
    eq_t = _seconds(np.asarray(equity_ts, dtype=np.int64))[keep]
    extra = ",".join(f'{{"name":{json.dumps(name)},"v":{_nums(np.asarray(v)[keep])}}}'
                     for name, v in lines)
    return (f'"equity":{{"t":{_ints(eq_t)},"v":{_nums(equity[keep])},'
            f'"bh":{"null" if bench is None else _nums(bench[keep])},'
            f'"dd":{_nums(drawdown[keep], 6)},"lines":[{extra}]}}', len(keep))


def _finite_extremes(values: FloatArray, budget: int) -> NDArray[np.intp]:
    finite = np.flatnonzero(np.isfinite(values))
    return finite[downsample_minmax(values[finite], budget)]


def _trade_rows(trades: Sequence[Mapping[str, Any]], ts: IntArray, step: int,
                candle_t: IntArray) -> tuple[list[list[Any]], int]:
    """One row per marked trade: [number, side (1 long, -1 short), outcome (1 win, -1 loss,
    0 flat or open), entry candle time, entry price, entry text, exit candle time or None,
    exit price, exit text, P&L]. A fill between bars goes to the next bar's candle."""
    count = len(trades)
    if count > MARKER_TRADES:
        half = MARKER_TRADES // 2
        shown = [*range(half), *range(count - half, count)]
    else:
        shown = list(range(count))
    if not shown or len(ts) == 0:
        return [], 0
    chosen = [trades[i] for i in shown]
    entries = trade_times_ns([t.get("entry_time") for t in chosen])
    exits = trade_times_ns([t.get("exit_time") for t in chosen])

    def candle(when: IntArray) -> list[int | None]:
        bar = np.minimum(np.searchsorted(ts, when, side="left"), len(ts) - 1)
        times = candle_t[bar // step].tolist()
        return [None if w < 0 else t for w, t in zip(when.tolist(), times, strict=True)]

    rows: list[list[Any]] = []
    for number, trade, entry_t, exit_t in zip(shown, chosen, candle(entries), candle(exits),
                                              strict=True):
        pnl = _float(trade.get("pnl"))
        exit_price = _float(trade.get("exit_price"))
        closed = trade.get("exit_time") is not None and exit_t is not None
        outcome = 0 if not closed or pnl is None or pnl == 0 else (1 if pnl > 0 else -1)
        rows.append([
            number + 1, -1 if str(trade.get("side", "long")) == "short" else 1, outcome,
            entry_t, _float(trade.get("entry_price")), _short(trade.get("entry_time")),
            exit_t if closed else None, exit_price if closed else None,
            _short(trade.get("exit_time")) if closed else None, pnl,
        ])
    return rows, len(rows)


def _float(value: object) -> float | None:
    """A price or P&L for the chart, at 8 significant digits (as the candles)."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return float(f"{number:.8g}") if math.isfinite(number) else None


def _short(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).replace("T", " ")
    for suffix in (" 00:00:00+00:00", " 00:00:00Z", "+00:00", "Z"):
        text = text.removesuffix(suffix)
    return text


def interactive_charts(
    bars: BarSeries, curve: Sequence[Mapping[str, Any]], equity: FloatArray,
    hold: FloatArray | None, drawdown: FloatArray, trades: Sequence[Mapping[str, Any]],
    indicators: Sequence[PlotSeries], library: str,
) -> tuple[str, str, str]:
    """(chart sections, scripts, CSS) of a single run's page: ``equity`` after each bar
    (``curve`` is the report's equity curve, for its times), ``hold`` the buy and hold line,
    ``drawdown`` in percent, the report's ``trades``, the strategy's ``indicators``."""
    from trading_strategy.backtesting.report import EquityCurve

    if isinstance(curve, EquityCurve):
        eq_ts = curve.ts
    elif len(curve) == len(bars):
        eq_ts = np.asarray(bars.ts, dtype=np.int64)
    else:
        eq_ts = trade_times_ns([p.get("time") for p in curve])
    payload, info = chart_data_json(
        ts=np.asarray(bars.ts, dtype=np.int64),
        ohlc=(bars.open, bars.high, bars.low, bars.close),
        equity_ts=eq_ts, equity=equity, bench=hold, drawdown=drawdown, trades=trades,
        indicators=indicators,
    )
    notes = []
    if info["step"] > 1:
        notes.append(f"{info['bars']:,} bars shown as {info['candles']:,} candles of "
                     f"{info['step']:,} bars each")
    if info["marked_trades"] < info["trades"]:
        notes.append(f"markers for the first and last {info['marked_trades'] // 2:,} of "
                     f"{info['trades']:,} trades")
    note = (f"{'; '.join(notes)}. " if notes else "") + (
        "Scroll or drag to zoom and pan; the two charts move together.")
    return chart_page_parts(library, payload, title="Equity and drawdown", note=note,
                            with_price=True)


_TRADE_LEGEND = ('▲ long entry · ▼ short entry · ● exit · <span class="pos">green</span> win'
                 ' · <span class="neg">red</span> loss')


def chart_page_parts(library: str, payload: str, *, title: str, note: str,
                     with_price: bool) -> tuple[str, str, str]:
    """(chart sections, scripts, CSS) of a page: the equity chart (``title``, with a Reset
    zoom button and ``note``), the price chart below it when ``with_price``, and the
    library's attribution; ``payload`` is ``chart_data_json``'s or ``equity_data_json``'s."""
    esc = html.escape
    attribution = (f'<p class="note">Charts: {esc(library_notice(library))} · '
                   '<a href="https://www.tradingview.com/">tradingview.com</a></p>')
    sections = (
        f'<section><div class="chart-head"><h2>{esc(title)}</h2>'
        '<button type="button" id="chart-reset">Reset zoom</button></div>'
        f'<p class="note" id="chart-note">{esc(note)}</p>'
        '<div class="chart-legend" id="legend-equity"></div>'
        '<div class="chart-box" id="chart-equity"></div>'
        + ("" if with_price else attribution) + "</section>"
    )
    if with_price:
        sections += (
            f'<section><h2>Price and trades</h2><p class="legend">{_TRADE_LEGEND}</p>'
            '<div class="chart-legend" id="legend-price"></div>'
            f'<div class="chart-box" id="chart-price"></div>{attribution}</section>'
        )
    scripts = (
        f"<script>{library}</script>"
        f'<script type="application/json" id="chart-data">{payload}</script>'
        f"<script>{CHART_JS}</script>"
    )
    return sections, scripts, CHART_CSS
