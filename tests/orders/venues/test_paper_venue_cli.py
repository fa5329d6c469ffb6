"""``trading-strategy paper-venue``: argument checks, and a venue process killed with
SIGKILL that comes back knowing every order and fill it acknowledged."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from trading_strategy.cli import paper_venue_cmd
from trading_strategy.core.bars import Bar
from trading_strategy.core.enums import OrderStatus, OrderType, Side
from trading_strategy.core.errors import ConfigError
from trading_strategy.orders.venues.base import OrderRequest
from trading_strategy.orders.venues.paper_client import PaperVenueClient


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    paper_venue_cmd.register(sub)
    return parser.parse_args(["paper-venue", *argv])


def test_registers_with_a_handler_and_defaults() -> None:
    args = parse()
    assert args.handler is paper_venue_cmd.run
    assert (args.host, args.port, args.symbols, args.cash) == ("127.0.0.1", 8765, "GOOG",
                                                               "100000")


def test_symbol_specs() -> None:
    goog, btc = paper_venue_cmd.parse_instruments("GOOG, BTCUSD:0.01:0.0001", "USD")
    assert (goog.symbol, goog.tick_size, goog.lot_size) == ("GOOG", Decimal("0.01"), 1)
    assert (btc.symbol, btc.tick_size, btc.lot_size) == ("BTCUSD", Decimal("0.01"),
                                                         Decimal("0.0001"))


@pytest.mark.parametrize(("argv", "message"), [
    (["--symbols", "GOOG:x"], "not a number"),
    (["--symbols", "GOOG:0.01:1:2"], "SYMBOL[:TICK[:LOT]]"),
    (["--symbols", ","], "at least one symbol"),
    (["--cash", "-5"], "--cash: must be >= 0"),
    (["--volume-participation", "2"], "volume participation"),
    (["--port", "70000"], "--port: must be 1-65535"),
])
def test_bad_input_is_a_user_error(argv: list[str], message: str, tmp_path: Path) -> None:
    args = parse(*argv, "--db", str(tmp_path / "v.db"))
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        args.handler(args)


def test_a_port_in_use_is_a_user_error(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        args = parse("--port", str(busy.getsockname()[1]), "--db", str(tmp_path / "v.db"))
        with pytest.raises(ConfigError, match="in use"):
            args.handler(args)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(db: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "trading_strategy.cli.paper_venue_cmd", "--port", str(port),
         "--db", str(db), "--symbols", "GOOG", "--cash", "1000"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ})
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=0.5).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.05)
        if proc.poll() is not None:
            break
    proc.kill()
    err = proc.stderr.read().decode() if proc.stderr else ""
    raise AssertionError(f"paper venue did not start: {err}")


@pytest.mark.asyncio
async def test_sigkilled_venue_restarts_with_every_acknowledged_order_and_fill(
        tmp_path: Path) -> None:
    db, port = tmp_path / "venue.sqlite3", _free_port()
    proc = await asyncio.to_thread(_start, db, port)
    client = PaperVenueClient(f"http://127.0.0.1:{port}")
    try:
        await client.push_bar("GOOG", Bar("GOOG", 0, 10, 10, 10, 10, 1e6))
        for i in range(5):
            await client.submit(OrderRequest(f"m{i}", "GOOG", Side.BUY, OrderType.MARKET,
                                             Decimal(1)))
        await client.submit(OrderRequest("rest", "GOOG", Side.BUY, OrderType.LIMIT,
                                         Decimal(2), Decimal("5.00")))
        await client.push_bar("GOOG", Bar("GOOG", 60, 11, 11, 11, 11, 1e6))
        fills = await client.fetch_fills()
        assert len(fills) == 5
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        proc = await asyncio.to_thread(_start, db, port)
        assert await client.fetch_fills() == fills
        assert await client.fetch_balances() == {"USD": Decimal("945")}
        assert await client.fetch_positions() == {"GOOG": Decimal(5)}
        [resting] = await client.fetch_open_orders()
        assert (resting.client_order_id, resting.status) == ("rest", OrderStatus.ACCEPTED)
        ack = await client.submit(OrderRequest("m0", "GOOG", Side.BUY, OrderType.MARKET,
                                               Decimal(1)))
        assert ack.status is OrderStatus.FILLED  # known across the crash: not a new order
    finally:
        await client.close()
        proc.kill()
        proc.wait(10)
