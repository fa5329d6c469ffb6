"""rsi_reversion: parameters, and entries/exits on a hand-computed Wilder RSI.

Imports only core, testing, backtesting and this strategy.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pytest

from trading_strategy.backtesting.runner import BacktestResult, run_backtest
from trading_strategy.backtesting.settings import BacktestSettings, IndicatorMode
from trading_strategy.core.errors import ParameterError
from trading_strategy.strategies.rsi_reversion import RsiReversion, RsiReversionParams
from trading_strategy.testing import make_bars

D = Decimal

# RSI(2), Wilder: the first averages are the means of changes 1..2, then
# avg = (prev * 1 + x) / 2; RSI = 100 * avg_gain / (avg_gain + avg_loss).
#   t  close open  change  avg_gain   avg_loss   RSI
#   0  10    10    -
#   1  11    10    +1
#   2  10    11    -1      0.5        0.5        50
#   3   9    10    -1      0.25       0.75       25      < 30: buy
#   4   8     8    -1      0.125      0.875      12.5    (long, filled at this open 8.00)
#   5   9     8    +1      0.5625     0.4375     56.25
#   6  11     9    +2      1.28125    0.21875    85.42   > 70: close
#   7  12    11.5  +1      1.140625   0.109375   91.25   (flat, filled at this open 11.50)
#   8  12    12     0      0.5703125  0.0546875  91.25
CLOSES = [10, 11, 10, 9, 8, 9, 11, 12, 12]
OPENS = [10, 10, 11, 10, 8, 8, 9, 11.5, 12]
PARAMS = {"period": 2, "oversold": 30, "overbought": 70}


def run(params: Mapping[str, object], **settings: Any) -> BacktestResult:
    bars = make_bars(CLOSES, open=OPENS)
    return run_backtest(RsiReversion, bars, BacktestSettings(**settings), params,
                        allow_short_history=True)


def fills(result: BacktestResult) -> list[tuple[int, str, int, Decimal]]:
    inst = result.bars.instrument
    return [(f.bar_index, f.side.value, f.lots, inst.price(f.price_ticks))
            for f in result.engine.state.fills]


# --------------------------------------------------------------------------- parameters


def test_defaults() -> None:
    assert RsiReversion.parse_params() == RsiReversionParams(period=14, oversold=30.0,
                                                             overbought=70.0)
    assert RsiReversion.name == "rsi_reversion"
    assert RsiReversion.description().startswith("Mean reversion")


@pytest.mark.parametrize(("raw", "fragment"), [
    ({"oversold": 70, "overbought": 30}, "oversold (70.0) must be less than overbought (30.0)"),
    ({"oversold": 50, "overbought": 50}, "oversold (50.0) must be less than overbought (50.0)"),
    ({"period": 1}, "period=1: Input should be greater than or equal to 2"),
    ({"oversold": 0}, "oversold=0: Input should be greater than 0"),
    ({"overbought": 100}, "overbought=100: Input should be less than 100"),
])
def test_invalid_parameters(raw: dict[str, object], fragment: str) -> None:
    with pytest.raises(ParameterError) as info:
        RsiReversion.parse_params(raw)
    assert fragment in str(info.value)


def test_unknown_parameter_names_the_valid_ones() -> None:
    with pytest.raises(ParameterError) as info:
        RsiReversion.parse_params({"lookback": 5})
    message = str(info.value)
    assert "unknown parameter 'lookback' for strategy 'rsi_reversion'" in message
    assert ("period (int, default 14), oversold (float, default 30.0), "
            "overbought (float, default 70.0)") in message


# --------------------------------------------------------------------------- trades


@pytest.mark.parametrize("mode", list(IndicatorMode))
def test_buys_oversold_and_sells_overbought(mode: IndicatorMode) -> None:
    result = run(PARAMS, indicator_mode=mode)
    # bar 3 (RSI 25) -> all-in at bar 4's open 8.00: 10000 / 8 = 1250 lots
    # bar 6 (RSI 85.4) -> close at bar 7's open 11.50: 1250 * 11.50 = 14375.00
    assert fills(result) == [(4, "buy", 1250, D("8.00")), (7, "sell", 1250, D("11.50"))]
    assert result.equity[-1] == 14375.0
    (trade,) = result.engine.ledger.trades
    assert trade.pnl() == 1250 * (1150 - 800)  # 4375.00 in cents


def test_a_higher_overbought_level_exits_later() -> None:
    # overbought 90: RSI 85.4 on bar 6 is not enough; 91.25 on bar 7 is -> bar 8's open 12.00
    result = run({**PARAMS, "overbought": 90})
    assert fills(result) == [(4, "buy", 1250, D("8.00")), (8, "sell", 1250, D("12.00"))]
    assert result.equity[-1] == 15000.0


def test_a_lower_oversold_level_enters_later_or_not_at_all() -> None:
    # oversold 20: bar 3 (25) is not oversold, bar 4 (12.5) is -> bar 5's open 8.00;
    # the exit is still bar 6 -> bar 7's open 11.50
    result = run({**PARAMS, "oversold": 20})
    assert fills(result) == [(5, "buy", 1250, D("8.00")), (7, "sell", 1250, D("11.50"))]
    # oversold 10: RSI never goes below 12.5 -> no trade
    assert run({**PARAMS, "oversold": 10}).engine.state.fills == []


def test_no_second_entry_while_the_first_order_is_pending() -> None:
    # with a two-bar latency the bar-3 order is still open on bar 4 (RSI 12.5, still flat):
    # no second buy. Filled at bar 5's open 8.00; the exit decided on bar 6 fills on bar 8
    result = run(PARAMS, latency_bars=2)
    assert fills(result) == [(5, "buy", 1250, D("8.00")), (8, "sell", 1250, D("12.00"))]


# --------------------------------------------------------------------------- fast path


def test_fast_signals_follow_the_table() -> None:
    """The declaration for the sweep's compiled path: RSI below 30 from bar 3 (buy), above
    70 from bar 6 (close); on_bar acts on the first of each; nothing during the warm-up
    (NaN compares false)."""
    import numpy as np

    bars = make_bars(CLOSES, open=OPENS)
    params = RsiReversion.parse_params(PARAMS)
    signals = RsiReversion.fast_signals(params, bars.open, bars.high, bars.low, bars.close,
                                        bars.volume)
    assert np.flatnonzero(signals["long_entry"]).tolist() == [3, 4]  # 12.5 at bar 4 too
    assert np.flatnonzero(signals["long_exit"]).tolist() == [6, 7, 8]
    assert set(signals) == {"long_entry", "long_exit"}
    # on_bar acts on the first of each: the fills are at bars 4 and 7
    assert [bar for bar, *_ in fills(run(PARAMS))] == [4, 7]
