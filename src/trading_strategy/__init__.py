"""trading-strategy: develop, backtest and run algorithmic trading strategies.

One strategy code path from research to live: the backtester and the live runtime are two
drivers of the same strategy, risk and order pieces.
"""

from trading_strategy._version import __version__

__all__ = ["__version__"]
