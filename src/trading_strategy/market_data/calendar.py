"""When a market is open, for the feed: which bars to expect and when silence means stale.

Pure (time zones through ``zoneinfo``). The instrument's ``core.instrument.Calendar`` picks
the rule; the sessions themselves are ``risk.sessions`` (the risk gate's), and this module
adds what a feed needs on top:

=========  ==================================================================================
calendar   open
=========  ==================================================================================
24/7       always: every bar is expected, silence is always silence
FX         Sunday 17:00 to Friday 17:00 New York (about 22:00 UTC in winter, 21:00 in summer)
XNYS       weekdays 09:30-16:00 New York, minus NYSE holidays; 13:00 closes on the day after
           Thanksgiving, on 24 December and on 3 July when they are trading days
=========  ==================================================================================

NYSE holidays by rule: New Year's Day (a Sunday's on Monday; a Saturday's is not made up),
Martin Luther King Jr. Day (from 1998), Washington's Birthday, Good Friday, Memorial Day,
Juneteenth (from 2022), Independence Day, Labor Day, Thanksgiving and Christmas (a Saturday's
on Friday, a Sunday's on Monday). Closures the exchange announces at short notice (a national
day of mourning, a storm) are not known here: their bars look missing, the feed asks the
backfill for them and delivers on without them. FX has no holidays here (its Christmas and
New Year closures vary by venue).

* **Expected bars.** An intraday bar ``[t, t + length)`` is expected when it overlaps an open
  session (an hourly bar opening at 13:00 UTC covers the 13:30 open). A daily bar (stamped at
  midnight UTC of its date) is expected on a trading day: any day for 24/7, a weekday for
  FX, a weekday that is no holiday for XNYS (as the bar store's coverage counts them).
  Longer bars are always expected. A gap is a missing expected bar; the night, the weekend
  and a holiday are not gaps.
* **Silence.** While a market is closed nothing is stale; once it opens, silence counts
  from the open (``open_since``), not from the last bar before the close.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from trading_strategy.core.instrument import Calendar
from trading_strategy.risk.sessions import FOREVER_NS, session_status

__all__ = ["SessionWatch", "expected_bars", "first_expected_bar", "is_bar_expected",
           "market_status", "nyse_early_close", "nyse_holidays", "open_since"]

_NS = 1_000_000_000
_DAY_NS = 86_400 * _NS
_OPEN = time(9, 30)
_EARLY_CLOSE = time(13, 0)
_FX_SHIFT = timedelta(hours=7)  # FX weeks roll at 17:00 New York: +7 h puts it at midnight
_MON, _THU = 0, 3


@cache
def _new_york() -> ZoneInfo:
    return ZoneInfo("America/New_York")


def _local(ts_ns: int) -> datetime:
    return datetime.fromtimestamp(ts_ns // _NS, tz=_new_york())


def _wall_ns(day: date, at: time) -> int:
    return int(datetime.combine(day, at, tzinfo=_new_york()).timestamp()) * _NS


# --- NYSE holidays ---------------------------------------------------------------------------
def _nth(year: int, month: int, weekday: int, n: int) -> date:
    """The ``n``-th ``weekday`` of the month (``n = -1``: the last)."""
    if n > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _easter(year: int) -> date:
    """Gregorian Easter Sunday (the anonymous algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 19 * l_) // 433
    month = (h + l_ - 7 * m + 90) // 25
    return date(year, month, (h + l_ - 7 * m + 33 * month + 19) % 32)


def _observed(day: date) -> date:
    if day.weekday() == 5:
        return day - timedelta(days=1)
    if day.weekday() == 6:
        return day + timedelta(days=1)
    return day


@cache
def nyse_holidays(year: int) -> frozenset[date]:
    """The weekdays of ``year`` the NYSE is closed (the module docstring's rules)."""
    days = {_nth(year, 2, _MON, 3), _easter(year) - timedelta(days=2),
            _nth(year, 5, _MON, -1), _observed(date(year, 7, 4)), _nth(year, 9, _MON, 1),
            _nth(year, 11, _THU, 4), _observed(date(year, 12, 25))}
    new_year = date(year, 1, 1)
    if new_year.weekday() != 5:  # a Saturday New Year's Day is not made up on the Friday
        days.add(_observed(new_year))
    if year >= 1998:
        days.add(_nth(year, 1, _MON, 3))
    if year >= 2022:
        days.add(_observed(date(year, 6, 19)))
    return frozenset(d for d in days if d.weekday() < 5)


def nyse_early_close(day: date) -> bool:
    """Whether the NYSE closes at 13:00 New York on ``day`` (a trading day)."""
    if day.weekday() >= 5 or day in nyse_holidays(day.year):
        return False
    return (day == _nth(day.year, 11, _THU, 4) + timedelta(days=1)
            or (day.month, day.day) in ((12, 24), (7, 3)))


def _skip_holidays(open_ns: int) -> int:
    """The first XNYS open at or after ``open_ns`` (an open instant) that is no holiday."""
    while (day := _local(open_ns).date()) in nyse_holidays(day.year):
        close_ns = session_status(Calendar.XNYS, open_ns)[1]
        open_ns = session_status(Calendar.XNYS, close_ns)[1]
    return open_ns


# --- open or closed ----------------------------------------------------------------------------
def market_status(calendar: Calendar, ts_ns: int) -> tuple[bool, int]:
    """``(is_open, valid_until_ns)``: open at ``ts_ns``, and the first instant that answer
    may change (the close when open, the next open when closed)."""
    is_open, until = session_status(calendar, ts_ns)
    if calendar is not Calendar.XNYS:
        return is_open, until
    if not is_open:
        return False, _skip_holidays(until)
    day = _local(ts_ns).date()
    if day in nyse_holidays(day.year):
        return False, _skip_holidays(session_status(Calendar.XNYS, until)[1])
    if nyse_early_close(day):
        close_ns = _wall_ns(day, _EARLY_CLOSE)
        if ts_ns >= close_ns:
            return False, _skip_holidays(session_status(Calendar.XNYS, until)[1])
        return True, close_ns
    return True, until


def open_since(calendar: Calendar, ts_ns: int) -> int | None:
    """When the session open at ``ts_ns`` opened (``None``: closed then; 0 for 24/7)."""
    if calendar is Calendar.ALWAYS:
        return 0
    if not market_status(calendar, ts_ns)[0]:
        return None
    local = _local(ts_ns)
    if calendar is Calendar.XNYS:
        return _wall_ns(local.date(), _OPEN)
    shifted = (local.replace(tzinfo=None) + _FX_SHIFT).date()
    monday = shifted - timedelta(days=shifted.weekday())
    return _wall_ns(monday - timedelta(days=1), time(17, 0))


# --- expected bars -----------------------------------------------------------------------------
def _daily_expected(calendar: Calendar, ts_ns: int) -> bool:
    day = date(1970, 1, 1) + timedelta(days=ts_ns // _DAY_NS)
    if day.weekday() >= 5:
        return False
    return calendar is not Calendar.XNYS or day not in nyse_holidays(day.year)


def is_bar_expected(calendar: Calendar, tf_ns: int, ts_ns: int) -> bool:
    """Whether a market of ``calendar`` makes the bar of length ``tf_ns`` opening at
    ``ts_ns`` (the module docstring's rule)."""
    if calendar is Calendar.ALWAYS or tf_ns > _DAY_NS:
        return True
    if tf_ns == _DAY_NS:
        return _daily_expected(calendar, ts_ns)
    is_open, until = market_status(calendar, ts_ns)
    return is_open or until < ts_ns + tf_ns


def first_expected_bar(calendar: Calendar, tf_ns: int, start_ns: int,
                       end_ns: int) -> int | None:
    """The first expected bar opening in ``[start_ns, end_ns)`` on the grid ``start_ns +
    k·tf_ns`` (``None``: the market makes none there: no gap)."""
    t = start_ns
    if calendar is Calendar.ALWAYS or tf_ns > _DAY_NS:
        return t if t < end_ns else None
    while t < end_ns:
        if tf_ns == _DAY_NS:
            if _daily_expected(calendar, t):
                return t
            t += tf_ns
            continue
        is_open, until = market_status(calendar, t)
        if is_open or until < t + tf_ns:
            return t
        if until >= FOREVER_NS:
            return None
        # on to the bar holding the next open
        t = max(t + tf_ns, start_ns + (until - start_ns) // tf_ns * tf_ns)
    return None


def expected_bars(calendar: Calendar, tf_ns: int, start_ns: int, end_ns: int) -> int:
    """How many expected bars open in ``[start_ns, end_ns)`` on the grid from ``start_ns``."""
    if end_ns <= start_ns:
        return 0
    if calendar is Calendar.ALWAYS or tf_ns > _DAY_NS:
        return -(-(end_ns - start_ns) // tf_ns)
    count = 0
    t: int | None = start_ns
    while t is not None and t < end_ns:
        t = first_expected_bar(calendar, tf_ns, t, end_ns)
        if t is None:
            break
        if tf_ns == _DAY_NS:
            count += 1
            t += tf_ns
            continue
        # every bar from t up to the one holding the session's last instant is expected
        is_open, until = market_status(calendar, t)
        close = until if is_open else market_status(calendar, until)[1]
        last = min(close - 1, end_ns - 1)
        bars = (last - t) // tf_ns + 1
        count += bars
        t += bars * tf_ns
    return count


class SessionWatch:
    """``open_since`` for a watchdog that asks many times a second: the answer is cached
    until the market may open or close."""

    __slots__ = ("_calendar", "_since", "_until")

    def __init__(self, calendar: Calendar) -> None:
        self._calendar = calendar
        self._until = -1
        self._since: int | None = None

    def open_since(self, now_ns: int) -> int | None:
        if now_ns < self._until:
            return self._since
        is_open, self._until = market_status(self._calendar, now_ns)
        self._since = open_since(self._calendar, now_ns) if is_open else None
        return self._since
