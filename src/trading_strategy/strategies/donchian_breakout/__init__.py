"""Donchian breakout with an ATR stop: the classic turtle-style trend entry.

Rules (decided on a bar's close):

* flat and close > the highest high of the previous ``channel`` bars → buy, with a
  protective stop ``atr_stop`` × ATR(``atr_period``) below the close (a bracket stop-loss
  order the venue executes intrabar);
* long and close < the lowest low of the previous ``channel`` bars → close the position
  (which cancels the stop).

The channel excludes the current bar (it is read one bar back), otherwise a close could never
exceed a high that includes its own bar.
"""

from trading_strategy.strategies.donchian_breakout.strategy import (
    DonchianBreakout,
    DonchianBreakoutParams,
)

__all__ = ["DonchianBreakout", "DonchianBreakoutParams"]
