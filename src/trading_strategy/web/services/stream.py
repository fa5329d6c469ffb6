"""The live stream's source: the order journal, read by sequence from the database.

``seq`` is the journal row's id, so a client that saw SEQ resumes with ``after=SEQ`` and
gets exactly the rows after it. The app polls; it never needs the session's process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from trading_strategy.core.bars import datetime_to_ns
from trading_strategy.storage.tables import OrderEventRow, OrderRow
from trading_strategy.storage.transactions import reading
from trading_strategy.web.services.sessions import last_seq, sessions_by_id

__all__ = ["GAP_WAIT_SECONDS", "journal_after", "last_seq", "releasable"]

_BATCH = 500


def _session_of(order_id: str, sessions: dict[str, str]) -> str | None:
    for session_id, name in sessions.items():
        if f"-{session_id}-" in order_id:
            return name
    return None


def journal_after(store: Any, data_dir: Path, after: int,
                  limit: int = _BATCH) -> list[dict[str, Any]]:
    """Stream messages (as dicts) for the journal rows after ``after``, oldest first: a
    ``fill`` for each fill, an ``order`` for every other transition. Rows of orders that
    belong to no session in ``data_dir`` (backtests) keep their seq with session ``None``."""
    query = (select(OrderEventRow.id, OrderEventRow.order_id, OrderEventRow.ts_event,
                    OrderEventRow.ts_init, OrderEventRow.from_status, OrderEventRow.to_status,
                    OrderEventRow.detail,
                    OrderRow.strategy, OrderRow.symbol, OrderRow.side, OrderRow.order_type)
             .join(OrderRow, OrderRow.id == OrderEventRow.order_id)
             .where(OrderEventRow.id > after).order_by(OrderEventRow.id).limit(limit))
    with reading(store.engine) as connection:
        rows = connection.execute(query).all()
    sessions = sessions_by_id(data_dir) if rows else {}
    out = []
    for row in rows:
        detail = dict(row.detail or {})
        is_fill = detail.get("kind") == "filled"
        data = {"order_id": row.order_id, "strategy": row.strategy, "symbol": row.symbol,
                "side": row.side, "type": row.order_type, "from": row.from_status,
                "to": row.to_status,
                # when the session recorded it (wall clock): a client's delay is measured
                "recorded_ns": datetime_to_ns(row.ts_init)}
        if is_fill:
            data |= {"quantity": str(detail.get("quantity")), "price": str(detail.get("price"))}
        out.append({"seq": int(row.id), "kind": "fill" if is_fill else "order",
                    "session": _session_of(row.order_id, sessions), "ts": row.ts_event,
                    "data": data})
    return out


#: how long a hole in the journal's ids is waited for before it is passed over
GAP_WAIT_SECONDS = 2.0


def releasable(batch: list[dict[str, Any]], cursor: int, gap_since: float | None,
               now: float) -> tuple[list[dict[str, Any]], float | None]:
    """The messages of ``batch`` that can be sent after ``cursor`` now, and since when the
    stream has been waiting at a hole (``None``: not waiting).

    On PostgreSQL two sessions' transactions may commit out of id order: row 11 can be
    visible before row 10. Sending 11 would move every client past 10 for good, so the
    stream stops at a hole and waits; a hole that stays (a rolled-back insert never fills
    its id) is passed after ``GAP_WAIT_SECONDS``.
    """
    out: list[dict[str, Any]] = []
    expected = cursor + 1
    for message in batch:
        if message["seq"] != expected:
            if gap_since is None:
                return out, now
            if now - gap_since < GAP_WAIT_SECONDS:
                return out, gap_since
        out.append(message)
        expected = message["seq"] + 1
        gap_since = None
    return out, gap_since
