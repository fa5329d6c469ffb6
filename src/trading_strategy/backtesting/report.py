"""The backtest report: one JSON-ready dict, deterministic for the same inputs.

Keys: ``strategy``, ``params``, ``data``, ``settings``, ``metrics``, ``trades``,
``equity_curve`` (and ``buy_and_hold``, ``orders``, ``risk``). Money and prices are exact
decimals rendered as JSON numbers (the shortest float that reads back to the same decimal).

``trades`` lists every trade, the one still open at the end included (``exit_time`` null,
P&L marked at the last close); ``metrics.trades`` counts the closed ones the statistics
use and ``metrics.open_trades`` the open ones, so the two always add up to ``len(trades)``.
``settings.annualisation`` says how many bars make a year and why (calendar rule or
override); ``orders.rejections`` counts refused orders by reason (``zero_size``: the size
rounded to zero lots).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from trading_strategy._version import __version__
from trading_strategy.backtesting.runner import BacktestResult, annualisation
from trading_strategy.core.bars import format_ts
from trading_strategy.core.enums import OrderStatus

_EXTRA_DECIMALS = Decimal("1e-10")


def number(value: Decimal) -> float | int:
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def _avg_price(value_ticks: int, lots: int, tick: Decimal) -> float | int:
    price = (Decimal(value_ticks) / Decimal(lots) * tick).quantize(_EXTRA_DECIMALS)
    return number(price.normalize())


def build_report(result: BacktestResult) -> dict[str, Any]:
    engine = result.engine
    bars = engine.bars
    inst = bars.instrument
    tf = bars.timeframe
    settings = engine.settings
    ledger = engine.ledger
    last_close = int(engine.close_t[-1])
    annual = result.annualisation or annualisation(bars, settings)

    trades = []
    for t in ledger.trades:
        pnl = t.pnl(last_close if t.is_open else None)
        trades.append({
            "side": "long" if t.direction > 0 else "short",
            "quantity": number(inst.quantity(t.entry_lots)),
            "entry_time": format_ts(t.entry_ts, tf),
            "entry_price": _avg_price(t.entry_value, t.entry_lots, inst.tick_size),
            "exit_time": None if t.is_open else format_ts(t.exit_ts or 0, tf),
            "exit_price": None if t.is_open
            else _avg_price(t.exit_value, t.exit_lots, inst.tick_size),
            "pnl": number(inst.money(pnl)),
            "return": round(pnl / t.entry_value, 12),
            "commission": number(inst.money(t.commission)),
        })

    times = [format_ts(int(ts), tf) for ts in bars.ts.tolist()]
    equity_curve = [{"time": t, "equity": e}
                    for t, e in zip(times, result.equity.tolist(), strict=True)]
    metrics: dict[str, Any] = {}
    for key, value in result.metrics.as_dict().items():
        metrics[key] = value
        if key == "trades":  # right after the closed count, so the two read together
            metrics["open_trades"] = sum(1 for t in ledger.trades if t.is_open)
    metrics["final_equity"] = number(inst.money(int(result.equity_units[-1])))
    first_close, last = float(bars.close[0]), float(bars.close[-1])
    statuses: dict[str, int] = {}
    for order in engine.state.closed_orders + [o for o in engine.orders if o.is_open]:
        statuses[order.status.value] = statuses.get(order.status.value, 0) + 1
    report: dict[str, Any] = {
        "strategy": engine.strategy_name,
        "params": engine.params.model_dump(mode="json"),
        "data": {
            "symbol": inst.symbol,
            "timeframe": str(tf),
            "start": format_ts(bars.start, tf),
            "end": format_ts(bars.end, tf),
            "bars": len(bars),
        },
        "settings": {
            "initial_cash": number(settings.initial_cash),
            "commission": settings.commission.describe(),
            "slippage": settings.slippage.describe(),
            "size": str(settings.size),
            "fill_model": {
                "market_orders": "next bar open",
                "latency_bars": settings.latency_bars,
                "latency_ms": settings.latency_ms,
                "intrabar": "pessimistic: stop before target",
                "volume_participation": None if settings.volume_participation is None
                else float(settings.volume_participation),
            },
            "periods_per_year": result.periods_per_year,
            "annualisation": annual.as_dict(),
            "risk_free_rate": settings.risk_free_rate,
            "tick_size": number(inst.tick_size),
            "lot_size": number(inst.lot_size),
            "indicator_mode": settings.indicator_mode.value,
            "version": __version__,
        },
        "metrics": metrics,
        "buy_and_hold": {"total_return": last / first_close - 1.0},
        "orders": {
            "submitted": engine._seq,
            "by_status": dict(sorted(statuses.items())),
            "rejections": dict(sorted(engine.state.rejections.items())),
            "filled": statuses.get(OrderStatus.FILLED.value, 0),
            "fills": len(engine.state.fills),
        },
        "trades": trades,
        "equity_curve": equity_curve,
    }
    if result.risk is not None:
        report["risk"] = result.risk.report(engine)
    return report


def dumps(report: dict[str, Any]) -> str:
    """Deterministic JSON text (insertion order, no NaN)."""
    return json.dumps(report, allow_nan=False, separators=(",", ":")) + "\n"
