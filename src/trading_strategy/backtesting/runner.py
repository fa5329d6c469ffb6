"""Run one backtest and collect its result: the facade the CLI, web and tests call."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from trading_strategy.backtesting.engine import BacktestEngine, PreTradeGate
from trading_strategy.backtesting.metrics import Metrics, TradeOutcome, compute_metrics
from trading_strategy.backtesting.settings import BacktestSettings
from trading_strategy.core.bars import BarSeries
from trading_strategy.core.errors import UserError
from trading_strategy.risk.settings import RiskSettings
from trading_strategy.strategies import registry
from trading_strategy.strategies.base import Strategy

if TYPE_CHECKING:
    from trading_strategy.backtesting.risk_gate import RiskGate


class InsufficientHistoryError(UserError):
    pass


@dataclass(frozen=True, slots=True)
class Annualisation:
    """Bars per year behind CAGR, volatility and the ratios, and where the number came from.

    ``rule`` is the calendar's rule for these bars (e.g. "FX 24h × 260 days, 1h bars") even
    when ``overridden``, so a report shows what the override replaced.
    """

    periods_per_year: float
    overridden: bool
    calendar: str
    rule: str
    #: what the calendar rule gives (equal to periods_per_year unless overridden)
    calendar_periods_per_year: float

    def describe(self) -> str:
        """One line for every report: "annualised with 6,240 bars/year: FX 24h × ..."."""
        head = f"annualised with {_count(self.periods_per_year)} bars/year"
        if self.overridden:
            return (f"{head}: overridden by --periods-per-year (the calendar rule gives "
                    f"{_count(self.calendar_periods_per_year)}: {self.rule})")
        return f"{head}: {self.rule}"

    def as_dict(self) -> dict[str, object]:
        return {"periods_per_year": self.periods_per_year,
                "source": "override" if self.overridden else "calendar",
                "calendar": self.calendar, "rule": self.rule,
                "calendar_periods_per_year": self.calendar_periods_per_year,
                "text": self.describe()}


def _count(value: float) -> str:
    return f"{value:,.0f}" if value == round(value) else f"{value:,.2f}"


@dataclass(frozen=True, slots=True)
class BacktestResult:
    engine: BacktestEngine
    equity_units: npt.NDArray[np.int64]
    equity: npt.NDArray[np.float64]
    metrics: Metrics
    periods_per_year: float
    risk: RiskGate | None = None
    annualisation: Annualisation | None = None

    @property
    def bars(self) -> BarSeries:
        return self.engine.bars


def annualisation(bars: BarSeries, settings: BacktestSettings) -> Annualisation:
    """The instrument's calendar and the bar length decide bars per year, unless the
    settings override it (see ``Calendar`` and ``Timeframe.bars_per_year``)."""
    calendar = bars.instrument.calendar
    rule = calendar.annualisation_rule(bars.timeframe)
    derived = calendar.periods_per_year(bars.timeframe)
    if settings.periods_per_year is not None:
        return Annualisation(settings.periods_per_year, True, calendar.value, rule, derived)
    return Annualisation(derived, False, calendar.value, rule, derived)


def periods_per_year(bars: BarSeries, settings: BacktestSettings) -> float:
    return annualisation(bars, settings).periods_per_year


def check_history(bars: BarSeries, settings: BacktestSettings, allow_short: bool) -> None:
    years = bars.years()
    if years < settings.min_years and not allow_short:
        raise InsufficientHistoryError(
            f"{bars.instrument.symbol} has {len(bars)} bars covering "
            f"{math.floor(years * 100) / 100:.2f} years; "
            f"strategies are judged on at least {settings.min_years:g} years of data "
            "(pass --allow-short-history to run anyway)"
        )


def run_backtest(
    strategy: str | type[Strategy],
    bars: BarSeries,
    settings: BacktestSettings | None = None,
    params: Mapping[str, Any] | None = None,
    *,
    gate: PreTradeGate | None = None,
    risk: RiskSettings | None = None,
    allow_short_history: bool = False,
    record_decisions: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> BacktestResult:
    settings = settings or BacktestSettings()
    strategy_cls = registry.get(strategy) if isinstance(strategy, str) else strategy
    check_history(bars, settings, allow_short_history)
    settings.size.check_lots(bars.instrument)
    engine = BacktestEngine(strategy_cls, params, bars, settings, gate=gate,
                            record_decisions=record_decisions)
    risk_gate = None
    if risk is not None and gate is None:
        from trading_strategy.backtesting.risk_gate import RiskGate

        risk_gate = RiskGate(risk, strategy=strategy_cls.name, engine=engine)
        engine.set_gate(risk_gate)
    engine.run(progress)
    return collect_result(engine, risk_gate)


def collect_result(engine: BacktestEngine, risk_gate: RiskGate | None = None) -> BacktestResult:
    """The result of an engine that has run to its last bar: equity curve, metrics and the
    annualisation. One rule for a single backtest and each strategy of a portfolio, so a
    portfolio's per-strategy figures are exactly what a single backtest would report."""
    bars = engine.bars
    settings = engine.settings
    units = engine.equity_curve_units()
    equity = money_array(units, bars)
    annual = annualisation(bars, settings)
    ppy = annual.periods_per_year
    inst = bars.instrument
    ledger = engine.ledger
    metrics = compute_metrics(
        equity,
        periods_per_year=ppy,
        trades=trade_outcomes(engine),
        bars_in_market=int(np.count_nonzero(engine.position_curve)),
        traded_notional=float(inst.money(ledger.traded_value)),
        commission=float(inst.money(ledger.commission)),
        slippage=float(inst.money(ledger.slippage)),
        risk_free_rate=settings.risk_free_rate,
    )
    return BacktestResult(engine, units, equity, metrics, ppy, risk_gate, annual)


def trade_outcomes(engine: BacktestEngine) -> list[TradeOutcome]:
    """The closed trades as the metrics see them (P&L in currency, return on entry value)."""
    inst = engine.instrument
    closed = [t for t in engine.ledger.trades if not t.is_open]
    pnls = [t.pnl() for t in closed]
    money = _money_floats(pnls, inst.money_unit)
    return [TradeOutcome(value, pnl / t.entry_value)
            for t, pnl, value in zip(closed, pnls, money, strict=True)]


def _money_floats(units: list[int], money_unit: Decimal) -> list[float]:
    """``float(units * money_unit)`` of each, vectorized when every value is exact as a
    float64 (``units_to_money`` then rounds once, as the Decimal does)."""
    if units and max(map(abs, units)) < 2**53:
        floats: list[float] = units_to_money(np.asarray(units, dtype=np.int64),
                                             money_unit).tolist()
        return floats
    return [float(u * money_unit) for u in units]


def money_array(units: npt.NDArray[np.int64], bars: BarSeries) -> npt.NDArray[np.float64]:
    """Money units of ``bars``' instrument → currency floats (see ``units_to_money``)."""
    return units_to_money(units, bars.instrument.money_unit)


def units_to_money(units: npt.NDArray[np.int64],
                   money_unit: Decimal) -> npt.NDArray[np.float64]:
    """Whole multiples of ``money_unit`` → currency floats, each the nearest double to the
    exact decimal value.

    When the money unit is 10**-k, int / 10**k is one correctly rounded IEEE division of two
    exact operands, hence the same double as ``float(Decimal)`` — no drift, vectorized.
    """
    unit = money_unit.normalize()
    _, digits, exponent = unit.as_tuple()
    if digits == (1,) and isinstance(exponent, int) and -22 <= exponent <= 0:
        return units.astype(np.float64) / float(10 ** (-exponent))
    return np.array([float(Decimal(int(u)) * unit) for u in units], dtype=np.float64)
