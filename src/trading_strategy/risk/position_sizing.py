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
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from trading_strategy.core.instrument import Instrument
from trading_strategy.risk._units import PPM, pct_to_ppm
from trading_strategy.risk.settings import KELLY_MIN_TRADES, EffectiveRisk, SizingMethod


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
    """Full Kelly fraction ``f* = p − (1 − p) / b`` (``b`` = average win / average loss).

    ``b`` infinite (no losing trade yet) is the limit ``f* = p``."""
    if not (0.0 <= win_rate <= 1.0) or not payoff_ratio > 0 or math.isnan(payoff_ratio):
        return 0.0
    if math.isinf(payoff_ratio):
        return win_rate
    return win_rate - (1.0 - win_rate) / payoff_ratio


def kelly_estimate(trade_returns: Sequence[float]) -> tuple[float, float]:
    """Win rate and payoff ratio of closed trades, from their returns (P&L / entry value, so
    trades of different sizes weigh alike): ``p = wins / trades`` (a win has a return > 0,
    as in the backtest metrics), ``b = mean winning return / mean |losing return|``; ``b`` is
    infinite with no losing trade and 1 with no winning one (then ``p = 0``: no edge anyway).

    E.g. returns +4 %, +2 %, −2 %, 0: p = 2 / 4 = 0.5, b = 3 % / 2 % = 1.5.
    """
    wins = [r for r in trade_returns if r > 0]
    losses = [-r for r in trade_returns if r < 0]
    if not trade_returns:
        raise ValueError("no closed trades to estimate from")
    p = len(wins) / len(trade_returns)
    if not losses:
        return p, math.inf
    if not wins:
        return p, 1.0
    return p, (sum(wins) / len(wins)) / (sum(losses) / len(losses))


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
    kelly_min_trades: int = KELLY_MIN_TRADES
    kelly_win_rate: float | None = None
    kelly_payoff_ratio: float | None = None

    @classmethod
    def from_settings(cls, eff: EffectiveRisk) -> SizingRules:
        return cls(
            eff.sizing_method,
            eff.fixed_quantity,
            eff.fixed_fraction_pct,
            eff.risk_per_trade_pct,
            eff.kelly_fraction,
            eff.kelly_max_pct,
            eff.kelly_min_trades,
            eff.kelly_win_rate,
            eff.kelly_payoff_ratio,
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
    trade_returns: Sequence[float] | None = None,
    value_factor: int = 1,
) -> SizeResult:
    """Apply the configured method. ``strategy`` keeps ``requested_lots`` (the strategy's own
    size). Missing inputs a method needs give 0 lots with a note saying which.

    ``kelly`` takes ``win_rate`` and ``payoff_ratio`` when given; otherwise it estimates them
    from ``trade_returns`` (the strategy's closed trades, ``kelly_estimate``) once there are
    ``kelly_min_trades`` of them. Before that (the **warm-up**) it uses the configured
    ``kelly_win_rate`` / ``kelly_payoff_ratio``, or without them sizes the position at
    ``kelly_fraction × kelly_max_pct`` % of equity: the most a fractional Kelly could ever
    bet, scaled down like every Kelly bet, so the strategy trades and builds its record."""
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
            returns = trade_returns or ()
            if len(returns) >= rules.kelly_min_trades:
                win_rate, payoff_ratio = kelly_estimate(returns)
            elif rules.kelly_win_rate is not None and rules.kelly_payoff_ratio is not None:
                win_rate, payoff_ratio = rules.kelly_win_rate, rules.kelly_payoff_ratio
        if win_rate is None or payoff_ratio is None:  # warm-up without a prior
            lots = size_fixed_fraction(equity_units=equity_units, price_ticks=price_ticks,
                                       fraction_pct=rules.kelly_fraction * rules.kelly_max_pct,
                                       value_factor=value_factor)
        else:
            lots = size_kelly(equity_units=equity_units, price_ticks=price_ticks,
                              win_rate=win_rate, payoff_ratio=payoff_ratio,
                              fraction=rules.kelly_fraction, max_pct=rules.kelly_max_pct,
                              value_factor=value_factor)
            if not lots and kelly_fraction(win_rate, payoff_ratio) <= 0:
                return SizeResult(0, f"kelly: no edge (win rate {win_rate:.3g}, payoff ratio "
                                  f"{payoff_ratio:.3g}): the Kelly bet is 0")
    note = "" if lots else f"{method} sizing rounds down to 0 lots at this equity and price"
    return SizeResult(lots, note)
