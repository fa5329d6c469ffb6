"""Commission and slippage models pinned to hand-computed amounts.

Money is an integer count of money units (tick × lot); with tick 0.01 and lot 1 a unit is a
cent, with tick 0.0001 it is 0.0001. Commission rounds half-up to the unit; slippage rounds
away from the reference price to a whole tick.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from trading_strategy.backtesting.runner import BacktestResult, run_backtest
from trading_strategy.backtesting.settings import BacktestSettings
from trading_strategy.core.bars import BarSeries
from trading_strategy.core.errors import ConfigError
from trading_strategy.core.instrument import Instrument
from trading_strategy.kernel.costs import (
    AtrSlippage,
    FixedBpsSlippage,
    FixedCommission,
    NoSlippage,
    PercentCommission,
    PerUnitCommission,
    RangeSlippage,
)
from trading_strategy.kernel.sizing import SizeKind, SizeSpec
from trading_strategy.strategies.context import Context
from trading_strategy.testing import make_bars, scripted

D = Decimal
CENT = Instrument("X", tick_size=D("0.01"))
BASIS = Instrument("Y", tick_size=D("0.0001"))


def run(on_bar: Callable[[Context, int], None], bars: BarSeries, **settings: object
        ) -> BacktestResult:
    return run_backtest(scripted(on_bar), bars, BacktestSettings(**settings),  # type: ignore[arg-type]
                        allow_short_history=True)


def buy_at(bar: int, qty: int | Decimal, **kw: object) -> Callable[[Context, int], None]:
    def on_bar(ctx: Context, i: int) -> None:
        if i == bar:
            ctx.buy(qty, **kw)  # type: ignore[arg-type]

    return on_bar


# --------------------------------------------------------------------------- commission


def test_percent_commission_exact_half_up() -> None:
    fn = PercentCommission(D("0.001")).bind(BASIS)
    # 17 lots at 58.6679 (586679 ticks of 0.0001): notional 17 * 586679 = 9 973 543 units
    # (997.3543); 0.1% = 9 973.543 units -> half-up 9 974 units = 0.9974
    assert fn(17, 586679, True) == 9974
    assert BASIS.money(9974) == D("0.9974")
    # exact halves round up, not to even: 0.1% of 500 / 1500 / 2500 units = 0.5 / 1.5 / 2.5
    assert [fn(1, t, True) for t in (500, 1500, 2500)] == [1, 2, 3]
    # below half rounds down: 0.1% of 1499 = 1.499 -> 1
    assert fn(1, 1499, False) == 1


def test_percent_commission_through_the_engine() -> None:
    # 17 at 58.6679: 997.3543 + commission 0.9974 -> cash 10000 - 998.3517 = 9001.6483
    bars = make_bars([58.6679] * 3, tick_size="0.0001")
    result = run(buy_at(0, 17), bars, commission=PercentCommission(D("0.001")))
    assert result.engine.state.fills[0].commission == 9974
    assert BASIS.money(result.engine.ledger.cash) == D("9001.6483")
    assert result.metrics.commission == 0.9974


def test_per_unit_commission_with_minimum() -> None:
    fn = PerUnitCommission(D("0.005"), minimum=D("1.00")).bind(CENT)
    # 100 shares * 0.005 = 0.50 -> below the minimum 1.00 -> 100 cents
    assert fn(100, 10000, True) == 100
    # 300 shares * 0.005 = 1.50 -> 150 cents; 1000 shares -> 5.00
    assert fn(300, 10000, True) == 150
    assert fn(1000, 10000, False) == 500
    # half-up at the cent: 3 * 0.0035 = 0.0105 -> 1.05 cents -> 1 cent; 10 * 0.0035 -> 3.5 -> 4
    no_min = PerUnitCommission(D("0.0035")).bind(CENT)
    assert (no_min(3, 10000, True), no_min(10, 10000, True)) == (1, 4)


def test_per_unit_commission_with_fractional_lots() -> None:
    # lot 0.001 BTC, tick 0.01: a money unit is 0.00001. 0.5 per whole unit (per BTC):
    # 250 lots = 0.25 BTC -> 0.125 = 12 500 units
    btc = Instrument("BTC", tick_size=D("0.01"), lot_size=D("0.001"))
    assert PerUnitCommission(D("0.5")).bind(btc)(250, 3_000_000, True) == 12_500


def test_fixed_commission_once_per_order_not_per_partial_fill() -> None:
    fn = FixedCommission(D("5")).bind(CENT)
    assert (fn(3, 1000, True), fn(5, 1000, False)) == (500, 0)
    # through the engine: 10 lots filled 3 + 5 + 2 under a 10% volume cap pay 5.00 once
    bars = make_bars([10.0] * 4, volume=[1e6, 30, 50, 1e6])
    result = run(buy_at(0, 10), bars, commission=FixedCommission(D("5")),
                 volume_participation=D("0.1"))
    assert [(f.lots, f.commission) for f in result.engine.state.fills] == [
        (3, 500), (5, 0), (2, 0)]
    # cash 10000 - 100.00 - 5.00
    assert CENT.money(result.engine.ledger.cash) == D("9895.00")


def test_fixed_commission_is_charged_per_order() -> None:
    # two orders, each filled whole: 2 * 1.25
    bars = make_bars([10.0] * 4)

    def on_bar(ctx: Context, i: int) -> None:
        if i in (0, 1):
            ctx.buy(1)

    result = run(on_bar, bars, commission=FixedCommission(D("1.25")))
    assert result.engine.ledger.commission == 250


@pytest.mark.parametrize("make", [
    pytest.param(lambda: PercentCommission(D("-0.001")), id="negative-rate"),
    # 100% of notional or more: surely a typo for a fraction
    pytest.param(lambda: PercentCommission(D("1")), id="rate-one"),
    pytest.param(lambda: PercentCommission(D("NaN")), id="rate-nan"),
    pytest.param(lambda: PercentCommission("abc"), id="rate-not-a-number"),
    pytest.param(lambda: PerUnitCommission(D("-0.01")), id="negative-per-unit"),
    pytest.param(lambda: PerUnitCommission(D("0.01"), minimum=D("-1")), id="negative-minimum"),
    pytest.param(lambda: FixedCommission(D("-1")), id="negative-fixed"),
    pytest.param(lambda: FixedBpsSlippage(D("-1")), id="negative-bps"),
    pytest.param(lambda: RangeSlippage(D("-0.1")), id="negative-range-fraction"),
    pytest.param(lambda: AtrSlippage(D("-0.5")), id="negative-atr-multiple"),
    pytest.param(lambda: AtrSlippage(D("0.5"), period=0), id="atr-period-zero"),
])
def test_invalid_cost_parameters_raise_config_error(make: Callable[[], object]) -> None:
    with pytest.raises(ConfigError):
        make()


def test_percent_commission_message_explains_the_unit() -> None:
    with pytest.raises(ConfigError, match=r"0\.001 = 0\.1%"):
        PercentCommission(D("5"))


def test_models_describe_themselves_for_the_report() -> None:
    assert PercentCommission(D("0.001")).describe() == {"model": "percent", "rate": 0.001}
    assert PerUnitCommission(D("0.005"), D("1")).describe() == {
        "model": "per_unit", "per_unit": 0.005, "minimum": 1.0}
    assert FixedCommission(D("2.5")).describe() == {"model": "fixed", "per_order": 2.5}
    assert NoSlippage().describe() == {"model": "none"}
    assert FixedBpsSlippage(D("2")).describe() == {"model": "fixed_bps", "bps": 2.0}
    assert RangeSlippage(D("0.1")).describe() == {"model": "range", "fraction": 0.1}
    assert AtrSlippage(D("0.5"), 10).describe() == {"model": "atr", "multiple": 0.5,
                                                   "period": 10}


# --------------------------------------------------------------------------- slippage


def test_fixed_bps_rounds_away_to_a_whole_tick() -> None:
    bars = make_bars([100.5] * 3)
    fn = FixedBpsSlippage(D("10")).bind(CENT, bars)
    # 10 bps of 100.50 = 0.1005 = 10.05 ticks -> 11 ticks (any fraction costs a whole tick)
    assert fn(1, 10050, 0) == 11
    assert fn(-1, 10050, 0) == 11
    # 5 bps of 100.00 = 0.05 = exactly 5 ticks -> 5, not 6
    assert FixedBpsSlippage(D("5")).bind(CENT, bars)(1, 10000, 0) == 5
    assert FixedBpsSlippage(D("0")).bind(CENT, bars)(1, 10000, 0) == 0


def test_fixed_bps_moves_market_fills_against_the_trader() -> None:
    bars = make_bars([100.5] * 4)

    def on_bar(ctx: Context, i: int) -> None:
        if i == 0:
            ctx.buy(2)
        if i == 1:
            ctx.sell(2)

    result = run(on_bar, bars, slippage=FixedBpsSlippage(D("10")))
    # buy at 100.50 + 0.11 = 100.61, sell at 100.50 - 0.11 = 100.39
    assert [(f.price_ticks, f.slippage) for f in result.engine.state.fills] == [
        (10061, 22), (10039, 22)]
    # slippage paid: 2 lots * 11 ticks * 2 fills = 44 cents; P&L 2 * (100.39 - 100.61)
    assert result.engine.ledger.slippage == 44
    assert CENT.money(result.engine.ledger.cash) == D("9999.56")
    assert result.metrics.slippage == 0.44


def test_slippage_applies_to_stops_but_not_to_limits() -> None:
    bars = make_bars([101.0, 101.0, 101.0], open=[100.0, 100.0, 100.0],
                     high=[101.0, 101.5, 101.5], low=[99.0, 99.5, 99.5])
    # stop 101.00 touched intrabar: 101.00 + ceil(10 bps * 10100 ticks = 10.1) = 101.11
    stop = run(buy_at(0, 1, stop=101.00), bars, slippage=FixedBpsSlippage(D("10")))
    assert stop.engine.state.fills[0].price_ticks == 10111
    # limit 99.80 touched intrabar: filled at the limit, no slippage
    limit = run(buy_at(0, 1, limit=99.80), bars, slippage=FixedBpsSlippage(D("10")))
    assert [(f.price_ticks, f.slippage) for f in limit.engine.state.fills] == [(9980, 0)]


def test_range_slippage_is_a_fraction_of_the_fill_bar_range() -> None:
    bars = make_bars([101.0] * 3, open=[101.0] * 3, high=[101.0, 102.0, 101.0],
                     low=[101.0, 100.0, 101.0])
    fn = RangeSlippage(D("0.25")).bind(CENT, bars)
    # bar 1: (102.00 - 100.00) = 200 ticks; 25% = 50 ticks
    assert fn(1, 10100, 1) == 50
    # bar 0: high = low -> no range, no slippage
    assert fn(1, 10100, 0) == 0
    # 10% of a 7-tick range = 0.7 tick -> rounded away to 1 tick
    seven = make_bars([10.07], open=[10.0], high=[10.07], low=[10.0])
    assert RangeSlippage(D("0.1")).bind(CENT, seven)(1, 1000, 0) == 1
    # through the engine: market buy at bar 1's open 101.00 + 0.50 = 101.50
    result = run(buy_at(0, 1), bars, slippage=RangeSlippage(D("0.25")))
    assert result.engine.state.fills[0].price_ticks == 10150


def _atr_bars() -> BarSeries:
    # true ranges: bar0 100.50-99.50 = 1.00; bar1 1.00; bar2 103-97 = 6.00; bar3 1.00
    # ATR(2) (Wilder): bar1 = (1 + 1) / 2 = 1.00; bar2 = (1.00 + 6.00) / 2 = 3.50;
    #                  bar3 = (3.50 + 1.00) / 2 = 2.25
    return make_bars([100.0] * 4, open=[100.0] * 4, high=[100.5, 100.5, 103.0, 100.5],
                     low=[99.5, 99.5, 97.0, 99.5])


def test_atr_slippage_uses_the_previous_bar_atr() -> None:
    bars = _atr_bars()
    fn = AtrSlippage(D("1"), period=2).bind(CENT, bars)
    # a fill on bar i knows ATR up to bar i-1 only:
    #   bar 0: nothing known -> 0; bar 1: ATR[0] is warm-up (NaN) -> 0
    #   bar 2: ATR[1] = 1.00 -> 100 ticks (not ATR[2] = 3.50, which includes bar 2 itself)
    #   bar 3: ATR[2] = 3.50 -> 350 ticks
    assert [fn(1, 10000, i) for i in range(4)] == [0, 0, 100, 350]
    # half an ATR: bar 3 -> 1.75 = 175 ticks
    assert AtrSlippage(D("0.5"), period=2).bind(CENT, bars)(-1, 10000, 3) == 175
    # through the engine: decided bar 1, filled at bar 2's open 100.00 + 1.00
    result = run(buy_at(1, 1), bars, slippage=AtrSlippage(D("1"), period=2))
    assert result.engine.state.fills[0].price_ticks == 10100


def test_atr_slippage_of_an_exact_tick_multiple_is_not_rounded_up() -> None:
    # ATR(1) of bar 1 = its true range 10.07 - 10.00 = 0.07 = exactly 7 ticks; a fill on
    # bar 2 slips 7 ticks. (In floats 0.07 / 0.01 = 7.000000000000001, whose ceil is 8.)
    bars = make_bars([10.07] * 3, open=[10.0, 10.0, 10.07], high=[10.0, 10.07, 10.07],
                     low=[10.0, 10.0, 10.07])
    assert AtrSlippage(D("1"), period=1).bind(CENT, bars)(1, 1000, 2) == 7


def test_slippage_never_pushes_a_sell_to_zero_or_below() -> None:
    # a sell at 0.01 with 1-tick slippage would be 0.00: the engine keeps the reference price
    bars = make_bars([0.01] * 3)

    def on_bar(ctx: Context, i: int) -> None:
        if i == 0:
            ctx.sell(1)

    result = run(on_bar, bars, slippage=FixedBpsSlippage(D("1")))
    assert [(f.price_ticks, f.slippage) for f in result.engine.state.fills] == [(1, 0)]


# --------------------------------------------------------------------------- size parsing


@pytest.mark.parametrize(("text", "kind", "value"), [
    ("1", SizeKind.FIXED, D("1")),
    ("0.5", SizeKind.FIXED, D("0.5")),
    ("25%", SizeKind.PERCENT, D("0.25")),
    ("100%", SizeKind.PERCENT, D("1")),
    ("all-in", SizeKind.ALL_IN, D("0")),
    ("ALL_IN", SizeKind.ALL_IN, D("0")),
])
def test_size_spec_parse(text: str, kind: SizeKind, value: Decimal) -> None:
    spec = SizeSpec.parse(text)
    assert (spec.kind, spec.value) == (kind, value)


@pytest.mark.parametrize("text", ["0", "0%", "150%", "-1", "abc", "1e3", ""])
def test_size_spec_rejects_bad_input(text: str) -> None:
    with pytest.raises(ConfigError, match="invalid --size"):
        SizeSpec.parse(text)


def test_size_spec_round_trips_to_text() -> None:
    assert [str(SizeSpec.parse(t)) for t in ("25%", "1.50", "all-in")] == ["25%", "1.5", "all-in"]


@pytest.mark.parametrize("kwargs", [
    {"initial_cash": D(0)},
    {"volume_participation": D(0)},
    {"volume_participation": D("1.5")},
    {"periods_per_year": 0.0},
])
def test_invalid_settings_raise_config_error(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        BacktestSettings(**kwargs)  # type: ignore[arg-type]
