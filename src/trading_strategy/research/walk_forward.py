"""Walk-forward analysis: parameters chosen in-sample by the objective, scored out of sample.

Windows are rolling (each training span as long as ``train``) or anchored (each training
span starts at the first bar). The parameters a window's search chooses run from that
window's training start through its test end, so their indicators are warm when the test
begins; only the test bars' returns count. The test spans follow each other without
overlap, and their returns, chained, are the stitched out-of-sample equity curve.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from trading_strategy.core.errors import ConfigError
from trading_strategy.research.bayes import MEMORY
from trading_strategy.research.grid import Constraint, ParamSpace
from trading_strategy.research.sweep import FastOption, Progress, optimize, periods_per_year_of

if TYPE_CHECKING:
    from trading_strategy.research.target import BacktestLike

_SPAN = re.compile(r"^\s*(\d+)\s*(y|m|w|d|h|b)\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Span:
    """A window length: years, months, weeks, days or hours of calendar time, or bars."""

    count: int
    unit: str

    @classmethod
    def parse(cls, text: str, what: str) -> Span:
        match = _SPAN.match(str(text))
        if match is None or int(match.group(1)) <= 0:
            raise ConfigError(f"--{what} expects a length such as 2y, 6m, 12w, 30d, 24h or "
                              f"500b (bars), got {text!r}")
        return cls(int(match.group(1)), match.group(2).lower())

    def advance(self, ts: np.ndarray[Any, Any], start: int) -> int:
        """The index of the first bar at or after ``ts[start]`` plus this span."""
        return self._step(ts, start, 1)

    def back(self, ts: np.ndarray[Any, Any], end: int) -> int:
        """The index of the first bar at or after ``ts[end]`` minus this span."""
        return self._step(ts, end, -1)

    def _step(self, ts: np.ndarray[Any, Any], at: int, sign: int) -> int:
        if self.unit == "b":
            return max(at + sign * self.count, 0)
        import pandas as pd  # type: ignore[import-untyped, import-not-found, unused-ignore]

        offset = {"y": pd.DateOffset(years=self.count), "m": pd.DateOffset(months=self.count),
                  "w": pd.Timedelta(weeks=self.count), "d": pd.Timedelta(days=self.count),
                  "h": pd.Timedelta(hours=self.count)}[self.unit]
        now = pd.Timestamp(int(ts[at]), tz="UTC")
        target = (now + offset if sign > 0 else now - offset).value
        return int(np.searchsorted(ts, target, side="left"))

    def __str__(self) -> str:
        return f"{self.count}{self.unit}"


@dataclass(slots=True)
class Window:
    train: tuple[int, int]  # bar indices, end exclusive
    test: tuple[int, int]
    params: dict[str, Any] | None = None
    train_score: float | None = None
    test_returns: np.ndarray[Any, Any] = field(default_factory=lambda: np.zeros(0))
    counts: dict[str, int] = field(default_factory=dict)
    verdicts: list[str] = field(default_factory=list)


def windows(n_bars: int, ts: np.ndarray[Any, Any], train: Span, test: Span,
            anchored: bool) -> list[Window]:
    """Consecutive (train, test) index spans; the last test span may be shorter."""
    out: list[Window] = []
    start, train_end = 0, train.advance(ts, 0)
    while train_end < n_bars:
        test_end = min(test.advance(ts, train_end), n_bars)
        if test_end - train_end < 2:
            break
        out.append(Window((start, train_end), (train_end, test_end)))
        # the next test span starts where this one ended: no bar is skipped or repeated
        train_end = test_end
        if not anchored and train_end < n_bars:
            start = train.back(ts, train_end)
    return out


def _sliced(backtest: BacktestLike, lo: int, hi: int) -> BacktestLike:
    part = copy.copy(backtest)
    bars = backtest.bars
    part.bars = bars.between(int(bars.ts[lo]), int(bars.ts[hi - 1]))
    part.allow_short_history = True  # the user chose the window lengths
    return part


class WalkForwardResult:
    """``windows`` (each: spans, chosen params, in-sample score, out-of-sample returns),
    ``equity`` (the stitched out-of-sample curve), ``stats``, ``window_rows()``,
    ``to_json``, ``to_html``."""

    def __init__(self, backtest: BacktestLike, found: list[Window], objective: str,
                 train: Span, test: Span, anchored: bool, periods_per_year: float,
                 cash: float) -> None:
        self.backtest = backtest
        self.windows = found
        self.objective = objective
        self.train, self.test, self.anchored = train, test, anchored
        self.periods_per_year = periods_per_year
        returns = (np.concatenate([w.test_returns for w in found]) if found
                   else np.zeros(0))
        self.returns = returns
        self.equity = cash * np.concatenate(([1.0], np.cumprod(1.0 + returns)))

    @property
    def stats(self) -> dict[str, float | int | None]:
        from trading_strategy.backtesting import metrics

        eq = self.equity
        if eq.size < 3:
            return {"windows": len(self.windows), "oos_bars": int(self.returns.size)}
        return {
            "windows": len(self.windows), "oos_bars": int(self.returns.size),
            "total_return": float(eq[-1] / eq[0] - 1.0),
            "cagr": metrics.cagr(eq, self.periods_per_year),
            "volatility": metrics.annualized_volatility(self.returns, self.periods_per_year),
            "sharpe": metrics.sharpe_ratio(self.returns, self.periods_per_year),
            "max_drawdown": metrics.max_drawdown(eq)[0],
        }

    def window_rows(self) -> list[dict[str, Any]]:
        ts = self.backtest.bars.ts
        from trading_strategy.backtesting import metrics

        rows = []
        for i, w in enumerate(self.windows, start=1):
            r = w.test_returns
            rows.append({
                "window": i, "train_start": _day(ts[w.train[0]]),
                "train_end": _day(ts[w.train[1] - 1]), "test_start": _day(ts[w.test[0]]),
                "test_end": _day(ts[w.test[1] - 1]),
                "params": "–" if w.params is None else ", ".join(
                    f"{k}={v}" for k, v in w.params.items()),
                "train_score": w.train_score,
                "test_return": float(np.prod(1.0 + r) - 1.0) if r.size else None,
                "test_sharpe": metrics.sharpe_ratio(r, self.periods_per_year)
                if r.size > 1 else None,
            })
        return rows

    @property
    def verdicts(self) -> list[str]:
        s = self.stats
        scores = [w.train_score for w in self.windows if w.train_score is not None]
        lines = []
        oos = s.get("sharpe")
        if self.objective == "maximize sharpe" and scores and isinstance(oos, float):
            mean_is = float(np.mean(scores))
            ratio = oos / mean_is if mean_is > 0 else float("nan")
            if math.isfinite(ratio):
                word = ("holds up" if ratio >= 0.5 else "degrades" if ratio > 0
                        else "vanishes")
                lines.append(f"the edge {word} out of sample: Sharpe {oos:.2f} out of sample "
                             f"against {mean_is:.2f} in sample on average "
                             f"(efficiency {ratio:.0%})")
        total = s.get("total_return")
        if isinstance(total, float):
            lines.append(f"stitched out-of-sample return {total:+.1%} over "
                         f"{len(self.windows)} windows")
        changes = sum(1 for a, b in zip(self.windows, self.windows[1:], strict=False)
                      if a.params != b.params)
        if len(self.windows) > 1:
            lines.append(f"the chosen parameters changed {changes} times in "
                         f"{len(self.windows) - 1} steps"
                         + (": unstable, the optimum moves with the data"
                            if changes > (len(self.windows) - 1) / 2 else ""))
        return lines

    def describe(self) -> str:
        kind = "anchored" if self.anchored else "rolling"
        return (f"{kind} walk-forward, train {self.train}, test {self.test}, "
                f"{self.objective}: {len(self.windows)} windows")

    def to_dict(self) -> dict[str, Any]:
        from trading_strategy.research.results import clean

        out: dict[str, Any] = clean({"description": self.describe(), "stats": self.stats,
                      "verdicts": self.verdicts, "windows": self.window_rows(),
                      "chosen_params": [w.params for w in self.windows],
                      "equity": [float(x) for x in self.equity]})
        return out

    def to_json(self) -> str:
        import json

        return json.dumps(self.to_dict(), indent=2, default=str, allow_nan=False)

    def html(self, title: str = "Walk-forward") -> str:
        from trading_strategy.research.report import render_walk_forward

        return render_walk_forward(self, title)


def _day(ns: Any) -> str:
    return str(np.datetime64(int(ns), "ns").astype("datetime64[s]")).replace("T00:00:00", "")


def walk_forward(backtest: BacktestLike, params: Mapping[str, Any] | Iterable[str], *,
                 train: str = "2y", test: str = "6m", anchored: bool = False,
                 maximize: str | None = None, minimize: str | None = None,
                 constraints: Iterable[str | Constraint] = (), method: str = "grid",
                 trials: int | None = None, seed: int | None = 0,
                 workers: int | None = None, dask_scheduler: str | None = None,
                 storage: str | None = None,
                 progress: Progress | None = None,
                 fast: FastOption = "auto") -> WalkForwardResult:
    """Walk ``backtest``'s bars forward; see the module docstring.

    ``method="bayes"`` runs an Optuna search of ``trials`` trials (default 50) in each
    training window. Its studies live in memory unless ``storage`` (a database URL) is
    given: then each window's study is named after its training span, so the same
    walk-forward run again resumes window by window instead of starting over."""
    train_span, test_span = Span.parse(train, "train"), Span.parse(test, "test")
    ParamSpace.parse(params)  # a bad --param fails before any window runs
    rules = list(constraints)
    bars = backtest.bars
    found = windows(len(bars), bars.ts, train_span, test_span, anchored)
    if not found:
        raise ConfigError(f"the data ({len(bars)} bars) is shorter than one training span "
                          f"({train_span}) plus a test span")
    objective = ""
    for number, w in enumerate(found, start=1):
        search = optimize(_sliced(backtest, *w.train), params, maximize=maximize,
                          minimize=minimize, constraints=rules, method=method,
                          trials=trials, seed=seed, workers=workers,
                          dask_scheduler=dask_scheduler, fast=fast,
                          storage=(storage or MEMORY) if method == "bayes" else None)
        objective = str(search.objective)
        w.counts = search.counts
        best = search.best
        if best is not None:
            w.params, w.train_score = dict(best.params), search.score(best)
            run = _sliced(backtest, w.train[0], w.test[1]).run(**w.params).run
            eq = np.asarray(run.equity, dtype=np.float64)
            tail = eq[w.test[0] - w.train[0] - 1:]
            w.test_returns = tail[1:] / tail[:-1] - 1.0
        else:  # nothing eligible in sample: out of the market for the test span
            w.test_returns = np.zeros(w.test[1] - w.test[0])
        if progress is not None:
            progress(number, len(found), 0.0, None)
    return WalkForwardResult(backtest, found, objective, train_span, test_span, anchored,
                             periods_per_year_of(backtest),
                             float(backtest.settings.initial_cash))
