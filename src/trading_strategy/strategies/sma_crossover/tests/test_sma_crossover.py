"""sma_crossover: parameters, and trades on a hand-made series computed bar by bar.

Imports only core, testing, backtesting and this strategy.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import pytest

from trading_strategy.backtesting.runner import BacktestResult, run_backtest
from trading_strategy.backtesting.settings import BacktestSettings, IndicatorMode
from trading_strategy.core.errors import ParameterError
from trading_strategy.strategies.sma_crossover import SmaCrossover, SmaCrossoverParams
from trading_strategy.testing import make_bars

D = Decimal

# fast = SMA(2), slow = SMA(3) over these closes (t = bar index):
#   t   close  open   fast               slow                    cross
#   0   12     12     -                  -                       0
#   1   11     12     11.5               -                       0
#   2   10     11     10.5               11                      0  (fast < slow)
#   3   12     10     (10+12)/2 = 11     (11+10+12)/3 = 11       0  exact TIE
#   4   13     12     12.5               (10+12+13)/3 = 11.67    +1 (>, and <= before: the
#                                                                   tie must not swallow it)
#   5   13     12.50  13                 12.67                   0
#   6   13     13     13                 13                      0  exact TIE
#   7   12     13     12.5               12.67                   -1 (<, and >= before)
#   8   12     12.75  12                 12.33                   0
#   9   14     12     13                 12.67                   +1
#   10  12     12.00  13                 12.67                   0
# Decisions at a bar's close fill at the next bar's open (5: 12.50, 8: 12.75, 10: 12.00).
CLOSES = [12, 11, 10, 12, 13, 13, 13, 12, 12, 14, 12]
OPENS = [12, 12, 11, 10, 12, 12.5, 13, 13, 12.75, 12, 12]


def run(params: Mapping[str, object], mode: IndicatorMode = IndicatorMode.VECTORIZED
        ) -> BacktestResult:
    bars = make_bars(CLOSES, open=OPENS)
    return run_backtest(SmaCrossover, bars, BacktestSettings(indicator_mode=mode), params,
                        allow_short_history=True)


def fills(result: BacktestResult) -> list[tuple[int, str, int, Decimal]]:
    inst = result.bars.instrument
    return [(f.bar_index, f.side.value, f.lots, inst.price(f.price_ticks))
            for f in result.engine.state.fills]


# --------------------------------------------------------------------------- parameters


def test_defaults() -> None:
    params = SmaCrossover.parse_params()
    assert params == SmaCrossoverParams(fast=10, slow=30, allow_short=False)
    assert SmaCrossover.name == "sma_crossover"
    assert SmaCrossover.description().startswith("Trend following")


def test_strings_are_coerced() -> None:
    params = SmaCrossover.parse_params({"fast": "2", "slow": "3", "allow_short": "true"})
    assert params == SmaCrossoverParams(fast=2, slow=3, allow_short=True)


@pytest.mark.parametrize(("raw", "fragment"), [
    ({"fast": 3, "slow": 3}, "fast (3) must be less than slow (3)"),
    ({"fast": 30, "slow": 10}, "fast (30) must be less than slow (10)"),
    ({"fast": 0}, "fast=0: Input should be greater than or equal to 1"),
    ({"fast": 1, "slow": 1}, "slow=1: Input should be greater than or equal to 2"),
])
def test_invalid_parameters(raw: dict[str, object], fragment: str) -> None:
    with pytest.raises(ParameterError) as info:
        SmaCrossover.parse_params(raw)
    assert fragment in str(info.value)


def test_unknown_parameter_names_the_valid_ones() -> None:
    with pytest.raises(ParameterError) as info:
        SmaCrossover.parse_params({"fastt": 5})
    message = str(info.value)
    assert "unknown parameter 'fastt' for strategy 'sma_crossover'" in message
    assert ("fast (int, default 10), slow (int, default 30), "
            "allow_short (bool, default False)") in message


# --------------------------------------------------------------------------- trades


@pytest.mark.parametrize("mode", list(IndicatorMode))
def test_long_only_trades_at_the_crossings_including_after_ties(mode: IndicatorMode) -> None:
    result = run({"fast": 2, "slow": 3}, mode)
    # bar 4 up -> buy all-in at bar 5's open 12.50: 10000 / 12.50 = 800 lots, cash 0
    # bar 7 down -> close at bar 8's open 12.75: 800 * 12.75 = 10200.00
    # bar 9 up -> buy all-in at bar 10's open 12.00: 10200 / 12 = 850 lots
    assert fills(result) == [
        (5, "buy", 800, D("12.50")),
        (8, "sell", 800, D("12.75")),
        (10, "buy", 850, D("12.00")),
    ]
    ledger = result.engine.ledger
    assert ledger.position == 850 and ledger.cash == 0
    first = ledger.trades[0]
    assert first.pnl() == 800 * (1275 - 1250)  # +200.00 in cents
    # marked at the last close 12: 850 * 12 = 10200
    assert result.equity[-1] == 10200.0


def test_allow_short_reverses_at_each_crossing() -> None:
    result = run({"fast": 2, "slow": 3, "allow_short": True})
    # bar 7 down: close the long (800) and sell short all-in, both at bar 8's open 12.75:
    #   after the close cash is 10200 -> short 10200 / 12.75 = 800 lots, cash 20400
    # bar 9 up: cover (800) and buy all-in, both at bar 10's open 12.00:
    #   cover: 20400 - 9600 = 10800 -> long 10800 / 12 = 900 lots, cash 0
    assert fills(result) == [
        (5, "buy", 800, D("12.50")),
        (8, "sell", 800, D("12.75")),
        (8, "sell", 800, D("12.75")),
        (10, "buy", 800, D("12.00")),
        (10, "buy", 900, D("12.00")),
    ]
    long1, short, long2 = result.engine.ledger.trades
    assert (long1.direction, long1.pnl()) == (1, 20_000)  # 800 * 0.25 = 200.00
    assert (short.direction, short.pnl()) == (-1, 60_000)  # 800 * 0.75 = 600.00
    assert long2.is_open and long2.entry_lots == 900
    assert result.equity[-1] == 10800.0


def test_no_signal_no_trade() -> None:
    # a straight rise: fast > slow from the first bar both exist, never a crossing
    bars = make_bars([10, 11, 12, 13, 14, 15])
    result = run_backtest(SmaCrossover, bars, params={"fast": 2, "slow": 3},
                          allow_short_history=True)
    assert result.engine.state.fills == []


# --------------------------------------------------------------------------- fast path


def test_fast_signals_are_the_crossings_on_bar_trades_on() -> None:
    """The declaration for the sweep's compiled path: the table's crossings (4 up, 7
    down, 9 up), each the decision bar of a fill at the next open."""
    import numpy as np

    bars = make_bars(CLOSES, open=OPENS)
    columns = (bars.open, bars.high, bars.low, bars.close, bars.volume)
    for allow_short in (False, True):
        params = SmaCrossover.parse_params({"fast": 2, "slow": 3, "allow_short": allow_short})
        signals = SmaCrossover.fast_signals(params, *columns)
        on = {key: np.flatnonzero(value).tolist() for key, value in signals.items()}
        assert on == {"long_entry": [4, 9], "short_exit": [4, 9], "long_exit": [7],
                      "short_entry": [7] if allow_short else []}
        decided = {bar - 1 for bar, *_ in fills(run({"fast": 2, "slow": 3,
                                                     "allow_short": allow_short}))}
        assert decided == {4, 7, 9}
