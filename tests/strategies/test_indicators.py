"""Indicators: hand-computed values, and proof that incremental and vectorized forms agree."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading_strategy.strategies.indicators import (
    ATR,
    EMA,
    RSI,
    SMA,
    Bollinger,
    Crossover,
    Donchian,
    atr,
    bollinger,
    crossover,
    donchian,
    ema,
    rsi,
    sma,
    true_range,
)

NAN = math.nan
FloatArray = npt.NDArray[np.float64]
PROPERTY = settings(max_examples=150, deadline=None)


def assert_close(incremental: Sequence[float], vectorized: FloatArray) -> None:
    """Same length, NaN in the same places, values within 1e-9 relative or absolute."""
    assert len(incremental) == len(vectorized)
    for i, (x, y) in enumerate(zip(incremental, vectorized.tolist(), strict=True)):
        if math.isnan(y):
            assert math.isnan(x), (i, x, y)
        else:
            assert math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9), (i, x, y)


def assert_identical(incremental: Sequence[float], vectorized: FloatArray) -> None:
    """Bit for bit: equal floats and NaN in the same places."""
    got = np.array(incremental, dtype=np.float64)
    np.testing.assert_array_equal(got, vectorized, strict=True)


# --------------------------------------------------------------------------- data


@st.composite
def ohlc_bars(
    draw: st.DrawFn, min_size: int = 0, max_size: int = 60
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(high, low, close): positive, 4 decimals, high >= max(open, close), low <= min(...).

    Prices are drawn in integer ticks of 1e-4, and a small spread is sometimes chosen so that
    runs of equal values (ties, flat windows, zero changes) are common.
    """
    n = draw(st.integers(min_size, max_size))
    spread = draw(st.sampled_from([2, 50, 5_000, 5_000_000]))
    base = draw(st.integers(1, 10_000_000))
    tick = st.integers(0, spread)
    highs, lows, closes = [], [], []
    for _ in range(n):
        o, c = base + draw(tick), base + draw(tick)
        hi = max(o, c) + draw(tick)
        lo = max(1, min(o, c) - draw(tick))
        highs.append(hi / 10_000)
        lows.append(lo / 10_000)
        closes.append(c / 10_000)
    return np.array(highs), np.array(lows), np.array(closes)


closes = ohlc_bars().map(lambda bars: bars[2])
periods = st.integers(1, 25)


def run(make: Callable[[], object], method: str, *columns: FloatArray) -> list[Any]:
    """Feed the columns row by row to ``make().method`` and collect what it returns."""
    ind = make()
    update = getattr(ind, method)
    return [update(*row) for row in zip(*(c.tolist() for c in columns), strict=True)]


# --------------------------------------------------------------------------- hand-computed


def test_sma_by_hand() -> None:
    assert_identical([NAN, NAN, 2.0, 3.0, 4.0], sma([1.0, 2.0, 3.0, 4.0, 5.0], 3))
    assert_identical([NAN, NAN, 2.0, 3.0, 4.0], sma(np.array([1, 2, 3, 4, 5]), 3))


def test_ema_by_hand() -> None:
    # alpha = 2/(3+1) = 0.5; seed = mean(2, 4, 6) = 4 at index 2;
    # then 4 + 0.5*(8-4) = 6 and 6 + 0.5*(3-6) = 4.5.
    assert_identical([NAN, NAN, 4.0, 6.0, 4.5], ema([2.0, 4.0, 6.0, 8.0, 3.0], 3))


def test_rsi_by_hand() -> None:
    # close 10, 11, 10.5, 11.5, 11, 12 -> changes +1, -0.5, +1, -0.5, +1; period 3.
    # index 3: avg gain (1+0+1)/3 = 2/3, avg loss (0+0.5+0)/3 = 1/6, RS 4 -> 100 - 100/5 = 80
    # index 4 (change -0.5): gain (2/3*2 + 0)/3 = 4/9, loss (1/6*2 + 0.5)/3 = 5/18,
    #   RS 8/5 -> 100 - 100/2.6
    # index 5 (change +1): gain (4/9*2 + 1)/3 = 17/27, loss (5/18*2 + 0)/3 = 5/27,
    #   RS 17/5 -> 100 - 100/4.4
    got = rsi([10.0, 11.0, 10.5, 11.5, 11.0, 12.0], 3)
    expected = [NAN, NAN, NAN, 80.0, 100 - 100 / 2.6, 100 - 100 / 4.4]
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_rsi_edge_cases() -> None:
    assert rsi([5.0] * 6, 3)[3:].tolist() == [50.0] * 3  # no movement at all
    assert rsi([1.0, 2.0, 3.0, 4.0, 5.0], 3)[3:].tolist() == [100.0] * 2  # never a loss
    assert rsi([5.0, 4.0, 3.0, 2.0, 1.0], 3)[3:].tolist() == [0.0] * 2  # never a gain


def test_true_range_and_atr_by_hand() -> None:
    high = [10.0, 11.0, 12.0, 15.0, 14.0]
    low = [8.0, 9.0, 10.5, 14.0, 12.0]
    close = [9.0, 10.5, 11.0, 14.5, 13.0]
    # TR[0] = 10-8 = 2 (no previous close)
    # TR[1] = max(11-9, |11-9|, |9-9|) = 2
    # TR[2] = max(12-10.5, |12-10.5|, |10.5-10.5|) = 1.5
    # TR[3] = max(15-14, |15-11|, |14-11|) = 4       (gap up: the gap counts)
    # TR[4] = max(14-12, |14-14.5|, |12-14.5|) = 2.5
    assert true_range(high, low, close).tolist() == [2.0, 2.0, 1.5, 4.0, 2.5]
    # ATR(3): index 2 = (2+2+1.5)/3 = 11/6; index 3 = (11/6*2 + 4)/3 = 23/9;
    # index 4 = (23/9*2 + 2.5)/3 = 137/54
    np.testing.assert_allclose(
        atr(high, low, close, 3), [NAN, NAN, 11 / 6, 23 / 9, 137 / 54], rtol=1e-12
    )


def test_bollinger_by_hand() -> None:
    middle, upper, lower = bollinger([1.0, 2.0, 3.0, 4.0, 5.0], 3, 2.0)
    # each window is m-1, m, m+1: population std = sqrt(2/3)
    width = 2.0 * math.sqrt(2.0 / 3.0)
    assert_identical([NAN, NAN, 2.0, 3.0, 4.0], middle)
    np.testing.assert_allclose(upper, [NAN, NAN, 2 + width, 3 + width, 4 + width], rtol=1e-12)
    np.testing.assert_allclose(lower, [NAN, NAN, 2 - width, 3 - width, 4 - width], rtol=1e-12)


def test_bollinger_flat_window_has_zero_width() -> None:
    values = np.array([0.1] * 10 + [0.3] * 10)
    middle, upper, lower = bollinger(values, 5)
    inc = run(lambda: Bollinger(5), "update", values)
    for t in (4, 9, 14, 19):  # windows that hold one repeated value
        assert upper[t] == middle[t] == lower[t]
        assert inc[t][0] == inc[t][1] == inc[t][2] == middle[t]


def test_donchian_by_hand() -> None:
    upper, lower, middle = donchian([3.0, 5.0, 4.0, 2.0, 6.0], [1.0, 2.0, 0.0, 1.0, 3.0], 3)
    assert_identical([NAN, NAN, 5.0, 5.0, 6.0], upper)  # window includes the current bar
    assert_identical([NAN, NAN, 0.0, 0.0, 0.0], lower)
    assert_identical([NAN, NAN, 2.5, 2.5, 3.0], middle)


def test_crossover_by_hand() -> None:
    assert crossover([1, 2, 2, 1, 1, 2], [1.5] * 6).tolist() == [0, 1, 0, -1, 0, 1]
    assert crossover([NAN, 2.0, 3.0], [1.0, 1.0, NAN]).tolist() == [0, 0, 0]
    assert crossover([], []).dtype == np.int8


@pytest.mark.parametrize(
    ("fast", "expected"),
    [
        ([1.0, 1.1, 1.2], [0, 0, 1]),  # touch, then cross up: fires once, when strictly above
        ([1.2, 1.1, 1.0], [0, 0, -1]),  # touch from above, then cross down
        # Touch and retreat: a tie counts as "at or above" for the down rule, so moving back
        # below fires -1 although the series was never strictly above. That is the
        # definition as specified (documented in the module), pinned here on purpose.
        ([1.0, 1.1, 1.0], [0, 0, -1]),
        ([1.0, 1.1, 1.1, 1.1, 1.2], [0, 0, 0, 0, 1]),  # a long tie still fires once
    ],
)
def test_crossover_tie_never_swallows_a_signal(fast: list[float], expected: list[int]) -> None:
    slow = [1.1] * len(fast)
    assert crossover(fast, slow).tolist() == expected
    assert run(Crossover, "update", np.array(fast), np.array(slow)) == expected


# --------------------------------------------------------------------------- drift-free SMA


def test_sma_does_not_drift() -> None:
    values = np.array([0.1, 0.2, 0.3] * 1000)
    # A naive rolling float sum (add the new value, subtract the old) drifts off 0.2 here on
    # every bar; the fixed-point sum gives exactly the float nearest 0.2 on every bar.
    assert set(sma(values, 3)[2:].tolist()) == {0.2}
    assert set(run(lambda: SMA(3), "update", values)[2:]) == {0.2}


def test_sma_tie_between_fast_and_slow_is_exact() -> None:
    # After a drift-inducing prefix, SMA(2) falls below SMA(4), ties it exactly at 0.25, then
    # rises above. A naive rolling sum sees 0.25 > 0.25 on the tie bar and fires a bar early.
    values = np.array([0.1, 0.2, 0.3] * 100 + [0.2, 0.1, 0.4, 0.3])
    fast, slow = sma(values, 2), sma(values, 4)
    assert fast[-2] == slow[-2] == 0.25
    assert crossover(fast, slow)[-4:].tolist() == [0, -1, 0, 1]
    inc_fast = run(lambda: SMA(2), "update", values)
    inc_slow = run(lambda: SMA(4), "update", values)
    assert_identical(inc_fast, fast)
    assert_identical(inc_slow, slow)
    cross = Crossover()
    signals = [cross.update(f, s) for f, s in zip(inc_fast, inc_slow, strict=True)]
    assert signals == crossover(fast, slow).tolist()


@PROPERTY
@given(
    values=st.lists(st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False), max_size=60),
    period=periods,
)
def test_sma_incremental_is_bit_identical(values: list[float], period: int) -> None:
    # Arbitrary floats (not only 4-decimal prices): both forms round to 1e-8 the same way.
    arr = np.array(values, dtype=np.float64)
    assert_identical(run(lambda: SMA(period), "update", arr), sma(arr, period))


# --------------------------------------------------------------------------- properties


@PROPERTY
@given(close=closes, period=periods)
def test_ema_incremental_matches(close: FloatArray, period: int) -> None:
    assert_close(run(lambda: EMA(period), "update", close), ema(close, period))


@PROPERTY
@given(close=closes, period=periods)
def test_rsi_incremental_matches(close: FloatArray, period: int) -> None:
    assert_close(run(lambda: RSI(period), "update", close), rsi(close, period))


@PROPERTY
@given(bars=ohlc_bars(), period=periods)
def test_atr_incremental_matches(
    bars: tuple[FloatArray, FloatArray, FloatArray], period: int
) -> None:
    high, low, close = bars
    assert_close(run(lambda: ATR(period), "update", high, low, close), atr(*bars, period))


@PROPERTY
@given(close=closes, period=periods, k=st.sampled_from([0.0, 1.0, 2.0, 2.5]))
def test_bollinger_incremental_matches(close: FloatArray, period: int, k: float) -> None:
    vec = bollinger(close, period, k)
    inc = run(lambda: Bollinger(period, k), "update", close)
    assert_identical([m for m, _, _ in inc], vec[0])  # middle band is the exact SMA
    assert_identical([m for m, _, _ in inc], sma(close, period))
    assert_close([u for _, u, _ in inc], vec[1])
    assert_close([lo for _, _, lo in inc], vec[2])


@PROPERTY
@given(bars=ohlc_bars(), period=periods)
def test_donchian_incremental_matches(
    bars: tuple[FloatArray, FloatArray, FloatArray], period: int
) -> None:
    high, low, _ = bars
    vec = donchian(high, low, period)
    inc = run(lambda: Donchian(period), "update", high, low)
    for j in range(3):  # max/min are exact, so the forms must be identical
        assert_identical([row[j] for row in inc], vec[j])


@PROPERTY
@given(close=closes, fast=st.integers(1, 6), slow=st.integers(2, 12))
def test_crossover_of_smas_incremental_matches(close: FloatArray, fast: int, slow: int) -> None:
    vec = crossover(sma(close, fast), sma(close, slow))
    f, s = SMA(fast), SMA(slow)
    cross = Crossover()
    inc = [cross.update(f.update(x), s.update(x)) for x in close.tolist()]
    assert inc == vec.tolist()


@PROPERTY
@given(
    pairs=st.lists(
        st.tuples(st.sampled_from([NAN, 1.0, 2.0, 3.0]), st.sampled_from([NAN, 1.0, 2.0, 3.0])),
        max_size=40,
    )
)
def test_crossover_incremental_matches_with_ties_and_nan(
    pairs: list[tuple[float, float]],
) -> None:
    a = np.array([p[0] for p in pairs], dtype=np.float64)
    b = np.array([p[1] for p in pairs], dtype=np.float64)
    vec = crossover(a, b)
    assert vec.dtype == np.int8
    assert run(Crossover, "update", a, b) == vec.tolist()


# --------------------------------------------------------------------------- warm-up, errors


def test_short_and_empty_series_are_all_warm_up() -> None:
    assert sma([], 3).shape == (0,)
    assert np.isnan(sma([1.0, 2.0], 3)).all()
    assert np.isnan(ema([1.0, 2.0], 3)).all()
    assert np.isnan(rsi([1.0, 2.0, 3.0], 3)).all()  # needs period + 1 closes
    assert np.isnan(atr([2.0], [1.0], [1.5], 2)).all()
    assert all(np.isnan(band).all() for band in bollinger([1.0], 2))
    assert all(np.isnan(line).all() for line in donchian([2.0], [1.0], 2))


def test_warm_up_value_is_nan_until_ready() -> None:
    s = SMA(2)
    assert math.isnan(s.value)
    assert math.isnan(s.update(1.0))
    assert s.update(2.0) == s.value == 1.5
    assert s.period == 2
    assert Crossover().value == 0


@pytest.mark.parametrize("period", [0, -1])
def test_period_below_one_is_rejected(period: int) -> None:
    for call in (
        lambda: sma([1.0], period),
        lambda: ema([1.0], period),
        lambda: rsi([1.0], period),
        lambda: atr([1.0], [1.0], [1.0], period),
        lambda: bollinger([1.0], period),
        lambda: donchian([1.0], [1.0], period),
        lambda: SMA(period),
        lambda: EMA(period),
        lambda: RSI(period),
        lambda: ATR(period),
        lambda: Bollinger(period),
        lambda: Donchian(period),
    ):
        with pytest.raises(ValueError, match="period must be an integer >= 1"):
            call()


def test_non_integer_period_is_rejected() -> None:
    with pytest.raises(TypeError):
        sma([1.0, 2.0], 2.0)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [NAN, math.inf, -math.inf])
def test_non_finite_input_to_sma_is_rejected(bad: float) -> None:
    with pytest.raises(ValueError, match=r"sma values\[1\] is .*finite prices"):
        sma([1.0, bad, 3.0], 2)
    s = SMA(2)
    s.update(1.0)
    with pytest.raises(ValueError, match="finite prices"):
        s.update(bad)
    assert s.update(3.0) == 2.0  # the rejected value left no trace in the window


def test_other_indicators_reject_non_finite_prices() -> None:
    with pytest.raises(ValueError, match=r"rsi close\[0\]"):
        rsi([NAN, 1.0], 1)
    with pytest.raises(ValueError, match=r"donchian low\[1\]"):
        donchian([1.0, 2.0], [1.0, math.inf], 1)
    with pytest.raises(ValueError, match=r"ATR\.update close"):
        ATR(2).update(2.0, 1.0, NAN)


def test_shape_and_length_errors() -> None:
    with pytest.raises(ValueError, match="1-D"):
        sma(np.ones((2, 2)), 1)
    with pytest.raises(ValueError, match="differ in length"):
        true_range([1.0, 2.0], [1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="differ in length"):
        crossover([1.0], [1.0, 2.0])


def test_bollinger_rejects_negative_k() -> None:
    with pytest.raises(ValueError, match="k must be"):
        bollinger([1.0, 2.0], 2, -1.0)
    with pytest.raises(ValueError, match="k must be"):
        Bollinger(2, math.nan)


def test_values_too_large_for_fixed_point_are_rejected() -> None:
    # 1e11 * 1e8 * 1 exceeds int64; both forms refuse instead of silently wrapping.
    with pytest.raises(ValueError, match="too large"):
        sma([1e11], 1)
    with pytest.raises(ValueError, match="too large"):
        SMA(1).update(-1e11)
    # A huge but legal value on a long series: int64 cumsum wraps, window sums stay exact.
    values = np.array([9e10, 9e10, 1.0, 2.0] * 50)
    assert_identical(run(lambda: SMA(1), "update", values), sma(values, 1))
