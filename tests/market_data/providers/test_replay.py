"""Replay provider: merged time order, speed scaling, contract shape."""

from __future__ import annotations

import asyncio

from trading_strategy.market_data.providers.base import BarEvent
from trading_strategy.market_data.providers.replay import ReplayProvider
from trading_strategy.testing import make_bars


def _collect(provider: ReplayProvider) -> list[BarEvent]:
    async def go() -> list[BarEvent]:
        return [e async for e in provider.stream()]

    return asyncio.run(go())


def test_two_instruments_merge_in_time_order() -> None:
    a = make_bars([1, 2, 3], symbol="A", timeframe="1h")
    b = make_bars([10, 20], symbol="B", timeframe="1h", start="2020-01-01T00:30")
    events = _collect(ReplayProvider([a, b]))
    assert [(e.symbol, e.bar.close) for e in events] == [
        ("A", 1.0), ("B", 10.0), ("A", 2.0), ("B", 20.0), ("A", 3.0)]
    assert all(e.timeframe == "1h" for e in events)
    times = [e.bar.ts_event for e in events]
    assert times == sorted(times)


def test_speed_scales_the_waits() -> None:
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)

    bars = make_bars([1, 2, 3], timeframe="1m")
    _collect(ReplayProvider([bars], speed=60.0, sleep=fake_sleep))
    # one minute of market time per second at speed 60
    assert waits == [1.0, 1.0]


def test_start_index_skips_history() -> None:
    bars = make_bars([1, 2, 3, 4], symbol="X")
    events = _collect(ReplayProvider([bars], start_index={"X": 2}))
    assert [e.bar.close for e in events] == [3.0, 4.0]


def test_negative_speed_is_refused() -> None:
    import pytest

    with pytest.raises(ValueError, match="speed"):
        ReplayProvider([], speed=-1)
