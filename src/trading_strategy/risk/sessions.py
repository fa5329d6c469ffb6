"""Market sessions and trading-day boundaries per calendar (pure: time zones via ``zoneinfo``).

=========  =============================================  ==================================
calendar   open                                           trading day
=========  =============================================  ==================================
XNYS       weekdays 09:30–16:00 America/New_York          midnight to midnight, New York
FX         Sunday 17:00 to Friday 17:00 America/New_York  17:00 to 17:00, New York
24/7       always                                         midnight to midnight, UTC
=========  =============================================  ==================================

Exchange holidays and half days are not modelled: an XNYS weekday holiday counts as open (a
backtest has no bar to fill on then anyway; a live venue refuses the order itself).

Both functions return the instant until which their answer holds, so a caller can cache the
answer and call again only when time passes it (the gate does this to stay fast).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from trading_strategy.core.instrument import Calendar

_NS = 1_000_000_000
_DAY_NS = 86_400 * _NS
_OPEN = time(9, 30)
_CLOSE = time(16, 0)
#: FX days roll at 17:00 New York: shifting New York wall time by +7 h puts the roll at midnight
_FX_SHIFT = timedelta(hours=7)
#: "forever" for answers that never change (24/7 markets)
FOREVER_NS = 2**63 - 1


@cache
def _new_york() -> ZoneInfo:
    return ZoneInfo("America/New_York")


def _ns(moment: datetime) -> int:
    """An aware datetime (whole seconds) as UTC nanoseconds."""
    return int(moment.timestamp()) * _NS


def _wall_ns(day: date, at: time) -> int:
    """New York wall time ``at`` on ``day`` as UTC nanoseconds."""
    return _ns(datetime.combine(day, at, tzinfo=_new_york()))


def _local(ts_ns: int) -> datetime:
    return datetime.fromtimestamp(ts_ns // _NS, tz=_new_york())


def _next_weekday(day: date) -> date:
    day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def session_status(calendar: Calendar, ts_ns: int) -> tuple[bool, int]:
    """``(is_open, valid_until_ns)``: whether the market is open at ``ts_ns``, and the first
    instant at which that answer may change (the close when open, the next open when closed).
    """
    if calendar is Calendar.ALWAYS:
        return True, FOREVER_NS
    local = _local(ts_ns)
    if calendar is Calendar.XNYS:
        day = local.date()
        if day.weekday() < 5:
            open_ns, close_ns = _wall_ns(day, _OPEN), _wall_ns(day, _CLOSE)
            if open_ns <= ts_ns < close_ns:
                return True, close_ns
            if ts_ns < open_ns:
                return False, open_ns
        return False, _wall_ns(_next_weekday(day), _OPEN)
    # FX: in the shifted frame the week runs Monday 00:00 to Saturday 00:00
    shifted_day = (local.replace(tzinfo=None) + _FX_SHIFT).date()
    if shifted_day.weekday() < 5:
        days_to_saturday = 5 - shifted_day.weekday()
        return True, _fx_roll_ns(shifted_day + timedelta(days=days_to_saturday))
    days_to_monday = 7 - shifted_day.weekday()
    return False, _fx_roll_ns(shifted_day + timedelta(days=days_to_monday))


def is_session_open(calendar: Calendar, ts_ns: int) -> bool:
    return session_status(calendar, ts_ns)[0]


def _fx_roll_ns(shifted_day: date) -> int:
    """UTC ns of the FX day start ``shifted_day`` (17:00 New York on the day before)."""
    return _wall_ns(shifted_day - timedelta(days=1), time(17, 0))


def trading_day_bounds(calendar: Calendar, ts_ns: int) -> tuple[int, int]:
    """``(start_ns, end_ns)`` of the trading day containing ``ts_ns`` (start inclusive).

    Daily bars stamped at UTC midnight of their session date fall on distinct days under
    every calendar (New York midnight UTC is the previous evening in New York), so with daily
    bars each bar is its own trading day.
    """
    if calendar is Calendar.ALWAYS:
        start = ts_ns - ts_ns % _DAY_NS
        return start, start + _DAY_NS
    local = _local(ts_ns)
    if calendar is Calendar.XNYS:
        day = local.date()
        return _wall_ns(day, time(0)), _wall_ns(day + timedelta(days=1), time(0))
    shifted_day = (local.replace(tzinfo=None) + _FX_SHIFT).date()
    return _fx_roll_ns(shifted_day), _fx_roll_ns(shifted_day + timedelta(days=1))


def utc_date(ts_ns: int) -> date:
    """The UTC calendar date of ``ts_ns`` (for messages)."""
    return datetime.fromtimestamp(ts_ns // _NS, tz=UTC).date()
