"""The shortcuts of the per-order path answer exactly what the long way answers: the gate
puts the booked position back in the account, a bracket with no exit rule is None, the
account's exposures, and the shared accepted verdicts."""

from __future__ import annotations

from decimal import Decimal

import pytest

from trading_strategy.core.enums import OrderType, Side
from trading_strategy.core.instrument import AssetClass, Calendar, Instrument
from trading_strategy.core.orders import Bracket, OrderIntent
from trading_strategy.kernel.gate import GateView, StrategyGate, WorkingOrder
from trading_strategy.kernel.protections import Protections
from trading_strategy.risk import Account, RiskEngine, RiskSettings, StopRules
from trading_strategy.risk.verdicts import Verdict, VerdictStatus, accepted

_INST = Instrument("XYZ", tick_size=Decimal("0.01"), lot_size=Decimal("1"),
                   asset_class=AssetClass.CRYPTO, calendar=Calendar.ALWAYS)
_TS = 1_600_000_000 * 10**9


def _intent(side: Side, lots: int) -> OrderIntent:
    return OrderIntent(client_order_id="o1", strategy="s", symbol="XYZ", side=side, lots=lots,
                       order_type=OrderType.MARKET, ts_init=_TS, decision_ticks=10_000)


@pytest.mark.parametrize("working", [(), (WorkingOrder(Side.BUY, 5, False, OrderType.LIMIT),)])
def test_the_gate_leaves_the_booked_position_in_the_account(
        working: tuple[WorkingOrder, ...]) -> None:
    risk = RiskEngine(RiskSettings(max_position_pct=50), {"XYZ": _INST})
    account = risk.new_account(equity=1_000_000)
    account.set_last_price("XYZ", 10_000)
    account.set_position("s", "XYZ", 99)  # stale: the gate must leave the booked 3 lots
    gate = StrategyGate(risk, "s")
    view = GateView("s", "XYZ", 3, working, 1_000_000, 10_000)
    decision = gate.decide(_intent(Side.BUY, 2), view, account, _TS)
    assert decision.lots == 2
    assert account.position("s", "XYZ") == 3
    assert account.gross_position("XYZ") == 3
    assert account.open_orders("s") == len(working)


def test_a_bracket_without_exit_rules_is_none_and_with_one_is_set() -> None:
    assert Protections(StopRules()).bracket(Side.BUY, 10_000, None) is None
    assert Protections(StopRules(time_exit_bars=5)).bracket(Side.BUY, 10_000, None) is None
    own = Bracket(stop_loss=9_000, take_profit=None)
    assert Protections(StopRules()).bracket(Side.BUY, 10_000, None, own) is own
    made = Protections(StopRules(take_profit_pct=10)).bracket(Side.BUY, 10_000, None)
    assert made == Bracket(stop_loss=None, take_profit=11_000)


def test_exposures_sum_priced_nonzero_positions_only() -> None:
    account = Account(value_factors={"B": 3})
    account.set_position("s", "A", -4)
    account.set_position("s", "B", 2)
    account.set_position("s", "C", 7)  # no last price yet: counts 0
    account.set_position("t", "A", 1)
    account.set_position("t", "B", 0)
    account.set_last_price("A", 100)
    account.set_last_price("B", 50)
    assert account.strategy_exposure("s") == 4 * 100 + 2 * 50 * 3
    assert account.strategy_exposure("t") == 100
    assert account.strategy_exposure("nobody") == 0
    assert account.gross_exposure() == 5 * 100 + 2 * 50 * 3


def test_accepted_verdicts_are_equal_whether_shared_or_not() -> None:
    assert accepted(3) == Verdict(VerdictStatus.ACCEPTED, 3)
    assert accepted(3) is accepted(3)
    big = 10**12 + 7  # past the shared sizes, or not: the same value either way
    assert accepted(big) == Verdict(VerdictStatus.ACCEPTED, big)
