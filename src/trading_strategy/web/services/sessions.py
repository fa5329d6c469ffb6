"""Paper and live sessions as the API shows them, read from their folders and the journal.

The same sources as ``trading-strategy status`` (``observability.status``): the order
journal in the database, the session's events file, checkpoint, halts and metrics snapshot.
Nothing here writes to a session.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from trading_strategy.core.errors import ConfigError
from trading_strategy.observability.status import metrics_view, parse_events, session_status
from trading_strategy.orders.events import OrderFilled
from trading_strategy.orders.journal import JournalEntry, explain
from trading_strategy.orders.state import ManagedOrder, evolve
from trading_strategy.runtime.portfolio_config import require_name
from trading_strategy.runtime.rearm import read_strategy_states
from trading_strategy.runtime.session import read_checkpoint, read_risk_state, session_dir
from trading_strategy.storage.tables import OrderEventRow
from trading_strategy.storage.transactions import reading

__all__ = ["last_seq", "order_audit", "session_detail", "session_names",
           "session_root", "session_summary", "sessions_by_id"]

_RECENT_FILLS = 50


def session_names(data_dir: Path) -> list[str]:
    root = data_dir / "sessions"
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "session.json").is_file())


def session_root(data_dir: Path, name: str) -> Path:
    """The folder of session ``name``; a name that is not one path component, or names no
    session, is refused (``..`` must not reach outside the sessions folder)."""
    try:
        clean = require_name(name)
    except ConfigError as exc:
        raise LookupError(str(exc)) from None
    root = session_dir(data_dir, clean)
    if not (root / "session.json").is_file():
        raise LookupError(f"no session named {clean!r}")
    return root


def session_id_of(root: Path) -> str:
    try:
        return str(json.loads((root / "session.json").read_text())["session_id"])
    except (OSError, ValueError, KeyError, TypeError):
        raise LookupError(f"session {root.name}: its session.json is unreadable") from None


def sessions_by_id(data_dir: Path) -> dict[str, str]:
    """Session id → name, for labelling journal rows (order ids carry the session id)."""
    out: dict[str, str] = {}
    for name in session_names(data_dir):
        try:
            out[session_id_of(session_dir(data_dir, name))] = name
        except LookupError:
            continue
    return out


def _journal(store: Any, root: Path) -> Any:
    from trading_strategy.runtime.wiring import session_journal

    return session_journal(store, root)


def _events(root: Path) -> tuple[list[dict[str, Any]], int]:
    path = root / "events.jsonl"
    return parse_events(path.read_text(encoding="utf-8") if path.exists() else "")


def _metrics(root: Path) -> dict[str, Any] | None:
    snapshot = root / "metrics.prom"
    if not snapshot.exists():
        return None
    written = datetime.fromtimestamp(snapshot.stat().st_mtime, tz=UTC)
    try:
        # a running session rewrites it every few seconds; a stopped one left its last
        return metrics_view(snapshot.read_text(), source=(
            f"metrics snapshot written {written.isoformat(timespec='seconds')}"))
    except ConfigError:
        return None


def _halts(root: Path) -> dict[str, Any]:
    path = root / "halts.json"
    try:
        data = json.loads(path.read_text()) if path.exists() else {}
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _risk_states(root: Path) -> dict[str, Any]:
    """Each scope's trading state and drawdown from its peak, from the engine's saved state
    (``""`` is the portfolio)."""
    try:  # the last checkpoint's while the session runs
        data = read_risk_state(root)
    except (OSError, ValueError):
        return {}
    out: dict[str, Any] = {}
    for scope, state in (data.items() if isinstance(data, dict) else ()):
        if not isinstance(state, dict):
            continue
        peak, last = state.get("peak"), state.get("last_equity")
        drawdown = (1 - last / peak) if isinstance(peak, int | float) and peak > 0 and \
            isinstance(last, int | float) else None
        out[scope or "portfolio"] = {"state": state.get("state"), "drawdown": drawdown}
    return out


def _checkpoint(root: Path) -> dict[str, int]:
    try:
        return read_checkpoint(root)
    except (OSError, ValueError, AttributeError, TypeError, KeyError):
        return {}


def _report(store: Any, root: Path) -> tuple[dict[str, Any], list[JournalEntry]]:
    entries: list[JournalEntry] = _journal(store, root).events()
    events, unreadable = _events(root)
    report = session_status(name=root.name, session_id=session_id_of(root), entries=entries,
                            events=events, unreadable_events=unreadable,
                            checkpoint=_checkpoint(root), metrics=_metrics(root))
    return report, entries


def session_summary(store: Any, data_dir: Path, name: str) -> dict[str, Any]:
    root = session_root(data_dir, name)
    report, _ = _report(store, root)
    return {"name": name, "session_id": report["session_id"],
            "strategies": sorted(report["orders"]), "halted": _halts(root),
            "last_bar": report["last_bar"], "orders_sent": report["totals"]["sent"],
            "fills": report["totals"]["fills"]}


def _order_view(order: ManagedOrder) -> dict[str, Any]:
    return {"id": order.id, "strategy": order.strategy, "symbol": order.symbol,
            "side": order.side.value, "type": order.order_type.value,
            "quantity": str(order.quantity), "filled": str(order.filled_quantity),
            "limit_price": None if order.limit_price is None else str(order.limit_price),
            "stop_price": None if order.stop_price is None else str(order.stop_price),
            "status": order.status.value}


def _book(entries: Iterable[JournalEntry]) -> tuple[dict[str, ManagedOrder],
                                                    list[dict[str, Any]]]:
    """Every order's state and the fills, oldest first, each with the position after it."""
    orders: dict[str, ManagedOrder] = {}
    fills: list[dict[str, Any]] = []
    position: dict[tuple[str, str], Decimal] = {}
    for entry in entries:
        order = evolve(orders.get(entry.event.order_id), entry.event)
        orders[order.id] = order
        event = entry.event
        if isinstance(event, OrderFilled):
            key = (order.strategy, order.symbol)
            sign = 1 if order.side.value == "buy" else -1
            position[key] = position.get(key, Decimal(0)) + sign * event.quantity
            fills.append({"seq": entry.seq, "order_id": order.id, "strategy": order.strategy,
                          "symbol": order.symbol, "side": order.side.value,
                          "quantity": str(event.quantity), "price": str(event.price),
                          "commission": str(event.commission),
                          "ts": _iso(event.ts_event), "position_after": str(position[key])})
    return orders, fills


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).isoformat()


def _positions(fills: list[dict[str, Any]]) -> list[dict[str, Any]]:
    last: dict[tuple[str, str], dict[str, Any]] = {}
    for fill in fills:
        last[(fill["strategy"], fill["symbol"])] = fill
    return [{"strategy": s, "symbol": sym, "quantity": f["position_after"],
             "last_fill_price": f["price"], "last_fill_ts": f["ts"]}
            for (s, sym), f in sorted(last.items())]


def session_detail(store: Any, data_dir: Path, name: str) -> dict[str, Any]:
    root = session_root(data_dir, name)
    report, entries = _report(store, root)
    orders, fills = _book(entries)
    metrics = report.get("metrics") or {}
    risk_events = [e for e in _events(root)[0] if e.get("kind") == "risk_state"]
    return {
        "name": name, "session_id": report["session_id"], "status": report,
        # each strategy's operator state (running, paused, stopped), as the session wrote it
        "strategies": read_strategy_states(root),
        "positions": _positions(fills),
        "open_orders": [_order_view(o) for o in orders.values() if o.is_open],
        "recent_fills": fills[-_RECENT_FILLS:][::-1],
        "pnl": {"realized": metrics.get("realized_pnl", {}),
                "unrealized": metrics.get("unrealized_pnl", {}),
                "source": metrics.get("source")},
        "risk": {"halted": _halts(root), "states": _risk_states(root),
                 "denials": report["risk_denials"], "last_changes": risk_events[-10:]},
        "last_seq": entries[-1].seq if entries else 0,
    }


def order_audit(store: Any, data_dir: Path, name: str, order_id: str) -> dict[str, Any]:
    root = session_root(data_dir, name)
    journal = _journal(store, root)
    entries = journal.events(order_id=order_id)
    if not entries:
        raise LookupError(f"no order {order_id!r} in session {name}")
    return {"order_id": order_id, "session": name, "lines": explain(order_id, journal),
            "events": [{"seq": e.seq, "kind": e.event.kind,
                        "from": None if e.from_status is None else e.from_status.value,
                        "to": e.to_status.value, "ts": _iso(e.event.ts_event)}
                       for e in entries]}


def last_seq(store: Any) -> int:
    """The order journal's last row id (every session's: the stream's sequence)."""
    with reading(store.engine) as connection:
        return int(connection.execute(select(func.max(OrderEventRow.id))).scalar() or 0)
