"""``status`` on a live session: per instrument, the provider in use, stale or not, the
switches and stale spells of its whole history, the last bar and its age."""

from __future__ import annotations

from trading_strategy.observability.metrics import FeedState, SessionMetrics
from trading_strategy.observability.status import (
    feed_health,
    feed_lines,
    metrics_view,
    session_status,
    status_lines,
)

S = 1_000_000_000
T0 = 1_717_200_000 * S


def events() -> list[dict[str, object]]:
    return [
        {"kind": "reconciliation"},
        {"kind": "data_stale", "symbol": "BTC/USDT", "provider": "binance", "ts_ns": T0},
        {"kind": "provider_switch", "symbol": "BTC/USDT", "from": "binance",
         "to": "coinbase", "ts_ns": T0 + S},
        {"kind": "data_restored", "symbol": "BTC/USDT", "provider": "coinbase",
         "ts_ns": T0 + 2 * S},
        {"kind": "data_stale", "symbol": "ETH/USDT", "provider": "binance",
         "ts_ns": T0 + 3 * S},
    ]


def test_feed_health_from_the_events_the_checkpoint_and_the_file() -> None:
    feed = feed_health(events(), checkpoint={"BTC/USDT": T0 + 60 * S},
                       providers={"BTC/USDT": ["binance", "coinbase"],
                                  "SOL/USDT": ["binance"]},
                       now_ns=T0 + 90 * S)
    assert feed["BTC/USDT"] == {
        "provider": "coinbase", "stale": False, "stale_since": None, "switches": 1,
        "stale_spells": 1, "last_bar": "2024-06-01T00:01:00Z", "last_bar_age_s": 30.0,
        "counters": {}}
    assert feed["ETH/USDT"]["stale"] is True
    assert feed["ETH/USDT"]["stale_since"] == "2024-06-01T00:00:03Z"
    assert feed["SOL/USDT"]["provider"] == "binance"  # the primary: nothing happened yet
    lines = feed_lines(feed)
    assert lines[0] == "live data feed:"
    assert "STALE since 2024-06-01T00:00:03Z" in lines[2]
    assert "provider coinbase; last bar 2024-06-01T00:01:00Z (30 s ago); switches 1" \
        in lines[1]


def test_a_replay_session_shows_no_feed() -> None:
    report = session_status(name="s", session_id="id", entries=[],
                            events=[{"kind": "reconciliation"}], checkpoint={"X": T0})
    assert report["feed"] == {}
    assert not any("live data feed" in line for line in status_lines(report))


def test_live_metrics_say_which_provider_is_in_use_and_count_what_was_dropped() -> None:
    metrics = SessionMetrics()
    metrics.feed().watch(lambda: {"BTC/USDT": FeedState(
        "coinbase", True, T0, {"duplicates": 3, "malformed": 1, "switches": 2})})
    live = metrics_view(metrics.render(), source="live, http://127.0.0.1:1/metrics")
    feed = feed_health([], metrics=live, now_ns=T0 + 5 * S)
    assert feed["BTC/USDT"]["provider"] == "coinbase"
    assert feed["BTC/USDT"]["stale"] is True
    assert feed["BTC/USDT"]["last_bar_age_s"] == 5.0
    assert feed["BTC/USDT"]["counters"]["duplicates"] == 3
    line = feed_lines(feed)[1]
    assert "duplicates 3" in line and "malformed 1" in line
    # a snapshot is written as the process stops, every provider closed: not "stale" data
    snapshot = dict(live, source="snapshot of the last process")
    assert feed_health([], metrics=snapshot)["BTC/USDT"]["stale"] is False
