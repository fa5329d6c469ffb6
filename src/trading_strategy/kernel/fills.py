"""Fill rules: when and at what price an order executes against a bar (pure).

All prices are integer ticks. ``o, h, l`` are the bar's open, high and low.

* An order decided on bar *t* is eligible from bar *t + latency* (1 by default); intraday
  runs may give the latency in milliseconds instead (see ``eligible_index``).
* **Market** orders fill at the eligible bar's open.
* **Limit** buy at L: the open if ``o <= L`` (the price gapped through: the better price),
  else L if ``l <= L``. Sells mirror this. Limit fills get no slippage.
* **Stop** buy at S: the open if ``o >= S`` (gap through the stop), else S if ``h >= S``.
  A triggered stop is a market order, so slippage applies. Sells mirror this.
* **Stop-limit** buy (S, L): triggers as a stop; once triggered it is a limit at L. Triggered
  at the open it fills at the open when ``o <= L``, else at L if ``l <= L``. Triggered
  intrabar at S it fills at S when ``S <= L``; when ``L < S`` the price would have to come
  back after touching S, which OHLC cannot tell, so it stays open (triggered) for the next bar.
* Within one bar, orders are matched market first, then stops, then limits, so when both the
  stop-loss and the take-profit of a bracket lie inside one bar the **stop is assumed to
  execute first** (pessimistic) and the take-profit is cancelled with it.
"""

from __future__ import annotations

from decimal import Decimal

from trading_strategy.core.enums import OrderType

#: enum members as module constants (``match`` runs per order per bar)
_MARKET = OrderType.MARKET
_LIMIT = OrderType.LIMIT
_STOP = OrderType.STOP

#: matching order within one bar: market, stops, then limits (pessimistic for brackets)
PRIORITY = {
    OrderType.MARKET: 0,
    OrderType.STOP: 1,
    OrderType.STOP_LIMIT: 1,
    OrderType.LIMIT: 2,
}


def limit_price(sign: int, limit: int, o: int, h: int, l: int) -> int | None:  # noqa: E741
    if sign > 0:
        if o <= limit:
            return o
        return limit if l <= limit else None
    if o >= limit:
        return o
    return limit if h >= limit else None


def stop_trigger(sign: int, stop: int, o: int, h: int, l: int) -> int | None:  # noqa: E741
    """The price at which a stop triggers in this bar, or None."""
    if sign > 0:
        if o >= stop:
            return o
        return stop if h >= stop else None
    if o <= stop:
        return o
    return stop if l <= stop else None


def match(
    order_type: OrderType,
    sign: int,
    limit: int | None,
    stop: int | None,
    triggered: bool,
    o: int,
    h: int,
    l: int,  # noqa: E741
) -> tuple[int | None, bool, bool]:
    """Match one order against one bar.

    Returns ``(price, triggered, taker)``: the fill price in ticks or None, whether a stop
    has triggered (so it survives into the next bar as a limit or market order), and whether
    the fill took liquidity (market-like: slippage applies).
    """
    if order_type is _MARKET:
        return o, triggered, True
    if order_type is _LIMIT:
        assert limit is not None
        return limit_price(sign, limit, o, h, l), triggered, False
    assert stop is not None
    if order_type is _STOP:
        if triggered:
            return o, True, True
        price = stop_trigger(sign, stop, o, h, l)
        return price, price is not None, True
    # stop-limit
    assert limit is not None
    if triggered:
        return limit_price(sign, limit, o, h, l), True, False
    trigger = stop_trigger(sign, stop, o, h, l)
    if trigger is None:
        return None, False, False
    if trigger == o:
        return limit_price(sign, limit, o, h, l), True, False
    marketable = trigger <= limit if sign > 0 else trigger >= limit
    return (trigger if marketable else None), True, False


def participation_cap(volume: float, fraction: Decimal, lot_size: Decimal) -> int:
    """Most lots one bar can fill under a volume participation cap (exact, rounded down)."""
    return int(Decimal(repr(volume)) * fraction / lot_size)


def reduce_only_lots(lots: int, position: int, sign: int) -> int:
    """Lots a reduce-only order may fill: at most the opposite position, never a flip."""
    return min(lots, abs(position)) if position * sign < 0 else 0


def cash_after_cover(lots: int, position: int, fill_ticks: int, cash_units: int) -> int:
    """Cash left for the opening part of a buy once the short it covers is bought back."""
    covering = min(lots, -position) if position < 0 else 0
    return cash_units - covering * fill_ticks


def buy_is_affordable(lots: int, position: int, fill_ticks: int, cash_units: int,
                      commission_units: int) -> bool:
    """The cash rule for buys (sells are not limited: shorting is allowed).

    Covering a short is always allowed; the lots that open or add to a long must be paid,
    commission included, from the cash left after covering. Money in units of tick × lot.
    """
    covering = min(lots, -position) if position < 0 else 0
    opening = lots - covering
    left = cash_units - covering * fill_ticks
    return not opening or opening * fill_ticks + commission_units <= left
