"""Performance statistics of a backtest: pure functions of an equity curve and closed trades.

Nothing here touches a file, socket or clock; the engine and the report feed it numbers.
Floats are fine here: these are statistics, not money that is stored or sent to a venue.

Definitions
-----------
Let ``E_0 .. E_{n-1}`` be the equity curve and ``n = len(equity)``.

- Equity is the curve marked to market at each bar's close; returns are simple periodic
  returns ``r_t = E_t / E_{t-1} - 1`` (t >= 1), so there are ``n - 1`` of them.
- ``total_return = E_last / E_first - 1``.
- ``years = len(equity) / periods_per_year`` (number of bars over bars per year);
  ``cagr = (E_last / E_first) ** (1 / years) - 1``; None if ``years <= 0`` or ``E_last <= 0``.
- Per-period risk-free rate ``rf_p = (1 + risk_free_rate) ** (1 / periods_per_year) - 1``.
- ``volatility = std(r, ddof=1) * sqrt(periods_per_year)``; None if fewer than 2 returns.
- ``sharpe = mean(r - rf_p) / std(r - rf_p, ddof=1) * sqrt(periods_per_year)``; None if
  fewer than 2 returns or ``std == 0``.
- ``sortino = mean(r - rf_p) / DD * sqrt(periods_per_year)`` with
  ``DD = sqrt(mean(min(0, r - rf_p) ** 2))`` over ALL periods (downside deviation with
  target ``rf_p``, as in empyrical); None if ``DD == 0`` or fewer than 2 returns.
- ``max_drawdown = max over t of 1 - E_t / max_{s<=t} E_s`` (a positive fraction: 0.25
  means -25%). ``max_drawdown_duration`` is the longest drawdown in bars, counted from
  the bar after the peak through the bar that regains the peak (``E_t >= peak``), or
  through the last bar if the peak is never regained. It is the longest episode, not
  necessarily the deepest one. Example: ``[100, 110, 99, 120]`` peaks at 110 (bar 1),
  is below it on bar 2 and regains it on bar 3: duration 2.
- ``calmar = cagr / max_drawdown``; None if ``max_drawdown == 0`` or ``cagr`` is None.
- ``win_rate = wins / trades`` where a win is ``pnl > 0`` (a loss is ``pnl < 0``; a
  trade with ``pnl == 0`` is neither but still counts as a trade); None when no trades.
  ``profit_factor = sum(pnl of wins) / |sum(pnl of losses)|``; None when there are no
  losing trades or no trades. ``expectancy = mean(pnl)`` per closed trade, in account
  currency; ``average_win`` / ``average_loss`` = mean pnl of wins / losses (None when
  there are none; ``average_loss`` is negative).
- ``exposure = bars_in_market / len(equity)``; ``turnover = traded_notional / mean(equity)``
  (None when the mean equity is not positive).

``periods_per_year`` is the number of bars in a year and the caller passes it (the
backtest derives it from the instrument's calendar, ``Calendar.periods_per_year``): 252
for daily bars of US equities, 260 for daily FX (24/5), 365 for daily bars of 24/7
markets; intraday: hourly FX 260 * 24 = 6240, hourly crypto 365 * 24 = 8760, US equity
minute bars 252 * 390 = 98280 (see docs/backtesting.md).

Undefined values and bad input
------------------------------
``Metrics`` never holds NaN or inf: an undefined statistic is None. Empty equity, a
non-finite value, or a first equity value that is not positive raises ``ValueError``.
A curve of length 1 gives ``total_return == 0`` and None for volatility, sharpe, sortino
and calmar. "``std == 0``" and "``DD == 0``" include floating-point rounding (a value
below 1e-12 of the mean absolute excess return), so a curve that grows by a constant
rate yields None rather than a meaningless 1e15 Sharpe. Returns are undefined once the
equity has reached zero or below (the account is wiped out), so volatility, sharpe and
sortino are None when any ``E_t`` before the last bar is ``<= 0``; drawdown can then
exceed 1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "Metrics",
    "TradeOutcome",
    "annualized_volatility",
    "cagr",
    "compute_metrics",
    "drawdown_series",
    "max_drawdown",
    "periodic_returns",
    "sharpe_ratio",
    "sortino_ratio",
]

FloatArray = NDArray[np.float64]

# A dispersion this small relative to the returns themselves is rounding noise from
# dividing equity values, not risk: treating it as zero avoids absurd ratios.
_ZERO_DISPERSION_RTOL = 1e-12


@dataclass(frozen=True, slots=True)
class TradeOutcome:
    """One closed round trip, as the engine reports it."""

    pnl: float  # net of commissions, in account currency
    ret: float  # pnl / entry notional

    def __post_init__(self) -> None:
        if not (math.isfinite(self.pnl) and math.isfinite(self.ret)):
            raise ValueError(
                f"TradeOutcome needs finite pnl and ret, got pnl={self.pnl!r}, ret={self.ret!r}"
            )


@dataclass(frozen=True, slots=True)
class Metrics:
    """Summary statistics of one backtest; see the module docstring for each definition."""

    total_return: float
    cagr: float | None
    volatility: float | None
    sharpe: float | None
    sortino: float | None
    calmar: float | None
    max_drawdown: float  # fraction, reported as a positive number e.g. 0.25 for -25%
    max_drawdown_duration: int  # bars from the peak to recovery (or to the end if never)
    win_rate: float | None
    profit_factor: float | None
    expectancy: float | None  # mean pnl per closed trade, currency
    average_win: float | None
    average_loss: float | None  # negative number
    trades: int  # closed trades
    exposure: float  # fraction of bars with a non-zero position
    turnover: float | None  # traded notional / mean equity (None: mean equity <= 0)
    commission: float
    slippage: float

    def as_dict(self) -> dict[str, float | int | None]:
        """Field name to value, in declaration order (the report relies on that order)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


# --------------------------------------------------------------------------- validation


def _as_series(values: FloatArray, what: str) -> FloatArray:
    """A 1-D float64 view of ``values``; rejects empty or non-finite input by name."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{what} must be one-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{what} is empty: need at least one value")
    if not np.all(np.isfinite(arr)):
        bad = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise ValueError(f"{what} has a non-finite value {float(arr[bad])!r} at index {bad}")
    return arr


def _as_equity(equity: FloatArray) -> FloatArray:
    arr = _as_series(equity, "equity")
    # Every ratio here divides by the starting (and running peak) equity.
    if arr[0] <= 0.0:
        raise ValueError(f"equity must start positive, got {float(arr[0])!r}")
    return arr


def _as_returns(returns: FloatArray) -> FloatArray:
    arr = np.asarray(returns, dtype=np.float64)
    if arr.size == 0:
        # No returns is a legitimate state (equity of length 1): the ratios are None.
        return arr.reshape(0)
    return _as_series(arr, "returns")


def _check_periods_per_year(periods_per_year: float) -> None:
    if not (math.isfinite(periods_per_year) and periods_per_year > 0):
        raise ValueError(
            f"periods_per_year must be a positive number of bars per year "
            f"(252 for daily equities, 365 for daily 24/7 markets), got {periods_per_year!r}"
        )


def _per_period_rate(risk_free_rate: float, periods_per_year: float) -> float:
    if not (math.isfinite(risk_free_rate) and risk_free_rate > -1.0):
        raise ValueError(
            f"risk_free_rate must be an annual rate above -1 (0.03 for 3%), got {risk_free_rate!r}"
        )
    # Geometric de-annualisation: compounding rf_p over a year gives back risk_free_rate.
    return float((1.0 + risk_free_rate) ** (1.0 / periods_per_year) - 1.0)


def _finite_or_none(value: float) -> float | None:
    # Last line of defence for the "never NaN or inf" promise (e.g. an overflowing ratio).
    return value if math.isfinite(value) else None


def _is_zero_dispersion(dispersion: float, values: FloatArray) -> bool:
    return dispersion <= _ZERO_DISPERSION_RTOL * float(np.mean(np.abs(values)))


# ------------------------------------------------------------------------ curve helpers


def periodic_returns(equity: FloatArray) -> FloatArray:
    """Simple returns ``E_t / E_{t-1} - 1`` for t >= 1 (length ``len(equity) - 1``).

    Raises ValueError when a divisor ``E_{t-1}`` is not positive: a return relative to a
    wiped-out (or negative) account has no meaning.
    """
    arr = _as_equity(equity)
    prev = arr[:-1]
    if np.any(prev <= 0.0):
        bad = int(np.flatnonzero(prev <= 0.0)[0])
        raise ValueError(
            f"returns are undefined after equity reaches {float(prev[bad])!r} at index {bad}; "
            f"truncate the curve where the account is wiped out"
        )
    returns: FloatArray = arr[1:] / prev - 1.0
    return returns


def drawdown_series(equity: FloatArray) -> FloatArray:
    """Fraction below the running peak at each bar, ``1 - E_t / max_{s<=t} E_s`` (>= 0)."""
    arr = _as_equity(equity)
    peak = np.maximum.accumulate(arr)
    dd: FloatArray = 1.0 - arr / peak
    return dd


def max_drawdown(equity: FloatArray) -> tuple[float, int]:
    """``(deepest drawdown as a positive fraction, longest drawdown duration in bars)``.

    The two may come from different episodes. Duration counts the bars after the peak
    through the bar that regains it, or through the last bar if never regained.
    """
    arr = _as_equity(equity)
    dd = drawdown_series(arr)
    # dd is exactly 0.0 whenever E_t equals its running peak (x / x == 1 in IEEE), so a
    # bar that merely touches the old peak counts as recovered.
    underwater = dd > 0.0
    if not underwater.any():
        return 0.0, 0
    # Runs of underwater bars, vectorised: +1 marks a run's first bar, -1 the bar after
    # its last. The peak is always the bar before a run's start (bar 0 is never underwater).
    edges = np.diff(np.concatenate(([0], underwater.astype(np.int8), [0])))
    starts = np.flatnonzero(edges == 1)
    stops = np.flatnonzero(edges == -1)  # first bar back at the peak, or n if never
    # A recovered episode also counts its recovery bar; one still open at the end does not.
    durations = (stops - starts) + (stops < arr.size)
    return float(dd.max()), int(durations.max())


def cagr(equity: FloatArray, periods_per_year: float) -> float | None:
    """Compound annual growth rate with ``years = len(equity) / periods_per_year``.

    None when the final equity is not positive (no real root) or the rate overflows.
    """
    arr = _as_equity(equity)
    _check_periods_per_year(periods_per_year)
    years = arr.size / periods_per_year
    last, first = float(arr[-1]), float(arr[0])
    if years <= 0.0 or last <= 0.0:
        return None
    try:
        growth = (last / first) ** (1.0 / years) - 1.0
    except OverflowError:
        # A short, explosive curve (e.g. a few minute bars) annualises past float range.
        return None
    return _finite_or_none(growth)


# ---------------------------------------------------------------------- return helpers


def annualized_volatility(returns: FloatArray, periods_per_year: float) -> float | None:
    """Sample standard deviation (ddof=1) of ``returns`` times ``sqrt(periods_per_year)``."""
    r = _as_returns(returns)
    _check_periods_per_year(periods_per_year)
    if r.size < 2:
        return None
    return _finite_or_none(float(np.std(r, ddof=1)) * math.sqrt(periods_per_year))


def sharpe_ratio(
    returns: FloatArray, periods_per_year: float, risk_free_rate: float = 0.0
) -> float | None:
    """Annualised Sharpe ratio of periodic ``returns`` over the per-period risk-free rate."""
    r = _as_returns(returns)
    _check_periods_per_year(periods_per_year)
    rf_p = _per_period_rate(risk_free_rate, periods_per_year)
    if r.size < 2:
        return None
    excess = r - rf_p
    std = float(np.std(excess, ddof=1))
    if _is_zero_dispersion(std, excess):
        return None
    return _finite_or_none(float(np.mean(excess)) / std * math.sqrt(periods_per_year))


def sortino_ratio(
    returns: FloatArray, periods_per_year: float, risk_free_rate: float = 0.0
) -> float | None:
    """Annualised Sortino ratio: mean excess return over the downside deviation.

    The downside deviation averages the squared shortfalls below ``rf_p`` over ALL
    periods (periods above target contribute 0), as empyrical does; averaging over the
    losing periods only would overstate the downside risk of a mostly winning strategy.
    """
    r = _as_returns(returns)
    _check_periods_per_year(periods_per_year)
    rf_p = _per_period_rate(risk_free_rate, periods_per_year)
    if r.size < 2:
        return None
    excess = r - rf_p
    downside = float(np.sqrt(np.mean(np.minimum(excess, 0.0) ** 2)))
    if _is_zero_dispersion(downside, excess):
        return None
    return _finite_or_none(float(np.mean(excess)) / downside * math.sqrt(periods_per_year))


# ------------------------------------------------------------------------------- trades


@dataclass(frozen=True, slots=True)
class _TradeStats:
    win_rate: float | None
    profit_factor: float | None
    expectancy: float | None
    average_win: float | None
    average_loss: float | None


def _trade_stats(trades: Sequence[TradeOutcome]) -> _TradeStats:
    if not trades:
        return _TradeStats(None, None, None, None, None)
    pnl = np.fromiter((t.pnl for t in trades), dtype=np.float64, count=len(trades))
    wins = pnl[pnl > 0.0]
    losses = pnl[pnl < 0.0]
    gross_loss = float(-losses.sum())
    return _TradeStats(
        win_rate=wins.size / pnl.size,
        # Without a losing trade the ratio is infinite; None keeps the report honest.
        profit_factor=float(wins.sum()) / gross_loss if losses.size else None,
        expectancy=float(pnl.mean()),
        average_win=float(wins.mean()) if wins.size else None,
        average_loss=float(losses.mean()) if losses.size else None,
    )


# --------------------------------------------------------------------------------- main


def compute_metrics(
    equity: FloatArray,
    *,
    periods_per_year: float,
    trades: Sequence[TradeOutcome],
    bars_in_market: int,
    traded_notional: float,
    commission: float,
    slippage: float,
    risk_free_rate: float = 0.0,
) -> Metrics:
    """Every statistic of one backtest; see the module docstring for definitions.

    ``equity`` is marked to market at each bar's close; ``trades`` are the closed round
    trips; ``bars_in_market`` counts bars with a non-zero position; ``traded_notional``,
    ``commission`` and ``slippage`` are totals in account currency.
    """
    arr = _as_equity(equity)
    _check_periods_per_year(periods_per_year)
    if not 0 <= bars_in_market <= arr.size:
        raise ValueError(
            f"bars_in_market must be between 0 and len(equity)={arr.size}, got {bars_in_market}"
        )
    if not (math.isfinite(traded_notional) and traded_notional >= 0.0):
        raise ValueError(f"traded_notional must be finite and >= 0, got {traded_notional!r}")
    # Commission and slippage may be negative (maker rebates, price improvement).
    for name, value in (("commission", commission), ("slippage", slippage)):
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value!r}")
    # a short that rallies past the account's equity can wipe it out: the run still has a
    # report (drawdown above 100 %, return ratios None), only turnover has no capital to use
    mean_equity = float(arr.mean())

    # Return-based statistics only exist while every divisor E_{t-1} is positive.
    if np.all(arr[:-1] > 0.0):
        returns = periodic_returns(arr)
        volatility = annualized_volatility(returns, periods_per_year)
        sharpe = sharpe_ratio(returns, periods_per_year, risk_free_rate)
        sortino = sortino_ratio(returns, periods_per_year, risk_free_rate)
    else:
        _per_period_rate(risk_free_rate, periods_per_year)  # still reject a bad rate
        volatility = sharpe = sortino = None

    growth = cagr(arr, periods_per_year)
    mdd, mdd_duration = max_drawdown(arr)
    calmar = _finite_or_none(growth / mdd) if growth is not None and mdd > 0.0 else None
    stats = _trade_stats(trades)

    return Metrics(
        total_return=float(arr[-1] / arr[0] - 1.0),
        cagr=growth,
        volatility=volatility,
        sharpe=sharpe,
        sortino=sortino,
        calmar=calmar,
        max_drawdown=mdd,
        max_drawdown_duration=mdd_duration,
        win_rate=stats.win_rate,
        profit_factor=stats.profit_factor,
        expectancy=stats.expectancy,
        average_win=stats.average_win,
        average_loss=stats.average_loss,
        trades=len(trades),
        exposure=bars_in_market / arr.size,
        turnover=traded_notional / mean_equity if mean_equity > 0.0 else None,
        commission=float(commission),
        slippage=float(slippage),
    )
