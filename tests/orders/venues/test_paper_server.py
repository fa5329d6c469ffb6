"""The paper venue's HTTP API and its client over real loopback sockets: validation (422),
error translation, and a report stream that survives a server restart without losing a fill.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse

from trading_strategy.core.bars import Bar
from trading_strategy.core.enums import OrderStatus, OrderType, Side
from trading_strategy.core.instrument import Instrument
from trading_strategy.orders.venues.base import (
    FillReport,
    OrderOutcomeUnknown,
    OrderRequest,
    VenueRejected,
    VenueUnavailable,
)
from trading_strategy.orders.venues.paper import PaperVenue
from trading_strategy.orders.venues.paper_client import PaperVenueClient
from trading_strategy.orders.venues.paper_server import create_app
from trading_strategy.orders.venues.paper_store import PaperStore
from trading_strategy.testing_exchange import ServedApp

MIN = 60 * 1_000_000_000
GOOG = Instrument("GOOG", tick_size=Decimal("0.01"))


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServedApp]:
    with ServedApp(create_app(PaperVenue([GOOG], store=PaperStore(tmp_path / "p.db")))) as s:
        yield s


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/orders", '{"client_order_id": "a", "symbol": "GOOG", "side": "buy", "quantity": "1"',
     "json_invalid"),
    ("/orders", {"client_order_id": "a", "symbol": "GOOG", "side": "up", "quantity": "1"},
     "side"),
    ("/orders", {"client_order_id": "a", "symbol": "GOOG", "side": "buy", "quantity": "-1"},
     "quantity"),
    ("/orders", {"client_order_id": "a", "symbol": "GOOG", "side": "buy", "quantity": "NaN"},
     "quantity"),
    ("/orders", {"client_order_id": "", "symbol": "GOOG", "side": "buy", "quantity": "1"},
     "client_order_id"),
    ("/orders", {"client_order_id": "a", "symbol": "GOOG", "side": "buy", "quantity": "1",
                 "colour": "red"}, "colour"),
    ("/bars", {"symbol": "GOOG", "ts_event": 1, "open": 1, "high": 1, "low": 1},
     "close"),
    ("/bars", [{"symbol": "MSFT", "ts_event": 1, "open": 1, "high": 1, "low": 1,
                "close": 1}], "unknown symbol(s) MSFT"),
])
def test_malformed_requests_are_422_naming_the_problem(
        served: ServedApp, path: str, body: object, field: str) -> None:
    if isinstance(body, str):
        response = httpx.post(f"{served.url}{path}", content=body,
                              headers={"Content-Type": "application/json"})
    else:
        response = httpx.post(f"{served.url}{path}", json=body)
    assert response.status_code == 422
    assert field in response.text


def test_plain_http_round_trip(served: ServedApp) -> None:
    order = {"client_order_id": "h1", "symbol": "GOOG", "side": "buy", "quantity": "5",
             "order_type": "limit", "limit_price": "99.50"}
    first = httpx.post(f"{served.url}/orders", json=order).json()
    assert httpx.post(f"{served.url}/orders", json=order).json() == first
    assert first["status"] == "accepted"
    listed = httpx.get(f"{served.url}/orders", params={"open": "true"}).json()
    assert [(o["client_order_id"], o["limit_price"]) for o in listed] == [("h1", "99.50")]
    assert httpx.get(f"{served.url}/orders/nope").status_code == 404
    bad = httpx.post(f"{served.url}/orders", json={**order, "client_order_id": "h2",
                                                   "limit_price": "99.505"})
    assert bad.status_code == 400 and "tick size" in bad.json()["detail"]["reason"]
    health = httpx.get(f"{served.url}/health")
    assert health.json()["symbols"] == ["GOOG"] and "X-Paper-Fill-Seq" in health.headers


@pytest.mark.asyncio
async def test_report_stream_survives_a_server_restart(tmp_path: Path) -> None:
    db = tmp_path / "venue.db"
    first = ServedApp(create_app(PaperVenue([GOOG], store=PaperStore(db)))).start()
    port = first.port
    client = PaperVenueClient(first.url, backoff_initial=0.02, backoff_max=0.1)
    try:
        await client.push_bar("GOOG", Bar("GOOG", 0, 100, 100, 100, 100, 1e6))
        stream = client.reports()
        await asyncio.wait_for(stream.connected.wait(), 5)
        await client.submit(OrderRequest("r1", "GOOG", Side.BUY, OrderType.MARKET, Decimal(1)))
        await client.submit(OrderRequest("r2", "GOOG", Side.BUY, OrderType.LIMIT, Decimal(1),
                                         Decimal("90.00")))
        await client.push_bar("GOOG", Bar("GOOG", MIN, 101, 102, 100, 101, 1e6))
        fill = await asyncio.wait_for(anext(stream), 5)
        assert isinstance(fill, FillReport) and fill.client_order_id == "r1"
        await asyncio.to_thread(first.stop)  # the paper venue process goes away ...
        with pytest.raises(VenueUnavailable):
            await client.fetch_balances()
        second = ServedApp(create_app(PaperVenue([GOOG], store=PaperStore(db))), port=port)
        await asyncio.to_thread(second.start)  # ... and comes back with its state
        try:
            # r2 fills while the stream may still be reconnecting: replayed, never lost
            async with httpx.AsyncClient() as plain:
                await plain.post(f"{second.url}/bars", json={
                    "symbol": "GOOG", "ts_event": 2 * MIN, "open": 95, "high": 96, "low": 89,
                    "close": 90})
            fill = await asyncio.wait_for(anext(stream), 5)
            assert isinstance(fill, FillReport) and (fill.client_order_id, fill.price) == (
                "r2", Decimal("90.00"))
            assert stream.queue.empty()
            assert {f.trade_id for f in await client.fetch_fills()} == {"T00000001",
                                                                       "T00000002"}
            assert (await client.fetch_positions()) == {"GOOG": Decimal(2)}
        finally:
            await client.close()
            await asyncio.to_thread(second.stop)
    finally:
        await client.close()


@pytest.mark.asyncio
async def test_client_errors_are_translated() -> None:
    app = FastAPI()

    @app.post("/orders")
    async def slow(request: Request) -> PlainTextResponse:
        body = await request.json()
        if body["client_order_id"] == "slow":
            await asyncio.sleep(1.0)
        return PlainTextResponse("boom", status_code=503)

    @app.get("/balances")
    async def broken() -> PlainTextResponse:
        return PlainTextResponse("boom", status_code=500)

    with ServedApp(app) as stub:
        client = PaperVenueClient(stub.url, timeout=0.2)
        try:
            with pytest.raises(OrderOutcomeUnknown, match="ReadTimeout"):
                await client.submit(OrderRequest("slow", "GOOG", Side.BUY, OrderType.MARKET,
                                                 Decimal(1)))
            with pytest.raises(OrderOutcomeUnknown, match="HTTP 503"):
                await client.submit(OrderRequest("x", "GOOG", Side.BUY, OrderType.MARKET,
                                                 Decimal(1)))
            with pytest.raises(VenueUnavailable, match="HTTP 500"):
                await client.fetch_balances()
        finally:
            await client.close()
    client = PaperVenueClient(f"http://127.0.0.1:{stub.port}", timeout=0.5)
    try:
        with pytest.raises(VenueUnavailable, match="unreachable"):
            await client.submit(OrderRequest("y", "GOOG", Side.BUY, OrderType.MARKET,
                                             Decimal(1)))
    finally:
        await client.close()


@pytest.mark.asyncio
async def test_rejections_over_http(served: ServedApp) -> None:
    client = PaperVenueClient(served.url)
    try:
        with pytest.raises(VenueRejected, match="lot size") as info:
            await client.submit(OrderRequest("f", "GOOG", Side.BUY, OrderType.MARKET,
                                             Decimal("0.5")))
        assert info.value.client_order_id == "f"
        state = await client.fetch_order("f")
        assert state is not None and state.status is OrderStatus.REJECTED
        with pytest.raises(VenueRejected, match="lot size"):  # the same answer again
            await client.submit(OrderRequest("f", "GOOG", Side.BUY, OrderType.MARKET,
                                             Decimal("0.5")))
    finally:
        await client.close()
