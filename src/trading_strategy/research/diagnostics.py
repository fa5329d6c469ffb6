"""Overfitting diagnostics of a parameter search; pure functions on numbers, no I/O.

* ``deflated_sharpe_ratio``: Bailey & López de Prado (2014), "The Deflated Sharpe Ratio:
  Correcting for Selection Bias, Backtest Overfitting and Non-Normality", J. Portfolio
  Management 40(5): the probability that the best Sharpe ratio found is above zero once the
  number of trials and the returns' skewness and kurtosis are accounted for.
* ``pbo_cscv``: Bailey, Borwein, López de Prado & Zhu (2015/2017), "The Probability of
  Backtest Overfitting", J. Computational Finance 20(4): combinatorially symmetric
  cross-validation over S blocks of the trials' return matrix.
* ``bootstrap_trades``: resampling the trade sequence with replacement for confidence
  intervals of the compounded return, the per-trade Sharpe ratio and the max drawdown.
* ``stability``: is the optimum a plateau (its neighbours nearly as good) or a spike?

Sharpe ratios here are per observation (not annualised), as the papers use them.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
EULER_GAMMA = 0.5772156649015329
_N = NormalDist()


# --------------------------------------------------------------------- deflated Sharpe
def expected_max_sharpe(sr_variance: float, n_trials: int) -> float:
    """SR0: the expected maximum of ``n_trials`` Sharpe ratios whose true value is zero and
    whose estimates have variance ``sr_variance`` (DSR paper, eq. 2, from the False
    Strategy theorem)."""
    if n_trials < 2 or sr_variance <= 0.0:
        return 0.0
    n = float(n_trials)
    return math.sqrt(sr_variance) * ((1.0 - EULER_GAMMA) * _N.inv_cdf(1.0 - 1.0 / n)
                                     + EULER_GAMMA * _N.inv_cdf(1.0 - 1.0 / (n * math.e)))


def probabilistic_sharpe_ratio(sr: float, sr_benchmark: float, n_obs: int, skew: float,
                               kurtosis: float) -> float:
    """PSR: P(true SR > ``sr_benchmark``) given an observed per-period ``sr`` over ``n_obs``
    returns of skewness ``skew`` and (non-excess) ``kurtosis`` (DSR paper, eq. 1)."""
    if n_obs < 2:
        return float("nan")
    spread = 1.0 - skew * sr + (kurtosis - 1.0) / 4.0 * sr * sr
    if spread <= 0.0:
        return float("nan")
    return _N.cdf((sr - sr_benchmark) * math.sqrt(n_obs - 1.0) / math.sqrt(spread))


@dataclass(frozen=True, slots=True)
class DeflatedSharpe:
    dsr: float
    sr: float
    sr0: float
    n_trials: int
    n_obs: int

    def verdict(self) -> str:
        if math.isnan(self.dsr):
            return "the deflated Sharpe ratio is undefined (too few returns)"
        if self.dsr >= 0.95:
            return (f"the best Sharpe ratio is significant after {self.n_trials} trials "
                    f"(DSR {self.dsr:.2f} >= 0.95)")
        return (f"the best Sharpe ratio is NOT significant after {self.n_trials} trials "
                f"(DSR {self.dsr:.2f} < 0.95): it is what luck alone finds in that many tries")


def deflated_sharpe_ratio(sr: float, n_obs: int, skew: float, kurtosis: float,
                          n_trials: int, sr_variance: float) -> DeflatedSharpe:
    """DSR = PSR(SR0), SR0 the expected best of ``n_trials`` unskilled trials."""
    sr0 = expected_max_sharpe(sr_variance, n_trials)
    return DeflatedSharpe(probabilistic_sharpe_ratio(sr, sr0, n_obs, skew, kurtosis),
                          sr, sr0, n_trials, n_obs)


# ----------------------------------------------------------------------------- CSCV/PBO
def _sharpe_columns(block: FloatArray) -> FloatArray:
    mean = block.mean(axis=0)
    sd = block.std(axis=0, ddof=1)
    out: FloatArray = np.divide(mean, sd, out=np.zeros_like(mean), where=sd > 0)
    return out


@dataclass(frozen=True, slots=True)
class PBO:
    pbo: float
    logits: tuple[float, ...]
    splits: int

    def verdict(self) -> str:
        if math.isnan(self.pbo):
            return "the probability of backtest overfitting is undefined (too few trials)"
        level = ("low" if self.pbo < 0.2 else "moderate" if self.pbo < 0.5 else "high")
        return (f"probability of backtest overfitting {self.pbo:.0%} ({level}): the "
                f"in-sample best ranks below the median out of sample in "
                f"{self.pbo:.0%} of {len(self.logits)} splits")


def pbo_cscv(matrix: npt.ArrayLike, splits: int = 16) -> PBO:
    """PBO by CSCV (paper, section 2): the T x N matrix of N trials' returns is cut into
    ``splits`` (S, even) row blocks; for every choice of S/2 blocks as in-sample the trial
    best in-sample is ranked out of sample among all N (ties share the average rank),
    ω = rank / (N + 1), λ = ln(ω / (1 - ω)); PBO is the share of λ <= 0. Trailing rows
    that do not fill a block are dropped, so every block has the same length."""
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2:
        raise ValueError(f"the returns matrix must be T x N, got shape {m.shape}")
    if splits < 2 or splits % 2:
        raise ValueError(f"splits must be even and at least 2, got {splits}")
    rows, n = m.shape
    size = rows // splits
    if n < 2 or size < 2:
        return PBO(float("nan"), (), splits)
    blocks = [m[i * size:(i + 1) * size] for i in range(splits)]
    logits = []
    for chosen in itertools.combinations(range(splits), splits // 2):
        rest = [i for i in range(splits) if i not in chosen]
        train = _sharpe_columns(np.vstack([blocks[i] for i in chosen]))
        test = _sharpe_columns(np.vstack([blocks[i] for i in rest]))
        best = int(np.argmax(train))
        rank = float(np.sum(test < test[best])) + (float(np.sum(test == test[best])) + 1) / 2
        omega = rank / (n + 1)
        logits.append(math.log(omega / (1.0 - omega)))
    return PBO(float(np.mean(np.asarray(logits) <= 0.0)), tuple(logits), splits)


# ---------------------------------------------------------------------------- bootstrap
def compounded_max_drawdown(returns: FloatArray) -> float:
    """Deepest fall from a running peak of the curve ``prod(1 + r)`` (starting at 1), a
    positive fraction."""
    curve = np.concatenate(([1.0], np.cumprod(1.0 + np.asarray(returns, dtype=np.float64))))
    peak = np.maximum.accumulate(curve)
    return float(np.max(1.0 - curve / peak))


@dataclass(frozen=True, slots=True)
class Interval:
    value: float
    low: float
    high: float


@dataclass(frozen=True, slots=True)
class Bootstrap:
    total_return: Interval
    sharpe: Interval
    max_drawdown: Interval
    samples: int
    confidence: float
    trades: int

    def verdict(self) -> str:
        tr = self.total_return
        pct = f"{self.confidence:.0%}"
        if tr.low > 0:
            return (f"{pct} of resampled trade sequences keep a positive return "
                    f"({tr.low:+.1%} .. {tr.high:+.1%})")
        return (f"the {pct} interval of the return reaches a loss ({tr.low:+.1%} .. "
                f"{tr.high:+.1%}): the result depends on a few lucky trades")

    def as_dict(self) -> dict[str, Any]:
        return {"samples": self.samples, "confidence": self.confidence, "trades": self.trades,
                **{name: {"value": iv.value, "low": iv.low, "high": iv.high}
                   for name, iv in (("total_return", self.total_return),
                                    ("sharpe", self.sharpe),
                                    ("max_drawdown", self.max_drawdown))}}


def _per_trade_sharpe(r: FloatArray) -> float:
    sd = float(np.std(r, ddof=1)) if r.size > 1 else 0.0
    return float(np.mean(r)) / sd if sd > 0 else 0.0


def bootstrap_trades(trade_returns: npt.ArrayLike, samples: int = 2000, seed: int = 0,
                     confidence: float = 0.95) -> Bootstrap | None:
    """Percentile intervals from ``samples`` resamples (with replacement, same length) of
    the trade returns: compounded total return, per-trade Sharpe ratio, max drawdown of
    the compounded curve. None with fewer than two trades."""
    r = np.asarray(trade_returns, dtype=np.float64)
    if r.size < 2:
        return None
    rng = np.random.default_rng(seed)
    draws = r[rng.integers(0, r.size, size=(samples, r.size))]
    totals = np.prod(1.0 + draws, axis=1) - 1.0
    means = draws.mean(axis=1)
    sds = draws.std(axis=1, ddof=1)
    sharpes = np.divide(means, sds, out=np.zeros_like(means), where=sds > 0)
    curves = np.cumprod(1.0 + draws, axis=1)
    curves = np.concatenate((np.ones((samples, 1)), curves), axis=1)
    drawdowns = np.max(1.0 - curves / np.maximum.accumulate(curves, axis=1), axis=1)
    tail = (1.0 - confidence) / 2 * 100

    def interval(point: float, values: FloatArray) -> Interval:
        lo, hi = np.percentile(values, [tail, 100 - tail])
        return Interval(point, float(lo), float(hi))

    return Bootstrap(interval(float(np.prod(1.0 + r) - 1.0), totals),
                     interval(_per_trade_sharpe(r), sharpes),
                     interval(compounded_max_drawdown(r), drawdowns),
                     samples, confidence, int(r.size))


# ---------------------------------------------------------------------------- stability
@dataclass(frozen=True, slots=True)
class Stability:
    verdict_word: str  # "plateau", "spike" or "undefined"
    ratio: float
    neighbours: int

    def verdict(self) -> str:
        if self.verdict_word == "plateau":
            return (f"the optimum is a plateau: its {self.neighbours} neighbours keep "
                    f"{self.ratio:.0%} of its edge over the typical point")
        if self.verdict_word == "spike":
            return (f"the optimum is a spike: its {self.neighbours} neighbours keep only "
                    f"{self.ratio:.0%} of its edge over the typical point; a small change "
                    f"of parameters loses it")
        return "parameter stability is undefined (no scored neighbours)"


def stability(scores: npt.ArrayLike, maximize: bool = True, threshold: float = 0.5) -> Stability:
    """Over an N-dimensional grid of objective values (NaN where a point has no score):
    ratio = (median of the best point's neighbours − median of all) / (best − median of
    all), neighbours being the points one grid step away in any direction (diagonals too).
    A plateau when the ratio is at least ``threshold``."""
    grid = np.asarray(scores, dtype=np.float64)
    if not maximize:
        grid = -grid
    if grid.size == 0 or np.all(np.isnan(grid)):
        return Stability("undefined", float("nan"), 0)
    best_at = np.unravel_index(int(np.nanargmax(grid)), grid.shape)
    best, typical = float(grid[best_at]), float(np.nanmedian(grid))
    at = [int(i) for i in best_at]
    around = grid[tuple(slice(max(i - 1, 0), i + 2) for i in at)].copy()
    around[tuple(min(i, 1) for i in at)] = np.nan
    values = around[~np.isnan(around)]
    if values.size == 0:
        return Stability("undefined", float("nan"), 0)
    if best == typical:  # a flat surface: every point is as good as the best
        return Stability("plateau", 1.0, int(values.size))
    ratio = (float(np.median(values)) - typical) / (best - typical)
    return Stability("plateau" if ratio >= threshold else "spike", ratio, int(values.size))
