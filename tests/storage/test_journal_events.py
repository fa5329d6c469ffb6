"""Orders, the append-only journal, fills, positions, risk and strategy events."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import text

from trading_strategy.core.enums import OrderStatus, OrderType, Side
from trading_strategy.storage import (
    FillRecord,
    OrderEventRecord,
    OrderRecord,
    PositionRecord,
    RiskEventRecord,
    Store,
    StrategyEventRecord,
)

T0 = 1_700_000_000_000_000_000


def _order(status: OrderStatus, filled: str = "0", ts: int = T0) -> OrderRecord:
    return OrderRecord(id="o-1", strategy="sma", symbol="GOOG", side=Side.BUY,
                       order_type=OrderType.LIMIT, quantity=Decimal("10"), status=status,
                       ts_init=T0, limit_price=Decimal("101.25"),
                       filled_quantity=Decimal(filled), ts_last=ts)


def test_order_transitions_are_journaled_in_order(store: Store) -> None:
    journal = store.journal
    journal.record_transition(_order(OrderStatus.SUBMITTED), OrderEventRecord(
        "o-1", T0, T0 + 5, OrderStatus.SUBMITTED, "strategy intent", "order_manager"))
    journal.record_transition(
        _order(OrderStatus.FILLED, "10", T0 + 1_000_000),
        OrderEventRecord("o-1", T0 + 1_000_000, T0 + 1_001_000, OrderStatus.FILLED, "fill",
                         "venue", from_status=OrderStatus.SUBMITTED, detail={"fill": "f-1"}))
    order = journal.get_order("o-1")
    assert order is not None
    assert (order.status, order.filled_quantity, order.limit_price) == (
        "filled", Decimal("10"), Decimal("101.25"))
    assert order.ts_init == T0 and order.ts_last == T0 + 1_000_000
    events = journal.order_events("o-1")
    assert [(e.from_status, e.to_status, e.actor) for e in events] == [
        (None, "submitted", "order_manager"), ("submitted", "filled", "venue")]
    assert events[1].detail == {"fill": "f-1"} and events[1].ts_init == T0 + 1_001_000
    assert [o.id for o in journal.orders(status="filled")] == ["o-1"]


def test_order_events_are_append_only(store: Store) -> None:
    store.journal.record_transition(_order(OrderStatus.SUBMITTED), OrderEventRecord(
        "o-1", T0, T0, OrderStatus.SUBMITTED, "intent", "om"))
    for sql in ("UPDATE order_events SET cause = 'rewritten'", "DELETE FROM order_events"):
        with pytest.raises(Exception, match="append-only"), store.engine.begin() as connection:
            connection.execute(text(sql))
    assert store.journal.order_events("o-1")[0].cause == "intent"


def test_fills_are_idempotent_and_positions_upsert(store: Store) -> None:
    store.journal.save_order(_order(OrderStatus.SUBMITTED))
    fill = FillRecord("f-1", "o-1", "sma", "GOOG", Side.BUY, Decimal("10"), Decimal("101.2"),
                      Decimal("0.5"), T0 + 10, T0 + 11)
    assert store.journal.record_fill(fill) is True
    assert store.journal.record_fill(fill) is False
    assert [f.price for f in store.journal.fills(order_id="o-1")] == [Decimal("101.2")]

    position = PositionRecord("paper", "sma", "GOOG", Decimal("10"), Decimal("101.2"),
                              Decimal("0"), T0 + 10)
    store.journal.save_position(position)
    store.journal.save_position(PositionRecord("paper", "sma", "GOOG", Decimal("0"),
                                               Decimal("0"), Decimal("12.5"), T0 + 20))
    assert store.journal.positions() == []
    flat = store.journal.positions(include_flat=True)
    assert [(p.quantity, p.realized_pnl) for p in flat] == [(Decimal("0"), Decimal("12.5"))]


def test_risk_and_strategy_events(store: Store) -> None:
    events = store.events
    events.save_risk_event(RiskEventRecord(T0, "sma", "accepted", "within limits", "GOOG"))
    events.save_risk_event(RiskEventRecord(T0 + 1000, "sma", "rejected", "daily loss limit",
                                           "GOOG", "o-2", "HALTED", {"loss": "-512.30"}))
    events.save_risk_event(RiskEventRecord(T0 + 2000, "rsi", "resized", "max position", "IBM"))
    newest = events.list_risk_events(strategy="sma")
    assert [(e.verdict, e.reason) for e in newest] == [("rejected", "daily loss limit"),
                                                       ("accepted", "within limits")]
    assert newest[0].detail == {"loss": "-512.30"} and newest[0].trading_state == "HALTED"
    assert [e.strategy for e in events.list_risk_events(since_ns=T0 + 1000)] == ["rsi", "sma"]

    events.save_strategy_event(StrategyEventRecord(T0, "sma", "running", "started",
                                                   from_state="starting"))
    events.save_strategy_event(StrategyEventRecord(T0 + 5, "sma", "degraded", "data stale"))
    listed = events.list_strategy_events(strategy="sma", limit=1)
    assert [(e.to_state, e.reason) for e in listed] == [("degraded", "data stale")]


def test_a_fill_is_recorded_with_its_transition(store: Store) -> None:
    fill = FillRecord("o-1/t-1", "o-1", "sma", "GOOG", Side.BUY, Decimal("10"),
                      Decimal("101.2"), Decimal("0"), T0 + 10_000)
    event = OrderEventRecord("o-1", T0 + 10_000, T0 + 10_000, OrderStatus.FILLED, "fill", "venue")
    first = store.journal.record_transition(_order(OrderStatus.FILLED, "10"), event, fill=fill)
    second = store.journal.record_transition(_order(OrderStatus.FILLED, "10"), event, fill=fill)
    assert second > first
    fills = store.journal.fills(strategy="sma")
    assert len(fills) == 1 and fills[0].ts_init == T0 + 10_000


def test_a_batch_of_events_is_saved_in_one_call_and_listed_like_single_ones(
        store: Store) -> None:
    store.events.save_events(
        risk=[RiskEventRecord(ts_event=1_000, strategy="s", verdict="rejected",
                              reason="max_position_pct", symbol="AAPL",
                              client_order_id=f"o{k}", detail={"k": k}) for k in range(3)],
        strategy=[StrategyEventRecord(ts_event=2_000, strategy="s", to_state="running",
                                      from_state="starting", reason="", detail={})])
    store.events.save_events()  # nothing to write is no transaction and no error
    risk = store.events.list_risk_events(strategy="s")
    assert sorted(e.client_order_id or "" for e in risk) == ["o0", "o1", "o2"]
    assert [e.detail for e in sorted(risk, key=lambda e: e.client_order_id or "")] == [
        {"k": 0}, {"k": 1}, {"k": 2}]
    [life] = store.events.list_strategy_events(strategy="s")
    assert (life.from_state, life.to_state) == ("starting", "running")


def test_the_events_of_a_sessions_orders_come_in_one_list(store: Store) -> None:
    """``events_of_orders``: the orders of one mode whose id holds the text exactly (case
    and ``_`` / ``%`` taken literally, though SQL's LIKE would not), in writing order."""
    journal = store.journal
    ids = [("x-A_b-1", "paper"), ("x-a_b-2", "paper"), ("x-AXb-3", "paper"),
           ("x-A%b-4", "paper"), ("x-A_b-5", "live"), ("y-A_b-6", "paper")]
    for k, (oid, mode) in enumerate(ids):
        order = OrderRecord(id=oid, strategy="sma", symbol="GOOG", side=Side.BUY,
                            order_type=OrderType.MARKET, quantity=Decimal("1"),
                            status=OrderStatus.SUBMITTED, ts_init=T0 + k, mode=mode)
        journal.record_transition(order, OrderEventRecord(
            oid, T0 + k, T0 + k, OrderStatus.SUBMITTED, "intent", "om", detail={"k": k}))
    journal.record_transition(
        OrderRecord(id="x-A_b-1", strategy="sma", symbol="GOOG", side=Side.BUY,
                    order_type=OrderType.MARKET, quantity=Decimal("1"),
                    status=OrderStatus.FILLED, ts_init=T0, filled_quantity=Decimal("1")),
        OrderEventRecord("x-A_b-1", T0 + 9, T0 + 9, OrderStatus.FILLED, "fill", "venue",
                         from_status=OrderStatus.SUBMITTED))
    found = journal.events_of_orders(mode="paper", id_contains="-A_b-")
    assert [(e.order_id, e.to_status) for e in found] == [
        ("x-A_b-1", "submitted"), ("y-A_b-6", "submitted"), ("x-A_b-1", "filled")]
    assert [e for e in found if e.order_id == "x-A_b-1"] == journal.order_events("x-A_b-1")
    assert len(journal.events_of_orders()) == len(ids) + 1
