"""Runtime: supervisor, message bus, component lifecycle and the composition root of each mode.

Components are asyncio tasks that own their state and talk only through the :class:`Bus`;
a :class:`Supervisor` runs them one-for-one with OTP-style restart policies; every lifecycle
change is a :class:`LifecycleEvent` handed to a sink (stored as strategy events).
"""

from trading_strategy.runtime.bus import (
    Backpressure,
    Bus,
    BusError,
    Envelope,
    InvalidTopic,
    NoSuchEndpoint,
    Overflow,
    RequestTimeout,
    Subscription,
    SubscriptionStats,
)
from trading_strategy.runtime.lifecycle import (
    LIFECYCLE_TRANSITIONS,
    Backoff,
    IllegalTransition,
    Lifecycle,
    LifecycleEvent,
    LifecycleSink,
    LifecycleState,
    RestartIntensity,
    RestartPolicy,
)
from trading_strategy.runtime.supervisor import (
    ChildStatus,
    Component,
    Supervisor,
    SupervisorError,
)

__all__ = [
    "LIFECYCLE_TRANSITIONS",
    "Backoff",
    "Backpressure",
    "Bus",
    "BusError",
    "ChildStatus",
    "Component",
    "Envelope",
    "IllegalTransition",
    "InvalidTopic",
    "Lifecycle",
    "LifecycleEvent",
    "LifecycleSink",
    "LifecycleState",
    "NoSuchEndpoint",
    "Overflow",
    "RequestTimeout",
    "RestartIntensity",
    "RestartPolicy",
    "Subscription",
    "SubscriptionStats",
    "Supervisor",
    "SupervisorError",
]
