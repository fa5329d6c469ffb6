"""Lifecycle transition table and events."""

from __future__ import annotations

import pytest
import structlog

from trading_strategy.core.clock import SimulatedClock
from trading_strategy.core.errors import TradingStrategyError
from trading_strategy.runtime.lifecycle import (
    LIFECYCLE_TRANSITIONS,
    IllegalTransition,
    Lifecycle,
    LifecycleEvent,
    LifecycleState,
)

S = LifecycleState


def test_normal_life_emits_one_event_per_change() -> None:
    events: list[LifecycleEvent] = []
    clock = SimulatedClock(1_000)
    lc = Lifecycle("sma", sink=events.append, clock=clock)
    assert lc.state is S.STOPPED
    for target in (S.STARTING, S.RUNNING, S.DEGRADED, S.RUNNING, S.STOPPING, S.STOPPED):
        clock.set(clock.now_ns() + 10)
        lc.transition(target, f"to {target}")
    assert [(e.from_state, e.to_state) for e in events] == [
        (S.STOPPED, S.STARTING), (S.STARTING, S.RUNNING), (S.RUNNING, S.DEGRADED),
        (S.DEGRADED, S.RUNNING), (S.RUNNING, S.STOPPING), (S.STOPPING, S.STOPPED)]
    assert [e.ts_event for e in events] == [1_010, 1_020, 1_030, 1_040, 1_050, 1_060]
    assert all(e.component == "sma" for e in events)
    assert events[0].reason == "to starting"


@pytest.mark.parametrize(("start", "target"), [
    (S.STOPPED, S.RUNNING),
    (S.STOPPED, S.FAILED),
    (S.STOPPING, S.RUNNING),
    (S.STOPPING, S.STARTING),
    (S.FAILED, S.RUNNING),
    (S.RUNNING, S.RUNNING),
    (S.STARTING, S.DEGRADED),
])
def test_illegal_transition_raises_and_changes_nothing(start: S, target: S) -> None:
    events: list[LifecycleEvent] = []
    lc = Lifecycle("x", sink=events.append, initial=start)
    with pytest.raises(IllegalTransition, match=f"{start} -> {target}"):
        lc.transition(target, "nope")
    assert lc.state is start
    assert events == []
    assert issubclass(IllegalTransition, TradingStrategyError)


def test_failed_only_leaves_by_a_restart() -> None:
    assert LIFECYCLE_TRANSITIONS.targets(S.FAILED) == frozenset({S.STARTING})
    for state in S:
        if state is not S.STOPPED:
            assert LIFECYCLE_TRANSITIONS.allowed(state, S.FAILED) or state is S.FAILED


def test_restart_flag_and_cause() -> None:
    ev = LifecycleEvent("x", S.RUNNING, S.STARTING, "crashed", 0, cause="ValueError")
    assert ev.is_restart and ev.cause == "ValueError"
    assert not LifecycleEvent("x", S.STOPPED, S.STARTING, "start", 0).is_restart


def test_a_failing_sink_does_not_block_the_transition() -> None:
    def sink(event: LifecycleEvent) -> None:
        raise RuntimeError("database down")

    lc = Lifecycle("x", sink=sink)
    with structlog.testing.capture_logs() as logs:
        event = lc.transition(S.STARTING, "go")
    assert lc.state is S.STARTING and event.to_state is S.STARTING
    assert logs[0]["event"] == "lifecycle.sink_failed" and logs[0]["component"] == "x"
