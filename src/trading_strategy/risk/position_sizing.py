"""Position sizing: how many lots an entry should be (pure integer maths).

Inputs are the gate's integer units: equity in money units, prices and stop distances in ticks,
and ``value_factor`` = money units per (lot × tick) of the instrument (1 when the account's
money unit is the instrument's own tick × lot; see ``RiskEngine.value_factor``). The value of
``n`` lots at ``p`` ticks is ``n × p × value_factor`` money units.

Every result is rounded *down* to whole lots, so a size never risks more than asked. A result of
0 means "do not trade": submit nothing, or let the gate refuse the 0-lot intent with reason
``zero_size`` so the refusal is visible. Degenerate inputs (equity <= 0, price <= 0, a stop
distance <= 0, a non-positive Kelly edge) give 0 rather than an exception.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from trading_strategy.core.instrument import Instrument
from trading_strategy.risk._units import PPM, pct_to_ppm
from trading_strategy.risk.settings import EffectiveRisk, SizingMethod


def size_fixed_quantity(quantity: Decimal, instrument: Instrument) -> int:
    """``quantity`` units of the instrument as lots: ``floor(quantity / lot_size)``."""
    return max(instrument.to_lots(quantity), 0)


def size_fixed_fraction(
    *, equity_units: int, price_ticks: int, fraction_pct: float, value_factor: int = 1
) -> int:
    """Lots whose value is at most ``fraction_pct`` % of equity.

    ``lots = floor(equity × pct / 100 / (price × value_factor))``; e.g. equity 1 000 000, 10 %,
    price 15 000 ticks: ``floor(100 000 / 15 000) = 6``.
    """
    if equity_units <= 0 or price_ticks <= 0:
        return 0
    return equity_units * pct_to_ppm(fraction_pct) // (PPM * price_ticks * value_factor)


def size_volatility_target(
    *, equity_units: int, stop_distance_ticks: int, risk_pct: float, value_factor: int = 1
) -> int:
    """Lots such that being stopped out loses at most ``risk_pct`` % of equity.

    Each lot loses ``stop_distance × value_factor`` money units at the stop, so
    ``lots = floor(equity × pct / 100 / (distance × value_factor))``; e.g. equity 1 000 000,
    1 %, stop 250 ticks away: ``floor(10 000 / 250) = 40``. The distance comes from an ATR
    multiple or a price stop (``stop_loss``): size after computing the stop, with
    ``abs(entry - stop)``. The position value is not capped here; the gate's limits do that.
    """
    if equity_units <= 0 or stop_distance_ticks <= 0:
        return 0
    return equity_units * pct_to_ppm(risk_pct) // (PPM * stop_distance_ticks * value_factor)


def kelly_fraction(win_rate: float, payoff_ratio: float) -> float:
    """Full Kelly fraction ``f* = p − (1 − p) / b`` (``b`` = average win / average loss)."""
    if not (0.0 <= win_rate <= 1.0) or not payoff_ratio > 0 or not math.isfinite(payoff_ratio):
        return 0.0
    return win_rate - (1.0 - win_rate) / payoff_ratio


def size_kelly(
    *,
    equity_units: int,
    price_ticks: int,
    win_rate: float,
    payoff_ratio: float,
    fraction: float,
    max_pct: float,
    value_factor: int = 1,
) -> int:
    """Fractional Kelly with a cap: position value = ``min(f* × fraction, max_pct / 100)`` of
    equity, ``f*`` from ``kelly_fraction``; 0 when the edge is not positive.

    E.g. p = 0.55, b = 1.5: f* = 0.55 − 0.45 / 1.5 = 0.25; half Kelly 0.125; capped at 10 % →
    0.10; equity 1 000 000 at 20 000 ticks: ``floor(100 000 / 20 000) = 5`` lots. ``win_rate`` and
    ``payoff_ratio`` are the caller's estimates (floats: statistics, not money).
    """
    full = kelly_fraction(win_rate, payoff_ratio)
    if full <= 0 or equity_units <= 0 or price_ticks <= 0:
        return 0
    ppm = min(int(full * fraction * PPM), pct_to_ppm(max_pct))
    return equity_units * ppm // (PPM * price_ticks * value_factor)


@dataclass(frozen=True, slots=True)
class SizingRules:
    """One strategy's sizing settings, ready to apply."""

    method: SizingMethod
    fixed_quantity: Decimal | None = None
    fixed_fraction_pct: float | None = None
    risk_per_trade_pct: float | None = None
    kelly_fraction: float | None = None
    kelly_max_pct: float | None = None

    @classmethod
    def from_settings(cls, eff: EffectiveRisk) -> SizingRules:
        return cls(
            eff.sizing_method,
            eff.fixed_quantity,
            eff.fixed_fraction_pct,
            eff.risk_per_trade_pct,
            eff.kelly_fraction,
            eff.kelly_max_pct,
        )


@dataclass(frozen=True, slots=True)
class SizeResult:
    """Lots to trade, and when 0, why (a sentence for the rejection event)."""

    lots: int
    note: str = ""


def size_order(
    rules: SizingRules,
    *,
    instrument: Instrument,
    equity_units: int,
    price_ticks: int,
    requested_lots: int | None = None,
    stop_distance_ticks: int | None = None,
    win_rate: float | None = None,
    payoff_ratio: float | None = None,
    value_factor: int = 1,
) -> SizeResult:
    """Apply the configured method. ``strategy`` keeps ``requested_lots`` (the strategy's own
    size). Missing inputs a method needs give 0 lots with a note saying which."""
    method = rules.method
    if method == "strategy":
        lots = max(requested_lots or 0, 0)
        return SizeResult(lots, "" if lots else "the strategy asked for 0 lots")
    if method == "fixed_quantity":
        assert rules.fixed_quantity is not None  # settings validation guarantees it
        lots = size_fixed_quantity(rules.fixed_quantity, instrument)
    elif method == "fixed_fraction":
        assert rules.fixed_fraction_pct is not None
        lots = size_fixed_fraction(equity_units=equity_units, price_ticks=price_ticks,
                                   fraction_pct=rules.fixed_fraction_pct,
                                   value_factor=value_factor)
    elif method == "volatility_target":
        assert rules.risk_per_trade_pct is not None
        if stop_distance_ticks is None:
            return SizeResult(0, "volatility_target sizing needs a stop distance (no stop yet)")
        lots = size_volatility_target(equity_units=equity_units,
                                      stop_distance_ticks=stop_distance_ticks,
                                      risk_pct=rules.risk_per_trade_pct,
                                      value_factor=value_factor)
    else:  # kelly
        assert rules.kelly_fraction is not None and rules.kelly_max_pct is not None
        if win_rate is None or payoff_ratio is None:
            return SizeResult(0, "kelly sizing needs a win rate and a payoff ratio")
        lots = size_kelly(equity_units=equity_units, price_ticks=price_ticks,
                          win_rate=win_rate, payoff_ratio=payoff_ratio,
                          fraction=rules.kelly_fraction, max_pct=rules.kelly_max_pct,
                          value_factor=value_factor)
    note = "" if lots else f"{method} sizing rounds down to 0 lots at this equity and price"
    return SizeResult(lots, note)
