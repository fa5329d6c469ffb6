"""The feed's pure core: staleness, gaps and backfill, bad input, dedupe, and failover
between an instrument's providers (no bar twice, none skipped, back when healthy).

Every input is scripted and time is a number: 1m bars, time in minutes from T0. Failover
tests use providers "a" (primary) and "b" (standby, subscribed all along).
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
    ProviderSwitch,
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


def test_bars_missed_while_stale_are_backfilled_before_the_restore() -> None:
    core, sink, _ = make()
    core.on_event(bar(0))
    core.tick(at(3))
    assert core.on_event(bar(4)) is not None  # the stream resumes after a hole
    core.on_event(trade("x", 5.5))  # flowing again, but bars are still held: still stale
    assert core.is_stale(SYM)
    core.complete_backfill(SYM, [bar(m).bar for m in (1, 2, 3)], "a", at(5.6))
    assert [k for k, _ in sink.seen] == ["bar", "DataStale", "trade", "backfill", "backfill",
                                         "backfill", "DataRestored", "bar"]


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
    core, sink, _ = make(timeframe=None, quotes=True, expected_interval_ns=M)
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
    core, sink, _ = make(timeframe=None, trades=True, expected_interval_ns=M)
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
    ({"timeframe": None}, "nothing to deliver"),
    ({"timeframe": None, "trades": True}, "set expected_interval_ns"),
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


# --- failover ---------------------------------------------------------------------------
def make_ab(**kw: Any) -> tuple[FeedCore, Sink]:
    kw = {"providers": ("a", "b"), "timeframe": "1m", "switch_back_after": 3.0, **kw}
    sink = Sink()
    core = FeedCore([InstrumentFeed(SYM, **kw)], sink, start_ns=T0, log=lambda _: None)
    for name in kw["providers"]:
        core.on_provider_health(name, Health.LIVE, T0)
    return core, sink


def both(core: FeedCore, minutes: range, *, skip_a: bool = False) -> None:
    for m in minutes:
        if not skip_a:
            core.on_event(bar(m, provider="a"))
        core.on_event(bar(m, provider="b", arrive=m + 1.01))
        core.tick(at(m + 1.02))


def switches(sink: Sink) -> list[tuple[str, str, str]]:
    return [(e.from_provider, e.to_provider, e.reason) for k, e in sink.seen
            if k == "ProviderSwitch"]


def bars(sink: Sink) -> list[int]:
    return [v for k, v in sink.seen if k in ("bar", "backfill")]


def test_the_standby_is_not_delivered_while_the_primary_is_live() -> None:
    core, sink = make_ab()
    both(core, range(3))
    assert bars(sink) == [0, 1, 2] and core.active_provider(SYM) == "a"
    assert core.counters()[SYM]["standby"] == 3


def test_a_silent_primary_fails_over_without_a_missing_or_doubled_bar() -> None:
    core, sink = make_ab(stale_after=1.5)
    both(core, range(3))  # a's last bar arrives at minute 3
    both(core, range(3, 4), skip_a=True)  # a is silent; b's bar 3 is buffered
    assert bars(sink) == [0, 1, 2]
    core.tick(at(4.6))  # 1.6 intervals without a: switch, deliver what b holds
    assert switches(sink) == [("a", "b", "no update from a for 1.60 expected intervals")]
    assert bars(sink) == [0, 1, 2, 3]
    assert not any(k == "DataStale" for k, _ in sink.seen)  # failover came first
    both(core, range(4, 7), skip_a=True)
    assert bars(sink) == [0, 1, 2, 3, 4, 5, 6]
    assert core.active_provider(SYM) == "b"
    ev = next(e for k, e in sink.seen if k == "ProviderSwitch")
    assert isinstance(ev, ProviderSwitch) and ev.ts_ns == at(4.6) and ev.symbol == SYM
    assert core.counters()[SYM]["duplicates"] == 0  # the seam is not counted as one


def test_a_primary_that_goes_down_fails_over_at_once() -> None:
    core, sink = make_ab()
    both(core, range(2))
    core.on_provider_health("a", Health.DOWN, at(2.2))
    assert switches(sink) == [("a", "b", "a is down")]
    both(core, range(2, 4), skip_a=True)
    assert bars(sink) == [0, 1, 2, 3]


def test_bars_the_standby_missed_are_backfilled_at_the_seam() -> None:
    core, sink = make_ab()
    for m in range(3):
        core.on_event(bar(m, provider="a"))
    core.on_event(bar(2, provider="b", arrive=3.01))  # b only delivered bar 2 ...
    core.on_provider_health("a", Health.DOWN, at(3.5))
    core.on_event(bar(5, provider="b", arrive=6.01))  # ... then resumes at bar 5
    # a is down: b is asked first and only
    assert core.counters()[SYM]["duplicates"] == 0
    request = core.on_event(bar(6, provider="b", arrive=7.01))
    assert request is None  # already held behind the first gap
    assert bars(sink) == [0, 1, 2]
    core.complete_backfill(SYM, [bar(m).bar for m in (3, 4)], "b", at(7.1))
    assert bars(sink) == [0, 1, 2, 3, 4, 5, 6]
    assert [k for k, v in sink.seen if k in ("bar", "backfill")][3:5] == ["backfill"] * 2


def test_the_seam_backfill_request_names_the_new_source_first() -> None:
    core, _ = make_ab()
    core.on_event(bar(0, provider="a"))
    core.on_provider_health("a", Health.DOWN, at(1.5))
    # b was fresh (within the grace period) and takes over with nothing buffered
    assert core.active_provider(SYM) == "b"
    request = core.on_event(bar(2, provider="b", arrive=3.0))
    assert request == BackfillRequest(SYM, "1m", at(1), at(2), ("b",))


def test_switch_back_after_the_primary_has_been_healthy_long_enough() -> None:
    core, sink = make_ab(switch_back_after=3.0)
    both(core, range(2))
    core.on_provider_health("a", Health.DOWN, at(2.1))
    both(core, range(2, 4), skip_a=True)
    core.on_provider_health("a", Health.LIVE, at(4.05))  # back, and healthy from here
    both(core, range(4, 7))  # a healthy for 2.97 intervals by the tick at 7.02
    assert core.active_provider(SYM) == "b"
    both(core, range(7, 9))
    assert switches(sink)[-1][:2] == ("b", "a")
    assert "healthy again for 3 expected intervals" in switches(sink)[-1][2]
    assert core.active_provider(SYM) == "a"
    assert bars(sink) == list(range(9))
    assert core.counters()[SYM]["switches"] == 2


def test_a_flapping_primary_does_not_win_back_the_instrument() -> None:
    core, sink = make_ab(switch_back_after=3.0)
    core.on_provider_health("a", Health.DOWN, at(0.5))
    for m in range(8):
        core.on_event(bar(m, provider="b", arrive=m + 1.01))
        core.on_provider_health("a", Health.LIVE if m % 2 else Health.DOWN, at(m + 1.02))
        core.on_event(bar(m, provider="a"))
        core.tick(at(m + 1.03))
    assert core.active_provider(SYM) == "b" and len(switches(sink)) == 1
    assert bars(sink) == list(range(8))


def test_every_provider_silent_is_stale_then_the_first_back_restores() -> None:
    core, sink = make_ab(stale_after=1.5)
    both(core, range(2))  # last arrivals at 2 and 3.01... b at 2.01
    core.tick(at(3.6))
    assert core.is_stale(SYM) and switches(sink) == []
    stale = sink.seen[-1][1]
    assert isinstance(stale, DataStale) and stale.provider == "a"
    core.on_event(bar(2, provider="b", arrive=5.0))
    core.tick(at(5.1))  # b is fresh: switch, its buffered bar is delivered, restored
    assert core.active_provider(SYM) == "b" and not core.is_stale(SYM)
    kinds = [k for k, _ in sink.seen]
    assert kinds[-3:] == ["ProviderSwitch", "DataRestored", "bar"]
    restored = sink.seen[-2][1]
    assert isinstance(restored, DataRestored) and restored.provider == "b"


def test_trades_fail_over_and_dedupe_across_sources_by_id() -> None:
    core, sink = make_ab(timeframe=None, trades=True, expected_interval_ns=M)
    core.on_event(trade("1", 0.1, provider="a"))
    core.on_event(trade("1", 0.1, provider="b"))
    core.on_provider_health("a", Health.DOWN, at(0.5))
    core.on_event(trade("1", 0.1, provider="b"))  # the same trade from the new source
    core.on_event(trade("2", 0.6, provider="b"))
    assert [v for k, v in sink.seen if k == "trade"] == ["1", "2"]


def test_a_primary_silent_while_live_gets_back_after_fresh_data_long_enough() -> None:
    core, sink = make_ab(switch_back_after=3.0)
    both(core, range(2))
    both(core, range(2, 4), skip_a=True)  # a says LIVE but sends nothing: b takes over
    assert core.active_provider(SYM) == "b"
    both(core, range(4, 6))  # a's data is back from minute 5 (its bar 4 arrives then)
    assert core.active_provider(SYM) == "b"
    both(core, range(6, 8))  # fresh for 3.02 intervals at the tick of minute 8.02
    assert core.active_provider(SYM) == "a" and bars(sink) == list(range(8))
