"""The feed's settings per instrument, its counters and the sink it answers through.

``InstrumentFeed`` is what a portfolio file's data section becomes for one instrument (its
providers in priority order, the bars to deliver, how often an update is expected and how
many missed intervals make it stale, fail over, or earn a recovered provider the instrument
back); ``FeedCounters`` the plain ints the runtime maps to metrics; ``FeedSink`` what the
runtime implements to receive accepted events and health events (see ``feed.FeedCore``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from trading_strategy.core.errors import ConfigError
from trading_strategy.core.instrument import Calendar
from trading_strategy.core.timeframe import Timeframe
from trading_strategy.market_data.health_events import FeedHealthEvent
from trading_strategy.market_data.providers.base import (
    BarEvent,
    Channel,
    QuoteEvent,
    Subscription,
    TradeEvent,
)

__all__ = ["FeedCounters", "FeedSink", "InstrumentFeed"]


class FeedSink(Protocol):
    """Where accepted events and health events go (the runtime: strategies, risk, journal)."""

    def on_bar(self, event: BarEvent, backfilled: bool) -> None: ...

    def on_trade(self, event: TradeEvent) -> None: ...

    def on_quote(self, event: QuoteEvent) -> None: ...

    def on_health(self, event: FeedHealthEvent) -> None: ...


@dataclass(frozen=True, slots=True)
class InstrumentFeed:
    """One instrument's feed settings. Multiples are of ``expected_interval_ns``, which
    defaults to the bar length (set it for trade or quote streams)."""

    symbol: str
    #: provider names, highest priority first
    providers: tuple[str, ...]
    #: the bars delivered (gap-checked); ``None`` for trades/quotes only
    timeframe: str | None = None
    expected_interval_ns: int | None = None
    stale_after: float = 1.5
    #: silence of the active provider that triggers failover (default: ``stale_after``)
    failover_after: float | None = None
    switch_back_after: float = 5.0
    detect_gaps: bool = True
    #: also deliver trades / best bid and ask
    trades: bool = False
    quotes: bool = False
    #: when the market is open (``market_data.calendar``): a closed market makes no gap and
    #: is never stale
    calendar: Calendar = Calendar.ALWAYS

    def __post_init__(self) -> None:
        where = f"feed of {self.symbol or '?'}"
        if not self.symbol:
            raise ConfigError("a feed needs an instrument symbol")
        if not self.providers or any(not p for p in self.providers):
            raise ConfigError(f"{where}: list one or more providers by name, highest "
                              "priority first")
        if len(set(self.providers)) != len(self.providers):
            raise ConfigError(f"{where}: a provider is listed twice in {list(self.providers)}")
        if self.timeframe is not None:
            Timeframe.parse(self.timeframe)  # raises ConfigError naming the bad value
        elif not (self.trades or self.quotes):
            raise ConfigError(f"{where}: nothing to deliver: set a timeframe (bars), trades "
                              "or quotes")
        if self.interval_ns <= 0:
            raise ConfigError(f"{where}: set expected_interval_ns (> 0) or a timeframe")
        for name in ("stale_after", "switch_back_after"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{where}: {name} must be > 0 expected intervals")
        if self.failover_after is not None and not self.failover_after > 0:
            raise ConfigError(f"{where}: failover_after must be > 0 expected intervals")

    def subscriptions(self) -> list[Subscription]:
        """What each of its providers is asked for."""
        subs = [] if self.timeframe is None else [
            Subscription(self.symbol, Channel.BARS, self.timeframe)]
        if self.trades:
            subs.append(Subscription(self.symbol, Channel.TRADES))
        if self.quotes:
            subs.append(Subscription(self.symbol, Channel.QUOTES))
        return subs

    @property
    def interval_ns(self) -> int:
        if self.expected_interval_ns is not None:
            return self.expected_interval_ns
        return 0 if self.timeframe is None else Timeframe.parse(self.timeframe).nanoseconds


class FeedCounters:
    """What the feed did with one instrument's messages (plain ints for metrics)."""

    __slots__ = ("backfill_failures", "backfilled_bars", "bars", "crossed_quotes",
                 "duplicates", "gap_bars_unfilled", "gaps", "malformed", "missing_quotes",
                 "out_of_order", "quotes", "restored", "stale", "standby", "switches",
                 "trades", "unknown_source")

    def __init__(self) -> None:
        #: bars, trades and quotes delivered from the active provider
        self.bars = self.trades = self.quotes = 0
        #: valid messages from a standby provider (kept for a seam, not delivered)
        self.standby = 0
        self.duplicates = self.out_of_order = self.malformed = self.unknown_source = 0
        self.crossed_quotes = self.missing_quotes = 0
        #: gaps found, bars delivered from backfill, bars no provider could supply
        self.gaps = self.backfilled_bars = self.gap_bars_unfilled = 0
        self.backfill_failures = 0
        self.stale = self.restored = self.switches = 0

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}
