"""``CcxtHistory`` against the fake Binance REST server (real ccxt, real HTTP on 127.0.0.1)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal

import pytest

from trading_strategy.core.errors import ConfigError
from trading_strategy.market_data.providers.ccxt_history import CcxtHistory, ccxt_timeframe
from trading_strategy.testing_exchange import FakeBinance, ServedApp

MIN_MS = 60_000
T0_MS = 1717200000000
MS = 1_000_000
OPTIONS = {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False,
           "fetchMargins": False}


@pytest.fixture(scope="module")
def fake() -> Iterator[tuple[FakeBinance, str]]:
    exchange = FakeBinance()
    exchange.add_klines("BTCUSDT", "1m", [
        (T0_MS + i * MIN_MS, Decimal(100 + i), Decimal(102 + i), Decimal(99 + i),
         Decimal("101.25") + i, Decimal("0.5")) for i in range(30)])
    with ServedApp(exchange.app()) as served:
        yield exchange, served.url


def history(url: str, now_ms: int, page_limit: int = 1000) -> CcxtHistory:
    return CcxtHistory("binance", rest_url=url, page_limit=page_limit, options=OPTIONS,
                       clock_ns=lambda: now_ms * MS)


def fetch(h: CcxtHistory, start_ms: int, end_ms: int) -> list[tuple[int, float]]:
    async def run() -> list[tuple[int, float]]:
        try:
            series = await h.request_bars("BTC/USDT", "1m", start_ms * MS, end_ms * MS)
        finally:
            await h.close()
        assert series.instrument.tick_size == Decimal("0.01")
        return [(int(t) // MS, float(c)) for t, c in zip(series.ts, series.close, strict=True)]

    return asyncio.run(run())


def test_pages_through_the_range_half_open(fake: tuple[FakeBinance, str]) -> None:
    exchange, url = fake
    before = len(exchange.requests)
    bars = fetch(history(url, T0_MS + 10**9, page_limit=7), T0_MS + 2 * MIN_MS,
                 T0_MS + 20 * MIN_MS)
    assert bars == [(T0_MS + i * MIN_MS, 101.25 + i) for i in range(2, 20)]
    assert [r for r in exchange.requests[before:] if r[1] == "klines"] == [("GET", "klines")] * 3


def test_only_closed_bars(fake: tuple[FakeBinance, str]) -> None:
    _, url = fake
    now = T0_MS + 5 * MIN_MS + 30_000  # the 5th minute's bar is still forming
    bars = fetch(history(url, now), T0_MS, T0_MS + 30 * MIN_MS)
    assert [t for t, _ in bars] == [T0_MS + i * MIN_MS for i in range(5)]


def test_unknown_exchange_and_symbol(fake: tuple[FakeBinance, str]) -> None:
    _, url = fake
    with pytest.raises(ConfigError, match="unknown ccxt exchange 'nope'"):
        CcxtHistory("nope")

    async def run() -> None:
        h = history(url, T0_MS)
        try:
            await h.request_bars("DOGE/EUR", "1m", T0_MS * MS, (T0_MS + MIN_MS) * MS)
        finally:
            await h.close()

    with pytest.raises(ConfigError, match="no symbol 'DOGE/EUR'"):
        asyncio.run(run())


def test_timeframes() -> None:
    assert ccxt_timeframe("1mo") == "1M" and ccxt_timeframe("15m") == "15m"
