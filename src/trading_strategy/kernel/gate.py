"""The pre-trade decision on one order, for every driver (backtest gate and live execution).

Given a small read-only view of the strategy (booked position, working orders, equity, the
decision price, the ATR, its closed trades) the gate:

1. projects the position as if the working orders had filled (``projected_position``): a
   close followed by a sell is an entry, not a reduction;
2. refuses an entry while an ATR-based stop is configured and the ATR is still warming up
   (the entry would go out without the stop the settings promise: ``atr_warmup``);
3. sizes an entry by the strategy's ``sizing_method`` (``RiskEngine.size_entry``: fraction,
   volatility target with the fixed or ATR stop distance, Kelly from the closed trades);
   only then is an order of zero lots refused (``zero_size``): a sizing method replaces
   the strategy's quantity, however small;
4. applies the driver's own-capital rules when the view asks for them: with
   ``check_buying_power`` a buy opening or growing a long must be paid from the strategy's
   own cash at the decision price (every driver passes it, so a backtest and a session deny
   the same orders); a session clips reduce-only to the strategy's booked position;
5. asks ``RiskEngine.check`` with the projected position in the account view.

The answer is ``GateDecision``: lots to place (possibly resized) with the verdict, or ``None``
with a denial code and message. Pure: the account view is borrowed and restored.

**All-in size is a cap only under a size limit.** An all-in order (``size_at_fill``) is sized
at the decision price; the simulated venue sizes it again from the cash at the fill price
(quote-quantity semantics). Its decided size caps that fill only when the gate resized it or
any position-size limit exists (``StrategyGate.caps_positions``); both drivers apply this.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from trading_strategy.core.enums import OrderType, Side
from trading_strategy.core.orders import OrderIntent
from trading_strategy.risk import (
    Account,
    RiskEngine,
    SizingRules,
    StopRules,
    Verdict,
    VerdictStatus,
)

#: enum members as module constants: read per order, and a class attribute costs more
_BUY = Side.BUY
_MARKET = OrderType.MARKET
_REJECTED = VerdictStatus.REJECTED
_RESIZED = VerdictStatus.RESIZED


class WorkingOrder(NamedTuple):
    """An order still working at the venue, as far as the projected position cares."""

    side: Side
    remaining_lots: int
    reduce_only: bool
    order_type: OrderType


class GateView(NamedTuple):
    """What the gate may read about the strategy when it decides (read-only; a tuple: one
    is built per order, cheaply)."""

    strategy: str
    symbol: str
    #: the booked position (lots) of the strategy in ``symbol``
    position: int
    working: Sequence[WorkingOrder]
    #: the strategy's equity marked at the decision price, in the risk engine's units
    equity_units: int
    #: the decision price (ticks); ``None`` when no price is known yet
    price_ticks: int | None
    atr_ticks: float | None = None
    #: returns of the strategy's closed trades, oldest first (Kelly sizing)
    closed_returns: Sequence[float] = ()
    #: a session's strategy trades within its own cash: a buy that opens or grows a long
    #: must be paid from it at the decision price (``None``: the venue checks at the fill)
    cash_units: int | None = None
    #: clip reduce-only orders to the strategy's booked position (a session, where other
    #: strategies may trade the same symbol at the venue)
    clip_reduce_only: bool = False


class GateDecision(NamedTuple):
    """``lots`` to place (``None``: denied) with a code (``accepted``, ``resized:<reason>`` or
    the denial's), the message, the intent as sized and the risk engine's verdict (``None``
    when denied before the risk engine was asked)."""

    lots: int | None
    code: str
    message: str
    intent: OrderIntent
    verdict: Verdict | None = None

    @property
    def denied(self) -> bool:
        return self.lots is None


def projected_position(position: int, working: Sequence[WorkingOrder]) -> int:
    """The position once the working orders have filled: every entry (for the caps, as if
    it filled) and every reduce-only *market* order (certain to fill), but not the
    contingent exits — a stop-loss waiting below the price reduces nothing yet."""
    for order in working:
        if order.reduce_only and order.order_type is not _MARKET:
            continue
        sign = 1 if order.side is _BUY else -1
        lots = order.remaining_lots
        if order.reduce_only:
            lots = min(lots, abs(position)) if position * sign < 0 else 0
        position += sign * lots
    return position


def increases(position: int, side: Side) -> bool:
    """Whether an order on ``side`` opens or grows ``position`` (a flat position grows)."""
    return position == 0 or (position > 0) == (side is _BUY)


class StrategyGate:
    """One strategy's pre-trade rules, resolved once from the risk engine's settings."""

    __slots__ = ("_cash_account", "_needs_atr", "_sizes", "caps_positions", "risk", "sizing",
                 "stops", "strategy")

    def __init__(self, risk: RiskEngine, strategy: str) -> None:
        self.risk = risk
        self.strategy = strategy
        self.stops: StopRules = risk.stop_rules(strategy)
        self.sizing: SizingRules = risk.sizing_rules(strategy)
        # read once: ``decide`` runs per order, and the rules are fixed for the gate's life
        self._needs_atr: bool = self.stops.needs_atr
        #: a sizing method replaces the strategy's quantity on entries
        self._sizes: bool = self.sizing.method != "strategy"
        top = risk.settings
        #: buying power is checked: a buy that opens or grows a long must be paid from the
        #: strategy's own cash at the decision price (both drivers pass that cash)
        self._cash_account = top.check_buying_power
        caps = ("max_position_pct", "max_strategy_exposure_pct", "max_order_notional")
        #: any limit on a position's size: an all-in order's decided size is then its cap
        self.caps_positions: bool = any(
            getattr(e, key, None) is not None
            for e in (risk.settings_for(None), risk.settings_for(strategy)) for key in caps) \
            or top.max_gross_exposure is not None or top.max_leverage is not None

    @property
    def needs_returns(self) -> bool:
        """Whether the view must carry the closed trades' returns (Kelly sizing)."""
        return self.sizing.method == "kelly"

    def decide(self, intent: OrderIntent, view: GateView, account: Account, ts_ns: int, *,
               session_open: bool | None = None) -> GateDecision:
        """The decision on ``intent`` at ``ts_ns`` (see the module docstring).

        ``account`` must hold the equity the caps are judged against, the last prices and
        the other strategies' positions; the gate sets this strategy's open-order count and,
        for the check only, its projected position (the booked one is put back)."""
        working = view.working
        position = projected_position(view.position, working) if working else view.position
        entry = not intent.reduce_only and increases(position, intent.side)
        if entry and self._needs_atr and view.atr_ticks is None:
            return GateDecision(None, "atr_warmup", "an ATR-based stop is configured and the "
                                "ATR is not available yet: the entry would go out unprotected",
                                intent)
        if entry and self._sizes:
            price = view.price_ticks
            if not price:
                return GateDecision(None, "no_price", "no price to size the entry at yet",
                                    intent)
            sized = self.risk.size_entry(intent, view.equity_units, price,
                                         atr_ticks=view.atr_ticks,
                                         trade_returns=view.closed_returns)
            if sized.lots <= 0:
                return GateDecision(None, "zero_size", sized.note, intent)
            intent = intent._replace(lots=sized.lots)
        if intent.lots <= 0:
            return GateDecision(None, "zero_size", "order size rounds to zero lots", intent)
        booked = view.position
        sign = 1 if intent.side is _BUY else -1
        if intent.reduce_only and view.clip_reduce_only:
            lots = min(intent.lots, abs(booked)) if booked * sign < 0 else 0
            if lots <= 0:
                return GateDecision(None, "reduce_only",
                                    "reduce-only: the strategy has nothing to reduce", intent)
            intent = intent._replace(lots=lots)
        elif view.cash_units is not None and self._cash_account and sign > 0 and booked >= 0 \
                and not intent.reduce_only and intent.decision_ticks \
                and intent.lots * intent.decision_ticks > view.cash_units:
            return GateDecision(None, "insufficient_cash",
                                "insufficient cash in the strategy's allocation", intent)
        account.set_open_orders(self.strategy, len(working))
        account.set_position(self.strategy, view.symbol, position)
        if position == booked:  # nothing to put back (no working orders: the usual case)
            verdict = self.risk.check(intent, account, ts_ns, session_open=session_open)
        else:
            try:
                verdict = self.risk.check(intent, account, ts_ns, session_open=session_open)
            finally:
                account.set_position(self.strategy, view.symbol, booked)
        if verdict.status is _REJECTED:
            code = verdict.reason.value if verdict.reason is not None else "rejected"
            return GateDecision(None, code, verdict.message, intent, verdict)
        code = "accepted"
        if verdict.status is _RESIZED:
            code = f"resized:{verdict.reason.value}" if verdict.reason is not None else "resized"
        return GateDecision(verdict.lots, code, verdict.message, intent, verdict)
