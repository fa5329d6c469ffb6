"""Supervisor: restart policies, intensity/escalation, backoff, isolation, shutdown.

Time is fake: the supervisor's ``sleep`` advances a counter and yields once, so a backoff of
minutes costs nothing. Tests drive the loop with ``asyncio.run`` (no plugin needed).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine, Iterator, MutableMapping
from typing import Any

import pytest
import structlog

from trading_strategy.core.errors import ConfigError, OperatorActionRequired
from trading_strategy.runtime import (
    Backoff,
    IllegalTransition,
    LifecycleEvent,
    LifecycleState,
    RestartIntensity,
    RestartPolicy,
    Supervisor,
    SupervisorError,
)

S = LifecycleState


@pytest.fixture(autouse=True)
def logs() -> Iterator[list[MutableMapping[str, Any]]]:
    """Capture structlog events instead of rendering them (fast, assertable)."""
    with structlog.testing.capture_logs() as captured:
        yield captured


def run(coro: Coroutine[Any, Any, None]) -> None:
    asyncio.run(asyncio.wait_for(coro, timeout=5))


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def now_ns(self) -> int:
        return round(self.now * 1e9)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def make(time: FakeTime, events: list[LifecycleEvent] | None = None, *,
         max_restarts: int = 3, within: float = 60.0, **kw: Any) -> Supervisor:
    return Supervisor(
        sink=events.append if events is not None else None, clock=time,
        monotonic=time.monotonic, sleep=time.sleep,
        backoff=Backoff(initial=0.1, factor=2.0, max=1.0),
        intensity=RestartIntensity(max_restarts=max_restarts, within=within), **kw)


class Crasher:
    """Raises on every run (or only on the first ``times`` runs, then idles)."""

    def __init__(self, name: str = "crasher", *, times: int | None = None,
                 error: Exception | None = None, step: float = 0.0,
                 time: FakeTime | None = None) -> None:
        self.name = name
        self.runs = 0
        self._times = times
        self._error = error or ValueError("boom")
        self._step, self._time = step, time

    async def run(self) -> None:
        self.runs += 1
        if self._time is not None:
            self._time.now += self._step  # ran for a while before crashing
        if self._times is None or self.runs <= self._times:
            raise self._error
        await asyncio.Event().wait()


class Worker:
    """Processes an inbox forever; counts its starts."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.starts = 0
        self.inbox: asyncio.Queue[int] = asyncio.Queue()
        self.handled: list[int] = []

    async def run(self) -> None:
        self.starts += 1
        while True:
            self.handled.append(await self.inbox.get())


class Finisher:
    def __init__(self, name: str = "finisher") -> None:
        self.name = name
        self.runs = 0

    async def run(self) -> None:
        self.runs += 1


def test_backoff_sequence() -> None:
    backoff = Backoff(initial=0.1, factor=2.0, max=1.0)
    assert [backoff.delay(k) for k in range(6)] == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0])
    assert Backoff(initial=1, factor=10, max=60).delay(10_000) == 60


def test_jitter_is_deterministic_and_only_shortens() -> None:
    backoff = Backoff(initial=1.0, factor=2.0, max=8.0, jitter=0.5)
    first = [backoff.delay(k, key="sma") for k in range(4)]
    assert first == [backoff.delay(k, key="sma") for k in range(4)]
    assert first != [backoff.delay(k, key="rsi") for k in range(4)]
    for k, d in enumerate(first):
        base = min(8.0, 2.0 ** k)
        assert base * 0.5 <= d <= base


@pytest.mark.parametrize("kw", [dict(initial=-1), dict(factor=0.5), dict(initial=5, max=1),
                                dict(jitter=2)])
def test_bad_backoff_is_a_config_error(kw: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        Backoff(**kw)


def test_restart_then_escalate(logs: list[MutableMapping[str, Any]]) -> None:
    time, events = FakeTime(), list[LifecycleEvent]()

    async def scenario() -> None:
        sup = make(time, events, max_restarts=3)
        crasher = Crasher()
        sup.add(crasher)
        await sup.start()
        assert await sup.wait_for("crasher", S.FAILED) is S.FAILED
        assert crasher.runs == 4                       # first run + 3 restarts
        assert time.sleeps == pytest.approx([0.1, 0.2, 0.4])
        assert sup.restart_counts() == {"crasher": 3}
        status = sup.status()[0]
        assert status.last_error == "ValueError: boom"
        await sup.stop()

    run(scenario())
    transitions = [(e.from_state, e.to_state) for e in events]
    assert transitions == [(S.STOPPED, S.STARTING)] + [
        (S.STARTING, S.RUNNING), (S.RUNNING, S.STARTING)] * 3 + [
        (S.STARTING, S.RUNNING), (S.RUNNING, S.FAILED)]
    assert [e.is_restart for e in events].count(True) == 3
    final = events[-1]
    assert final.cause == "ValueError"
    assert "escalated" in final.reason and "3 restarts within 60s" in final.reason
    assert [e["event"] for e in logs if e["component"] == "crasher"] == [
        "component.restarting"] * 3 + ["component.failed"]
    failed = logs[3]
    assert failed["log_level"] == "error" and failed["reason"] == final.reason
    assert isinstance(failed["exc_info"], ValueError)


def test_failing_child_does_not_disturb_the_others() -> None:
    time = FakeTime()

    async def scenario() -> None:
        sup = make(time, max_restarts=2)
        left, right, crasher = Worker("left"), Worker("right"), Crasher()
        for child in (left, crasher, right):
            sup.add(child)
        async with sup:
            left.inbox.put_nowait(1)
            await sup.wait_for("crasher", S.FAILED)
            left.inbox.put_nowait(2)
            right.inbox.put_nowait(3)
            for _ in range(3):
                await asyncio.sleep(0)
            assert sup.state("left") is S.RUNNING and sup.state("right") is S.RUNNING
            assert (left.starts, right.starts) == (1, 1)
            assert left.handled == [1, 2] and right.handled == [3]
            assert sup.restart_counts() == {"left": 0, "crasher": 2, "right": 0}
        assert [s.state for s in sup.status()] == [S.STOPPED, S.FAILED, S.STOPPED]

    run(scenario())


def test_restarts_outside_the_window_do_not_count() -> None:
    time = FakeTime()

    async def scenario() -> None:
        # crashes 6 times, each after running 20 s: never 2 restarts within 15 s
        sup = make(time, max_restarts=1, within=15.0)
        crasher = Crasher(times=6, step=20.0, time=time)
        sup.add(crasher)
        await sup.start()
        for _ in range(50):
            await asyncio.sleep(0)
        assert sup.state("crasher") is S.RUNNING
        assert crasher.runs == 7
        assert time.sleeps == pytest.approx([0.1] * 6)   # the backoff started over each time
        await sup.stop()

    run(scenario())


def test_transient_temporary_permanent() -> None:
    time = FakeTime()

    async def scenario() -> None:
        sup = make(time, max_restarts=2)
        transient_ok, transient_bad = Finisher("t-ok"), Crasher("t-bad", times=1)
        temporary_bad, permanent_ok = Crasher("tmp-bad"), Finisher("p-ok")
        sup.add(transient_ok, restart=RestartPolicy.TRANSIENT)
        sup.add(transient_bad, restart=RestartPolicy.TRANSIENT)
        sup.add(temporary_bad, restart=RestartPolicy.TEMPORARY)
        sup.add(permanent_ok)
        await sup.start()
        assert await sup.wait_for("t-ok", S.STOPPED) is S.STOPPED
        assert await sup.wait_for("tmp-bad", S.FAILED) is S.FAILED
        assert await sup.wait_for("p-ok", S.FAILED) is S.FAILED   # returns too often
        await asyncio.sleep(0)
        assert sup.state("t-bad") is S.RUNNING
        assert (transient_ok.runs, transient_bad.runs) == (1, 2)
        assert (temporary_bad.runs, permanent_ok.runs) == (1, 3)
        assert sup.restart_counts() == {"t-ok": 0, "t-bad": 1, "tmp-bad": 0, "p-ok": 2}
        await sup.stop()

    run(scenario())


def test_operator_action_required_is_never_retried() -> None:
    time, events = FakeTime(), list[LifecycleEvent]()

    async def scenario() -> None:
        sup = make(time, events)
        crasher = Crasher(error=OperatorActionRequired("position mismatch"))
        sup.add(crasher)
        await sup.start()
        await sup.wait_for("crasher", S.FAILED)
        assert crasher.runs == 1 and time.sleeps == []
        await sup.stop()

    run(scenario())
    assert "operator action required" in events[-1].reason


def test_a_cancellation_nobody_asked_for_is_a_crash() -> None:
    time = FakeTime()

    class Victim:
        name = "victim"
        runs = 0

        async def run(self) -> None:
            self.runs += 1
            if self.runs == 1:
                future = asyncio.get_running_loop().create_future()
                future.cancel()
                await future
            await asyncio.Event().wait()

    async def scenario() -> None:
        sup = make(time)
        victim = Victim()
        sup.add(victim)
        await sup.start()
        for _ in range(5):
            await asyncio.sleep(0)
        assert victim.runs == 2 and sup.restart_counts() == {"victim": 1}
        await sup.stop()

    run(scenario())


def test_graceful_stop_paths() -> None:
    time, events = FakeTime(), list[LifecycleEvent]()

    class Polite:
        name = "polite"

        def __init__(self) -> None:
            self.done = asyncio.Event()
            self.stopped_cleanly = False

        async def run(self) -> None:
            await self.done.wait()
            self.stopped_cleanly = True

        async def on_stop(self) -> None:
            self.done.set()

    class Plain:
        name = "plain"
        cleaned = False

        async def run(self) -> None:
            try:
                await asyncio.Event().wait()
            finally:
                self.cleaned = True

    class Stubborn:
        name = "stubborn"

        async def run(self) -> None:
            with contextlib.suppress(asyncio.CancelledError):  # ignores the first one
                await asyncio.Event().wait()
            # ...and ends only at the cancellation of loop teardown
            await asyncio.Event().wait()

    async def scenario() -> None:
        sup = make(time, events, shutdown_timeout=0.02)
        polite, plain, stubborn = Polite(), Plain(), Stubborn()
        for child in (polite, plain, stubborn):
            sup.add(child)
        await sup.start()
        await asyncio.sleep(0)
        await sup.stop()
        assert polite.stopped_cleanly and plain.cleaned
        assert sup.state("polite") is S.STOPPED and sup.state("plain") is S.STOPPED
        assert sup.state("stubborn") is S.FAILED

    run(scenario())
    stops = [e.component for e in events if e.to_state is S.STOPPING]
    assert stops == ["stubborn", "plain", "polite"]      # reverse order of addition
    failed = [e for e in events if e.to_state is S.FAILED]
    assert len(failed) == 1 and "did not stop within 0.02s" in failed[0].reason


def test_stop_during_backoff() -> None:
    async def scenario() -> None:
        sup = Supervisor(backoff=Backoff(initial=3600, max=3600))  # real sleep, never ends
        sup.add(Crasher())
        await sup.start()
        await sup.wait_for("crasher", S.STARTING)
        await asyncio.sleep(0)
        assert sup.state("crasher") is S.STARTING
        await sup.stop(timeout=1)
        assert sup.state("crasher") is S.STOPPED

    run(scenario())


def test_degraded_recovered_and_operator_restart() -> None:
    time, events = FakeTime(), list[LifecycleEvent]()

    async def scenario() -> None:
        sup = make(time, events, max_restarts=0)
        worker, crasher = Worker("feed"), Crasher(times=1)
        sup.add(worker)
        await sup.start()
        await sup.wait_for("feed", S.RUNNING)
        sup.report_degraded("feed", "no bar for 3 intervals")
        sup.report_degraded("feed", "still stale")                 # no-op
        assert sup.state("feed") is S.DEGRADED
        sup.report_recovered("feed", "bars flowing")
        assert sup.state("feed") is S.RUNNING
        sup.add(crasher)                                            # added while running
        await sup.wait_for("crasher", S.FAILED)                     # max_restarts=0
        with pytest.raises(IllegalTransition, match="not degraded"):
            sup.report_recovered("crasher", "fine now?")
        with pytest.raises(SupervisorError, match="only a failed or stopped"):
            await sup.restart("feed")
        await sup.restart("crasher")
        await sup.wait_for("crasher", S.RUNNING)
        assert crasher.runs == 2 and sup.restart_counts()["crasher"] == 0
        with pytest.raises(TimeoutError):
            await sup.wait_for("crasher", S.STOPPED, timeout=0.01)
        await sup.stop()

    run(scenario())
    degraded = [e for e in events if e.to_state is S.DEGRADED]
    assert [e.reason for e in degraded] == ["no bar for 3 intervals"]
    assert any(e.from_state is S.FAILED and e.reason == "operator restart" for e in events)


def test_misuse() -> None:
    sup = Supervisor()
    sup.add(Finisher("a"))
    with pytest.raises(ConfigError, match="duplicate"):
        sup.add(Finisher("a"))
    with pytest.raises(SupervisorError, match="no component 'b'"):
        sup.state("b")


def test_a_failing_sink_does_not_break_supervision() -> None:
    time = FakeTime()

    def sink(event: LifecycleEvent) -> None:
        raise RuntimeError("event store down")

    async def scenario() -> None:
        sup = Supervisor(sink=sink, clock=time, monotonic=time.monotonic, sleep=time.sleep,
                         intensity=RestartIntensity(max_restarts=1))
        sup.add(Crasher())
        await sup.start()
        await sup.wait_for("crasher", S.FAILED)
        await sup.stop()

    run(scenario())


def test_concurrent_stops_agree() -> None:
    async def scenario() -> None:
        sup = Supervisor()
        worker = Worker("w")
        sup.add(worker)
        await sup.start()
        await sup.wait_for("w", S.RUNNING)
        await asyncio.gather(sup.stop(), sup.stop())
        assert sup.state("w") is S.STOPPED
        await sup.stop()                                             # idempotent

    run(scenario())
