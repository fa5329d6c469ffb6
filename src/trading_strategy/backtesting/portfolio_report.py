"""The portfolio backtest report: one JSON-ready dict, deterministic for the same inputs.

The same top-level keys as a single backtest's report (``strategy``, ``params``, ``data``,
``settings``, ``metrics``, ``orders``, ``trades``, ``equity_curve``, ``risk``), computed on
the portfolio's total equity, plus ``kind: "portfolio"`` and ``portfolio``: how the run was
driven (``mode``, ``coupled_by``), the capital, the exact P&L and one entry per strategy
with its own report's figures (``metrics``, ``orders``, trades counted), its P&L and its
contribution (P&L over the portfolio's capital; ``pnl_share``: over the portfolio's P&L),
and its equity curve on its own bars.

The total P&L is the sum of the strategies' P&L exactly: both come from the same integer
equity, converted with Decimal arithmetic (``SleeveResult.pnl``, ``PortfolioResult.pnl``).
``trades`` lists every strategy's trades, each with its ``strategy`` and ``symbol``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from trading_strategy._version import __version__
from trading_strategy.backtesting.portfolio import PortfolioResult, SleeveResult
from trading_strategy.backtesting.report import EquityCurve, build_report, money_decimals, number
from trading_strategy.core.bars import format_ts
from trading_strategy.core.timeframe import Timeframe
from trading_strategy.risk import TradingState

#: data.symbol is stored in 64 characters
_SYMBOLS_WIDTH = 64


def build_portfolio_report(result: PortfolioResult, *, name: str,
                           settings: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The report of ``result``; ``name`` names the portfolio (the session's name),
    ``settings`` adds what the run was configured with beyond the strategies (the venue)."""
    sleeves = result.sleeves
    singles = [build_report(s.result) for s in sleeves]
    tf = _timeline_timeframe(result)
    unit = result.money_unit
    curve = EquityCurve(result.ts, tf, result.equity, decimals=money_decimals(unit))
    times: list[str] = curve.times.tolist()
    initial = result.initial_units * unit
    pnl = result.pnl
    metrics: dict[str, Any] = {}
    for key, value in result.metrics.as_dict().items():
        metrics[key] = value
        if key == "trades":
            metrics["open_trades"] = sum(r["metrics"]["open_trades"] for r in singles)
    metrics["final_equity"] = number(int(result.equity_units[-1]) * unit)
    strategies = [_strategy_entry(s, r, initial, pnl) for s, r in zip(sleeves, singles,
                                                                        strict=True)]
    first = singles[0]["settings"]
    report: dict[str, Any] = {
        "kind": "portfolio",
        "strategy": _label(name),
        "params": {s.name: {"strategy": s.strategy, "symbol": s.engine.instrument.symbol,
                            **r["params"]} for s, r in zip(sleeves, singles, strict=True)},
        "data": {
            "symbol": _symbols(result),
            "timeframe": str(tf) if len({str(s.engine.bars.timeframe)
                                         for s in sleeves}) == 1 else None,
            "start": times[0],
            "end": times[-1],
            "bars": len(times),
        },
        "settings": {
            "portfolio": name,
            "initial_cash": number(initial),
            "money_unit": number(unit),
            "mode": result.mode,
            "coupled_by": list(result.coupled_by),
            **dict(settings or {}),
            "fill_model": first["fill_model"],
            "periods_per_year": result.annualisation.periods_per_year,
            "annualisation": result.annualisation.as_dict(),
            "risk_free_rate": first["risk_free_rate"],
            "indicator_mode": first["indicator_mode"],
            "version": __version__,
        },
        "metrics": metrics,
        "portfolio": {
            "mode": result.mode,
            "coupled_by": list(result.coupled_by),
            "initial_capital": number(initial),
            "final_equity": metrics["final_equity"],
            "pnl": number(pnl),
            "strategies": strategies,
        },
        "orders": _orders(singles),
        "trades": [{"strategy": s.name, "symbol": s.engine.instrument.symbol, **t}
                   for s, r in zip(sleeves, singles, strict=True) for t in r["trades"]],
        "equity_curve": curve,
    }
    risk = _risk(result, singles, times, tf)
    if risk is not None:
        report["risk"] = risk
    return report


def _strategy_entry(sleeve: SleeveResult, single: dict[str, Any], initial: Decimal,
                    total_pnl: Decimal) -> dict[str, Any]:
    engine = sleeve.engine
    pnl = sleeve.pnl
    capital = engine.instrument.money(sleeve.initial_units)
    entry: dict[str, Any] = {
        "name": sleeve.name,
        "strategy": sleeve.strategy,
        "symbol": engine.instrument.symbol,
        "params": single["params"],
        "data": single["data"],
        "capital": number(capital),
        "size": single["settings"]["size"],
        "commission": single["settings"]["commission"],
        "slippage": single["settings"]["slippage"],
        "metrics": single["metrics"],
        "final_equity": single["metrics"]["final_equity"],
        "pnl": number(pnl),
        # return points this strategy added to the portfolio's total return
        "contribution": float(pnl / initial) if initial else None,
        "pnl_share": float(pnl / total_pnl) if total_pnl else None,
        "trades": len(single["trades"]),
        "orders": single["orders"],
        "equity_curve": single["equity_curve"],
    }
    risk = single.get("risk")
    if risk is not None:
        entry["risk"] = {"verdicts": risk["verdicts"], "final_state": risk["final_state"]}
    return entry


def _orders(singles: list[dict[str, Any]]) -> dict[str, Any]:
    total: dict[str, Any] = {"submitted": 0, "by_status": {}, "rejections": {}, "filled": 0,
                             "fills": 0}
    for single in singles:
        orders = single["orders"]
        for key in ("submitted", "filled", "fills"):
            total[key] += orders[key]
        for key in ("by_status", "rejections"):
            for name, count in orders[key].items():
                total[key][name] = total[key].get(name, 0) + count
    total["by_status"] = dict(sorted(total["by_status"].items()))
    total["rejections"] = dict(sorted(total["rejections"].items()))
    return total


def _risk(result: PortfolioResult, singles: list[dict[str, Any]], times: list[str],
          tf: Timeframe) -> dict[str, Any] | None:
    """The risk section: settings, verdicts of every strategy, the portfolio's halts
    (measured on the total equity) and each strategy's own ones."""
    reports = [r["risk"] for r in singles if "risk" in r]
    if not reports:
        return None
    verdicts: dict[str, int] = {}
    for r in reports:
        for key, count in r["verdicts"].items():
            verdicts[key] = verdicts.get(key, 0) + count
    halts = [_portfolio_halt(result, change, at, times, tf) for change, at in result.changes]
    for single in singles:
        halts += [h for h in single.get("risk", {}).get("halts", [])
                  if h["scope"] != "portfolio"]
    halts.sort(key=lambda h: str(h["time"]))
    state = result.risk.state(None).value if result.risk is not None else \
        TradingState.ACTIVE.value
    return {"settings": reports[0]["settings"], "verdicts": dict(sorted(verdicts.items())),
            "halts": halts, "final_state": state}


def _portfolio_halt(result: PortfolioResult, change: Any, at: int, times: list[str],
                    tf: Timeframe) -> dict[str, Any]:
    event: dict[str, Any] = {"time": format_ts(change.ts_ns, tf), "scope": "portfolio",
                             "state": change.current.value, "reason": change.reason.value,
                             "message": change.message}
    if change.current is not TradingState.HALTED or change.threshold_units is None \
            or change.equity_units is None:
        return event
    # the equity the halt watched is the total: measure it there, exactly, like a single
    # backtest measures its own (drawdown at the halt, the deepest after, flat again)
    peak = change.threshold_units
    low = int(result.equity_units[at:].min())
    flat = (~result.in_market[at:]).nonzero()[0]
    event["flatten"] = change.flatten
    event["drawdown"] = (peak - change.equity_units) / peak
    event["max_drawdown_after"] = max(peak - low, 0) / peak
    event["flat_time"] = times[at + int(flat[0])] if flat.size else None
    return event


def _timeline_timeframe(result: PortfolioResult) -> Timeframe:
    """The finest bar length: it decides how the union of times is written."""
    return min((s.engine.bars.timeframe for s in result.sleeves),
               key=lambda tf: tf.nanoseconds)


def _symbols(result: PortfolioResult) -> str:
    symbols = list(dict.fromkeys(s.engine.instrument.symbol for s in result.sleeves))
    text = "+".join(symbols)
    return text if len(text) <= _SYMBOLS_WIDTH else f"{len(symbols)} symbols"


def _label(name: str) -> str:
    label = f"portfolio:{name}"
    return label if len(label) <= _SYMBOLS_WIDTH else "portfolio"
