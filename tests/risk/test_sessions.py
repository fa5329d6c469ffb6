"""Market sessions and trading-day boundaries per calendar (hand-checked UTC instants).

New York is UTC−5 in winter (EST) and UTC−4 in summer (EDT); 2024-03-10 is the spring-forward
Sunday.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from trading_strategy.core.instrument import Calendar
from trading_strategy.risk.sessions import (
    FOREVER_NS,
    is_session_open,
    session_status,
    trading_day_bounds,
)


def ns(*parts: int) -> int:
    return int(datetime(*parts, tzinfo=UTC).timestamp()) * 1_000_000_000


@pytest.mark.parametrize(
    ("ts", "is_open"),
    [
        (ns(2024, 3, 5, 14, 30), True),  # Tuesday 09:30 EST: the open
        (ns(2024, 3, 5, 14, 29, 59), False),  # 09:29:59
        (ns(2024, 3, 5, 20, 59, 59), True),  # 15:59:59
        (ns(2024, 3, 5, 21, 0), False),  # 16:00: the close is exclusive
        (ns(2024, 7, 2, 13, 30), True),  # 09:30 EDT in summer
        (ns(2024, 7, 2, 14, 29), True),
        (ns(2024, 3, 9, 15, 0), False),  # Saturday
        (ns(2024, 3, 5, 0, 0), False),  # a daily bar's UTC midnight: 19:00 the evening before
    ],
)
def test_xnys_session(ts: int, is_open: bool) -> None:
    assert is_session_open(Calendar.XNYS, ts) is is_open


def test_xnys_valid_until() -> None:
    # open Tuesday 10:00 EST: valid until the 16:00 close
    assert session_status(Calendar.XNYS, ns(2024, 3, 5, 15, 0)) == (True, ns(2024, 3, 5, 21, 0))
    # Tuesday 07:00 EST: closed until 09:30 that day
    assert session_status(Calendar.XNYS, ns(2024, 3, 5, 12, 0)) == (False,
                                                                     ns(2024, 3, 5, 14, 30))
    # Friday after the close: closed until Monday 09:30 EST
    assert session_status(Calendar.XNYS, ns(2024, 3, 8, 22, 0)) == (False,
                                                                     ns(2024, 3, 11, 13, 30))
    # ...which is 13:30 UTC because New York moved to EDT on Sunday 2024-03-10


@pytest.mark.parametrize(
    ("ts", "is_open"),
    [
        (ns(2024, 1, 7, 21, 59, 59), False),  # Sunday 16:59:59 EST
        (ns(2024, 1, 7, 22, 0), True),  # Sunday 17:00 EST: the week opens
        (ns(2024, 1, 10, 3, 0), True),  # Tuesday night
        (ns(2024, 1, 12, 21, 59, 59), True),  # Friday 16:59:59 EST
        (ns(2024, 1, 12, 22, 0), False),  # Friday 17:00 EST: the week closes
        (ns(2024, 1, 13, 12, 0), False),  # Saturday
    ],
)
def test_fx_session(ts: int, is_open: bool) -> None:
    assert is_session_open(Calendar.FX, ts) is is_open


def test_fx_valid_until() -> None:
    assert session_status(Calendar.FX, ns(2024, 1, 10, 3, 0)) == (True, ns(2024, 1, 12, 22, 0))
    assert session_status(Calendar.FX, ns(2024, 1, 13, 12, 0)) == (False,
                                                                    ns(2024, 1, 14, 22, 0))


def test_always_open() -> None:
    assert session_status(Calendar.ALWAYS, ns(2024, 1, 13, 12, 0)) == (True, FOREVER_NS)


def test_trading_days() -> None:
    # XNYS: New York midnight to midnight: 05:00 UTC in winter
    assert trading_day_bounds(Calendar.XNYS, ns(2024, 3, 5, 15, 0)) == (
        ns(2024, 3, 5, 5, 0), ns(2024, 3, 6, 5, 0))
    # the spring-forward day is 23 hours long: 05:00 UTC to 04:00 UTC
    assert trading_day_bounds(Calendar.XNYS, ns(2024, 3, 10, 12, 0)) == (
        ns(2024, 3, 10, 5, 0), ns(2024, 3, 11, 4, 0))
    # a daily bar stamped 2024-03-05 00:00 UTC is 19:00 on the 4th in New York
    assert trading_day_bounds(Calendar.XNYS, ns(2024, 3, 5)) == (
        ns(2024, 3, 4, 5, 0), ns(2024, 3, 5, 5, 0))
    # FX: 17:00 New York to 17:00 New York (22:00 UTC in winter)
    assert trading_day_bounds(Calendar.FX, ns(2024, 1, 9, 21, 0)) == (
        ns(2024, 1, 8, 22, 0), ns(2024, 1, 9, 22, 0))
    assert trading_day_bounds(Calendar.FX, ns(2024, 1, 9, 22, 0)) == (
        ns(2024, 1, 9, 22, 0), ns(2024, 1, 10, 22, 0))
    # 24/7: UTC midnight
    assert trading_day_bounds(Calendar.ALWAYS, ns(2024, 1, 9, 23, 59, 59)) == (
        ns(2024, 1, 9), ns(2024, 1, 10))


def test_consecutive_daily_bars_are_distinct_days() -> None:
    for calendar in Calendar:
        days = {trading_day_bounds(calendar, ns(2024, 3, d)) for d in (4, 5, 6, 7, 8)}
        assert len(days) == 5, calendar
