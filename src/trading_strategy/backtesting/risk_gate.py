"""The risk engine as the backtest's pre-trade gate: the same rules live trading runs under.

Per order: the engine's account view is brought up to date (equity marked at the decision
bar's close, position, last price, open orders) and ``RiskEngine.check`` returns the verdict;
a configured sizing method replaces the strategy's size for entries. Per bar (after that bar's
fills): equity goes to ``on_equity`` for the strategy and the portfolio, and trading-state
changes act — REDUCING and HALTED cancel open entry orders; a halt with ``flatten_on_halt``
(the default) also cancels exits and closes the position with a market order, which fills at
the next bar's open. ``halt_outcomes`` measures each halt: the drawdown when it fired and the
deepest one from the same peak afterwards (the report's ``risk.halts``). Configured stops are
attached to every entry at its fill price, trailing stops follow each bar's high or low, and
time exits close positions.

A backtest has no operator: once HALTED it stays halted to the end of the run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from trading_strategy.backtesting.engine import GateDecision
from trading_strategy.core.bars import format_ts
from trading_strategy.core.enums import OrderStatus, OrderType, Side
from trading_strategy.core.orders import Bracket, Order, OrderIntent
from trading_strategy.risk import (
    RiskEngine,
    RiskSettings,
    SizingRules,
    StopRules,
    TradingState,
    TradingStateChange,
    VerdictStatus,
    atr_in_ticks,
    bracket_for_entry,
    time_exit_due,
    update_trailing,
)
from trading_strategy.strategies import indicators

if TYPE_CHECKING:
    from trading_strategy.backtesting.engine import BacktestEngine


@dataclass
class RiskLog:
    verdicts: dict[str, int] = field(default_factory=dict)
    changes: list[TradingStateChange] = field(default_factory=list)
    #: the bar of each change in ``changes`` (same order)
    change_bars: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class HaltOutcome:
    """What a drawdown halt led to: the drawdown from the peak when it fired, the deepest
    drawdown from that same peak afterwards (to the end of the run: a backtest has no operator
    to re-arm it), and when the position was flat again (``None``: never)."""

    bar: int
    peak_units: int
    equity_units: int
    drawdown: float
    max_drawdown_after: float
    flat_bar: int | None


class RiskGate:
    def __init__(self, settings: RiskSettings, *, strategy: str, engine: BacktestEngine) -> None:
        inst = engine.instrument
        self.settings = settings
        self.strategy = strategy
        self.symbol = inst.symbol
        self.risk = RiskEngine(settings, {inst.symbol: inst})
        self.account = self.risk.new_account(equity=engine.ledger.cash)
        self.stops: StopRules = self.risk.stop_rules(strategy)
        self.sizing: SizingRules = self.risk.sizing_rules(strategy)
        self.log = RiskLog()
        self._returns: list[float] = []
        bars = engine.bars
        # daily bars are whole sessions: the market-hours rule applies to intraday data only
        self._session_open: bool | None = None if bars.timeframe.is_intraday else True
        self._atr: npt.NDArray[np.float64] | None = None
        if self.stops.needs_atr:
            self._atr = indicators.atr(bars.high, bars.low, bars.close, self.stops.atr_period)
        self._tick = inst.tick_size
        self._time_exit_sent = -1
        has_loss_limits = any(
            getattr(eff, key) is not None
            for eff in (self.risk.settings_for(None), self.risk.settings_for(strategy))
            for key in ("max_daily_loss", "max_daily_loss_pct", "max_drawdown_pct"))
        caps = ("max_position_pct", "max_strategy_exposure_pct", "max_order_notional")
        top = settings
        #: any limit on a position's size: all-in orders then keep the size checked here
        self.caps_positions = any(getattr(eff, key, None) is not None
                                  for eff in (self.risk.settings_for(None),
                                              self.risk.settings_for(strategy))
                                  for key in caps) or top.max_gross_exposure is not None \
            or top.max_leverage is not None
        #: per-bar work is needed only for loss limits, trailing stops and time exits
        self.needs_bar_updates = (has_loss_limits or self.stops.has_trailing
                                  or self.stops.has_time_exit)

    # --- per order -------------------------------------------------------------------------
    def _atr_ticks(self, i: int) -> float | None:
        if self._atr is None or i < 0:
            return None
        return atr_in_ticks(float(self._atr[i]), self._tick)

    def check(self, intent: OrderIntent, engine: BacktestEngine) -> GateDecision:
        i = max(engine.cursor.i, 0)
        ledger = engine.ledger
        close_t = int(engine.close_t[i])
        account = self.account
        account.equity = ledger.cash + ledger.position * close_t
        # judged against the position once the orders already working have filled: a
        # close followed by a sell is an entry, not a reduction
        position = self.projected_position(engine)
        account.set_position(self.strategy, self.symbol, position)
        account.set_last_price(self.symbol, close_t)
        account.set_open_orders(self.strategy, sum(1 for o in engine.orders if o.is_open))
        increases = position == 0 or (position > 0) == (intent.side is Side.BUY)
        if increases and not intent.reduce_only and self.stops.needs_atr \
                and self._atr_ticks(i) is None:
            return self._count(GateDecision(
                None, "atr_warmup", "an ATR-based stop is configured and the ATR is not "
                "available yet: the entry would go out unprotected"))
        if self.sizing.method != "strategy" and increases and not intent.reduce_only:
            sized = self.risk.size_entry(intent, account.equity, close_t,
                                         atr_ticks=self._atr_ticks(i),
                                         trade_returns=self._closed_returns(engine))
            if sized.lots <= 0:
                return self._count(GateDecision(None, "zero_size", sized.note))
            intent = intent._replace(lots=sized.lots)
        verdict = self.risk.check(intent, account, int(engine.bars.ts[i]),
                                  session_open=self._session_open)
        if verdict.status is VerdictStatus.REJECTED:
            code = verdict.reason.value if verdict.reason is not None else "rejected"
            return self._count(GateDecision(None, code, verdict.message))
        code = "accepted"
        if verdict.status is VerdictStatus.RESIZED:
            code = f"resized:{verdict.reason.value}" if verdict.reason is not None else "resized"
        return self._count(GateDecision(verdict.lots, code, verdict.message))

    def _closed_returns(self, engine: BacktestEngine) -> list[float]:
        """Returns (P&L / entry value) of the strategy's closed trades, oldest first: what a
        Kelly sizer learns its win rate and payoff ratio from. Extended as trades close (only
        the ledger's last trade can still be open)."""
        if self.sizing.method != "kelly":
            return self._returns
        return engine.ledger.closed_returns(self._returns)

    @staticmethod
    def projected_position(engine: BacktestEngine) -> int:
        """The position once the working orders have filled: every entry (for the caps, as
        if it filled) and every reduce-only *market* order (certain to fill), but not the
        contingent exits — a stop-loss waiting below the price reduces nothing yet."""
        position = engine.ledger.position
        for order in engine.orders:
            if not order.is_open:
                continue
            if order.reduce_only and order.order_type is not OrderType.MARKET:
                continue
            sign = 1 if order.side is Side.BUY else -1
            lots = order.remaining_lots
            if order.reduce_only:
                lots = min(lots, abs(position)) if position * sign < 0 else 0
            position += sign * lots
        return position

    def fill_cap(self, engine: BacktestEngine, order: Order, lots: int,
                 fill_t: int) -> tuple[int, str] | None:
        """The size caps at the fill price, with equity marked at that price: an entry
        decided at a close and filled at a gapped open still keeps ``max_position_pct`` (and
        every other size cap) at the price it was bought at.

        The equity is taken net of this fill's commission (for ``lots``; a cut fill pays no
        more), so right after the fill ``|position| × price <= pct × equity`` holds exactly."""
        ledger = engine.ledger
        account = self.account
        commission = engine.commission_fn(lots, fill_t, order.filled_lots == 0)
        account.equity = ledger.cash + ledger.position * fill_t - commission
        account.set_position(self.strategy, self.symbol, ledger.position)
        account.set_last_price(self.symbol, fill_t)
        cap, code = self.risk.fill_cap(self.strategy, self.symbol, order.side, account, fill_t)
        if cap is None or code is None or cap >= lots:
            return None
        kind = "resized_at_fill" if cap > 0 else "rejected_at_fill"
        key = f"{kind}:{code.value}"
        self.log.verdicts[key] = self.log.verdicts.get(key, 0) + 1
        return max(cap, 0), code.value

    def _count(self, decision: GateDecision) -> GateDecision:
        key = decision.code if decision.lots is not None else f"rejected:{decision.code}"
        self.log.verdicts[key] = self.log.verdicts.get(key, 0) + 1
        return decision

    def entry_bracket(self, order: Order, fill_t: int, i: int) -> Bracket | None:
        """Configured stops for an entry filled at ``fill_t`` on bar ``i``."""
        if order.bracket is not None or order.reduce_only:
            return None
        try:
            # the ATR known when the fill happens is the one of the previous bar's close
            return bracket_for_entry(self.stops, order.side, fill_t, self._atr_ticks(i - 1))
        except ValueError:
            return None  # ATR still warming up: the venue model has nothing to attach

    # --- per bar ---------------------------------------------------------------------------
    def on_bar(self, engine: BacktestEngine, i: int) -> None:
        ts = int(engine.bars.ts[i])
        equity = engine.equity_units(i)
        changes = self.risk.on_equity(ts, self.strategy, equity)
        changes += self.risk.on_equity(ts, None, equity)
        for change in changes:
            self.log.changes.append(change)
            self.log.change_bars.append(i)
            self._act(engine, change)
        ledger = engine.ledger
        if ledger.position == 0:
            return
        if self.stops.has_trailing:
            self._trail(engine, i)
        trade = ledger.open_trade
        if (self.stops.has_time_exit and trade is not None
                and self._time_exit_sent != trade.entry_bar
                and time_exit_due(entry_bar=trade.entry_bar, bar=i, entry_ts_ns=trade.entry_ts,
                                  ts_ns=ts, max_bars=self.stops.time_exit_bars,
                                  max_duration_ns=self.stops.time_exit_ns)):
            self._time_exit_sent = trade.entry_bar
            engine.ctx.close(tag="time_exit")

    def _act(self, engine: BacktestEngine, change: TradingStateChange) -> None:
        if change.current is TradingState.ACTIVE:
            return
        position = engine.ledger.position
        for order in list(engine.orders):
            if not order.is_open:
                continue
            # an exit by its effect: it shrinks the position (whatever its flags say)
            shrinks = position != 0 and (order.side is Side.SELL) == (position > 0) \
                and order.remaining_lots <= abs(position)
            exit_order = order.reduce_only or order.parent_id is not None or shrinks
            if (change.cancel_entry_orders and not exit_order) or \
                    (change.cancel_exit_orders and exit_order):
                engine.cancel(order.id, reason=f"risk: {change.current.value} "
                                               f"({change.reason.value})")
        if change.flatten and engine.ledger.position != 0:
            engine.ctx.close(tag="risk_flatten")

    def _trail(self, engine: BacktestEngine, i: int) -> None:
        high = int(engine.high_t[i])
        low = int(engine.low_t[i])
        for order in engine.orders:
            if order.parent_id is None or order.order_type is not OrderType.STOP \
                    or order.status not in (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED):
                continue
            if order.created_index >= i:
                continue  # the entry filled during this bar: its high may predate the fill
            entry_side = Side.BUY if order.side is Side.SELL else Side.SELL
            moved = update_trailing(self.stops, entry_side, order.stop_ticks, high, low,
                                    self._atr_ticks(i))
            if moved is not None:
                order.stop_ticks = moved

    # --- report ----------------------------------------------------------------------------
    def halt_outcomes(self, engine: BacktestEngine) -> dict[int, HaltOutcome]:
        """Per drawdown halt (by its index in ``log.changes``): see ``HaltOutcome``.

        The equity is the one the halt watched: the portfolio's (the engine's single ledger
        in a backtest, which is also the strategy's). Exact integers until the two ratios."""
        equity = engine.equity_curve_units()
        positions = engine.position_curve
        out: dict[int, HaltOutcome] = {}
        for k, (change, bar) in enumerate(zip(self.log.changes, self.log.change_bars,
                                              strict=True)):
            if change.current is not TradingState.HALTED or change.threshold_units is None \
                    or change.equity_units is None:
                continue
            peak = change.threshold_units
            low = int(equity[bar:].min())
            flat = np.flatnonzero(positions[bar:] == 0)
            out[k] = HaltOutcome(
                bar=bar, peak_units=peak, equity_units=change.equity_units,
                drawdown=(peak - change.equity_units) / peak,
                max_drawdown_after=max(peak - low, 0) / peak,
                flat_bar=bar + int(flat[0]) if flat.size else None)
        return out

    def report(self, engine: BacktestEngine) -> dict[str, Any]:
        tf = engine.bars.timeframe
        times = engine.bars.ts
        used = self.settings.model_dump(mode="json", exclude_none=True)
        if "max_drawdown_pct" in used:
            # the kill switch's behaviour is part of the setting, default or not
            used["flatten_on_halt"] = self.risk.settings_for(self.strategy).flatten_on_halt
        outcomes = self.halt_outcomes(engine)
        halts = []
        for k, c in enumerate(self.log.changes):
            event: dict[str, Any] = {
                "time": format_ts(c.ts_ns, tf),
                "scope": c.scope or "portfolio",
                "state": c.current.value,
                "reason": c.reason.value,
                "message": c.message,
            }
            outcome = outcomes.get(k)
            if outcome is not None:
                event["flatten"] = c.flatten
                event["drawdown"] = outcome.drawdown
                event["max_drawdown_after"] = outcome.max_drawdown_after
                event["flat_time"] = (None if outcome.flat_bar is None
                                      else format_ts(int(times[outcome.flat_bar]), tf))
            halts.append(event)
        return {
            "settings": used,
            "verdicts": dict(sorted(self.log.verdicts.items())),
            "halts": halts,
            "final_state": self.risk.effective_state(self.strategy).value,
        }
