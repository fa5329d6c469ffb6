"""The fakes the contract tests stand on: the scripted stream server and the REST history."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal as D

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, ConnectionClosedOK

from trading_strategy.testing_exchange import (
    AwaitRequest,
    Close,
    Drop,
    FakeBinance,
    FakeCoinbase,
    FakeStreamServer,
    Send,
    ServedApp,
    binance_reply,
)


def test_scripts_play_per_connection_and_requests_are_recorded_and_answered() -> None:
    async def run() -> tuple[list[str], list[str], type[BaseException], FakeStreamServer]:
        scripts = [[AwaitRequest(), Send("a"), Drop()], [Send("b"), Close(4000, "bye")]]
        async with FakeStreamServer(scripts, reply=binance_reply) as server:
            first: list[str] = []
            async with connect(server.url + "/stream") as ws:
                await ws.send(json.dumps({"method": "SUBSCRIBE", "params": [], "id": 9}))
                try:
                    async for message in ws:
                        first.append(str(message))
                except ConnectionClosed:
                    pass
            second: list[str] = []
            async with connect(server.url) as ws:
                try:
                    async for message in ws:
                        second.append(str(message))
                except ConnectionClosed as exc:
                    ended: type[BaseException] = type(exc)
            await server.wait_script(1)
        return first, second, ended, server

    first, second, ended, server = asyncio.run(run())
    assert first == ['{"result": null, "id": 9}', "a"]
    assert second == ["b"]
    assert ended is not ConnectionClosedOK  # 4000 is an application code, not a normal close
    assert server.paths == ["/stream", "/"]
    assert server.received == [['{"method": "SUBSCRIBE", "params": [], "id": 9}'], []]


def test_binance_klines_refuses_an_unknown_interval() -> None:
    with ServedApp(FakeBinance().app()) as served:
        answer = httpx.get(f"{served.url}/api/v3/klines",
                           params={"symbol": "BTCUSDT", "interval": "7m"})
    assert answer.status_code == 400 and answer.json() == {"code": -1120,
                                                           "msg": "Invalid interval."}


def test_coinbase_candles_newest_first_in_the_documented_order() -> None:
    exchange = FakeCoinbase()
    exchange.add_candles("BTC-USD", 60, [(60, D(1), D(4), D("0.5"), D(2), D(9)),
                                         (120, D(2), D(5), D(1), D(3), D(8))])
    with ServedApp(exchange.app()) as served:
        answer = httpx.get(f"{served.url}/products/BTC-USD/candles",
                           params={"granularity": 60}).json()
        missing = httpx.get(f"{served.url}/products/DOGE-USD/candles").status_code
    assert answer == [[120, 1.0, 5.0, 2.0, 3.0, 8.0], [60, 0.5, 4.0, 1.0, 2.0, 9.0]]
    assert missing == 404
