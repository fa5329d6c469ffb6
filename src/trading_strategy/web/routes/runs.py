"""``/api/v1/runs``: stored backtest runs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from starlette.concurrency import run_in_threadpool

from trading_strategy.web.deps import Actor, State
from trading_strategy.web.schemas import ActionResult, CandlePoint, RunDetailOut, RunList
from trading_strategy.web.services import runs
from trading_strategy.web.services.actions import audit_action

router = APIRouter(prefix="/api/v1/runs", tags=["runs"])


@router.get("", response_model=RunList)
async def list_runs(state: State, limit: Annotated[int, Query(ge=1, le=500)] = 50,
                    offset: Annotated[int, Query(ge=0)] = 0,
                    sort: Annotated[str, Query(description="a metric: " + ", ".join(
                        runs.SORTABLE))] = "id",
                    order: Annotated[str, Query(pattern="^(asc|desc)$")] = "desc",
                    strategy: str | None = None, symbol: str | None = None) -> Any:
    found, total = await run_in_threadpool(
        runs.list_runs, state.store, limit=limit, offset=offset, sort=sort,
        descending=order == "desc", strategy=strategy, symbol=symbol)
    from dataclasses import asdict

    return {"runs": [asdict(r) for r in found], "total": total, "limit": limit,
            "offset": offset}


@router.get("/{run_id}", response_model=RunDetailOut)
async def get_run(state: State, run_id: int,
                  points: Annotated[int, Query(ge=10, le=100_000)] = 2000,
                  start: datetime | None = None, end: datetime | None = None) -> Any:
    if start is not None and end is not None and start > end:
        raise HTTPException(422, "start must not be after end")
    try:
        return await run_in_threadpool(runs.run_detail, state.store, run_id, points=points,
                                       start=start, end=end)
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from None


@router.get("/{run_id}/candles", response_model=list[CandlePoint])
async def get_candles(state: State, run_id: int,
                      points: Annotated[int, Query(ge=10, le=100_000)] = 5000) -> Any:
    try:
        return await run_in_threadpool(runs.run_candles, state.store, run_id, points=points)
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from None


@router.delete("/{run_id}", response_model=ActionResult)
async def delete_run(state: State, who: Actor, run_id: int) -> Any:
    if not await run_in_threadpool(state.store.runs.delete_run, run_id):
        raise HTTPException(404, f"no backtest run with id {run_id}")
    return audit_action(state.data_dir, actor=who, action="delete_run", target=str(run_id),
                        detail="deleted")
