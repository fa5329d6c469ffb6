"""Snapshots of the risk engine's loss-limit state (what a restarted session continues from)."""

from trading_strategy.core.instrument import Instrument
from trading_strategy.risk import RiskEngine, RiskSettings


def test_snapshot_and_restore_carry_the_peak_and_the_state_across_engines() -> None:
    inst = {"X": Instrument("X")}
    first = RiskEngine(RiskSettings(max_drawdown_pct=10), inst)
    day = 86_400 * 10**9
    first.on_equity(1 * day, None, 10_000)
    first.on_equity(2 * day, None, 12_000)  # the peak
    second = RiskEngine(RiskSettings(max_drawdown_pct=10), inst)
    second.restore(first.snapshot())
    # 10% below the remembered peak of 12,000 is 10,800: a fresh engine would not halt here
    changes = second.on_equity(3 * day, None, 10_700)
    assert [c.current.value for c in changes] == ["halted"]
    third = RiskEngine(RiskSettings(max_drawdown_pct=10), inst)
    third.restore(second.snapshot())
    assert third.state(None).value == "halted"
