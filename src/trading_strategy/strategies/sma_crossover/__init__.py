"""SMA crossover: long when the fast simple moving average crosses above the slow one.

Rules (decided on a bar's close, executed by the venue from the next bar):

* fast SMA crosses **above** slow SMA → close any short, then go long (if not already);
* fast SMA crosses **below** slow SMA → close any long; with ``allow_short`` go short.

Crossing is defined in ``strategies.indicators.crossover``: up on bar t when fast > slow on t
and fast ≤ slow on t-1, so an exact tie never swallows a signal. SMAs are computed without
float drift, so backtest (vectorized) and live (incremental) resolve ties identically.
"""

from trading_strategy.strategies.sma_crossover.strategy import SmaCrossover, SmaCrossoverParams

__all__ = ["SmaCrossover", "SmaCrossoverParams"]
