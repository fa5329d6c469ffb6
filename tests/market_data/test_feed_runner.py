"""``LiveFeed`` over in-test fake providers: streams, backfill, failover, what the strategy and
the risk engine are told. No sockets; time is a ``SimulatedClock`` moved by the test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from decimal import Decimal
from typing import Any

import numpy as np

from trading_strategy.core.bars import Bar, BarSeries
from trading_strategy.core.clock import SimulatedClock
from trading_strategy.core.enums import Side
from trading_strategy.core.errors import RetryableError
from trading_strategy.core.instrument import Instrument
from trading_strategy.core.orders import OrderIntent
from trading_strategy.core.timeframe import Timeframe
from trading_strategy.market_data.feed import FeedCore, InstrumentFeed
from trading_strategy.market_data.feed_runner import LiveFeed, QueueSink
from trading_strategy.market_data.health_events import DataRestored, DataStale, FeedHealthEvent
from trading_strategy.market_data.providers.base import (
    BarEvent,
    Channel,
    Health,
    HealthChange,
    LiveProvider,
    QuoteEvent,
    Subscription,
    TradeEvent,
)
from trading_strategy.risk import ReasonCode, RiskEngine, RiskSettings

M = 60 * 1_000_000_000
T0 = 1_700_000_040 * 1_000_000_000 // M * M
SYM = "BTC/USDT"
END = object()


def make_bar(minute: int) -> Bar:
    return Bar(SYM, T0 + minute * M, 100.0, 200.0, 99.0, 100.0 + minute, 1.0)


class FakeProvider:
    """Honours ``LiveProvider``: a scripted stream, settable health, history on request."""

    def __init__(self, name: str, clock: SimulatedClock, history: range = range(0)) -> None:
        self.name = name
        self.clock = clock
        self.queue: asyncio.Queue[object] = asyncio.Queue()
        self.state = Health.CONNECTING
        self.subscribed: list[Subscription] = []
        self.history = [make_bar(m) for m in history]
        self.requests: list[tuple[int, int]] = []
        self.fail_connect = False
        self.fail_history = False
        self.closed = False

    @property
    def health(self) -> Health:
        return self.state

    async def connect(self) -> None:
        if self.fail_connect:
            raise RetryableError(f"{self.name}: connection refused")
        self.state = Health.LIVE

    async def subscribe(self, subscription: Subscription) -> None:
        if subscription not in self.subscribed:  # idempotent, as the contract says
            self.subscribed.append(subscription)

    async def unsubscribe(self, subscription: Subscription) -> None:
        self.subscribed.remove(subscription)

    async def stream(self) -> AsyncIterator[BarEvent | TradeEvent | QuoteEvent]:
        while True:
            item = await self.queue.get()
            if item is END:
                return
            if isinstance(item, Exception):
                raise item
            yield item  # type: ignore[misc]  # malformed items are sent on purpose

    async def request_bars(self, symbol: str, timeframe: str, start_ns: int,
                           end_ns: int) -> BarSeries:
        self.requests.append(((start_ns - T0) // M, (end_ns - T0) // M))
        if self.fail_history:
            raise RetryableError(f"{self.name}: HTTP 503")
        rows = [b for b in self.history if start_ns <= b.ts_event < end_ns]
        cols = [np.array([getattr(b, f) for b in rows], dtype=np.float64)
                for f in ("open", "high", "low", "close", "volume")]
        return BarSeries(Instrument(SYM), Timeframe.parse(timeframe),
                         np.array([b.ts_event for b in rows], dtype=np.int64), *cols)

    async def close(self) -> None:
        self.closed = True

    def send(self, minute: int) -> None:
        """The bar opening at ``minute`` closes now."""
        self.queue.put_nowait(BarEvent(SYM, "1m", make_bar(minute), self.clock.now_ns(),
                                       self.name))


class Recorder:
    """Stands for the runtime: tells a strategy (recorded) and the risk engine."""

    def __init__(self, risk: RiskEngine) -> None:
        self.risk = risk
        self.seen: list[tuple[str, object]] = []

    def on_bar(self, event: BarEvent, backfilled: bool) -> None:
        self.seen.append(("backfill" if backfilled else "bar",
                          (event.bar.ts_event - T0) // M))

    def on_trade(self, event: TradeEvent) -> None:
        self.seen.append(("trade", event.trade_id))

    def on_quote(self, event: QuoteEvent) -> None:
        self.seen.append(("quote", event.bid))

    def on_health(self, event: FeedHealthEvent) -> None:
        if isinstance(event, DataStale | DataRestored):
            self.risk.set_data_stale(event.symbol, isinstance(event, DataStale))
        self.seen.append((type(event).__name__, getattr(event, "to_provider", None)))


async def settle() -> None:
    for _ in range(50):
        await asyncio.sleep(0)


Scenario = Callable[[LiveFeed, dict[str, FakeProvider], SimulatedClock, Recorder],
                    Coroutine[Any, Any, None]]


def run(scenario: Scenario, *, names: tuple[str, ...] = ("a", "b"),
        history: range = range(0),
        setup: Callable[[dict[str, FakeProvider]], None] = lambda _: None,
        connect_retry_s: tuple[float, float] = (0.5, 30.0), **kw: Any) -> Recorder:
    async def go() -> Recorder:
        clock = SimulatedClock(T0)
        fakes = {n: FakeProvider(n, clock, history) for n in names}
        setup(fakes)
        risk = RiskEngine(RiskSettings(enforce_market_hours=False), {SYM: Instrument(SYM)})
        recorder = Recorder(risk)
        core = FeedCore([InstrumentFeed(SYM, names, "1m", **kw)], recorder, start_ns=T0,
                        log=lambda _: None)
        providers: dict[str, LiveProvider] = dict(fakes)
        feed = LiveFeed(core, providers, clock=clock, watch_every_s=3600,
                        connect_retry_s=connect_retry_s)
        await feed.start()
        try:
            await scenario(feed, fakes, clock, recorder)
        finally:
            await feed.close()
        assert all(f.closed for f in fakes.values())
        return recorder

    return asyncio.run(go())


def minute(clock: SimulatedClock, m: float) -> None:
    clock.set(T0 + int(m * M))


def bars(recorder: Recorder) -> list[object]:
    return [v for k, v in recorder.seen if k in ("bar", "backfill")]


def test_every_provider_is_subscribed_and_a_gap_is_backfilled_in_order() -> None:
    async def scenario(feed: LiveFeed, p: dict[str, FakeProvider], clock: SimulatedClock,
                       rec: Recorder) -> None:
        assert p["a"].subscribed == p["b"].subscribed == [
            Subscription(SYM, Channel.BARS, "1m")]
        minute(clock, 1)
        p["a"].send(0)
        minute(clock, 4)
        p["a"].send(3)
        p["a"].send(4)
        await settle()
        assert p["a"].requests == [(1, 3)]

    rec = run(scenario, names=("a", "b"), history=range(10))
    assert rec.seen == [("bar", 0), ("backfill", 1), ("backfill", 2), ("bar", 3), ("bar", 4)]


def test_backfill_falls_back_to_the_next_provider() -> None:
    async def scenario(feed: LiveFeed, p: dict[str, FakeProvider], clock: SimulatedClock,
                       rec: Recorder) -> None:
        p["a"].fail_history = True
        p["a"].send(0)
        p["a"].send(2)
        await settle()
        assert p["a"].requests == p["b"].requests == [(1, 2)]

    assert bars(run(scenario, history=range(5))) == [0, 1, 2]


def test_a_silent_stream_is_stale_for_the_strategy_and_the_risk_engine() -> None:
    intent = OrderIntent("id", "s", SYM, Side.BUY, 1)
    verdicts: list[ReasonCode | None] = []

    async def scenario(feed: LiveFeed, p: dict[str, FakeProvider], clock: SimulatedClock,
                       rec: Recorder) -> None:
        account = rec.risk.new_account(equity=10**9)
        account.set_last_price(SYM, 100)
        minute(clock, 1)
        p["a"].send(0)
        await settle()
        minute(clock, 2.6)
        feed.watch_once()
        verdicts.append(rec.risk.check(intent, account, clock.now_ns()).reason)
        minute(clock, 3)
        p["a"].send(1)
        await settle()
        verdicts.append(rec.risk.check(intent, account, clock.now_ns()).reason)

    rec = run(scenario, names=("a",))
    assert rec.seen == [("bar", 0), ("DataStale", None), ("DataRestored", None), ("bar", 1)]
    assert verdicts == [ReasonCode.DATA_STALE, None]


def test_a_provider_that_cannot_connect_leaves_the_instrument_to_the_next() -> None:
    async def scenario(feed: LiveFeed, p: dict[str, FakeProvider], clock: SimulatedClock,
                       rec: Recorder) -> None:
        assert p["a"].state is Health.CONNECTING  # never connected
        p["b"].send(0)
        await settle()

    def refuse_a(p: dict[str, FakeProvider]) -> None:
        p["a"].fail_connect = True

    assert run(scenario, setup=refuse_a).seen == [("ProviderSwitch", "b"), ("bar", 0)]


def test_a_provider_that_could_not_connect_is_retried_and_wins_back_the_instrument() -> None:
    async def scenario(feed: LiveFeed, p: dict[str, FakeProvider], clock: SimulatedClock,
                       rec: Recorder) -> None:
        p["a"].fail_connect = False  # the retries (1-2 ms apart here) now succeed
        for _ in range(200):
            if p["a"].state is Health.LIVE:
                break
            await asyncio.sleep(0.001)
        assert p["a"].subscribed == p["b"].subscribed
        for m in range(5):
            minute(clock, m + 1)
            p["a"].send(m)
            p["b"].send(m)
            await settle()
            feed.watch_once()  # a is LIVE and fresh: back to it after 3 intervals
        assert feed.core.active_provider(SYM) == "a"

    def refuse_a(p: dict[str, FakeProvider]) -> None:
        p["a"].fail_connect = True

    rec = run(scenario, setup=refuse_a, connect_retry_s=(0.001, 0.002), switch_back_after=3)
    assert bars(rec) == [0, 1, 2, 3, 4]
    assert [v for k, v in rec.seen if k == "ProviderSwitch"] == ["b", "a"]


def test_a_stream_that_dies_fails_over_and_bad_items_never_crash_the_feed() -> None:
    async def scenario(feed: LiveFeed, p: dict[str, FakeProvider], clock: SimulatedClock,
                       rec: Recorder) -> None:
        for m in range(2):
            minute(clock, m + 1)
            p["a"].send(m)
            p["b"].send(m)
        p["a"].queue.put_nowait("garbage")
        p["a"].queue.put_nowait(BarEvent(SYM, "1m", "nope", 0, "a"))  # type: ignore[arg-type]
        minute(clock, 3)
        p["b"].send(2)  # buffered: a is still the source
        await settle()
        assert bars(rec) == [0, 1]
        p["a"].queue.put_nowait(ConnectionResetError("socket closed"))
        await settle()  # a is DOWN: b takes over with what it holds
        minute(clock, 4)
        p["b"].send(3)
        await settle()
        assert feed.core.counters()[SYM]["malformed"] == 1
        assert feed.core.counters()[""]["malformed"] == 1  # no symbol to count it under

    rec = run(scenario)
    assert bars(rec) == [0, 1, 2, 3]
    assert ("ProviderSwitch", "b") in rec.seen


def test_quotes_and_trades_flow_through() -> None:
    async def scenario(feed: LiveFeed, p: dict[str, FakeProvider], clock: SimulatedClock,
                       rec: Recorder) -> None:
        now = clock.now_ns()
        p["a"].queue.put_nowait(TradeEvent(SYM, Decimal(1), Decimal(1), None, "7", now, now,
                                           "a"))
        p["a"].queue.put_nowait(QuoteEvent(SYM, Decimal(2), Decimal(1), Decimal(1),
                                           Decimal(1), now, now, "a"))  # crossed
        await settle()

    rec = run(scenario, names=("a",), trades=True, quotes=True)
    assert rec.seen == [("trade", "7")]


def test_a_health_callback_fails_over_before_the_next_watchdog_step() -> None:
    async def scenario(feed: LiveFeed, p: dict[str, FakeProvider], clock: SimulatedClock,
                       rec: Recorder) -> None:
        minute(clock, 1)
        p["a"].send(0)
        p["b"].send(0)
        await settle()
        p["a"].state = Health.DOWN
        feed.on_health_change(HealthChange("a", Health.LIVE, Health.DOWN, "socket closed",
                                           clock.now_ns()))
        feed.on_health_change(HealthChange("zz", Health.LIVE, Health.DOWN, "not ours", 0))
        assert feed.core.active_provider(SYM) == "b"

    assert ("ProviderSwitch", "b") in run(scenario).seen


def test_a_queue_sink_hands_an_async_consumer_everything_in_order() -> None:
    async def go() -> list[tuple[str, bool]]:
        sink = QueueSink()
        core = FeedCore([InstrumentFeed(SYM, ("a",), "1m")], sink, start_ns=T0,
                        log=lambda _: None)
        core.on_provider_health("a", Health.LIVE, T0)
        core.on_event(BarEvent(SYM, "1m", make_bar(0), T0 + M, "a"))
        core.tick(T0 + 3 * M)
        core.on_event(BarEvent(SYM, "1m", make_bar(2), T0 + 3 * M, "a"))
        core.complete_backfill(SYM, [make_bar(1)], "a", T0 + 3 * M)
        assert sink.backlog == 5
        sink.end()
        return [(type(item.event).__name__, item.backfilled) async for item in sink.items()]

    assert asyncio.run(go()) == [("BarEvent", False), ("DataStale", False),
                                 ("BarEvent", True), ("DataRestored", False),
                                 ("BarEvent", False)]
