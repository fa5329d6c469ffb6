"""OrderManager without a venue: ids, prepare, apply (journal first), duplicates, rebuild."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from trading_strategy.core.clock import SimulatedClock
from trading_strategy.core.enums import OrderStatus, OrderType, Side
from trading_strategy.core.errors import ConfigError
from trading_strategy.core.fsm import IllegalTransition
from trading_strategy.core.instrument import Instrument
from trading_strategy.core.orders import OrderIntent
from trading_strategy.orders import (
    CorruptJournal,
    DuplicateOrderId,
    InMemoryJournal,
    JournalEntry,
    OrderAccepted,
    OrderCreated,
    OrderEvent,
    OrderFilled,
    OrderInvariantViolated,
    OrderManager,
    OrderSubmitted,
    UnknownOrder,
    explain,
)
from trading_strategy.orders.venues.base import FillReport, StatusReport
from trading_strategy.risk.verdicts import ReasonCode, accepted, rejected, resized

S = OrderStatus
T0 = 1_704_205_800_000_000_000
INSTRUMENTS = {"AAPL": Instrument("AAPL"),
               "BTCUSD": Instrument("BTCUSD", tick_size=Decimal("0.5"),
                                    lot_size=Decimal("0.001"))}


class FailingJournal(InMemoryJournal):
    """Refuses the next append when ``fail`` is set (a database that went away)."""

    __slots__ = ("fail",)

    def __init__(self) -> None:
        super().__init__()
        self.fail = False

    def append(self, event: OrderEvent, from_status: OrderStatus | None,
               to_status: OrderStatus) -> None:
        if self.fail:
            raise OSError("disk full")
        super().append(event, from_status, to_status)


def manager(journal: InMemoryJournal | None = None, **kw: Any) -> OrderManager:
    kw.setdefault("session_id", "s1")
    return OrderManager(InMemoryJournal() if journal is None else journal,
                        clock=SimulatedClock(T0 + 5_000), instruments=INSTRUMENTS, **kw)


def intent(**kw: Any) -> OrderIntent:
    base: dict[str, Any] = {
        "client_order_id": "", "strategy": "sma_crossover", "symbol": "AAPL",
        "side": Side.BUY, "lots": 10, "order_type": OrderType.LIMIT, "limit_ticks": 10_025,
        "ts_init": T0, "decision_ticks": 10_020,
    }
    base.update(kw)
    return OrderIntent(**base)


def ev(cls: type[Any], oid: str, **kw: Any) -> Any:
    return cls(order_id=oid, ts_event=T0 + 10, ts_init=T0 + 11, cause="test",
               actor="venue:test", **kw)


def test_prepare_creates_an_exact_order_with_a_deterministic_id() -> None:
    m = manager()
    order = m.prepare(intent(), accepted(10))
    assert order.id == "sma_crossover-s1-00000001"
    assert (order.status, order.quantity, order.limit_price) == (
        S.CREATED, Decimal(10), Decimal("100.25"))
    assert order.decision_price == Decimal("100.20") and order.id_seq == 1
    assert order.ts_created == T0  # the decision time; ts_init is when we built it
    assert m.prepare(intent(), accepted(5)).id == "sma_crossover-s1-00000002"
    btc = m.prepare(intent(symbol="BTCUSD", lots=3, limit_ticks=84_001), accepted(3))
    assert (btc.quantity, btc.limit_price) == (Decimal("0.003"), Decimal("42000.5"))


def test_prepare_is_idempotent_for_the_same_intent() -> None:
    journal = InMemoryJournal()
    m = manager(journal)
    oid = m.next_client_order_id("sma_crossover")
    first = m.prepare(intent(client_order_id=oid), accepted(10))
    again = m.prepare(intent(client_order_id=oid), accepted(10))
    assert again is first and len(m.orders()) == 1 and len(journal) == 1
    with pytest.raises(DuplicateOrderId):
        m.prepare(intent(client_order_id=oid, side=Side.SELL), accepted(10))


def test_only_risk_accepted_intents_become_orders() -> None:
    journal = InMemoryJournal()
    m = manager(journal)
    with pytest.raises(ValueError, match="not accepted by risk"):
        m.prepare(intent(), rejected(ReasonCode.HALTED, "strategy halted"))
    order = m.prepare(intent(), resized(4, ReasonCode.MAX_POSITION, "cap"))
    assert order.quantity == 4
    created = journal.events()[0].event
    assert created.cause == "risk resized to 4 lots (max_position)"
    assert created.actor == "strategy:sma_crossover"
    with pytest.raises(ConfigError, match="no instrument"):
        m.prepare(intent(symbol="TSLA"), accepted(1))


def test_bad_names_are_refused() -> None:
    with pytest.raises(ConfigError):
        manager(session_id="has space")
    with pytest.raises(ValueError):
        manager().next_client_order_id("a-b")


def test_apply_journals_before_mutating() -> None:
    journal = FailingJournal()
    m = manager(journal)
    oid = m.prepare(intent(), accepted(10)).id
    before = m.get(oid)
    journal.fail = True
    with pytest.raises(OSError, match="disk full"):
        m.apply(ev(OrderSubmitted, oid))
    assert m.get(oid) is before and len(journal) == 1
    journal.fail = False
    assert m.apply(ev(OrderSubmitted, oid))
    assert m.get(oid).status is S.SUBMITTED and len(journal) == 2


def test_the_journal_sees_the_event_while_the_order_is_still_old() -> None:
    seen: list[OrderStatus] = []

    class Spy(InMemoryJournal):
        def append(self, event: OrderEvent, from_status: OrderStatus | None,
                   to_status: OrderStatus) -> None:
            seen.extend(o.status for o in m.orders() if o.id == event.order_id)
            super().append(event, from_status, to_status)

    m = manager(Spy())
    oid = m.prepare(intent(), accepted(10)).id
    m.apply(ev(OrderSubmitted, oid))
    assert seen == [S.CREATED]


def test_illegal_events_raise_and_are_not_journaled() -> None:
    journal = InMemoryJournal()
    m = manager(journal)
    oid = m.prepare(intent(), accepted(10)).id
    with pytest.raises(IllegalTransition):
        m.apply(ev(OrderAccepted, oid, venue_order_id="V"))  # not submitted yet
    with pytest.raises(UnknownOrder):
        m.apply(ev(OrderSubmitted, "nope"))
    assert m.get(oid).status is S.CREATED and len(journal) == 1


def test_duplicate_fill_is_ignored_and_not_journaled() -> None:
    journal = InMemoryJournal()
    m = manager(journal)
    oid = m.prepare(intent(), accepted(10)).id
    for event in (ev(OrderSubmitted, oid), ev(OrderAccepted, oid, venue_order_id="V")):
        m.apply(event)
    fill = ev(OrderFilled, oid, trade_id="T1", quantity=Decimal(4), price=Decimal("100.2"))
    assert m.apply(fill) is True
    assert m.apply(fill) is False
    assert m.apply(ev(OrderFilled, oid, trade_id="T1", quantity=Decimal(6),
                      price=Decimal("1"))) is False  # same trade id counts once
    order = m.get(oid)
    assert (order.filled_quantity, order.status) == (Decimal(4), S.PARTIALLY_FILLED)
    assert len(journal) == 4
    with pytest.raises(OrderInvariantViolated):
        m.apply(ev(OrderFilled, oid, trade_id="T2", quantity=Decimal(7), price=Decimal(1)))


def test_reports_from_the_venue() -> None:
    m = manager()
    oid = m.prepare(intent(), accepted(10)).id
    m.apply(ev(OrderSubmitted, oid))
    fill = FillReport(oid, "V-1", "T1", "AAPL", Side.BUY, Decimal(10), Decimal("100.25"),
                      Decimal("0.05"), T0 + 50)
    assert m.on_report(fill, venue="paper") is True  # submitted → filled: the ack was lost
    assert m.on_report(fill, venue="paper") is False
    assert m.on_report(StatusReport(oid, "V-1", S.FILLED, "", T0 + 60), venue="paper") is False
    order = m.get(oid)
    assert (order.status, order.venue_order_id, order.avg_price) == (
        S.FILLED, "V-1", Decimal("100.25"))
    with pytest.raises(UnknownOrder):
        m.on_report(fill._replace(client_order_id="theirs"), venue="paper")


def test_open_orders_and_get() -> None:
    m = manager()
    a = m.prepare(intent(), accepted(10)).id
    b = m.prepare(intent(strategy="rsi", symbol="BTCUSD"), accepted(1)).id
    c = m.prepare(intent(), accepted(1)).id
    m.apply(ev(OrderSubmitted, c))
    m.apply(ev(OrderAccepted, c, venue_order_id="V"))
    m.apply(ev(OrderFilled, c, trade_id="T", quantity=Decimal(1), price=Decimal(1)))
    assert [o.id for o in m.open_orders()] == [a, b]
    assert [o.id for o in m.open_orders(strategy="rsi")] == [b]
    assert [o.id for o in m.open_orders(symbol="AAPL")] == [a]
    assert [o.id for o in m.orders()] == [a, b, c]
    with pytest.raises(UnknownOrder):
        m.get("missing")


def test_rebuild_equals_live_and_ids_continue_without_reuse() -> None:
    journal = InMemoryJournal()
    live = manager(journal)
    ids = [live.prepare(intent(), accepted(10)).id for _ in range(3)]
    live.apply(ev(OrderSubmitted, ids[0]))
    live.apply(ev(OrderAccepted, ids[0], venue_order_id="V"))
    live.apply(ev(OrderFilled, ids[0], trade_id="T", quantity=Decimal(3), price=Decimal(2)))
    minted_not_used = live.next_client_order_id("sma_crossover")  # dies with the process
    assert minted_not_used.endswith("00000004")

    rebuilt = manager(journal)
    assert rebuilt.orders() == live.orders()
    assert rebuilt.get(ids[0]).trade_ids == {"T"}
    new = rebuilt.prepare(intent(), accepted(1)).id
    assert new == "sma_crossover-s1-00000004" and new not in ids
    # another session on the same journal continues the same sequence
    other = manager(journal, session_id="s2")
    assert other.next_client_order_id("sma_crossover") == "sma_crossover-s2-00000005"


def test_replay_checks_the_recorded_transitions() -> None:
    source = InMemoryJournal()
    oid = manager(source).prepare(intent(), accepted(10)).id
    good = source.events()[0]
    journal = InMemoryJournal()
    journal.append(good.event, None, S.CREATED)
    journal.append(ev(OrderSubmitted, oid), S.CREATED, S.ACCEPTED)  # lies about the target
    with pytest.raises(CorruptJournal, match="seq 2"):
        manager(journal)
    bad = InMemoryJournal()
    bad.append(ev(OrderAccepted, oid, venue_order_id="V"), None, S.ACCEPTED)
    with pytest.raises(CorruptJournal, match="seq 1"):
        manager(bad)
    assert isinstance(good, JournalEntry) and isinstance(good.event, OrderCreated)


def test_explain_through_the_manager() -> None:
    journal = InMemoryJournal()
    m = manager(journal)
    oid = m.prepare(intent(), accepted(10)).id
    m.apply(ev(OrderSubmitted, oid))
    lines = explain(oid, journal)
    assert lines[0].startswith("2024-01-02T14:30:00.000Z  new → created  buy 10 AAPL limit")
    assert lines[1] == ("2024-01-02T14:30:00.000Z  created → submitted  cause=test  "
                        "actor=venue:test")


def test_prepare_sending_to_journals_created_and_submitted_in_one_write() -> None:
    class Counting(InMemoryJournal):
        writes = 0

        def append_many(self, entries):  # type: ignore[no-untyped-def]
            type(self).writes += 1
            super().append_many(entries)

    journal = Counting()
    order = manager(journal).prepare(intent(), accepted(10), sending_to="paper")
    assert order.status.value == "submitted"
    assert Counting.writes == 1
    assert [e.to_status.value for e in journal.events()] == ["created", "submitted"]
