"""Default order sizes (``--size``): fixed, percent of equity, all-in; lot sizes other than 1.

Strategies call ``ctx.buy()`` / ``ctx.sell()`` without a quantity; the run's ``SizeSpec``
decides. Starting cash 10 000, tick 0.01.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from trading_strategy.backtesting.report import build_report
from trading_strategy.backtesting.runner import BacktestResult, run_backtest
from trading_strategy.backtesting.settings import BacktestSettings
from trading_strategy.core.bars import BarSeries
from trading_strategy.core.enums import OrderStatus
from trading_strategy.core.errors import ConfigError
from trading_strategy.kernel.costs import PercentCommission
from trading_strategy.kernel.sizing import SizeSpec
from trading_strategy.risk import RiskSettings
from trading_strategy.strategies.context import Context, OrderEvent
from trading_strategy.testing import make_bars, scripted

D = Decimal
PCT = PercentCommission(D("0.001"))


def run(on_bar: Callable[[Context, int], None], bars: BarSeries, size: str = "all-in",
        **settings: object) -> BacktestResult:
    s = BacktestSettings(size=SizeSpec.parse(size), **settings)  # type: ignore[arg-type]
    return run_backtest(scripted(on_bar), bars, s, allow_short_history=True)


def buy_default_at(bar: int) -> Callable[[Context, int], None]:
    def on_bar(ctx: Context, i: int) -> None:
        if i == bar:
            ctx.buy()

    return on_bar


def lots_and_prices(result: BacktestResult) -> list[tuple[int, Decimal]]:
    inst = result.bars.instrument
    return [(f.lots, inst.price(f.price_ticks)) for f in result.engine.state.fills]


def cash(result: BacktestResult) -> Decimal:
    return result.bars.instrument.money(result.engine.ledger.cash)


def two_bars(decision_close: float, next_open: float) -> BarSeries:
    return make_bars([decision_close, next_open, next_open], open=[decision_close, next_open,
                                                                   next_open])


# --------------------------------------------------------------------------- fixed / percent


def test_fixed_size() -> None:
    result = run(buy_default_at(0), make_bars([10.0] * 3), size="3")
    assert lots_and_prices(result) == [(3, D("10.00"))]


def test_percent_of_equity_at_the_decision_close() -> None:
    # 25% of equity 10000 at the decision close 40.00 = 2500 / 40 = 62.5 -> 62 lots;
    # filled at the next open 41.00 (at that price it would have been 60): cash 10000 - 2542
    result = run(buy_default_at(0), two_bars(40.0, 41.0), size="25%")
    assert lots_and_prices(result) == [(62, D("41.00"))]
    assert cash(result) == D("7458.00")


def test_percent_counts_the_marked_position_in_equity() -> None:
    # bar 0: buy 50 explicitly -> filled at bar 1's open 100: cash 5000
    # bar 1 closes at 120: equity 5000 + 50 * 120 = 11000; 10% = 1100 / 120 = 9.17 -> 9 lots
    bars = make_bars([100.0, 120.0, 120.0, 120.0], open=[100.0, 100.0, 120.0, 120.0])

    def on_bar(ctx: Context, i: int) -> None:
        if i == 0:
            ctx.buy(50)
        if i == 1:
            ctx.buy()

    result = run(on_bar, bars, size="10%")
    assert lots_and_prices(result) == [(50, D("100.00")), (9, D("120.00"))]


# --------------------------------------------------------------------------- all-in


def test_all_in_sizes_at_the_fill_price_when_it_gaps_down() -> None:
    # decided at the close 100.00 (there: 99 lots after commission), filled at the open
    # 90.00: 10000 / 90 = 111.1 -> 111 lots; 111 * 90 = 9990.00, commission 0.1% = 9.99,
    # total 9999.99 <= 10000 (112 lots would be 10080.00)
    result = run(buy_default_at(0), two_bars(100.0, 90.0), commission=PCT)
    assert lots_and_prices(result) == [(111, D("90.00"))]
    assert cash(result) == D("0.01")


def test_all_in_sizes_at_the_fill_price_when_it_gaps_up() -> None:
    # decided at 100.00, filled at 110.00: 10000 / 110 = 90.9 -> 90 lots; 9900.00 + 9.90
    # = 9909.90 -> cash 90.10 (sized at the decision close it would be 99 lots: rejected)
    result = run(buy_default_at(0), two_bars(100.0, 110.0), commission=PCT)
    assert lots_and_prices(result) == [(90, D("110.00"))]
    assert cash(result) == D("90.10")


def test_all_in_leaves_room_for_the_commission() -> None:
    # fill 99.95: 100 lots = 9995.00 + 0.1% (999.5 cents -> half-up 10.00) = 10005.00 > 10000
    # -> 99 lots = 9895.05 + 9.90 (989.505 cents -> 990) = 9904.95 -> cash 95.05
    result = run(buy_default_at(0), two_bars(100.0, 99.95), commission=PCT)
    assert lots_and_prices(result) == [(99, D("99.95"))]
    assert cash(result) == D("95.05")


def test_all_in_on_the_other_side_first_closes_the_position() -> None:
    # long 10 (explicit); an all-in sell closes those 10, it does not flip to short
    bars = make_bars([100.0] * 4)

    def on_bar(ctx: Context, i: int) -> None:
        if i == 0:
            ctx.buy(10)
        if i == 1:
            ctx.sell()

    result = run(on_bar, bars)
    assert lots_and_prices(result) == [(10, D("100.00")), (10, D("100.00"))]
    assert result.engine.ledger.position == 0


def test_all_in_short_from_flat_uses_the_cash() -> None:
    # flat, cash 10000: an all-in sell at 100.00 shorts 100 lots (commission 0)
    result = run(lambda ctx, i: ctx.sell() if i == 0 else None, make_bars([100.0] * 3))
    assert lots_and_prices(result) == [(100, D("100.00"))]


def test_all_in_adding_to_a_short_does_not_read_the_fill_bar_close() -> None:
    # short 10 at 100.00 (cash 11000), then an all-in sell decided on bar 1 (close 100),
    # filled at bar 2's open 100.00: equity marked at the last known price 100 is
    # 11000 - 10 * 100 = 10000 -> 100 more lots. Bar 2's *close* is not known at its open
    # and must not change the answer (with a close of 200 the engine would mark the
    # position at 200: equity 9000 -> 90 lots).
    def on_bar(ctx: Context, i: int) -> None:
        if i == 0:
            ctx.sell(10)
        if i == 1:
            ctx.sell()

    for later_close in (100.0, 200.0):
        bars = make_bars([100.0, 100.0, later_close, later_close],
                         open=[100.0, 100.0, 100.0, later_close])
        result = run(on_bar, bars)
        assert lots_and_prices(result) == [(10, D("100.00")), (100, D("100.00"))], later_close


# --------------------------------------------------------------------------- lot sizes


def btc(price: float = 30000.0) -> BarSeries:
    return make_bars([price] * 3, lot_size="0.001", symbol="BTC")


def test_a_fixed_size_must_be_whole_lots() -> None:
    # --size 0.0015 BTC with lot 0.001 is refused up front (it used to round down to 1 lot)
    with pytest.raises(ConfigError, match=r"lots of 0\.001"):
        run(buy_default_at(0), btc(), size="0.0015")
    result = run(buy_default_at(0), btc(), size="0.002")
    assert [f.lots for f in result.engine.state.fills] == [2]
    assert result.engine.ctx.position_exact == D("0.002")
    assert result.engine.ctx.position == 0.002  # the float strategies decide with


def test_explicit_fractional_quantities_round_down() -> None:
    def on_bar(ctx: Context, i: int) -> None:
        if i == 0:
            ctx.buy(D("0.0019"))  # 1.9 lots -> 1
            ctx.buy(0.7)  # float 0.7 -> 700 lots (0.7 / 0.001 = 699.99... in floats)
            ctx.buy(2)  # an int is a quantity in units too: 2 BTC = 2000 lots

    result = run(on_bar, btc(1.0))  # at 1.00 per BTC all 2.701 BTC cost 2.70
    assert [f.lots for f in result.engine.state.fills] == [1, 700, 2000]


def test_percent_with_fractional_lots() -> None:
    # money unit = 0.01 * 0.001 = 0.00001; equity 10000 = 1e9 units; 25% = 2.5e8 units;
    # / 3 000 000 ticks (30000.00) = 83.3 -> 83 lots = 0.083 BTC costing 2490.00
    result = run(buy_default_at(0), btc(), size="25%")
    assert [f.lots for f in result.engine.state.fills] == [83]
    assert cash(result) == D("7510.00")


def test_all_in_with_fractional_lots() -> None:
    # 10000 / 30000 = 0.3333 BTC -> 333 lots = 0.333 BTC costing 9990.00 -> cash 10.00
    result = run(buy_default_at(0), btc(), size="all-in")
    assert [f.lots for f in result.engine.state.fills] == [333]
    assert cash(result) == D("10.00")
    trade = build_report(result)["trades"][0]
    assert (trade["quantity"], trade["entry_price"]) == (0.333, 30000)


def test_a_size_below_one_lot_is_denied() -> None:
    result = run(lambda ctx, i: ctx.buy(D("0.0005")) if i == 0 else None, btc())
    assert result.engine.state.fills == []
    rejected = [e for e in result.engine.strategy.events  # type: ignore[attr-defined]
                if isinstance(e, OrderEvent)]
    assert [(e.status, e.reason) for e in rejected] == [
        (OrderStatus.DENIED, "zero_size: order size rounds to zero lots")]
    assert result.engine.state.rejections == {"zero_size": 1}


def test_a_risk_sizing_method_sizes_an_order_of_less_than_a_lot() -> None:
    # the kernel gate refuses zero lots only after its sizing method (as a session does)
    def on_bar(ctx: Context, i: int) -> None:
        if i == 1:
            ctx.buy(D("0.4"))

    bars = make_bars([100.0] * 5)
    settings = BacktestSettings(size=SizeSpec.parse("1"))
    sized = run_backtest(scripted(on_bar), bars, settings, allow_short_history=True,
                         risk=RiskSettings(sizing_method="fixed_fraction",
                                           fixed_fraction_pct=50))
    assert sized.engine.ledger.position == 50  # 50 % of 10 000 at 100
    plain = run_backtest(scripted(on_bar), bars, settings, allow_short_history=True,
                         risk=RiskSettings())
    assert plain.engine.ledger.position == 0
    assert plain.engine.state.rejections == {"zero_size": 1}


def test_with_buying_power_a_buy_the_cash_cannot_pay_at_the_decision_is_denied() -> None:
    # 200 lots × 100 = 20 000 > 10 000 of cash: denied by the gate, as a session denies it
    def on_bar(ctx: Context, i: int) -> None:
        if i == 1:
            ctx.buy(200)

    bars = make_bars([100.0] * 5)
    result = run_backtest(scripted(on_bar), bars, BacktestSettings(size=SizeSpec.parse("1")),
                          allow_short_history=True, risk=RiskSettings())
    (order,) = result.engine.state.closed_orders
    assert order.status is OrderStatus.DENIED and order.reason.startswith("insufficient_cash")
