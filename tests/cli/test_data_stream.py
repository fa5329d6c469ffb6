"""``data stream`` against the fake exchange's scripted WebSocket server, ``data backfill``
against its Binance klines REST endpoint: what the user reads, and what the store keeps."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path

import pytest

from trading_strategy.cli import main
from trading_strategy.testing_exchange import (
    AwaitRequest,
    FakeBinance,
    FakeStreamServer,
    Send,
    ServedApp,
    Step,
    binance_reply,
)

T0_MS = 1717200000000
MINUTE_MS = 60_000


def kline(minute: int, close: str) -> str:
    t = T0_MS + minute * MINUTE_MS
    return json.dumps({"stream": "btcusdt@kline_1m", "data": {
        "e": "kline", "E": t + MINUTE_MS, "s": "BTCUSDT", "k": {
            "t": t, "T": t + MINUTE_MS - 1, "s": "BTCUSDT", "i": "1m", "f": 1, "L": 2,
            "o": "100", "c": close, "h": "101", "l": "99", "v": "1.5", "n": 2, "x": True,
            "q": "100", "V": "0", "Q": "0", "B": "0"}}})


class ThreadedStreamServer:
    """The scripted server in its own event loop: the CLI runs ``asyncio.run`` itself."""

    def __init__(self, scripts: Sequence[Sequence[Step]]) -> None:
        self._scripts = scripts
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.url = ""
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with FakeStreamServer(self._scripts, reply=binance_reply) as server:
            self.url = server.url
            self._ready.set()
            await self._stop.wait()

    def __enter__(self) -> ThreadedStreamServer:
        self._thread.start()
        assert self._ready.wait(5)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(5)


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("TRADING_STRATEGY_DATA_DIR", str(tmp_path / "data"))
    db = tmp_path / "bars.sqlite3"
    monkeypatch.setenv("TRADING_STRATEGY_DATABASE_URL", f"sqlite:///{db}")
    yield db


def test_stream_prints_live_bars_until_max_bars(capsys: pytest.CaptureFixture[str]) -> None:
    script: list[Step] = [AwaitRequest(), Send(kline(0, "100.5")), Send(kline(0, "100.5")),
              Send(kline(1, "100.25")), Send(kline(2, "99.75"))]
    with ThreadedStreamServer([script]) as server:
        code = main(["data", "stream", "--provider", "binance", "--symbol", "BTC/USDT",
                     "--timeframe", "1m", "--ws-url", server.url,
                     "--rest-url", "http://127.0.0.1:9", "--max-bars", "2"])
    assert code == 0
    # (the adapter's own health log lines go to the log, not checked here)
    lines = [line for line in capsys.readouterr().out.splitlines() if " BTC/USDT " in line]
    # the duplicate of minute 0 is dropped: the feed a session runs, not the raw stream
    assert lines == [
        "2024-06-01T00:00:00Z BTC/USDT 1m O 100 H 101 L 99 C 100.5 V 1.5 [binance]",
        "2024-06-01T00:01:00Z BTC/USDT 1m O 100 H 101 L 99 C 100.25 V 1.5 [binance]",
    ]


@pytest.mark.parametrize(("args", "message"), [
    (["--ws-url", "http://127.0.0.1:1"], "error: --ws-url: must be a ws:// or wss:// URL"),
    (["--timeframe", "7x"], "error: --timeframe"),
    (["--max-bars", "0"], "error: --max-bars must be at least 1"),
    (["--stale-after", "0"], "error: --stale-after"),
])
def test_stream_options_are_checked_with_one_line(
        args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    base = {"--provider": "binance", "--symbol": "BTC/USDT", "--timeframe": "1m"}
    given = dict(zip(args[::2], args[1::2], strict=True))
    argv = [x for k, v in {**base, **given}.items() for x in (k, v)]
    assert main(["data", "stream", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message), err
    assert len(err.strip().splitlines()) == 1


def test_backfill_stores_history_idempotently_with_its_source(
        store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    exchange = FakeBinance()
    d = Decimal
    exchange.add_klines("BTCUSDT", "1m", [
        (T0_MS + m * MINUTE_MS, d("100"), d("101"), d("99"), d(f"100.{m}"), d("2"))
        for m in range(5)])
    argv = ["data", "backfill", "--provider", "binance", "--symbol", "BTC/USDT",
            "--timeframe", "1m", "--start", "2024-06-01T00:00:00Z",
            "--end", "2024-06-01T00:04:00Z"]
    with ServedApp(exchange.app()) as served:
        assert main([*argv, "--rest-url", served.url]) == 0
        first = capsys.readouterr().out
        assert main([*argv, "--rest-url", served.url]) == 0
        second = capsys.readouterr().out
    assert "BTC/USDT 1m from binance: 5 bars: 5 inserted, 0 updated, 0 unchanged" in first
    assert "5 bars: 0 inserted, 0 updated, 5 unchanged" in second
    assert main(["data", "export", "--symbol", "BTC/USDT"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert len(rows) == 6 and rows[-1].split(",")[4] == "100.40"
    from trading_strategy.storage import open_store

    with open_store(f"sqlite:///{store}") as opened:
        assert opened.bars.instrument("BTC/USDT").venue == "binance"
        sources = opened.bars.read_sources("BTC/USDT", "1m")
        assert [src for _, src in sources] == ["binance"] * 5


def test_backfill_refuses_an_end_before_the_start(
        store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "backfill", "--provider", "binance", "--symbol", "BTC/USDT",
                 "--timeframe", "1m", "--start", "2024-06-02", "--end", "2024-06-01"]) == 2
    assert capsys.readouterr().err.startswith("error: --end 2024-06-01 must be after")
