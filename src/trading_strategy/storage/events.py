"""Risk verdicts and strategy lifecycle events: append and list (newest first)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from trading_strategy.core.bars import datetime_to_ns
from trading_strategy.storage.jsonable import from_json, to_json
from trading_strategy.storage.records import RiskEventRecord, StrategyEventRecord, text_of
from trading_strategy.storage.tables import RiskEventRow, StrategyEventRow
from trading_strategy.storage.transactions import reading, writing
from trading_strategy.storage.types import to_utc

__all__ = ["EventRepository"]


def _optional_text(value: Any) -> str | None:
    return None if value is None else text_of(value)


def _risk_values(event: RiskEventRecord) -> dict[str, Any]:
    return {
        "ts_event": to_utc(event.ts_event), "strategy": event.strategy,
        "verdict": text_of(event.verdict), "reason": event.reason, "symbol": event.symbol,
        "client_order_id": event.client_order_id,
        "trading_state": _optional_text(event.trading_state),
        "detail": to_json(event.detail),
    }


def _strategy_values(event: StrategyEventRecord) -> dict[str, Any]:
    return {
        "ts_event": to_utc(event.ts_event), "strategy": event.strategy,
        "from_state": _optional_text(event.from_state), "to_state": text_of(event.to_state),
        "reason": event.reason, "detail": to_json(event.detail),
    }


# built once: a session saves a batch of events after every bar that had some
_INSERT_RISK = insert(RiskEventRow)
_INSERT_STRATEGY = insert(StrategyEventRow)


class EventRepository:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def save_events(self, *, risk: Sequence[RiskEventRecord] = (),
                    strategy: Sequence[StrategyEventRecord] = ()) -> None:
        """Several events in one transaction (a session's batch between bars)."""
        if not risk and not strategy:
            return
        with writing(self._engine) as connection:
            if risk:
                connection.execute(_INSERT_RISK, [_risk_values(e) for e in risk])
            if strategy:
                connection.execute(_INSERT_STRATEGY, [_strategy_values(e) for e in strategy])

    def save_risk_event(self, event: RiskEventRecord) -> int:
        values = _risk_values(event)
        with writing(self._engine) as connection:
            new_id: int = connection.execute(
                insert(RiskEventRow).values(**values).returning(RiskEventRow.id)
            ).scalar_one()
        return new_id

    def list_risk_events(self, *, strategy: str | None = None, since_ns: int | None = None,
                         limit: int = 100) -> list[RiskEventRecord]:
        query = select(RiskEventRow.__table__).order_by(RiskEventRow.ts_event.desc(),
                                              RiskEventRow.id.desc())
        if strategy is not None:
            query = query.where(RiskEventRow.strategy == strategy)
        if since_ns is not None:
            query = query.where(RiskEventRow.ts_event >= to_utc(since_ns))
        with reading(self._engine) as connection:
            rows = connection.execute(query.limit(limit)).all()
        return [
            RiskEventRecord(
                ts_event=datetime_to_ns(row.ts_event), strategy=row.strategy,
                verdict=row.verdict, reason=row.reason, symbol=row.symbol,
                client_order_id=row.client_order_id, trading_state=row.trading_state,
                detail=from_json(row.detail), id=row.id,
            )
            for row in rows
        ]

    def save_strategy_event(self, event: StrategyEventRecord) -> int:
        values = _strategy_values(event)
        with writing(self._engine) as connection:
            new_id: int = connection.execute(
                insert(StrategyEventRow).values(**values).returning(StrategyEventRow.id)
            ).scalar_one()
        return new_id

    def list_strategy_events(self, *, strategy: str | None = None,
                             since_ns: int | None = None, limit: int = 100
                             ) -> list[StrategyEventRecord]:
        query = select(StrategyEventRow.__table__).order_by(StrategyEventRow.ts_event.desc(),
                                                  StrategyEventRow.id.desc())
        if strategy is not None:
            query = query.where(StrategyEventRow.strategy == strategy)
        if since_ns is not None:
            query = query.where(StrategyEventRow.ts_event >= to_utc(since_ns))
        with reading(self._engine) as connection:
            rows = connection.execute(query.limit(limit)).all()
        return [
            StrategyEventRecord(
                ts_event=datetime_to_ns(row.ts_event), strategy=row.strategy,
                to_state=row.to_state, reason=row.reason, from_state=row.from_state,
                detail=from_json(row.detail), id=row.id,
            )
            for row in rows
        ]
