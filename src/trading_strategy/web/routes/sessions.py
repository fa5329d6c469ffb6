"""``/api/v1/sessions``: paper and live sessions, read-only views and operator actions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from trading_strategy.web.deps import Actor, State
from trading_strategy.web.schemas import (
    ActionResult,
    SessionDetail,
    SessionList,
    SessionPositions,
)
from trading_strategy.web.services import sessions
from trading_strategy.web.services.actions import audit_action, request_halt, request_rearm
from trading_strategy.web.services.snapshot import respond

router = APIRouter(prefix="/api/v1/sessions", tags=["sessions"])


class ActionNote(BaseModel):
    note: str = Field(default="", max_length=500)


def _summaries(state: Any) -> dict[str, Any]:
    out = []
    for name in sessions.session_names(state.data_dir):
        try:
            out.append(sessions.session_summary(state.store, state.data_dir, name))
        except LookupError:
            continue
    return {"sessions": out}


@router.get("", response_model=SessionList)
async def list_sessions(state: State) -> Any:
    return await run_in_threadpool(_summaries, state)


@router.get("/{name}", response_model=SessionDetail)
async def get_session(state: State, name: str, request: Request,
                      after: Annotated[int | None, Query(
                          ge=0, description="a stream seq the client has seen: the answer "
                                            "includes that journal row")] = None) -> Any:
    try:
        snapshot = await state.snapshots.current(name, after=after)
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from None
    return respond(snapshot.detail_json, request)


@router.get("/{name}/positions", response_model=SessionPositions)
async def get_positions(state: State, name: str, request: Request) -> Any:
    """The session's positions alone (net quantity per strategy and symbol, from fills)."""
    # the hot path: the snapshot's bytes, encoded once per change, with an ETag
    # (If-None-Match → 304); see services/snapshot.py for how fresh it is
    try:
        snapshot = await state.snapshots.current(name)
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from None
    return respond(snapshot.positions_json, request)


@router.get("/{name}/orders/{order_id}/audit")
async def order_audit(state: State, name: str, order_id: str) -> Any:
    try:
        return await run_in_threadpool(sessions.order_audit, state.store, state.data_dir,
                                       name, order_id)
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from None


def _act(state: Any, who: str, name: str, strategy: str, action: str, note: str) -> Any:
    try:
        sessions.session_root(state.data_dir, name)
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from None
    write = request_rearm if action == "rearm" else request_halt
    path = write(state.data_dir, session=name, strategy=strategy, actor=who, note=note)
    return audit_action(state.data_dir, actor=who, action=action,
                        target=f"{name}/{strategy}", detail=f"request written to {path}")


@router.post("/{name}/strategies/{strategy}/rearm", response_model=ActionResult)
async def rearm(state: State, who: Actor, name: str, strategy: str,
                body: ActionNote | None = None) -> Any:
    return _act(state, who, name, strategy, "rearm", body.note if body else "")


@router.post("/{name}/strategies/{strategy}/halt", response_model=ActionResult)
async def halt(state: State, who: Actor, name: str, strategy: str,
               body: ActionNote | None = None) -> Any:
    return _act(state, who, name, strategy, "halt", body.note if body else "")
