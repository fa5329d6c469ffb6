"""The project's one exception tree.

::

    TradingStrategyError
    ├── UserError                 input a person can fix; the CLI prints its message on one line
    │   ├── ConfigError           settings file, environment variable or CLI option
    │   ├── ParameterError        a strategy parameter (names the valid ones)
    │   └── DataError             market data file or rows (names file, line and reason)
    ├── StrategyError             user strategy code raised; other strategies keep running
    ├── RetryableError            transient (network, venue busy): retry with backoff
    └── OperatorActionRequired    state only a person may resolve (halt, reconciliation mismatch)

Vendor and network errors are translated into this tree at the adapter edge.
"""

from __future__ import annotations


class TradingStrategyError(Exception):
    """Base of every error this package raises on purpose."""


class UserError(TradingStrategyError):
    """Bad input that the user can fix; the message says what and how."""


class ConfigError(UserError):
    """Invalid or missing configuration value."""


class ParameterError(UserError):
    """Invalid strategy parameter."""


class DataError(UserError):
    """Invalid market data. ``path`` and ``line`` locate the problem when known."""

    def __init__(self, reason: str, *, path: str | None = None, line: int | None = None) -> None:
        self.reason = reason
        self.path = path
        self.line = line
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(f"{where}{reason}")


class StrategyError(TradingStrategyError):
    """A strategy's own code raised; carries the strategy name and the callback."""

    def __init__(self, strategy: str, callback: str, cause: BaseException) -> None:
        self.strategy = strategy
        self.callback = callback
        self.cause = cause
        super().__init__(f"strategy {strategy!r} raised in {callback}: {cause!r}")


class RetryableError(TradingStrategyError):
    """A transient failure: the same call may succeed later."""


class OperatorActionRequired(TradingStrategyError):
    """A state that must not be resolved automatically."""
