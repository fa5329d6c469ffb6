"""``/api/v1/stream``: the live WebSocket of typed events (``StreamMessage``)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from trading_strategy.web.schemas import StreamMessage
from trading_strategy.web.services import stream
from trading_strategy.web.services.live import SessionTail
from trading_strategy.web.services.sessions import session_names

router = APIRouter(tags=["stream"])

_HEARTBEAT_SECONDS = 10.0
#: how often the sessions' equity curves and events files are looked at
_PUBLISHED_SECONDS = 0.5


@router.get("/api/v1/stream/schema", response_model=StreamMessage,
            summary="The message schema of the /api/v1/stream WebSocket")
async def stream_schema() -> Any:
    """Connect with ``ws://HOST/api/v1/stream?after=SEQ`` (``after`` optional): the first
    message is a ``snapshot`` whose ``seq`` is where the stream resumes, then every
    journal event after it in ``seq`` order; ``equity`` messages as sessions' equity
    curves grow and ``health``, ``risk`` and ``strategy`` messages as their events files
    record feed health changes, trading-state changes and strategy state transitions (not
    sequenced: reload the session's views after a reconnect); and a ``heartbeat`` when
    idle."""
    return StreamMessage(seq=0, kind="heartbeat")


def _dump(message: dict[str, Any]) -> str:
    return StreamMessage.model_validate(message).model_dump_json()


@router.websocket("/api/v1/stream")
async def live_stream(websocket: WebSocket) -> None:
    state = websocket.app.state.web
    raw_after = websocket.query_params.get("after")
    await websocket.accept()
    try:
        if raw_after is not None and not (raw_after.isdigit() and len(raw_after) < 19):
            await websocket.close(code=1008, reason="after: a sequence number (0 or more)")
            return
        # the curves' ends are taken before the snapshot: a point appended after the
        # client has it is sent, never lost between the two
        published = await run_in_threadpool(SessionTail, state.data_dir)
        head = await run_in_threadpool(stream.last_seq, state.store)
        cursor = head if raw_after is None else int(raw_after)
        await websocket.send_text(_dump({
            "seq": cursor, "kind": "snapshot", "ts": datetime.now(UTC),
            "data": {"sessions": session_names(state.data_dir), "head": head}}))
        idle = 0.0
        gap_since: float | None = None
        published_due = time.monotonic() + _PUBLISHED_SECONDS
        while True:
            if time.monotonic() >= published_due:
                published_due = time.monotonic() + _PUBLISHED_SECONDS
                for kind, name, data in await run_in_threadpool(published.messages):
                    await websocket.send_text(_dump({
                        "seq": cursor, "kind": kind, "session": name,
                        "ts": datetime.now(UTC), "data": data}))
            batch = await run_in_threadpool(stream.journal_after, state.store,
                                            state.data_dir, cursor)
            ready, gap_since = stream.releasable(batch, cursor, gap_since, time.monotonic())
            for message in ready:
                await websocket.send_text(_dump(message))
                cursor = message["seq"]
            if ready and len(ready) == len(batch):
                idle = 0.0
                continue
            await asyncio.sleep(state.web.poll_seconds)
            idle += state.web.poll_seconds
            if idle >= _HEARTBEAT_SECONDS:
                idle = 0.0
                await websocket.send_text(_dump({"seq": cursor, "kind": "heartbeat",
                                                 "ts": datetime.now(UTC)}))
    except (WebSocketDisconnect, RuntimeError):
        return
