"""Stored research runs for the API: a page of them, one with its report, deletion."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from trading_strategy.core.errors import UserError
from trading_strategy.storage.research_runs import KINDS, ResearchRunRepository

__all__ = ["delete_research", "list_research", "research_detail"]


def _repository(store: Any) -> ResearchRunRepository:
    return ResearchRunRepository(store.engine)


def list_research(store: Any, *, limit: int, offset: int, kind: str | None,
                  strategy: str | None) -> dict[str, Any]:
    """Newest first, filtered by kind and strategy."""
    if kind is not None and kind not in KINDS:
        raise UserError(f"kind: one of {', '.join(KINDS)}, got {kind!r}")
    found, total = _repository(store).list_runs(kind=kind, strategy=strategy, limit=limit,
                                                offset=offset)
    return {"runs": [asdict(run) for run in found], "total": total, "limit": limit,
            "offset": offset}


def research_detail(store: Any, run_id: int) -> dict[str, Any]:
    detail = _repository(store).get_run(run_id)
    if detail is None:
        raise LookupError(f"no research run with id {run_id}")
    return {"summary": asdict(detail.summary), "report": detail.report}


def delete_research(store: Any, run_id: int) -> bool:
    return _repository(store).delete_run(run_id)
