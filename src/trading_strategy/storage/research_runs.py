"""Research runs repository: finished optimisations and walk-forwards, saved whole.

A research run is one ``research_runs`` row: headline columns (kind, strategy, symbol,
timeframe, objective, trial count, best parameters and score, the overall verdict) to list
and filter in SQL, and the full JSON report (what ``optimize --json`` writes, plus what the
dashboard draws) as one document. Scores are statistics: floats, not exact decimals.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Engine

from trading_strategy.core.errors import UserError
from trading_strategy.storage.tables import ResearchRunRow
from trading_strategy.storage.transactions import reading, writing
from trading_strategy.storage.version import code_version

__all__ = ["KINDS", "ResearchRunDetail", "ResearchRunRepository", "ResearchRunSummary"]

#: what a research run can be
KINDS = ("optimize", "walk_forward")


@dataclass(frozen=True, slots=True)
class ResearchRunSummary:
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


@dataclass(frozen=True, slots=True)
class ResearchRunDetail:
    summary: ResearchRunSummary
    report: dict[str, Any]


_SUMMARY_COLUMNS = tuple(getattr(ResearchRunRow, name)
                         for name in ResearchRunSummary.__dataclass_fields__)


class ResearchRunRepository:
    """Save, list, read and delete research runs on one engine."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def save_run(self, *, kind: str, strategy: str, symbol: str | None, timeframe: str | None,
             objective: str, report: Mapping[str, Any], trials: int | None = None,
             best_params: Mapping[str, Any] | None = None, best_score: float | None = None,
             verdict: str | None = None, created_at: datetime | None = None) -> int:
        """Store one finished run; its id. ``report`` must be JSON-ready (no NaN)."""
        if kind not in KINDS:
            raise UserError(f"research run kind: one of {', '.join(KINDS)}, got {kind!r}")
        score = None if best_score is None or not math.isfinite(best_score) else best_score
        values = {"kind": kind, "strategy": strategy, "symbol": symbol,
                  "timeframe": timeframe, "objective": objective[:64], "trials": trials,
                  "best_params": None if best_params is None else dict(best_params),
                  "best_score": score, "verdict": verdict, "report": dict(report),
                  "created_at": created_at or datetime.now(UTC),
                  "code_version": code_version()}
        with writing(self._engine) as connection:
            new_id = connection.execute(
                insert(ResearchRunRow).values(**values).returning(ResearchRunRow.id)
            ).scalar_one()
        return int(new_id)

    def list_runs(self, *, kind: str | None = None, strategy: str | None = None,
             limit: int = 50, offset: int = 0) -> tuple[list[ResearchRunSummary], int]:
        """A page of runs, newest first, and how many match in all."""
        query = select(*_SUMMARY_COLUMNS)
        count = select(func.count()).select_from(ResearchRunRow)
        for column, value in ((ResearchRunRow.kind, kind), (ResearchRunRow.strategy, strategy)):
            if value is not None:
                query = query.where(column == value)
                count = count.where(column == value)
        query = query.order_by(ResearchRunRow.created_at.desc(), ResearchRunRow.id.desc())
        with reading(self._engine) as connection:
            rows = connection.execute(query.limit(limit).offset(offset)).all()
            total = int(connection.execute(count).scalar_one())
        return [ResearchRunSummary(*row) for row in rows], total

    def get_run(self, run_id: int) -> ResearchRunDetail | None:
        with reading(self._engine) as connection:
            row = connection.execute(
                select(*_SUMMARY_COLUMNS, ResearchRunRow.report)
                .where(ResearchRunRow.id == run_id)).one_or_none()
        if row is None:
            return None
        *head, report = row
        return ResearchRunDetail(ResearchRunSummary(*head), dict(report))

    def delete_run(self, run_id: int) -> bool:
        """Delete one run; whether it existed."""
        with writing(self._engine) as connection:
            deleted = connection.execute(delete(ResearchRunRow)
                                         .where(ResearchRunRow.id == run_id))
        return bool(deleted.rowcount)
