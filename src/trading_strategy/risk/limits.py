"""Pre-trade limits: pure integer rules and the compiled form the gate evaluates.

Units: prices in ticks, sizes in lots, money in the engine's money units; ``k`` is the
instrument's value factor (money units per lot × tick), so ``n`` lots at ``p`` ticks are worth
``n × p × k``. Percentages are compiled to ppm (``_units``) and compared exactly:
``value ≤ pct % of equity`` is ``value × 1 000 000 ≤ ppm × equity``.

**Size caps** bound the strategy's position after the order, ``|q + order|`` in lots (``q``
the strategy's position in the symbol). A portfolio-wide cap adds up every strategy's
``|position|`` (hedges between strategies are not netted); only this strategy's term changes,
so it becomes a cap on ``|q + order|`` after the others' share. ``max_order_lots`` turns a cap
``M`` into the largest order allowed:

* an order in the direction of ``q`` (or from flat) may add up to ``M − |q|`` lots;
* an order against ``q`` may close it and open up to ``M`` lots the other way: ``|q| + max(M, 0)``.

So an order that only shrinks a position is never capped, even when the position is already
above the cap (after a price move or an equity drop): reducing risk is always allowed.

The caps (each ``None`` when its key is unset), with ``E`` the portfolio equity (a negative
equity counts as 0) and ``p`` the reference price:

* ``max_position_pct``: ``|q| × p × k ≤ pct % × E`` for the strategy's position with the
  strategy's value, and Σ over strategies of ``|position| × p × k ≤ pct % × E`` per symbol
  with the top-level value (so a strategy's own value can only tighten the portfolio's).
* ``max_strategy_exposure_pct``: the strategy's positions in all symbols together ≤ pct % × E.
* ``max_order_notional``: ``lots × p × k ≤ limit`` (any order that is not purely reducing).
* ``max_gross_exposure``: Σ over strategies and symbols of ``|position| × price × k`` ≤ limit.
* ``max_leverage``: gross exposure ≤ leverage × E.
* ``check_buying_power`` with ``initial_margin_pct``: gross exposure × margin % ≤ E, i.e. gross
  ≤ E × 100 / margin %. At 100 % (a cash account) positions may not exceed equity: for a
  long-only book that is exactly "a buy must be paid from cash". Commissions are not reserved.

**Rejections** (never resized): price collar, orders per minute, open orders, tradability,
market hours and trading state; see ``engine`` for the order in which rules run.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from decimal import Decimal

from trading_strategy.risk._units import NS_PER_MINUTE, PPM, money_to_units, pct_to_ppm
from trading_strategy.risk.settings import EffectiveRisk, RiskSettings


def max_order_lots(position: int, sign: int, cap_lots: int) -> int:
    """Largest order (lots, in direction ``sign``) that leaves ``|position + order| ≤ cap_lots``
    or only shrinks the position. May be <= 0: no order in that direction is allowed.

    E.g. cap 10: long 4 may buy 6 more or sell 14 (close 4, open 10 short); long 12 may buy
    -2 (nothing) and sell 22; cap -3 (already over by 3): long 4 may sell 4 only.
    """
    held = position if position >= 0 else -position
    if position * sign >= 0:  # adds to the position (or opens one)
        return cap_lots - held
    return held + (cap_lots if cap_lots > 0 else 0)


def position_cap_lots(equity: int, ppm: int, value_per_lot: int) -> int:
    """Most lots whose value ``lots × value_per_lot`` is within ``ppm`` of ``equity``:
    ``floor(E × ppm / (1 000 000 × value_per_lot))``, 0 when equity <= 0.

    E.g. E = 1 000 000, 10 % (100 000 ppm), 15 000 per lot: floor(100 000 / 15 000) = 6.
    """
    if equity <= 0:
        return 0
    return equity * ppm // (PPM * value_per_lot)


def exposure_cap_lots(cap_units: int, other_units: int, value_per_lot: int) -> int:
    """Most lots of one position when everything else already uses ``other_units`` of a money
    cap: ``floor((cap − other) / value_per_lot)`` (negative when already over the cap)."""
    return (cap_units - other_units) // value_per_lot


def outside_collar(limit_ticks: int, last_ticks: int, collar_ppm: int) -> bool:
    """Price collar (fat-finger guard): True when the limit price is further than the collar
    from the last price, ``|limit − last| × 1 000 000 > ppm × last``.

    E.g. last 10 000, 5 % collar: 10 500 passes (500 × 10⁶ = 5 % × 10 000 × 10⁶), 10 501 does
    not. Applies to limit prices only: stop prices are legitimately far from the market.
    """
    diff = limit_ticks - last_ticks
    if diff < 0:
        diff = -diff
    return diff * PPM > collar_ppm * last_ticks


def rate_exceeded(sent: deque[int], ts_ns: int) -> bool:
    """Orders per minute: True when the window ``(ts − 60 s, ts]`` already holds ``limit``
    sent orders. ``sent`` is a ``deque(maxlen=limit)`` of send times, oldest first, so it is
    full and its oldest entry is younger than 60 s exactly then.

    E.g. limit 3, sent at 0 s, 10 s, 20 s: refused at 59.9 s, allowed at 60 s.
    """
    return len(sent) == sent.maxlen and ts_ns - sent[0] < NS_PER_MINUTE


def _ppm(pct: float | None) -> int | None:
    return None if pct is None else pct_to_ppm(pct)


def _units(amount: Decimal | None, money_unit: Decimal) -> int | None:
    return None if amount is None else money_to_units(amount, money_unit)


@dataclass(frozen=True, slots=True)
class StrategyLimits:
    """One strategy's order limits as integers (``None``: off). Built once per strategy."""

    position_ppm: int | None
    exposure_ppm: int | None
    order_notional_units: int | None
    collar_ppm: int | None
    orders_per_minute: int | None
    max_open_orders: int | None
    tradable: frozenset[str] | None
    blocked: frozenset[str]

    @classmethod
    def compile(cls, eff: EffectiveRisk, money_unit: Decimal) -> StrategyLimits:
        return cls(
            position_ppm=_ppm(eff.max_position_pct),
            exposure_ppm=_ppm(eff.max_strategy_exposure_pct),
            order_notional_units=_units(eff.max_order_notional, money_unit),
            collar_ppm=_ppm(eff.price_collar_pct),
            orders_per_minute=eff.max_orders_per_minute,
            max_open_orders=eff.max_open_orders,
            tradable=None if eff.tradable_symbols is None else frozenset(eff.tradable_symbols),
            blocked=frozenset(eff.blocked_symbols),
        )

    def is_tradable(self, symbol: str) -> bool:
        if symbol in self.blocked:
            return False
        return self.tradable is None or symbol in self.tradable


@dataclass(frozen=True, slots=True)
class PortfolioLimits:
    """Portfolio-wide caps as integers (``None``: off)."""

    #: top-level ``max_position_pct``, applied per symbol to all strategies together
    symbol_position_ppm: int | None
    gross_units: int | None
    leverage_ppm: int | None
    #: ``initial_margin_pct`` in ppm when ``check_buying_power`` is on
    margin_ppm: int | None
    market_hours: bool
    resize_to_fit: bool
    #: any of gross_units, leverage_ppm, margin_ppm set
    has_gross_caps: bool = False

    @classmethod
    def compile(cls, settings: RiskSettings, money_unit: Decimal) -> PortfolioLimits:
        leverage = settings.max_leverage
        gross = _units(settings.max_gross_exposure, money_unit)
        leverage_ppm = None if leverage is None else pct_to_ppm(leverage * 100.0)
        margin = _ppm(settings.initial_margin_pct) if settings.check_buying_power else None
        return cls(
            symbol_position_ppm=_ppm(settings.max_position_pct),
            gross_units=gross,
            leverage_ppm=leverage_ppm,
            margin_ppm=margin,
            market_hours=settings.enforce_market_hours,
            resize_to_fit=settings.resize_to_fit,
            has_gross_caps=(gross, leverage_ppm, margin) != (None, None, None),
        )
