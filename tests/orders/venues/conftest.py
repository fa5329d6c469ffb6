"""Shared fixtures: a fake Binance served on a free loopback port, and CcxtVenues for it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from trading_strategy.orders.venues.ccxt_venue import CcxtVenue, ExchangeCredentials
from trading_strategy.testing_exchange import FakeBinance, ServedApp

API_KEY = "key-4f1c9a"
SECRET = "s3cr3t-Zq8vWx1y"

CcxtFactory = Callable[..., CcxtVenue]


@pytest.fixture
def fake_exchange() -> Iterator[tuple[FakeBinance, ServedApp]]:
    exchange = FakeBinance(api_key=API_KEY, secret=SECRET)
    with ServedApp(exchange.app()) as served:
        yield exchange, served


@pytest.fixture
def make_ccxt_venue(fake_exchange: tuple[FakeBinance, ServedApp]) -> CcxtFactory:
    """CcxtVenue(s) for the fake exchange; keyword overrides: secret, key, timeout_ms."""
    url = fake_exchange[1].url

    def make(*, secret: str = SECRET, key: str = API_KEY, timeout_ms: int = 3000) -> CcxtVenue:
        return CcxtVenue(["BTCUSDT"], credentials=ExchangeCredentials(key, secret), api_url=url,
                         timeout_ms=timeout_ms, poll_interval=0.05)

    return make
