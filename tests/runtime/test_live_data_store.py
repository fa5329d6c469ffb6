"""Live bars reach the bar store once processed, with their provider as source, and the
feed's health reaches the session's Prometheus registry (read when scraped)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

from trading_strategy.core.bars import Bar
from trading_strategy.core.instrument import AssetClass, Calendar, Instrument
from trading_strategy.market_data.providers.base import BarEvent
from trading_strategy.market_data.providers.connection import ConnectionSettings
from trading_strategy.observability.metrics import SessionMetrics, summarize
from trading_strategy.runtime.live_data import LiveData, store_live_bars
from trading_strategy.runtime.portfolio_config import DataSection
from trading_strategy.storage import open_store
from trading_strategy.testing_exchange import (
    AwaitRequest,
    FakeStreamServer,
    Send,
    Step,
    binance_reply,
)

MINUTE_MS = 60_000
T0_MS = 1717200000000
MS = 1_000_000
SETTINGS = ConnectionSettings(backoff_base=0.01, backoff_cap=0.05, silence_timeout=30.0,
                              ping_interval=None, open_timeout=2.0,
                              max_messages_per_second=50)
BTC = Instrument("BTC/USDT", tick_size=Decimal("0.01"), lot_size=Decimal("0.00001"),
                 venue="binance", asset_class=AssetClass.CRYPTO, currency="USDT",
                 calendar=Calendar.ALWAYS)


def kline(minute: int) -> str:
    t = T0_MS + minute * MINUTE_MS
    return json.dumps({"stream": "btcusdt@kline_1m", "data": {
        "e": "kline", "E": t + MINUTE_MS, "s": "BTCUSDT", "k": {
            "t": t, "T": t + MINUTE_MS - 1, "s": "BTCUSDT", "i": "1m", "f": 1, "L": 2,
            "o": "100", "c": "100.5", "h": "101", "l": "99", "v": "1", "n": 2, "x": True,
            "q": "100", "V": "0", "Q": "0", "B": "0"}}})


def stored(minute: int) -> BarEvent:
    ts = (T0_MS + minute * MINUTE_MS) * MS
    return BarEvent("BTC/USDT", "1m", Bar("BTC/USDT", ts, 100, 101, 99, 100.5, 1), 0, "")


def test_live_bars_are_stored_once_processed_with_their_source_and_metrics_see_the_feed(
        tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'bars.db'}")
    metrics = SessionMetrics()
    written: list[int] = []
    write = store_live_bars(store.bars, {"BTC/USDT": BTC})

    def on_bar(event: BarEvent) -> None:
        written.append((event.bar.ts_event // MS - T0_MS) // MINUTE_MS)
        write(event)

    async def history() -> AsyncIterator[BarEvent]:
        yield stored(0)

    # minute 0 again live (dropped at the seam), a duplicate of 2, then 3
    script: list[Step] = [AwaitRequest(), Send(kline(0)), Send(kline(1)), Send(kline(2)),
                          Send(kline(2)), Send(kline(3))]
    section = DataSection.model_validate({"default": {
        "providers": ["binance"], "timeframe": "1m"},
        "providers": {"binance": {"rest_url": "http://127.0.0.1:9"}}})

    scraped: list[bytes] = []

    async def run() -> list[tuple[int, list[int]]]:
        async with FakeStreamServer([script], reply=binance_reply) as server:
            section.providers["binance"] = section.providers["binance"].model_copy(
                update={"ws_url": server.url})
            live = LiveData(section, {"BTC/USDT": None}, settings=SETTINGS,
                            watch_every_s=0.02, on_bar=on_bar, metrics=metrics.feed())
            out = []
            stream = live.after(history(), lambda event: None)
            async for event in stream:
                minute = (event.bar.ts_event // MS - T0_MS) // MINUTE_MS
                # a bar is stored after the session processed it, never before
                out.append((minute, list(written)))
                if minute == 3:
                    scraped.append(metrics.render())  # while the feed runs
                    break
            await stream.aclose()
            return out

    try:
        got = asyncio.run(run())
        assert got == [(0, []), (1, []), (2, [1]), (3, [1, 2])]
        sources = store.bars.read_sources("BTC/USDT", "1m")
        assert sources == [((T0_MS + m * MINUTE_MS) * MS, "binance") for m in (1, 2)]
        summary = summarize(scraped[0])
        assert summary["gauges"]["feed_stale"] == {"symbol=BTC/USDT": 0.0}
        assert summary["gauges"]["feed_provider"] == {"provider=binance,symbol=BTC/USDT": 1.0}
        assert summary["gauges"]["feed_last_bar_timestamp_seconds"] == {
            "symbol=BTC/USDT": (T0_MS + 2 * MINUTE_MS) / 1000}
        counters = summary["counters"]
        assert counters["feed_duplicates_total"]["symbol=BTC/USDT"] == 1.0  # minute 2 again
        assert counters["feed_provider_switches_total"]["symbol=BTC/USDT"] == 0.0
    finally:
        store.close()


def test_a_bar_the_store_refuses_is_logged_and_the_stream_goes_on() -> None:
    def refuse(event: BarEvent) -> None:
        raise OSError("disk full")

    live = LiveData(DataSection.model_validate({"default": {"providers": ["binance"],
                                                            "timeframe": "1m"}}),
                    {"BTC/USDT": None}, on_bar=refuse)
    live._processed(stored(1))  # must not raise
    assert live.last_bar == {"BTC/USDT": stored(1).bar.ts_event}
