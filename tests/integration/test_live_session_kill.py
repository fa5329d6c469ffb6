"""kill -9 a live paper session mid-stream and run the same command again.

The session runs as ``trading-strategy run --config`` in a subprocess; the fake exchange
runs in this process (its WebSocket server in a thread, its klines REST under uvicorn) and
the orders go to the in-process paper venue. Connection 1 streams a bar every 0.4 s; the
test kills the session once its strategy has traded a few live bars. The restarted session
warms up on the bars the first one stored, opens connection 2 (which starts later in the
stream: the hole is backfilled from REST) and trades on. Then, asserted from what is on
disk: no order placed twice (each client id once at the venue, one order per decision bar),
positions and cash equal to the journal's, each bar stored once with its source, and the
strategy's bars contiguous across the kill.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from trading_strategy.core.bars import BarSeries
from trading_strategy.core.instrument import AssetClass, Calendar, Instrument
from trading_strategy.core.timeframe import Timeframe
from trading_strategy.storage import open_store
from trading_strategy.testing_exchange import (
    AwaitRequest,
    FakeBinance,
    FakeStreamServer,
    Pause,
    Send,
    ServedApp,
    Step,
    binance_reply,
)

T0_MS = 1717200000000
MINUTE_MS = 60_000
MS = 1_000_000
LAST = 14  # the last minute connection 2 streams
RESUME = 8  # connection 2 starts here: the minutes between are backfilled
BTC = Instrument("BTC/USDT", tick_size=Decimal("0.01"), lot_size=Decimal("0.00001"),
                 venue="binance", asset_class=AssetClass.CRYPTO, currency="USDT",
                 calendar=Calendar.ALWAYS)

# The strategy flips every bar it may trade on: flat → buy, long → close. It logs each bar
# it hears with its process id, so the test sees which process heard what.
STRATEGY = f'''
import os
from typing import ClassVar

from trading_strategy.strategies import registry
from trading_strategy.strategies.base import Strategy, StrategyParams

T0_MS, MINUTE_MS, MS = {T0_MS}, 60_000, 1_000_000


@registry.register
class Flip(Strategy):
    name = "live_flip"
    Params: ClassVar[type[StrategyParams]] = StrategyParams

    def on_bar(self) -> None:
        minute = (self.ctx.time_ns // MS - T0_MS) // MINUTE_MS
        with open(os.environ["LIVE_KILL_LOG"], "a") as log:
            log.write(f"{{os.getpid()}} {{minute}}\\n")
        if self.ctx.is_flat:
            self.ctx.buy()
        elif self.ctx.is_long:
            self.ctx.close()
'''

PORTFOLIO = """
[session]
name = "livekill"
speed = 0

[venue]
kind = "paper"
commission = 0.001

[data.default]
providers = ["binance"]
timeframe = "1m"

[data.providers.binance]
ws_url = "{ws_url}"
rest_url = "{rest_url}"

[[strategies]]
name = "flip"
strategy = "live_flip"
symbol = "BTC/USDT"
capital = 50000
size = "0.001"
"""


def _campaign() -> ModuleType:
    """``bench/crash_campaign.py``: its snapshot of what a session left on disk."""
    path = Path(__file__).resolve().parents[2] / "bench" / "crash_campaign.py"
    spec = importlib.util.spec_from_file_location("crash_campaign", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("crash_campaign", module)
    spec.loader.exec_module(module)
    return module


def price(minute: int) -> Decimal:
    return Decimal(100) + Decimal(minute % 7) / 4


def kline(minute: int) -> str:
    t = T0_MS + minute * MINUTE_MS
    p = price(minute)
    return json.dumps({"stream": "btcusdt@kline_1m", "data": {
        "e": "kline", "E": t + MINUTE_MS, "s": "BTCUSDT", "k": {
            "t": t, "T": t + MINUTE_MS - 1, "s": "BTCUSDT", "i": "1m", "f": 1, "L": 2,
            "o": str(p), "c": str(p), "h": str(p + 1), "l": str(p - 1), "v": "1", "n": 2,
            "x": True, "q": "100", "V": "0", "Q": "0", "B": "0"}}})


def history(minutes: range) -> BarSeries:
    ts = np.array([(T0_MS + m * MINUTE_MS) * MS for m in minutes], dtype=np.int64)
    p = np.array([float(price(m)) for m in minutes])
    return BarSeries(BTC, Timeframe.parse("1m"), ts, p, p + 1, p - 1, p, np.ones(len(ts)))


class StreamThread:
    """The fake's WebSocket server on its own event loop, so a subprocess can connect."""

    def __init__(self, scripts: list[list[Step]]) -> None:
        self.scripts = scripts
        self.url = ""
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="fake-stream", daemon=True)

    def _run(self) -> None:
        self._loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        async with FakeStreamServer(self.scripts, reply=binance_reply) as server:
            self.server = server
            self.url = server.url
            self._ready.set()
            await self._stop.wait()

    def __enter__(self) -> StreamThread:
        self._thread.start()
        assert self._ready.wait(10), "the fake stream server did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


def heard(log: Path) -> list[tuple[int, int]]:
    """``(pid, minute)`` of every bar the strategy heard, in order."""
    if not log.exists():
        return []
    return [(int(p), int(m)) for p, m in (line.split() for line in
                                          log.read_text().splitlines() if line.strip())]


def wait_for(condition: Any, timeout: float, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(f"the session exited ({proc.returncode}): "
                                 f"{proc.communicate()[1][-3000:]}")
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the session")
        time.sleep(0.05)


@pytest.fixture
def fake_rest() -> Iterator[str]:
    exchange = FakeBinance()
    exchange.add_klines("BTCUSDT", "1m", [
        (T0_MS + m * MINUTE_MS, price(m), price(m) + 1, price(m) - 1, price(m), Decimal(1))
        for m in range(LAST + 1)])
    with ServedApp(exchange.app()) as served:
        yield served.url


def test_a_live_session_killed_mid_stream_resumes_without_a_double_order(
        tmp_path: Path, fake_rest: str) -> None:
    cc = _campaign()
    (tmp_path / "live_kill_strategy.py").write_text(STRATEGY)
    log = tmp_path / "heard.log"
    backend = cc.Backend("sqlite", tmp_path / "data")
    store = open_store(backend.store_url())
    try:
        store.bars.write_bars(BTC, "1m", history(range(-5, 0)))  # imported: no source
    finally:
        store.close()
    first: list[Step] = [AwaitRequest()]
    for minute in range(LAST + 1):
        first += [Send(kline(minute)), Pause(0.4)]
    second: list[Step] = [AwaitRequest(), *(Send(kline(m)) for m in range(RESUME, LAST + 1))]
    env = backend.env() | {"LIVE_KILL_LOG": str(log), "PYTHONPATH": os.pathsep.join(
        [str(tmp_path), os.environ.get("PYTHONPATH", "")])}

    with StreamThread([first, second]) as stream:
        config = tmp_path / "livekill.toml"
        config.write_text(PORTFOLIO.format(ws_url=stream.url, rest_url=fake_rest))
        command = [sys.executable, "-c", "import sys, live_kill_strategy; "
                   "from trading_strategy.cli import main; sys.exit(main())",
                   "run", "--config", str(config), "--quiet"]
        proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            # mid-stream: the strategy has traded a few live bars, more are coming
            wait_for(lambda: any(m >= 3 for _, m in heard(log)), 60, proc)
            os.kill(proc.pid, signal.SIGKILL)
            proc.communicate(timeout=30)
            assert proc.returncode == -signal.SIGKILL
            killed = proc.pid
            before = [m for p, m in heard(log) if p == killed]

            proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
            wait_for(lambda: any(p == proc.pid and m == LAST for p, m in heard(log)), 60,
                     proc)
            proc.send_signal(signal.SIGINT)  # Ctrl-C: a clean stop
            out, err = proc.communicate(timeout=60)
            after = [m for p, m in heard(log) if p == proc.pid]
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        assert stream.server.connections == 2

    # the strategy's bars: history, then live, contiguous across the kill; the restart
    # warmed up on what the first process stored and went on with the next live bar
    assert before == list(range(-5, before[-1] + 1)), before
    assert after == list(range(-5, LAST + 1)), (after, err[-3000:])

    snap = cc.snapshot(backend, "livekill", out)
    orders = snap["orders"]
    # one order per bar traded live (the warm-up bars trade nothing), each client id once at
    # the venue: an order decided before the kill was not placed again after it
    assert len(orders) == LAST + 1, sorted(orders)
    assert sorted(snap["venue_orders"]) == sorted(orders)
    assert len({f[0] for f in snap["fills"]}) == len(snap["fills"])  # one fill per order
    assert snap["unacked"] == [] and snap["unjournaled_at_venue"] == []
    assert snap["fills_before_decision"] == []
    # positions and cash: the venue's equal the journal's fills
    assert {k: Decimal(v) for k, v in snap["venue_positions"].items()} == {
        "BTC/USDT": Decimal(snap["positions"]["flip"])}
    assert {k: Decimal(v) for k, v in snap["venue_cash"].items()} == {
        "USDT": Decimal(snap["cash"]["flip"])}

    store = open_store(backend.store_url())
    try:
        sources = store.bars.read_sources("BTC/USDT", "1m")
    finally:
        store.close()
    minutes = [(ts // MS - T0_MS) // MINUTE_MS for ts, _ in sources]
    # each bar once; the history imported (no source), every live or backfilled bar with
    # its provider; the last bar may be unstored (the stop came before the next bar)
    assert minutes == list(range(-5, minutes[-1] + 1)) and minutes[-1] >= LAST - 1, minutes
    assert [s for _, s in sources] == [None] * 5 + ["binance"] * (minutes[-1] + 1)

    # status shows the feed of the live session, instrument by instrument
    status = subprocess.run([sys.executable, "-m", "trading_strategy", "status", "--config",
                             str(config)], env=env, capture_output=True, text=True,
                            timeout=120, check=False)
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    feed = lines[lines.index("live data feed:") + 1]
    assert feed.split()[:4] == ["BTC/USDT", "ok", "provider", "binance;"], feed
    assert "last bar 2024-06-01T00:14:00Z" in feed and "switches 0" in feed, feed
