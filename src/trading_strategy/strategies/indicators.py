"""Technical indicators in two forms that agree: vectorized (backtests) and incremental (live).

Each indicator is a numpy function over a whole 1-D series, returning a float64 array of the
same length with NaN during warm-up, and a ``__slots__`` class whose ``update`` costs O(1)
(amortized for ``Donchian``) and whose ``value`` holds the latest result (NaN in warm-up).
The tests prove that both forms give the same numbers; for ``SMA`` they are bit-identical.

Every price input must be finite: NaN or inf raises ``ValueError`` naming the input and its
index; fill or drop missing bars before computing indicators. ``period`` must be an int >= 1.
``p`` is the period and ``t`` the bar index below.

Definitions
-----------
SMA
    Mean of the last ``p`` values, first value at ``t = p-1``. Sums are exact fixed point:
    ``q = round(x * 1e8)`` as an integer (``SMA_SCALE``), so inputs are treated at 1e-8
    resolution (digits beyond 8 decimals are rounded, half to even) and
    ``sma = float(sum of q) / float(p * SMA_SCALE)``. A rolling float sum would drift, and the
    two forms would then disagree exactly where it matters: at ties between a fast and a slow
    average. Mathematically equal SMAs (of any periods) compare equal as floats while window
    sums stay below 2**53 units of 1e-8 (about 9e7 in price units), since each is the
    correctly rounded quotient of exact integers. ``|q| * p`` must fit in int64.
EMA
    ``alpha = 2 / (p+1)``; seeded at ``t = p-1`` with the arithmetic mean of the first ``p``
    values (a plain float sum, no fixed point); then ``ema = prev + alpha * (x - prev)``.
RSI (Wilder)
    Changes ``d[t] = close[t] - close[t-1]``, gain ``max(d, 0)``, loss ``max(-d, 0)``. The first
    average gain/loss is the simple mean of changes 1..p, at ``t = p``; then
    ``avg = (prev * (p-1) + x) / p``. ``RSI = 100 - 100 / (1 + avg_gain / avg_loss)``; 100 when
    the average loss is 0 and the average gain positive, 50 when both are 0.
True range, ATR (Wilder)
    ``TR[0] = high - low``; ``TR[t] = max(high - low, |high - close[t-1]|, |low - close[t-1]|)``.
    First ATR at ``t = p-1`` is the mean of ``TR[0..p-1]``; then
    ``atr = (prev * (p-1) + TR) / p``.
Bollinger bands
    ``middle`` is the SMA above; ``upper/lower = middle +/- k * std`` where ``std`` is the
    population standard deviation (ddof=0) of the window, at the same 1e-8 resolution.
Donchian channel
    ``upper`` the highest high and ``lower`` the lowest low over the ``p`` bars ending at and
    *including* bar ``t``; ``middle = (upper + lower) / 2``. Because the current bar is in its
    own window, a breakout rule should compare against the previous bar's channel.
Crossover
    ``+1`` at ``t`` when ``a[t] > b[t]`` and ``a[t-1] <= b[t-1]``; ``-1`` when ``a[t] < b[t]``
    and ``a[t-1] >= b[t-1]``; otherwise 0, and 0 whenever any of the four values is NaN (so
    also at ``t = 0``). An exact tie therefore never swallows a signal: a series that touches
    and then crosses fires once, on the bar where it becomes strictly greater (or less).
    The flip side: touching and then retreating also fires (a touch from below followed by
    a drop fires -1), because the tie bar satisfies ``a[t-1] >= b[t-1]``.
    NaN inputs are allowed here, since they are the warm-up of other indicators.

The recursive indicators (EMA, RSI, ATR) cannot be expressed in numpy without a compiled
scan, so their "vectorized" forms run a plain Python loop over ``.tolist()`` values, which
also makes them perform exactly the same float operations as the incremental classes.
"""

from __future__ import annotations

import math
import operator
from collections import deque
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

__all__ = [
    "ATR",
    "EMA",
    "RSI",
    "SMA",
    "SMA_SCALE",
    "Bollinger",
    "Crossover",
    "Donchian",
    "atr",
    "bollinger",
    "crossover",
    "donchian",
    "ema",
    "rsi",
    "sma",
    "true_range",
]

FloatArray = npt.NDArray[np.float64]
Int8Array = npt.NDArray[np.int8]

SMA_SCALE = 10**8
"""Fixed-point scale of SMA and Bollinger sums: inputs are resolved to 1e-8."""

_SCALE_F = float(SMA_SCALE)
_INT64_MAX = 2**63 - 1
# Bollinger's vectorized std works on blocks of windows so memory stays bounded
# (about this many float64 elements per block) however long the series is.
_BLOCK_ELEMENTS = 1 << 20


# --------------------------------------------------------------------------- validation


def _check_period(period: int) -> int:
    p = operator.index(period)  # rejects floats and other non-integers with TypeError
    if p < 1:
        raise ValueError(f"period must be an integer >= 1, got {period!r}")
    return p


def _series(values: npt.ArrayLike, name: str, *, finite: bool = True) -> FloatArray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D series, got shape {arr.shape}")
    if finite:
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            i = int(bad[0])
            raise ValueError(
                f"{name}[{i}] is {arr[i]}; indicators need finite prices "
                "(fill or drop missing bars first)"
            )
    return arr


def _same_length(name: str, *arrays: FloatArray) -> None:
    if len({len(a) for a in arrays}) > 1:
        raise ValueError(f"{name}: inputs differ in length {[len(a) for a in arrays]}")


def _check_finite(x: float, name: str) -> float:
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"{name} got {x}; indicators need finite prices")
    return x


def _quantize(x: float, period: int, name: str) -> int:
    """One value in fixed point; same rounding (half to even) and limit as ``_quantize_array``."""
    q = round(_check_finite(x, name) * _SCALE_F)
    if abs(q) * period > _INT64_MAX:
        raise ValueError(_too_large(name, x, period))
    return q


def _quantize_array(x: FloatArray, period: int, name: str) -> npt.NDArray[np.int64]:
    scaled = x * _SCALE_F
    np.rint(scaled, out=scaled)  # in place: one array of the series' length, not two
    if scaled.size:
        i = int(np.argmax(np.abs(scaled)))
        if abs(int(scaled[i])) * period > _INT64_MAX:
            raise ValueError(_too_large(f"{name}[{i}]", float(x[i]), period))
    return scaled.astype(np.int64)


def _too_large(name: str, x: float, period: int) -> str:
    return (
        f"{name}={x} is too large for the 1e-8 fixed-point sum with period {period}: "
        "|value| * 1e8 * period must fit in int64 (rescale the prices)"
    )


def _check_k(k: float) -> float:
    k = float(k)
    if not (math.isfinite(k) and k >= 0.0):
        raise ValueError(f"k must be a finite number >= 0, got {k!r}")
    return k


# --------------------------------------------------------------------------- vectorized


def _sma_fixed(q: npt.NDArray[np.int64], p: int) -> FloatArray:
    out = np.full(len(q), np.nan)
    if len(q) >= p:
        # int64 cumsum may wrap on long series; differences of wrapped sums are still exact
        # modulo 2**64, and each window sum fits in int64 by the quantize limit.
        cs = np.cumsum(q, dtype=np.int64)
        window = cs[p - 1 :].copy()
        window[1:] -= cs[: len(q) - p]
        # cast and divide in the output itself: the same double per value as
        # ``window.astype(np.float64) / d``, without two more arrays of the series' length
        tail = out[p - 1 :]
        tail[:] = window
        tail /= float(p * SMA_SCALE)
    return out


def sma(values: npt.ArrayLike, period: int) -> FloatArray:
    """Simple moving average at 1e-8 fixed-point resolution (see the module docstring)."""
    p = _check_period(period)
    x = _series(values, "sma values")
    return _sma_fixed(_quantize_array(x, p, "sma values"), p)


def _seeded(xs: list[float], p: int, step: Callable[[float, float], float]) -> FloatArray:
    """NaN before ``p-1``, the mean of ``xs[:p]`` at ``p-1``, then ``prev = step(prev, x)``."""
    out = np.full(len(xs), np.nan)
    if len(xs) >= p:
        # A sequential sum, not builtin sum() (compensated from Python 3.12 on), so the
        # seed is bit-identical to the running sum the incremental classes keep.
        acc = 0.0
        for v in xs[:p]:
            acc += v
        prev = acc / p
        res = [prev]
        for v in xs[p:]:
            prev = step(prev, v)
            res.append(prev)
        out[p - 1 :] = res
    return out


def ema(values: npt.ArrayLike, period: int) -> FloatArray:
    """Exponential moving average, alpha = 2/(period+1), seeded with the first SMA."""
    p = _check_period(period)
    alpha = 2.0 / (p + 1)
    xs = _series(values, "ema values").tolist()
    return _seeded(xs, p, lambda prev, v: prev + alpha * (v - prev))


def _rsi_value(avg_gain: float, avg_loss: float) -> float:
    if avg_loss == 0.0:
        return 100.0 if avg_gain > 0.0 else 50.0
    return 100.0 - 100.0 / (1.0 + avg_gain / avg_loss)


def rsi(close: npt.ArrayLike, period: int = 14) -> FloatArray:
    """Wilder's relative strength index; first value at index ``period``."""
    p = _check_period(period)
    c = _series(close, "rsi close")
    out = np.full(len(c), np.nan)
    if len(c) <= p:
        return out
    d = np.diff(c)
    gains = np.where(d > 0.0, d, 0.0).tolist()
    losses = np.where(d < 0.0, -d, 0.0).tolist()
    ag = al = 0.0
    for i in range(p):
        ag += gains[i]
        al += losses[i]
    ag /= p
    al /= p
    res = [_rsi_value(ag, al)]
    for g, lo in zip(gains[p:], losses[p:], strict=True):
        ag = (ag * (p - 1) + g) / p
        al = (al * (p - 1) + lo) / p
        res.append(_rsi_value(ag, al))
    out[p:] = res
    return out


def true_range(high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike) -> FloatArray:
    """True range; the first bar has no previous close, so ``TR[0] = high[0] - low[0]``."""
    h = _series(high, "true_range high")
    lo = _series(low, "true_range low")
    c = _series(close, "true_range close")
    _same_length("true_range", h, lo, c)
    tr = h - lo
    if len(tr) > 1:
        pc = c[:-1]
        gap = np.maximum(np.abs(h[1:] - pc), np.abs(lo[1:] - pc))
        tr[1:] = np.maximum(tr[1:], gap)
    return tr


def atr(
    high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, period: int = 14
) -> FloatArray:
    """Wilder's average true range; first value at index ``period - 1``."""
    p = _check_period(period)
    trs = true_range(high, low, close).tolist()
    return _seeded(trs, p, lambda prev, v: (prev * (p - 1) + v) / p)


def _rolling_pop_std(q: npt.NDArray[np.int64], p: int) -> FloatArray:
    out = np.full(len(q), np.nan)
    if len(q) < p:
        return out
    windows = sliding_window_view(q, p)
    block = max(1, _BLOCK_ELEMENTS // p)
    for start in range(0, len(windows), block):
        w = windows[start : start + block]
        # Deviations from each window's first value are small integers, exact in float64,
        # so the variance keeps full precision relative to the spread (not the price level)
        # and a flat window gives exactly 0, as the exact-integer incremental form does.
        dev = (w - w[:, :1]).astype(np.float64)
        out[p - 1 + start : p - 1 + start + len(w)] = np.sqrt(dev.var(axis=1)) / _SCALE_F
    return out


def bollinger(
    values: npt.ArrayLike, period: int = 20, k: float = 2.0
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Bollinger bands ``(middle, upper, lower)``: SMA +/- k population std deviations."""
    p = _check_period(period)
    k = _check_k(k)
    x = _series(values, "bollinger values")
    q = _quantize_array(x, p, "bollinger values")
    middle = _sma_fixed(q, p)
    width = k * _rolling_pop_std(q, p)
    return middle, middle + width, middle - width


def donchian(
    high: npt.ArrayLike, low: npt.ArrayLike, period: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Donchian channel ``(upper, lower, middle)`` over the window including the current bar."""
    p = _check_period(period)
    h = _series(high, "donchian high")
    lo = _series(low, "donchian low")
    _same_length("donchian", h, lo)
    upper = np.full(len(h), np.nan)
    lower = np.full(len(h), np.nan)
    if len(h) >= p:
        upper[p - 1 :] = sliding_window_view(h, p).max(axis=1)
        lower[p - 1 :] = sliding_window_view(lo, p).min(axis=1)
    return upper, lower, (upper + lower) / 2.0


def crossover(a: npt.ArrayLike, b: npt.ArrayLike) -> Int8Array:
    """+1 where ``a`` crosses above ``b``, -1 where below, else 0 (ties and NaN: see module)."""
    xa = _series(a, "crossover a", finite=False)
    xb = _series(b, "crossover b", finite=False)
    _same_length("crossover", xa, xb)
    out = np.zeros(len(xa), dtype=np.int8)
    if len(xa) > 1:
        # Every comparison with NaN is False, which is exactly the "NaN gives 0" rule.
        pa, pb, ca, cb = xa[:-1], xb[:-1], xa[1:], xb[1:]
        out[1:][(ca > cb) & (pa <= pb)] = 1
        out[1:][(ca < cb) & (pa >= pb)] = -1
    return out


# --------------------------------------------------------------------------- incremental


class _Periodic:
    """Read-only ``period`` shared by the windowed classes."""

    __slots__ = ("_period",)

    def __init__(self, period: int) -> None:
        self._period = _check_period(period)

    @property
    def period(self) -> int:
        return self._period


class SMA(_Periodic):
    """Incremental SMA; bit-identical to :func:`sma` thanks to exact integer sums."""

    __slots__ = ("_denom", "_sum", "_window", "value")

    def __init__(self, period: int) -> None:
        super().__init__(period)
        self._denom = float(self._period * SMA_SCALE)
        self._window: deque[int] = deque()
        self._sum = 0  # Python int: exact, never overflows, never drifts
        self.value = math.nan

    def update(self, x: float) -> float:
        q = _quantize(x, self._period, "SMA.update")
        self._window.append(q)
        self._sum += q
        if len(self._window) > self._period:
            self._sum -= self._window.popleft()
        if len(self._window) == self._period:
            self.value = float(self._sum) / self._denom
        return self.value


class EMA(_Periodic):
    """Incremental EMA; seeded with the mean of the first ``period`` values."""

    __slots__ = ("_acc", "_alpha", "_count", "value")

    def __init__(self, period: int) -> None:
        super().__init__(period)
        self._alpha = 2.0 / (self._period + 1)
        self._count = 0
        self._acc = 0.0
        self.value = math.nan

    def update(self, x: float) -> float:
        x = _check_finite(x, "EMA.update")
        if self._count >= self._period:
            self.value = self.value + self._alpha * (x - self.value)
            return self.value
        self._count += 1
        self._acc += x
        if self._count == self._period:
            self.value = self._acc / self._period
        return self.value


class RSI(_Periodic):
    """Incremental Wilder RSI; first value on the ``period + 1``-th update."""

    __slots__ = ("_avg_gain", "_avg_loss", "_count", "_prev", "value")

    def __init__(self, period: int = 14) -> None:
        super().__init__(period)
        self._prev = math.nan
        self._count = 0  # changes seen, capped once the averages are seeded
        self._avg_gain = 0.0
        self._avg_loss = 0.0
        self.value = math.nan

    def update(self, close: float) -> float:
        close = _check_finite(close, "RSI.update")
        prev, self._prev = self._prev, close
        if math.isnan(prev):
            return self.value
        ch = close - prev
        gain = ch if ch > 0.0 else 0.0
        loss = -ch if ch < 0.0 else 0.0
        p = self._period
        if self._count >= p:
            self._avg_gain = (self._avg_gain * (p - 1) + gain) / p
            self._avg_loss = (self._avg_loss * (p - 1) + loss) / p
        else:
            # Until seeded, the averages hold running sums of gains and losses.
            self._count += 1
            self._avg_gain += gain
            self._avg_loss += loss
            if self._count < p:
                return self.value
            self._avg_gain /= p
            self._avg_loss /= p
        self.value = _rsi_value(self._avg_gain, self._avg_loss)
        return self.value


class ATR(_Periodic):
    """Incremental Wilder ATR over ``update(high, low, close)``."""

    __slots__ = ("_acc", "_count", "_prev_close", "value")

    def __init__(self, period: int = 14) -> None:
        super().__init__(period)
        self._prev_close = math.nan
        self._count = 0
        self._acc = 0.0
        self.value = math.nan

    def update(self, high: float, low: float, close: float) -> float:
        high = _check_finite(high, "ATR.update high")
        low = _check_finite(low, "ATR.update low")
        close = _check_finite(close, "ATR.update close")
        pc, self._prev_close = self._prev_close, close
        tr = high - low
        if not math.isnan(pc):
            tr = max(tr, abs(high - pc), abs(low - pc))
        p = self._period
        if self._count >= p:
            self.value = (self.value * (p - 1) + tr) / p
            return self.value
        self._count += 1
        self._acc += tr
        if self._count == p:
            self.value = self._acc / p
        return self.value


class Bollinger(_Periodic):
    """Incremental Bollinger bands; ``update`` returns ``(middle, upper, lower)``.

    Sum and sum of squares are exact integers at 1e-8 resolution, so the variance has no
    cancellation error and the middle band is bit-identical to :class:`SMA`.
    """

    __slots__ = ("_denom", "_k", "_sum", "_sumsq", "_window", "value")

    def __init__(self, period: int = 20, k: float = 2.0) -> None:
        super().__init__(period)
        self._k = _check_k(k)
        self._denom = float(self._period * SMA_SCALE)
        self._window: deque[int] = deque()
        self._sum = 0
        self._sumsq = 0
        self.value: tuple[float, float, float] = (math.nan, math.nan, math.nan)

    def update(self, x: float) -> tuple[float, float, float]:
        q = _quantize(x, self._period, "Bollinger.update")
        self._window.append(q)
        self._sum += q
        self._sumsq += q * q
        if len(self._window) > self._period:
            old = self._window.popleft()
            self._sum -= old
            self._sumsq -= old * old
        if len(self._window) == self._period:
            p = self._period
            middle = float(self._sum) / self._denom
            # p * sum(q^2) - (sum q)^2 = p^2 * SCALE^2 * variance, exactly and never negative.
            std = math.sqrt(p * self._sumsq - self._sum * self._sum) / self._denom
            width = self._k * std
            self.value = (middle, middle + width, middle - width)
        return self.value


class Donchian(_Periodic):
    """Incremental Donchian channel; ``update(high, low)`` returns ``(upper, lower, middle)``.

    Monotonic deques of ``(index, value)`` give amortized O(1) window max and min.
    """

    __slots__ = ("_highs", "_lows", "_n", "value")

    def __init__(self, period: int) -> None:
        super().__init__(period)
        self._highs: deque[tuple[int, float]] = deque()  # values strictly decreasing
        self._lows: deque[tuple[int, float]] = deque()  # values strictly increasing
        self._n = 0
        self.value: tuple[float, float, float] = (math.nan, math.nan, math.nan)

    def update(self, high: float, low: float) -> tuple[float, float, float]:
        high = _check_finite(high, "Donchian.update high")
        low = _check_finite(low, "Donchian.update low")
        i = self._n
        self._n += 1
        highs, lows = self._highs, self._lows
        while highs and highs[-1][1] <= high:
            highs.pop()
        highs.append((i, high))
        while lows and lows[-1][1] >= low:
            lows.pop()
        lows.append((i, low))
        oldest = i - self._period + 1
        if highs[0][0] < oldest:
            highs.popleft()
        if lows[0][0] < oldest:
            lows.popleft()
        if self._n >= self._period:
            upper, lower = highs[0][1], lows[0][1]
            self.value = (upper, lower, (upper + lower) / 2.0)
        return self.value


class Crossover:
    """Incremental crossover of ``a`` over ``b``: ``update(a, b)`` returns -1, 0 or +1."""

    __slots__ = ("_a", "_b", "value")

    def __init__(self) -> None:
        self._a = math.nan
        self._b = math.nan
        self.value = 0

    def update(self, a: float, b: float) -> int:
        a, b = float(a), float(b)
        pa, pb = self._a, self._b
        self._a, self._b = a, b
        # Comparisons with NaN are False, so warm-up NaN on either bar yields 0.
        if a > b and pa <= pb:
            self.value = 1
        elif a < b and pa >= pb:
            self.value = -1
        else:
            self.value = 0
        return self.value
