"""The simulated venue's matcher: one instrument's resting orders against one bar (pure).

The backtest engine and the paper venue both call it, so a backtest and a paper session of
the same bars fill at the same prices, sizes and times. Everything is integer: prices in
ticks, sizes in lots, money in units of tick × lot.

Per bar, the driver hands over the orders that are eligible on it (its latency rule) and the
matcher, in this order:

* **sorts** them: what executes at the open first, then stops before limits
  (``fills.PRIORITY``: a stop and a target inside one bar assume the stop), then the order
  the driver gave (oldest first; the sort is stable);
* per open order: **DAY** orders expire on the first bar of a later UTC day than their first
  eligible bar (``Order.first_day``, set by the driver or on the first bar seen);
  **triggering** and the price are ``fills.match``; an order that does not match and is
  **IOC** is cancelled;
* **slippage** (the bound ``SlippageFn``) moves market and stop fills away from the price;
  a fill never goes to zero or below;
* **sizes** the fill: a reduce-only order fills at most the opposite position (else it is
  cancelled, nothing left to reduce); an all-in order (``size_at_fill``) is sized on its
  first fill from the cash at the fill price, never above ``max_lots``; a buy the cash does
  not pay is **rejected** (an all-in buy takes what the cash pays; the rest of a partly
  filled order is cancelled instead, the venue having taken it); the driver's optional
  ``cap_fill`` (risk size caps) may cut it;
* caps it by **volume participation** (shared by the orders of one bar; what is left waits
  for the next bar, or is cancelled for IOC);
* hands the fill to the driver (``on_fill``), which books it and moves the order's status;
  an IOC order still open after its fill has its remainder cancelled.

**Which orders are eligible on a bar** is the driver's, by one rule in every mode: an order
decided at bar *t*'s close reaches the venue ``latency_ms`` later and is eligible from the
first bar opening at or after that, never before *t+1*. An entry's **attached exits**
(its stop-loss / take-profit and their replacements) sit at the venue with it, with no
latency: eligible from the next bar, or — when the entry filled at this bar's open — for the
rest of this bar, matched after the bar's other orders (the engine's fresh-exit pass; the
paper venue's second feed of the same bar, ``OrderRequest.parent_id``). Cancels take effect
at once, before the next bar is matched.

Status changes are the driver's (``on_close(order, status, reason)``), through
``kernel.order_states``: the matcher only decides. The account (``position`` in lots and
``cash`` in money units, e.g. the engine's ``Ledger``) is read at each fill, so a fill is
seen by the next order of the same bar.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Protocol

from trading_strategy.core.enums import OrderStatus, Side, TimeInForce
from trading_strategy.core.instrument import Instrument
from trading_strategy.core.orders import Order
from trading_strategy.kernel.costs import CommissionFn, SlippageFn
from trading_strategy.kernel.fills import (
    PRIORITY,
    buy_is_affordable,
    cash_after_cover,
    match,
    participation_cap,
    reduce_only_lots,
)
from trading_strategy.kernel.intents import affordable_lots, all_in_lots

__all__ = ["DAY_NS", "Account", "Matcher", "utc_day"]

DAY_NS = 86_400 * 1_000_000_000

_DAY = TimeInForce.DAY
_IOC = TimeInForce.IOC
_BUY = Side.BUY


def utc_day(ts: int) -> int:
    """The UTC day number of a nanosecond timestamp (the DAY time-in-force's day)."""
    return ts // DAY_NS


class Account(Protocol):
    """What the matcher reads of the account at a fill (one instrument's view)."""

    @property
    def position(self) -> int:
        """Signed position in lots."""
        ...

    @property
    def cash(self) -> int:
        """Cash in money units (tick × lot) of the instrument."""
        ...


#: (order, bar index, ts, lots, fill ticks, commission units, slippage units, taker, at open)
FillHandler = Callable[[Order, int, int, int, int, int, int, bool, bool], None]
#: (order, status, reason): the order leaves the book (cancelled, expired, rejected)
CloseHandler = Callable[[Order, OrderStatus, str], None]
#: (order, lots, fill ticks) -> lots the caps allow (<= 0: none; the handler closed the order
#: or leaves it for later)
CapHandler = Callable[[Order, int, int], int]


class Matcher:
    """One instrument's matcher, bound to its costs, account and driver callbacks."""

    __slots__ = ("_cap_fill", "_on_close", "_on_fill", "_used", "account", "commission",
                 "lot_size", "slippage", "volume_participation")

    def __init__(self, instrument: Instrument, account: Account, *, commission: CommissionFn,
                 slippage: SlippageFn, volume_participation: Decimal | None,
                 on_fill: FillHandler, on_close: CloseHandler,
                 cap_fill: CapHandler | None = None) -> None:
        self.account = account
        self.commission = commission
        self.slippage = slippage
        self.volume_participation = volume_participation
        self.lot_size = instrument.lot_size
        self._on_fill = on_fill
        self._on_close = on_close
        self._cap_fill = cap_fill
        #: (ts of the bar, lots filled in it): the volume cap is shared within one bar
        self._used = (-1, 0)

    @property
    def volume_used(self) -> tuple[int, int]:
        """(ts of the last bar with a capped fill, lots filled in it)."""
        return self._used

    @volume_used.setter
    def volume_used(self, value: tuple[int, int]) -> None:
        self._used = value

    def match(self, orders: list[Order], i: int, ts: int, o: int, h: int, l: int,  # noqa: E741
              volume: float) -> None:
        """Match ``orders`` (eligible on this bar, oldest first) against the bar ``i``
        (``o``/``h``/``l`` in ticks, ``volume`` in units); sorts ``orders`` in place."""
        if len(orders) > 1:
            def key(order: Order) -> tuple[int, int]:
                sign = 1 if order.side is _BUY else -1
                price = match(order.order_type, sign, order.limit_ticks, order.stop_ticks,
                              order.triggered, o, h, l)[0]
                return (0 if price == o else 1, PRIORITY[order.order_type])

            orders.sort(key=key)
        for order in orders:
            if order.is_open:
                self.match_order(order, i, ts, o, h, l, volume)

    def match_order(self, order: Order, i: int, ts: int, o: int, h: int,
                    l: int, volume: float) -> None:  # noqa: E741
        """Match one open, eligible order against the bar (see the module docstring)."""
        tif = order.tif
        if tif is _DAY:
            day = ts // DAY_NS
            if order.first_day is None:
                order.first_day = day
            elif day != order.first_day:
                self._on_close(order, OrderStatus.EXPIRED, "DAY order expired")
                return
        sign = 1 if order.side is _BUY else -1
        price, order.triggered, taker = match(order.order_type, sign, order.limit_ticks,
                                              order.stop_ticks, order.triggered, o, h, l)
        if price is None:
            if tif is _IOC:
                self._on_close(order, OrderStatus.CANCELLED, "IOC: not filled on its first bar")
            return
        slip = self.slippage(sign, price, i) if taker else 0
        fill_t = price + sign * slip
        if fill_t <= 0:
            fill_t, slip = price, 0
        first = order.filled_lots == 0
        lots = self.fill_lots(order, sign, fill_t, first)
        if lots > 0 and self._cap_fill is not None and not order.reduce_only:
            lots = self._cap_fill(order, lots, fill_t)
            if lots <= 0:
                return
        if lots <= 0:
            if order.reduce_only:
                self._on_close(order, OrderStatus.CANCELLED, "nothing left to reduce")
            elif order.filled_lots:
                # the venue took part of it already: the rest is cancelled, not rejected
                self._on_close(order, OrderStatus.CANCELLED, "insufficient cash for the rest")
            else:
                self._on_close(order, OrderStatus.REJECTED, "insufficient cash")
            return
        vp = self.volume_participation
        if vp is not None:
            used_ts, used = self._used
            if used_ts != ts:
                used = 0
            lots = min(lots, participation_cap(volume, vp, self.lot_size) - used)
            if lots <= 0:
                if tif is _IOC:
                    self._on_close(order, OrderStatus.CANCELLED, "IOC: no volume left in the bar")
                return
            self._used = (ts, used + lots)
        self._on_fill(order, i, ts, lots, fill_t, self.commission(lots, fill_t, first),
                      slip * lots, taker, price == o)
        if tif is _IOC and order.is_open:
            self._on_close(order, OrderStatus.CANCELLED, "IOC: remainder cancelled")

    def fill_lots(self, order: Order, sign: int, fill_t: int, first: bool) -> int:
        """Lots of ``order`` the account lets fill at ``fill_t`` (0: none).

        Reduce-only: at most the opposite position. All-in (``size_at_fill``): sized on the
        first fill from the cash at the fill price (``order.lots`` becomes that size, never
        above ``max_lots``). A buy must be paid, commission included, from the cash left
        after covering a short; an all-in buy takes what the cash pays, any other is 0."""
        account = self.account
        lots = order.lots - order.filled_lots
        position = account.position
        if order.reduce_only:
            return reduce_only_lots(lots, position, sign)
        if order.size_at_fill and first:
            lots = all_in_lots(sign > 0, position, account.cash, fill_t, self.commission)
            if order.max_lots is not None:
                lots = min(lots, order.max_lots)
            order.lots = lots
        if sign > 0:
            cash = account.cash
            if not buy_is_affordable(lots, position, fill_t, cash,
                                     self.commission(lots, fill_t, first)):
                if not order.size_at_fill:
                    return 0
                covering = min(lots, -position) if position < 0 else 0
                left = cash_after_cover(lots, position, fill_t, cash)
                return covering + affordable_lots(left, fill_t, self.commission)
        return lots
