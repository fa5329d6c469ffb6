"""Stops and take-profits in ticks, pinned by hand-computed cases."""

from __future__ import annotations

from decimal import Decimal

import pytest

from trading_strategy.core.enums import Side
from trading_strategy.core.orders import Bracket
from trading_strategy.risk.settings import RiskSettings
from trading_strategy.risk.stop_loss import (
    StopRules,
    atr_in_ticks,
    atr_stop,
    atr_take_profit,
    bracket_for_entry,
    fixed_pct_stop,
    fixed_pct_take_profit,
    time_exit_due,
    trail_stop,
    update_trailing,
)

BUY, SELL = Side.BUY, Side.SELL
HOUR = 3600 * 1_000_000_000


def test_fixed_pct_stop() -> None:
    # 2 % of 10 050 = 201.0 → stop 10 050 − 201 = 9 849 (long), 10 251 (short)
    assert fixed_pct_stop(BUY, 10_050, 2) == 9_849
    assert fixed_pct_stop(SELL, 10_050, 2) == 10_251
    # 2 % of 10 030 = 200.6 → distance rounded down to 200 (loss never above 2 %)
    assert fixed_pct_stop(BUY, 10_030, 2) == 9_830
    # 2 % of 30 = 0.6 → 0 ticks; a stop is at least 1 tick away
    assert fixed_pct_stop(BUY, 30, 2) == 29


def test_atr_stop() -> None:
    # 123.4 ticks × 2 = 246.8 → 246 → 10 000 − 246 = 9 754
    assert atr_stop(BUY, 10_000, 123.4, 2.0) == 9_754
    assert atr_stop(SELL, 10_000, 123.4, 2.0) == 10_246
    assert atr_stop(BUY, 100, 500.0, 1.0) == 0  # never below 0


def test_take_profit() -> None:
    # 4 % of 10 050 = 402.0 → 10 452
    assert fixed_pct_take_profit(BUY, 10_050, 4) == 10_452
    # 4 % of 10 055 = 402.2 → rounded up to 403 (gain at least 4 %): 10 458 / 9 652
    assert fixed_pct_take_profit(BUY, 10_055, 4) == 10_458
    assert fixed_pct_take_profit(SELL, 10_055, 4) == 9_652
    # 123.4 × 3 = 370.2 → 371 → 10 371
    assert atr_take_profit(BUY, 10_000, 123.4, 3.0) == 10_371


def test_trailing_stop_only_tightens() -> None:
    # long, high 10 400, 3 %: 10 400 − 312 = 10 088 > 9 800
    assert trail_stop(BUY, 9_800, 10_400, 10_100, pct=3) == 10_088
    # next bar high 10 200: 10 200 − 306 = 9 894 < 10 088: stays
    assert trail_stop(BUY, 10_088, 10_200, 9_950, pct=3) == 10_088
    # short, low 9 600, 3 %: 9 600 + 288 = 9 888 < 10 200
    assert trail_stop(SELL, 10_200, 9_900, 9_600, pct=3) == 9_888
    assert trail_stop(SELL, 9_888, 9_990, 9_700, pct=3) == 9_888  # 9 700 + 291 = 9 991
    # ATR: 100.5 × 2 = 201 → 10 400 − 201 = 10 199
    assert trail_stop(BUY, None, 10_400, 10_000, atr_ticks=100.5, atr_multiple=2) == 10_199
    with pytest.raises(ValueError):
        trail_stop(BUY, None, 10_400, 10_000)


def test_time_exit() -> None:
    assert not time_exit_due(entry_bar=10, bar=14, entry_ts_ns=0, ts_ns=0, max_bars=5)
    assert time_exit_due(entry_bar=10, bar=15, entry_ts_ns=0, ts_ns=0, max_bars=5)
    assert not time_exit_due(entry_bar=0, bar=0, entry_ts_ns=0, ts_ns=HOUR - 1,
                             max_duration_ns=HOUR)
    assert time_exit_due(entry_bar=0, bar=0, entry_ts_ns=0, ts_ns=HOUR, max_duration_ns=HOUR)
    assert not time_exit_due(entry_bar=0, bar=100, entry_ts_ns=0, ts_ns=10 * HOUR)


def rules(**kw: object) -> StopRules:
    return StopRules.from_settings(RiskSettings(**kw).for_strategy(None))


def test_bracket_for_entry() -> None:
    assert bracket_for_entry(rules(), BUY, 10_050) is None
    pct = rules(stop_loss_pct=2, take_profit_pct=4)
    assert bracket_for_entry(pct, BUY, 10_050) == Bracket(stop_loss=9_849, take_profit=10_452)
    assert bracket_for_entry(pct, SELL, 10_050) == Bracket(stop_loss=10_251,
                                                           take_profit=9_648)
    atr = rules(stop_loss_atr_multiple=2, take_profit_atr_multiple=3)
    assert atr.needs_atr
    assert bracket_for_entry(atr, BUY, 10_000, 123.4) == Bracket(9_754, 10_371)
    with pytest.raises(ValueError, match="ATR"):
        bracket_for_entry(atr, BUY, 10_000, None)
    # a trailing rule alone sets the initial stop at the trailing distance: 3 % of 10 000
    assert bracket_for_entry(rules(trailing_stop_pct=3), BUY, 10_000) == Bracket(9_700, None)


def test_update_trailing_and_time_rules() -> None:
    trailing = rules(trailing_stop_pct=3)
    assert update_trailing(trailing, BUY, 9_700, 10_400, 10_100) == 10_088
    assert update_trailing(rules(), BUY, 9_700, 10_400, 10_100) is None
    atr = rules(trailing_stop_atr_multiple=2)
    assert update_trailing(atr, BUY, 9_700, 10_400, 10_100, None) == 9_700  # no ATR yet
    timed = rules(time_exit_bars=5, time_exit_after="4h")
    assert timed.has_time_exit and timed.time_exit_ns == 4 * HOUR
    assert atr_in_ticks(float("nan"), Decimal("0.01")) is None
    assert atr_in_ticks(1.25, Decimal("0.01")) == pytest.approx(125.0)
