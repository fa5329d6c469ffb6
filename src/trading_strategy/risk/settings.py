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
may not exceed equity), ``enforce_market_hours``, ``resize_to_fit``, ``atr_period = 14``,
``kelly_min_trades = 20`` and ``flatten_on_halt`` (a drawdown halt closes the positions).

Types are strict: numbers are numbers (``true`` or a float number of bars is refused), flags
are ``true``/``false``, and every number has a sane range named in its error (percentages
above 0 and at most 100, ATR multiples and leverage at most 100, money at most 1e15, bar
counts whole). Environment variables are text and are parsed; in a file, a quoted number is
an error (``file_type_problems``). Money amounts are in the account currency.

Keys of one group (``stop_loss_pct`` / ``stop_loss_atr_multiple``, and the
same for take-profit and trailing stops) exclude each other; a strategy that sets one key of a
group replaces the whole group it inherits, and setting any sizing key replaces all of them.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections.abc import Mapping
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


# --- input types and bounds --------------------------------------------------------------
# A TOML file gives numbers and booleans their own types; an environment variable is always a
# string. So a bool is never a number (``true`` would silently become 1 %), a float is never a
# count of bars, and a string is parsed as the environment's text form of the value. Strings
# from a *file* are refused by ``file_type_problems`` (the caller knows which values came from
# the file; this model cannot). Every message names the allowed range.
def _text(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    text = str(value) if isinstance(value, int | Decimal) else repr(value)
    return text if len(text) <= 24 else f"{text[:12]}... ({len(text)} characters)"


def _number(low: float, high: float, *, low_open: bool = True) -> Any:
    """A float with ``low < x <= high`` (``low <= x`` with ``low_open=False``)."""
    bounds = f"{'greater than' if low_open else 'at least'} {low:g} and at most {high:g}"

    def parse(value: object) -> float:
        number: float | None = None
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                number = float(value.strip())
        elif isinstance(value, int | float | Decimal) and not isinstance(value, bool):
            with contextlib.suppress(OverflowError):
                number = float(value)
        inside = number is not None and math.isfinite(number) and (
            low < number if low_open else low <= number) and number <= high
        if number is None:
            raise ValueError(f"must be a number {bounds}, got {_text(value)}")
        if not inside:
            raise ValueError(f"must be {bounds}, got {_text(value)}")
        return number

    return BeforeValidator(parse)


def _count(high: int) -> Any:
    """A whole number from 1 to ``high`` (a float is refused: 1e20 bars is not a count)."""

    def parse(value: object) -> int:
        number: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str) and value.strip().isdigit():
            number = int(value.strip())
        if number is None or not 1 <= number <= high:
            raise ValueError(f"must be a whole number from 1 to {high:,}, got {_text(value)}")
        return number

    return BeforeValidator(parse)


def _money_input(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError(f"must be {_MONEY_RANGE}, got {_text(value)}")
    if isinstance(value, float):
        return Decimal(repr(value))  # the shortest decimal that round-trips: 0.1 stays 0.1
    if isinstance(value, str):
        try:
            return Decimal(value.strip())
        except ArithmeticError:
            raise ValueError(f"must be {_MONEY_RANGE}, got {_text(value)}") from None
    return value


_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")


def _flag(value: object) -> object:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError(f"must be true or false, got {_text(value)}")


#: the largest money amount any limit may name: far above any account, far below the
#: integer ranges the engine computes in
MAX_MONEY = Decimal("1e15")


_MONEY_RANGE = f"a money amount greater than 0 and at most {MAX_MONEY:.0E}"


def _positive_money(value: Decimal) -> Decimal:
    if not value.is_finite() or not 0 < value <= MAX_MONEY:
        raise ValueError(f"must be {_MONEY_RANGE}, got {_text(value)}")
    return value


def _duration(value: str) -> str:
    try:
        Timeframe.parse(value)
    except ConfigError:  # pydantic reports ValueErrors with the key
        raise ValueError(
            f"must be a duration such as 90m, 4h or 3d, got {value!r}"
        ) from None
    return value


#: a symbol: letters, digits and the separators tickers use (BRK.B, BTC/USDT, ES=F, ^GSPC)
_SYMBOL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/:=^-]*|\^[A-Za-z0-9._=-]+")


def _split(value: object) -> object:
    """Accept "AAPL, MSFT" or '["AAPL","MSFT"]' (an environment variable) and a list."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith("[") or text.endswith("]"):
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if not isinstance(parsed, list):
            raise ValueError(f'must be a list such as ["AAPL", "MSFT"] or AAPL,MSFT, '
                             f"got {value!r}")
        return parsed
    return [part.strip() for part in text.split(",") if part.strip()]


def _symbols(value: list[str]) -> list[str]:
    for symbol in value:
        if not _SYMBOL.fullmatch(symbol):
            raise ValueError(f"{symbol!r} is not a symbol (letters, digits and . / : = ^ -)")
    return value


PositivePct = Annotated[float, _number(0, 100)]
#: a multiple of the ATR, a leverage: more than 100 is a typo, not a setting
Multiple = Annotated[float, _number(0, 100)]
Fraction = Annotated[float, _number(0, 1)]
WinRate = Annotated[float, _number(0, 1)]
Payoff = Annotated[float, _number(0, 1000)]
Money = Annotated[Decimal, BeforeValidator(_money_input), AfterValidator(_positive_money)]
Bars = Annotated[int, _count(10_000_000)]
Period = Annotated[int, _count(10_000)]
Count = Annotated[int, _count(1_000_000)]
Flag = Annotated[bool, BeforeValidator(_flag)]
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
    "kelly_fraction", "kelly_max_pct", "kelly_min_trades", "kelly_win_rate",
    "kelly_payoff_ratio",
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
    kelly_min_trades: Period | None = Field(
        None, description="closed trades before the win rate and payoff ratio are estimated "
        "from the strategy's own trades (kelly; default 20)")
    kelly_win_rate: WinRate | None = Field(
        None, description="win rate used until kelly_min_trades trades have closed (kelly)")
    kelly_payoff_ratio: Payoff | None = Field(
        None, description="average win / average loss used until kelly_min_trades trades "
        "have closed (kelly)")
    # --- stops -------------------------------------------------------------------------------
    stop_loss_pct: PositivePct | None = Field(None, description="stop-loss % from entry")
    stop_loss_atr_multiple: Multiple | None = Field(
        None, description="stop-loss at this many ATRs from entry")
    take_profit_pct: PositivePct | None = Field(None, description="take-profit % from entry")
    take_profit_atr_multiple: Multiple | None = Field(
        None, description="take-profit at this many ATRs from entry")
    trailing_stop_pct: PositivePct | None = Field(
        None, description="trailing stop % below the best price (above for shorts)")
    trailing_stop_atr_multiple: Multiple | None = Field(
        None, description="trailing stop this many ATRs from the best price")
    time_exit_bars: Bars | None = Field(None, description="exit after this many bars")
    time_exit_after: Duration | None = Field(
        None, description="exit after this long, e.g. 90m, 4h, 3d")
    atr_period: Period | None = Field(None, description="ATR period for ATR rules (14)")
    # --- order and position limits --------------------------------------------------------------
    max_position_pct: PositivePct | None = Field(
        None, description="max value of one position as % of portfolio equity")
    max_strategy_exposure_pct: PositivePct | None = Field(
        None, description="max value of all of a strategy's positions as % of equity")
    max_order_notional: Money | None = Field(None, description="max value of one order")
    price_collar_pct: PositivePct | None = Field(
        None, description="refuse a limit price further than this % from the last price")
    max_orders_per_minute: Count | None = Field(
        None, description="max orders sent per strategy in any 60 s window")
    max_open_orders: Count | None = Field(
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
    flatten_on_halt: Flag | None = Field(
        None, description="close positions on HALT (default true; false keeps them, with "
        "their stops)")

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
    max_leverage: Multiple | None = Field(
        None, description="max gross exposure / equity, e.g. 2 (portfolio)")
    initial_margin_pct: PositivePct = Field(
        100.0, description="margin required per unit of gross exposure; 100 = cash account")
    check_buying_power: Flag = Field(
        True, description="refuse entries the equity cannot margin at initial_margin_pct")
    enforce_market_hours: Flag = Field(
        True, description="refuse orders while the instrument's market is closed")
    day_calendar: DayCalendar = Field(
        "auto", description="calendar of the daily-loss day boundary (auto: the instruments')")
    resize_to_fit: Flag = Field(
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
        values["kelly_min_trades"] = values["kelly_min_trades"] or KELLY_MIN_TRADES
        # a kill switch closes what it guards unless told otherwise
        values["flatten_on_halt"] = values["flatten_on_halt"] is not False
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
    kelly_min_trades: int
    kelly_win_rate: float | None
    kelly_payoff_ratio: float | None
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


#: closed trades a Kelly sizer waits for before it trusts its own estimates
KELLY_MIN_TRADES = 20

#: the key each sizing method needs
_SIZING_NEEDS: dict[str, tuple[str, ...]] = {
    "fixed_quantity": ("fixed_quantity",),
    "fixed_fraction": ("fixed_fraction_pct",),
    "volatility_target": ("risk_per_trade_pct",),
    "kelly": ("kelly_fraction", "kelly_max_pct"),
}
#: keys a sizing method may use but does not need
_SIZING_OPTIONS: dict[str, tuple[str, ...]] = {
    "kelly": ("kelly_min_trades", "kelly_win_rate", "kelly_payoff_ratio"),
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
    used = (*_SIZING_NEEDS.get(method, ()), *_SIZING_OPTIONS.get(method, ()))
    for key in ("fixed_fraction_pct", "risk_per_trade_pct", "kelly_fraction", "kelly_max_pct",
                "fixed_quantity", "kelly_win_rate", "kelly_payoff_ratio"):
        value = getattr(eff, key)
        if value is not None and key not in used:
            problems.append(
                f"{prefix}{key}: only used with sizing_method "
                f"{_method_of(key)!r}, but sizing_method is {method!r}"
            )
    if method == "kelly":
        problems.extend(_kelly_prior(eff, prefix))
    return problems


def _kelly_prior(eff: EffectiveRisk, prefix: str) -> list[str]:
    """The warm-up estimates come as a pair, and must describe an edge: a prior with no edge
    sizes every warm-up entry at 0, so the strategy never trades and never learns better."""
    p, b = eff.kelly_win_rate, eff.kelly_payoff_ratio
    if (p is None) != (b is None):
        missing = "kelly_payoff_ratio" if b is None else "kelly_win_rate"
        return [f"{prefix}{missing}: kelly_win_rate and kelly_payoff_ratio go together; "
                "set both or neither"]
    if p is not None and b is not None and p - (1 - p) / b <= 0:
        return [f"{prefix}kelly_win_rate: win rate {p:g} with payoff ratio {b:g} has no edge "
                f"(Kelly fraction {p - (1 - p) / b:.3g} <= 0): no order could ever be sized"]
    return []


def _method_of(key: str) -> str:
    return next(m for m, keys in (*_SIZING_NEEDS.items(), *_SIZING_OPTIONS.items())
                if key in keys)


# --- values from a file ------------------------------------------------------------------
#: keys whose value is a number, or true/false (a file must not quote them); every other
#: key is text, a list or a table (a test keeps these lists complete)
NUMBER_KEYS = frozenset({
    "fixed_quantity", "fixed_fraction_pct", "risk_per_trade_pct", "kelly_fraction",
    "kelly_max_pct", "kelly_min_trades", "kelly_win_rate", "kelly_payoff_ratio",
    "stop_loss_pct", "stop_loss_atr_multiple", "take_profit_pct", "take_profit_atr_multiple",
    "trailing_stop_pct", "trailing_stop_atr_multiple", "time_exit_bars", "atr_period",
    "max_position_pct", "max_strategy_exposure_pct", "max_order_notional", "price_collar_pct",
    "max_orders_per_minute", "max_open_orders", "max_daily_loss", "max_daily_loss_pct",
    "max_drawdown_pct", "max_gross_exposure", "max_leverage", "initial_margin_pct",
})
FLAG_KEYS = frozenset({"flatten_on_halt", "check_buying_power", "enforce_market_hours",
                       "resize_to_fit"})


def file_type_problems(table: object, prefix: str = "risk.") -> list[str]:
    """Values of a ``[risk]`` table *read from a file* whose TOML type is wrong: a number or a
    boolean written as a string (``max_position_pct = "10"``). The models accept strings
    because environment variables are strings; a file has real types, so quotes there are a
    mistake. One ``key: problem`` line each; call before validating the merged settings."""
    if not isinstance(table, Mapping):
        return []
    problems = []
    model: type[BaseModel] = RiskSettings if prefix == "risk." else RiskOverrides
    for key, value in table.items():
        if key == "strategies" and model is RiskSettings and isinstance(value, Mapping):
            for name, sub in value.items():
                problems.extend(file_type_problems(sub, f"{prefix}strategies.{name}."))
            continue
        if key not in model.model_fields or not isinstance(value, str):
            continue  # unknown keys and other types: the model's validation reports them
        want = "a number" if key in NUMBER_KEYS else "true or false" if key in FLAG_KEYS \
            else None
        if want is not None:
            problems.append(f"{prefix}{key}: must be {want}, not the string {value!r} "
                            "(write it without quotes)")
    return problems
