"""CcxtVenue against the fake Binance: error translation, unknown outcomes, secrets.

Every error text raised in these tests is collected and checked for the API key and
secret at the end of the module (``test_no_error_text_ever_holds_a_secret`` runs last).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from trading_strategy.core.enums import OrderStatus, OrderType, Side
from trading_strategy.core.errors import ConfigError
from trading_strategy.orders.venues.base import (
    OrderOutcomeUnknown,
    OrderRequest,
    VenueRejected,
    VenueUnavailable,
)
from trading_strategy.orders.venues.ccxt_venue import (
    ENV_API_KEY,
    ENV_SECRET,
    CcxtVenue,
    ExchangeAuthError,
    ExchangeCredentials,
)
from trading_strategy.testing_exchange import FakeBinance, ServedApp

pytestmark = pytest.mark.asyncio
Fake = tuple[FakeBinance, ServedApp]
CcxtFactory = Callable[..., CcxtVenue]
#: the fake exchange's credentials (conftest.py creates it with these)
API_KEY, SECRET = "key-4f1c9a", "s3cr3t-Zq8vWx1y"
ERROR_TEXTS: list[str] = []


def remember(exc: BaseException) -> str:
    text = f"{exc!s} {exc!r} {exc.args!r}"
    ERROR_TEXTS.append(text)
    return text


def buy(cid: str, qty: str = "0.01", price: str | None = None) -> OrderRequest:
    kind = OrderType.LIMIT if price else OrderType.MARKET
    return OrderRequest(cid, "BTCUSDT", Side.BUY, kind, Decimal(qty),
                        Decimal(price) if price else None)


async def test_insufficient_funds_and_filter_failures_are_rejections(
        fake_exchange: Fake, make_ccxt_venue: CcxtFactory) -> None:
    exchange, _ = fake_exchange
    venue = make_ccxt_venue()
    try:
        exchange.reject_next_order()
        with pytest.raises(VenueRejected, match="insufficient balance") as info:
            await venue.submit(buy("r1"))
        remember(info.value)
        exchange.reject_next_order(-1013, "Filter failure: PRICE_FILTER")
        with pytest.raises(VenueRejected, match="PRICE_FILTER") as info:
            await venue.submit(buy("r2", price="40000.01"))
        remember(info.value)
        # off the tick: refused before sending (ccxt would round it silently)
        with pytest.raises(VenueRejected, match=r"tick size 0\.01"):
            await venue.submit(buy("r4", price="40000.005"))
        with pytest.raises(VenueRejected, match="step size"):
            await venue.submit(buy("r5", qty="0.000001"))
        with pytest.raises(VenueRejected, match="not supported") as info:
            await venue.submit(OrderRequest("r3", "BTCUSDT", Side.SELL, OrderType.STOP,
                                            Decimal("0.01"), None, Decimal("45000")))
        assert exchange.orders == {}
    finally:
        await venue.close()


async def test_timeout_without_an_order_is_an_unknown_outcome_then_safe_to_resend(
        fake_exchange: Fake, make_ccxt_venue: CcxtFactory) -> None:
    exchange, _ = fake_exchange
    venue = make_ccxt_venue(timeout_ms=300)
    try:
        exchange.stall_next_order(0.8, create=False)
        with pytest.raises(OrderOutcomeUnknown) as info:
            await venue.submit(buy("u1"))
        assert info.value.client_order_id == "u1"
        remember(info.value)
        ack = await venue.submit(buy("u1"))  # the same id again: now it goes through
        assert ack.status is OrderStatus.FILLED
        assert len(exchange.orders_with_client_id("u1")) == 1
    finally:
        await venue.close()


async def test_timeout_after_the_order_was_created_is_resolved_by_client_id(
        fake_exchange: Fake, make_ccxt_venue: CcxtFactory) -> None:
    exchange, _ = fake_exchange
    venue = make_ccxt_venue(timeout_ms=300)
    try:
        exchange.stall_next_order(0.8, create=True)
        ack = await venue.submit(buy("k1", price="40000"))
        assert (ack.client_order_id, ack.status) == ("k1", OrderStatus.ACCEPTED)
        again = await venue.submit(buy("k1", price="40000"))
        assert again.venue_order_id == ack.venue_order_id
        # a fresh adapter (e.g. after a restart) re-sending the id does not duplicate it
        other = make_ccxt_venue()
        try:
            third = await other.submit(buy("k1", price="40000"))
        finally:
            await other.close()
        assert third.venue_order_id == ack.venue_order_id
        assert len(exchange.orders_with_client_id("k1")) == 1
        assert [m for m, p in exchange.requests if p == "order"].count("POST") == 2
    finally:
        await venue.close()


async def test_5xx_on_submit_is_unknown_and_on_reads_unavailable(
        fake_exchange: Fake, make_ccxt_venue: CcxtFactory) -> None:
    exchange, _ = fake_exchange
    venue = make_ccxt_venue()
    try:
        await venue.fetch_open_orders()  # markets loaded
        exchange.fail_next(503, path="order")
        with pytest.raises(OrderOutcomeUnknown) as info:
            await venue.submit(buy("x1"))
        remember(info.value)
        assert exchange.orders_with_client_id("x1") == []
        exchange.fail_next(500, path="account")
        with pytest.raises(VenueUnavailable) as unavailable:
            await venue.fetch_balances()
        remember(unavailable.value)
        assert (await venue.fetch_balances())["USDT"] == Decimal(100_000)
    finally:
        await venue.close()


async def test_unreachable_exchange_is_unavailable() -> None:
    venue = CcxtVenue(["BTCUSDT"], credentials=ExchangeCredentials(API_KEY, SECRET),
                      api_url="http://127.0.0.1:9", timeout_ms=500)
    try:
        with pytest.raises(VenueUnavailable) as info:
            await venue.fetch_balances()
        remember(info.value)
    finally:
        await venue.close()


@pytest.mark.parametrize(("key", "secret"), [(API_KEY, "wrong-" + SECRET),
                                             ("wrong-" + API_KEY, SECRET)])
async def test_bad_credentials_are_an_operator_error_without_the_secret(
        make_ccxt_venue: CcxtFactory, key: str, secret: str) -> None:
    venue = make_ccxt_venue(key=key, secret=secret)
    try:
        with pytest.raises(ExchangeAuthError, match=ENV_SECRET) as info:
            await venue.submit(buy("a1"))
        assert isinstance(info.value, ConfigError)
        text = remember(info.value)
        assert secret not in text and key not in text
        with pytest.raises(ExchangeAuthError) as again:
            await venue.fetch_balances()
        remember(again.value)
    finally:
        await venue.close()


async def test_credentials_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_API_KEY, raising=False)
    monkeypatch.delenv(ENV_SECRET, raising=False)
    with pytest.raises(ConfigError, match=f"{ENV_API_KEY} and {ENV_SECRET}"):
        ExchangeCredentials.from_env()
    monkeypatch.setenv(ENV_API_KEY, API_KEY)
    monkeypatch.setenv(ENV_SECRET, SECRET)
    creds = ExchangeCredentials.from_env()
    assert (creds.api_key, creds.secret) == (API_KEY, SECRET)
    assert SECRET not in repr(creds) and API_KEY not in repr(creds)
    assert creds.redact(f"x {SECRET} y signature=ab12cd {API_KEY}") == \
        "x *** y signature=*** ***"


async def test_no_error_text_ever_holds_a_secret(fake_exchange: Fake) -> None:
    assert (fake_exchange[0].api_key, fake_exchange[0].secret) == (API_KEY, SECRET)
    assert len(ERROR_TEXTS) >= 8
    for text in ERROR_TEXTS:
        assert SECRET not in text and API_KEY not in text, text
