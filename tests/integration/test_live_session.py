"""A paper session on live data: stored history warms the strategy up (never traded on), then
bars come from the fake exchange's WebSocket server; a silent stream makes the instrument
stale (the strategy is told, the risk engine refuses entries, the journal records it) and the
next bar restores it. The session runs as it would under ``run --config``; the test stops it
like Ctrl-C does (cancellation)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from decimal import Decimal
from pathlib import Path
from typing import ClassVar

import numpy as np

from trading_strategy.core.bars import BarSeries
from trading_strategy.core.instrument import AssetClass, Calendar, Instrument
from trading_strategy.core.timeframe import Timeframe
from trading_strategy.orders.journal import InMemoryJournal
from trading_strategy.runtime.portfolio_config import parse_portfolio
from trading_strategy.runtime.session import PaperSession, read_checkpoint
from trading_strategy.strategies import registry
from trading_strategy.strategies.base import Strategy, StrategyParams
from trading_strategy.testing_exchange import (
    AwaitRequest,
    FakeStreamServer,
    Pause,
    Send,
    Step,
    binance_reply,
)

T0_MS = 1717200000000
MINUTE_MS = 60_000
MS = 1_000_000
BTC = Instrument("BTC/USDT", tick_size=Decimal("0.01"), lot_size=Decimal("0.00001"),
                 venue="binance", asset_class=AssetClass.CRYPTO, currency="USDT",
                 calendar=Calendar.ALWAYS)
LOG: list[str] = []


class Probe(Strategy):
    """Logs what it hears; tries an entry when told the data is stale."""

    name = "live_probe"
    Params: ClassVar[type[StrategyParams]] = StrategyParams

    def on_bar(self) -> None:
        LOG.append(f"bar {(self.ctx.time_ns // MS - T0_MS) // MINUTE_MS}")

    def on_data_stale(self, symbol: str) -> None:
        LOG.append(f"stale {symbol}")

    def on_data_restored(self, symbol: str) -> None:
        LOG.append(f"restored {symbol}")


def kline(minute: int) -> str:
    t = T0_MS + minute * MINUTE_MS
    return json.dumps({"stream": "btcusdt@kline_1m", "data": {
        "e": "kline", "E": t + MINUTE_MS, "s": "BTCUSDT", "k": {
            "t": t, "T": t + MINUTE_MS - 1, "s": "BTCUSDT", "i": "1m", "f": 1, "L": 2,
            "o": "100", "c": "100.5", "h": "101", "l": "99", "v": "1", "n": 2, "x": True,
            "q": "100", "V": "0", "Q": "0", "B": "0"}}})


def history(minutes: range) -> BarSeries:
    ts = np.array([(T0_MS + m * MINUTE_MS) * MS for m in minutes], dtype=np.int64)
    ones = np.ones(len(ts))
    return BarSeries(BTC, Timeframe.parse("1m"), ts, 100 * ones, 101 * ones, 99 * ones,
                     100.5 * ones, ones)


def test_a_live_paper_session_warms_up_then_trades_on_live_bars_and_hears_of_staleness(
        tmp_path: Path) -> None:
    registry.register(Probe)
    LOG.clear()
    # the live stream repeats the last stored minute (dropped), then goes silent, then resumes
    script: list[Step] = [AwaitRequest(), Send(kline(-1)), Send(kline(0)), Send(kline(1)),
                          Pause(0.8), Send(kline(2)), Send(kline(3))]

    async def run() -> tuple[PaperSession, list[dict[str, object]]]:
        async with FakeStreamServer([script], reply=binance_reply) as server:
            config = parse_portfolio({
                "session": {"name": "live"},
                "data": {"default": {"providers": ["binance"], "timeframe": "1m",
                                     "stale_after": 0.005},
                         "providers": {"binance": {"ws_url": server.url,
                                                   "rest_url": "http://127.0.0.1:9"}}},
                "strategies": [{"name": "probe", "strategy": "live_probe",
                                "symbol": "BTC/USDT", "capital": 1000, "size": "0.001"}]})
            session = PaperSession(config, data_dir=tmp_path,
                                   journal_factory=lambda root: InMemoryJournal(),
                                   bar_source=lambda symbol, tf: history(range(-3, 0)))
            task = asyncio.create_task(session.run())
            async with asyncio.timeout(10):
                while "bar 3" not in LOG:
                    await asyncio.sleep(0.02)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            events = [json.loads(line) for line in
                      (tmp_path / "sessions" / "live" / "events.jsonl").read_text()
                      .splitlines()]
            return session, events

    session, events = asyncio.run(run())
    # minute -1 came live too (dropped at the seam); the restore reaches the strategy
    # before the bar that restored it
    assert LOG == ["bar -3", "bar -2", "bar -1", "bar 0", "bar 1", "stale BTC/USDT",
                   "restored BTC/USDT", "bar 2", "bar 3"]
    kinds = [e["kind"] for e in events if e["kind"] in ("data_stale", "data_restored")]
    assert kinds == ["data_stale", "data_restored"]
    assert not session.execution.risk.is_data_stale("BTC/USDT")
    # the stored history was warm-up (never checkpointed as traded); live bars are
    assert session.checkpoint["BTC/USDT"] == (T0_MS - MINUTE_MS) * MS
    saved = read_checkpoint(tmp_path / "sessions" / "live")["BTC/USDT"]
    assert saved >= T0_MS * MS
