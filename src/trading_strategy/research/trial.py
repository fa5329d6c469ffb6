"""One evaluation of a strategy at one parameter point, as a worker computes it.

The worker returns plain data (a ``Trial``), never the engine: results cross process and
machine boundaries and are persisted line by line as they arrive.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from trading_strategy.core.errors import ParameterError, UserError

if TYPE_CHECKING:
    from trading_strategy.backtesting.metrics import Metrics
    from trading_strategy.research.target import BacktestLike

#: a trial's outcome: ``ok``; ``invalid`` (the strategy's own validation refused the point,
#: e.g. fast >= slow); ``error`` (the run failed, or its worker died twice)
STATUSES = ("ok", "invalid", "error")

#: per-trial equity is kept at this many evenly spaced points (enough for CSCV's splits
#: without shipping a million floats per trial across the network)
RETURN_POINTS = 1000


@dataclass(slots=True)
class Trial:
    index: int
    params: dict[str, Any]
    status: str
    stats: dict[str, Any] = field(default_factory=dict)
    #: simple returns between RETURN_POINTS evenly spaced equity marks (for PBO)
    returns: list[float] = field(default_factory=list)
    #: closed trades' returns (pnl over entry notional), in order (for the bootstrap)
    trade_returns: list[float] = field(default_factory=list)
    #: the strategy's own per-bar return statistics (for the deflated Sharpe ratio)
    bar_moments: dict[str, float] = field(default_factory=dict)
    message: str = ""
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> Trial:
        return cls(**{k: row[k] for k in cls.__dataclass_fields__ if k in row})


def sampled_returns(equity: np.ndarray[Any, Any], points: int = RETURN_POINTS) -> list[float]:
    """Returns between ``points + 1`` evenly spaced marks of ``equity``."""
    n = len(equity)
    if n < 2:
        return []
    marks = np.unique(np.linspace(0, n - 1, min(points, n - 1) + 1).round().astype(np.int64))
    values = np.asarray(equity, dtype=np.float64)[marks]
    with np.errstate(divide="ignore", invalid="ignore"):
        out = values[1:] / values[:-1] - 1.0
    return [float(x) if math.isfinite(x) else 0.0 for x in out]


def bar_moments(equity: np.ndarray[Any, Any]) -> dict[str, float]:
    """Per-bar return count, Sharpe (not annualised), skewness and (non-excess) kurtosis.

    Central moments from dot products of the deviations: a few passes over a
    million-bar curve per trial instead of a dozen."""
    values = np.asarray(equity, dtype=np.float64)
    if values.size < 3 or values[:-1].min() <= 0:
        return {}
    r = values[1:] / values[:-1]
    r -= 1.0
    n = r.size
    mean = float(r.mean())
    d = r - mean
    d2 = d * d
    ss = float(d2.sum())
    if ss == 0.0:
        return {}
    variance = ss / n
    return {"n": float(n), "sharpe": mean / math.sqrt(ss / (n - 1)),
            "skew": float(np.dot(d2, d)) / n / variance ** 1.5,
            "kurtosis": float(np.dot(d2, d2)) / n / variance ** 2}


def evaluate(backtest: BacktestLike, index: int, params: dict[str, Any],
             points: int = RETURN_POINTS) -> Trial:
    """Run ``backtest`` at ``params``; never raises for a user error (it is a row)."""
    started = time.perf_counter()
    try:
        result = backtest.run(**params).run
    except ParameterError as exc:
        return invalid_trial(index, params, exc)
    except (UserError, ValueError, ArithmeticError) as exc:
        return Trial(index, params, "error", message=str(exc))
    trades = result.engine.ledger.trades
    return finished_trial(index, params, equity=result.equity, metrics=result.metrics,
                          trade_returns=[float(t.pnl() / t.entry_value) for t in trades
                                         if not t.is_open and t.entry_value],
                          open_trades=sum(1 for t in trades if t.is_open), started=started,
                          points=points)


def invalid_trial(index: int, params: dict[str, Any], exc: ParameterError) -> Trial:
    """The row of a point the strategy's own validation refused."""
    return Trial(index, params, "invalid", message=str(exc).split(" (valid")[0])


def finished_trial(index: int, params: dict[str, Any], *, equity: np.ndarray[Any, Any],
                   metrics: Metrics, trade_returns: list[float], open_trades: int,
                   started: float, points: int = RETURN_POINTS) -> Trial:
    """The row of a run (the engine's or the fast path's): its metrics, open trades, final
    equity and the diagnostics' inputs (``trade_returns``: the closed trades' P&L over
    entry value, oldest first)."""
    stats: dict[str, Any] = dict(metrics.as_dict())
    stats["open_trades"] = open_trades
    stats["final_equity"] = float(equity[-1])
    return Trial(index, params, "ok", stats=stats,
                 returns=sampled_returns(equity, points),
                 trade_returns=trade_returns, bar_moments=bar_moments(equity),
                 seconds=time.perf_counter() - started)
