"""The public Python API: ``Backtest`` and its ``BacktestResult``.

pandas is imported only when a result's pandas attribute is read, so importing this
package (as the CLI does) stays cheap.
"""

from trading_strategy.api.backtest import Backtest
from trading_strategy.api.errors import ArgumentError, DataWarning
from trading_strategy.api.result import BacktestResult
from trading_strategy.api.strategy_ref import resolve_strategy

__all__ = ["ArgumentError", "Backtest", "BacktestResult", "DataWarning", "resolve_strategy"]
