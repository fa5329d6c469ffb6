"""Regressions for defects a review found in the engine and its risk gate."""

from __future__ import annotations

from decimal import Decimal

import pytest

from trading_strategy.backtesting.engine import BacktestEngine
from trading_strategy.backtesting.report import build_report
from trading_strategy.backtesting.runner import run_backtest
from trading_strategy.backtesting.settings import BacktestSettings
from trading_strategy.core.errors import StrategyError
from trading_strategy.risk import RiskSettings
from trading_strategy.strategies.context import Context
from trading_strategy.testing import make_bars, scripted


def test_close_then_all_in_sell_is_an_entry_capped_by_max_position() -> None:
    # long 100 @10 (10% of 10k); on bar 2 close() + sell(): judged against the position
    # once the close has filled (flat), the all-in sell is an entry of 100 lots (10%, at
    # the cap) and keeps that size at its fill, instead of re-sizing to all the cash (1000)
    def on_bar(ctx: Context, i: int) -> None:
        if i == 0:
            ctx.buy(100)
        if i == 2:
            ctx.close()
            ctx.sell()

    result = run_backtest(scripted(on_bar), make_bars([10.0] * 6), BacktestSettings(),
                          risk=RiskSettings(max_position_pct=10), allow_short_history=True)
    assert result.engine.ledger.position == -100


def test_halt_refuses_a_reversal_placed_after_a_close() -> None:
    # bar 1 fills long 1000 @10 (all the cash); bar 1 closes at 9.5: drawdown 5% >= 3%
    # -> HALTED; on bar 2 close() + sell() must not open a short
    def on_bar(ctx: Context, i: int) -> None:
        if i == 0:
            ctx.buy(1000)
        if i == 2:
            ctx.close()
            ctx.sell()

    bars = make_bars([10, 9.5, 9.5, 9.5, 9.5], open=[10, 10, 9.5, 9.5, 9.5])
    result = run_backtest(scripted(on_bar), bars, BacktestSettings(),
                          risk=RiskSettings(max_drawdown_pct=3, check_buying_power=False),
                          allow_short_history=True)
    verdicts = build_report(result)["risk"]["verdicts"]
    assert verdicts.get("rejected:halted") == 1
    assert result.engine.ledger.position == 0


def test_orders_from_on_start_are_refused_with_a_clear_error() -> None:
    strategy = scripted(lambda ctx, i: None, on_start=lambda ctx: ctx.buy(1))
    with pytest.raises(StrategyError, match="first on_bar"):
        run_backtest(strategy, make_bars([10.0] * 3), allow_short_history=True)


def test_entries_wait_for_the_atr_an_atr_stop_needs() -> None:
    result = run_backtest(scripted(lambda ctx, i: ctx.buy(1) if i == 0 else None),
                          make_bars([10.0] * 5), BacktestSettings(),
                          risk=RiskSettings(stop_loss_atr_multiple=2),
                          allow_short_history=True)
    assert result.engine.state.fills == []
    assert result.risk is not None
    assert result.risk.log.verdicts == {"rejected:atr_warmup": 1}


def test_a_partly_filled_target_keeps_the_stop() -> None:
    # bar 2 lets only 50 of 100 lots trade: the take-profit fills 50 @10.50; the stop must
    # stay and close the other 50 at 9.00 when bar 3 falls through it
    c, o = [10, 10, 11, 6, 4, 4], [10, 10, 10, 10.2, 6, 4]
    h, lo = [10, 10, 11, 10.3, 6, 4], [10, 10, 10, 6, 4, 4]
    v = [1e6, 1e6, 100, 1e6, 1e6, 1e6]
    bars = make_bars(c, open=o, high=h, low=lo, volume=v)
    strategy = scripted(lambda ctx, i: ctx.buy(100, stop_loss=9, take_profit=10.5)
                        if i == 0 else None)
    engine = BacktestEngine(strategy, None, bars,
                            BacktestSettings(volume_participation=Decimal("0.5")))
    engine.run()
    fills = [(f.bar_index, f.side.value, f.lots, f.price_ticks) for f in engine.state.fills]
    assert fills == [(1, "buy", 100, 1000), (2, "sell", 50, 1050), (3, "sell", 50, 900)]
    assert engine.ledger.position == 0


def test_a_resting_stop_does_not_make_a_close_look_like_nothing_to_reduce() -> None:
    # long 100 with a configured 8% stop resting below; close() must still be accepted
    def on_bar(ctx: Context, i: int) -> None:
        if i == 0:
            ctx.buy(100)
        if i == 2:
            ctx.close()

    result = run_backtest(scripted(on_bar), make_bars([10.0] * 5), BacktestSettings(),
                          risk=RiskSettings(stop_loss_pct=8), allow_short_history=True)
    assert result.engine.ledger.position == 0
    verdicts = build_report(result)["risk"]["verdicts"]
    assert verdicts == {"accepted": 2}
