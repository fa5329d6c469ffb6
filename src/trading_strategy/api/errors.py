"""The one error the Python API raises for a bad argument, and its data warning.

It is a ``ConfigError`` (so the CLI prints it as one line, like any user error) and a
``ValueError`` (what a notebook user expects from a bad argument and may already catch).
"""

from __future__ import annotations

from trading_strategy.core.errors import ConfigError


class ArgumentError(ConfigError, ValueError):
    """A bad argument of the Python API; the message names the argument and the fix."""


class DataWarning(UserWarning):
    """What the loader did to the data (adjusted prices applied, rows repaired, prices
    finer than the tick); shown once per ``Backtest`` so it is never silent."""
