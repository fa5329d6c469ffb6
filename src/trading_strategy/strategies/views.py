"""Frozen, read-only snapshots of the strategy's orders, position and trades.

``Context.open_orders``, ``Context.position_view`` and ``Context.closed_trades`` hand a
strategy these views, never the engine's own objects: an order is changed only by the engine
applying events (habit 3 of the architecture notes), so a strategy must not be able to
write ``order.lots = 0`` and change what the venue sees. Assigning a field raises
``dataclasses.FrozenInstanceError`` (an ``AttributeError``). A view is a snapshot: it does
not follow the order afterwards; read the property again for the current state.

Numbers come twice. The float fields (``quantity``, ``limit``, ``entry_price``, ``pnl``,
...) are for decision maths with prices and indicators, which are floats; each is the
nearest float to the exact value. The integer fields (``lots``, ``limit_ticks``, ...) are
the exact values the engine keeps, in lots and ticks of the instrument:
``ctx.instrument.quantity(view.lots)`` and ``ctx.instrument.price(view.limit_ticks)`` give
them as ``Decimal``. Both drivers (backtest and live session) build the views from the same
integers, so a replayed session and its backtest give equal views.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from trading_strategy.core.enums import OPEN_STATUSES, OrderStatus, OrderType, Side, TimeInForce
from trading_strategy.core.instrument import Instrument
from trading_strategy.core.orders import Order

__all__ = ["ExactFloat", "OrderView", "PositionView", "TradeView"]


class ExactFloat:
    """Integer ticks, lots or money units of one instrument → the nearest float.

    ``n * tick_size`` computed as ``n * p / q`` on integers (``tick_size == p / q``): Python
    rounds an integer division correctly, so the result is ``float(Decimal)`` of the exact
    value, without building a ``Decimal`` per call (``ctx.equity`` is read every bar).
    """

    __slots__ = ("_lot", "_money", "_tick")

    def __init__(self, instrument: Instrument) -> None:
        self._tick = instrument.tick_size.as_integer_ratio()
        self._lot = instrument.lot_size.as_integer_ratio()
        self._money = instrument.money_unit.as_integer_ratio()

    def price(self, ticks: int) -> float:
        p, q = self._tick
        return ticks * p / q

    def quantity(self, lots: int) -> float:
        p, q = self._lot
        return lots * p / q

    def money(self, units: int) -> float:
        p, q = self._money
        return units * p / q

    def average_price(self, value: int, lots: int) -> float:
        """The price of ``value`` (a sum of lots × ticks) over ``lots``: an average fill."""
        p, q = self._tick
        return value * p / (lots * q)


@dataclass(frozen=True, slots=True)
class OrderView:
    """One of the strategy's orders as it stood when the view was taken (frozen).

    ```python
    for order in ctx.open_orders:
        if order.tag == "entry" and order.limit is not None and order.limit < close * 0.95:
            ctx.cancel(order.id)
    ```
    """

    id: str
    """The order's id: what ``buy``, ``sell`` or ``submit_order`` returned, or ``<entry
    id>-sl`` / ``-tp`` for an exit the engine placed for an entry."""
    side: Side
    """``Side.BUY`` or ``Side.SELL``."""
    order_type: OrderType
    """``market``, ``limit``, ``stop`` or ``stop_limit``."""
    status: OrderStatus
    """Its status when the view was taken (``accepted``, ``partially_filled``, ...)."""
    tif: TimeInForce
    """Its time in force (``GTC``, ``DAY``, ``IOC``)."""
    quantity: float
    """Ordered quantity in units of the instrument (lots × lot size); for an all-in order
    (placed without a quantity) the most it may fill, sized at the decision price."""
    filled: float
    """Quantity executed so far, in units of the instrument."""
    remaining: float
    """Quantity still to execute (``quantity`` less ``filled``), in units of the
    instrument."""
    limit: float | None
    """Limit price (``None`` for market and stop orders)."""
    stop: float | None
    """Stop (trigger) price (``None`` for market and limit orders)."""
    stop_loss: float | None
    """The protective stop attached to this entry, if any (its exit order has its own
    view once the entry fills, with ``parent_id`` set to this order's id)."""
    take_profit: float | None
    """The target attached to this entry, if any."""
    reduce_only: bool
    """True when the order may only shrink the position (``close``, attached exits)."""
    tag: str
    """The strategy's label given at ``buy``/``sell``/``submit_order`` (``"close"`` for
    ``close``; the risk rules tag their closes ``"risk_flatten"``, ``"time_exit"``)."""
    parent_id: str | None
    """The entry's id for an exit placed for it (stop loss, take profit, a trailing stop's
    next generation); ``None`` for the strategy's own orders."""
    lots: int
    """``quantity`` exactly, in lots of the instrument."""
    filled_lots: int
    """``filled`` exactly, in lots."""
    limit_ticks: int | None
    """``limit`` exactly, in ticks of the instrument (``None`` without a limit)."""
    stop_ticks: int | None
    """``stop`` exactly, in ticks (``None`` without a stop)."""

    @property
    def is_open(self) -> bool:
        """True while it may still execute (not filled, cancelled, expired, rejected or
        denied) when the view was taken."""
        return self.status in OPEN_STATUSES

    @property
    def is_buy(self) -> bool:
        """True for a buy order."""
        return self.side is Side.BUY

    @classmethod
    def of(cls, order: Order, exact: ExactFloat) -> OrderView:
        """The view of an engine ``Order`` (the drivers' part; strategies get views)."""
        price = exact.price
        bracket = order.bracket
        sl = bracket.stop_loss if bracket is not None else None
        tp = bracket.take_profit if bracket is not None else None
        return cls(
            id=order.id, side=order.side, order_type=order.order_type, status=order.status,
            tif=order.tif, quantity=exact.quantity(order.lots),
            filled=exact.quantity(order.filled_lots),
            remaining=exact.quantity(order.lots - order.filled_lots),
            limit=None if order.limit_ticks is None else price(order.limit_ticks),
            stop=None if order.stop_ticks is None else price(order.stop_ticks),
            stop_loss=None if sl is None else price(sl),
            take_profit=None if tp is None else price(tp),
            reduce_only=order.reduce_only, tag=order.tag, parent_id=order.parent_id,
            lots=order.lots, filled_lots=order.filled_lots, limit_ticks=order.limit_ticks,
            stop_ticks=order.stop_ticks,
        )


class TradeRecordLike(Protocol):
    """What a view reads of a ledger's round trip (``portfolio.ledger.TradeRecord``; a
    protocol because the strategies layer does not import the portfolio layer)."""

    @property
    def direction(self) -> int: ...
    @property
    def entry_ts(self) -> int: ...
    @property
    def entry_lots(self) -> int: ...
    @property
    def entry_value(self) -> int: ...
    @property
    def exit_lots(self) -> int: ...
    @property
    def exit_value(self) -> int: ...
    @property
    def commission(self) -> int: ...
    @property
    def exit_ts(self) -> int | None: ...


class LedgerLike(Protocol):
    """What the views read of a strategy's ledger (``portfolio.ledger.Ledger``)."""

    @property
    def position(self) -> int: ...
    @property
    def open_trade(self) -> TradeRecordLike | None: ...
    @property
    def trades(self) -> Sequence[TradeRecordLike]: ...


@dataclass(frozen=True, slots=True)
class PositionView:
    """The strategy's position in its instrument when the view was taken (frozen).

    Flat: ``lots == 0``, ``quantity == 0.0``, ``entry_price`` and ``entry_ts`` ``None``,
    ``pnl == 0.0``.

    ```python
    pos = ctx.position_view
    if pos.is_long and ctx.bars.close[0] < pos.entry_price * 0.9:  # 10 % under the entry
        ctx.close()
    ```
    """

    symbol: str
    """The instrument's symbol."""
    lots: int
    """Signed position in lots (> 0 long, < 0 short): the exact ``quantity``."""
    quantity: float
    """Signed position in units of the instrument, as ``Context.position``."""
    entry_price: float | None
    """Average price of the fills that opened and grew the position (``None`` when
    flat); reducing a position leaves it unchanged."""
    entry_ts: int | None
    """When the position was opened (its first fill), UTC nanoseconds; ``None`` when flat."""
    pnl: float
    """The open position's profit or loss marked at the current bar's close, net of the
    commissions paid for it so far (its partial exits included)."""
    pnl_exact: Decimal
    """``pnl`` exactly, in the instrument's currency."""

    @property
    def is_long(self) -> bool:
        """True for a long position."""
        return self.lots > 0

    @property
    def is_short(self) -> bool:
        """True for a short position."""
        return self.lots < 0

    @property
    def is_flat(self) -> bool:
        """True without a position."""
        return self.lots == 0

    @classmethod
    def of(cls, instrument: Instrument, ledger: LedgerLike, mark_ticks: int,
           exact: ExactFloat) -> PositionView:
        """The view of a ledger's position marked at ``mark_ticks`` (the drivers' part)."""
        lots = ledger.position
        trade = ledger.open_trade
        if lots == 0 or trade is None:
            return cls(instrument.symbol, lots, exact.quantity(lots), None, None, 0.0,
                       Decimal(0))
        exit_value = trade.exit_value + (trade.entry_lots - trade.exit_lots) * mark_ticks
        units = trade.direction * (exit_value - trade.entry_value) - trade.commission
        return cls(instrument.symbol, lots, exact.quantity(lots),
                   exact.average_price(trade.entry_value, trade.entry_lots), trade.entry_ts,
                   exact.money(units), instrument.money(units))


@dataclass(frozen=True, slots=True)
class TradeView:
    """One closed round trip of the strategy, from flat to flat (frozen).

    A trade opens with the fill that leaves flat, grows with fills on its side and closes
    with the fill that brings the position back to zero; a fill that reverses the
    position closes one trade and opens the next (its commission split by lots).

    ```python
    last = ctx.closed_trades[-1] if ctx.closed_trades else None
    if last is not None and last.pnl < 0 and ctx.time_ns - last.exit_ts < 86_400 * 10**9:
        return  # no new entry within a day of a loss
    ```
    """

    direction: int
    """+1 for a long trade, -1 for a short one."""
    lots: int
    """Its size in lots: every lot it opened (all of them were closed)."""
    quantity: float
    """Its size in units of the instrument, unsigned."""
    entry_price: float
    """Average price of its entry fills."""
    exit_price: float
    """Average price of its exit fills."""
    entry_ts: int
    """Its first fill, UTC nanoseconds."""
    exit_ts: int
    """The fill that closed it, UTC nanoseconds."""
    pnl: float
    """Net profit or loss in the instrument's currency, commissions taken off."""
    commission: float
    """Commissions charged on its fills."""
    pnl_exact: Decimal
    """``pnl`` exactly."""

    @property
    def is_long(self) -> bool:
        """True for a long trade."""
        return self.direction > 0

    @property
    def pnl_pct(self) -> float:
        """``pnl`` as a percentage of the entry value (price × quantity)."""
        value = self.entry_price * self.quantity
        return 100.0 * self.pnl / value if value else 0.0

    @classmethod
    def of(cls, trade: TradeRecordLike, instrument: Instrument,
           exact: ExactFloat) -> TradeView:
        """The view of a closed ledger trade (the drivers' part)."""
        assert trade.exit_ts is not None, "an open trade has no trade view"
        units = trade.direction * (trade.exit_value - trade.entry_value) - trade.commission
        return cls(trade.direction, trade.entry_lots, exact.quantity(trade.entry_lots),
                   exact.average_price(trade.entry_value, trade.entry_lots),
                   exact.average_price(trade.exit_value, trade.exit_lots),
                   trade.entry_ts, trade.exit_ts, exact.money(units),
                   exact.money(trade.commission), instrument.money(units))


class ClosedTrades:
    """The closed trades of one ledger as views, built once each (only the last trade of a
    ledger can still be open, so the closed ones are a growing prefix of ``trades``)."""

    __slots__ = ("_exact", "_instrument", "_views")

    def __init__(self, instrument: Instrument, exact: ExactFloat) -> None:
        self._instrument = instrument
        self._exact = exact
        self._views: tuple[TradeView, ...] = ()

    def of(self, ledger: LedgerLike) -> tuple[TradeView, ...]:
        trades = ledger.trades
        k = len(self._views)
        if k < len(trades) and trades[k].exit_ts is not None:
            new = []
            while k < len(trades) and trades[k].exit_ts is not None:
                new.append(TradeView.of(trades[k], self._instrument, self._exact))
                k += 1
            self._views = (*self._views, *new)
        return self._views
