"""Terminal output: the backtest summary table and a progress bar."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

_PCT = {"total_return", "cagr", "volatility", "max_drawdown", "win_rate", "exposure"}
_ROWS = [
    ("total_return", "Total return"), ("cagr", "CAGR"), ("volatility", "Volatility (ann.)"),
    ("sharpe", "Sharpe"), ("sortino", "Sortino"), ("calmar", "Calmar"),
    ("max_drawdown", "Max drawdown"), ("max_drawdown_duration", "Max DD duration (bars)"),
    ("trades", "Closed trades"), ("open_trades", "Open trades"), ("win_rate", "Win rate"),
    ("profit_factor", "Profit factor"),
    ("expectancy", "Expectancy"), ("exposure", "Exposure"), ("turnover", "Turnover"),
    ("commission", "Commission"), ("slippage", "Slippage"), ("final_equity", "Final equity"),
]


def _fmt(key: str, value: Any) -> str:
    if value is None:
        return "—"
    if key in _PCT:
        return f"{value * 100:.2f}%"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.2f}"


def format_summary(report: dict[str, Any]) -> str:
    data = report["data"]
    params = ", ".join(f"{k}={v}" for k, v in report["params"].items())
    lines = [
        f"{report['strategy']}({params}) on {data['symbol']} {data['timeframe']}, "
        f"{data['start']} .. {data['end']} ({data['bars']:,} bars)",
    ]
    width = max(len(label) for _, label in _ROWS)
    lines.append("-" * (width + 18))
    lines.extend(_metric_lines(report["metrics"], width))
    bh = report.get("buy_and_hold", {}).get("total_return")
    if bh is not None:
        lines.append(f"{'Buy & hold return':<{width}}  {_fmt('total_return', bh):>15}")
    lines.extend(_rejected_lines(report.get("orders", {}).get("rejections") or {}, width))
    lines.extend(_risk_lines(report.get("risk"), width))
    lines.append("-" * (width + 18))
    lines.extend(_annualisation_lines(report))
    return "\n".join(lines)


def format_portfolio_summary(report: dict[str, Any]) -> str:
    """The portfolio's metrics on its total equity, then one row per strategy: its capital,
    P&L, contribution to the total return, own return, drawdown and trades."""
    data = report["data"]
    book = report["portfolio"]
    strategies = book["strategies"]
    coupled = ", ".join(book["coupled_by"])
    mode = f"{book['mode']} ({coupled})" if coupled else book["mode"]
    lines = [
        f"{report['strategy']}: {len(strategies)} strategies on {data['symbol']} "
        f"{data['timeframe'] or 'mixed timeframes'}, {data['start']} .. {data['end']} "
        f"({data['bars']:,} bar times), run {mode}",
    ]
    width = max(len(label) for _, label in _ROWS)
    lines.append("-" * (width + 18))
    lines.extend(_metric_lines(report["metrics"], width))
    lines.append(f"{'P&L':<{width}}  {_fmt('pnl', book['pnl']):>15}")
    lines.extend(_rejected_lines(report.get("orders", {}).get("rejections") or {}, width))
    lines.extend(_risk_lines(report.get("risk"), width))
    lines.append("-" * (width + 18))
    head = ("Strategy", "Kind", "Symbol", "Capital", "P&L", "Contribution", "Return",
            "Max DD", "Trades")
    rows = [head]
    for s in strategies:
        m = s["metrics"]
        rows.append((s["name"], s["strategy"], s["symbol"], _fmt("capital", s["capital"]),
                     _fmt("pnl", s["pnl"]), _fmt("total_return", s["contribution"]),
                     _fmt("total_return", m["total_return"]),
                     _fmt("max_drawdown", m["max_drawdown"]), _fmt("trades", m["trades"])))
    rows.append(("Total", "", "", _fmt("capital", book["initial_capital"]),
                 _fmt("pnl", book["pnl"]),
                 _fmt("total_return", report["metrics"]["total_return"]),
                 _fmt("total_return", report["metrics"]["total_return"]),
                 _fmt("max_drawdown", report["metrics"]["max_drawdown"]),
                 _fmt("trades", report["metrics"]["trades"])))
    widths = [max(len(str(row[c])) for row in rows) for c in range(len(head))]
    for row in rows:
        cells = [str(v).ljust(w) if c < 3 else str(v).rjust(w)
                 for c, (v, w) in enumerate(zip(row, widths, strict=True))]
        lines.append("  ".join(cells).rstrip())
    lines.append("-" * (width + 18))
    lines.extend(_annualisation_lines(report))
    return "\n".join(lines)


def _metric_lines(metrics: dict[str, Any], width: int) -> list[str]:
    return [f"{label:<{width}}  {_fmt(key, metrics[key]):>15}"
            for key, label in _ROWS if key in metrics]


def _risk_lines(risk: dict[str, Any] | None, width: int) -> list[str]:
    if not risk:
        return []
    lines = []
    verdicts = risk.get("verdicts", {})
    if verdicts:
        counted = ", ".join(f"{k}: {v}" for k, v in verdicts.items())
        lines.append(f"{'Risk verdicts':<{width}}  {counted}")
    events = risk.get("halts", [])
    limited = [e for e in events if e.get("state") != "active"]
    if limited:
        kinds: dict[str, int] = {}
        for e in limited:
            kinds[e["reason"]] = kinds.get(e["reason"], 0) + 1
        counted = ", ".join(f"{k}: {v}" for k, v in kinds.items())
        lines.append(f"{'Risk limits hit':<{width}}  {counted}")
    for e in limited:
        if e.get("state") == "halted":
            lines.append(f"{'Trading halted':<{width}}  {e['time']} ({e['reason']}, "
                         f"{e['scope']}){_halt_outcome(e)}")
    return lines


def _annualisation_lines(report: dict[str, Any]) -> list[str]:
    annual = report.get("settings", {}).get("annualisation", {}).get("text")
    return [f"CAGR, volatility and ratios {annual}"] if annual else []


def _halt_outcome(event: dict[str, Any]) -> str:
    """What a drawdown halt cost: the drawdown at the halt, the deepest one after it (the
    kill switch is judged by this) and when the position was flat."""
    if "drawdown" not in event:
        return ""
    flat = event.get("flat_time") or "never"
    return (f": drawdown {event['drawdown']:.1%} at the halt, deepest after "
            f"{event['max_drawdown_after']:.1%}, flat {flat}")


def _rejected_lines(rejections: dict[str, int], width: int) -> list[str]:
    """Refused orders by reason; a size that rounds to zero lots gets a hint, since it
    otherwise looks like a strategy that never traded."""
    total = sum(rejections.values())
    if not total:
        return []
    counted = ", ".join(f"{k}: {v:,}" for k, v in rejections.items())
    lines = [f"{'Orders rejected':<{width}}  {total:,} ({counted})"]
    zero = rejections.get("zero_size", 0)
    if zero:
        lines.append(f"{'':<{width}}  {zero:,} for size: rounded to zero lots "
                     "(raise --size or --cash)")
    return lines


def progress_bar(total: int) -> Callable[[int, int], None]:
    def update(done: int, total_: int) -> None:
        filled = int(30 * done / max(total_, 1))
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {done:,}/{total_:,} bars")
        if done >= total_:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return update
