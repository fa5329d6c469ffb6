"""The in-memory journal, the JSON codec (stable format for the SQL journal) and explain()."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from trading_strategy.core.enums import OrderStatus, OrderType, Side, TimeInForce
from trading_strategy.orders import (
    CODEC_VERSION,
    CorruptJournal,
    InMemoryJournal,
    Journal,
    JournalEntry,
    OrderAccepted,
    OrderCancelled,
    OrderCancelRejected,
    OrderCancelRequested,
    OrderCreated,
    OrderDenied,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
    decode,
    encode,
    explain,
)

S = OrderStatus
T0 = int(datetime(2024, 1, 2, 14, 30, tzinfo=UTC).timestamp()) * 1_000_000_000
MS = 1_000_000


def env(ms: int, cause: str, actor: str, oid: str = "sma-s1-00000001") -> dict[str, Any]:
    return {"order_id": oid, "ts_event": T0 + ms * MS, "ts_init": T0 + ms * MS + 7,
            "cause": cause, "actor": actor}


CREATED = OrderCreated(
    **env(0, "risk accepted", "strategy:sma_crossover"), strategy="sma_crossover",
    symbol="AAPL", side=Side.BUY, order_type=OrderType.LIMIT, quantity=Decimal("10"),
    limit_price=Decimal("100.50"), tif=TimeInForce.DAY, decision_price=Decimal("100.40"),
    id_seq=1,
)
ALL_KINDS: list[OrderEvent] = [
    CREATED,
    OrderCreated(**env(0, "c", "operator:alice", "x"), strategy="s", symbol="BTCUSD",
                 side=Side.SELL, order_type=OrderType.STOP_LIMIT, quantity=Decimal("0.0010"),
                 limit_price=Decimal("41999.5"), stop_price=Decimal("42000.0"),
                 reduce_only=True, parent_id="sma-s1-00000001"),
    OrderSubmitted(**env(1, "sent to venue:paper", "order-manager")),
    OrderAccepted(**env(2, "venue accepted the order", "venue:paper"), venue_order_id="P-7"),
    OrderRejected(**env(2, "venue rejected the order", "venue:paper"), reason="no funds"),
    OrderFilled(**env(3, "venue fill", "venue:paper"), trade_id="T-1", quantity=Decimal("4"),
                price=Decimal("100.50"), commission=Decimal("-0.0040"), liquidity="maker",
                venue_order_id="P-7"),
    OrderCancelRequested(**env(4, "risk halted the strategy", "risk")),
    OrderCancelRejected(**env(5, "venue refused the cancel", "venue:paper"), reason="late"),
    OrderCancelled(**env(6, "venue cancelled the order", "venue:paper")),
    OrderExpired(**env(7, "venue expired: DAY", "venue:paper")),
    OrderDenied(**env(0, "risk denied the order", "risk"), reason="max_position: too big"),
    OrderFilled(**env(3, "venue fill", "venue:paper"), trade_id="T-2", quantity=Decimal("8"),
                price=Decimal("100.50"), order_quantity=Decimal("8")),
    OrderCreated(**env(0, "c", "strategy:s", "y"), strategy="s", symbol="AAPL",
                 side=Side.BUY, order_type=OrderType.MARKET, quantity=Decimal("12"),
                 size_at_fill=True, quantity_is_cap=False),
]


def test_in_memory_journal_is_append_only_and_ordered() -> None:
    journal: Journal = InMemoryJournal()
    assert journal.last_seq() == 0 and journal.events() == []
    journal.append(CREATED, None, S.CREATED)
    other = OrderSubmitted(**env(1, "sent", "order-manager", "other"))
    journal.append(other, S.CREATED, S.SUBMITTED)
    journal.append(ALL_KINDS[2], S.CREATED, S.SUBMITTED)
    assert journal.last_seq() == 3
    assert [e.seq for e in journal.events()] == [1, 2, 3]
    assert journal.events("sma-s1-00000001") == [
        JournalEntry(1, CREATED, None, S.CREATED),
        JournalEntry(3, ALL_KINDS[2], S.CREATED, S.SUBMITTED),
    ]
    assert [e.seq for e in journal.events(since_seq=1)] == [2, 3]
    assert [e.seq for e in journal.events("sma-s1-00000001", since_seq=1)] == [3]
    assert journal.events("nobody") == []
    # no way to change the past: the only writer is append, and reads are copies
    public = {n for n in dir(InMemoryJournal) if not n.startswith("_")}
    assert public == {"append", "append_many", "events", "last_seq"}  # no update, no delete
    journal.events().clear()
    assert journal.last_seq() == 3 and len(journal.events()) == 3


@pytest.mark.parametrize("event", ALL_KINDS, ids=[f"{e.kind}-{i}" for i, e in enumerate(ALL_KINDS)])
def test_codec_round_trips_through_json(event: OrderEvent) -> None:
    data = json.loads(json.dumps(encode(event)))
    back = decode(data)
    assert back == event and type(back) is type(event)
    for name in ("quantity", "price", "commission", "limit_price"):
        value = getattr(event, name, None)
        if value is not None:
            assert str(getattr(back, name)) == str(value)  # trailing zeros kept


def test_codec_format_is_the_documented_one() -> None:
    assert encode(ALL_KINDS[5]) == {
        "v": 1, "kind": "filled", "order_id": "sma-s1-00000001",
        "ts_event": T0 + 3 * MS, "ts_init": T0 + 3 * MS + 7, "cause": "venue fill",
        "actor": "venue:paper", "trade_id": "T-1", "quantity": "4", "price": "100.50",
        "commission": "-0.0040", "liquidity": "maker", "venue_order_id": "P-7",
        "order_quantity": None,
    }
    assert encode(CREATED) == {
        "v": 1, "kind": "created", "order_id": "sma-s1-00000001", "ts_event": T0,
        "ts_init": T0 + 7, "cause": "risk accepted", "actor": "strategy:sma_crossover",
        "strategy": "sma_crossover", "symbol": "AAPL", "side": "buy", "order_type": "limit",
        "quantity": "10", "limit_price": "100.50", "stop_price": None, "tif": "DAY",
        "reduce_only": False, "decision_price": "100.40", "id_seq": 1,
        "stop_loss": None, "take_profit": None, "size_at_fill": False,
            "quantity_is_cap": True, "parent_id": None,
    }
    assert CODEC_VERSION == 1
    kinds = {encode(e)["kind"] for e in ALL_KINDS}
    assert kinds == {"created", "submitted", "accepted", "rejected", "denied", "filled",
                     "cancel_requested", "cancel_rejected", "cancelled", "expired"}


def test_codec_defaults_let_older_records_decode() -> None:
    data = encode(ALL_KINDS[5])
    for optional in ("commission", "liquidity", "venue_order_id"):
        del data[optional]
    back = decode(data)
    assert isinstance(back, OrderFilled)
    assert (back.commission, back.liquidity, back.venue_order_id) == (Decimal(0), "taker", "")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"v": 2}, "version"),
        ({"kind": "teleported"}, "unknown order event kind"),
        ({"colour": "red"}, "unknown keys"),
        ({"quantity": "abc"}, "bad 'quantity'"),
        ({"quantity": "NaN"}, "bad 'quantity'"),
        ({"quantity": 4}, "bad 'quantity'"),  # decimals travel as strings, never numbers
        ({"price": None}, "bad 'price'"),
        ({"ts_event": True}, "bad 'ts_event'"),
        ({"ts_event": "1"}, "bad 'ts_event'"),
        ({"trade_id": 7}, "bad 'trade_id'"),
    ],
)
def test_decode_refuses_corrupt_records(change: dict[str, Any], message: str) -> None:
    data = {**encode(ALL_KINDS[5]), **change}
    with pytest.raises(CorruptJournal, match=message):
        decode(data)


def test_decode_names_missing_keys_and_bad_enums() -> None:
    data = encode(CREATED)
    del data["symbol"]
    with pytest.raises(CorruptJournal, match="missing key 'symbol'"):
        decode(data)
    with pytest.raises(CorruptJournal, match="bad 'side'"):
        decode({**encode(CREATED), "side": "long"})


def test_explain_is_the_audit_trail_of_one_order() -> None:
    journal = InMemoryJournal()
    journal.append(CREATED, None, S.CREATED)
    journal.append(ALL_KINDS[2], S.CREATED, S.SUBMITTED)
    journal.append(OrderSubmitted(**env(1, "noise", "order-manager", "other")), S.CREATED,
                   S.SUBMITTED)
    journal.append(ALL_KINDS[3], S.SUBMITTED, S.ACCEPTED)
    journal.append(ALL_KINDS[5], S.ACCEPTED, S.PARTIALLY_FILLED)
    journal.append(ALL_KINDS[6], S.PARTIALLY_FILLED, S.PENDING_CANCEL)
    journal.append(ALL_KINDS[7], S.PENDING_CANCEL, S.PARTIALLY_FILLED)
    journal.append(ALL_KINDS[8], S.PARTIALLY_FILLED, S.CANCELLED)
    assert explain("sma-s1-00000001", journal) == [
        "2024-01-02T14:30:00.000Z  new → created  buy 10 AAPL limit limit=100.50 tif=DAY "
        "strategy=sma_crossover decision_price=100.40  cause=risk accepted  "
        "actor=strategy:sma_crossover",
        "2024-01-02T14:30:00.001Z  created → submitted  cause=sent to venue:paper  "
        "actor=order-manager",
        "2024-01-02T14:30:00.002Z  submitted → accepted  venue_order_id=P-7  "
        "cause=venue accepted the order  actor=venue:paper",
        "2024-01-02T14:30:00.003Z  accepted → partially_filled  fill 4 @ 100.50 trade_id=T-1 "
        "commission=-0.0040 liquidity=maker  cause=venue fill  actor=venue:paper",
        "2024-01-02T14:30:00.004Z  partially_filled → pending_cancel  "
        "cause=risk halted the strategy  actor=risk",
        "2024-01-02T14:30:00.005Z  pending_cancel → partially_filled  reason=late  "
        "cause=venue refused the cancel  actor=venue:paper",
        "2024-01-02T14:30:00.006Z  partially_filled → cancelled  "
        "cause=venue cancelled the order  actor=venue:paper",
    ]
    assert explain("nobody", journal) == []


def test_records_written_before_brackets_were_journaled_still_decode() -> None:
    data = encode(CREATED)
    del data["stop_loss"], data["take_profit"]
    back = decode(data)
    assert isinstance(back, OrderCreated)
    assert (back.stop_loss, back.take_profit) == (None, None)


def test_records_written_before_exits_and_uncapped_all_in_were_journaled_still_decode() -> None:
    """A row from before ``parent_id``/``quantity_is_cap``: no parent, and its size (if
    all-in) a cap: the safe reading."""
    for event in (ALL_KINDS[1], ALL_KINDS[-1]):
        data = encode(event)
        del data["parent_id"], data["quantity_is_cap"]
        back = decode(data)
        assert isinstance(back, OrderCreated)
        assert (back.parent_id, back.quantity_is_cap) == (None, True)
        assert decode(encode(event)) == event
