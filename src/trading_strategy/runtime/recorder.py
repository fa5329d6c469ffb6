"""Where a session's events go: its events file at once, the database between bars.

Every risk verdict, trading-state change and component lifecycle change is appended to the
session's ``events.jsonl`` as it happens (cheap, and on disk before the order it concerns
reaches a venue). Database rows (``risk_events``, ``strategy_events``) go with the order
journal's next transaction when it writes to the same database (``pending``/``written``:
a verdict is committed with the order it allowed), else in a batch with the bar's
checkpoint; either way no database round trip of their own is on the order placement
path. Halts are also remembered in ``halts.json`` so a kill switch survives a restart.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Protocol


class _Files(Protocol):
    root: Path

    def event(self, kind: str, data: dict[str, Any]) -> None: ...


class EventRecorder:
    def __init__(self, files: _Files, repository: Any | None = None) -> None:
        self._files = files
        self._repository = repository
        self._pending: list[tuple[str, dict[str, Any]]] = []
        self.halts_path = files.root / "halts.json"
        #: events recorded so far (the session checkpoints a bar that recorded any)
        self.count = 0

    def __call__(self, kind: str, data: dict[str, Any]) -> None:
        self.count += 1
        self._files.event(kind, data)
        if kind == "risk_state":
            self._remember_halt(data)
        if self._repository is not None:
            self._pending.append((kind, data))

    # --- halts that must survive a restart -------------------------------------------------
    def halts(self) -> dict[str, dict[str, Any]]:
        if not self.halts_path.exists():
            return {}
        data: dict[str, dict[str, Any]] = json.loads(self.halts_path.read_text())
        return data

    def _remember_halt(self, data: dict[str, Any]) -> None:
        key = data.get("scope") or "portfolio"
        halts = self.halts()
        if data.get("current") == "halted":
            halts[key] = {"ts_ns": data.get("ts_ns"), "message": data.get("message", "")}
        elif data.get("previous") == "halted":
            halts.pop(key, None)
        else:
            return
        tmp = self.halts_path.with_name("halts.json.tmp")
        tmp.write_text(json.dumps(halts))
        tmp.replace(self.halts_path)

    # --- the database ----------------------------------------------------------------------
    @property
    def repository(self) -> Any | None:
        return self._repository

    def pending(self) -> tuple[list[Any], list[Any]]:
        """The rows (risk, lifecycle) of the events recorded since the last write, left
        pending until ``written``: the order journal may take them into its next
        transaction when it shares the database."""
        from trading_strategy.storage import RiskEventRecord, StrategyEventRecord

        now = time.time_ns()
        risk: list[RiskEventRecord] = []
        lifecycle: list[StrategyEventRecord] = []
        for kind, data in self._pending:
            if kind == "risk_verdict":
                risk.append(RiskEventRecord(
                    ts_event=now, strategy=str(data.get("strategy")),
                    verdict=str(data.get("status")), reason=str(data.get("reason") or ""),
                    client_order_id=data.get("order_id"), detail=data))
            elif kind == "risk_state":
                risk.append(RiskEventRecord(
                    ts_event=int(data.get("ts_ns") or now),
                    strategy=str(data.get("scope") or "portfolio"), verdict="state_change",
                    reason=str(data.get("reason")), trading_state=str(data.get("current")),
                    detail=data))
            elif kind == "strategy_event":
                lifecycle.append(StrategyEventRecord(
                    ts_event=now, strategy=str(data.get("component")),
                    to_state=str(data.get("to")), from_state=data.get("from"),
                    reason=str(data.get("reason") or ""), detail=data))
        return risk, lifecycle

    def written(self) -> None:
        """What ``pending`` returned is in the database."""
        self._pending = []

    def flush(self) -> None:
        """Write the events recorded since the last flush to the database, in one
        transaction when the repository can (``save_events``), else one row at a time."""
        if not self._pending or self._repository is None:
            return
        risk, lifecycle = self.pending()
        batch = getattr(self._repository, "save_events", None)
        if batch is not None:
            batch(risk=risk, strategy=lifecycle)
            self.written()
            return
        self.written()
        for event in risk:
            self._repository.save_risk_event(event)
        for record in lifecycle:
            self._repository.save_strategy_event(record)
