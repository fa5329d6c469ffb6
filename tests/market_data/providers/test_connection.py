from __future__ import annotations

import asyncio
import random

import pytest

from trading_strategy.market_data.providers.base import Health, HealthChange
from trading_strategy.market_data.providers.connection import Backoff, HealthTracker, RateLimiter


def test_backoff_is_full_jitter_under_a_capped_exponential_ceiling() -> None:
    backoff = Backoff(0.1, 1.0, random.Random(7))
    ceilings, delays = [], []
    for _ in range(8):
        ceilings.append(backoff.ceiling())
        delays.append(backoff.next_delay())
    assert ceilings == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0, 1.0]
    assert all(0 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert len(set(delays)) == len(delays)  # jittered, not a fixed ladder
    again = Backoff(0.1, 1.0, random.Random(7))
    assert [again.next_delay() for _ in range(8)] == delays  # seedable
    backoff.reset()
    assert backoff.ceiling() == 0.1


def test_backoff_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="base <= cap"):
        Backoff(1.0, 0.5)


def test_rate_limiter_paces_past_the_burst() -> None:
    now = [0.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    async def run() -> None:
        limiter = RateLimiter(5, monotonic=lambda: now[0], sleep=sleep)
        for _ in range(7):
            await limiter.acquire()

    asyncio.run(run())
    assert slept == pytest.approx([0.2, 0.2])  # 5 at once, then one every 1/5 s
    assert now[0] == pytest.approx(0.4)


def test_health_tracker_reports_changes_only() -> None:
    seen: list[HealthChange] = []
    tracker = HealthTracker("p", lambda: 5, seen.append)
    tracker.set(Health.CONNECTING, "a")
    tracker.set(Health.CONNECTING, "again")
    tracker.set(Health.LIVE, "b")
    assert seen == tracker.history == [
        HealthChange("p", Health.DOWN, Health.CONNECTING, "a", 5),
        HealthChange("p", Health.CONNECTING, Health.LIVE, "b", 5)]


def test_health_changes_as_an_async_iterator() -> None:
    async def run() -> list[Health]:
        tracker = HealthTracker("p", lambda: 0)
        out: list[Health] = []

        async def consume() -> None:
            async for change in tracker.changes():
                out.append(change.current)

        task = asyncio.create_task(consume())
        await asyncio.sleep(0)
        tracker.set(Health.CONNECTING, "")
        tracker.set(Health.LIVE, "")
        tracker.end()
        await task
        return out

    assert asyncio.run(run()) == [Health.CONNECTING, Health.LIVE]
