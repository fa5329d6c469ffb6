"""donchian_breakout: parameters, breakout entry, ATR stop hit intrabar, channel exit.

Imports only core, testing, backtesting and this strategy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

import pytest

from trading_strategy.backtesting.report import build_report
from trading_strategy.backtesting.runner import BacktestResult, run_backtest
from trading_strategy.backtesting.settings import BacktestSettings, IndicatorMode
from trading_strategy.core.enums import OrderStatus
from trading_strategy.core.errors import ParameterError
from trading_strategy.strategies.donchian_breakout import (
    DonchianBreakout,
    DonchianBreakoutParams,
)
from trading_strategy.testing import make_bars

D = Decimal

# channel 3, ATR(2) Wilder. True range TR = max(h - l, |h - prev c|, |l - prev c|).
#   t  open  high  low   close  TR    ATR(2)               channel of bars t-2..t
#   0  10    10.5  9.5   10     1.0   -                    -
#   1  10    10.5  9.5   10     1.0   (1 + 1) / 2 = 1.00   -
#   2  10    10.5  9.5   10     1.0   (1 + 1) / 2 = 1.00   upper 10.5, lower 9.5
#   3  10    11.5  10    11     1.5   (1 + 1.5) / 2 = 1.25 upper 11.5, lower 9.5
#   4  11.2  11.6  10.9  11.4   ...
# Bar 3 is the first with a previous channel (bars 0..2): close 11 > 10.5 -> buy, stop
# 11 - atr_stop * 1.25. Bar 4's open 11.20 fills all-in: 10000 / 11.20 = 892.86 -> 892 lots
# costing 9990.40, cash 9.60. Filled at the open, the stop is live from bar 4 itself.
BASE = [
    (10.0, 10.5, 9.5, 10.0),
    (10.0, 10.5, 9.5, 10.0),
    (10.0, 10.5, 9.5, 10.0),
    (10.0, 11.5, 10.0, 11.0),
    (11.2, 11.6, 10.9, 11.4),
]


def run(rows: Sequence[tuple[float, float, float, float]], params: Mapping[str, object],
        mode: IndicatorMode = IndicatorMode.VECTORIZED) -> BacktestResult:
    bars = make_bars([r[3] for r in rows], open=[r[0] for r in rows],
                     high=[r[1] for r in rows], low=[r[2] for r in rows])
    return run_backtest(DonchianBreakout, bars, BacktestSettings(indicator_mode=mode), params,
                        allow_short_history=True, record_decisions=True)


def fills(result: BacktestResult) -> list[tuple[int, str, int, Decimal]]:
    inst = result.bars.instrument
    return [(f.bar_index, f.side.value, f.lots, inst.price(f.price_ticks))
            for f in result.engine.state.fills]


def decisions(result: BacktestResult) -> list[dict[str, object]]:
    return [{k: v for k, v in d.items() if k != "ts"} for d in result.engine.state.decisions
            if d["event"].startswith("breakout")]


# --------------------------------------------------------------------------- parameters


def test_defaults() -> None:
    assert DonchianBreakout.parse_params() == DonchianBreakoutParams(channel=20, atr_period=14,
                                                                     atr_stop=2.0)
    assert DonchianBreakout.name == "donchian_breakout"
    assert DonchianBreakout.description().startswith("Trend following")


@pytest.mark.parametrize(("raw", "fragment"), [
    ({"channel": 1}, "channel=1: Input should be greater than or equal to 2"),
    ({"atr_period": 0}, "atr_period=0: Input should be greater than or equal to 1"),
    ({"atr_stop": 0}, "atr_stop=0: Input should be greater than 0"),
    ({"atr_stop": 25}, "atr_stop=25: Input should be less than or equal to 20"),
    ({"channel": "wide"}, "channel='wide': Input should be a valid integer"),
])
def test_invalid_parameters(raw: dict[str, object], fragment: str) -> None:
    with pytest.raises(ParameterError) as info:
        DonchianBreakout.parse_params(raw)
    assert fragment in str(info.value)


def test_unknown_parameter_names_the_valid_ones() -> None:
    with pytest.raises(ParameterError) as info:
        DonchianBreakout.parse_params({"window": 5})
    message = str(info.value)
    assert "unknown parameter 'window' for strategy 'donchian_breakout'" in message
    assert ("channel (int, default 20), atr_period (int, default 14), "
            "atr_stop (float, default 2.0)") in message


# --------------------------------------------------------------------------- trades


@pytest.mark.parametrize("mode", list(IndicatorMode))
def test_breakout_entry_and_atr_stop_hit_intrabar(mode: IndicatorMode) -> None:
    # atr_stop 1: stop = 11 - 1.25 = 9.75. Bar 4 (low 10.9) does not reach it; bar 5 opens
    # 11.30 and trades down to 9.50 -> the stop sells at 9.75:
    # cash 9.60 + 892 * 9.75 = 8706.60; P&L 892 * (9.75 - 11.20) = -1293.40
    rows = [*BASE, (11.3, 11.4, 9.5, 10.0)]
    result = run(rows, {"channel": 3, "atr_period": 2, "atr_stop": 1.0}, mode)
    assert fills(result) == [(4, "buy", 892, D("11.20")), (5, "sell", 892, D("9.75"))]
    assert result.equity[-1] == 8706.6
    assert build_report(result)["trades"][0]["pnl"] == -1293.4
    assert decisions(result) == [{"event": "breakout_entry", "bar": 3, "close": 11.0,
                                  "channel_high": 10.5, "atr": 1.25, "stop": 9.75}]


@pytest.mark.parametrize("mode", list(IndicatorMode))
def test_exit_on_the_lower_channel_cancels_the_stop(mode: IndicatorMode) -> None:
    # atr_stop 5: stop = 11 - 6.25 = 4.75, far away.
    #   bar 5 close 10.6 vs lowest low of bars 2..4 = 9.5  -> hold
    #   bar 6 close 9.9  vs lowest low of bars 3..5 = 10.0 -> close, at bar 7's open 9.80
    # cash 9.60 + 892 * 9.80 = 8751.20; the stop order is cancelled with the position
    rows = [*BASE, (11.3, 11.4, 10.5, 10.6), (10.5, 10.6, 9.8, 9.9), (9.8, 9.9, 9.6, 9.7)]
    result = run(rows, {"channel": 3, "atr_period": 2, "atr_stop": 5.0}, mode)
    assert fills(result) == [(4, "buy", 892, D("11.20")), (7, "sell", 892, D("9.80"))]
    assert result.equity[-1] == 8751.2
    assert decisions(result) == [
        {"event": "breakout_entry", "bar": 3, "close": 11.0, "channel_high": 10.5, "atr": 1.25,
         "stop": 4.75},
        {"event": "breakout_exit", "bar": 6, "close": 9.9, "channel_low": 10.0},
    ]
    stops = [o for o in result.engine.state.closed_orders if o.parent_id is not None]
    assert [(o.status, o.reason, o.stop_ticks) for o in stops] == [
        (OrderStatus.CANCELLED, "position closed", 475)]


def test_a_stop_at_or_below_zero_is_left_out() -> None:
    # atr_stop 20: 11 - 20 * 1.25 = -14 -> no stop order; the 9.50 low of bar 5 does nothing
    rows = [*BASE, (11.3, 11.4, 9.5, 10.0)]
    result = run(rows, {"channel": 3, "atr_period": 2, "atr_stop": 20.0})
    assert fills(result) == [(4, "buy", 892, D("11.20"))]
    assert build_report(result)["orders"]["submitted"] == 1


def test_no_entry_while_the_channel_warms_up_or_without_a_breakout() -> None:
    # the same bars with channel 5: bar 3's previous channel needs bars -2..2: still warming
    # up through bar 4 (its previous channel is bars -1..3) -> no trade on five bars
    assert run(BASE, {"channel": 5, "atr_period": 2}).engine.state.fills == []
    # a flat market never closes above its previous high
    flat = [(10.0, 10.5, 9.5, 10.0)] * 8
    assert run(flat, {"channel": 3, "atr_period": 2}).engine.state.fills == []


# --------------------------------------------------------------------------- fast path


def test_fast_signals_carry_the_entry_and_its_stop() -> None:
    """The declaration for the sweep's compiled path: bar 3 breaks out with the stop
    11 - 1 x 1.25 = 9.75; bar 6 closes below the previous lower channel; nothing while the
    channel warms up; a stop at or below zero is none (NaN)."""
    import math

    import numpy as np

    rows = [*BASE, (11.3, 11.4, 10.5, 10.6), (10.5, 10.6, 9.8, 9.9), (9.8, 9.9, 9.6, 9.7)]
    bars = make_bars([r[3] for r in rows], open=[r[0] for r in rows],
                     high=[r[1] for r in rows], low=[r[2] for r in rows])
    columns = (bars.open, bars.high, bars.low, bars.close, bars.volume)
    params = DonchianBreakout.parse_params({"channel": 3, "atr_period": 2, "atr_stop": 1.0})
    signals = DonchianBreakout.fast_signals(params, *columns)
    assert np.flatnonzero(signals["long_entry"]).tolist() == [3]
    assert np.flatnonzero(signals["long_exit"]).tolist() == [6, 7]
    assert signals["stop_loss"][3] == 9.75
    far = DonchianBreakout.parse_params({"channel": 3, "atr_period": 2, "atr_stop": 20.0})
    assert math.isnan(DonchianBreakout.fast_signals(far, *columns)["stop_loss"][3])
    late = DonchianBreakout.parse_params({"channel": 5, "atr_period": 2})
    assert not DonchianBreakout.fast_signals(late, *columns)["long_entry"][:5].any()
