"""One parameter point through the kernel, and its result in the engine's own terms.

``run_point`` returns a ``FastRun``: the equity curve in money units and the position per bar
(what ``BacktestEngine.equity_curve_units`` and ``position_curve`` hold), the trades as the
ledger's ``TradeRecord`` objects, the fills, the ledger's totals and the ``Metrics`` from
``backtesting.metrics.compute_metrics`` with the very arguments ``runner.collect_result``
passes, so a sweep's table is the same whichever path ran it. ``None`` means the kernel met
something it does not do (``codes.UNSUPPORTED``/``OVERFLOW``): run the engine instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from trading_strategy.backtesting.metrics import Metrics, TradeOutcome, compute_metrics
from trading_strategy.backtesting.runner import money_array, units_to_money
from trading_strategy.portfolio.ledger import TradeRecord
from trading_strategy.research.fastpath import codes as k
from trading_strategy.research.fastpath.declaration import IndicatorMemo, signals
from trading_strategy.research.fastpath.plan import Plan
from trading_strategy.strategies.base import StrategyParams


@dataclass(frozen=True, slots=True)
class FastFill:
    bar_index: int
    sign: int
    lots: int
    price_ticks: int
    commission: int
    slippage: int
    #: a protective stop's fill (else a market order's)
    stop: bool


@dataclass(frozen=True, slots=True)
class FastRun:
    plan: Plan
    equity_units: npt.NDArray[np.int64]
    equity: npt.NDArray[np.float64]
    position_curve: npt.NDArray[np.int64]
    #: the kernel's trade rows (``kernel.T_*`` columns) and fill rows
    trade_rows: npt.NDArray[np.int64]
    fill_rows: npt.NDArray[np.int64]
    cash: int
    position: int
    commission: int
    slippage: int
    traded_value: int
    metrics: Metrics
    #: closed trades' P&L over entry value, oldest first (``TradeRecord.pnl() /
    #: entry_value``, as floats)
    trade_returns: list[float]
    open_trades: int

    @property
    def trades(self) -> list[TradeRecord]:
        """The trades as the engine's ledger holds them."""
        ts = self.plan.bars.ts
        out = []
        for row in self.trade_rows.tolist():
            exit_bar = row[k.T_EXIT_BAR]
            out.append(TradeRecord(
                direction=row[k.T_DIR], entry_ts=int(ts[row[k.T_ENTRY_BAR]]),
                entry_bar=row[k.T_ENTRY_BAR], entry_lots=row[k.T_ENTRY_LOTS],
                entry_value=row[k.T_ENTRY_VALUE], exit_lots=row[k.T_EXIT_LOTS],
                exit_value=row[k.T_EXIT_VALUE], commission=row[k.T_COMM],
                exit_ts=None if exit_bar < 0 else int(ts[exit_bar]),
                exit_bar=None if exit_bar < 0 else exit_bar))
        return out

    @property
    def fills(self) -> list[FastFill]:
        return [FastFill(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6]))
                for r in self.fill_rows.tolist()]


def closed_trade_outcomes(rows: npt.NDArray[np.int64], money_unit: Decimal
                          ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Closed trades' P&L in currency and return on entry value, vectorized: exactly
    ``float(instrument.money(pnl))`` (``runner.units_to_money``) and ``pnl / entry_value``
    (both integers below 2**53, so one correctly rounded division, as Python's)."""
    closed = rows[rows[:, k.T_EXIT_BAR] >= 0]
    pnl = closed[:, k.T_DIR] * (closed[:, k.T_EXIT_VALUE] - closed[:, k.T_ENTRY_VALUE]) \
        - closed[:, k.T_COMM]
    entry = closed[:, k.T_ENTRY_VALUE]
    if closed.size and max(int(np.abs(pnl).max()), int(entry.max())) >= 1 << 53:
        raise OverflowError("trade amounts beyond exact float range")
    return units_to_money(pnl, money_unit), pnl.astype(np.float64) / entry.astype(np.float64)


def run_point(plan: Plan, params: StrategyParams,
              memo: IndicatorMemo | None = None) -> FastRun | None:
    """Simulate ``params`` (already parsed; ``memo``: the sweep's indicator memory);
    ``DeclarationError`` for a malformed declaration, ``None`` when the engine must run
    the point."""
    from trading_strategy.research.fastpath.kernel import simulate

    bars = plan.bars
    n = len(bars)
    flags, stops = signals(plan.strategy, params, bars, plan.columns, memo)
    orders = int(np.count_nonzero(flags))
    room = 3 * orders + 4  # at most a close, an entry and its stop's fill per signal bar
    trades = np.zeros((room, k.TRADE_COLUMNS), dtype=np.int64)
    fills = np.zeros((room, k.FILL_COLUMNS), dtype=np.int64)
    units = np.empty(n, dtype=np.int64)
    positions = np.empty(n, dtype=np.int64)
    st = np.zeros(8, dtype=np.int64)
    status = simulate(plan.open_t, plan.high_t, plan.low_t, plan.close_t, flags, stops,
                        plan.allowed, plan.slip_bar, plan.cfg, plan.costs, units, positions,
                        trades, fills, st)
    if status != k.OK:
        return None
    cash, position, _, n_trades, n_fills, commission, slippage, traded = (int(v) for v in st)
    rows = trades[:n_trades]
    inst = bars.instrument
    try:
        pnl, ret = closed_trade_outcomes(rows, inst.money_unit)
    except OverflowError:
        return None
    equity = money_array(units, bars)
    returns = ret.tolist()
    metrics = compute_metrics(
        equity,
        periods_per_year=plan.periods_per_year,
        trades=[TradeOutcome(p, r) for p, r in zip(pnl.tolist(), returns, strict=True)],
        bars_in_market=int(np.count_nonzero(positions)),
        traded_notional=float(inst.money(traded)),
        commission=float(inst.money(commission)),
        slippage=float(inst.money(slippage)),
        risk_free_rate=plan.settings.risk_free_rate,
    )
    return FastRun(plan, units, equity, positions, rows, fills[:n_fills], cash, position,
                   commission, slippage, traded, metrics, returns,
                   int(np.count_nonzero(rows[:, k.T_EXIT_BAR] < 0)))
