"""Calendar-aware gaps and staleness: a closed market (night, weekend, holiday, the FX
weekend) is neither a gap nor stale; a bar missing inside a session still is a gap, and
silence after the open still is stale. The rules (``market_data.calendar``) on their own,
then the feed's pure core with scripted times in UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from trading_strategy.core.bars import Bar
from trading_strategy.core.instrument import Calendar
from trading_strategy.market_data.calendar import (
    expected_bars,
    first_expected_bar,
    is_bar_expected,
    market_status,
    nyse_early_close,
    nyse_holidays,
    open_since,
)
from trading_strategy.market_data.feed import FeedCore, InstrumentFeed
from trading_strategy.market_data.health_events import (
    BackfillRequest,
    DataStale,
    FeedHealthEvent,
)
from trading_strategy.market_data.providers.base import BarEvent, Health, QuoteEvent, TradeEvent

S = 1_000_000_000
M = 60 * S
H = 60 * M
D = 24 * H


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()) * S


# --- the rules --------------------------------------------------------------------------------
def test_nyse_holidays_by_rule_with_their_observed_days() -> None:
    assert sorted(nyse_holidays(2024)) == [
        date(2024, 1, 1), date(2024, 1, 15), date(2024, 2, 19), date(2024, 3, 29),
        date(2024, 5, 27), date(2024, 6, 19), date(2024, 7, 4), date(2024, 9, 2),
        date(2024, 11, 28), date(2024, 12, 25)]
    h2022 = nyse_holidays(2022)
    # New Year's Day on a Saturday is not made up; Juneteenth and Christmas on a Sunday are
    assert date(2021, 12, 31) not in nyse_holidays(2021)
    assert {date(2022, 6, 20), date(2022, 12, 26), date(2022, 4, 15)} <= h2022
    assert date(2026, 7, 3) in nyse_holidays(2026)  # Independence Day on a Saturday
    assert [d for d in (date(2024, 11, 29), date(2024, 12, 24), date(2024, 7, 3),
                        date(2026, 7, 3), date(2024, 7, 5)) if nyse_early_close(d)] == [
        date(2024, 11, 29), date(2024, 12, 24), date(2024, 7, 3)]


def test_market_status_says_until_when() -> None:
    # Good Friday 2024: closed until Monday's open (13:30 UTC, New York on daylight time)
    assert market_status(Calendar.XNYS, utc(2024, 3, 29, 15)) == (False, utc(2024, 4, 1, 13, 30))
    # the day before Independence Day closes at 13:00 New York; the holiday is skipped
    assert market_status(Calendar.XNYS, utc(2024, 7, 3, 16)) == (True, utc(2024, 7, 3, 17))
    assert market_status(Calendar.XNYS, utc(2024, 7, 3, 18)) == (False, utc(2024, 7, 5, 13, 30))
    # FX: Friday 17:00 New York (22:00 UTC in winter) to Sunday 17:00
    assert market_status(Calendar.FX, utc(2024, 1, 5, 21, 59)) == (True, utc(2024, 1, 5, 22))
    assert market_status(Calendar.FX, utc(2024, 1, 6, 12)) == (False, utc(2024, 1, 7, 22))
    assert open_since(Calendar.FX, utc(2024, 1, 8, 9)) == utc(2024, 1, 7, 22)
    assert open_since(Calendar.XNYS, utc(2024, 1, 8, 15)) == utc(2024, 1, 8, 14, 30)
    assert open_since(Calendar.XNYS, utc(2024, 1, 8, 22)) is None
    assert open_since(Calendar.ALWAYS, utc(2024, 1, 6)) == 0


def test_expected_bars_per_calendar() -> None:
    # Friday's last minute, then Monday's first five (New York on standard time)
    assert expected_bars(Calendar.XNYS, M, utc(2024, 1, 5, 20, 59), utc(2024, 1, 8, 14, 35)) == 6
    # hourly bars on the UTC grid: those overlapping 14:30-21:00 UTC
    assert expected_bars(Calendar.XNYS, H, utc(2024, 1, 8), utc(2024, 1, 9)) == 7
    # FX hours from Friday 00:00 to Monday 00:00: 22 on Friday, 2 on Sunday evening
    assert expected_bars(Calendar.FX, H, utc(2024, 1, 5), utc(2024, 1, 8)) == 24
    assert expected_bars(Calendar.ALWAYS, H, utc(2024, 1, 5), utc(2024, 1, 8)) == 72
    # daily bars: weekdays, and no holiday for the NYSE (New Year's Day 2024 was a Monday)
    assert expected_bars(Calendar.XNYS, D, utc(2023, 12, 29), utc(2024, 1, 3)) == 2
    assert expected_bars(Calendar.FX, D, utc(2023, 12, 29), utc(2024, 1, 3)) == 3
    assert first_expected_bar(Calendar.XNYS, M, utc(2024, 1, 5, 21), utc(2024, 1, 8, 14, 30)) \
        is None
    assert first_expected_bar(Calendar.XNYS, M, utc(2024, 1, 5, 21), utc(2024, 1, 8, 14, 32)) \
        == utc(2024, 1, 8, 14, 30)
    assert is_bar_expected(Calendar.XNYS, H, utc(2024, 1, 8, 14))  # holds the 14:30 open
    assert not is_bar_expected(Calendar.XNYS, H, utc(2024, 1, 8, 21))


# --- the feed ---------------------------------------------------------------------------------
class Sink:
    def __init__(self) -> None:
        self.seen: list[tuple[str, Any]] = []

    def on_bar(self, event: BarEvent, backfilled: bool) -> None:
        self.seen.append(("backfill" if backfilled else "bar", event.bar.ts_event))

    def on_trade(self, event: TradeEvent) -> None:
        self.seen.append(("trade", event.trade_id))

    def on_quote(self, event: QuoteEvent) -> None:
        self.seen.append(("quote", event.bid))

    def on_health(self, event: FeedHealthEvent) -> None:
        self.seen.append((type(event).__name__, event))


def feed(calendar: Calendar, timeframe: str, start: int,
         **kw: Any) -> tuple[FeedCore, Sink]:
    sink = Sink()
    core = FeedCore([InstrumentFeed("X", ("a",), timeframe, calendar=calendar, **kw)], sink,
                    start_ns=start, log=lambda message: None)
    core.on_provider_health("a", Health.LIVE, start)
    return core, sink


def bar(ts: int, length: int) -> BarEvent:
    """The bar opening at ``ts``, arriving as it closes."""
    return BarEvent("X", {M: "1m", H: "1h", D: "1d"}[length],
                    Bar("X", ts, 100.0, 101.0, 99.0, 100.0, 1.0), ts + length, "a")


def run(core: FeedCore, bars: list[int], length: int, *, tick: int = M) -> list[BackfillRequest]:
    """Each bar in turn, the watchdog ticking every ``tick`` until it arrives."""
    requests: list[BackfillRequest] = []
    now = bars[0] + length
    for ts in bars:
        while now < ts + length:
            requests.extend(core.tick(now))
            now += tick
        request = core.on_event(bar(ts, length))
        if request is not None:
            requests.append(request)
    return requests


def stale(sink: Sink) -> list[int]:
    return [e.ts_ns for k, e in sink.seen if k == "DataStale" and isinstance(e, DataStale)]


def test_an_equity_weekend_is_no_gap_and_not_stale() -> None:
    fri, mon = utc(2024, 1, 5, 20, 58), utc(2024, 1, 8, 14, 30)
    core, sink = feed(Calendar.XNYS, "1m", fri)
    requests = run(core, [fri, fri + M, mon, mon + M], M)
    assert requests == [] and stale(sink) == []
    assert [k for k, _ in sink.seen] == ["bar"] * 4
    assert core.counters()["X"]["gaps"] == 0


def test_the_same_weekend_on_a_24_7_market_is_a_gap_and_stale() -> None:
    fri, mon = utc(2024, 1, 5, 20, 58), utc(2024, 1, 8, 14, 30)
    core, sink = feed(Calendar.ALWAYS, "1m", fri)
    requests = run(core, [fri, fri + M, mon], M, tick=H)
    assert [(r.start_ns, r.end_ns) for r in requests] == [(fri + 2 * M, mon)]
    assert stale(sink)


def test_an_overnight_equity_gap_and_a_holiday_are_no_gaps() -> None:
    # Wednesday 3 July 2024 closes at 13:00 New York (17:00 UTC); the 4th is a holiday
    last, fri = utc(2024, 7, 3, 16, 59), utc(2024, 7, 5, 13, 30)
    core, sink = feed(Calendar.XNYS, "1m", last)
    assert run(core, [last, fri, fri + M], M, tick=10 * M) == []
    assert stale(sink) == []
    # hourly bars on the UTC grid: 20:00 Monday (the last, holding 20:00-21:00 UTC), then
    # 14:00 Tuesday (holding the 14:30 open)
    core, sink = feed(Calendar.XNYS, "1h", utc(2024, 1, 8, 20))
    assert run(core, [utc(2024, 1, 8, 20), utc(2024, 1, 9, 14)], H) == []
    assert stale(sink) == []


def test_a_daily_equity_series_over_a_holiday_weekend() -> None:
    days = [utc(2024, 1, 11), utc(2024, 1, 12), utc(2024, 1, 16)]  # Monday the 15th: MLK day
    core, sink = feed(Calendar.XNYS, "1d", days[0])
    assert run(core, days, D, tick=H) == [] and stale(sink) == []
    core, sink = feed(Calendar.XNYS, "1d", days[0])
    # Tuesday the 16th missing: found, and asked for from that day
    [request] = run(core, [days[0], days[1], utc(2024, 1, 17)], D, tick=H)
    assert (request.start_ns, request.end_ns) == (days[2], utc(2024, 1, 17))


def test_an_fx_weekend_is_no_gap_and_not_stale() -> None:
    fri, sun = utc(2024, 1, 5, 21), utc(2024, 1, 7, 22)  # 21:00-22:00 is Friday's last hour
    core, sink = feed(Calendar.FX, "1h", fri)
    assert run(core, [fri - H, fri, sun, sun + H], H, tick=10 * M) == []
    assert stale(sink) == []
    assert [k for k, _ in sink.seen] == ["bar"] * 4


def test_a_real_mid_session_gap_is_still_found_and_backfilled() -> None:
    t = utc(2024, 1, 8, 15)
    core, sink = feed(Calendar.XNYS, "1m", t)
    [request] = run(core, [t, t + M, t + 4 * M], M)
    assert (request.start_ns, request.end_ns) == (t + 2 * M, t + 4 * M)
    gap = [Bar("X", t + k * M, 100.0, 101.0, 99.0, 100.0, 1.0) for k in (2, 3)]
    core.complete_backfill("X", gap, "a", t + 5 * M)
    # silent for three intervals inside the session: stale too, restored by the next bar
    assert [(k, (v - t) // M if isinstance(v, int) else None) for k, v in sink.seen] == [
        ("bar", 0), ("bar", 1), ("DataStale", None), ("backfill", 2), ("backfill", 3),
        ("DataRestored", None), ("bar", 4)]
    assert core.counters()["X"]["gap_bars_unfilled"] == 0


def test_a_gap_across_the_close_asks_only_for_the_session_bars() -> None:
    # 20:57 UTC Friday, then Monday 14:32: missing are 20:58, 20:59 and 14:30, 14:31
    fri, mon = utc(2024, 1, 5, 20, 57), utc(2024, 1, 8, 14, 32)
    core, _ = feed(Calendar.XNYS, "1m", fri)
    [request] = run(core, [fri, mon], M, tick=H)
    assert request.start_ns == fri + M
    core.complete_backfill("X", [], "a", mon + M)
    assert core.counters()["X"]["gap_bars_unfilled"] == 4


def test_silence_after_the_open_is_stale_and_counted_from_the_open() -> None:
    fri, mon_open = utc(2024, 1, 5, 20, 59), utc(2024, 1, 8, 14, 30)
    core, sink = feed(Calendar.XNYS, "1m", fri)
    run(core, [fri], M)
    for now in range(fri + M, mon_open + M, 10 * M):  # the weekend: nothing
        core.tick(now)
    assert stale(sink) == []
    core.tick(mon_open + M)  # one interval after the open: not yet (1.5 make it stale)
    assert stale(sink) == []
    core.tick(mon_open + 2 * M)
    [event] = [e for k, e in sink.seen if k == "DataStale"]
    assert isinstance(event, DataStale) and event.ts_ns == mon_open + 2 * M
    assert "2.00 expected intervals" in event.reason


def test_an_equity_hour_stamped_at_the_half_hour_is_accepted() -> None:
    t = utc(2024, 1, 8, 14, 30)
    core, sink = feed(Calendar.XNYS, "1h", t)
    assert run(core, [t, t + H, t + 2 * H], H) == []
    assert [k for k, _ in sink.seen] == ["bar"] * 3
    core, sink = feed(Calendar.ALWAYS, "1h", t)  # off the UTC grid for a 24/7 market
    run(core, [t], H)
    assert core.counters()["X"]["malformed"] == 1


@pytest.mark.parametrize("calendar", list(Calendar))
def test_the_default_calendar_is_24_7(calendar: Calendar) -> None:
    assert InstrumentFeed("X", ("a",), "1m").calendar is Calendar.ALWAYS
    assert InstrumentFeed("X", ("a",), "1m", calendar=calendar).calendar is calendar


def test_a_session_feed_takes_each_instrument_calendar() -> None:
    from trading_strategy.runtime.live_data import LiveData, build_feeds
    from trading_strategy.runtime.portfolio_config import DataSection

    section = DataSection.model_validate({"default": {"providers": ["binance"],
                                                      "timeframe": "1m"}})
    feeds = build_feeds(section, {"EURUSD": None, "BTC/USDT": None},
                        {"EURUSD": Calendar.FX})
    assert [(f.symbol, f.calendar) for f in feeds] == [("EURUSD", Calendar.FX),
                                                       ("BTC/USDT", Calendar.ALWAYS)]
    live = LiveData(section, {"AAPL": None}, calendars={"AAPL": Calendar.XNYS},
                    provider_factory=lambda *args: None)  # type: ignore[arg-type]
    assert [f.calendar for f in live.feeds] == [Calendar.XNYS]
