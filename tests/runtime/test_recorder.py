"""The session's event recorder: the events file at once, the database in batches."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from trading_strategy.runtime.recorder import EventRecorder


class _Files:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.lines: list[tuple[str, dict[str, Any]]] = []

    def event(self, kind: str, data: dict[str, Any]) -> None:
        self.lines.append((kind, data))


class _RowByRow:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def save_risk_event(self, event: Any) -> int:
        self.calls.append(f"risk {event.verdict}")
        return 1

    def save_strategy_event(self, event: Any) -> int:
        self.calls.append(f"strategy {event.to_state}")
        return 1


class _Batching(_RowByRow):
    def save_events(self, *, risk: list[Any], strategy: list[Any]) -> None:
        self.calls.append(f"batch {[e.verdict for e in risk]} {[e.to_state for e in strategy]}")


def _record(recorder: EventRecorder) -> None:
    recorder("risk_verdict", {"strategy": "s", "status": "accepted", "order_id": "o1"})
    recorder("strategy_event", {"component": "s", "from": "starting", "to": "running"})
    recorder("risk_state", {"scope": None, "current": "halted", "previous": "active",
                            "ts_ns": 5, "reason": "drawdown"})


def test_events_reach_the_file_at_once_and_the_database_on_flush(tmp_path: Path) -> None:
    files, repo = _Files(tmp_path), _RowByRow()
    recorder = EventRecorder(files, repo)
    _record(recorder)
    assert [kind for kind, _ in files.lines] == ["risk_verdict", "strategy_event",
                                                 "risk_state"]
    assert recorder.count == 3 and repo.calls == []
    recorder.flush()
    assert repo.calls == ["risk accepted", "risk state_change", "strategy running"]
    recorder.flush()  # nothing new: nothing written
    assert len(repo.calls) == 3
    assert json.loads((tmp_path / "halts.json").read_text())["portfolio"]["ts_ns"] == 5


def test_a_repository_that_batches_gets_one_call_per_flush(tmp_path: Path) -> None:
    repo = _Batching()
    recorder = EventRecorder(_Files(tmp_path), repo)
    _record(recorder)
    recorder.flush()
    assert repo.calls == ["batch ['accepted', 'state_change'] ['running']"]


class _Failing(_RowByRow):
    def save_events(self, *, risk: list[Any], strategy: list[Any]) -> None:
        raise OSError("disk full")


def test_pending_rows_stay_until_written(tmp_path: Path) -> None:
    recorder = EventRecorder(_Files(tmp_path), _Failing())
    _record(recorder)
    risk, lifecycle = recorder.pending()
    assert [e.verdict for e in risk] == ["accepted", "state_change"]
    assert [e.to_state for e in lifecycle] == ["running"]
    with pytest.raises(OSError, match="disk full"):
        recorder.flush()
    assert len(recorder.pending()[0]) == 2  # a failed write keeps them for the next one
    recorder.written()
    assert recorder.pending() == ([], [])
