"""The feed's pure core: staleness, gaps and backfill, bad input, dedupe (one provider).

Every input is scripted and time is a number: 1m bars, time in minutes from T0.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from trading_strategy.core.bars import Bar
from trading_strategy.core.enums import Side
from trading_strategy.core.errors import ConfigError
from trading_strategy.market_data.feed import FeedCore, InstrumentFeed
from trading_strategy.market_data.health_events import (
    BackfillRequest,
    DataRestored,
    DataStale,
    FeedHealthEvent,
)
from trading_strategy.market_data.providers.base import BarEvent, Health, QuoteEvent, TradeEvent
from trading_strategy.testing import make_bars

M = 60 * 1_000_000_000
T0 = 1_700_000_040 * 1_000_000_000 // M * M  # on a minute boundary
SYM = "BTC/USDT"


class Sink:
    """Records what a strategy (and the risk engine) would be told, in order."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, Any]] = []

    def on_bar(self, event: BarEvent, backfilled: bool) -> None:
        self.seen.append(("backfill" if backfilled else "bar",
                          (event.bar.ts_event - T0) // M))

    def on_trade(self, event: TradeEvent) -> None:
        self.seen.append(("trade", event.trade_id))

    def on_quote(self, event: QuoteEvent) -> None:
        self.seen.append(("quote", (event.bid, event.ask)))

    def on_health(self, event: FeedHealthEvent) -> None:
        self.seen.append((type(event).__name__, event))

    def kinds(self) -> list[tuple[str, Any]]:
        return [(k, v if k in ("bar", "backfill", "trade") else None) for k, v in self.seen]


def bar(minute: int, *, arrive: float | None = None, provider: str = "a",
        close: float = 100.0, **kw: float) -> BarEvent:
    """The bar opening at ``minute``, arriving when it closes (or at ``arrive`` minutes)."""
    values = {"open": close, "high": close + 1, "low": close - 1, "close": close,
              "volume": 5.0} | kw
    b = Bar(SYM, T0 + minute * M, values["open"], values["high"], values["low"],
            values["close"], values["volume"])
    when = minute + 1 if arrive is None else arrive
    return BarEvent(SYM, "1m", b, T0 + int(when * M), provider)


def trade(tid: str, minute: float, *, price: str = "100", size: str = "1",
          provider: str = "a") -> TradeEvent:
    ts = T0 + int(minute * M)
    return TradeEvent(SYM, Decimal(price), Decimal(size), Side.BUY, tid, ts, ts, provider)


def quote(bid: str, ask: str, minute: float, *, provider: str = "a",
          size: str = "1") -> QuoteEvent:
    ts = T0 + int(minute * M)
    return QuoteEvent(SYM, Decimal(bid), Decimal(size), Decimal(ask), Decimal(size), ts, ts,
                      provider)


def make(**kw: Any) -> tuple[FeedCore, Sink, list[str]]:
    kw.setdefault("providers", ("a",))
    kw.setdefault("timeframe", "1m")
    sink, logged = Sink(), list[str]()
    core = FeedCore([InstrumentFeed(SYM, **kw)], sink, start_ns=T0, log=logged.append)
    for name in kw["providers"]:
        core.on_provider_health(name, Health.LIVE, T0)
    return core, sink, logged


def at(minutes: float) -> int:
    return T0 + int(minutes * M)


def test_bars_in_sequence_are_delivered_as_they_come() -> None:
    core, sink, _ = make()
    for m in range(3):
        assert core.on_event(bar(m)) is None
    assert sink.kinds() == [("bar", 0), ("bar", 1), ("bar", 2)]
    assert core.counters()[SYM]["bars"] == 3


def test_silence_past_k_intervals_is_stale_and_the_next_update_restores() -> None:
    core, sink, _ = make(stale_after=1.5)
    core.on_event(bar(0))  # arrives at minute 1
    core.tick(at(2.5))  # 1.5 intervals of silence: not yet
    assert not core.is_stale(SYM) and sink.kinds() == [("bar", 0)]
    core.tick(at(2.51))
    assert core.is_stale(SYM)
    stale = sink.seen[-1][1]
    assert isinstance(stale, DataStale)
    assert (stale.symbol, stale.provider, stale.last_update_ns) == (SYM, "a", at(1))
    assert "no update for 1.51 expected intervals" in stale.reason
    core.tick(at(3))  # told once
    assert [k for k, _ in sink.seen].count("DataStale") == 1
    core.on_event(bar(1, arrive=3.2))
    restored = sink.seen[-2][1]
    assert isinstance(restored, DataRestored) and restored.stale_ns == at(3.2) - at(2.51)
    assert sink.seen[-1] == ("bar", 1)
    assert (core.counters()[SYM]["stale"], core.counters()[SYM]["restored"]) == (1, 1)


def test_a_stream_that_never_starts_goes_stale_after_the_grace_period() -> None:
    core, sink, _ = make()
    core.tick(at(1.6))
    assert core.is_stale(SYM) and sink.seen[-1][1].last_update_ns == T0


def test_a_provider_going_down_is_stale_at_once() -> None:
    core, sink, _ = make()
    core.on_event(bar(0))
    core.on_provider_health("a", Health.DOWN, at(1.1))
    assert core.is_stale(SYM) and "a is down" in sink.seen[-1][1].reason
    core.on_event(bar(1, arrive=2))  # still DOWN by its own account: not restored
    assert core.is_stale(SYM)
    core.on_provider_health("a", Health.LIVE, at(2.1))
    core.on_event(bar(2))
    assert not core.is_stale(SYM)


def test_a_gap_is_backfilled_before_the_next_bar() -> None:
    core, sink, _ = make()
    core.on_event(bar(0))
    request = core.on_event(bar(4))
    assert request == BackfillRequest(SYM, "1m", at(1), at(4), ("a",))
    assert core.on_event(bar(5)) is None  # held behind the gap too
    assert sink.kinds() == [("bar", 0)]
    history = [bar(m).bar for m in (3, 1, 2, 4)]  # unordered, overlapping the held bar
    assert core.complete_backfill(SYM, history, "a", at(6)) == []
    assert sink.kinds() == [("bar", 0), ("backfill", 1), ("backfill", 2), ("backfill", 3),
                            ("bar", 4), ("bar", 5)]
    c = core.counters()[SYM]
    assert (c["gaps"], c["backfilled_bars"], c["gap_bars_unfilled"]) == (1, 3, 0)


def test_a_backfill_from_a_bar_series_and_a_partial_answer() -> None:
    core, sink, _ = make()
    core.on_event(bar(0))
    core.on_event(bar(4))
    series = make_bars([1.0, 2.0], timeframe="1m", start="2023-11-14T22:15", symbol=SYM)
    assert int(series.ts[0]) == at(1)  # the bars opening at minutes 1 and 2
    core.complete_backfill(SYM, series, "a", at(5))
    assert sink.kinds() == [("bar", 0), ("backfill", 1), ("backfill", 2), ("bar", 4)]
    assert core.counters()[SYM]["gap_bars_unfilled"] == 1


def test_a_failed_backfill_still_delivers_what_came_after_the_gap() -> None:
    core, sink, logged = make()
    core.on_event(bar(0))
    core.on_event(bar(3))
    core.complete_backfill(SYM, None, "", at(4))
    assert sink.kinds() == [("bar", 0), ("bar", 3)]
    c = core.counters()[SYM]
    assert (c["backfill_failures"], c["gap_bars_unfilled"]) == (1, 2)
    assert "backfill failed" in logged[-1]


def test_held_bars_with_a_second_gap_ask_again() -> None:
    core, sink, _ = make()
    core.on_event(bar(0))
    core.on_event(bar(2))
    core.on_event(bar(5))
    again = core.complete_backfill(SYM, [bar(1).bar], "a", at(6))
    assert again == [BackfillRequest(SYM, "1m", at(3), at(5), ("a",))]
    core.complete_backfill(SYM, [bar(3).bar, bar(4).bar], "a", at(6))
    assert [v for _, v in sink.kinds()] == [0, 1, 2, 3, 4, 5]


def test_duplicate_and_out_of_order_bars_are_dropped_and_counted() -> None:
    core, sink, _ = make()
    for m in (0, 1, 1, 0, 2):
        core.on_event(bar(m))
    assert [v for _, v in sink.kinds()] == [0, 1, 2]
    c = core.counters()[SYM]
    assert (c["duplicates"], c["out_of_order"]) == (1, 1)


@pytest.mark.parametrize("event", [
    bar(0, high=99.0),  # high below the close
    bar(0, low=float("nan")),
    bar(0, volume=-1.0),
    bar(0, high=float("inf")),
    bar(0, close=0.0, open=0.0, low=0.0, high=0.0),
    BarEvent(SYM, "5m", bar(0).bar, at(1), "a"),  # not the feed's timeframe
    BarEvent(SYM, "1m", Bar(SYM, T0 + 7, 1, 1, 1, 1, 1), at(1), "a"),  # off the boundary
    BarEvent(SYM, "1m", "not a bar", at(1), "a"),  # type: ignore[arg-type]
    BarEvent(SYM, "1m", bar(0).bar, "late", "a"),  # type: ignore[arg-type]
    trade("t", 0, price="0"),
    trade("t", 0, size="NaN"),
    "a string",
    None,
    {"symbol": SYM},
    BarEvent("ETH/USDT", "1m", bar(0).bar, at(1), "a"),
])
def test_malformed_input_is_dropped_counted_and_logged_never_raised(event: Any) -> None:
    core, sink, logged = make()
    assert core.on_event(event) is None
    assert sink.seen == []
    assert core.totals()["malformed"] == 1
    assert len(logged) == 1 and "malformed" in logged[0]


def test_a_flood_of_bad_messages_is_counted_in_full_and_logged_sparingly() -> None:
    core, _, logged = make()
    for _ in range(1000):
        core.on_event("junk")
    assert core.counters()[""]["malformed"] == 1000
    assert len(logged) == 10 + 2  # the first ten, the 100th and the 1000th


def test_events_from_a_provider_not_listed_for_the_instrument_are_ignored() -> None:
    core, sink, _ = make()
    core.on_event(bar(0, provider="elsewhere"))
    assert sink.seen == [] and core.counters()[SYM]["unknown_source"] == 1
    core.on_event(bar(0, provider="elsewhere"), source="a")  # the runner names the source
    assert sink.kinds() == [("bar", 0)]


def test_quotes_crossed_or_missing_a_side_are_rejected() -> None:
    core, sink, _ = make(timeframe=None, expected_interval_ns=M)
    core.on_event(quote("100", "101", 0.1))
    core.on_event(quote("102", "101", 0.2))  # crossed
    core.on_event(quote("0", "101", 0.3))  # no bid
    core.on_event(quote("100", "NaN", 0.3))
    core.on_event(quote("100", "100", 0.4))  # locked, not crossed
    core.on_event(quote("100", "100", 0.4))  # the same again
    core.on_event(quote("99", "100", 0.35))  # older
    assert [v for _, v in sink.seen] == [(Decimal(100), Decimal(101)),
                                         (Decimal(100), Decimal(100))]
    c = core.counters()[SYM]
    assert (c["crossed_quotes"], c["missing_quotes"], c["duplicates"], c["out_of_order"]) == (
        1, 2, 1, 1)


def test_trades_dedupe_by_id_and_drop_older_ones() -> None:
    core, sink, _ = make(timeframe=None, expected_interval_ns=M)
    for tid, minute in (("1", 0.1), ("2", 0.2), ("2", 0.2), ("1", 0.1), ("0", 0.05),
                        ("3", 0.2)):
        core.on_event(trade(tid, minute))
    assert [v for _, v in sink.seen] == ["1", "2", "3"]
    c = core.counters()[SYM]
    assert (c["trades"], c["duplicates"], c["out_of_order"]) == (3, 2, 1)


def test_a_seeded_history_end_is_gap_checked() -> None:
    core, _, _ = make()
    core.seed_last_bar(SYM, at(0))
    assert core.on_event(bar(2)) == BackfillRequest(SYM, "1m", at(1), at(2), ("a",))


@pytest.mark.parametrize(("kw", "message"), [
    ({"providers": ()}, "list one or more providers"),
    ({"providers": ("a", "a")}, "listed twice"),
    ({"timeframe": "7x"}, "invalid timeframe"),
    ({"timeframe": None}, "set expected_interval_ns"),
    ({"stale_after": 0}, "stale_after must be > 0"),
    ({"failover_after": -1.0}, "failover_after must be > 0"),
])
def test_bad_settings_are_one_line_config_errors(kw: dict[str, Any], message: str) -> None:
    kw = {"providers": ("a",), "timeframe": "1m"} | kw
    with pytest.raises(ConfigError, match=message):
        InstrumentFeed(SYM, **kw)


def test_an_instrument_listed_twice_is_refused() -> None:
    with pytest.raises(ConfigError, match="listed twice"):
        FeedCore([InstrumentFeed(SYM, ("a",), "1m")] * 2, Sink(), start_ns=T0)
