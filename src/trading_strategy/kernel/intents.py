"""Turning a strategy's order call into exact ticks and lots (pure, shared by every driver).

Quantities are rounded *down* to the lot size (never over-size); prices to the nearest tick.
A strategy's programming mistakes (no limit price on a limit order, a negative quantity, a
NaN price) raise ``ValueError``, which the framework reports as that strategy's error.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal

from trading_strategy.core.enums import OrderType
from trading_strategy.core.instrument import Instrument
from trading_strategy.core.orders import Bracket

Number = float | int | Decimal


def price_ticks(instrument: Instrument, name: str, price: Number | None) -> int | None:
    if price is None:
        return None
    if isinstance(price, float) and not math.isfinite(price):
        raise ValueError(f"{name} price must be finite, got {price}")
    ticks = instrument.to_ticks(price if isinstance(price, float) else Decimal(price))
    if ticks <= 0:
        raise ValueError(f"{name} price must be > 0, got {price}")
    return ticks


def quantity_lots(instrument: Instrument, quantity: Number) -> int:
    if type(quantity) is int and instrument.lot_size == 1:
        if quantity < 0:
            raise ValueError(f"order quantity must be >= 0, got {quantity}")
        return quantity
    q = Decimal(repr(quantity)) if isinstance(quantity, float) else Decimal(quantity)
    if not q.is_finite() or q < 0:
        raise ValueError(f"order quantity must be a finite number >= 0, got {quantity}")
    return instrument.to_lots(q)


def order_prices(
    instrument: Instrument,
    order_type: OrderType,
    *,
    limit: Number | None,
    stop: Number | None,
    stop_loss: Number | None,
    take_profit: Number | None,
) -> tuple[int | None, int | None, Bracket | None]:
    """(limit ticks, stop ticks, bracket) checked against the order type."""
    limit_t = price_ticks(instrument, "limit", limit)
    stop_t = price_ticks(instrument, "stop", stop)
    if order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT) and limit_t is None:
        raise ValueError(f"{order_type.value} order needs a limit price")
    if order_type in (OrderType.STOP, OrderType.STOP_LIMIT) and stop_t is None:
        raise ValueError(f"{order_type.value} order needs a stop price")
    bracket = None
    if stop_loss is not None or take_profit is not None:
        bracket = Bracket(price_ticks(instrument, "stop_loss", stop_loss),
                          price_ticks(instrument, "take_profit", take_profit))
    return limit_t, stop_t, bracket


def affordable_lots(budget: int, price_ticks: int,
                    commission: Callable[[int, int, bool], int]) -> int:
    """Most whole lots whose cost plus commission fits ``budget`` (all money units)."""
    if budget <= 0 or price_ticks <= 0:
        return 0
    lots = budget // price_ticks
    for _ in range(4):  # converges in one or two steps for the commission models we ship
        if lots * price_ticks + commission(lots, price_ticks, True) <= budget:
            break
        lots = max(0, (budget - commission(lots, price_ticks, True)) // price_ticks)
    while lots > 0 and lots * price_ticks + commission(lots, price_ticks, True) > budget:
        lots -= 1
    return lots


def all_in_lots(buy: bool, position: int, cash: int, price_ticks: int,
                commission: Callable[[int, int, bool], int]) -> int:
    """The all-in size at ``price_ticks``: an opposite position is closed first (its size);
    otherwise what cash pays for a long, or equity marked at that price for a short."""
    if position and (position > 0) != buy:
        return abs(position)
    budget = cash if buy else cash + position * price_ticks
    return affordable_lots(budget, price_ticks, commission)
