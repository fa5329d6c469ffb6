"""The risk engine as the backtest's pre-trade gate: the same rules live trading runs under.

Per order: the kernel's ``StrategyGate`` decides (projected position, ATR warm-up, sizing
method, ``RiskEngine.check``) from a view of the engine's state (equity marked at the
decision bar's close, position, working orders). Per bar (after that bar's fills): equity
goes to ``on_equity`` for the strategy and (unless a portfolio driver does it) the portfolio,
and trading-state changes act through ``kernel.protections.state_actions`` — REDUCING and
HALTED cancel open entry orders; a halt with ``flatten_on_halt`` (the default) also cancels
exits and closes the position with a market order, which fills at the next bar's open.
``halt_outcomes`` measures each halt: the drawdown when it fired and the deepest one from the
same peak afterwards (the report's ``risk.halts``). The kernel's ``Protections`` give the
stops attached to every entry at its fill price, move trailing stops after each bar and
decide time exits.

In a portfolio backtest several gates share one multi-instrument ``RiskEngine`` (and one
account view of it): amounts go to it in its common unit (an instrument's money units ×
``risk.value_factor(symbol)``), ``equity`` returns the portfolio's equity, and with
``portfolio=True`` the driver feeds the portfolio equity itself and hands each change to every
gate's ``act``.

A backtest has no operator: once HALTED it stays halted to the end of the run.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from trading_strategy.backtesting.engine import GateAnswer
from trading_strategy.core.bars import format_ts
from trading_strategy.core.enums import OrderStatus, OrderType, Side
from trading_strategy.core.orders import Bracket, Order, OrderIntent
from trading_strategy.kernel.gate import GateView, StrategyGate, WorkingOrder, projected_position
from trading_strategy.kernel.protections import Protections, RestingOrder, state_actions
from trading_strategy.risk import (
    Account,
    RiskEngine,
    RiskSettings,
    SizingRules,
    StopRules,
    TradingState,
    TradingStateChange,
    atr_in_ticks,
)
from trading_strategy.strategies import indicators

if TYPE_CHECKING:
    from trading_strategy.backtesting.engine import BacktestEngine

@dataclass
class _Shared:
    """The account view of a risk engine several gates share, and the engines behind it."""

    account: Account
    engines: list[tuple[str, BacktestEngine]] = field(default_factory=list)

    def refresh(self) -> None:
        """Every strategy's booked position and last close, as the portfolio caps read
        them (a session's account follows every fill; here fills happen inside engines)."""
        account = self.account
        for strategy, engine in self.engines:
            symbol = engine.instrument.symbol
            account.set_position(strategy, symbol, engine.ledger.position)
            i = engine.cursor.i
            if i >= 0:
                account.set_last_price(symbol, int(engine.close_t[i]))


#: one account view per shared risk engine: the portfolio caps see every strategy's position
_SHARED: weakref.WeakKeyDictionary[RiskEngine, _Shared] = weakref.WeakKeyDictionary()


def _shared(risk: RiskEngine) -> _Shared:
    shared = _SHARED.get(risk)
    if shared is None:
        shared = _SHARED[risk] = _Shared(risk.new_account())
    return shared


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


def _working(engine: BacktestEngine) -> list[WorkingOrder]:
    return [WorkingOrder(o.side, o.remaining_lots, o.reduce_only, o.order_type)
            for o in engine.orders if o.is_open]


class RiskGate:
    def __init__(self, settings: RiskSettings, *, strategy: str, engine: BacktestEngine,
                 risk: RiskEngine | None = None,
                 equity: Callable[[], int] | None = None,
                 portfolio: bool = False) -> None:
        inst = engine.instrument
        self.settings = settings
        self.strategy = strategy
        self.symbol = inst.symbol
        shared = risk is not None
        self.risk = risk if risk is not None else RiskEngine(settings, {inst.symbol: inst})
        self._factor = self.risk.value_factor(inst.symbol)
        self._equity = equity
        self.portfolio = portfolio
        self._peers: _Shared | None = None
        if shared:
            self._peers = _shared(self.risk)
            self._peers.engines.append((strategy, engine))
            self.account = self._peers.account
            self.account.set_position(strategy, inst.symbol, engine.ledger.position)
        else:
            self.account = self.risk.new_account(equity=engine.ledger.cash)
        self.gate = StrategyGate(self.risk, strategy)
        #: the view carries the closed trades' returns only for Kelly sizing
        self._kelly = self.gate.needs_returns
        self.stops: StopRules = self.gate.stops
        self.sizing: SizingRules = self.gate.sizing
        self.protections = Protections(self.stops)
        self._timed = self.stops.has_time_exit
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
        eff_top, eff = self.risk.settings_for(None), self.risk.settings_for(strategy)
        scopes = (eff,) if portfolio else (eff_top, eff)
        has_loss_limits = any(
            getattr(e, key) is not None for e in scopes
            for key in ("max_daily_loss", "max_daily_loss_pct", "max_drawdown_pct"))
        #: any limit on a position's size: all-in orders then keep the size checked here
        self.caps_positions = self.gate.caps_positions
        #: per-bar work is needed only for loss limits, trailing stops and time exits
        self.needs_bar_updates = (has_loss_limits or self.stops.has_trailing
                                  or self.stops.has_time_exit)
        #: a portfolio driver's feed of the portfolio's equity at a bar's time, run after
        #: this strategy's own scope and before its trailing stops and time exits (a
        #: session's order of work); ``watch_portfolio`` installs it
        self._portfolio_feed: Callable[[int], None] | None = None

    def watch_portfolio(self, feed: Callable[[int], None]) -> None:
        """Run ``feed(ts)`` at each of this strategy's bars, before its ``on_bar`` (install
        before the engine starts)."""
        self._portfolio_feed = feed
        self.needs_bar_updates = True

    # --- amounts ---------------------------------------------------------------------------
    def _own_equity(self, engine: BacktestEngine, price_t: int) -> int:
        """This engine's equity marked at ``price_t``, in the risk engine's units."""
        ledger = engine.ledger
        return (ledger.cash + ledger.position * price_t) * self._factor

    def _caps_equity(self, engine: BacktestEngine, own_units: int) -> int:
        """The equity the caps are judged against, with this engine's part marked as
        ``own_units``: the portfolio's when one is driven (its total marks every ledger at
        its last close stepped; this engine's mark there is swapped for ``own_units``)."""
        if self._equity is None:
            return own_units
        i = engine.cursor.i
        ledger = engine.ledger
        marked = ledger.cash if i < 0 else ledger.cash + ledger.position * int(engine.close_t[i])
        return self._equity() - marked * self._factor + own_units

    # --- per order -------------------------------------------------------------------------
    def _atr_ticks(self, i: int) -> float | None:
        if self._atr is None or i < 0:
            return None
        return atr_in_ticks(float(self._atr[i]), self._tick)

    def check(self, intent: OrderIntent, engine: BacktestEngine) -> GateAnswer:
        i = engine.cursor.i
        if i < 0:
            i = 0
        ledger = engine.ledger
        close_t = int(engine.close_t[i])
        own = (ledger.cash + ledger.position * close_t) * self._factor
        account = self.account
        if self._peers is not None:
            self._peers.refresh()
        account.equity = own if self._equity is None else self._caps_equity(engine, own)
        account.set_last_price(self.symbol, close_t)
        # positional, and no call for what this strategy's settings never need: one view
        # per order
        orders = engine.orders
        view = GateView(
            self.strategy, self.symbol, ledger.position,
            _working(engine) if orders else (), own, close_t,
            None if self._atr is None else atr_in_ticks(float(self._atr[i]), self._tick),
            ledger.closed_returns(self._returns) if self._kelly else self._returns,
            # a strategy buys within its own cash, at the decision price (a session's rule)
            ledger.cash)
        decision = self.gate.decide(intent, view, account, int(engine.bars.ts[i]),
                                    session_open=self._session_open)
        # the kernel's decision is handed on as it is: the engine reads lots, code, message
        code = decision.code
        key = code if decision.lots is not None else f"rejected:{code}"
        verdicts = self.log.verdicts
        verdicts[key] = verdicts.get(key, 0) + 1
        return decision

    def _closed_returns(self, engine: BacktestEngine) -> list[float]:
        """Returns (P&L / entry value) of the strategy's closed trades, oldest first: what a
        Kelly sizer learns its win rate and payoff ratio from. Extended as trades close (only
        the ledger's last trade can still be open)."""
        if not self._kelly:
            return self._returns
        return engine.ledger.closed_returns(self._returns)

    @staticmethod
    def projected_position(engine: BacktestEngine) -> int:
        """The engine's position once its working orders have filled (the kernel's rule)."""
        return projected_position(engine.ledger.position, _working(engine))

    def fill_cap(self, engine: BacktestEngine, order: Order, lots: int,
                 fill_t: int) -> tuple[int, str] | None:
        """The size caps at the fill price, with equity marked at that price: an entry
        decided at a close and filled at a gapped open still keeps ``max_position_pct`` (and
        every other size cap) at the price it was bought at.

        The equity is taken net of this fill's commission (for ``lots``; a cut fill pays no
        more), so right after the fill ``|position| × price <= pct × equity`` holds exactly."""
        ledger = engine.ledger
        account = self.account
        if self._peers is not None:
            self._peers.refresh()
        commission = engine.commission_fn(lots, fill_t, order.filled_lots == 0)
        own = self._own_equity(engine, fill_t) - commission * self._factor
        account.equity = self._caps_equity(engine, own)
        account.set_position(self.strategy, self.symbol, ledger.position)
        account.set_last_price(self.symbol, fill_t)
        cap, code = self.risk.fill_cap(self.strategy, self.symbol, order.side, account, fill_t)
        if cap is None or code is None or cap >= lots:
            return None
        kind = "resized_at_fill" if cap > 0 else "rejected_at_fill"
        key = f"{kind}:{code.value}"
        self.log.verdicts[key] = self.log.verdicts.get(key, 0) + 1
        return max(cap, 0), code.value

    def entry_bracket(self, order: Order, fill_t: int, i: int) -> Bracket | None:
        """Configured stops for an entry filled at ``fill_t`` on bar ``i``."""
        if order.bracket is not None or order.reduce_only:
            return None
        # the ATR known when the fill happens is the one of the previous bar's close
        return self.protections.bracket(order.side, fill_t, self._atr_ticks(i - 1))

    # --- per bar ---------------------------------------------------------------------------
    def on_bar(self, engine: BacktestEngine, i: int) -> None:
        ts = int(engine.bars.ts[i])
        own = engine.equity_units(i) * self._factor
        if self.portfolio:
            # the driver feeds the portfolio's equity and hands its changes to ``act``
            changes = self.risk.on_equity(ts, self.strategy, own)
        else:
            changes = self.risk.on_equity(ts, self.strategy, own)
            changes += self.risk.on_equity(ts, None, own)
        ledger = engine.ledger
        for change in changes:
            if change.scope in (None, self.strategy):
                self.act(engine, change, i)
        if self._portfolio_feed is not None:
            self._portfolio_feed(ts)
        if ledger.position == 0:
            return
        if self.stops.has_trailing:
            self._trail(engine, i)
        trade = ledger.open_trade
        if (self._timed and trade is not None and self._time_exit_sent != trade.entry_bar
                and self.protections.time_exit_due(entry_bar=trade.entry_bar, bar=i,
                                                   entry_ts_ns=trade.entry_ts, ts_ns=ts)
                # orders already working close the position: no exit to send (yet)
                and self.projected_position(engine) != 0):
            self._time_exit_sent = trade.entry_bar
            engine.ctx.close(tag="time_exit")

    def act(self, engine: BacktestEngine, change: TradingStateChange,
            bar: int | None = None) -> None:
        """Log a trading-state change of this strategy or the portfolio and carry out what
        it requires (``kernel.protections.state_actions``): cancels, then the flatten.
        ``bar``: the bar it happened on (default: the engine's current bar)."""
        self.log.changes.append(change)
        self.log.change_bars.append(max(engine.cursor.i, 0) if bar is None else bar)
        position = engine.ledger.position
        actions = state_actions(change, (
            RestingOrder(o.id, o.side, o.remaining_lots, o.reduce_only,
                         o.parent_id is not None, position)
            for o in engine.orders if o.is_open))
        for oid in actions.cancel:
            engine.cancel(oid, reason=f"risk: {change.current.value} ({change.reason.value})")
        if actions.flatten and engine.ledger.position != 0:
            engine.ctx.close(tag="risk_flatten")

    def _trail(self, engine: BacktestEngine, i: int) -> None:
        high = int(engine.high_t[i])
        low = int(engine.low_t[i])
        atr = self._atr_ticks(i)
        for order in list(engine.orders):  # moving a stop adds its next generation
            if order.parent_id is None or order.order_type is not OrderType.STOP \
                    or order.status not in (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED) \
                    or order.stop_ticks is None:
                continue
            if order.created_index >= i:
                continue  # the entry filled during this bar: its high may predate the fill
            entry_side = Side.BUY if order.side is Side.SELL else Side.SELL
            moved = self.protections.trail(entry_side, order.stop_ticks, high, low, atr)
            if moved is not None:
                engine.move_exit(order, stop_ticks=moved, reason="trailing stop moved")

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
