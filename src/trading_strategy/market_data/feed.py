"""The market data feed's decisions: per-instrument health, gap backfill and failover.

``FeedCore`` is pure and clock-injected: it is handed events (``on_event``), provider health
(``on_provider_health``), the time (``tick``) and backfilled bars (``complete_backfill``), and
answers through its sink and with ``BackfillRequest``s; it never awaits, sleeps or reads a
clock, so every rule is tested with scripted inputs. ``feed_runner.LiveFeed`` drives it from
providers' streams under asyncio.

Per instrument (``InstrumentFeed``: its providers in priority order, a timeframe, an expected
interval between updates):

* **Staleness.** The reading ("active") provider's last update (its ``ts_init``) older than
  ``stale_after`` expected intervals, or that provider DOWN, with no provider to fail over
  to: a ``DataStale`` event. The next update delivered from the active provider is preceded
  by a ``DataRestored`` — after the backfill of any bars missed meanwhile, which therefore
  reach the strategy while the instrument is still stale (no entry is decided on them).
* **Failover.** The active provider DOWN, or silent for ``failover_after`` intervals: the
  feed switches to the first provider in priority order that is not DOWN and fresh (it is
  subscribed all along as a hot standby). A provider of higher priority that has been LIVE
  and fresh for ``switch_back_after`` intervals gets the instrument back. Each switch is a
  ``ProviderSwitch`` event.
* **Bars, one sequence whatever the source.** A bar opening at or before the last delivered
  one is dropped (duplicate or out of order; this is also the seam dedupe of a switch). A
  bar that leaves a hole is held, with every bar after it, and a ``BackfillRequest`` is
  returned; the missing bars are delivered (``backfilled=True``) before the held ones. The
  last few bars of each standby are kept, so a switch delivers what the new source already
  has without a round trip.
* **Quotes** crossed (bid > ask) or missing a side, **trades** with a non-positive price or
  size, and anything that is not an event or breaks a bar's OHLC rules are dropped and
  counted; nothing an input holds can make the feed raise.

* **Session markets** (the instrument's ``calendar``: FX 24/5, NYSE sessions and holidays;
  ``market_data.calendar``): only bars the market makes are expected, so a night, a weekend
  or a holiday between two bars is no gap (a missing bar inside a session still is, and the
  backfill asks from the first missing expected bar); while the market is closed nothing
  goes stale and no provider is failed over, and once it opens silence counts from the open.
  Session-aligned bars (an NYSE hour opening at 09:30) are accepted off the UTC grid.

Counters are plain ints per instrument (``counters()``); the runtime maps them to metrics.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence

import structlog

from trading_strategy.core.bars import Bar, BarSeries
from trading_strategy.core.errors import ConfigError
from trading_strategy.core.instrument import Calendar
from trading_strategy.core.timeframe import Timeframe
from trading_strategy.market_data.calendar import (
    SessionWatch,
    expected_bars,
    first_expected_bar,
)
from trading_strategy.market_data.feed_checks import bar_problem, bar_rows, excerpt, power_of_ten
from trading_strategy.market_data.feed_types import FeedCounters, FeedSink, InstrumentFeed
from trading_strategy.market_data.health_events import (
    BackfillRequest,
    DataRestored,
    DataStale,
    ProviderSwitch,
)
from trading_strategy.market_data.providers.base import (
    BarEvent,
    Health,
    QuoteEvent,
    TradeEvent,
)

__all__ = ["FeedCore", "FeedCounters", "FeedSink", "InstrumentFeed"]

_log = structlog.get_logger("trading_strategy.market_data.feed")
_STANDBY_BARS = 16  # bars kept per standby provider: a seam needs only the last few
_RECENT_TRADES = 1024  # trade ids remembered to drop a replayed trade
_DOWN = Health.DOWN
_LIVE = Health.LIVE


class _Instrument:
    """The mutable state of one instrument (the feed's private bookkeeping)."""

    __slots__ = ("active", "align_ns", "calendar", "config", "counters", "failover_ns",
                 "fresh_since", "held", "index", "last_bar", "last_quote", "last_seen",
                 "last_trade_ts", "open_floor", "providers", "recent_ids", "recent_order",
                 "session", "stale", "stale_ns", "stale_since", "standby", "switch_back_ns",
                 "tf_ns", "timeframe")

    def __init__(self, config: InstrumentFeed, start_ns: int) -> None:
        self.config = config
        self.providers = config.providers
        self.index = {name: i for i, name in enumerate(config.providers)}
        self.timeframe = config.timeframe
        tf = None if config.timeframe is None else Timeframe.parse(config.timeframe)
        # a gap needs a fixed bar length (months have none)
        self.tf_ns = 0 if tf is None or tf.is_monthly or not config.detect_gaps else (
            tf.nanoseconds)
        #: the market's hours (``None``: 24/7, nothing to ask)
        self.calendar = config.calendar
        self.session = None if config.calendar is Calendar.ALWAYS else SessionWatch(
            config.calendar)
        #: the open of the current session: silence before it does not count
        self.open_floor = 0
        # exchange sessions may stamp intraday bars off the UTC grid (09:30 New York)
        self.align_ns = 0 if config.calendar is Calendar.XNYS else self.tf_ns
        interval = config.interval_ns
        self.stale_ns = int(config.stale_after * interval)
        failover = config.failover_after if config.failover_after is not None else (
            config.stale_after)
        self.failover_ns = int(failover * interval)
        self.switch_back_ns = int(config.switch_back_after * interval)
        self.active = 0
        self.counters = FeedCounters()
        n = len(config.providers)
        # a provider that never spoke is judged from the feed's start (a grace period)
        self.last_seen = [start_ns] * n
        self.fresh_since = [start_ns] * n
        self.stale = False
        self.stale_since = 0
        self.last_bar: int | None = None
        self.held: list[BarEvent] | None = None
        self.standby: list[deque[BarEvent]] = [deque(maxlen=_STANDBY_BARS) for _ in range(n)]
        self.last_quote: QuoteEvent | None = None
        self.last_trade_ts: int | None = None
        self.recent_ids: set[str] = set()
        self.recent_order: deque[str] = deque()


class FeedCore:
    """Per-instrument health, gaps, dedupe and failover (see the module docstring)."""

    def __init__(self, instruments: Iterable[InstrumentFeed], sink: FeedSink, *,
                 start_ns: int, log: Callable[[str], None] | None = None) -> None:
        self._sink = sink
        self._slots: dict[str, _Instrument] = {}
        for config in instruments:
            if config.symbol in self._slots:
                raise ConfigError(f"feed of {config.symbol}: the instrument is listed twice")
            self._slots[config.symbol] = _Instrument(config, start_ns)
        self._health: dict[str, Health] = {}
        self._healthy_since: dict[str, int] = {}
        for slot in self._slots.values():
            for name in slot.providers:
                self._health[name] = Health.CONNECTING
                self._healthy_since[name] = start_ns
        self._unknown = FeedCounters()
        self._log = log if log is not None else _warn
        self._on_bar = sink.on_bar
        self._on_trade = sink.on_trade
        self._on_quote = sink.on_quote

    # --- views ----------------------------------------------------------------------------
    @property
    def symbols(self) -> list[str]:
        return list(self._slots)

    @property
    def providers(self) -> list[str]:
        return list(self._health)

    def subscriptions(self) -> dict[str, list[InstrumentFeed]]:
        """Every provider's instruments (a standby is subscribed like the primary)."""
        out: dict[str, list[InstrumentFeed]] = {name: [] for name in self._health}
        for slot in self._slots.values():
            for name in slot.providers:
                out[name].append(slot.config)
        return out

    def active_provider(self, symbol: str) -> str:
        slot = self._slots[symbol]
        return slot.providers[slot.active]

    def is_stale(self, symbol: str) -> bool:
        return self._slots[symbol].stale

    def health(self, provider: str) -> Health:
        return self._health[provider]

    def counters(self) -> dict[str, dict[str, int]]:
        """Counters per symbol; messages for no configured symbol are under ``""``."""
        out = {sym: slot.counters.as_dict() for sym, slot in self._slots.items()}
        out[""] = self._unknown.as_dict()
        return out

    def totals(self) -> dict[str, int]:
        total = dict.fromkeys(FeedCounters.__slots__, 0)
        for row in self.counters().values():
            for name, value in row.items():
                total[name] += value
        return total

    # --- input ----------------------------------------------------------------------------
    def on_event(self, event: object, source: str | None = None) -> BackfillRequest | None:
        """One event from a provider (``source``: its name; default the event's own
        ``provider``). Returns a backfill to run when it revealed a gap."""
        try:
            symbol = event.symbol  # type: ignore[attr-defined]
            slot = self._slots.get(symbol)
            if slot is None:
                self._malformed(None, f"event for an unconfigured instrument {symbol!r}",
                                event)
                return None
            idx = slot.index.get(event.provider if source is None  # type: ignore[attr-defined]
                                 else source)
            if idx is None:
                slot.counters.unknown_source += 1
                return None
            ts_init = event.ts_init  # type: ignore[attr-defined]
            if type(ts_init) is not int:
                self._malformed(slot, f"ts_init {ts_init!r} is not integer nanoseconds", event)
                return None
        except Exception as exc:  # anything at all can come in; nothing gets out
            self._malformed(None, f"not a market event ({type(exc).__name__})", event)
            return None
        if ts_init - slot.last_seen[idx] > slot.stale_ns:
            slot.fresh_since[idx] = ts_init
        if ts_init > slot.last_seen[idx]:
            slot.last_seen[idx] = ts_init
        kind = type(event)
        if kind is BarEvent:
            return self._bar(slot, idx, event)  # type: ignore[arg-type]
        if kind is TradeEvent:
            self._trade(slot, idx, event)  # type: ignore[arg-type]
        elif kind is QuoteEvent:
            self._quote(slot, idx, event)  # type: ignore[arg-type]
        else:
            self._malformed(slot, f"unknown event type {kind.__name__}", event)
        return None

    def reject(self, source: str, reason: str, sample: str = "",
               symbol: str | None = None) -> None:
        """An adapter could not read a message (a wire error): count and log it here, so the
        feed's counters cover every message dropped on the way."""
        slot = None if symbol is None else self._slots.get(symbol)
        self._malformed(slot, f"{source}: {reason}", sample)

    def on_provider_health(self, provider: str, health: Health,
                           now_ns: int) -> list[BackfillRequest]:
        """A provider's health changed; failover and staleness are decided at once."""
        previous = self._health.get(provider)
        if previous is None or previous is health:
            return []
        self._health[provider] = health
        if health is _LIVE:
            self._healthy_since[provider] = now_ns
        return self.tick(now_ns)

    def tick(self, now_ns: int) -> list[BackfillRequest]:
        """The watchdog: failover, switch-back and staleness at ``now_ns``."""
        requests: list[BackfillRequest] = []
        for slot in self._slots.values():
            request = self._watch(slot, now_ns)
            if request is not None:
                requests.append(request)
        return requests

    def complete_backfill(self, symbol: str, bars: BarSeries | Sequence[Bar] | None,
                          provider: str, now_ns: int) -> list[BackfillRequest]:
        """The answer to a ``BackfillRequest`` (``None``: every provider failed). Delivers
        the missing bars, then the held ones; returns a backfill for a further gap."""
        slot = self._slots.get(symbol)
        if slot is None or slot.held is None:
            return []
        held, slot.held = slot.held, None
        first = held[0].bar.ts_event
        start = slot.last_bar
        counters = slot.counters
        delivered = 0
        if bars is None:
            counters.backfill_failures += 1
            self._log(f"feed {symbol}: backfill failed on every provider; delivering after "
                      "the gap")
        else:
            timeframe = slot.timeframe or ""
            try:
                rows = bar_rows(bars, symbol)
            except Exception as exc:
                rows = []
                counters.backfill_failures += 1
                self._log(f"feed {symbol}: unreadable backfill from {provider}: {exc}")
            for bar in rows:
                last = slot.last_bar
                ts = bar.ts_event
                if (last is not None and ts <= last) or ts >= first:
                    continue
                event = BarEvent(symbol, timeframe, bar, now_ns, provider)
                if bar_problem(event, slot.timeframe, slot.align_ns) is not None:
                    counters.malformed += 1
                    continue
                slot.last_bar = ts
                delivered += 1
                self._on_bar(event, True)
        counters.backfilled_bars += delivered
        if start is not None and slot.tf_ns:
            missing = (first - start) // slot.tf_ns - 1 if slot.session is None else (
                expected_bars(slot.calendar, slot.tf_ns, start + slot.tf_ns, first))
            counters.gap_bars_unfilled += max(0, missing - delivered)
        return self._release(slot, held, gap_checked=True)

    def seed_last_bar(self, symbol: str, ts_ns: int) -> None:
        """The open time of the last bar the strategy already has (its warm-up history):
        a gap between it and the first live bar is backfilled like any other."""
        slot = self._slots[symbol]
        if slot.last_bar is None or ts_ns > slot.last_bar:
            slot.last_bar = ts_ns

    # --- bars -----------------------------------------------------------------------------
    def _bar(self, slot: _Instrument, idx: int, event: BarEvent) -> BackfillRequest | None:
        problem = bar_problem(event, slot.timeframe, slot.align_ns)
        if problem is not None:
            self._malformed(slot, problem, event)
            return None
        if idx != slot.active:
            slot.counters.standby += 1
            slot.standby[idx].append(event)
            return None
        return self._accept_bar(slot, event)

    def _accept_bar(self, slot: _Instrument, event: BarEvent,
                    gap_checked: bool = False) -> BackfillRequest | None:
        ts = event.bar.ts_event
        last = slot.last_bar
        if last is not None and ts <= last:
            if ts == last:
                slot.counters.duplicates += 1
            else:
                slot.counters.out_of_order += 1
            return None
        held = slot.held
        if held is not None:
            if ts > held[-1].bar.ts_event:
                held.append(event)
            elif all(h.bar.ts_event != ts for h in held):  # a seam can interleave sources
                held.append(event)
                held.sort(key=lambda h: h.bar.ts_event)
            else:
                slot.counters.duplicates += 1
            return None
        if (last is not None and slot.tf_ns and ts != last + slot.tf_ns
                and not gap_checked):
            missing: int | None = last + slot.tf_ns
            if slot.session is not None:  # only a bar the market makes can be missing
                missing = first_expected_bar(slot.calendar, slot.tf_ns, last + slot.tf_ns, ts)
            if missing is not None:
                slot.held = [event]
                slot.counters.gaps += 1
                return BackfillRequest(slot.config.symbol, slot.timeframe or "",
                                       missing, ts, self._backfill_order(slot))
        slot.last_bar = ts
        slot.counters.bars += 1
        if slot.stale:
            self._restore(slot, event.ts_init)
        self._on_bar(event, False)
        return None

    def _release(self, slot: _Instrument, held: list[BarEvent],
                 gap_checked: bool = False) -> list[BackfillRequest]:
        for i, event in enumerate(held):
            request = self._accept_bar(slot, event, gap_checked and i == 0)
            if request is not None:
                assert slot.held is not None
                slot.held.extend(held[i + 1:])
                return [request]
        return []

    def _backfill_order(self, slot: _Instrument) -> tuple[str, ...]:
        active = slot.providers[slot.active]
        rest = [p for p in slot.providers if p != active and self._health[p] is not _DOWN]
        return (active, *rest)

    # --- trades and quotes ----------------------------------------------------------------
    def _trade(self, slot: _Instrument, idx: int, event: TradeEvent) -> None:
        try:
            bad = not (event.price > 0 and event.size > 0)
            trade_id = str(event.trade_id)
            ts = event.ts_event
        except Exception:  # Decimal NaN compares by raising
            bad = True
        if bad:
            self._malformed(slot, "trade without a positive price and size", event)
            return
        if idx != slot.active:
            slot.counters.standby += 1
            return
        recent = slot.recent_ids
        if trade_id in recent:
            slot.counters.duplicates += 1
            return
        last = slot.last_trade_ts
        if last is not None and ts < last:
            slot.counters.out_of_order += 1
            return
        slot.last_trade_ts = ts
        recent.add(trade_id)
        order = slot.recent_order
        order.append(trade_id)
        if len(order) > _RECENT_TRADES:
            recent.discard(order.popleft())
        self._restore(slot, event.ts_init)
        slot.counters.trades += 1
        self._on_trade(event)

    def _quote(self, slot: _Instrument, idx: int, event: QuoteEvent) -> None:
        counters = slot.counters
        try:
            bid, ask = event.bid, event.ask
            missing = not (bid > 0 and ask > 0 and event.bid_size >= 0
                           and event.ask_size >= 0)
            crossed = not missing and bid > ask
        except Exception:  # Decimal NaN compares by raising
            missing, crossed = True, False
        if missing:
            counters.missing_quotes += 1
            return
        if crossed:
            counters.crossed_quotes += 1
            return
        if idx != slot.active:
            counters.standby += 1
            return
        last = slot.last_quote
        if last is not None:
            if event.ts_event < last.ts_event:
                counters.out_of_order += 1
                return
            if (event.ts_event == last.ts_event and bid == last.bid and ask == last.ask
                    and event.bid_size == last.bid_size and event.ask_size == last.ask_size):
                counters.duplicates += 1
                return
        slot.last_quote = event
        self._restore(slot, event.ts_init)
        counters.quotes += 1
        self._on_quote(event)

    # --- health ---------------------------------------------------------------------------
    def _restore(self, slot: _Instrument, ts_ns: int) -> None:
        # while bars are held for a backfill the instrument stays stale: the backfilled bars
        # reach the strategy first, and the risk engine refuses entries decided on them
        if (slot.stale and slot.held is None
                and self._health[slot.providers[slot.active]] is not _DOWN):
            slot.stale = False
            slot.counters.restored += 1
            self._sink.on_health(DataRestored(slot.config.symbol,
                                              slot.providers[slot.active],
                                              ts_ns - slot.stale_since, ts_ns))

    def _watch(self, slot: _Instrument, now: int) -> BackfillRequest | None:
        if slot.session is not None:
            since = slot.session.open_since(now)
            if since is None:  # a closed market is neither stale nor a reason to switch
                return None
            slot.open_floor = since
        active = slot.active
        name = slot.providers[active]
        silent = now - max(slot.last_seen[active], slot.open_floor)
        down = self._health[name] is _DOWN
        request = None
        if down or silent > slot.failover_ns:
            target = self._failover_target(slot, now)
            if target is not None:
                why = f"{name} is down" if down else (
                    f"no update from {name} for {silent / slot.config.interval_ns:.2f} "
                    "expected intervals")
                request = self._switch(slot, target, why, now)
        elif active > 0:
            target = self._switch_back_target(slot, now)
            if target is not None:
                request = self._switch(slot, target, f"{slot.providers[target]} healthy "
                                       f"again for {slot.config.switch_back_after:g} "
                                       "expected intervals", now)
        active = slot.active
        name = slot.providers[active]
        if not slot.stale:
            silent = now - max(slot.last_seen[active], slot.open_floor)
            down = self._health[name] is _DOWN
            if down or silent > slot.stale_ns:
                slot.stale = True
                slot.stale_since = now
                slot.counters.stale += 1
                why = f"{name} is down" if down else (
                    f"no update for {silent / slot.config.interval_ns:.2f} expected "
                    "intervals")
                self._sink.on_health(DataStale(slot.config.symbol, name, why,
                                               slot.last_seen[active], now))
        return request

    def _fresh(self, slot: _Instrument, idx: int, now: int) -> bool:
        return (self._health[slot.providers[idx]] is not _DOWN
                and now - max(slot.last_seen[idx], slot.open_floor) <= slot.stale_ns)

    def _failover_target(self, slot: _Instrument, now: int) -> int | None:
        for idx in range(len(slot.providers)):
            if idx != slot.active and self._fresh(slot, idx, now):
                return idx
        return None

    def _switch_back_target(self, slot: _Instrument, now: int) -> int | None:
        for idx in range(slot.active):
            name = slot.providers[idx]
            if (self._health[name] is _LIVE and self._fresh(slot, idx, now)
                    and now - max(slot.fresh_since[idx], self._healthy_since[name])
                    >= slot.switch_back_ns):
                return idx
        return None

    def _switch(self, slot: _Instrument, target: int, reason: str,
                now: int) -> BackfillRequest | None:
        old = slot.providers[slot.active]
        slot.active = target
        slot.counters.switches += 1
        # sources' clocks differ: ordering restarts with the new one (trade ids still dedupe)
        slot.last_quote = None
        slot.last_trade_ts = None
        self._sink.on_health(ProviderSwitch(slot.config.symbol, old, slot.providers[target],
                                            reason, now))
        # what the new source sent that was already delivered is the seam, not a duplicate
        last = slot.last_bar
        buffered = [e for e in slot.standby[target] if last is None or e.bar.ts_event > last]
        slot.standby[target].clear()
        requests = self._release(slot, buffered)
        return requests[0] if requests else None

    # --- malformed input ------------------------------------------------------------------
    def _malformed(self, slot: _Instrument | None, reason: str, event: object) -> None:
        counters = self._unknown if slot is None else slot.counters
        counters.malformed += 1
        n = counters.malformed
        # every one is counted; the log gets the first ten and then every power of ten, so
        # a flood of bad messages cannot flood the log
        if n <= 10 or power_of_ten(n):
            where = "" if slot is None else f" {slot.config.symbol}"
            self._log(f"feed{where}: dropped a malformed message ({n} so far): {reason}: "
                      f"{excerpt(event)}")


def _warn(message: str) -> None:
    _log.warning("feed_input_dropped", detail=message)
