"""The session's stored journal: venue acks held back to go with the next write."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from trading_strategy.core.enums import OrderStatus, OrderType, Side
from trading_strategy.orders.events import (
    OrderAccepted,
    OrderCreated,
    OrderEvent,
    OrderFilled,
    OrderSubmitted,
)
from trading_strategy.runtime.journal_store import NotifyingJournal, StoredJournal
from trading_strategy.runtime.recorder import EventRecorder
from trading_strategy.storage import open_store

_S = OrderStatus
_OID = "s-sid.1-00000001-1"


def _placed(journal: StoredJournal) -> None:
    created = OrderCreated(order_id=_OID, ts_event=1, ts_init=1, cause="risk accepted",
                           actor="strategy:s", strategy="s", symbol="X", side=Side.BUY,
                           order_type=OrderType.MARKET, quantity=Decimal(1))
    submitted = OrderSubmitted(order_id=_OID, ts_event=1, ts_init=1, cause="sent",
                               actor="om")
    journal.append_many([(created, None, _S.CREATED), (submitted, _S.CREATED, _S.SUBMITTED)])
    journal.append(OrderAccepted(order_id=_OID, ts_event=2, ts_init=2, cause="ack",
                                 actor="venue:paper", venue_order_id="V1"),
                   _S.SUBMITTED, _S.ACCEPTED)


def _kinds(url: str) -> list[str]:
    with open_store(url) as store:  # what another process (a restart) reads
        return [e.event.kind for e in StoredJournal(store.journal, session_id="sid.1").events()]


def test_a_held_ack_goes_with_the_next_write(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    with open_store(url) as store:
        journal = StoredJournal(store.journal, session_id="sid.1")
        journal.defer_acks = True
        _placed(journal)
        assert _kinds(url) == ["created", "submitted"]  # a kill now loses only the ack
        journal.append(OrderFilled(order_id=_OID, ts_event=3, ts_init=3, cause="fill",
                                   actor="venue:paper", trade_id="T1", quantity=Decimal(1),
                                   price=Decimal(10)), _S.ACCEPTED, _S.FILLED)
        assert _kinds(url) == ["created", "submitted", "accepted", "filled"]
        assert [e.seq for e in journal.events()] == [1, 2, 3, 4]


def test_reading_or_flushing_writes_what_is_held(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    with open_store(url) as store:
        journal = StoredJournal(store.journal, session_id="sid.1")
        journal.defer_acks = True
        _placed(journal)
        journal.flush()
        assert _kinds(url) == ["created", "submitted", "accepted"]
        journal.defer_acks = False
        _placed_again = OrderCreated(order_id=_OID + "x", ts_event=4, ts_init=4, cause="c",
                                     actor="strategy:s", strategy="s", symbol="X",
                                     side=Side.SELL, order_type=OrderType.MARKET,
                                     quantity=Decimal(1))
        journal.append(_placed_again, None, _S.CREATED)
        assert journal.last_seq() == 4


def test_the_notifying_journal_tells_each_stored_transition(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    told: list[tuple[str, OrderStatus | None, OrderStatus]] = []

    def listen(event: OrderEvent, before: OrderStatus | None, after: OrderStatus) -> None:
        told.append((event.kind, before, after))

    with open_store(url) as store:
        inner = StoredJournal(store.journal, session_id="sid.1")
        journal = NotifyingJournal(inner, listen)
        _placed(inner)  # not through the notifying journal: not told
        assert told == [] and journal.count == 0
        journal.append(OrderFilled(order_id=_OID, ts_event=3, ts_init=3, cause="fill",
                                   actor="venue:paper", trade_id="T1", quantity=Decimal(1),
                                   price=Decimal(10)), _S.ACCEPTED, _S.FILLED)
        assert told == [("filled", _S.ACCEPTED, _S.FILLED)] and journal.count == 1
        assert journal.last_seq() == 4


class _Files:
    def __init__(self, root: Path) -> None:
        self.root = root

    def event(self, kind: str, data: dict[str, object]) -> None:
        pass


def test_the_recorders_events_go_in_the_journals_next_transaction(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    with open_store(url) as store, open_store(f"sqlite:///{tmp_path / 'other.sqlite3'}") \
            as other:
        recorder = EventRecorder(_Files(tmp_path), store.events)
        journal = StoredJournal(store.journal, session_id="sid.1")
        assert not journal.take_events_from(EventRecorder(_Files(tmp_path), other.events))
        assert journal.take_events_from(recorder)
        recorder("risk_verdict", {"strategy": "s", "status": "accepted", "order_id": _OID})
        recorder("strategy_event", {"component": "s", "from": "starting", "to": "running"})
        _placed(journal)  # the verdict is committed with the order it allowed
        assert [e.client_order_id for e in store.events.list_risk_events()] == [_OID]
        assert [e.to_state for e in store.events.list_strategy_events()] == ["running"]
        recorder.flush()  # nothing left for a transaction of its own
        assert len(store.events.list_risk_events()) == 1
