"""Per-session snapshots served from memory: a session's detail and positions, each encoded
once per change, with an ETag for pollers.

Why: under many clients the views must cost no I/O, no thread hop and no lock per request.
Requests that went to the thread pool to re-check a session whose last check had expired
queued behind the GIL (a ~100 ms stall for 50 clients at every re-check), and validating
and encoding the same answer for every request is waste.

How: ``SessionSnapshots.run`` (a task of the app's lifespan) makes a pass every
``interval`` seconds, in one thread hop for every watched session: it reads the journal
rows written since the last pass (ids and order ids only: which sessions they belong to,
past holes in the ids as the stream does) and lists each session folder's files
(events, checkpoint, halts, risk state, metrics), and rebuilds a snapshot
(``sessions.session_detail``, ~50 ms for the demo session) only when its own rows or files
moved: one busy session does not rebuild the others. A request reads the current snapshot
(``get``), or waits for the first build of a session nobody asked for yet (``current``).

Freshness bound: a journal row or session file committed at time *t* is in the answer of
every request that starts after *t* + ``interval`` + twice the time of one pass (the pass
running at *t* may have read before the write; the next starts ``interval`` after its end
and publishes at its own end): ~0.15 s with the default 0.05 s (the stream's poll) and the
demo session. On PostgreSQL a row behind a hole in the ids waits for the hole like the
stream (at most ``stream.GAP_WAIT_SECONDS``). If the refresher is not running, ``current``
checks on the request path once a snapshot is ``max_age`` old.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from trading_strategy.storage.tables import OrderEventRow
from trading_strategy.storage.transactions import reading
from trading_strategy.web.schemas import SessionDetail, SessionPositions
from trading_strategy.web.services.sessions import last_seq, session_detail, session_root
from trading_strategy.web.services.stream import releasable

__all__ = ["Encoded", "SessionSnapshots", "Snapshot", "respond"]

_log = logging.getLogger(__name__)
#: journal rows read per query when looking for what moved
_BATCH = 5000
#: what a poller is told: keep it, but ask again (with If-None-Match) before using it
_CACHE_CONTROL = "no-cache"


@dataclass(frozen=True, slots=True)
class Encoded:
    """A JSON body as the route's ``response_model`` encodes it, and its strong ETag."""

    body: bytes
    etag: str

    @classmethod
    def of(cls, model: Any) -> Encoded:
        # the schema's own encoder: the same bytes FastAPI sends for this response_model
        body: bytes = model.__pydantic_serializer__.to_json(model)
        return cls(body, '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"')


def _matches(if_none_match: str, etag: str) -> bool:
    """RFC 9110 weak comparison, as If-None-Match asks: any listed tag (or ``*``)."""
    for tag in if_none_match.split(","):
        tag = tag.strip()
        if tag == "*" or tag.removeprefix("W/") == etag:
            return True
    return False


def respond(encoded: Encoded, request: Request) -> Response:
    """``encoded`` as a response, or 304 Not Modified when the client already holds it."""
    headers = {"etag": encoded.etag, "cache-control": _CACHE_CONTROL}
    asked = request.headers.get("if-none-match")
    if asked is not None and _matches(asked, encoded.etag):
        return Response(status_code=304, headers=headers)
    return Response(encoded.body, media_type="application/json", headers=headers)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One session's views as of one freshness check."""

    name: str
    #: the marker its order ids carry (``-<session id>-``)
    marker: str
    #: what it was built from: (its last journal row id seen, the session folder's files)
    key: tuple[Any, ...]
    detail: dict[str, Any]
    detail_json: Encoded
    positions_json: Encoded
    #: monotonic time of the last check that found it current
    checked: float
    #: every journal row up to this id had been looked at when it was last checked
    head: int


def _files(root: Path) -> tuple[tuple[str, int, int], ...]:
    out = []
    try:
        for entry in os.scandir(root):
            if entry.is_file():
                stat = entry.stat()
                out.append((entry.name, stat.st_mtime_ns, stat.st_size))
    except OSError:
        return ()
    return tuple(sorted(out))


def _build(store: Any, data_dir: Path, name: str, key: tuple[Any, ...], head: int,
           now: float) -> Snapshot:
    detail = session_detail(store, data_dir, name)
    positions = SessionPositions.model_validate(
        {"name": name, "positions": detail["positions"], "last_seq": detail["last_seq"]})
    return Snapshot(name=name, marker=f"-{detail['session_id']}-", key=key, detail=detail,
                    detail_json=Encoded.of(SessionDetail.model_validate(detail)),
                    positions_json=Encoded.of(positions), checked=now, head=head)


@dataclass(frozen=True, slots=True)
class _Cursor:
    """How far the journal has been read: every row up to ``seq``, and since when a hole
    after it has been waited for (the stream's rule, ``stream.releasable``)."""

    seq: int | None = None
    gap_since: float | None = None


def _journal_moves(store: Any, cursor: _Cursor) -> tuple[dict[str, int], _Cursor]:
    """Order id → its last journal row id, for the rows after ``cursor`` that can be taken
    now, and the cursor past them. Like the stream, it stops at a hole in the ids (on
    PostgreSQL a row may commit after a higher one) until it fills or
    ``GAP_WAIT_SECONDS`` pass, so no session's new row is ever skipped for good."""
    if cursor.seq is None:  # start at the head: what is older is in the first builds
        return {}, _Cursor(last_seq(store))
    seq, gap_since = cursor.seq, cursor.gap_since
    moved: dict[str, int] = {}
    while True:
        query = (select(OrderEventRow.id, OrderEventRow.order_id)
                 .where(OrderEventRow.id > seq).order_by(OrderEventRow.id).limit(_BATCH))
        with reading(store.engine) as connection:
            rows = connection.execute(query).all()
        ready, gap_since = releasable([{"seq": int(r.id), "order": r.order_id}
                                       for r in rows], seq, gap_since, time.monotonic())
        for row in ready:
            moved[row["order"]] = seq = row["seq"]
        if len(rows) < _BATCH or len(ready) < len(rows):
            return moved, _Cursor(seq, gap_since)


def _refresh(store: Any, data_dir: Path, names: Iterable[str], known: dict[str, Snapshot],
             cursor: _Cursor) -> tuple[dict[str, Snapshot | None], _Cursor]:
    """Each session's snapshot, rebuilt where its inputs moved (``None``: it is gone), and
    the journal cursor after them. Runs in a worker thread and changes nothing shared: the
    caller applies both or (cancelled) neither, so no journal row is passed unseen."""
    moved, cursor = _journal_moves(store, cursor)
    head = cursor.seq or 0
    out: dict[str, Snapshot | None] = {}
    for name in names:
        try:
            root = session_root(data_dir, name)
        except LookupError:
            out[name] = None
            continue
        previous = known.get(name)
        last_row = previous.key[0] if previous is not None else head
        if previous is not None:
            last_row = max((seq for order_id, seq in moved.items()
                            if previous.marker in order_id), default=last_row)
        # the key is read before the views are built from the journal and the files, so
        # it can only be older than what was built: a change is never missed (the next
        # pass sees a new key), at worst built twice
        key = (last_row, _files(root))
        now = time.monotonic()
        if previous is not None and previous.key == key:
            out[name] = replace(previous, checked=now, head=head)
            continue
        try:
            out[name] = _build(store, data_dir, name, key, head, now)
        except LookupError:
            out[name] = None
    return out, cursor


class SessionSnapshots:
    """The snapshots of the sessions clients ask for, kept current by ``run``.

    Only the event loop's thread changes ``_snapshots``; builds run in a worker thread, one
    at a time (``_lock``), so fifty clients asking for a cold session cause one build.
    A session nobody asked for in ``idle_seconds`` is dropped (and no longer re-read).
    """

    def __init__(self, store: Any, data_dir: Path, *, interval: float = 0.05,
                 max_age: float = 1.0, idle_seconds: float = 300.0) -> None:
        self._store = store
        self._data_dir = data_dir
        self.interval = interval
        self._max_age = max(max_age, interval)
        self._idle = idle_seconds
        self._snapshots: dict[str, Snapshot] = {}
        self._asked: dict[str, float] = {}
        self._cursor = _Cursor()
        self._lock = asyncio.Lock()
        self._running = False

    def get(self, name: str) -> Snapshot | None:
        """The current snapshot of ``name`` if there is one (no I/O, no waiting)."""
        snapshot = self._snapshots.get(name)
        if snapshot is not None:
            self._asked[name] = time.monotonic()
        return snapshot

    async def current(self, name: str, *, after: int | None = None) -> Snapshot:
        """The snapshot of ``name``, built first if there is none, re-checked first if
        (``after``) it was read before journal row ``after`` (a client that saw that row on
        the stream gets a view that includes it), or if it is older than ``max_age`` while
        ``run`` is not running. ``LookupError`` when there is no such session."""
        snapshot = self.get(name)
        if snapshot is not None and (after is None or snapshot.head >= after) and \
                (self._running or time.monotonic() - snapshot.checked < self._max_age):
            return snapshot
        stale = snapshot
        async with self._lock:
            snapshot = self._snapshots.get(name)
            if snapshot is None or snapshot is stale:  # nobody refreshed it while we waited
                await self._refresh_locked([*self._snapshots.keys() - {name}, name])
                snapshot = self._snapshots.get(name)
        if snapshot is None:
            session_root(self._data_dir, name)  # raises the reason
            raise LookupError(f"no session named {name!r}")
        self._asked[name] = time.monotonic()
        return snapshot

    async def refresh(self) -> None:
        """One pass over the watched sessions (what ``run`` repeats)."""
        now = time.monotonic()
        for name in [n for n, at in self._asked.items() if now - at > self._idle]:
            self._asked.pop(name, None)
            self._snapshots.pop(name, None)
        if not self._snapshots:
            # nothing to keep current: the next first build starts from the journal's head
            # instead of reading every row written while nobody watched
            self._cursor = _Cursor()
            return
        async with self._lock:
            await self._refresh_locked(list(self._snapshots))

    async def _refresh_locked(self, names: list[str]) -> None:
        # every watched session, always: the journal rows read now are read once
        fresh, self._cursor = await run_in_threadpool(
            _refresh, self._store, self._data_dir, names, dict(self._snapshots), self._cursor)
        for name, snapshot in fresh.items():
            if snapshot is None:
                self._snapshots.pop(name, None)
            else:
                self._snapshots[name] = snapshot

    async def run(self) -> None:
        """Refresh every ``interval`` seconds until cancelled; a failed pass is logged and
        retried (a database restart must not stop the views for good)."""
        self._running = True
        try:
            while True:
                try:
                    await self.refresh()
                except Exception:
                    _log.exception("refreshing the session snapshots failed; retrying")
                    await asyncio.sleep(max(self.interval, 1.0))
                await asyncio.sleep(self.interval)
        finally:
            self._running = False
