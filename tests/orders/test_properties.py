"""Property tests: random event sequences (legal or not, with duplicate fills and a journal
that sometimes fails) against the manager's invariants, and rebuild == live."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from trading_strategy.core.clock import SimulatedClock
from trading_strategy.core.enums import OrderStatus, OrderType, Side
from trading_strategy.core.fsm import IllegalTransition
from trading_strategy.core.instrument import Instrument
from trading_strategy.core.orders import OrderIntent
from trading_strategy.orders import (
    ORDER_TRANSITIONS,
    InMemoryJournal,
    ManagedOrder,
    OrderAccepted,
    OrderCancelled,
    OrderCancelRejected,
    OrderCancelRequested,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderInvariantViolated,
    OrderManager,
    OrderRejected,
    OrderSubmitted,
    decode,
    encode,
    replay,
    target_status,
)
from trading_strategy.risk.verdicts import accepted

S = OrderStatus
T0 = 1_704_205_800_000_000_000
INST = Instrument("XYZ", tick_size=Decimal("0.01"), lot_size=Decimal("0.5"))
KINDS = ["submitted", "accepted", "rejected", "filled", "filled", "filled",
         "cancel_requested", "cancel_rejected", "cancelled", "expired"]


def _reachable() -> set[OrderStatus]:
    seen, todo = {S.CREATED}, [S.CREATED]
    while todo:
        for nxt in ORDER_TRANSITIONS.targets(todo.pop()) - seen:
            seen.add(nxt)
            todo.append(nxt)
    return seen


REACHABLE = _reachable()


class FlakyJournal(InMemoryJournal):
    __slots__ = ("fail",)

    def __init__(self) -> None:
        super().__init__()
        self.fail = False

    def append(self, event: OrderEvent, from_status: OrderStatus | None,
               to_status: OrderStatus) -> None:
        if self.fail:
            raise OSError("database went away")
        super().append(event, from_status, to_status)


def make_event(kind: str, oid: str, step: int, qty_halves: int, trade: str,
               ticks: int) -> OrderEvent:
    env: dict[str, Any] = {"order_id": oid, "ts_event": T0 + step, "ts_init": T0 + step + 1,
                           "cause": f"step {step}", "actor": "venue:prop"}
    if kind == "filled":
        return OrderFilled(**env, trade_id=trade, quantity=Decimal(qty_halves) / 2,
                           price=Decimal(ticks) / 100, commission=Decimal("0.01"),
                           venue_order_id="V")
    simple: dict[str, OrderEvent] = {
        "submitted": OrderSubmitted(**env),
        "accepted": OrderAccepted(**env, venue_order_id=f"V-{oid}"),
        "rejected": OrderRejected(**env, reason="no"),
        "cancel_requested": OrderCancelRequested(**env),
        "cancel_rejected": OrderCancelRejected(**env, reason="late"),
        "cancelled": OrderCancelled(**env),
        "expired": OrderExpired(**env),
    }
    return simple[kind]


STEP = st.tuples(
    st.integers(0, 2),                                 # which order
    st.sampled_from(KINDS),                            # event kind, if not steered
    st.integers(1, 12),                                # fill quantity in half units
    st.sampled_from(["T0", "T1", "T2", "T3", "T4"]),   # repeats are duplicates
    st.integers(1, 99_999),                            # fill price in ticks
    st.integers(0, 9),                                 # 0: the journal fails this append
    st.integers(0, 3),                                 # 0: any kind; else a legal one
)


def steer(order: ManagedOrder, kind: str, halves: int, trade: str, ticks: int,
          pick: int) -> tuple[str, int]:
    """Mostly pick a kind the table allows from the order's status, so that random sequences
    reach deep states; sometimes keep the random (often illegal) one. A steered fill takes
    the whole remainder one time in three."""
    if pick == 0:
        return kind, halves
    if pick == 3 and order.remaining_quantity > 0:
        halves = int(order.remaining_quantity * 2)
    legal = sorted({
        k for k in KINDS
        if ORDER_TRANSITIONS.allowed(
            order.status, target_status(make_event(k, order.id, 0, halves, trade, ticks), order))
    })
    return (legal[ticks % len(legal)] if legal else kind), halves


def check_invariants(order: ManagedOrder) -> None:
    assert order.status in REACHABLE
    assert Decimal(0) <= order.filled_quantity <= order.quantity
    assert (order.status is S.FILLED) == (order.filled_quantity == order.quantity)
    if order.status is S.PARTIALLY_FILLED:
        assert 0 < order.filled_quantity < order.quantity
    assert len(order.trade_ids) <= order.event_count


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_random_event_sequences_keep_the_invariants_and_rebuild(data: st.DataObject) -> None:
    journal = FlakyJournal()
    m = OrderManager(journal, session_id="p", clock=SimulatedClock(T0),
                     instruments={"XYZ": INST})
    ids = [m.prepare(OrderIntent("", "prop", "XYZ", Side.BUY, 10, OrderType.MARKET),
                     accepted(10)).id for _ in range(3)]  # quantity 5.0 each
    terminal: dict[str, ManagedOrder] = {}

    for step in range(data.draw(st.integers(0, 60), label="steps")):
        which, kind, halves, trade, ticks, fail, pick = data.draw(STEP)
        oid = ids[which]
        before, n_before = m.get(oid), len(journal)
        kind, halves = steer(before, kind, halves, trade, ticks, pick)
        journal.fail = fail == 0
        event = make_event(kind, oid, step, halves, trade, ticks)
        try:
            changed = m.apply(event)
        except (IllegalTransition, OrderInvariantViolated, OSError):
            assert m.get(oid) is before and len(journal) == n_before  # nothing happened
        else:
            after = m.get(oid)
            if changed:
                assert ORDER_TRANSITIONS.allowed(before.status, after.status)
                assert not before.is_terminal
                assert len(journal) == n_before + 1
                assert journal.events()[-1][1:] == (event, before.status, after.status)
            else:  # a duplicate fill: ignored, journaled as nothing
                assert isinstance(event, OrderFilled) and event.trade_id in before.trade_ids
                assert after is before and len(journal) == n_before
        finally:
            journal.fail = False
        for order in m.orders():
            check_invariants(order)
            if order.id in terminal:
                assert order == terminal[order.id]  # terminal states never change
            elif order.is_terminal:
                terminal[order.id] = order

    live = {o.id: o for o in m.orders()}
    rebuilt = OrderManager(journal, session_id="p", clock=SimulatedClock(T0),
                           instruments={"XYZ": INST})
    assert {o.id: o for o in rebuilt.orders()} == live
    assert rebuilt.next_client_order_id("prop") == "prop-p-00000004"

    # and through the codec, as the SQL journal will store it
    stored = InMemoryJournal()
    for entry in journal.events():
        stored.append(decode(json.loads(json.dumps(encode(entry.event)))),
                      entry.from_status, entry.to_status)
    assert replay(stored.events()) == live


@settings(max_examples=200, deadline=None)
@given(fills=st.lists(st.tuples(st.integers(1, 4), st.integers(1, 99_999)), min_size=1,
                      max_size=8))
def test_fill_accounting_is_exact(fills: list[tuple[int, int]]) -> None:
    m = OrderManager(InMemoryJournal(), session_id="p", clock=SimulatedClock(T0),
                     instruments={"XYZ": INST})
    total_halves = sum(q for q, _ in fills)
    oid = m.prepare(OrderIntent("", "prop", "XYZ", Side.SELL, total_halves, OrderType.MARKET),
                    accepted(total_halves)).id
    m.apply(make_event("submitted", oid, 0, 0, "", 0))
    for i, (q, ticks) in enumerate(fills):
        m.apply(make_event("filled", oid, i + 1, q, f"T{i}", ticks))
    order = m.get(oid)
    # in integer units: quantity in half lots, price in ticks → notional in 1/200ths
    expected_units = sum(q * t for q, t in fills)
    assert order.notional * 200 == expected_units
    assert order.status is S.FILLED and order.filled_quantity == Decimal(total_halves) / 2
    assert order.commission == Decimal("0.01") * len(fills)
    avg = order.avg_price
    assert avg is not None and abs(avg * order.filled_quantity - order.notional) < Decimal(
        "1e-20")
