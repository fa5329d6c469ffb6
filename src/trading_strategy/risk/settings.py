"""Risk settings: every limit of the gate, validated once at start.

Keys (``[risk]`` in the TOML file, ``TRADING_STRATEGY_RISK__<KEY>`` in the environment)::

    [risk]                                # portfolio-wide, and the default of every strategy
    max_position_pct = 10                 # any one position <= 10 % of portfolio equity
    max_daily_loss_pct = 3                # portfolio: REDUCING for the rest of the day
    max_drawdown_pct = 20                 # portfolio: HALTED until an operator re-arms
    stop_loss_atr_multiple = 2.5

    [risk.strategies.sma_crossover]       # per-strategy overrides
    max_position_pct = 5
    max_daily_loss_pct = 2                # this strategy's own equity

Three kinds of keys:

* **Order and stop keys** (sizing, stops, ``max_position_pct``, ``max_strategy_exposure_pct``,
  ``max_order_notional``, ``price_collar_pct``, ``max_orders_per_minute``,
  ``max_open_orders``, ``tradable_symbols``, ``blocked_symbols``, ``flatten_on_halt``): the
  top-level value is the default of every strategy; a strategy's table replaces it. The
  top-level ``max_position_pct`` also caps each symbol across all strategies together, so a
  strategy's own value can tighten it but not loosen it.
* **Loss keys** (``max_daily_loss``, ``max_daily_loss_pct``, ``max_drawdown_pct``): at top
  level they limit the *portfolio's* equity; a strategy gets loss limits on its own equity only
  from its own table (they are not inherited: a 3 % portfolio limit does not mean 3 % of each
  strategy).
* **Portfolio keys** (``max_gross_exposure``, ``max_leverage``, ``initial_margin_pct``,
  ``check_buying_power``, ``enforce_market_hours``, ``day_calendar``, ``resize_to_fit``):
  top level only.

Everything is off by default except: unknown instruments are refused, zero-size orders are
refused, ``check_buying_power`` with ``initial_margin_pct = 100`` (a cash account: positions
may not exceed equity), ``enforce_market_hours``, ``resize_to_fit`` and ``atr_period = 14``.

Percentages are numbers of percent (10 means 10 %) between 0 and 100; money amounts are in the
account currency. Keys of one group (``stop_loss_pct`` / ``stop_loss_atr_multiple``, and the
same for take-profit and trailing stops) exclude each other; a strategy that sets one key of a
group replaces the whole group it inherits, and setting any sizing key replaces all of them.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from trading_strategy.core.errors import ConfigError
from trading_strategy.core.timeframe import Timeframe

SizingMethod = Literal["strategy", "fixed_quantity", "fixed_fraction", "volatility_target", "kelly"]
DayCalendar = Literal["auto", "XNYS", "FX", "24/7"]


def _fmt(value: float | Decimal) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _pct(value: float) -> float:
    if not 0 <= value <= 100:
        raise ValueError(f"must be between 0 and 100, got {_fmt(value)}")
    return value


def _positive_pct(value: float) -> float:
    if not 0 < value <= 100:
        raise ValueError(f"must be greater than 0 and at most 100, got {_fmt(value)}")
    return value


def _positive(value: float) -> float:
    if not value > 0:
        raise ValueError(f"must be greater than 0, got {_fmt(value)}")
    return value


def _fraction(value: float) -> float:
    if not 0 < value <= 1:
        raise ValueError(f"must be greater than 0 and at most 1, got {_fmt(value)}")
    return value


def _positive_money(value: Decimal) -> Decimal:
    if not value.is_finite() or value <= 0:
        raise ValueError(f"must be a money amount greater than 0, got {value}")
    return value


def _duration(value: str) -> str:
    try:
        Timeframe.parse(value)
    except ConfigError:  # pydantic reports ValueErrors with the key
        raise ValueError(
            f"must be a duration such as 90m, 4h or 3d, got {value!r}"
        ) from None
    return value


def _split(value: object) -> object:
    """Accept "AAPL, MSFT" (an environment variable) as well as a list."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _symbols(value: list[str]) -> list[str]:
    for symbol in value:
        if not symbol.strip():
            raise ValueError("symbols must not be empty")
    return value


Pct = Annotated[float, AfterValidator(_pct)]
PositivePct = Annotated[float, AfterValidator(_positive_pct)]
PositiveFloat = Annotated[float, AfterValidator(_positive)]
Fraction = Annotated[float, AfterValidator(_fraction)]
Money = Annotated[Decimal, AfterValidator(_positive_money)]
PositiveInt = Annotated[int, Field(gt=0)]
Duration = Annotated[str, AfterValidator(_duration)]
Symbols = Annotated[list[str], BeforeValidator(_split), AfterValidator(_symbols)]

#: keys that exclude each other; an override setting one replaces the whole inherited group
EXCLUSIVE_GROUPS: tuple[tuple[str, ...], ...] = (
    ("stop_loss_pct", "stop_loss_atr_multiple"),
    ("take_profit_pct", "take_profit_atr_multiple"),
    ("trailing_stop_pct", "trailing_stop_atr_multiple"),
)
#: the sizing keys: an override setting any of them replaces them all
SIZING_KEYS = (
    "sizing_method", "fixed_quantity", "fixed_fraction_pct", "risk_per_trade_pct",
    "kelly_fraction", "kelly_max_pct",
)
#: loss keys: portfolio-wide at top level, never inherited by strategies
LOSS_KEYS = ("max_daily_loss", "max_daily_loss_pct", "max_drawdown_pct")

_MODEL_CONFIG = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class StrategyRiskFields(BaseModel):
    """Keys that may be set at top level and per strategy. ``None`` means not set."""

    model_config = _MODEL_CONFIG

    # --- sizing ------------------------------------------------------------------------------
    sizing_method: SizingMethod | None = Field(
        None, description="strategy (its own quantity; default), fixed_quantity, "
        "fixed_fraction, volatility_target or kelly")
    fixed_quantity: Money | None = Field(None, description="units per order (fixed_quantity)")
    fixed_fraction_pct: PositivePct | None = Field(
        None, description="position value as % of equity (fixed_fraction)")
    risk_per_trade_pct: PositivePct | None = Field(
        None, description="% of equity lost if the stop is hit (volatility_target)")
    kelly_fraction: Fraction | None = Field(
        None, description="multiplier of the Kelly fraction, e.g. 0.5 (kelly)")
    kelly_max_pct: PositivePct | None = Field(
        None, description="cap on the Kelly position value as % of equity (kelly)")
    # --- stops -------------------------------------------------------------------------------
    stop_loss_pct: PositivePct | None = Field(None, description="stop-loss % from entry")
    stop_loss_atr_multiple: PositiveFloat | None = Field(
        None, description="stop-loss at this many ATRs from entry")
    take_profit_pct: PositivePct | None = Field(None, description="take-profit % from entry")
    take_profit_atr_multiple: PositiveFloat | None = Field(
        None, description="take-profit at this many ATRs from entry")
    trailing_stop_pct: PositivePct | None = Field(
        None, description="trailing stop % below the best price (above for shorts)")
    trailing_stop_atr_multiple: PositiveFloat | None = Field(
        None, description="trailing stop this many ATRs from the best price")
    time_exit_bars: PositiveInt | None = Field(None, description="exit after this many bars")
    time_exit_after: Duration | None = Field(
        None, description="exit after this long, e.g. 90m, 4h, 3d")
    atr_period: PositiveInt | None = Field(None, description="ATR period for ATR rules (14)")
    # --- order and position limits --------------------------------------------------------------
    max_position_pct: Pct | None = Field(
        None, description="max value of one position as % of portfolio equity")
    max_strategy_exposure_pct: Pct | None = Field(
        None, description="max value of all of a strategy's positions as % of equity")
    max_order_notional: Money | None = Field(None, description="max value of one order")
    price_collar_pct: PositivePct | None = Field(
        None, description="refuse a limit price further than this % from the last price")
    max_orders_per_minute: PositiveInt | None = Field(
        None, description="max orders sent per strategy in any 60 s window")
    max_open_orders: PositiveInt | None = Field(
        None, description="max open orders per strategy")
    tradable_symbols: Symbols | None = Field(
        None, description="only these symbols may be traded (default: every instrument)")
    blocked_symbols: Symbols | None = Field(None, description="symbols never traded")
    # --- loss limits -------------------------------------------------------------------------
    max_daily_loss: Money | None = Field(
        None, description="loss since the start of the day that switches to REDUCING")
    max_daily_loss_pct: PositivePct | None = Field(
        None, description="the same as % of start-of-day equity")
    max_drawdown_pct: PositivePct | None = Field(
        None, description="drawdown from the equity peak that HALTS trading")
    flatten_on_halt: bool | None = Field(
        None, description="close positions on HALT (default false: keep them, with stops)")

    @model_validator(mode="after")
    def _exclusive(self) -> StrategyRiskFields:
        problems = [
            f"{group[1]}: cannot be combined with {group[0]}; set only one of them"
            for group in EXCLUSIVE_GROUPS
            if all(getattr(self, key) is not None for key in group)
        ]
        if self.tradable_symbols and self.blocked_symbols:
            both = sorted(set(self.tradable_symbols) & set(self.blocked_symbols))
            if both:
                problems.append(f"blocked_symbols: {', '.join(both)} also in tradable_symbols")
        if problems:
            raise ValueError("\n".join(problems))
        return self


class RiskOverrides(StrategyRiskFields):
    """One strategy's ``[risk.strategies.NAME]`` table: replaces the top-level values it sets."""


class RiskSettings(StrategyRiskFields):
    """The ``[risk]`` table (see the module docstring for the keys and their scopes)."""

    max_gross_exposure: Money | None = Field(
        None, description="max total value of all positions (portfolio)")
    max_leverage: PositiveFloat | None = Field(
        None, description="max gross exposure / equity, e.g. 2 (portfolio)")
    initial_margin_pct: PositivePct = Field(
        100.0, description="margin required per unit of gross exposure; 100 = cash account")
    check_buying_power: bool = Field(
        True, description="refuse entries the equity cannot margin at initial_margin_pct")
    enforce_market_hours: bool = Field(
        True, description="refuse orders while the instrument's market is closed")
    day_calendar: DayCalendar = Field(
        "auto", description="calendar of the daily-loss day boundary (auto: the instruments')")
    resize_to_fit: bool = Field(
        True, description="shrink an order that breaks a size limit instead of refusing it")
    strategies: dict[str, RiskOverrides] = Field(
        default_factory=dict, description="per-strategy overrides")

    @model_validator(mode="after")
    def _consistent(self) -> RiskSettings:
        problems = _requirements(self.for_strategy(None), "")
        for name in self.strategies:
            if not name.strip():
                problems.append("strategies: a strategy name must not be empty")
                continue
            problems.extend(_requirements(self.for_strategy(name), f"strategies.{name}."))
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def for_strategy(self, name: str | None) -> EffectiveRisk:
        """The settings that apply to strategy ``name`` (``None``: the top-level defaults).

        Loss keys come only from the strategy's own table (top-level ones limit the portfolio);
        for ``name=None`` they are the portfolio's.
        """
        override = self.strategies.get(name) if name is not None else None
        values: dict[str, Any] = {}
        for key in StrategyRiskFields.model_fields:
            values[key] = getattr(self, key)
        if name is not None:
            for key in LOSS_KEYS:
                values[key] = None
        if override is not None:
            explicit = override.model_fields_set
            for group in (*EXCLUSIVE_GROUPS, SIZING_KEYS):
                if explicit & set(group):
                    for key in group:
                        values[key] = None
            for key in explicit:
                values[key] = getattr(override, key)
        values["sizing_method"] = values["sizing_method"] or "strategy"
        values["atr_period"] = values["atr_period"] or 14
        values["flatten_on_halt"] = bool(values["flatten_on_halt"])
        values["blocked_symbols"] = tuple(values["blocked_symbols"] or ())
        tradable = values["tradable_symbols"]
        values["tradable_symbols"] = None if tradable is None else tuple(tradable)
        return EffectiveRisk(strategy=name, **values)


@dataclass(frozen=True, slots=True)
class EffectiveRisk:
    """The resolved order, stop and loss settings of one strategy (defaults applied)."""

    strategy: str | None
    sizing_method: SizingMethod
    fixed_quantity: Decimal | None
    fixed_fraction_pct: float | None
    risk_per_trade_pct: float | None
    kelly_fraction: float | None
    kelly_max_pct: float | None
    stop_loss_pct: float | None
    stop_loss_atr_multiple: float | None
    take_profit_pct: float | None
    take_profit_atr_multiple: float | None
    trailing_stop_pct: float | None
    trailing_stop_atr_multiple: float | None
    time_exit_bars: int | None
    time_exit_after: str | None
    atr_period: int
    max_position_pct: float | None
    max_strategy_exposure_pct: float | None
    max_order_notional: Decimal | None
    price_collar_pct: float | None
    max_orders_per_minute: int | None
    max_open_orders: int | None
    tradable_symbols: tuple[str, ...] | None
    blocked_symbols: tuple[str, ...]
    max_daily_loss: Decimal | None
    max_daily_loss_pct: float | None
    max_drawdown_pct: float | None
    flatten_on_halt: bool

    def as_dict(self) -> dict[str, object]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


#: the key each sizing method needs
_SIZING_NEEDS: dict[str, tuple[str, ...]] = {
    "fixed_quantity": ("fixed_quantity",),
    "fixed_fraction": ("fixed_fraction_pct",),
    "volatility_target": ("risk_per_trade_pct",),
    "kelly": ("kelly_fraction", "kelly_max_pct"),
}


def _requirements(eff: EffectiveRisk, prefix: str) -> list[str]:
    """Missing keys that the chosen options need, as ``key: why`` lines."""
    problems = []
    method = eff.sizing_method
    for key in _SIZING_NEEDS.get(method, ()):
        if getattr(eff, key) is None:
            problems.append(f"{prefix}{key}: required when sizing_method is {method!r}")
    if method == "volatility_target" and eff.stop_loss_pct is None \
            and eff.stop_loss_atr_multiple is None:
        problems.append(
            f"{prefix}stop_loss_atr_multiple: volatility_target sizing needs a stop distance; "
            "set stop_loss_atr_multiple or stop_loss_pct"
        )
    for key in ("fixed_fraction_pct", "risk_per_trade_pct", "kelly_fraction", "kelly_max_pct",
                "fixed_quantity"):
        value = getattr(eff, key)
        if value is not None and key not in _SIZING_NEEDS.get(method, ()):
            problems.append(
                f"{prefix}{key}: only used with sizing_method "
                f"{_method_of(key)!r}, but sizing_method is {method!r}"
            )
    return problems


def _method_of(key: str) -> str:
    return next(m for m, keys in _SIZING_NEEDS.items() if key in keys)
