"""``/api/v1/research``: stored optimisations and walk-forwards; and their pages."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from trading_strategy.web.deps import Actor, State
from trading_strategy.web.research_schemas import ResearchDetailOut, ResearchList
from trading_strategy.web.schemas import ActionResult
from trading_strategy.web.services import research
from trading_strategy.web.services.actions import audit_action

router = APIRouter()
_PAGES = Path(__file__).resolve().parent.parent / "static" / "pages"


@router.get("/api/v1/research", response_model=ResearchList, tags=["research"])
async def list_research(state: State, limit: Annotated[int, Query(ge=1, le=500)] = 50,
                        offset: Annotated[int, Query(ge=0)] = 0,
                        kind: Annotated[str | None, Query(
                            description="optimize or walk_forward")] = None,
                        strategy: str | None = None) -> Any:
    return await run_in_threadpool(research.list_research, state.store, limit=limit,
                                   offset=offset, kind=kind, strategy=strategy)


@router.get("/api/v1/research/{run_id}", response_model=ResearchDetailOut, tags=["research"])
async def get_research(state: State, run_id: int) -> Any:
    try:
        return await run_in_threadpool(research.research_detail, state.store, run_id)
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from None


@router.delete("/api/v1/research/{run_id}", response_model=ActionResult, tags=["research"])
async def delete_research(state: State, who: Actor, run_id: int) -> Any:
    if not await run_in_threadpool(research.delete_research, state.store, run_id):
        raise HTTPException(404, f"no research run with id {run_id}")
    return audit_action(state.data_dir, actor=who, action="delete_research",
                        target=str(run_id), detail="deleted")


@router.get("/research", include_in_schema=False)
async def research_page() -> FileResponse:
    return FileResponse(_PAGES / "research.html", media_type="text/html")


@router.get("/research/{run_id}", include_in_schema=False)
async def research_run_page(run_id: int) -> FileResponse:
    return FileResponse(_PAGES / "research_run.html", media_type="text/html")
