"""Component lifecycle: a declared transition table and an event for every change.

::

    STOPPED ──► STARTING ──► RUNNING ◄──► DEGRADED
                   ▲            │             │
                   └────────────┴─────────────┘   restart, after a backoff
    STARTING, RUNNING, DEGRADED ──► STOPPING ──► STOPPED      graceful stop
    RUNNING, DEGRADED ──► STOPPED                              run() returned, not restarted
    STARTING, RUNNING, DEGRADED, STOPPING ──► FAILED ──► STARTING (operator restart only)

A component starts life ``STOPPED``. ``STARTING`` covers both the first start and the wait
(backoff) before a restart; ``RUNNING`` means its ``run()`` is executing; ``DEGRADED`` is
reported by the component itself (stale data, lost connection) and cleared back to
``RUNNING``. ``FAILED`` is terminal for the supervisor: it crashed too often, raised
``OperatorActionRequired``, or would not stop; only an operator restart leaves it.

Every change produces one :class:`LifecycleEvent` passed to a pluggable sink (a callable;
the session stores them as strategy events). A sink that raises is logged and ignored: a
broken event store must not break supervision.

The rules for coming back that the supervisor applies live here too, as plain values:
:class:`RestartPolicy`, :class:`RestartIntensity`, :class:`Backoff` (their exact semantics
are in :mod:`trading_strategy.runtime.supervisor`).
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Callable
from enum import StrEnum

import structlog

from trading_strategy.core.clock import Clock, LiveClock
from trading_strategy.core.errors import ConfigError
from trading_strategy.core.fsm import IllegalTransition, TransitionTable

__all__ = [
    "LIFECYCLE_TRANSITIONS",
    "Backoff",
    "IllegalTransition",
    "Lifecycle",
    "LifecycleEvent",
    "LifecycleSink",
    "LifecycleState",
    "RestartIntensity",
    "RestartPolicy",
]

_log = structlog.get_logger(__name__)


class LifecycleState(StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    DEGRADED = "degraded"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FAILED = "failed"


_S = LifecycleState

LIFECYCLE_TRANSITIONS: TransitionTable[LifecycleState] = TransitionTable({
    _S.STOPPED: [
        _S.STARTING,
    ],
    _S.STARTING: [
        _S.RUNNING,
        _S.STOPPING,
        _S.FAILED,     # unusual: escalated before run() began (e.g. the task itself died)
    ],
    _S.RUNNING: [
        _S.DEGRADED,
        _S.STARTING,   # crashed (or a permanent child returned): restart after a backoff
        _S.STOPPING,
        _S.STOPPED,    # run() returned and the policy does not restart it: nothing to stop
        _S.FAILED,     # crashed and will not be restarted (intensity exceeded, temporary)
    ],
    _S.DEGRADED: [
        _S.RUNNING,    # the component reported recovery
        _S.STARTING,
        _S.STOPPING,
        _S.STOPPED,
        _S.FAILED,
    ],
    _S.STOPPING: [
        _S.STOPPED,
        _S.FAILED,     # did not finish within the shutdown timeout, even after cancellation
    ],
    _S.FAILED: [
        _S.STARTING,   # operator restart only; the supervisor never does this by itself
    ],
})


@dataclasses.dataclass(frozen=True, slots=True)
class LifecycleEvent:
    """One state change. ``ts_event``: UTC nanoseconds from the session clock.

    ``cause`` is the exception type name when an exception caused the change (a crash), so
    metrics can label restarts by reason without the free-text ``reason``.
    """

    component: str
    from_state: LifecycleState
    to_state: LifecycleState
    reason: str
    ts_event: int
    cause: str | None = None

    @property
    def is_restart(self) -> bool:
        """True for the transition that schedules an automatic restart."""
        return (self.to_state is LifecycleState.STARTING
                and self.from_state in (LifecycleState.RUNNING, LifecycleState.DEGRADED))


LifecycleSink = Callable[[LifecycleEvent], None]


class Lifecycle:
    """The lifecycle state of one component; :meth:`transition` is the only way to change it."""

    __slots__ = ("_clock", "_sink", "_state", "component")

    def __init__(self, component: str, *, sink: LifecycleSink | None = None,
                 clock: Clock | None = None,
                 initial: LifecycleState = LifecycleState.STOPPED) -> None:
        self.component = component
        self._sink = sink
        self._clock: Clock = clock if clock is not None else LiveClock()
        self._state = initial

    @property
    def state(self) -> LifecycleState:
        return self._state

    def can(self, target: LifecycleState) -> bool:
        return LIFECYCLE_TRANSITIONS.allowed(self._state, target)

    def transition(self, target: LifecycleState, reason: str, *,
                   cause: str | None = None) -> LifecycleEvent:
        """Move to ``target`` and emit the event; raise :class:`IllegalTransition` if the
        table has no such edge (the state is then unchanged and nothing is emitted)."""
        try:
            LIFECYCLE_TRANSITIONS.check(self._state, target)
        except IllegalTransition as exc:
            raise IllegalTransition(f"component {self.component!r}: {exc} ({reason})") from None
        event = LifecycleEvent(self.component, self._state, target, reason,
                               self._clock.now_ns(), cause)
        self._state = target
        if self._sink is not None:
            try:
                self._sink(event)
            except Exception:
                _log.exception("lifecycle.sink_failed", component=self.component,
                               to_state=str(target))
        return event


# --- the rules for coming back (applied by the supervisor) ------------------------------
class RestartPolicy(StrEnum):
    """OTP restart policies; see :mod:`~trading_strategy.runtime.supervisor`."""

    PERMANENT = "permanent"
    TRANSIENT = "transient"
    TEMPORARY = "temporary"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Backoff:
    """Delay before restart ``k``: ``min(max, initial * factor**k)`` × jitter in
    ``[1 - jitter, 1]`` (deterministic from ``key`` and ``k``; ``jitter=0`` disables it)."""

    initial: float = 0.5
    factor: float = 2.0
    max: float = 30.0
    jitter: float = 0.0

    def __post_init__(self) -> None:
        if not (0 <= self.initial <= self.max and self.factor >= 1 and 0 <= self.jitter <= 1):
            raise ConfigError(f"invalid backoff {self}: need 0 <= initial <= max, "
                              "factor >= 1, 0 <= jitter <= 1")

    def delay(self, attempt: int, *, key: str = "") -> float:
        try:
            base = min(self.max, self.initial * self.factor ** attempt)
        except OverflowError:
            base = self.max
        if not self.jitter:
            return base
        unit = zlib.crc32(f"{key}:{attempt}".encode()) / 0xFFFFFFFF
        return base * (1.0 - self.jitter * unit)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RestartIntensity:
    """At most ``max_restarts`` automatic restarts within any ``within`` seconds."""

    max_restarts: int = 5
    within: float = 60.0

    def __post_init__(self) -> None:
        if self.max_restarts < 0 or self.within <= 0:
            raise ConfigError(f"invalid restart intensity {self}: need max_restarts >= 0 "
                              "and within > 0 seconds")
