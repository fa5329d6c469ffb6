"""What a running session publishes for the dashboard beside its journal: the feed's health
per instrument, its equity curve, and each strategy's operator state.

All of it is read from the session's folder (``equity.jsonl``, ``strategy-states.json``,
``events.jsonl``, the checkpoint), never from the session's process: the web app may start,
stop or crash without the session noticing.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from trading_strategy.observability.logging import utc_iso
from trading_strategy.observability.status import feed_state, parse_events
from trading_strategy.runtime.rearm import read_strategy_states
from trading_strategy.runtime.session import EQUITY_FILE, session_dir
from trading_strategy.web.services.sessions import session_names, session_root

__all__ = ["SessionTail", "equity_points", "session_health", "strategy_states"]

_S = 1_000_000_000
#: a session whose folder changed within this many seconds is shown as running
RUNNING_WITHIN_S = 10.0
#: the checkpoint and equity files: what a session touches as its bars go by
_PROGRESS_FILES = ("checkpoint.log", "checkpoint.json", EQUITY_FILE)


def strategy_states(root: Path) -> dict[str, dict[str, Any]]:
    """Each strategy's operator state (running, paused, stopped), as the session wrote it."""
    return read_strategy_states(root)


def _updated_ns(root: Path) -> int | None:
    stamps = []
    for name in _PROGRESS_FILES:
        try:
            stamps.append((root / name).stat().st_mtime_ns)
        except OSError:
            continue
    return max(stamps, default=None)


def _ns(iso: str | None) -> int | None:
    if not iso:
        return None
    try:
        return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * _S)
    except ValueError:
        return None


def session_health(detail: Mapping[str, Any], data_dir: Path, *,
                   now_ns: int | None = None) -> dict[str, Any]:
    """Per instrument of the session ``detail`` describes (``session_detail``): the
    feed's state (``healthy``, ``stale``, ``failed-over``; ``replay`` for a historical
    replay), the provider in use, the last bar and its age; and whether the session is
    running (its folder changed within ``RUNNING_WITHIN_S``)."""
    now_ns = time.time_ns() if now_ns is None else now_ns
    root = session_root(data_dir, str(detail["name"]))
    status = detail["status"]
    feed: Mapping[str, Any] = status.get("feed") or {}
    last_bars: Mapping[str, str] = status.get("last_bar") or {}
    events = _feed_events(root) if feed else {}
    latest = _latest_bars(root)
    updated = _updated_ns(root)
    updated_age = None if updated is None else round((now_ns - updated) / _S, 1)
    instruments: list[dict[str, Any]] = []
    for symbol in sorted(set(feed) | set(last_bars)):
        row = feed.get(symbol)
        if row is None:  # a replay: its bars come from storage, no provider to watch
            last = _later(last_bars.get(symbol), latest.get(symbol))
            instruments.append({
                "symbol": symbol, "state": "replay", "provider": "replay", "primary": None,
                "last_bar": last, "last_bar_age_s": None, "stale_since": None,
                "switches": 0, "stale_spells": 0, "counters": {}})
            continue
        state, primary = feed_state(row, events.get(symbol, ()))
        last = _later(row.get("last_bar"), latest.get(symbol))
        last_ns = _ns(last)
        instruments.append({
            "symbol": symbol, "state": state, "provider": row.get("provider"),
            "primary": primary, "last_bar": last,
            "last_bar_age_s": None if last_ns is None else round((now_ns - last_ns) / _S, 1),
            "stale_since": row.get("stale_since"), "switches": row.get("switches", 0),
            "stale_spells": row.get("stale_spells", 0), "counters": row.get("counters") or {}})
    return {"name": detail["name"], "live": bool(feed),
            "running": updated_age is not None and updated_age <= RUNNING_WITHIN_S,
            "updated_age_s": updated_age, "instruments": instruments}


def _later(a: str | None, b: str | None) -> str | None:
    """The later of two ISO times (either may be missing)."""
    if a is None or b is None:
        return a or b
    return a if (_ns(a) or 0) >= (_ns(b) or 0) else b


def _latest_bars(root: Path) -> dict[str, str]:
    """The last bar per symbol from the equity curve's newest line: fresher than the
    checkpoint, which a quiet session writes only every few thousand bars."""
    try:
        with (root / EQUITY_FILE).open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, size - 8192))
            tail = handle.read()
    except OSError:
        return {}
    for line in reversed(tail.decode("utf-8", "replace").splitlines()):
        try:
            bars = json.loads(line).get("bars")
        except (ValueError, AttributeError):
            continue
        if isinstance(bars, dict):
            return {str(k): utc_iso(int(v)) for k, v in bars.items()
                    if isinstance(v, int)}
        return {}
    return {}


def _feed_events(root: Path) -> dict[str, list[dict[str, Any]]]:
    path = root / "events.jsonl"
    records = parse_events(path.read_text(encoding="utf-8"))[0] if path.exists() else []
    out: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        if record.get("kind") in ("data_stale", "data_restored", "provider_switch"):
            out.setdefault(str(record.get("symbol")), []).append(record)
    return out


def _point(line: str) -> dict[str, Any] | None:
    """One line of ``equity.jsonl`` as a chart point (seconds, for the charts), or ``None``
    for a line a crash cut short."""
    try:
        data = json.loads(line)
        return {"time": int(data["ts"]) // _S, "total": data.get("total"),
                "equity": dict(data.get("equity") or {})}
    except (ValueError, KeyError, TypeError):
        return None


def equity_points(data_dir: Path, name: str, *, limit: int = 2000) -> dict[str, Any]:
    """The session's equity curve, at most ``limit`` points (evenly thinned, the last point
    always kept), and the file's size: a stream goes on from there."""
    root = session_root(data_dir, name)
    path = root / EQUITY_FILE
    try:
        raw = path.read_bytes()
    except OSError:
        raw = b""
    # a line still being written (no newline yet) waits for the stream
    complete = raw[:raw.rfind(b"\n") + 1]
    points = [p for line in complete.decode("utf-8", "replace").splitlines()
              if (p := _point(line)) is not None]
    total = len(points)
    if total > limit:
        step = total / limit
        points = [points[int(i * step)] for i in range(limit - 1)] + [points[-1]]
    return {"name": name, "points": points, "points_total": total,
            "downsampled": total > len(points), "offset": len(complete)}


class _Tail:
    """What sessions append to one file of their folder (``filename``) since the last look:
    starts at each file's end (history comes from the REST endpoints), a session that
    appears later is read from its start; a line still being written waits."""

    def __init__(self, data_dir: Path, filename: str) -> None:
        self._data_dir = data_dir
        self._filename = filename
        self._offsets: dict[str, int] = {}
        for name in session_names(data_dir):
            self._offsets[name] = self._size(name)

    def _path(self, name: str) -> Path:
        return session_dir(self._data_dir, name) / self._filename

    def _size(self, name: str) -> int:
        try:
            return os.stat(self._path(name)).st_size
        except OSError:
            return 0

    def lines(self, names: list[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for name in names:
            offset = self._offsets.get(name, 0)
            size = self._size(name)
            if size <= offset:
                continue
            with self._path(name).open("rb") as handle:
                handle.seek(offset)
                chunk = handle.read(size - offset)
            end = chunk.rfind(b"\n") + 1
            self._offsets[name] = offset + end
            if end:
                out[name] = chunk[:end].decode("utf-8", "replace").splitlines()
        return out


#: events-file kinds that go down the stream, and the message kind each becomes
_STREAMED = {"data_stale": "health", "data_restored": "health", "provider_switch": "health",
             "risk_state": "risk", "strategy_event": "strategy"}


class SessionTail:
    """For one stream client: what every session published since the last look — new
    points of its equity curve (``equity``) and, from its events file, feed health changes
    (``health``), trading-state changes such as a halt or re-arm (``risk``) and strategy
    state transitions such as an operator's pause (``strategy``)."""

    def __init__(self, data_dir: Path) -> None:
        self._data_dir = data_dir
        self._equity = _Tail(data_dir, EQUITY_FILE)
        self._events = _Tail(data_dir, "events.jsonl")

    def messages(self) -> list[tuple[str, str, dict[str, Any]]]:
        """``(kind, session, data)`` of every stream message due: one ``equity`` message
        per session with new points (``data["points"]``), one per streamed event (``data``
        is the event's record)."""
        out: list[tuple[str, str, dict[str, Any]]] = []
        for name, (points, events) in self._poll().items():
            for record in events:
                out.append((_STREAMED[str(record["kind"])], name, record))
            if points:
                out.append(("equity", name, {"points": points}))
        return out

    def _poll(self) -> dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
        names = session_names(self._data_dir)
        equity = self._equity.lines(names)
        events = self._events.lines(names)
        out: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {}
        for name in names:
            points = [p for line in equity.get(name, ()) if (p := _point(line)) is not None]
            records = [r for r in parse_events("\n".join(events.get(name, ())))[0]
                       if r.get("kind") in _STREAMED]
            if points or records:
                out[name] = (points, records)
        return out
