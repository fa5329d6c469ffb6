"""Historical replay: stored or file bars pushed as if they were arriving live.

``speed`` scales time: 0 replays as fast as the consumer takes events (benchmarks, tests);
``60`` plays one minute of market time per second; ``1`` is real time. Bars of several
instruments are merged in time order (ties by the order the series were given), so a
portfolio sees one consistent clock.
"""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from trading_strategy.core.bars import Bar, BarSeries
from trading_strategy.core.clock import Clock, LiveClock
from trading_strategy.market_data.providers.base import BarEvent


class ReplayProvider:
    name = "replay"

    def __init__(
        self,
        series: Sequence[BarSeries],
        *,
        speed: float = 0.0,
        clock: Clock | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        start_index: dict[str, int] | None = None,
    ) -> None:
        if speed < 0:
            raise ValueError(f"replay speed must be >= 0, got {speed}")
        self._series = list(series)
        self._speed = speed
        self._clock = clock or LiveClock()
        self._sleep = sleep
        self._start = start_index or {}
        self._closed = False

    def _merged(self) -> list[tuple[int, int, int]]:
        heads: list[tuple[int, int, int]] = []
        for k, s in enumerate(self._series):
            first = self._start.get(s.instrument.symbol, 0)
            if first < len(s):
                heads.append((int(s.ts[first]), k, first))
        heapq.heapify(heads)
        order: list[tuple[int, int, int]] = []
        while heads:
            ts, k, i = heapq.heappop(heads)
            order.append((ts, k, i))
            if i + 1 < len(self._series[k]):
                heapq.heappush(heads, (int(self._series[k].ts[i + 1]), k, i + 1))
        return order

    async def stream(self) -> AsyncIterator[BarEvent]:
        previous_ts: int | None = None
        for ts, k, i in self._merged():
            if self._closed:
                return
            s = self._series[k]
            if self._speed > 0 and previous_ts is not None and ts > previous_ts:
                await self._sleep((ts - previous_ts) / 1e9 / self._speed)
            elif self._speed == 0 and i % 256 == 0:
                await asyncio.sleep(0)  # let other tasks run during a flat-out replay
            previous_ts = ts
            bar = Bar(s.instrument.symbol, ts, float(s.open[i]), float(s.high[i]),
                      float(s.low[i]), float(s.close[i]), float(s.volume[i]))
            yield BarEvent(s.instrument.symbol, str(s.timeframe), bar, self._clock.now_ns())

    async def close(self) -> None:
        self._closed = True
