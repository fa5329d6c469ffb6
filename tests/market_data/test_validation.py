"""Pure OHLCV checks, repair and inference (no files)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from trading_strategy.core.bars import FloatArray, IntArray
from trading_strategy.core.instrument import AssetClass, Calendar
from trading_strategy.core.timeframe import Timeframe
from trading_strategy.market_data.validation import (
    ProblemKind,
    find_problem,
    guess_market,
    median_spacing,
    price_decimals,
    repair_order,
    timeframe_for_spacing,
    timeframe_mismatch,
)

DAY = 86_400 * 10**9
HOUR = 3_600 * 10**9
NAN = float("nan")
INF = float("inf")
GOOD = (10.0, 11.0, 9.0, 10.5, 100.0)


def columns(rows: Sequence[tuple[float, ...]], ts: list[int] | None = None) -> list[Any]:
    """ts (one day apart unless given) followed by open, high, low, close, volume arrays."""
    stamps: IntArray = np.array(
        ts if ts is not None else [i * DAY for i in range(len(rows))], dtype=np.int64
    )
    values: FloatArray = np.array(rows, dtype=np.float64).reshape(len(rows), 5)
    return [stamps, *(values[:, k].copy() for k in range(5))]


def test_clean_data_has_no_problem() -> None:
    assert find_problem(*columns([GOOD, GOOD, (10.5, 10.5, 10.5, 10.5, 0.0)])) is None


def test_empty_columns_have_no_problem() -> None:
    assert find_problem(*columns([])) is None


@pytest.mark.parametrize(
    ("row", "kind", "reason"),
    [
        ((NAN, 11.0, 9.0, 10.5, 1.0), ProblemKind.PRICE, "open is NaN"),
        ((10.0, INF, 9.0, 10.5, 1.0), ProblemKind.PRICE, "high is infinite (inf)"),
        ((10.0, 11.0, -9.0, 10.5, 1.0), ProblemKind.PRICE, "low is negative (-9.0)"),
        ((10.0, 11.0, 9.0, 0.0, 1.0), ProblemKind.PRICE, "close is zero (0.0)"),
        ((10.0, 11.0, 9.0, 10.5, NAN), ProblemKind.VOLUME, "volume is NaN"),
        ((10.0, 11.0, 9.0, 10.5, -5.0), ProblemKind.VOLUME, "volume is negative (-5.0)"),
        ((10.0, 11.0, 9.0, 10.5, INF), ProblemKind.VOLUME, "volume is infinite"),
        ((10.0, 8.0, 9.0, 8.5, 1.0), ProblemKind.OHLC, "high 8.0 is below low 9.0"),
        ((12.0, 11.0, 9.0, 10.5, 1.0), ProblemKind.OHLC, "high 11.0 is below open 12.0"),
        ((10.0, 11.0, 9.0, 11.5, 1.0), ProblemKind.OHLC, "high 11.0 is below close 11.5"),
        ((8.0, 11.0, 9.0, 10.5, 1.0), ProblemKind.OHLC, "low 9.0 is above open 8.0"),
        ((10.0, 11.0, 9.0, 8.5, 1.0), ProblemKind.OHLC, "low 9.0 is above close 8.5"),
    ],
)
def test_each_value_rule(row: tuple[float, ...], kind: ProblemKind, reason: str) -> None:
    problem = find_problem(*columns([GOOD, GOOD, row, GOOD]))
    assert problem is not None
    assert (problem.index, problem.kind) == (2, kind)
    assert reason in problem.reason


def test_duplicate_and_out_of_order_timestamps() -> None:
    duplicate = find_problem(*columns([GOOD] * 3, ts=[0, DAY, DAY]))
    assert duplicate is not None
    assert (duplicate.index, duplicate.kind) == (2, ProblemKind.DUPLICATE)
    assert "duplicate timestamp 1970-01-02T00:00:00Z" in duplicate.reason

    backwards = find_problem(*columns([GOOD] * 3, ts=[0, 2 * DAY, DAY]))
    assert backwards is not None
    assert (backwards.index, backwards.kind) == (2, ProblemKind.ORDER)
    assert "1970-01-02T00:00:00Z is earlier than the previous row's 1970-01-03" in (
        backwards.reason
    )


def test_order_is_not_checked_when_asked() -> None:
    assert find_problem(*columns([GOOD] * 3, ts=[0, 2 * DAY, DAY]), check_order=False) is None


def test_earliest_row_wins_over_rule_order() -> None:
    # Row 1 goes back in time (rule 6), row 3 has a NaN (rule 1): row 1 is reported.
    rows = [GOOD, GOOD, GOOD, (NAN, 11.0, 9.0, 10.5, 1.0)]
    problem = find_problem(*columns(rows, ts=[DAY, 0, 2 * DAY, 3 * DAY]))
    assert problem is not None
    assert (problem.index, problem.kind) == (1, ProblemKind.ORDER)


def test_within_a_row_the_first_rule_names_it() -> None:
    # high < low and high < open at once: "high below low" is the clearer message.
    problem = find_problem(*columns([(10.0, 8.0, 9.0, 8.5, 1.0)]))
    assert problem is not None
    assert problem.reason == "high 8.0 is below low 9.0"
    # Negative volume (rule 2) comes before the OHLC rules.
    problem = find_problem(*columns([(10.0, 8.0, 9.0, 8.5, -1.0)]))
    assert problem is not None
    assert problem.kind is ProblemKind.VOLUME


def test_length_mismatch_is_a_programming_error() -> None:
    ts, o, h, lo, c, v = columns([GOOD, GOOD])
    with pytest.raises(ValueError, match="column high has 1 rows"):
        find_problem(ts, o, h[:1], lo, c, v)


def test_million_rows_validate_quickly() -> None:
    n = 1_000_000
    ts = np.arange(n, dtype=np.int64) * 60 * 10**9
    close = 100.0 + np.sin(np.arange(n) / 100.0)
    high, low = close + 0.5, close - 0.5
    started = time.perf_counter()
    assert find_problem(ts, close, high, low, close, np.ones(n)) is None
    assert time.perf_counter() - started < 1.0


# --- repair -----------------------------------------------------------------------------


def test_repair_sorts_and_keeps_last_duplicate() -> None:
    ts = np.array([3, 1, 2, 2, 4, 4], dtype=np.int64) * DAY
    close = np.array([30.0, 10.0, 20.0, 21.0, 40.0, 40.0])
    fixed_ts, (fixed_close,), notes = repair_order(ts, close)
    assert fixed_ts.tolist() == [DAY, 2 * DAY, 3 * DAY, 4 * DAY]
    assert fixed_close.tolist() == [10.0, 21.0, 30.0, 40.0]
    assert notes == [
        "repaired: sorted 1 out-of-order row",
        "repaired: dropped 2 duplicate timestamps (kept the last row of each; "
        "1 had different values)",
    ]


def test_repair_of_good_data_changes_nothing() -> None:
    ts = np.arange(5, dtype=np.int64) * DAY
    close = np.arange(5, dtype=np.float64)
    fixed_ts, (fixed_close,), notes = repair_order(ts, close)
    assert notes == []
    assert fixed_ts is ts
    assert fixed_close is close


def test_repair_counts_rows_going_back_in_time() -> None:
    ts = np.array([5, 4, 3, 2, 1], dtype=np.int64)
    fixed_ts, _, notes = repair_order(ts)
    assert fixed_ts.tolist() == [1, 2, 3, 4, 5]
    assert notes == ["repaired: sorted 4 out-of-order rows"]


# --- inference --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spacing", "expected"),
    [
        (60 * 10**9, "1m"),
        (5 * 60 * 10**9, "5m"),
        (15 * 60 * 10**9, "15m"),
        (HOUR, "1h"),
        (4 * HOUR, "4h"),
        (DAY, "1d"),
        (7 * DAY, "1w"),
        (90 * 10**9, "90s"),
        (30 * DAY, "30d"),
    ],
)
def test_timeframe_for_spacing(spacing: int, expected: str) -> None:
    assert str(timeframe_for_spacing(spacing)) == expected


def test_timeframe_for_spacing_rejects_sub_second_and_zero() -> None:
    assert timeframe_for_spacing(500_000_000) is None
    assert timeframe_for_spacing(0) is None


def test_median_spacing_of_weekday_bars_is_one_day() -> None:
    # Three weeks of Monday..Friday bars: the weekend gaps do not move the median.
    days = [week * 7 + weekday for week in range(3) for weekday in range(5)]
    ts = np.array(days, dtype=np.int64) * DAY
    assert median_spacing(ts) == DAY
    assert median_spacing(ts[:1]) is None


def test_timeframe_mismatch() -> None:
    daily = np.arange(10, dtype=np.int64) * DAY
    assert timeframe_mismatch(daily, Timeframe.parse("1d")) is None
    assert timeframe_mismatch(daily, Timeframe.parse("24h")) is None
    why = timeframe_mismatch(daily, Timeframe.parse("1h"))
    assert why is not None
    assert "timeframe 1h" in why
    assert "1d apart" in why
    # Sparse minute bars: most gaps are 2-3 minutes but the smallest is one minute.
    sparse = np.array([0, 1, 3, 6, 8, 11, 13], dtype=np.int64) * 60 * 10**9
    assert timeframe_mismatch(sparse, Timeframe.parse("1m")) is None


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([50.1598, 52.1911, 48.1286], 4),
        ([1.0716, 1.07083, 1.07219], 5),
        ([100.0, 101.0], 0),
        ([1.10, 1.20], 1),  # trailing zeros carry no precision
        ([0.123456789123], 8),  # capped
        ([NAN, INF, 2.5], 1),  # non-finite values are ignored
        ([], 0),
    ],
)
def test_price_decimals(values: list[float], expected: int) -> None:
    assert price_decimals(np.array(values, dtype=np.float64)) == expected


def test_price_decimals_of_a_large_column_uses_the_rare_long_value() -> None:
    values = np.round(np.linspace(1.0, 2.0, 200_001), 2)
    values[123_457] = 1.23456  # not in the evenly spread sample
    assert price_decimals(values) == 5


def _week_hours(days: list[int]) -> IntArray:
    # 1970-01-05 (day 4) was a Monday; Monday=0 in ``days``.
    return np.array(
        [(4 + day) * DAY + hour * HOUR for day in days for hour in range(0, 24, 6)],
        dtype=np.int64,
    )


def test_guess_market() -> None:
    hourly, daily = Timeframe.parse("1h"), Timeframe.parse("1d")
    assert guess_market(_week_hours([0, 1, 2, 3, 4, 5, 6]), hourly) == (
        AssetClass.CRYPTO,
        Calendar.ALWAYS,
    )
    assert guess_market(_week_hours([0, 1, 2, 3, 4, 6]), hourly) == (AssetClass.FX, Calendar.FX)
    assert guess_market(_week_hours([0, 1, 2, 3, 4]), hourly) == (
        AssetClass.EQUITY,
        Calendar.XNYS,
    )
    # A 24/5 market in a broker's server time: Monday to Friday, around the clock.
    server_time = np.array([(4 + day) * DAY + hour * HOUR for day in range(5)
                            for hour in range(24)], dtype=np.int64)
    assert guess_market(server_time, hourly) == (AssetClass.FX, Calendar.FX)
    four_hours = server_time[::4]  # 00:00, 04:00, ... each bar covering four hours
    assert guess_market(four_hours, Timeframe.parse("4h")) == (AssetClass.FX, Calendar.FX)
    # US equities with pre- and after-market (04:00-20:00 New York, 08:00-01:00 UTC over
    # the year) stay equities
    extended = np.array([(4 + day) * DAY + hour * HOUR for day in range(5)
                         for hour in [*range(8, 24), 0]], dtype=np.int64)
    assert guess_market(extended, hourly) == (AssetClass.EQUITY, Calendar.XNYS)
    # the same in 4h bars (04:00, 08:00, 12:00 and 16:00 New York; summer, then winter)
    four_hourly = np.array([(4 + day) * DAY + hour * HOUR for day in (0, 1, 2, 3, 4, 7, 8)
                            for hour in ((8, 12, 16, 20) if day < 5 else (9, 13, 17, 21))],
                           dtype=np.int64)
    assert guess_market(four_hourly, Timeframe.parse("4h")) == (AssetClass.EQUITY,
                                                                Calendar.XNYS)
    # Daily bars stamped on Sunday only (an Asian session in UTC) are not FX.
    sunday_to_thursday = np.array([(4 + d) * DAY for d in (6, 7, 8, 9, 10)], dtype=np.int64)
    assert guess_market(sunday_to_thursday, daily) == (AssetClass.EQUITY, Calendar.XNYS)


# --- rule 7: prices as whole ticks ------------------------------------------------------
# Regression: a bar at 1e-9 made the inferred tick 1e-8 and the price 0 ticks, stored and
# traded; 1e308 passed and overflowed int64 in the engine.


@pytest.mark.parametrize(
    ("price", "tick", "reason"),
    [
        (1e-9, "0.00000001", "open 1e-09 rounds to 0 at tick size 0.00000001"),
        (0.004, "0.01", "open 0.004 rounds to 0 at tick size 0.01"),
        (0.005, "0.01", "open 0.005 rounds to 0 at tick size 0.01"),  # half-even: 0 ticks
        (1e308, "0.01", "open 1e+308 is too large: at tick size 0.01 prices must be below "
                        "9.007e+13"),
        (float(2**53), "1", "open 9007199254740992.0 is too large: at tick size 1"),
        (1e17, "0.0001", "open 1e+17 is too large: at tick size 0.0001 prices must be "
                         "below 9.007e+11"),
    ],
)
def test_prices_must_be_whole_ticks_within_range(price: float, tick: str, reason: str) -> None:
    from decimal import Decimal

    row = (price, price, price, price, 1.0)
    problem = find_problem(*columns([GOOD, row, GOOD]), tick=Decimal(tick))
    assert problem is not None
    assert (problem.index, problem.kind) == (1, ProblemKind.TICK)
    assert problem.reason.startswith(reason)
    # Without a tick the rule is not checked (callers that know no instrument).
    assert find_problem(*columns([GOOD, row, GOOD])) is None


def test_prices_at_the_edges_of_the_tick_range_pass() -> None:
    from decimal import Decimal

    smallest = (0.006, 0.006, 0.006, 0.006, 1.0)  # rounds to 1 tick of 0.01
    largest = (float(2**53 - 1),) * 4 + (1.0,)
    assert find_problem(*columns([smallest]), tick=Decimal("0.01")) is None
    assert find_problem(*columns([largest]), tick=Decimal("1")) is None


def test_tick_rule_reports_the_earliest_row_among_all_rules() -> None:
    from decimal import Decimal

    tiny = (1e-9, 1e-9, 1e-9, 1e-9, 1.0)
    bad_ohlc = (10.0, 9.0, 11.0, 10.0, 1.0)
    problem = find_problem(*columns([GOOD, tiny, bad_ohlc]), tick=Decimal("0.00000001"))
    assert problem is not None and problem.index == 1


def test_volume_must_be_held_exactly() -> None:
    row = (10.0, 11.0, 9.0, 10.5, float(2**53))
    problem = find_problem(*columns([GOOD, row]))
    assert problem is not None
    assert (problem.index, problem.kind) == (1, ProblemKind.VOLUME)
    assert problem.reason.startswith("volume 9007199254740992.0 is too large")


def test_no_numpy_warnings_for_absurd_values(recwarn: pytest.WarningsRecorder) -> None:
    from decimal import Decimal

    rows = [GOOD, (1e308, 1e308, 1e308, 1e308, 1e308), (NAN, INF, -INF, 0.0, NAN)]
    assert find_problem(*columns(rows), tick=Decimal("0.00000001")) is not None
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]
