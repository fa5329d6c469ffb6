"""Operators pause, resume, stop and start one strategy of a running session (the
dashboard's buttons, ``trading-strategy strategy ...``): a replayed paper session applies
each request within a bar, journals it as the strategy's state transition with its actor,
and remembers it across a restart."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, ClassVar

import pytest

from trading_strategy.core.enums import OrderStatus
from trading_strategy.observability.status import parse_events, session_status, status_lines
from trading_strategy.orders.journal import InMemoryJournal
from trading_strategy.risk.commands import StrategyControl
from trading_strategy.runtime import session as session_module
from trading_strategy.runtime.portfolio_config import parse_portfolio
from trading_strategy.runtime.rearm import read_strategy_states, record_control_request
from trading_strategy.runtime.session import PaperSession
from trading_strategy.strategies import registry
from trading_strategy.strategies.base import Strategy


class Watched(Strategy):
    """Records what the framework asks of it; buys when flat and leaves one resting entry
    far below the market (it never fills: a stop must cancel it)."""

    name = "watched"
    seen: ClassVar[list[tuple[str, int]]] = []

    def on_start(self) -> None:
        Watched.seen.append(("start", self.ctx.bar_index))

    def on_stop(self) -> None:
        Watched.seen.append(("stop", self.ctx.bar_index))

    def on_fill(self, fill: Any) -> None:
        Watched.seen.append(("fill", self.ctx.bar_index))

    def on_bar(self) -> None:
        ctx = self.ctx
        Watched.seen.append(("bar", ctx.bar_index))
        if ctx.is_flat and not ctx.open_orders:
            close = ctx.bars.close[0]
            # protected by a stop far below: an exit that must outlive a stop
            ctx.buy(10, stop_loss=close * 0.5)
        if ctx.is_long and not [o for o in ctx.open_orders if not o.reduce_only]:
            ctx.buy(1, limit=ctx.bars.close[0] * 0.3)


class Operator(Strategy):
    """Pulls the controls of ``watched`` at the bars of ``plan`` (as the web app would)."""

    name = "operator"
    data_dir: ClassVar[Path] = Path()
    session: ClassVar[str] = ""
    plan: ClassVar[dict[int, str]] = {}

    def on_bar(self) -> None:
        action = Operator.plan.get(self.ctx.bar_index)
        if action is not None:
            record_control_request(Operator.data_dir, StrategyControl(
                Operator.session, "watched", action, "web:alice", 0, "test"))  # type: ignore[arg-type]


@pytest.fixture
def strategies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(session_module, "_REQUESTS_EVERY_S", 0.0)  # look at every bar
    monkeypatch.setattr(registry, "_extra", dict(registry._extra))  # restored afterwards
    monkeypatch.setattr(Watched, "seen", [])
    monkeypatch.setattr(Operator, "data_dir", tmp_path)
    registry.register(Watched)
    registry.register(Operator)


def _raw(name: str, plan: dict[int, str], *, end: str | None = None) -> dict[str, Any]:
    Operator.session, Operator.plan = name, plan
    session: dict[str, Any] = {"name": name}
    if end is not None:
        session["end"] = end
    return {
        "session": session,
        "venue": {"commission": 0.001},
        "strategies": [
            {"name": "watched", "strategy": "watched", "symbol": "GOOG",
             "capital": 50000, "size": "10"},
            # after ``watched`` on the same symbol: its request applies at the end of the bar
            {"name": "operator", "strategy": "operator", "symbol": "GOOG",
             "capital": 1000, "size": "1"},
        ],
    }


def _run(tmp_path: Path, raw: dict[str, Any]) -> PaperSession:
    session = PaperSession(parse_portfolio(raw), data_dir=tmp_path,
                           journal_factory=lambda root: InMemoryJournal())
    asyncio.run(session.run())
    return session


def _bars(kind: str) -> list[int]:
    return [i for what, i in Watched.seen if what == kind]


def _events(session: PaperSession) -> list[dict[str, Any]]:
    return parse_events((session.files.root / "events.jsonl").read_text())[0]


def test_pause_skips_decisions_and_resume_brings_them_back(
        tmp_path: Path, strategies: None) -> None:
    session = _run(tmp_path, _raw("p", {100: "pause", 150: "resume"}))
    bars = _bars("bar")
    # decisions up to the pause's bar, none while paused, again from the bar after resume
    assert 100 in bars and 151 in bars
    assert not [i for i in bars if 100 < i <= 150]
    assert bars[-1] == len(session.series["GOOG"]) - 1  # the bars still reached it
    transitions = [e for e in _events(session) if e["kind"] == "strategy_event"
                   and e.get("cause") == "operator"]
    assert [(e["from"], e["to"], e["actor"]) for e in transitions] == [
        ("running", "paused", "web:alice"), ("paused", "running", "web:alice")]
    assert read_strategy_states(session.files.root)["watched"]["state"] == "running"
    assert session.result.strategies["watched"]["state"] == "running"


def test_pause_keeps_resting_orders_and_exits_live(tmp_path: Path, strategies: None) -> None:
    session = _run(tmp_path, _raw("keep", {50: "pause"}))
    manager = session.execution.manager
    mine = [o for o in manager.orders() if o.strategy == "watched"]
    # the resting entry and the stop-loss of the open position are still working
    assert [o for o in mine if o.is_open and not o.reduce_only]
    assert [o for o in mine if o.is_open and o.reduce_only]
    assert not [o for o in mine if o.status is OrderStatus.CANCELLED]
    assert session.execution.risk.state("watched").value == "active"


def test_stop_cancels_entries_keeps_exits_and_start_calls_on_start_again(
        tmp_path: Path, strategies: None) -> None:
    session = _run(tmp_path, _raw("s", {80: "stop", 120: "start"}))
    last = len(session.series["GOOG"]) - 1
    assert _bars("stop") == [80, last]  # the operator's, then the session's end
    starts = _bars("start")
    assert len(starts) == 2 and starts[1] == 120  # the initial start and the restart
    assert not [i for what, i in Watched.seen if what != "start" and 80 < i <= 120]
    manager = session.execution.manager
    cancelled = [o for o in manager.orders() if o.strategy == "watched"
                 and o.status is OrderStatus.CANCELLED]
    assert cancelled and all(not o.reduce_only for o in cancelled)
    stop_event = next(e for e in _events(session) if e.get("action") == "stop")
    assert sorted(stop_event["cancelled"]) == sorted(o.id for o in cancelled)
    # the protective exit of the position opened before the stop lived through it
    exits = [o for o in manager.orders() if o.strategy == "watched" and o.reduce_only]
    # (the position is bought on the first bars and held: one exit, placed long before)
    assert exits and exits[0].is_open


def test_the_state_survives_a_restart_and_shows_in_the_status(
        tmp_path: Path, strategies: None) -> None:
    _run(tmp_path, _raw("r", {60: "pause"}, end="2005-06-30"))
    first = list(Watched.seen)
    Watched.seen.clear()
    session = _run(tmp_path, _raw("r", {}))
    # resumed after the checkpoint, still paused: no decision and no second on_start
    assert 60 in [i for what, i in first if what == "bar"]
    assert _bars("bar") == [] and len(_bars("start")) == 1
    # a stopped strategy is not started by a restart, nor stopped twice at the end
    Watched.seen.clear()
    _run(tmp_path, _raw("r2", {10: "stop"}, end="2005-06-30"))
    Watched.seen.clear()
    _run(tmp_path, _raw("r2", {}))
    assert Watched.seen == []
    assert read_strategy_states(session.files.root)["watched"]["state"] == "paused"
    assert read_strategy_states(session.files.root)["operator"]["state"] == "running"
    report = session_status(name="r", session_id=session.session_id, entries=[],
                            events=_events(session))
    assert report["strategy_states"]["watched"]["state"] == "paused"
    assert report["strategy_states"]["watched"]["actor"] == "web:alice"
    held = [line for line in status_lines(report) if "held by an operator" in line]
    assert held and "watched PAUSED since" in held[0] and "web:alice" in held[0]
    assert "operator" not in held[0].split(":", 1)[1]  # the running one is not listed


def test_requests_for_another_session_or_strategy_change_nothing(
        tmp_path: Path, strategies: None) -> None:
    record_control_request(tmp_path, StrategyControl("elsewhere", "watched", "stop",
                                                     "web:bob", 0))
    record_control_request(tmp_path, StrategyControl("q", "nobody", "pause", "web:bob", 0))
    session = _run(tmp_path, _raw("q", {}))
    last = len(session.series["GOOG"]) - 1
    assert _bars("stop") == [last]  # the session's own end, no operator's stop
    assert len(_bars("bar")) == last + 1
    assert json.loads((session.files.root / "control-applied.json").read_text()) == 2


def test_a_bad_request_line_is_named() -> None:
    with pytest.raises(ValueError, match="action must be one of"):
        StrategyControl.from_json(json.dumps({
            "command": "strategy", "session": "s", "strategy": "x", "action": "explode",
            "actor": "me", "ts_ns": 0}))
