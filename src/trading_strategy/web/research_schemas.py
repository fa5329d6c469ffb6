"""API schemas of stored research runs (optimisations and walk-forwards)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

__all__ = ["ResearchDetailOut", "ResearchList", "ResearchSummaryOut"]


class ResearchSummaryOut(BaseModel):
    id: int
    kind: str
    strategy: str
    symbol: str | None
    timeframe: str | None
    created_at: datetime
    objective: str
    trials: int | None
    best_params: dict[str, Any] | None
    best_score: float | None
    verdict: str | None
    code_version: str


class ResearchList(BaseModel):
    runs: list[ResearchSummaryOut]
    total: int
    limit: int
    offset: int


class ResearchDetailOut(BaseModel):
    summary: ResearchSummaryOut
    #: what ``--json`` wrote, plus ``title`` and ``heatmap`` (optimize) or
    #: ``equity_times`` (walk-forward)
    report: dict[str, Any]
