"""The kernel's pre-trade gate, by hand: projected position, ATR warm-up, sizing methods,
a session's own-capital rules and the risk engine's verdict."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from trading_strategy.core.enums import OrderType, Side
from trading_strategy.core.instrument import AssetClass, Calendar, Instrument
from trading_strategy.core.orders import OrderIntent
from trading_strategy.kernel.gate import (
    GateView,
    StrategyGate,
    WorkingOrder,
    increases,
    projected_position,
)
from trading_strategy.risk import Account, RiskEngine, RiskSettings

_INST = Instrument("XYZ", tick_size=Decimal("0.01"), lot_size=Decimal("1"),
                   asset_class=AssetClass.CRYPTO, calendar=Calendar.ALWAYS)
_TS = 1_600_000_000 * 10**9


def _gate(**settings: Any) -> tuple[StrategyGate, Account]:
    risk = RiskEngine(RiskSettings(**settings), {"XYZ": _INST})
    account = risk.new_account(equity=1_000_000)
    account.set_last_price("XYZ", 10_000)
    return StrategyGate(risk, "s"), account


def _intent(side: Side = Side.BUY, lots: int = 7, **kw: Any) -> OrderIntent:
    return OrderIntent(client_order_id="o1", strategy="s", symbol="XYZ", side=side, lots=lots,
                       order_type=kw.pop("order_type", OrderType.MARKET), ts_init=_TS,
                       decision_ticks=10_000, **kw)


def _view(position: int = 0, working: tuple[WorkingOrder, ...] = (), **kw: Any) -> GateView:
    return GateView(strategy="s", symbol="XYZ", position=position, working=working,
                    equity_units=kw.pop("equity_units", 1_000_000),
                    price_ticks=kw.pop("price_ticks", 10_000), **kw)


_SELL_MKT_RO = WorkingOrder(Side.SELL, 4, True, OrderType.MARKET)
_SELL_STOP_RO = WorkingOrder(Side.SELL, 10, True, OrderType.STOP)
_BUY_LIMIT = WorkingOrder(Side.BUY, 5, False, OrderType.LIMIT)


def test_projected_position_counts_entries_and_certain_reductions_only() -> None:
    assert projected_position(10, [_SELL_MKT_RO]) == 6  # a reduce-only market will fill
    assert projected_position(10, [_SELL_STOP_RO]) == 10  # a resting stop reduces nothing yet
    assert projected_position(10, [_BUY_LIMIT]) == 15  # entries count as if filled
    # a reduce-only market larger than the position closes it, never reverses it
    assert projected_position(3, [_SELL_MKT_RO]) == 0
    assert projected_position(0, [_SELL_MKT_RO]) == 0
    assert projected_position(-2, [_SELL_MKT_RO, _BUY_LIMIT]) == 3


def test_increases() -> None:
    assert increases(0, Side.SELL) and increases(5, Side.BUY) and increases(-5, Side.SELL)
    assert not increases(5, Side.SELL) and not increases(-5, Side.BUY)


def test_strategy_sizing_passes_the_intent_through() -> None:
    gate, account = _gate()
    decision = gate.decide(_intent(), _view(), account, _TS)
    assert (decision.lots, decision.code) == (7, "accepted")
    assert decision.verdict is not None


def test_an_atr_stop_refuses_entries_until_the_atr_is_known() -> None:
    gate, account = _gate(stop_loss_atr_multiple=2)
    denied = gate.decide(_intent(), _view(atr_ticks=None), account, _TS)
    assert (denied.lots, denied.code, denied.verdict) == (None, "atr_warmup", None)
    assert gate.decide(_intent(), _view(atr_ticks=50.0), account, _TS).lots == 7
    # exits are never held back by the warm-up
    out = gate.decide(_intent(Side.SELL, reduce_only=True), _view(position=7), account, _TS)
    assert out.lots == 7


def test_fixed_fraction_sizes_from_the_equity_at_the_decision_price() -> None:
    gate, account = _gate(sizing_method="fixed_fraction", fixed_fraction_pct=20)
    # floor(1 000 000 × 20 % / 10 000 ticks) = 20 lots, whatever the strategy asked
    decision = gate.decide(_intent(lots=1), _view(), account, _TS)
    assert decision.lots == 20 and decision.intent.lots == 20


def test_volatility_target_sizes_from_the_atr_stop_distance() -> None:
    gate, account = _gate(sizing_method="volatility_target", risk_per_trade_pct=1,
                          stop_loss_atr_multiple=2, check_buying_power=False)
    # ATR 12.6 ticks × 2 → stop distance floor(25.2) = 25 ticks; 1 % of 1 000 000 = 10 000
    # units at risk → floor(10 000 / 25) = 400 lots
    decision = gate.decide(_intent(lots=1), _view(atr_ticks=12.6), account, _TS)
    assert decision.lots == 400


def test_a_sell_after_a_working_close_is_an_entry() -> None:
    # long 10 with a reduce-only market close of 10 working: a further sell opens a short,
    # so the sizing method sizes it (it would keep its size as a reduction)
    gate, account = _gate(sizing_method="fixed_fraction", fixed_fraction_pct=20)
    close = WorkingOrder(Side.SELL, 10, True, OrderType.MARKET)
    decision = gate.decide(_intent(Side.SELL, lots=3), _view(10, (close,)), account, _TS)
    assert decision.lots == 20
    # without the working close it only shrinks the long: kept at 3 lots
    assert gate.decide(_intent(Side.SELL, lots=3), _view(10), account, _TS).lots == 3
    # the account's position is the booked one again afterwards
    assert account.position("s", "XYZ") == 10


def test_zero_size_and_no_price_are_denied_before_the_risk_engine() -> None:
    gate, account = _gate(sizing_method="fixed_fraction", fixed_fraction_pct=0.001)
    zero = gate.decide(_intent(), _view(), account, _TS)
    assert (zero.lots, zero.code) == (None, "zero_size")
    gate, account = _gate(sizing_method="fixed_fraction", fixed_fraction_pct=20)
    none = gate.decide(_intent(), _view(price_ticks=None), account, _TS)
    assert (none.lots, none.code) == (None, "no_price")


def test_a_sessions_own_capital_rules() -> None:
    gate, account = _gate()
    # 7 lots × 10 000 ticks = 70 000 > 69 999 units of cash
    poor = gate.decide(_intent(), _view(cash_units=69_999), account, _TS)
    assert (poor.lots, poor.code) == (None, "insufficient_cash")
    assert gate.decide(_intent(), _view(cash_units=70_000), account, _TS).lots == 7
    # reduce-only is clipped to the strategy's own booked position
    clip = gate.decide(_intent(Side.SELL, lots=9, reduce_only=True),
                       _view(position=4, clip_reduce_only=True), account, _TS)
    assert clip.lots == 4
    nothing = gate.decide(_intent(Side.SELL, reduce_only=True),
                          _view(position=0, clip_reduce_only=True), account, _TS)
    assert (nothing.lots, nothing.code) == (None, "reduce_only")


def test_risk_engine_caps_see_the_projected_position() -> None:
    # max 10 % of 1 000 000 at 10 000 ticks = 10 lots; 5 held and 5 working: nothing left
    gate, account = _gate(max_position_pct=10)
    decision = gate.decide(_intent(lots=3), _view(5, (_BUY_LIMIT,)), account, _TS)
    assert decision.lots is None and decision.code == "max_position"
    resized = gate.decide(_intent(lots=8), _view(5), account, _TS)
    assert (resized.lots, resized.code) == (5, "resized:max_position")
    assert account.open_orders("s") == 0


def test_all_in_size_is_a_cap_only_under_a_position_size_limit() -> None:
    assert _gate()[0].caps_positions is False
    assert _gate(max_daily_loss_pct=0.05)[0].caps_positions is False
    assert _gate(max_position_pct=0.5)[0].caps_positions is True
    assert _gate(max_order_notional=1000)[0].caps_positions is True
    assert _gate(max_leverage=2)[0].caps_positions is True


def test_zero_lots_are_refused_after_sizing_so_a_sizing_method_sizes_them() -> None:
    gate, account = _gate(sizing_method="fixed_fraction", fixed_fraction_pct=20)
    assert gate.decide(_intent(lots=0), _view(), account, _TS).lots == 20
    gate, account = _gate()
    decision = gate.decide(_intent(lots=0), _view(), account, _TS)
    assert decision.lots is None and decision.code == "zero_size"


def test_own_cash_is_checked_only_with_buying_power() -> None:
    # 7 lots × 10 000 ticks = 70 000 units > 50 000 of cash
    gate, account = _gate()
    decision = gate.decide(_intent(), _view(cash_units=50_000), account, _TS)
    assert decision.code == "insufficient_cash"
    gate, account = _gate(check_buying_power=False)
    assert gate.decide(_intent(), _view(cash_units=50_000), account, _TS).lots == 7
