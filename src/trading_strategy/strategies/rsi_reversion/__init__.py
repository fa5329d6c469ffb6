"""RSI mean reversion: buy an oversold market, sell it when it turns overbought.

Rules (decided on a bar's close):

* flat and RSI(period) < ``oversold`` → buy;
* long and RSI(period) > ``overbought`` → close the position.

RSI is Wilder's (see ``strategies.indicators.rsi``). Long only: mean reversion on the short
side of equities is a different strategy.
"""

from trading_strategy.strategies.rsi_reversion.strategy import RsiReversion, RsiReversionParams

__all__ = ["RsiReversion", "RsiReversionParams"]
