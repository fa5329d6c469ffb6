"""The HTML pages: static files that read the API (no server-side templating needed)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

router = APIRouter(include_in_schema=False)
_PAGES = Path(__file__).resolve().parent.parent / "static" / "pages"


def _page(name: str) -> FileResponse:
    return FileResponse(_PAGES / name, media_type="text/html")


@router.get("/")
async def dashboard() -> FileResponse:
    return _page("dashboard.html")


@router.get("/runs")
async def runs_page() -> FileResponse:
    return _page("runs.html")


@router.get("/runs/compare")
async def compare_page() -> FileResponse:
    return _page("compare.html")


@router.get("/runs/{run_id}")
async def run_page(run_id: int) -> FileResponse:
    return _page("run.html")
