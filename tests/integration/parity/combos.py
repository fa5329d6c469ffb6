"""The matrix: dimensions of settings, and one row turned into one portfolio mapping.

The portfolio mapping (what ``trading-strategy run --config`` reads) is the single source of
both runs: the session parses it as it is; the backtest reads the same values
(``backtest_inputs``). Slippage uses the file's keys (``slippage = "bps" | "range" | "atr"``,
``slippage_bps``, ``slippage_value``). The file has no key yet for per-share and fixed
commissions, which the backtester supports: the mapping names them as the backtest command
does (``commission_model = "per-unit" | "fixed"``, ``commission`` in money, ``commission_min``),
so a session that refuses them shows as a refusal only one side makes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from trading_strategy.backtesting.settings import BacktestSettings
from trading_strategy.core.errors import ConfigError
from trading_strategy.kernel import costs
from trading_strategy.kernel.sizing import SizeSpec
from trading_strategy.risk.settings import RiskSettings
from trading_strategy.runtime.portfolio_config import describe_errors

from .allpairs import all_pairs

#: registry name of each strategy value (the two test strategies live in ``strategies``)
STRATEGIES = {
    "sma_crossover": "sma_crossover",
    "rsi_reversion": "rsi_reversion",
    "donchian_breakout": "donchian_breakout",
    "limitcancel": "parity_limit_cancel",
    "oversize": "parity_oversize",
}
#: the strategy's default size (``size`` of its portfolio entry)
SIZES = {"fixed": "20", "percent": "25%", "allin": "all-in", "voltarget": "20"}
#: risk keys of the sizing values that are risk sizing methods
SIZING_RISK: dict[str, dict[str, Any]] = {
    "voltarget": {"sizing_method": "volatility_target", "risk_per_trade_pct": 1},
}
#: a stop distance for volatility-target sizing when the risk value brings none
VOLTARGET_STOP = {"stop_loss_pct": 5}
COMMISSIONS: dict[str, dict[str, Any]] = {
    "pct": {"commission": 0.001},
    "pershare": {"commission_model": "per-unit", "commission": 0.01, "commission_min": 1},
    "fixedfee": {"commission_model": "fixed", "commission": 2},
}
SLIPPAGES: dict[str, dict[str, Any]] = {
    "bpsslip": {"slippage_bps": 2},
    "rangeslip": {"slippage": "range", "slippage_value": 0.1},
    "atrslip": {"slippage": "atr", "slippage_value": 0.1},
}
RISKS: dict[str, dict[str, Any]] = {
    "norisk": {},
    "atrstop": {"stop_loss_atr_multiple": 2},
    "trailing": {"trailing_stop_pct": 4},
    "timeexit": {"time_exit_bars": 7},
    "takeprofit": {"take_profit_pct": 6},
    "dailyloss": {"max_daily_loss_pct": 2},
    "ddhalt": {"max_drawdown_pct": 8},
}
LATENCIES = {"lat0": 0, "lat60s": 60_000}
DATA = ("goog", "gbm")

DIMENSIONS: tuple[tuple[str, ...], ...] = (
    tuple(STRATEGIES), tuple(SIZES), tuple(COMMISSIONS), tuple(SLIPPAGES), tuple(RISKS),
    tuple(LATENCIES), DATA)
DIMENSION_NAMES = ("strategy", "sizing", "commission", "slippage", "risk", "latency", "data")
SEED = 10
CAPITAL = 100_000
SLOT = "s"


@dataclass(frozen=True, slots=True)
class Combo:
    """One row of the matrix; ``extra_risk``/``size_text`` override the table (refusal cases)."""

    strategy: str
    sizing: str
    commission: str
    slippage: str
    risk: str
    latency: str
    data: str
    extra_risk: tuple[tuple[str, Any], ...] = ()
    size_text: str | None = None
    label: str = ""

    @property
    def id(self) -> str:
        base = "-".join((self.strategy, self.sizing, self.commission, self.slippage, self.risk,
                         self.latency, self.data))
        return f"{base}-{self.label}" if self.label else base

    def risk_table(self) -> dict[str, Any]:
        table = {**RISKS[self.risk], **SIZING_RISK.get(self.sizing, {})}
        if self.sizing == "voltarget" and not any(k.startswith("stop_loss") for k in table):
            table.update(VOLTARGET_STOP)
        table.update(dict(self.extra_risk))
        return {k: v for k, v in table.items() if v is not None}

    def portfolio(self, symbol: str, start: str, end: str,
                  registered: str) -> dict[str, Any]:
        """The portfolio mapping of this combination (``registered``: the strategy's name
        in the registry, a recording subclass)."""
        venue = {"kind": "paper", **COMMISSIONS[self.commission],
                 **SLIPPAGES[self.slippage]}
        if LATENCIES[self.latency]:
            venue["latency_ms"] = LATENCIES[self.latency]
        return {
            "session": {"name": "parity", "start": start, "end": end},
            "venue": venue,
            "strategies": [{"name": SLOT, "strategy": registered, "symbol": symbol,
                            "capital": CAPITAL,
                            "size": self.size_text or SIZES[self.sizing]}],
            "risk": self.risk_table(),
        }


#: the costs every venue takes today: the second pass runs every other pair with them
BASIC_COSTS = {"commission": "pct", "slippage": "bpsslip"}


def matrix() -> list[Combo]:
    """The generated rows: every pair of values of every two dimensions at least once; then
    every pair of the other dimensions again with ``BASIC_COSTS``, so that a cost model one
    mode refuses cannot hide what the risk, sizing and latency settings do."""
    basic = tuple((BASIC_COSTS[name],) if name in BASIC_COSTS else values
                  for name, values in zip(DIMENSION_NAMES, DIMENSIONS, strict=True))
    rows = all_pairs(DIMENSIONS, seed=SEED) + all_pairs(basic, seed=SEED)
    return [_combo(row) for row in dict.fromkeys(rows)]


def _combo(row: tuple[str, ...]) -> Combo:
    strategy, sizing, commission, slippage, risk, latency, data = row
    return Combo(strategy, sizing, commission, slippage, risk, latency, data)


def refusals() -> list[Combo]:
    """Combinations no mode can run: both must refuse them at start-up, with a clear error."""
    base = ("sma_crossover", "fixed", "pct", "bpsslip", "norisk", "lat0", "goog")
    return [
        Combo(*base[:1], "voltarget", *base[2:], extra_risk=(("stop_loss_pct", None),),
              label="nostop"),
        Combo(*base, size_text="2.5", label="fractional"),
        Combo(*base[:4], "trailing", *base[5:],
              extra_risk=(("trailing_stop_atr_multiple", 2),), label="twotrails"),
    ]


@dataclass(frozen=True, slots=True)
class BacktestInputs:
    settings: BacktestSettings
    risk: RiskSettings


def backtest_inputs(portfolio: Mapping[str, Any]) -> BacktestInputs:
    """The backtest's reading of a portfolio mapping: capital, size, venue costs and
    latency, and the risk table. Bad values raise ``ConfigError`` (as the session's parser
    does)."""
    try:
        risk = RiskSettings.model_validate(portfolio.get("risk", {}))
    except ValidationError as exc:
        raise ConfigError("risk: " + "; ".join(describe_errors(exc))) from None
    venue = dict(portfolio["venue"])
    entry = portfolio["strategies"][0]
    latency_ms = int(venue.get("latency_ms", 0))
    return BacktestInputs(
        BacktestSettings(initial_cash=Decimal(entry["capital"]),
                         commission=_commission(venue), slippage=_slippage(venue),
                         size=SizeSpec.parse(entry.get("size", "all-in")),
                         latency_ms=latency_ms or None),
        risk)


def _dec(value: Any) -> Decimal:
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def _commission(venue: Mapping[str, Any]) -> costs.CommissionModel:
    model = venue.get("commission_model", "percent")
    amount = _dec(venue.get("commission", 0))
    if model == "percent":
        return costs.PercentCommission(amount)
    if model == "per-unit":
        return costs.PerUnitCommission(amount, _dec(venue.get("commission_min", 0)))
    if model == "fixed":
        return costs.FixedCommission(amount)
    raise ConfigError(f"venue.commission_model: unknown model {model!r}")


def _slippage(venue: Mapping[str, Any]) -> costs.SlippageModel:
    """As ``VenueSection.slippage_model`` reads ``slippage``/``slippage_bps``/``slippage_value``
    (a test pins that both agree)."""
    model = venue.get("slippage", "bps")
    if model == "bps":
        return costs.FixedBpsSlippage(_dec(venue.get("slippage_bps", 0)))
    value = _dec(venue["slippage_value"])
    if model == "range":
        return costs.RangeSlippage(value)
    if model == "atr":
        return costs.AtrSlippage(value)
    raise ConfigError(f"venue.slippage: unknown model {model!r}")
