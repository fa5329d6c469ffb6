"""The SQLite fast path of ``record_transitions`` writes exactly what SQLAlchemy writes."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from trading_strategy.core.enums import OrderStatus, OrderType, Side
from trading_strategy.core.errors import TradingStrategyError
from trading_strategy.storage import (
    FillRecord,
    OrderEventRecord,
    OrderRecord,
    RiskEventRecord,
    Store,
    StrategyEventRecord,
)
from trading_strategy.storage.engine import make_engine

T0 = 1_700_000_000_123_456_789
Row = tuple[OrderRecord, OrderEventRecord, FillRecord | None]


def _order(status: OrderStatus, filled: str, ts: int) -> OrderRecord:
    return OrderRecord(id="o-1", strategy="sma", symbol="GOOG", side=Side.BUY,
                       order_type=OrderType.LIMIT, quantity=Decimal("10"), status=status,
                       ts_init=T0, limit_price=Decimal("101.25"), mode="paper",
                       filled_quantity=Decimal(filled), ts_last=ts, venue_order_id="P1")


def _batches() -> list[list[Row]]:
    created = (_order(OrderStatus.CREATED, "0", T0), OrderEventRecord(
        "o-1", T0, T0 + 7, OrderStatus.CREATED, "risk accepted", "strategy:sma",
        detail={"kind": "created", "price": Decimal("101.25"), "ts": T0}), None)
    submitted = (_order(OrderStatus.SUBMITTED, "0", T0 + 9), OrderEventRecord(
        "o-1", T0 + 9, T0 + 9, OrderStatus.SUBMITTED, "sent", "order-manager",
        from_status=OrderStatus.CREATED, detail={"kind": "submitted"}), None)
    fill = FillRecord("o-1/T1", "o-1", "sma", "GOOG", Side.BUY, Decimal("4"),
                      Decimal("101.25"), Decimal("0.405"), T0 + 60_000_000_001,
                      ts_init=T0 + 60_000_000_999, liquidity="maker")
    partial = (_order(OrderStatus.PARTIALLY_FILLED, "4", T0 + 60_000_000_001),
               OrderEventRecord("o-1", T0 + 60_000_000_001, T0 + 60_000_000_999,
                                OrderStatus.PARTIALLY_FILLED, "fill", "venue:paper",
                                from_status=OrderStatus.SUBMITTED,
                                detail={"kind": "filled", "qty": "4"}), fill)
    return [[created, submitted], [partial], [partial]]  # the last: a re-delivered fill


def _dump(store: Store) -> dict[str, list[Any]]:
    with store.engine.connect() as connection:
        return {table: [tuple(r) for r in connection.execute(text(
            f"SELECT * FROM {table} ORDER BY 1")).all()]
            for table in ("orders", "order_events", "fills", "risk_events",
                          "strategy_events")}


@pytest.fixture
def two_stores(sqlite_template: Path, tmp_path: Path) -> tuple[Store, Store]:
    stores = []
    for name in ("driver", "orm"):
        target = tmp_path / f"{name}.sqlite3"
        shutil.copyfile(sqlite_template, target)
        stores.append(Store(make_engine(f"sqlite:///{target}")))
    return stores[0], stores[1]


def test_the_driver_path_writes_the_rows_sqlalchemy_writes(
        two_stores: tuple[Store, Store]) -> None:
    driver, orm = two_stores
    orm.journal._driver = None  # the SQLAlchemy path, as on PostgreSQL
    assert driver.journal._driver is not None
    risk = [RiskEventRecord(T0, "sma", "accepted", "", client_order_id="o-1",
                            detail={"lots": 10, "price": Decimal("101.25")}),
            RiskEventRecord(T0 + 1, "portfolio", "state_change", "drawdown",
                            trading_state="halted", detail=None)]
    lifecycle = [StrategyEventRecord(T0 + 2, "sma", "running", "", from_state="starting")]
    for k, batch in enumerate(_batches()):
        extra: dict[str, Any] = {"risk": risk, "strategy": lifecycle} if k == 0 else {}
        assert driver.journal.record_transitions(batch, **extra) == \
            orm.journal.record_transitions(batch, **extra)
    dumped = _dump(driver)
    assert dumped == _dump(orm)
    assert len(dumped["order_events"]) == 4 and len(dumped["fills"]) == 1
    assert len(dumped["risk_events"]) == 2 and len(dumped["strategy_events"]) == 1
    assert driver.journal.shares_database(driver.events)
    assert not driver.journal.shares_database(orm.events)
    events = driver.journal.order_events("o-1")
    assert events[0].detail == {"kind": "created", "price": "101.25", "ts": T0}
    assert [e.to_status for e in events] == ["created", "submitted", "partially_filled",
                                             "partially_filled"]


def test_a_failed_batch_writes_nothing(two_stores: tuple[Store, Store]) -> None:
    driver, _ = two_stores
    created, _submitted = _batches()[0]
    orphan = (created[0], OrderEventRecord("nobody", T0, T0, OrderStatus.CREATED, "x", "y"),
              None)  # the event's order does not exist: the foreign key refuses it
    with pytest.raises(TradingStrategyError):
        driver.journal.record_transitions([created, orphan])
    assert not any(_dump(driver).values())
    assert driver.journal.record_transitions([created]) == [1]
    driver.close()  # the kept connection goes with the engine
    assert driver.journal._driver is not None and driver.journal._driver.writer._raw is None


@pytest.mark.parametrize("detail", [
    {"v": 1, "kind": "created", "quantity": "10", "reduce_only": False, "id_seq": None},
    {"price": Decimal("1.5"), "nested": {"a": 1}}, {1: "int key"}, None, {"x": 1.5}])
def test_the_plain_detail_shortcut_is_to_json(detail: Any) -> None:
    from trading_strategy.storage.journal import _detail_json
    from trading_strategy.storage.jsonable import to_json

    assert _detail_json(detail) == to_json(detail)
