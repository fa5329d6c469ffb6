"""A notebook quick start: paste it into a cell (or run it) to backtest from Python.

Needs pandas (and pyarrow to pass a DataFrame). Writes ``quickstart_report.html`` into the
current folder. tests/api/test_docs.py runs this file.
"""

import numpy as np
import pandas as pd
from pydantic import Field

from trading_strategy import Backtest, Strategy, StrategyParams

# 1. A built-in strategy on a bundled sample, costs as on the command line.
result = Backtest("GOOG", "sma_crossover", commission=0.001, slippage=2).run(fast=10, slow=30)
print(result.stats[["total_return", "cagr", "sharpe", "max_drawdown", "trades"]])
print(result.trades.tail(3))


# 2. Your own strategy, written here, with typed parameters.
class MomentumParams(StrategyParams):
    lookback: int = Field(20, ge=2, description="bars of momentum")


class Momentum(Strategy):
    """Long while the close is above its close `lookback` bars ago."""

    Params = MomentumParams

    def on_bar(self) -> None:
        close = self.ctx.bars.close
        if len(close) <= self.params.lookback:
            return
        rising = close[0] > close[self.params.lookback]
        if rising and self.ctx.is_flat:
            self.ctx.buy()
        elif not rising and self.ctx.is_long:
            self.ctx.close()


# 3. Your own data: any OHLCV DataFrame with a DatetimeIndex (here a random walk).
index = pd.bdate_range("2016-01-01", periods=2000, tz="UTC")
rng = np.random.default_rng(42)
close = 50 * np.exp(np.cumsum(rng.normal(0.0003, 0.012, len(index))))
frame = pd.DataFrame({"Open": close * (1 + rng.normal(0, 0.002, len(index))),
                      "Close": close, "Volume": 10_000}, index=index)
frame["High"] = frame[["Open", "Close"]].max(axis=1) * 1.004
frame["Low"] = frame[["Open", "Close"]].min(axis=1) * 0.996
frame = frame.round(2)

mine = Backtest(frame, Momentum, symbol="WALK", commission=0.0005, size="50%").run(lookback=30)
print(mine.stats[["total_return", "sharpe", "max_drawdown", "trades"]])
print(mine.equity.tail(3))

# 4. A parameter sweep is a loop; each run is one call.
sweep = pd.Series({n: Backtest(frame, Momentum, symbol="WALK").run(lookback=n)
                   .stats["sharpe"] for n in (10, 20, 40)}, name="sharpe")
print(sweep)

# 5. The full report, as `trading-strategy backtest --html` writes it.
mine.to_html("quickstart_report.html")
mine  # noqa: B018 - in a notebook, this line shows the statistics and the equity chart
