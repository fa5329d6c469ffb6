"""Instrument precision: prices as integer ticks, quantities as integer lots, exact money."""

from __future__ import annotations

import dataclasses
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

import pytest

from trading_strategy.core.errors import ConfigError
from trading_strategy.core.instrument import Calendar, Instrument, infer_tick_size
from trading_strategy.core.timeframe import Timeframe

D = Decimal
EQUITY = Instrument("AAPL")  # tick 0.01, lot 1
BTC = Instrument("BTC", tick_size=D("0.01"), lot_size=D("0.001"))


def test_defaults_and_money_unit() -> None:
    assert (EQUITY.tick_size, EQUITY.lot_size, EQUITY.venue, EQUITY.currency) == (
        D("0.01"), D("1"), "SIM", "USD")
    assert EQUITY.money_unit == D("0.01")
    # 0.01 * 0.001 = 0.00001
    assert BTC.money_unit == D("0.00001")
    assert BTC.money(123_456) == D("1.23456")


def test_strings_and_floats_become_decimals() -> None:
    inst = Instrument("X", tick_size="0.05", lot_size=0.1)  # type: ignore[arg-type]
    assert inst.tick_size == D("0.05") and isinstance(inst.tick_size, Decimal)
    assert inst.lot_size == D("0.1")  # str(0.1) = "0.1", not the binary expansion


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"symbol": ""}, "symbol must not be empty"),
    ({"symbol": "X", "tick_size": D(0)}, "tick_size must be > 0"),
    ({"symbol": "X", "tick_size": D("-0.01")}, "tick_size must be > 0"),
    ({"symbol": "X", "lot_size": D("NaN")}, "lot_size must be > 0"),
    ({"symbol": "X", "lot_size": D("Infinity")}, "lot_size must be > 0"),
])
def test_invalid_instrument_is_a_config_error(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        Instrument(**kwargs)  # type: ignore[arg-type]


def test_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        EQUITY.symbol = "MSFT"  # type: ignore[misc]


def test_to_ticks_from_floats_uses_the_shortest_repr() -> None:
    # 0.1 + 0.2 = 0.30000000000000004 in floats: still 30 ticks of 0.01
    assert EQUITY.to_ticks(0.1 + 0.2) == 30
    # 58.6679 at tick 0.0001 -> 586 679 exactly
    assert Instrument("G", tick_size=D("0.0001")).to_ticks(58.6679) == 586_679
    # a price between ticks: 10.005 -> 1000.5 ticks -> half-even 1000; half-up 1001
    assert EQUITY.to_ticks(D("10.005")) == 1000
    assert EQUITY.to_ticks(D("10.015")) == 1002
    assert EQUITY.to_ticks(D("10.005"), ROUND_HALF_UP) == 1001
    assert EQUITY.to_ticks(D("10.001"), ROUND_CEILING) == 1001
    # ticks that are not powers of ten: 0.05 -> 10.07 / 0.05 = 201.4 -> 201
    assert Instrument("F", tick_size=D("0.05")).to_ticks(10.07) == 201


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_to_ticks_rejects_non_finite(bad: float) -> None:
    with pytest.raises(ValueError, match="finite"):
        EQUITY.to_ticks(bad)
    with pytest.raises(ValueError, match="finite"):
        EQUITY.to_lots(bad)


def test_to_lots_rounds_toward_zero() -> None:
    # 0.0019 BTC = 1.9 lots -> 1 (never over-size); -0.0019 -> -1 (toward zero, not -2)
    assert BTC.to_lots(D("0.0019")) == 1
    assert BTC.to_lots(D("-0.0019")) == -1
    assert BTC.to_lots(0.7) == 700  # 0.7 / 0.001 = 699.9999999999999 in floats
    assert BTC.to_lots(D("0.0019"), ROUND_CEILING) == 2
    assert BTC.to_lots(D("-0.0019"), ROUND_FLOOR) == -1  # floor is re-read as toward zero
    assert EQUITY.to_lots(7) == 7 and EQUITY.to_lots(7.99) == 7


def test_back_to_decimals() -> None:
    assert EQUITY.price(1050) == D("10.50")
    assert BTC.quantity(333) == D("0.333")
    assert EQUITY.round_price(100.004999) == D("100.00")
    assert EQUITY.round_price(D("100.015")) == D("100.02")  # half-even: ...1.5 -> 2
    assert BTC.round_quantity(0.0019) == D("0.001")


@pytest.mark.parametrize(("tick", "decimals"), [
    ("0.01", 2), ("0.0001", 4), ("0.5", 1), ("1", 0), ("0.010", 2), ("25", 0), ("1E+1", 0)])
def test_price_decimals(tick: str, decimals: int) -> None:
    assert Instrument("X", tick_size=D(tick)).price_decimals == decimals


@pytest.mark.parametrize(("decimals", "tick"), [
    (0, D("1")), (2, D("0.01")), (4, D("0.0001")), (8, D("1E-8")), (12, D("1E-8")), (-3, D("1"))])
def test_infer_tick_size(decimals: int, tick: Decimal) -> None:
    assert infer_tick_size(decimals) == tick


def test_calendar_annualisation() -> None:
    assert Calendar.XNYS.periods_per_year_daily == 252
    # FX trades 24/5 with no exchange holidays: 52 weeks x 5 days (was 252, the NYSE count)
    assert Calendar.FX.periods_per_year_daily == 260
    assert Calendar.ALWAYS.periods_per_year_daily == 365


@pytest.mark.parametrize(("calendar", "timeframe", "bars"), [
    (Calendar.XNYS, "1d", 252), (Calendar.FX, "1d", 260), (Calendar.ALWAYS, "1d", 365),
    # hourly FX runs through the day: 24 x 260 (the old rule gave 6.5 x 252 = 1,638)
    (Calendar.FX, "1h", 6_240), (Calendar.FX, "4h", 1_560), (Calendar.FX, "1m", 374_400),
    (Calendar.ALWAYS, "1h", 8_760), (Calendar.ALWAYS, "1m", 525_600),
    # an NYSE session of 390 minutes: 390 one-minute bars, 7 hourly bars (the last 30 min)
    (Calendar.XNYS, "1m", 98_280), (Calendar.XNYS, "30m", 13 * 252),
    (Calendar.XNYS, "1h", 7 * 252), (Calendar.XNYS, "4h", 2 * 252),
    # weekly bars: 52 whatever the calendar (the old rule gave 252 / 7 = 36)
    (Calendar.XNYS, "1w", 52), (Calendar.ALWAYS, "1w", 52),
])
def test_calendar_bars_per_year(calendar: Calendar, timeframe: str, bars: float) -> None:
    assert calendar.periods_per_year(Timeframe.parse(timeframe)) == bars


def test_calendar_states_its_rule() -> None:
    assert Calendar.FX.annualisation_rule(Timeframe.parse("1h")) == "FX 24h × 260 days, 1h bars"
    assert Calendar.XNYS.annualisation_rule(Timeframe.parse("1h")) == (
        "XNYS 252 days × 7 bars (6.5h session, last bar partial), 1h bars")
    assert Calendar.XNYS.annualisation_rule(Timeframe.parse("1d")) == (
        "XNYS 252 trading days, 1d bars")
    assert Calendar.ALWAYS.annualisation_rule(Timeframe.parse("1w")) == "24/7 52 weeks, 1w bars"


def test_monthly_bars_are_annualised_by_twelve_and_say_so() -> None:
    from trading_strategy.core.instrument import Calendar
    from trading_strategy.core.timeframe import Timeframe

    month = Timeframe.parse("1mo")
    for calendar in Calendar:
        assert calendar.periods_per_year(month) == 12
        assert "12 months, 1mo bars" in calendar.annualisation_rule(month)
    assert "12 months / 3" in Calendar.XNYS.annualisation_rule(Timeframe.parse("3mo"))
