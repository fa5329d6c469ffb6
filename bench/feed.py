"""The live feed's throughput and its reaction times.

Run: ``.venv/bin/python bench/feed.py [--messages N] [--symbols N] [--repeat N]``

1. **Throughput**: Binance spot wire messages (trades, book tickers and closed 1m klines, in
   the documented shapes) are parsed by the adapter's pure decoder
   (``providers/binance_wire.BinanceDecoder``), handed to ``FeedCore`` and delivered to a
   strategy callback, with the staleness watchdog ticking on a simulated clock every 1,024
   messages. Target: >= 200,000 messages/s (the best of ``--repeat`` runs).
2. **Detection**: one provider's 1m bar stream goes silent; the watchdog ticks every 0.25 s
   (``LiveFeed``'s default) on a simulated clock. Reported in expected intervals from the
   last message received (the conservative measure) and from when the next bar was due.
3. **Failover**: the same silence with a standby provider streaming the same bars: time to
   the switch, and until the first bar the primary missed is delivered from the standby.
   Targets for 2 and 3: <= 2 expected intervals.

The last line printed is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import sys
import time
from decimal import Decimal

from trading_strategy.core.bars import Bar
from trading_strategy.market_data.feed import FeedCore, InstrumentFeed
from trading_strategy.market_data.health_events import (
    DataStale,
    FeedHealthEvent,
    ProviderSwitch,
)
from trading_strategy.market_data.providers.base import (
    BarEvent,
    Health,
    QuoteEvent,
    TradeEvent,
)
from trading_strategy.market_data.providers.binance_wire import BinanceDecoder

TARGET_MSGS_PER_S = 200_000
TARGET_INTERVALS = 2.0
S = 1_000_000_000
M = 60 * S
T0 = 1_700_000_040 * S // M * M
WATCH_EVERY_NS = S // 4


class Strategy:
    """Stands for the strategy callbacks: keeps the last price and counts what it saw."""

    def __init__(self) -> None:
        self.bars = self.trades = self.quotes = 0
        self.last = Decimal(0)
        self.health: list[tuple[int, FeedHealthEvent]] = []
        self.bar_times: list[int] = []

    def on_bar(self, event: BarEvent, backfilled: bool) -> None:
        self.bars += 1
        self.bar_times.append(event.bar.ts_event)

    def on_trade(self, event: TradeEvent) -> None:
        self.trades += 1
        self.last = event.price

    def on_quote(self, event: QuoteEvent) -> None:
        self.quotes += 1

    def on_health(self, event: FeedHealthEvent) -> None:
        self.health.append((event.ts_ns, event))


def wire_messages(count: int, symbols: list[str]) -> list[tuple[int, str]]:
    """(arrival ns, raw text): 1,000 messages a second per symbol, 90 % trades, 10 % book
    tickers, and each symbol's closed kline at every minute boundary."""
    out: list[tuple[int, str]] = []
    per_symbol_ns = S // 1000
    step = per_symbol_ns // len(symbols)
    trade_id = dict.fromkeys(symbols, 0)
    update_id = 0
    last_minute = 0
    for i in range(count):
        now = T0 + i * step
        sym = symbols[i % len(symbols)]
        wire = sym.replace("/", "")
        minute = (now - T0) // M
        if minute != last_minute:
            for s in symbols:
                open_ms = (T0 + (minute - 1) * M) // 1_000_000
                out.append((now, json.dumps({
                    "e": "kline", "E": now // 1_000_000, "s": s.replace("/", ""),
                    "k": {"t": open_ms, "T": open_ms + 59_999, "s": s.replace("/", ""),
                          "i": "1m", "o": "37000.10", "c": "37010.00", "h": "37020.00",
                          "l": "36990.00", "v": "12.5", "x": True}})))
            last_minute = minute
        if i % 10 == 9:
            update_id += 1
            out.append((now, json.dumps({"u": update_id, "s": wire, "b": "37000.10",
                                         "B": "1.2", "a": "37000.20", "A": "0.8"})))
        else:
            trade_id[sym] += 1
            ms = now // 1_000_000
            out.append((now, json.dumps({"e": "trade", "E": ms, "s": wire, "t": trade_id[sym],
                                         "p": "37000.12", "q": "0.0015", "T": ms,
                                         "m": bool(i & 2), "M": True})))
    return out[:count]


def throughput(messages: list[tuple[int, str]], symbols: list[str]) -> tuple[float, Strategy,
                                                                                FeedCore]:
    strategy = Strategy()
    core = FeedCore([InstrumentFeed(s, ("binance",), "1m", trades=True, quotes=True)
                     for s in symbols], strategy, start_ns=T0)
    core.on_provider_health("binance", Health.LIVE, T0)
    decoder = BinanceDecoder("binance", {s.replace("/", ""): s for s in symbols})
    decode = decoder.decode
    on_event = core.on_event
    tick = core.tick
    gc.collect()
    gc.disable()
    try:
        started = time.perf_counter()
        for i, (now, raw) in enumerate(messages):
            decoded = decode(raw, now)
            for event in decoded.events:
                on_event(event, "binance")
            if decoded.error is not None:
                core.reject("binance", decoded.error.reason, decoded.error.excerpt)
            if not i & 1023:
                tick(now)
        elapsed = time.perf_counter() - started
    finally:
        gc.enable()
    return len(messages) / elapsed, strategy, core


def breakdown(messages: list[tuple[int, str]], symbols: list[str]) -> tuple[float, float]:
    """Messages/s of the decoder alone and of the feed plus callback alone (same input)."""
    decoder = BinanceDecoder("binance", {s.replace("/", ""): s for s in symbols})
    gc.collect()
    gc.disable()
    try:
        started = time.perf_counter()
        decoded = [decoder.decode(raw, now) for now, raw in messages]
        parse_s = time.perf_counter() - started
    finally:
        gc.enable()
    events = [e for d in decoded for e in d.events]
    core = FeedCore([InstrumentFeed(s, ("binance",), "1m", trades=True, quotes=True)
                     for s in symbols], Strategy(), start_ns=T0)
    core.on_provider_health("binance", Health.LIVE, T0)
    on_event = core.on_event
    started = time.perf_counter()
    for i, event in enumerate(events):
        on_event(event, "binance")
        if not i & 1023:
            core.tick(event.ts_init)
    feed_s = time.perf_counter() - started
    return len(messages) / parse_s, len(events) / feed_s


def silent_stream(*, standby: bool) -> dict[str, float]:
    """Bars every minute from "a" (and "b"), then "a" goes silent after bar 9."""
    sym = "BTC/USDT"
    providers = ("a", "b") if standby else ("a",)
    strategy = Strategy()
    core = FeedCore([InstrumentFeed(sym, providers, "1m")], strategy, start_ns=T0,
                    log=lambda _: None)
    for name in providers:
        core.on_provider_health(name, Health.LIVE, T0)
    last_a = 0
    delivered_at: dict[int, int] = {}
    now = T0
    next_bar = 0
    last_bar = 9
    while now < T0 + 30 * M:
        now += WATCH_EVERY_NS
        while T0 + (next_bar + 1) * M <= now:  # a bar closes (and arrives 50 ms later)
            arrive = T0 + (next_bar + 1) * M + 50_000_000
            for name in providers:
                if name == "a" and next_bar > last_bar:
                    continue
                core.on_event(BarEvent(sym, "1m", _bar(sym, next_bar), arrive, name), name)
                if name == "a":
                    last_a = arrive
            next_bar += 1
        core.tick(now)
        for ts in strategy.bar_times:
            delivered_at.setdefault((ts - T0) // M, now)
        if strategy.health and (not standby or last_bar + 1 in delivered_at):
            break
    ts, event = strategy.health[0]
    out = {"from_last_message": (ts - last_a) / M,
           "from_next_due": (ts - (last_a + M)) / M}
    if standby:
        assert isinstance(event, ProviderSwitch)
        missed = last_bar + 1
        out["first_missed_bar_delivered"] = (delivered_at[missed] - last_a) / M
    else:
        assert isinstance(event, DataStale)
    return out


def _bar(symbol: str, minute: int) -> Bar:
    return Bar(symbol, T0 + minute * M, 100.0, 101.0, 99.0, 100.5, 3.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=400_000)
    parser.add_argument("--symbols", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    symbols = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "BNB/USDT", "XRP/USDT", "ADA/USDT"][
        :max(1, min(args.symbols, 6))]
    messages = wire_messages(args.messages, symbols)
    rates = []
    for _ in range(max(1, args.repeat)):
        rate, strategy, core = throughput(messages, symbols)
        rates.append(rate)
    best = max(rates)
    parse_rate, feed_rate = breakdown(messages, symbols)
    totals = core.totals()
    print(f"feed throughput: {len(messages):,} Binance wire messages over {len(symbols)} "
          "symbols, parse -> feed -> strategy callback, watchdog ticking every 1,024")
    print(f"  {best:,.0f} msg/s best of {len(rates)} "
          f"({', '.join(f'{r:,.0f}' for r in rates)}); {1e6 / best:.2f} µs a message")
    print(f"  delivered: {strategy.trades:,} trades, {strategy.quotes:,} quotes, "
          f"{strategy.bars:,} bars; dropped: {totals['malformed']} malformed, "
          f"{totals['duplicates']} duplicates, {totals['out_of_order']} out of order")
    print(f"  alone: the wire decoder {parse_rate:,.0f} msg/s ({1e6 / parse_rate:.2f} µs), "
          f"the feed and callback {feed_rate:,.0f} msg/s ({1e6 / feed_rate:.2f} µs)")
    print(f"  {'meets' if best >= TARGET_MSGS_PER_S else 'MISSES'} the target of "
          f"{TARGET_MSGS_PER_S:,} msg/s")
    detect = silent_stream(standby=False)
    failover = silent_stream(standby=True)
    print("silent 1m stream, stale_after 1.5 intervals, watchdog every 0.25 s (simulated):")
    print(f"  detected after {detect['from_last_message']:.3f} intervals from the last "
          f"message ({detect['from_next_due']:.3f} after the next bar was due)")
    print(f"  failover to the standby after {failover['from_last_message']:.3f} intervals; "
          f"first missed bar delivered after {failover['first_missed_bar_delivered']:.3f}")
    ok = max(detect["from_last_message"], failover["from_last_message"]) <= TARGET_INTERVALS
    print(f"  {'meets' if ok else 'MISSES'} the target of {TARGET_INTERVALS:g} intervals each")
    result = {
        "bench": "feed",
        "messages": len(messages),
        "symbols": len(symbols),
        "msgs_per_s": round(best),
        "us_per_msg": round(1e6 / best, 3),
        "parser": "binance_wire.BinanceDecoder",
        "parse_only_msgs_per_s": round(parse_rate),
        "feed_only_msgs_per_s": round(feed_rate),
        "meets_throughput": best >= TARGET_MSGS_PER_S,
        "detect_intervals": round(detect["from_last_message"], 3),
        "detect_after_due_intervals": round(detect["from_next_due"], 3),
        "failover_intervals": round(failover["from_last_message"], 3),
        "failover_first_bar_intervals": round(failover["first_missed_bar_delivered"], 3),
        "meets_reaction": ok,
        "python": platform.python_version(),
    }
    print(json.dumps(result, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
