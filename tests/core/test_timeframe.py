"""Timeframes: parsing and the bars-per-year arithmetic behind annualisation."""

from __future__ import annotations

import pytest

from trading_strategy.core.errors import ConfigError
from trading_strategy.core.timeframe import Timeframe


def test_parse_and_format() -> None:
    assert str(Timeframe.parse(" 15m ")) == "15m"
    assert Timeframe.parse("1h").nanoseconds == 3_600_000_000_000
    with pytest.raises(ConfigError, match="invalid timeframe"):
        Timeframe.parse("0h")


def test_continuous_market_counts_every_hour_of_its_days() -> None:
    # FX 24/5: 260 days of 24 hours; the old rule assumed 6.5 h unless there were 365 days
    assert Timeframe.parse("1h").bars_per_year(
        trading_days=260, session_hours=24, continuous=True) == 6_240


def test_session_market_counts_the_partial_last_bar() -> None:
    # 09:30-16:00: hourly bars open at 9:30 .. 15:30, seven a day, the last one 30 minutes
    assert Timeframe.parse("1h").bars_per_year(
        trading_days=252, session_hours=6.5, continuous=False) == 7 * 252
    # exact fits do not gain a bar from float noise
    assert Timeframe.parse("5m").bars_per_year(
        trading_days=252, session_hours=6.5, continuous=False) == 78 * 252


def test_daily_and_weekly_bars() -> None:
    assert Timeframe.parse("1d").bars_per_year(
        trading_days=252, session_hours=6.5, continuous=False) == 252
    assert Timeframe.parse("2d").bars_per_year(
        trading_days=365, session_hours=24, continuous=True) == 182.5
    # a week has its bar even when it has a holiday: 52, not 252 / 7
    assert Timeframe.parse("1w").bars_per_year(
        trading_days=252, session_hours=6.5, continuous=False) == 52


def test_a_calendar_without_days_is_refused() -> None:
    with pytest.raises(ConfigError, match="trading days and hours > 0"):
        Timeframe.parse("1h").bars_per_year(trading_days=0, session_hours=24, continuous=True)


def test_weeks_and_months_are_first_class() -> None:
    week, month, quarter = (Timeframe.parse(text) for text in ("1w", "1mo", "3mo"))
    assert (str(week), str(month), str(quarter)) == ("1w", "1mo", "3mo")
    assert week.nanoseconds == 7 * 86_400 * 1_000_000_000
    assert (month.is_monthly, month.months, quarter.months, week.months) == (True, 1, 3, 0)
    # A month has no fixed length: the mean Gregorian month, for ordering and spans only.
    assert month.nanoseconds == 2_629_746 * 1_000_000_000
    assert not month.is_intraday and not week.is_monthly
    assert sorted([month, week, Timeframe.parse("1d")], key=lambda f: f.nanoseconds) == [
        Timeframe.parse("1d"), week, month]
    with pytest.raises(ConfigError, match="s/m/h/d/w/mo"):
        Timeframe.parse("1mon")


@pytest.mark.parametrize("calendar", [(252, 6.5, False), (260, 24.0, True), (365, 24.0, True)])
def test_weeks_and_months_annualise_by_the_calendar_year(
        calendar: tuple[int, float, bool]) -> None:
    days, hours, continuous = calendar
    per_year = {text: Timeframe.parse(text).bars_per_year(
        trading_days=days, session_hours=hours, continuous=continuous)
        for text in ("1w", "2w", "1mo", "3mo")}
    assert per_year == {"1w": 52, "2w": 26, "1mo": 12, "3mo": 4}
