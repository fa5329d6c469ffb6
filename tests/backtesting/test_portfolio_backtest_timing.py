"""When a portfolio backtest feeds its risk engine: at each strategy's bar, after matching and
before the strategy's ``on_bar`` — a paper session's order of work — so an order decided on
the bar of a portfolio halt is denied, not accepted and then cancelled."""

from __future__ import annotations

from decimal import Decimal

from trading_strategy.backtesting.portfolio import Sleeve, run_portfolio
from trading_strategy.backtesting.settings import BacktestSettings
from trading_strategy.core.enums import OrderStatus
from trading_strategy.kernel.sizing import SizeSpec
from trading_strategy.risk import RiskSettings, TradingState
from trading_strategy.strategies.context import Context
from trading_strategy.testing import make_bars, scripted


def test_an_order_on_the_bar_of_a_portfolio_halt_is_denied() -> None:
    # long 50 from bar 1's open (100); bar 3 closes at 80: the portfolio is down 10 % > 5 %
    closes = [100.0, 100.0, 100.0, 80.0, 80.0, 80.0]

    def on_bar(ctx: Context, i: int) -> None:
        if i in (0, 3):
            ctx.buy(50)

    bars = make_bars(closes, open=closes, symbol="HLT")
    settings = BacktestSettings(initial_cash=Decimal(10_000), size=SizeSpec.parse("1"))
    result = run_portfolio([Sleeve("s", scripted(on_bar), {}, bars, settings)],
                           RiskSettings(max_drawdown_pct=5), allow_short_history=True)
    [at] = [at for c, at in result.changes if c.current is TradingState.HALTED]
    assert int(result.ts[at]) == int(bars.ts[3])
    engine = result.sleeves[0].engine
    second = [o for o in engine.state.closed_orders if o.created_index == 3 and not o.reduce_only]
    assert [o.status for o in second] == [OrderStatus.DENIED]
    assert engine.ledger.position == 0  # flattened at bar 4's open
