"""Strategy-facing numbers are floats (usable with prices and indicators, as in
backtesting.py); exact ``Decimal`` twins come from the same integers; a float quantity
becomes whole lots at order creation, so nothing the engine stores or reports drifts."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import pytest

from trading_strategy.backtesting.runner import run_backtest
from trading_strategy.backtesting.settings import BacktestSettings
from trading_strategy.core.instrument import Instrument
from trading_strategy.kernel import costs
from trading_strategy.kernel.sizing import SizeSpec
from trading_strategy.strategies.context import Context
from trading_strategy.strategies.views import ExactFloat
from trading_strategy.testing import make_bars, scripted

SEEN: list[tuple[Any, ...]] = []


def _settings(cash: str = "10000", commission: str = "0.001") -> BacktestSettings:
    return BacktestSettings(initial_cash=Decimal(cash),
                            commission=costs.PercentCommission(Decimal(commission)),
                            slippage=costs.FixedBpsSlippage(Decimal(0)), size=SizeSpec.parse("1"))


def test_equity_times_a_fraction_over_the_close_is_an_order_quantity() -> None:
    """The issue's own line: it raised TypeError while equity was a Decimal."""

    def on_bar(ctx: Context, i: int) -> None:
        SEEN.append((ctx.position, ctx.cash, ctx.equity, ctx.position_exact, ctx.cash_exact,
                     ctx.equity_exact))
        if i == 0:
            ctx.buy(ctx.equity * 0.02 / ctx.bars.close[0])  # 2 % of equity: 0.00666 BTC

    SEEN.clear()
    bars = make_bars([30000.0, 30100.0, 30200.0], lot_size="0.001", symbol="BTC")
    result = run_backtest(scripted(on_bar, name="two_pct"), bars, _settings(),
                          allow_short_history=True)
    # rounded down to whole lots of 0.001 when the order was created
    assert [f.lots for f in result.engine.state.fills] == [6]
    position, cash, equity, position_x, cash_x, equity_x = SEEN[-1]
    assert all(type(v) is float for v in (position, cash, equity))
    assert all(type(v) is Decimal for v in (position_x, cash_x, equity_x))
    assert position_x == Decimal("0.006")
    # 0.006 × 30 000 = 180 paid, commission 0.18: exact in the engine and in the twins
    assert cash_x == Decimal("9819.82")
    assert equity_x == Decimal("9819.82") + Decimal("0.006") * Decimal("30200")
    assert (position, cash, equity) == (float(position_x), float(cash_x), float(equity_x))


def test_giving_the_float_position_back_sells_exactly_the_whole_position() -> None:
    def on_bar(ctx: Context, i: int) -> None:
        if i == 0:
            ctx.buy(0.007)
        elif i == 1:
            ctx.buy(0.3)  # 0.307 in all: not a float sum that rounds down a lot
        elif i == 2:
            assert ctx.position == 0.307
            ctx.sell(ctx.position)

    bars = make_bars([100.0] * 4, lot_size="0.001", symbol="ETH")
    result = run_backtest(scripted(on_bar, name="round_trip"), bars, _settings(),
                          allow_short_history=True)
    assert [f.lots for f in result.engine.state.fills] == [7, 300, 307]
    assert result.engine.ledger.position == 0


@pytest.mark.parametrize("tick,lot", [("0.01", "1"), ("0.0001", "1000"), ("0.25", "1"),
                                      ("0.00000001", "0.001"), ("5", "0.1"), ("0.5", "0.01")])
def test_the_float_of_integer_units_is_the_nearest_float_to_the_exact_value(
        tick: str, lot: str) -> None:
    inst = Instrument("X", tick_size=Decimal(tick), lot_size=Decimal(lot))
    exact = ExactFloat(inst)
    rng = random.Random(4)
    for _ in range(2000):
        n = rng.randrange(-10**15, 10**15)
        assert exact.price(n) == float(inst.price(n))
        assert exact.quantity(n) == float(inst.quantity(n))
        assert exact.money(n) == float(inst.money(n))


def test_before_the_first_bar_equity_is_the_cash() -> None:
    def on_start(ctx: Context) -> None:
        SEEN.append((ctx.cash, ctx.equity, ctx.position, ctx.position_view.lots,
                     ctx.closed_trades))

    SEEN.clear()
    run_backtest(scripted(lambda ctx, i: None, name="start_probe", on_start=on_start),
                 make_bars([10.0, 11.0]), _settings(cash="2500.5"), allow_short_history=True)
    assert SEEN == [(2500.5, 2500.5, 0.0, 0, ())]
