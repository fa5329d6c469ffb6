"""An OTP-style supervisor for asyncio components (one-for-one).

Each child is a :class:`Component` (``name``, ``async run()``, optionally ``async on_stop()``)
whose ``run()`` executes in its own task. Policies, precisely:

Restart policy (per child, :class:`RestartPolicy`, as in OTP)
    * ``PERMANENT``: restarted whenever ``run()`` ends, by returning or by raising.
    * ``TRANSIENT``: restarted only when ``run()`` raises; a normal return → ``STOPPED``.
    * ``TEMPORARY``: never restarted; a normal return → ``STOPPED``, an exception → ``FAILED``.

    An exception is any ``Exception``, or a ``CancelledError`` the supervisor did not ask for.
    ``OperatorActionRequired`` is never retried: the child goes straight to ``FAILED``.
    One-for-one: a child's exit never touches its siblings.

Restart intensity (per child, :class:`RestartIntensity`)
    At most ``max_restarts`` automatic restarts within any ``within``-second window
    (measured on the injected monotonic clock at each exit). The exit that would need one
    more is *escalated*: the child is not restarted, it goes to ``FAILED`` with the reason
    logged (error level) and emitted as a :class:`~.lifecycle.LifecycleEvent`; the other
    children keep running. ``max_restarts=0`` escalates the first exit.

Backoff (per child, :class:`Backoff`)
    Before restart *k* (``k`` = restarts already inside the window: 0 for the first) the
    child waits, ``STARTING``, ``min(max, initial * factor**k)`` seconds via the injected
    ``sleep``, scaled by a jitter in ``[1 - jitter, 1]`` derived from its name and ``k`` (no
    randomness: reproducible). As old restarts leave the window the backoff shrinks again.

Graceful shutdown (:meth:`Supervisor.stop`)
    Children are stopped one at a time, in reverse order of addition; each goes ``STOPPING``.
    If its ``run()`` is executing and it has ``on_stop()``, that is awaited and ``run()`` may
    use the rest of the child's ``shutdown_timeout`` to return; then the task is cancelled and
    given ``min(1 s, shutdown_timeout)`` more. Without ``on_stop()`` the task is cancelled at
    once (asyncio's polite signal: ``finally`` blocks run) and given the whole timeout.
    Finished → ``STOPPED``; still running → ``FAILED`` ("did not stop").
    ``stop(timeout=...)`` also caps the whole shutdown at that many seconds.

Counts for metrics: :meth:`Supervisor.restart_counts` (cumulative automatic restarts per
child) and ``LifecycleEvent.is_restart`` / ``.cause`` on the emitted events.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Protocol, runtime_checkable

import structlog

from trading_strategy.core.clock import Clock, LiveClock
from trading_strategy.core.errors import ConfigError, OperatorActionRequired, TradingStrategyError
from trading_strategy.runtime.lifecycle import (
    Backoff,
    IllegalTransition,
    Lifecycle,
    LifecycleEvent,
    LifecycleSink,
    LifecycleState,
    RestartIntensity,
    RestartPolicy,
)

__all__ = ["ChildStatus", "Component", "Supervisor", "SupervisorError"]

_log = structlog.get_logger(__name__)
_S = LifecycleState
_CANCEL_GRACE = 1.0

Sleep = Callable[[float], Awaitable[None]]


@runtime_checkable
class Component(Protocol):
    """A long-lived asyncio component. ``run()`` returns only when its work is done.

    Optionally ``async def on_stop(self) -> None``: asks a running ``run()`` to return soon.
    """

    @property
    def name(self) -> str: ...

    async def run(self) -> None: ...


class SupervisorError(TradingStrategyError):
    """Misuse of the supervisor (unknown child, restart of a live child)."""


@dataclasses.dataclass(frozen=True, slots=True)
class ChildStatus:
    name: str
    state: LifecycleState
    policy: RestartPolicy
    restarts: int
    last_error: str | None


@dataclasses.dataclass(eq=False, slots=True)
class _Child:
    component: Component
    policy: RestartPolicy
    backoff: Backoff
    intensity: RestartIntensity
    shutdown_timeout: float
    lifecycle: Lifecycle
    task: asyncio.Task[None] | None = None
    recent: collections.deque[float] = dataclasses.field(default_factory=collections.deque)
    restarts: int = 0
    last_error: str | None = None
    stopping: bool = False
    in_run: bool = False
    waiters: list[tuple[frozenset[LifecycleState], asyncio.Future[LifecycleState]]] = (
        dataclasses.field(default_factory=list))


class Supervisor:
    """Runs children one-for-one with the policies in the module docstring.

    Inject ``clock`` (event timestamps, UTC ns), ``monotonic`` (seconds, for the intensity
    window) and ``sleep`` (the backoff wait) to test without waiting real time.
    """

    def __init__(self, *, name: str = "supervisor", sink: LifecycleSink | None = None,
                 clock: Clock | None = None, monotonic: Callable[[], float] = time.monotonic,
                 sleep: Sleep = asyncio.sleep, backoff: Backoff | None = None,
                 intensity: RestartIntensity | None = None,
                 shutdown_timeout: float = 5.0) -> None:
        self.name = name
        self._sink = sink
        self._clock: Clock = clock if clock is not None else LiveClock()
        self._monotonic = monotonic
        self._sleep = sleep
        self._backoff = backoff or Backoff()
        self._intensity = intensity or RestartIntensity()
        self._shutdown_timeout = shutdown_timeout
        self._children: dict[str, _Child] = {}
        self._started = False

    # --- configuration ------------------------------------------------------------------
    def add(self, component: Component, *, restart: RestartPolicy = RestartPolicy.PERMANENT,
            backoff: Backoff | None = None, intensity: RestartIntensity | None = None,
            shutdown_timeout: float | None = None) -> None:
        """Add a child (started at once if the supervisor is already started)."""
        name = component.name
        if name in self._children:
            raise ConfigError(f"duplicate component name {name!r}: names must be unique")
        child = _Child(
            component=component, policy=RestartPolicy(restart),
            backoff=backoff or self._backoff, intensity=intensity or self._intensity,
            shutdown_timeout=(self._shutdown_timeout if shutdown_timeout is None
                              else shutdown_timeout),
            lifecycle=Lifecycle(name, sink=self._emit, clock=self._clock))
        self._children[name] = child
        if self._started:
            self._spawn(child, "started by supervisor")

    # --- running --------------------------------------------------------------------------
    async def start(self) -> None:
        """Start every child that is ``STOPPED`` and was never started or has finished."""
        self._started = True
        for child in self._children.values():
            if child.lifecycle.state is _S.STOPPED and (child.task is None or child.task.done()):
                self._spawn(child, "started by supervisor")

    async def stop(self, *, timeout: float | None = None,
                   reason: str = "supervisor shutdown") -> None:
        """Stop all children gracefully (module docstring); ``timeout`` caps the total."""
        self._started = False
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        for child in reversed(list(self._children.values())):
            budget = child.shutdown_timeout
            if deadline is not None:
                budget = max(0.0, min(budget, deadline - loop.time()))
            await self._stop_child(child, budget, reason)

    async def restart(self, name: str, *, reason: str = "operator restart") -> None:
        """Operator action: start a ``FAILED`` or ``STOPPED`` child again, window reset."""
        child = self._get(name)
        if child.lifecycle.state not in (_S.FAILED, _S.STOPPED) or (
                child.task is not None and not child.task.done()):
            raise SupervisorError(f"component {name!r} is {child.lifecycle.state}; only a "
                                  "failed or stopped component can be restarted")
        child.recent.clear()
        self._spawn(child, reason)

    async def __aenter__(self) -> Supervisor:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()

    # --- what components report -------------------------------------------------------------
    def report_degraded(self, name: str, reason: str) -> None:
        """``RUNNING`` → ``DEGRADED`` (no-op if already degraded; raises
        ``IllegalTransition`` in any other state)."""
        lifecycle = self._get(name).lifecycle
        if lifecycle.state is not _S.DEGRADED:
            lifecycle.transition(_S.DEGRADED, reason)

    def report_recovered(self, name: str, reason: str) -> None:
        """``DEGRADED`` → ``RUNNING`` (no-op if already running; raises
        ``IllegalTransition`` in any other state, e.g. while restarting)."""
        lifecycle = self._get(name).lifecycle
        if lifecycle.state is _S.DEGRADED:
            lifecycle.transition(_S.RUNNING, reason)
        elif lifecycle.state is not _S.RUNNING:
            raise IllegalTransition(f"component {name!r} is {lifecycle.state}, not degraded")

    # --- inspection --------------------------------------------------------------------------
    def state(self, name: str) -> LifecycleState:
        return self._get(name).lifecycle.state

    def status(self) -> tuple[ChildStatus, ...]:
        return tuple(ChildStatus(n, c.lifecycle.state, c.policy, c.restarts, c.last_error)
                     for n, c in self._children.items())

    def restart_counts(self) -> dict[str, int]:
        """Cumulative automatic restarts per child (operator restarts not counted)."""
        return {n: c.restarts for n, c in self._children.items()}

    async def wait_for(self, name: str, *states: LifecycleState,
                       timeout: float | None = None) -> LifecycleState:
        """Return as soon as child ``name`` is, or enters, one of ``states`` (never misses a
        passing state); ``TimeoutError`` after ``timeout`` real seconds."""
        child = self._get(name)
        if child.lifecycle.state in states:
            return child.lifecycle.state
        future: asyncio.Future[LifecycleState] = asyncio.get_running_loop().create_future()
        entry = (frozenset(states), future)
        child.waiters.append(entry)
        try:
            async with asyncio.timeout(timeout):
                return await future
        finally:
            if entry in child.waiters:
                child.waiters.remove(entry)

    # --- internals ---------------------------------------------------------------------------
    def _get(self, name: str) -> _Child:
        try:
            return self._children[name]
        except KeyError:
            raise SupervisorError(f"no component {name!r} (known: "
                                  f"{', '.join(self._children) or 'none'})") from None

    def _emit(self, event: LifecycleEvent) -> None:
        child = self._children.get(event.component)
        if child is not None and child.waiters:
            for states, future in list(child.waiters):
                if event.to_state in states and not future.done():
                    future.set_result(event.to_state)
        if self._sink is not None:
            self._sink(event)  # Lifecycle logs and swallows a failing sink

    def _spawn(self, child: _Child, reason: str) -> None:
        child.stopping = False
        child.lifecycle.transition(_S.STARTING, reason)
        task = asyncio.create_task(self._keep(child),
                                   name=f"{self.name}:{child.component.name}")
        task.add_done_callback(lambda t: self._keeper_done(child, t))
        child.task = task

    async def _keep(self, child: _Child) -> None:
        """The child's task: run, decide, back off, run again."""
        lifecycle = child.lifecycle
        while not child.stopping:
            lifecycle.transition(_S.RUNNING, "run() started")
            error: BaseException | None = None
            child.in_run = True
            try:
                await child.component.run()
            except asyncio.CancelledError as exc:
                task = asyncio.current_task()
                if child.stopping or (task is not None and task.cancelling()):
                    raise
                error = exc  # a CancelledError nobody asked for: a crash
            except Exception as exc:
                error = exc
            finally:
                child.in_run = False
            if child.stopping:
                if error is not None:
                    child.last_error = _describe(error)
                return
            delay = self._after_exit(child, error)
            if delay is None:
                return
            await self._sleep(delay)

    def _after_exit(self, child: _Child, error: BaseException | None) -> float | None:
        """Apply the policies to one exit of ``run()``; return the backoff or None (done)."""
        name, policy, limit = child.component.name, child.policy, child.intensity
        if error is not None:
            child.last_error = _describe(error)
        what = "run() returned" if error is None else f"crashed: {child.last_error}"
        if error is None and policy is not RestartPolicy.PERMANENT:
            self._finish(child, _S.STOPPED, f"{what}; {policy} child is not restarted")
            return None
        now = self._monotonic()
        while child.recent and now - child.recent[0] >= limit.within:
            child.recent.popleft()
        attempt = len(child.recent)
        if policy is RestartPolicy.TEMPORARY:
            final = f"{what}; temporary child is not restarted"
        elif isinstance(error, OperatorActionRequired):
            final = f"{what}; operator action required, not restarted"
        elif attempt >= limit.max_restarts:
            final = (f"escalated: {what}; {attempt} restarts within {limit.within:g}s "
                     f"already (max {limit.max_restarts})")
        else:
            delay = child.backoff.delay(attempt, key=name)
            child.recent.append(now)
            child.restarts += 1
            child.lifecycle.transition(
                _S.STARTING, f"{what}; restart {attempt + 1}/{limit.max_restarts} within "
                f"{limit.within:g}s after {delay:.6g}s", cause=_cause(error))
            _log.warning("component.restarting", component=name, attempt=attempt + 1,
                         delay_s=delay, exc_info=error)
            return delay
        self._finish(child, _S.FAILED, final, error)
        return None

    def _finish(self, child: _Child, state: LifecycleState, reason: str,
                error: BaseException | None = None) -> None:
        """Final transition of a child's run: STOPPED (info log) or FAILED (error log)."""
        child.lifecycle.transition(state, reason, cause=_cause(error))
        log = _log.error if state is _S.FAILED else _log.info
        log(f"component.{state}", component=child.component.name, reason=reason,
            exc_info=error)

    async def _stop_child(self, child: _Child, budget: float, reason: str) -> None:
        task = child.task
        if task is None or task.done() or child.stopping:
            if task is not None:
                await _settle(task, budget)  # a concurrent stop() is already on it
            return
        child.stopping = True
        child.lifecycle.transition(_S.STOPPING, reason)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + budget
        on_stop: Callable[[], Awaitable[None]] | None = getattr(child.component, "on_stop", None)
        if child.in_run and on_stop is not None:
            try:
                async with asyncio.timeout(budget):
                    await on_stop()
            except Exception:  # TimeoutError included: the cancellation below follows
                _log.exception("component.on_stop_failed", component=child.component.name)
            await _settle(task, deadline - loop.time())
            budget_left = min(_CANCEL_GRACE, budget)
        else:
            budget_left = budget
        if not task.done():
            task.cancel()
            await _settle(task, budget_left)
        if child.lifecycle.state is not _S.STOPPING:
            return  # the keeper died on its own meanwhile and was flagged
        if task.done():
            self._finish(child, _S.STOPPED, reason)
        else:
            self._finish(child, _S.FAILED,
                         f"did not stop within {budget:g}s, even after cancellation")

    def _keeper_done(self, child: _Child, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if exc is None:
            return
        _log.error("supervisor.internal_error", component=child.component.name, exc_info=exc)
        if child.lifecycle.can(_S.FAILED):
            child.lifecycle.transition(_S.FAILED, f"supervisor error: {_describe(exc)}",
                                       cause=_cause(exc))


async def _settle(task: asyncio.Task[None], timeout: float) -> None:
    """Wait up to ``timeout`` seconds for ``task`` to finish, without raising its outcome."""
    if not task.done():
        await asyncio.wait((task,), timeout=max(0.0, timeout))


def _cause(error: BaseException | None) -> str | None:
    return None if error is None else type(error).__name__


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__

