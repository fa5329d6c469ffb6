"""The strategy contract: validated parameters, the registry, and no look-ahead in series."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import ClassVar

import numpy as np
import pytest
from pydantic import Field, model_validator

from trading_strategy.backtesting.runner import run_backtest
from trading_strategy.backtesting.settings import BacktestSettings, IndicatorMode
from trading_strategy.core.bars import BarSeries
from trading_strategy.core.errors import ParameterError, UserError
from trading_strategy.strategies import registry
from trading_strategy.strategies.base import (
    Strategy,
    StrategyParams,
    describe_params,
    param_table,
)
from trading_strategy.strategies.context import Cursor, FillEvent, Series
from trading_strategy.testing import make_bars

# --------------------------------------------------------------------------- parameters


class BandParams(StrategyParams):
    period: int = Field(20, ge=2, description="window length, in bars")
    width: float = Field(2.0, gt=0, description="band width in deviations")
    lower: float = Field(1.0, description="lower bound")
    upper: float = Field(3.0, description="upper bound")

    @model_validator(mode="after")
    def _ordered(self) -> BandParams:
        if self.lower >= self.upper:
            raise ValueError(f"lower ({self.lower}) must be less than upper ({self.upper})")
        return self


class Band(Strategy):
    """Band strategy used to test the contract.

    Second line is not part of the one-line description.
    """

    name = "band_test"
    Params: ClassVar[type[StrategyParams]] = BandParams

    def on_bar(self) -> None:
        return None


def test_defaults() -> None:
    params = Band.parse_params()
    assert params.model_dump() == {"period": 20, "width": 2.0, "lower": 1.0, "upper": 3.0}
    assert Band.parse_params(None) == Band.parse_params({})


def test_strings_from_the_command_line_are_coerced() -> None:
    params = Band.parse_params({"period": "5", "width": "1.5"})
    assert (params.period, params.width) == (5, 1.5)  # type: ignore[attr-defined]


def test_unknown_parameter_names_it_and_the_valid_ones() -> None:
    with pytest.raises(ParameterError) as info:
        Band.parse_params({"perod": 5})
    message = str(info.value)
    assert "unknown parameter 'perod' for strategy 'band_test'" in message
    assert ("valid parameters: period (int, default 20), width (float, default 2.0), "
            "lower (float, default 1.0), upper (float, default 3.0)") in message
    assert isinstance(info.value, UserError)


def test_several_unknown_parameters_are_all_named() -> None:
    with pytest.raises(ParameterError, match="unknown parameter 'a', 'b'"):
        Band.parse_params({"b": 1, "a": 2, "period": 3})


@pytest.mark.parametrize(("raw", "fragment"), [
    ({"period": 1}, "period=1: Input should be greater than or equal to 2"),
    ({"period": "ten"}, "period='ten': Input should be a valid integer"),
    ({"width": 0}, "width=0: Input should be greater than 0"),
    ({"lower": 3.0}, "lower (3.0) must be less than upper (3.0)"),
])
def test_invalid_values_name_the_field_value_and_rule(raw: dict[str, object],
                                                      fragment: str) -> None:
    with pytest.raises(ParameterError) as info:
        Band.parse_params(raw)
    message = str(info.value)
    assert message.startswith("invalid parameter for strategy 'band_test': ")
    assert fragment in message
    assert "(valid parameters: period (int, default 20)" in message


def test_params_are_frozen() -> None:
    params = Band.parse_params()
    with pytest.raises(ValueError):
        params.period = 3  # type: ignore[attr-defined]


def test_description_and_parameter_table() -> None:
    assert Band.description() == "Band strategy used to test the contract."
    assert param_table(BandParams)[0] == ("period", "int", "20", "window length, in bars")
    assert describe_params(StrategyParams) == "none"


def test_the_engine_validates_parameters_before_running() -> None:
    with pytest.raises(ParameterError, match="perod"):
        run_backtest(Band, make_bars([1.0, 2.0]), params={"perod": 3},
                     allow_short_history=True)


# --------------------------------------------------------------------------- registry


class Echo(Strategy):
    """Runtime-registered strategy: buys one unit on the first bar."""

    name = "echo_runtime"
    Params: ClassVar[type[StrategyParams]] = StrategyParams

    def on_bar(self) -> None:
        if self.ctx.bar_index == 0:
            self.ctx.buy(1)


@pytest.fixture
def clean_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(registry, "_extra", {})
    yield


def test_builtins_are_listed_and_loaded() -> None:
    names = registry.available()
    assert {"sma_crossover", "rsi_reversion", "donchian_breakout"} <= set(names)
    assert names == sorted(names)
    for name in ("sma_crossover", "rsi_reversion", "donchian_breakout"):
        cls = registry.get(name)
        assert issubclass(cls, Strategy) and cls.name == name


def test_unknown_strategy_lists_the_available_ones() -> None:
    with pytest.raises(registry.UnknownStrategyError) as info:
        registry.get("no_such_strategy")
    assert "unknown strategy 'no_such_strategy'; available: " in str(info.value)
    assert "sma_crossover" in str(info.value)
    assert isinstance(info.value, UserError)


@pytest.mark.usefixtures("clean_registry")
def test_a_strategy_registered_at_run_time_is_found_and_runs_by_name() -> None:
    assert registry.register(Echo) is Echo
    assert "echo_runtime" in registry.available()
    assert registry.get("echo_runtime") is Echo
    result = run_backtest("echo_runtime", make_bars([10.0, 11.0, 12.0]),
                          allow_short_history=True)
    assert result.engine.strategy_name == "echo_runtime"
    # bought 1 at bar 1's open (= bar 0's close 10.00), marked at 12.00 -> 10 002
    assert result.equity.tolist() == [10000.0, 10001.0, 10002.0]


@pytest.mark.usefixtures("clean_registry")
def test_a_registered_name_takes_precedence_over_entry_points() -> None:
    class Shadow(Echo):
        name = "sma_crossover"

    registry.register(Shadow)
    assert registry.get("sma_crossover") is Shadow


@pytest.mark.usefixtures("clean_registry")
def test_registering_a_class_without_a_name_fails() -> None:
    class Nameless(Strategy):
        def on_bar(self) -> None:
            return None

    with pytest.raises(ParameterError, match="must set a class attribute 'name'"):
        registry.register(Nameless)


@pytest.mark.parametrize(("target", "fragment"), [
    ("no_such_module_xyz:Thing", "could not be loaded from no_such_module_xyz:Thing"),
    ("trading_strategy.strategies.base:NoSuchClass", "could not be loaded"),
    ("trading_strategy.strategies.base:StrategyParams", "is not a Strategy subclass"),
])
def test_broken_entry_points_are_user_errors(target: str, fragment: str) -> None:
    with pytest.raises(registry.UnknownStrategyError, match=fragment):
        registry._load("broken", target)


# --------------------------------------------------------------------------- series


def test_series_reads_bars_ago_and_never_past_the_cursor() -> None:
    cursor = Cursor()
    s = Series("close", None, cursor, np.array([1.0, 2.0, 3.0, 4.0]))
    cursor.i = 1
    assert (s[0], s[1], s.value, s.prev, len(s)) == (2.0, 1.0, 2.0, 1.0, 2)
    assert math.isnan(s[2])  # before the first bar: NaN, not an index error
    assert s.to_numpy().tolist() == [1.0, 2.0]
    assert s.to_numpy(lookback=1).tolist() == [2.0]
    with pytest.raises(IndexError, match="look into the future"):
        s[-1]
    cursor.i = 0
    assert math.isnan(s.prev)


def test_a_series_needs_values_or_an_array() -> None:
    with pytest.raises(ValueError):
        Series("x", None, Cursor())


class Recorder(Strategy):
    """Records what it can see on every bar."""

    name = "recorder"
    Params: ClassVar[type[StrategyParams]] = StrategyParams

    def on_start(self) -> None:
        self.sma = self.ctx.sma(2)
        self.seen: list[tuple[int, float, float | None, int, list[float]]] = []

    def on_bar(self) -> None:
        ctx = self.ctx
        sma = self.sma.value
        self.seen.append((ctx.bar_index, ctx.bars.close[0], None if math.isnan(sma) else sma,
                          len(ctx.bars.close), ctx.bars.high.to_numpy().tolist()))


def _record(bars: BarSeries, mode: IndicatorMode) -> list[tuple[int, float, float | None, int,
                                                               list[float]]]:
    result = run_backtest(Recorder, bars, BacktestSettings(indicator_mode=mode),
                          allow_short_history=True)
    return result.engine.strategy.seen  # type: ignore[attr-defined, no-any-return]


@pytest.mark.parametrize("mode", list(IndicatorMode))
def test_on_bar_sees_data_up_to_the_current_bar_only(mode: IndicatorMode) -> None:
    a = make_bars([10.0, 12.0, 14.0, 16.0, 18.0])
    b = make_bars([10.0, 12.0, 14.0, 99.0, 1.0])  # same first three bars, different future
    seen_a, seen_b = _record(a, mode), _record(b, mode)
    # bars 0..2 must not depend on bars 3..4
    assert seen_a[:3] == seen_b[:3]
    # by hand: SMA(2) = NaN, (10+12)/2 = 11, (12+14)/2 = 13; high = max(open, close) with
    # open = previous close -> 10, 12, 14
    index, close, sma, length, highs = seen_a[2]
    assert (index, close, sma, length, highs) == (2, 14.0, 13.0, 3, [10.0, 12.0, 14.0])
    assert seen_a[0][2] is None and seen_a[1][2] == 11.0


def test_on_start_sees_no_bar_yet() -> None:
    # Before the first bar there is no "current" value: reading it must not reveal the
    # last bar of the history (a look-ahead of the whole run).
    seen: dict[str, float] = {}

    class Peek(Strategy):
        name = "peek"
        Params: ClassVar[type[StrategyParams]] = StrategyParams

        def on_start(self) -> None:
            seen["close[0]"] = self.ctx.bars.close[0]
            try:
                seen["close.value"] = self.ctx.bars.close.value
            except IndexError:
                seen["close.value"] = math.nan

        def on_bar(self) -> None:
            return None

    run_backtest(Peek, make_bars([10.0, 11.0, 99.0]), allow_short_history=True)
    assert math.isnan(seen["close[0]"])
    assert math.isnan(seen["close.value"]), "on_start read the last bar's close"


@pytest.mark.parametrize("mode", list(IndicatorMode))
def test_a_fill_callback_does_not_see_the_close_of_the_bar_it_fills_in(
        mode: IndicatorMode) -> None:
    # The order fills at bar 2's open (10.00); bar 2 closes at 99.00 only later. During the
    # fill the latest closed bar is bar 1 (close 11.00, SMA(2) = (10 + 11) / 2 = 10.50), in
    # both indicator modes alike.
    seen: list[tuple[float, float]] = []

    class Watch(Strategy):
        name = "watch"
        Params: ClassVar[type[StrategyParams]] = StrategyParams

        def on_start(self) -> None:
            self.sma = self.ctx.sma(2)

        def on_bar(self) -> None:
            if self.ctx.bar_index == 1:
                self.ctx.buy(1)

        def on_fill(self, fill: FillEvent) -> None:
            seen.append((self.ctx.bars.close[0], self.sma.value))

    bars = make_bars([10.0, 11.0, 99.0, 99.0], open=[10.0, 10.0, 10.0, 99.0])
    run_backtest(Watch, bars, BacktestSettings(indicator_mode=mode), allow_short_history=True)
    assert seen == [(11.0, 10.5)]
