"""A session's live market data: the portfolio file's ``[data]`` section made into a feed.

``LiveData`` builds, from the section and the symbols the strategies trade, one
``InstrumentFeed`` per symbol, one provider adapter per provider named (Binance or Coinbase,
endpoints from ``[data.providers.<name>]``; each backfills gaps through ccxt's REST history),
the pure ``FeedCore`` behind a ``QueueSink`` and the ``LiveFeed`` that drives it. The
session's feed loop consumes ``LiveData.items()`` exactly as it consumes a replay: bars
(``BarEvent``; backfilled ones flagged) and, between them, the feed's health events.

``HealthRouter`` is what a consumer does with a health event, in one place: ``DataStale`` /
``DataRestored`` go to the risk engine (``set_data_stale``) and to every strategy trading the
symbol (``on_data_stale`` / ``on_data_restored``), and every health event (switches too) is
recorded (the session's journal of events), logged and counted. The risk engine hears it
first, so a strategy reacting to staleness is already refused new entries.

Each live bar, once the session has processed it, goes to ``on_bar`` (``store_live_bars``:
the bar store, with the provider as the bar's source). Stored after processing, not on
arrival: a restart warms up on stored bars without trading them, so a bar stored but never
processed (a kill in between) would be skipped; one processed but not stored is only a
hole that the next backfill fills. ``metrics`` (``FeedMetrics``) reads the feed's state —
provider in use, staleness, last bar, counters — when scraped.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import structlog

from trading_strategy.core.bars import BarSeries
from trading_strategy.core.clock import Clock, LiveClock
from trading_strategy.core.instrument import Calendar, Instrument
from trading_strategy.core.timeframe import Timeframe
from trading_strategy.market_data.feed import FeedCore
from trading_strategy.market_data.feed_runner import FeedItem, LiveFeed, QueueSink
from trading_strategy.market_data.feed_types import InstrumentFeed
from trading_strategy.market_data.health_events import (
    DataRestored,
    DataStale,
    FeedHealthEvent,
    ProviderSwitch,
)
from trading_strategy.market_data.providers.base import BarEvent, HealthChange, LiveProvider
from trading_strategy.market_data.providers.connection import ConnectionSettings
from trading_strategy.observability.metrics import FeedMetrics, FeedState
from trading_strategy.runtime.portfolio_config import DataSection, ProviderEndpoints

__all__ = ["HealthRouter", "LiveData", "ProviderFactory", "build_feeds", "make_provider",
           "store_live_bars", "warm_until"]

log = structlog.get_logger("trading_strategy.live_data")

#: ``(name, endpoints, settings, on_health)`` → an adapter (tests swap in their own)
ProviderFactory = Callable[[str, ProviderEndpoints, ConnectionSettings | None,
                            Callable[[HealthChange], None]], LiveProvider]


def make_provider(name: str, endpoints: ProviderEndpoints,
                  settings: ConnectionSettings | None,
                  on_health: Callable[[HealthChange], None]) -> LiveProvider:
    """The adapter ``name`` names, pointed at the section's endpoints (else the public ones)."""
    if name == "binance":
        from trading_strategy.market_data.providers import binance

        return binance.BinanceProvider(
            ws_url=endpoints.ws_url or binance.WS_URL,
            rest_url=endpoints.rest_url or binance.REST_URL,
            settings=settings, on_health=on_health)
    if name == "coinbase":
        from trading_strategy.market_data.providers import coinbase

        return coinbase.CoinbaseProvider(
            ws_url=endpoints.ws_url or coinbase.WS_URL,
            rest_url=endpoints.rest_url or coinbase.REST_URL,
            settings=settings, on_health=on_health)
    # the section's validation lists the names: reaching here is our bug, not the user's
    raise ValueError(f"no adapter for provider {name!r}")


def build_feeds(section: DataSection, timeframes: Mapping[str, str | None],
                calendars: Mapping[str, Calendar] | None = None) -> list[InstrumentFeed]:
    """One feed per traded symbol (``timeframes``: symbol → the strategies' timeframe, used
    when the section sets none; the section's checks guarantee one of the two exists;
    ``calendars``: symbol → its instrument's trading calendar, 24/7 when not given)."""
    feeds = []
    for symbol, strategy_tf in timeframes.items():
        s = section.settings_for(symbol)
        extra: dict[str, Any] = {k: v for k, v in (
            ("stale_after", s.stale_after), ("failover_after", s.failover_after),
            ("switch_back_after", s.switch_back_after)) if v is not None}
        calendar = (calendars or {}).get(symbol, Calendar.ALWAYS)
        feeds.append(InstrumentFeed(symbol, tuple(s.providers or ()),
                                    timeframe=s.timeframe or strategy_tf, calendar=calendar,
                                    **extra))
    return feeds


class LiveData:
    """The feed of a session (see the module docstring): ``start``, ``items``, ``close``;
    or ``after(history, on_health)``, the one stream a session's feed loop consumes.

    The feed's clock starts at ``start`` (not here): a session replays its stored history
    first, and that must not count as silence."""

    def __init__(self, section: DataSection, timeframes: Mapping[str, str | None], *,
                 clock: Clock | None = None, settings: ConnectionSettings | None = None,
                 provider_factory: ProviderFactory = make_provider,
                 watch_every_s: float = 0.25,
                 on_bar: Callable[[BarEvent], None] | None = None,
                 metrics: FeedMetrics | None = None,
                 calendars: Mapping[str, Calendar] | None = None) -> None:
        self.clock = clock or LiveClock()
        #: each live bar once processed (``store_live_bars``); a failure is logged, never
        #: raised: trading goes on, and a later backfill fills the stored series
        self.on_bar = on_bar
        #: open time of the last live bar per symbol (``snapshot``)
        self.last_bar: dict[str, int] = {}
        #: ``calendars``: each symbol's market hours (no gap or staleness while closed)
        self.feeds = build_feeds(section, timeframes, calendars)
        self.sink = QueueSink()
        names = list(dict.fromkeys(p for f in self.feeds for p in f.providers))
        self.providers: dict[str, LiveProvider] = {
            name: provider_factory(name, section.providers.get(name, ProviderEndpoints()),
                                   settings, self._on_health)
            for name in names}
        self._watch_every_s = watch_every_s
        self._seeds: dict[str, int] = {}
        self.core: FeedCore | None = None
        self.feed: LiveFeed | None = None
        if metrics is not None:
            metrics.watch(self.snapshot)

    def _on_health(self, change: HealthChange) -> None:
        # the adapters exist (and log their own changes) before the feed that listens to them
        if self.feed is not None:
            self.feed.on_health_change(change)

    def seed_last_bar(self, symbol: str, ts_ns: int) -> None:
        """The open time of the last bar the strategies already have (warm-up history): a
        hole between it and the first live bar is backfilled, an overlap is dropped."""
        self._seeds[symbol] = max(ts_ns, self._seeds.get(symbol, ts_ns))
        if self.core is not None:
            self.core.seed_last_bar(symbol, ts_ns)

    async def start(self) -> None:
        self.core = FeedCore(self.feeds, self.sink, start_ns=self.clock.now_ns())
        for symbol, ts in self._seeds.items():
            self.core.seed_last_bar(symbol, ts)
        self.feed = LiveFeed(self.core, self.providers, clock=self.clock,
                             watch_every_s=self._watch_every_s)
        await self.feed.start()

    async def close(self) -> None:
        """Stop the providers; ``items()`` ends after what was already decided."""
        if self.feed is not None:
            await self.feed.close()
        else:
            for provider in self.providers.values():
                await provider.close()
        self.sink.end()

    def items(self) -> AsyncIterator[FeedItem]:
        """Bars and health events in the order the feed decided them, until ``close``."""
        return self.sink.items()

    async def after(self, history: AsyncIterator[BarEvent],
                    on_health: Callable[[FeedHealthEvent], None]
                    ) -> AsyncGenerator[BarEvent, None]:
        """``history`` (the stored bars a session warms up on), then the live bars, each
        symbol continuing where its history ended (a hole is backfilled first); health
        events go to ``on_health`` between the bars, in the feed's order. The providers
        are closed when the consumer stops."""
        async for event in history:
            self.seed_last_bar(event.symbol, event.bar.ts_event)
            yield event
        async with self:
            async for item in self.items():
                live = item.event
                if isinstance(live, BarEvent):
                    yield live
                    self._processed(live)
                elif isinstance(live, DataStale | DataRestored | ProviderSwitch):
                    on_health(live)

    def _processed(self, event: BarEvent) -> None:
        self.last_bar[event.symbol] = event.bar.ts_event
        if self.on_bar is None:
            return
        try:
            self.on_bar(event)
        except Exception:
            log.exception("live_bar_not_stored", symbol=event.symbol,
                          ts=event.bar.ts_event, provider=event.provider)

    def counters(self) -> dict[str, dict[str, int]]:
        return {} if self.core is None else self.core.counters()

    def snapshot(self) -> dict[str, FeedState]:
        """Per symbol: the provider in use, stale or not, the last live bar, the counters
        (nothing before ``start``)."""
        core = self.core
        if core is None:
            return {}
        counters = core.counters()
        return {f.symbol: FeedState(core.active_provider(f.symbol), core.is_stale(f.symbol),
                                    self.last_bar.get(f.symbol), counters.get(f.symbol, {}))
                for f in self.feeds}

    async def __aenter__(self) -> LiveData:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def warm_until(checkpoint: Mapping[str, int],
               history: Mapping[str, BarSeries]) -> dict[str, int]:
    """Per symbol, the last bar a live session must not trade on: its stored history is
    warm-up (orders decided on it are suppressed), like the bars before a checkpoint."""
    out = dict(checkpoint)
    for symbol, bars in history.items():
        if len(bars):
            out[symbol] = max(out.get(symbol, -1), int(bars.ts[-1]))
    return out


class _BarWriter(Protocol):
    def write_bars(self, instrument: Instrument, timeframe: Timeframe | str,
                   bars: BarSeries, *, source: str | None = None) -> object: ...


def store_live_bars(store: _BarWriter, instruments: Mapping[str, Instrument]
                    ) -> Callable[[BarEvent], None]:
    """``LiveData``'s ``on_bar`` writing each bar to ``store`` (a ``BarStore``) with its
    provider as source: idempotent by open time, so a bar a backfill or a restart writes
    again is the same row."""
    frames: dict[str, Timeframe] = {}

    def write(event: BarEvent) -> None:
        instrument = instruments.get(event.symbol)
        if instrument is None:  # not a traded symbol: nothing of ours to keep
            return
        frame = frames.get(event.timeframe)
        if frame is None:
            frame = frames[event.timeframe] = Timeframe.parse(event.timeframe)
        bar = event.bar
        one = BarSeries(instrument, frame, np.array([bar.ts_event], dtype=np.int64),
                        *(np.array([value], dtype=np.float64) for value in
                          (bar.open, bar.high, bar.low, bar.close, bar.volume)))
        store.write_bars(instrument, frame, one, source=event.provider or None)

    return write


class _Risk(Protocol):
    def set_data_stale(self, symbol: str, stale: bool) -> None: ...


#: tells one strategy ``(symbol, stale)``; guarded by its runner (a raising strategy is
#: its own problem, never the feed's)
DataHealthCallback = Callable[[str, bool], None]


@dataclass
class HealthRouter:
    """What a session does with a feed health event (see the module docstring)."""

    risk: _Risk
    #: symbol → the callbacks of the strategies trading it
    strategies: Mapping[str, Iterable[DataHealthCallback]]
    #: the session's event recorder (``kind``, data): the audit trail
    record: Callable[[str, dict[str, Any]], None]
    #: metrics: called with the event's name and symbol (``None``: not counted)
    count: Callable[[str, str], None] | None = None

    def __call__(self, event: FeedHealthEvent) -> None:
        data = event.to_dict()
        kind = str(data["event"])
        if isinstance(event, DataStale | DataRestored):
            stale = isinstance(event, DataStale)
            self.risk.set_data_stale(event.symbol, stale)
            for notify in self.strategies.get(event.symbol, ()):
                notify(event.symbol, stale)
            (log.warning if stale else log.info)(kind, **_fields(data))
        elif isinstance(event, ProviderSwitch):
            log.warning(kind, **_fields(data))
        self.record(kind, data)
        if self.count is not None:
            self.count(kind, event.symbol)


def _fields(data: Mapping[str, object]) -> dict[str, object]:
    return {k: v for k, v in data.items() if k != "event"}
