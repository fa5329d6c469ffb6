"""Clocks: the only source of "now". The backtest engine never reads the wall clock."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now_ns(self) -> int:
        """UTC nanoseconds since the Unix epoch."""
        ...


class LiveClock:
    def now_ns(self) -> int:
        return time.time_ns()


class SimulatedClock:
    """Advanced explicitly by a driver (the backtest engine, a replay, a test)."""

    __slots__ = ("_now",)

    def __init__(self, start_ns: int = 0) -> None:
        self._now = start_ns

    def now_ns(self) -> int:
        return self._now

    def set(self, ns: int) -> None:
        if ns < self._now:
            raise ValueError("simulated time cannot go backwards")
        self._now = ns
