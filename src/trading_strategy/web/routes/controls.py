"""``/api/v1/sessions/{name}/...``: strategy controls (pause, resume, stop, start), the
feed's health and the equity curve of a session."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from trading_strategy.risk.commands import ControlAction
from trading_strategy.web.deps import Actor, State
from trading_strategy.web.schemas import ActionResult, SessionEquity, SessionHealth
from trading_strategy.web.services import live, sessions
from trading_strategy.web.services.actions import audit_action, request_control

router = APIRouter(prefix="/api/v1/sessions", tags=["sessions"])


class ControlNote(BaseModel):
    note: str = Field(default="", max_length=500)


def _control(state: Any, who: str, name: str, strategy: str, action: ControlAction,
             note: str) -> dict[str, Any]:
    try:
        root = sessions.session_root(state.data_dir, name)
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from None
    known = live.strategy_states(root)
    # a session lists its strategies when it starts; before that any name is taken
    if known and strategy not in known:
        raise HTTPException(404, f"no strategy {strategy!r} in session {name} (it has "
                                 f"{', '.join(sorted(known))})")
    path = request_control(state.data_dir, session=name, strategy=strategy, action=action,
                           actor=who, note=note)
    return audit_action(state.data_dir, actor=who, action=action,
                        target=f"{name}/{strategy}", detail=f"request written to {path}")


@router.post("/{name}/strategies/{strategy}/{action}", response_model=ActionResult,
             summary="Pause, resume, stop or start one strategy of a running session")
async def control(state: State, who: Actor, name: str, strategy: str, action: ControlAction,
                  body: ControlNote | None = None) -> Any:
    """The session applies the request within a bar (or when it next starts):

    * ``pause``: no more ``on_bar`` decisions; its resting orders and protective exits stay
      live and the risk engine still watches it;
    * ``resume``: decisions again from the next bar;
    * ``stop``: ``on_stop`` called, its open entry orders cancelled — the protective exits
      of an open position are kept — and no more events until ``start``;
    * ``start``: ``on_start`` called again, decisions from the next bar.

    The state survives a restart of the session; each change is journaled as the
    strategy's state transition with the actor."""
    return await run_in_threadpool(_control, state, who, name, strategy, action,
                                   body.note if body else "")


@router.get("/{name}/health", response_model=SessionHealth)
async def health(state: State, name: str) -> Any:
    """The feed's health per instrument: state (healthy, stale, failed-over; replay for a
    historical replay), provider in use, last bar and its age."""
    try:
        snapshot = await state.snapshots.current(name)
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from None
    # the feed-state files are read off the event loop
    return await run_in_threadpool(live.session_health, snapshot.detail, state.data_dir)


@router.get("/{name}/equity", response_model=SessionEquity)
async def equity(state: State, name: str,
                 limit: int = Query(default=2000, ge=2, le=100_000)) -> Any:
    """The session's equity curve (market time, each strategy's equity and their total),
    thinned to ``limit`` points; the stream's ``equity`` messages carry the new ones."""
    try:
        return await run_in_threadpool(live.equity_points, state.data_dir, name,
                                       limit=limit)
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from None
