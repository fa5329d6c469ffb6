"""What a search needs of ``trading_strategy.Backtest``, as a protocol: research sits below
the Python API (so ``Backtest.optimize`` can delegate here) and never imports it."""

from __future__ import annotations

from typing import Any, Protocol

from trading_strategy.backtesting.settings import BacktestSettings
from trading_strategy.core.bars import BarSeries
from trading_strategy.strategies.base import Strategy


class BacktestLike(Protocol):
    strategy: type[Strategy]
    settings: BacktestSettings
    bars: BarSeries
    allow_short_history: bool

    def run(self, **params: Any) -> Any:
        """A ``BacktestResult`` whose ``run`` is the engine-level result."""
