"""What the risk gate answers, and the trading-state events it emits.

A ``Verdict`` is the gate's answer to one ``OrderIntent``: accepted as asked, resized to fewer
lots, or rejected. Resizes and rejections carry a machine-readable ``ReasonCode`` (reports count
them by it) and a human sentence naming the rule and the numbers.

A ``TradingStateChange`` records one move of a scope (a strategy, or the whole portfolio when
``scope is None``) between ACTIVE, REDUCING and HALTED, with its reason, time and actor, and
tells the caller what to do about open orders and positions. The engine only returns these
objects; the caller logs and stores them (risk rules do no I/O).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class TradingState(StrEnum):
    """What a scope may trade.

    * ACTIVE: every order that passes the limits.
    * REDUCING: only orders that shrink an existing position (daily loss limit reached; lasts
      until the next trading-day boundary).
    * HALTED: only orders that shrink an existing position, until an operator re-arms it
      (max drawdown reached).
    """

    ACTIVE = "active"
    REDUCING = "reducing"
    HALTED = "halted"


class VerdictStatus(StrEnum):
    ACCEPTED = "accepted"
    RESIZED = "resized"
    REJECTED = "rejected"


class ReasonCode(StrEnum):
    """Why an order was resized or rejected (stable strings: reports and storage use them)."""

    UNKNOWN_INSTRUMENT = "unknown_instrument"
    NOT_TRADABLE = "not_tradable"
    ZERO_SIZE = "zero_size"
    REDUCE_ONLY = "reduce_only"
    MARKET_CLOSED = "market_closed"
    NO_PRICE = "no_price"
    PRICE_COLLAR = "price_collar"
    HALTED = "halted"
    REDUCING = "reducing"
    MAX_OPEN_ORDERS = "max_open_orders"
    ORDER_RATE = "order_rate"
    MAX_ORDER_NOTIONAL = "max_order_notional"
    MAX_POSITION = "max_position"
    MAX_STRATEGY_EXPOSURE = "max_strategy_exposure"
    MAX_GROSS_EXPOSURE = "max_gross_exposure"
    MAX_LEVERAGE = "max_leverage"
    INSUFFICIENT_MARGIN = "insufficient_margin"
    #: the feed marked the instrument's data stale: no new entries until it is restored
    DATA_STALE = "data_stale"


@dataclass(frozen=True, slots=True)
class Verdict:
    """The gate's answer. ``lots`` is what may be sent (0 when rejected)."""

    status: VerdictStatus
    lots: int
    reason: ReasonCode | None = None
    message: str = ""

    @property
    def allowed(self) -> bool:
        """True when the order (possibly resized) may go to the venue."""
        return self.status is not VerdictStatus.REJECTED

    def to_dict(self) -> dict[str, object]:
        return {
            "status": self.status.value,
            "lots": self.lots,
            "reason": None if self.reason is None else self.reason.value,
            "message": self.message,
        }


#: accepted verdicts by size: a verdict is frozen, and most orders are of a few sizes, so
#: each is made once rather than per order (bounded: sizes past it are made each time)
_ACCEPTED: dict[int, Verdict] = {}
_ACCEPTED_MAX = 4096


def accepted(lots: int) -> Verdict:
    verdict = _ACCEPTED.get(lots)
    if verdict is None:
        verdict = Verdict(VerdictStatus.ACCEPTED, lots)
        if len(_ACCEPTED) < _ACCEPTED_MAX:
            _ACCEPTED[lots] = verdict
    return verdict


def resized(lots: int, reason: ReasonCode, message: str) -> Verdict:
    return Verdict(VerdictStatus.RESIZED, lots, reason, message)


def rejected(reason: ReasonCode, message: str) -> Verdict:
    return Verdict(VerdictStatus.REJECTED, 0, reason, message)


class StateReason(StrEnum):
    DAILY_LOSS = "daily_loss"
    DRAWDOWN = "drawdown"
    DAY_ROLLOVER = "day_rollover"
    REARM = "rearm"
    #: an operator pulled the kill switch (the dashboard's Halt)
    OPERATOR = "operator"


#: the ``actor`` of transitions the engine makes by itself
ENGINE_ACTOR = "risk-engine"


@dataclass(frozen=True, slots=True)
class TradingStateChange:
    """One change of trading state, and what the caller must do about it.

    * ``cancel_entry_orders``: cancel every open order that would grow a position if filled
      (entries; not reduce-only orders nor the stop-loss/take-profit exits of a bracket).
    * ``cancel_exit_orders``: also cancel the exits (set only together with ``flatten``: a
      halt without flattening keeps the protective stops of the positions it leaves open).
    * ``flatten``: close every position of the scope with market orders.

    ``equity_units`` and ``threshold_units`` are the equity that triggered the change and the
    reference it was measured against (start-of-day equity, or the equity peak), in the
    engine's money units.
    """

    scope: str | None
    previous: TradingState
    current: TradingState
    reason: StateReason
    message: str
    ts_ns: int
    actor: str = ENGINE_ACTOR
    cancel_entry_orders: bool = False
    cancel_exit_orders: bool = False
    flatten: bool = False
    equity_units: int | None = None
    threshold_units: int | None = None

    @property
    def scope_label(self) -> str:
        return "portfolio" if self.scope is None else f"strategy {self.scope}"

    def to_dict(self) -> dict[str, object]:
        return {
            "scope": self.scope,
            "previous": self.previous.value,
            "current": self.current.value,
            "reason": self.reason.value,
            "message": self.message,
            "ts_ns": self.ts_ns,
            "actor": self.actor,
            "cancel_entry_orders": self.cancel_entry_orders,
            "cancel_exit_orders": self.cancel_exit_orders,
            "flatten": self.flatten,
            "equity_units": self.equity_units,
            "threshold_units": self.threshold_units,
        }
