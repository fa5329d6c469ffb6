"""Portfolio backtests: several strategies, each with its own instrument, bars and capital,
under one risk engine, on the simulated clock.

Each strategy (a *sleeve*) is one ``BacktestEngine`` with its own ledger in its instrument's
money units. How they run depends on the risk settings:

* **independent** — no rule reads the portfolio's equity or another strategy's positions
  (``coupling`` is empty): each engine runs its own tight ``run()`` loop, with a risk engine
  of its own, so a portfolio costs what its strategies cost alone.
* **lockstep** — portfolio loss limits or portfolio-wide caps: one ``RiskEngine`` is shared
  by every strategy's gate; the engines are stepped together in timestamp order (a strategy
  sees only its own bars). At each strategy's bar, after its orders are matched and before
  its ``on_bar`` (a session's order of work), the portfolio equity at that time (every ledger
  marked at its last close stepped) goes to ``RiskEngine.on_equity`` and each state change
  to every gate's ``act`` (cancels, flatten at the next bar of each strategy).

The total equity is summed in the risk engine's common money unit (every instrument's
``tick × lot`` is a whole multiple of it), so it is exact: integers, not floats.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from trading_strategy.backtesting.engine import BacktestEngine
from trading_strategy.backtesting.metrics import Metrics, TradeOutcome, compute_metrics
from trading_strategy.backtesting.risk_gate import RiskGate
from trading_strategy.backtesting.runner import (
    Annualisation,
    BacktestResult,
    annualisation,
    check_history,
    collect_result,
    trade_outcomes,
    units_to_money,
)
from trading_strategy.backtesting.settings import BacktestSettings
from trading_strategy.core.bars import BarSeries
from trading_strategy.core.errors import ConfigError
from trading_strategy.core.instrument import Instrument
from trading_strategy.risk import RiskEngine, RiskSettings, TradingStateChange
from trading_strategy.risk.engine import common_money_unit
from trading_strategy.strategies import registry
from trading_strategy.strategies.base import Strategy

IntArray = npt.NDArray[np.int64]

INDEPENDENT = "independent"
LOCKSTEP = "lockstep"

#: top-level loss limits watch the portfolio's equity
_PORTFOLIO_LOSS_KEYS = ("max_daily_loss", "max_daily_loss_pct", "max_drawdown_pct")
#: caps valued against the portfolio's equity or every strategy's positions
_PORTFOLIO_CAP_KEYS = ("max_position_pct", "max_strategy_exposure_pct", "max_gross_exposure",
                       "max_leverage")
_STRATEGY_CAP_KEYS = ("max_position_pct", "max_strategy_exposure_pct")


@dataclass(frozen=True, slots=True)
class Sleeve:
    """One strategy of a portfolio: ``name`` is its id (orders, risk overrides, report),
    ``settings`` carry its capital (``initial_cash``), size, costs and latency."""

    name: str
    strategy: str | type[Strategy]
    params: Mapping[str, Any]
    bars: BarSeries
    settings: BacktestSettings


@dataclass(frozen=True, slots=True)
class SleeveResult:
    name: str
    #: the strategy's registry name (``sma_crossover``)
    strategy: str
    result: BacktestResult
    #: money units of this sleeve's instrument per unit of the portfolio's money unit
    factor: int

    @property
    def engine(self) -> BacktestEngine:
        return self.result.engine

    @property
    def initial_units(self) -> int:
        return self.result.engine.initial_cash_units

    @property
    def final_units(self) -> int:
        return int(self.result.equity_units[-1])

    @property
    def pnl(self) -> Decimal:
        """Final equity minus capital, exact, in the instrument's currency."""
        return self.engine.instrument.money(self.final_units - self.initial_units)


@dataclass(frozen=True, slots=True)
class PortfolioResult:
    sleeves: tuple[SleeveResult, ...]
    #: the union of every sleeve's bar times, sorted
    ts: IntArray
    #: total equity at each of ``ts``, in ``money_unit``s
    equity_units: IntArray
    equity: npt.NDArray[np.float64]
    money_unit: Decimal
    metrics: Metrics
    annualisation: Annualisation
    mode: str
    #: the risk settings that made the run lockstep (empty: independent)
    coupled_by: tuple[str, ...]
    #: Σ |position| > 0 at each of ``ts``
    in_market: npt.NDArray[np.bool_]
    risk: RiskEngine | None = None
    #: portfolio-scope state changes and the index in ``ts`` they happened at
    changes: list[tuple[TradingStateChange, int]] = field(default_factory=list)

    @property
    def initial_units(self) -> int:
        return sum(s.initial_units * s.factor for s in self.sleeves)

    @property
    def pnl(self) -> Decimal:
        return (int(self.equity_units[-1]) - self.initial_units) * self.money_unit


def coupling(risk: RiskSettings | None, names: Sequence[str]) -> list[str]:
    """The risk settings that make the strategies depend on each other: they read the
    portfolio's equity (its loss limits, caps in % of equity) or every strategy's positions
    (portfolio-wide caps, buying power). Empty: each strategy can run on its own."""
    if risk is None:
        return []
    found = [f"risk.{key}" for key in _PORTFOLIO_LOSS_KEYS if getattr(risk, key) is not None]
    found += [f"risk.{key}" for key in _PORTFOLIO_CAP_KEYS if getattr(risk, key) is not None]
    if risk.check_buying_power:
        found.append("risk.check_buying_power")
    for name in names:
        override = risk.strategies.get(name)
        if override is None:
            continue
        found += [f"risk.strategies.{name}.{key}" for key in _STRATEGY_CAP_KEYS
                  if key in override.model_fields_set and getattr(override, key) is not None]
    return found


def run_portfolio(
    sleeves: Sequence[Sleeve],
    risk: RiskSettings | None = None,
    *,
    allow_short_history: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> PortfolioResult:
    """Run every sleeve to its last bar (see the module docstring) and total the result."""
    _check_sleeves(sleeves, allow_short_history)
    instruments = {s.bars.instrument.symbol: s.bars.instrument for s in sleeves}
    annual = _common_annualisation(sleeves)
    engines = [BacktestEngine(_strategy_class(s), s.params, s.bars, s.settings, name=s.name)
               for s in sleeves]
    coupled = coupling(risk, [s.name for s in sleeves])
    shared = RiskEngine(risk, instruments) if risk is not None and coupled else None
    unit = shared.money_unit if shared is not None else common_money_unit(
        instruments.values())
    factors = [_factor(e.instrument, unit) for e in engines]
    total = _total_equity(engines, factors)
    gates: list[RiskGate | None] = []
    for sleeve, engine in zip(sleeves, engines, strict=True):
        gate = None
        if risk is not None:
            # independent: a risk engine per strategy (every instrument known, for the
            # symbol rules), exactly what a single backtest of that strategy uses
            gate = RiskGate(risk, strategy=sleeve.name, engine=engine,
                            risk=shared or RiskEngine(risk, instruments),
                            equity=total if shared is not None else None,
                            portfolio=shared is not None)
            engine.set_gate(gate)
        gates.append(gate)
    changes: list[tuple[TradingStateChange, int]] = []
    if shared is None:
        _run_independent(engines, progress)
    else:
        changes = _run_lockstep(engines, gates, shared, total, progress)
    results = tuple(
        SleeveResult(s.name, _kind(s), collect_result(e, g), f)
        for s, e, g, f in zip(sleeves, engines, gates, factors, strict=True))
    return _total(results, unit, annual, coupled, shared, changes)


# --- running ------------------------------------------------------------------------------
def _run_independent(engines: Sequence[BacktestEngine],
                     progress: Callable[[int, int], None] | None) -> None:
    grand = sum(len(e.bars) for e in engines)
    done = 0
    for engine in engines:
        report = None
        if progress is not None:
            offset = done

            def report(k: int, _n: int, offset: int = offset) -> None:
                progress(offset + k, grand)
        engine.run(report)
        done += len(engine.bars)


def _run_lockstep(engines: Sequence[BacktestEngine], gates: Sequence[RiskGate | None],
                  risk: RiskEngine, total: Callable[[], int],
                  progress: Callable[[int, int], None] | None) -> list[
                      tuple[TradingStateChange, int]]:
    """Step every engine in timestamp order (ties in sleeve order); at each step, before the
    strategy's ``on_bar``, the portfolio's equity goes to the risk engine and its changes to
    every gate (``RiskGate.watch_portfolio``)."""
    ts = np.concatenate([e.bars.ts for e in engines])
    which = np.concatenate([np.full(len(e.bars), k, dtype=np.int64)
                            for k, e in enumerate(engines)])
    index = np.concatenate([np.arange(len(e.bars), dtype=np.int64) for e in engines])
    order = np.lexsort((which, ts))
    ts_sorted = ts[order]
    # a time's last step: where the next one has a later time
    last = np.append(ts_sorted[1:] != ts_sorted[:-1], True)
    point = np.cumsum(last) - last  # the index of each step's time in the union of times
    steps = [e.step for e in engines]
    pairs = [(e, g) for e, g in zip(engines, gates, strict=True) if g is not None]
    # the portfolio's equity matters to its loss limits; the caps read it at each order
    watched = any(getattr(risk.settings, key) is not None for key in _PORTFOLIO_LOSS_KEYS)
    changes: list[tuple[TradingStateChange, int]] = []
    #: the index of the current step's time in the union of times (for the report)
    now = [0]

    def feed(t: int) -> None:
        for change in risk.on_equity(t, None, total()):
            # a day rollover of one strategy's scope may come out here too: it goes to
            # that strategy alone, and its gate reports it
            if change.scope is None:
                changes.append((change, now[0]))
            for engine, gate in pairs:
                if change.scope in (None, gate.strategy):
                    gate.act(engine, change)

    if watched:
        for _, gate in pairs:
            gate.watch_portfolio(feed)
    n = len(order)
    chunk = 65_536
    for e in engines:
        e.start()
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        for k, i, p in zip(which[order[lo:hi]].tolist(), index[order[lo:hi]].tolist(),
                           point[lo:hi].tolist(), strict=True):
            now[0] = p
            steps[k](i)
        if progress is not None:
            progress(hi, n)
    for e in engines:
        e.finish()
    return changes


def _total_equity(engines: Sequence[BacktestEngine],
                  factors: Sequence[int]) -> Callable[[], int]:
    """The portfolio's equity now (portfolio money units): each ledger marked at its own
    instrument's last close stepped (cash alone before its first bar)."""
    pairs = list(zip(engines, factors, strict=True))

    def total() -> int:
        amount = 0
        for engine, factor in pairs:
            ledger = engine.ledger
            i = engine.cursor.i
            units = ledger.cash if i < 0 else ledger.cash + ledger.position * int(
                engine.close_t[i])
            amount += units * factor
        return amount

    return total


# --- the total ----------------------------------------------------------------------------
def _total(results: tuple[SleeveResult, ...], unit: Decimal, annual: Annualisation,
           coupled: Sequence[str], shared: RiskEngine | None,
           changes: list[tuple[TradingStateChange, int]]) -> PortfolioResult:
    times = np.unique(np.concatenate([r.engine.bars.ts for r in results]))
    equity = np.zeros(len(times), dtype=np.int64)
    in_market = np.zeros(len(times), dtype=bool)
    limit = 2**62 // max(len(results), 1)
    for r in results:
        engine = r.engine
        at = np.searchsorted(engine.bars.ts, times, side="right") - 1
        started = at >= 0
        units = np.where(started, r.result.equity_units[np.maximum(at, 0)],
                         r.initial_units)
        if int(np.abs(units).max()) >= limit // r.factor:
            raise ConfigError(f"strategy {r.name}: its equity in the portfolio's money unit "
                              f"{unit} is too large to total exactly; use less capital")
        equity += units * r.factor
        in_market |= started & (engine.position_curve[np.maximum(at, 0)] != 0)
    floats = units_to_money(equity, unit)
    outcomes: list[TradeOutcome] = []
    traded = commission = slippage = Decimal(0)
    for r in results:
        inst, ledger = r.engine.instrument, r.engine.ledger
        outcomes += trade_outcomes(r.engine)
        traded += inst.money(ledger.traded_value)
        commission += inst.money(ledger.commission)
        slippage += inst.money(ledger.slippage)
    settings = results[0].engine.settings
    metrics = compute_metrics(
        floats, periods_per_year=annual.periods_per_year, trades=outcomes,
        bars_in_market=int(np.count_nonzero(in_market)), traded_notional=float(traded),
        commission=float(commission), slippage=float(slippage),
        risk_free_rate=settings.risk_free_rate)
    return PortfolioResult(results, times, equity, floats, unit, metrics, annual,
                           LOCKSTEP if shared is not None else INDEPENDENT, tuple(coupled),
                           in_market, shared, changes)


# --- checks -------------------------------------------------------------------------------
def _check_sleeves(sleeves: Sequence[Sleeve], allow_short_history: bool) -> None:
    if not sleeves:
        raise ConfigError("a portfolio needs at least one strategy")
    names = [s.name for s in sleeves]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"strategy names must be unique, repeated: {', '.join(dupes)}")
    for s in sleeves:
        if len(s.bars) == 0:
            raise ConfigError(f"strategy {s.name}: no bars of {s.bars.instrument.symbol} "
                              "to backtest")
        check_history(s.bars, s.settings, allow_short_history)
        s.settings.size.check_lots(s.bars.instrument, what=f"strategy {s.name}: size")
    currencies = sorted({s.bars.instrument.currency for s in sleeves})
    if len(currencies) > 1:
        listed = ", ".join(f"{s.name} {s.bars.instrument.currency}" for s in sleeves)
        raise ConfigError(f"the strategies trade in several currencies ({listed}); a "
                          "portfolio backtest totals equity in one currency and has no "
                          "exchange rates: backtest them separately")
    rates = {s.settings.risk_free_rate for s in sleeves}
    if len(rates) > 1:
        raise ConfigError("every strategy of a portfolio must use the same risk-free rate")


def _common_annualisation(sleeves: Sequence[Sleeve]) -> Annualisation:
    """The bars per year of the total curve: the strategies' own when they agree (same
    calendar rule and bar length, or the same override); else an override is needed."""
    annuals = [annualisation(s.bars, s.settings) for s in sleeves]
    first = annuals[0]
    if all(a.periods_per_year == first.periods_per_year for a in annuals):
        return first
    listed = "; ".join(f"{s.name}: {a.periods_per_year:,.0f} ({a.rule})"
                       for s, a in zip(sleeves, annuals, strict=True))
    raise ConfigError(f"the strategies' bars are annualised differently ({listed}): the "
                      "total equity curve has no single bars-per-year; pass "
                      "--periods-per-year")


def _factor(instrument: Instrument, unit: Decimal) -> int:
    factor = instrument.money_unit / unit
    if factor != factor.to_integral_value():  # pragma: no cover - common_money_unit divides
        raise ConfigError(f"{instrument.symbol}: money unit {instrument.money_unit} is not a "
                          f"multiple of {unit}")
    return int(factor)


def _kind(sleeve: Sleeve) -> str:
    s = sleeve.strategy
    return s if isinstance(s, str) else s.name


def _strategy_class(sleeve: Sleeve) -> type[Strategy]:
    return registry.get(sleeve.strategy) if isinstance(sleeve.strategy, str) else sleeve.strategy
