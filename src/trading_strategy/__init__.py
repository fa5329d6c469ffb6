"""trading-strategy: develop, backtest and run algorithmic trading strategies.

One strategy code path from research to live: the backtester and the live runtime are two
drivers of the same strategy, risk and order pieces.

The names below are imported on first use (module ``__getattr__``), so ``import
trading_strategy`` costs next to nothing and the CLI never loads what it does not need::

    from trading_strategy import Backtest, Strategy, StrategyParams
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from trading_strategy._version import __version__

if TYPE_CHECKING:
    from trading_strategy.api import ArgumentError, Backtest, BacktestResult
    from trading_strategy.strategies.base import Strategy, StrategyParams
    from trading_strategy.strategies.context import Context, FillEvent, OrderEvent, Series
    from trading_strategy.strategies.registry import register
    from trading_strategy.strategies.views import OrderView, PositionView, TradeView

# public name -> module that defines it
_LAZY = {
    "ArgumentError": "trading_strategy.api",
    "Backtest": "trading_strategy.api",
    "BacktestResult": "trading_strategy.api",
    "Context": "trading_strategy.strategies.context",
    "FillEvent": "trading_strategy.strategies.context",
    "OrderEvent": "trading_strategy.strategies.context",
    "OrderView": "trading_strategy.strategies.views",
    "PositionView": "trading_strategy.strategies.views",
    "Series": "trading_strategy.strategies.context",
    "Strategy": "trading_strategy.strategies.base",
    "StrategyParams": "trading_strategy.strategies.base",
    "TradeView": "trading_strategy.strategies.views",
    "register": "trading_strategy.strategies.registry",
}

__all__ = [
    "ArgumentError",
    "Backtest",
    "BacktestResult",
    "Context",
    "FillEvent",
    "OrderEvent",
    "OrderView",
    "PositionView",
    "Series",
    "Strategy",
    "StrategyParams",
    "TradeView",
    "__version__",
    "register",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'trading_strategy' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
