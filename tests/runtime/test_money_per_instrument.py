"""Money is exact per instrument in a session, whatever else the portfolio trades.

A strategy's ledger counts in its own instrument's money unit (tick × lot); the risk engine
adds the strategies up in the common unit of every instrument. Mixing instruments with
different tick sizes once counted a strategy's capital 10× (issue 8, item 1).
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trading_strategy.core.bars import BarSeries
from trading_strategy.core.instrument import Instrument
from trading_strategy.market_data.files import load_bars
from trading_strategy.orders.journal import InMemoryJournal
from trading_strategy.runtime.portfolio_config import parse_portfolio
from trading_strategy.runtime.session import PaperSession

_RISK = {"max_position_pct": 60, "max_drawdown_pct": 40, "day_calendar": "XNYS"}
_BASE = [
    {"name": "sma_goog", "strategy": "sma_crossover", "symbol": "GOOG", "capital": 50000,
     "size": "50", "params": {"fast": 10, "slow": 30}},
    {"name": "rsi_msft", "strategy": "rsi_reversion", "symbol": "MSFT", "capital": 50000,
     "size": "25%"},
]
_WINDOW = {"start": "2005-01-01", "end": "2007-12-31"}


def _goog() -> BarSeries:
    return load_bars("GOOG").bars


@cache
def _extra_series(tick: str, lot: str, currency: str) -> BarSeries:
    """A random walk on GOOG's timestamps, for an instrument of the given precision."""
    base = _goog()
    inst = Instrument("XTRA", tick_size=Decimal(tick), lot_size=Decimal(lot),
                      currency=currency)
    rng = np.random.default_rng(7)
    steps = rng.normal(0, 0.01, len(base))
    close = 2.0 * np.exp(np.cumsum(steps))
    t = float(tick)
    rounded = np.maximum(np.round(close / t) * t, t)
    high, low = rounded * 1.004, rounded * 0.996
    return BarSeries(inst, base.timeframe, base.ts.copy(), rounded.copy(), high, low,
                     rounded.copy(), np.full(len(base), 1e9))


def _source(extra: BarSeries | None) -> Any:
    def read(symbol: str, timeframe: str | None) -> BarSeries:
        if symbol == "XTRA" and extra is not None:
            return extra
        return load_bars(symbol, timeframe=timeframe).bars
    return read


def _run(tmp: Path, name: str, strategies: list[dict[str, Any]],
         extra: BarSeries | None = None, *, window: bool = True) -> Any:
    raw = {"session": {"name": name, **(_WINDOW if window else {})},
           "venue": {"commission": 0.001, "slippage_bps": 2},
           "strategies": strategies, "risk": dict(_RISK)}
    session = PaperSession(parse_portfolio(raw), data_dir=tmp,
                           journal_factory=lambda root: InMemoryJournal(),
                           bar_source=_source(extra))
    return session, asyncio.run(session.run())


def test_a_strategy_keeps_its_capital_next_to_an_fx_pair(tmp_path: Path) -> None:
    """The issue's portfolio: GOOG, MSFT and the bundled EURUSD (another tick size)."""
    eur = {"name": "sma_eur", "strategy": "sma_crossover", "symbol": "EURUSD",
           "capital": 50000, "size": "1000"}
    _, alone = _run(tmp_path / "a", "alone", _BASE[:1], window=False)
    session, mixed = _run(tmp_path / "b", "mixed", [*_BASE[:1], eur], window=False)
    assert alone.strategies["sma_goog"] == mixed.strategies["sma_goog"]
    # the figure of the issue: 68,474.67, not 518,474.67
    assert Decimal(mixed.strategies["sma_goog"]["equity"]).quantize(Decimal("0.01")) == \
        Decimal("68474.67")
    # the risk engine's account adds both strategies up in its common money unit
    unit = session.risk.money_unit
    total = sum(Decimal(r["equity"]) for r in mixed.strategies.values())
    assert session.execution.account.equity * unit == total


@cache
def _alone(tmp: str) -> dict[str, Any]:
    _, result = _run(Path(tmp), "alone", _BASE)
    return dict(result.strategies)


@settings(max_examples=6, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tick=st.sampled_from(["0.00001", "0.0001", "0.01", "0.5", "5"]),
       lot=st.sampled_from(["0.001", "1", "100", "1000"]),
       capital=st.integers(1_000, 10_000_000),
       currency=st.sampled_from(["USD", "EUR"]))
def test_an_unrelated_instrument_never_changes_another_strategys_result(
        tmp_path: Path, tick: str, lot: str, capital: int, currency: str) -> None:
    extra = _extra_series(tick, lot, currency)
    strategy = {"name": "sma_xtra", "strategy": "sma_crossover", "symbol": "XTRA",
                "capital": capital, "size": lot}
    run_dir = tmp_path / f"{tick}-{lot}-{capital}-{currency}"
    _, mixed = _run(run_dir, "mixed", [*_BASE, strategy], extra)
    alone = _alone(str(tmp_path / "alone"))
    for name in ("sma_goog", "rsi_msft"):
        assert mixed.strategies[name] == alone[name], (tick, lot, capital, currency)
