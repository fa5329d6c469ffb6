"""The guard every driver calls a strategy through (habit 2 of the architecture notes).

A strategy's exception becomes a ``StrategyError`` naming the strategy, the callback and the
file and line of the strategy's own code that raised (found in the exception's traceback:
see ``core.errors.strategy_frame``; one already raised as such passes through), so the
driver can log it and keep the other strategies running: the backtest engine stops the
run, the session's supervisor restarts the strategy's runner. ``on_bar`` is guarded inline
in the drivers' hot loops, with the same rule, because a call per bar costs more than the
rest of the bar's work.
"""

from __future__ import annotations

from collections.abc import Callable

from trading_strategy.core.errors import StrategyError

__all__ = ["guarded"]


def guarded(strategy: str, callback: str, fn: Callable[[], None]) -> None:
    """Run ``fn`` (one of ``strategy``'s callbacks, named ``callback`` in the error)."""
    try:
        fn()
    except StrategyError:
        raise
    except Exception as exc:
        raise StrategyError(strategy, callback, exc) from exc
