"""Bars remember their source: live bars from a provider, backfills from another, imports
(no source); one open time is one row, whoever writes it again."""

from __future__ import annotations

from types import SimpleNamespace

from trading_strategy.storage import Store


def test_a_bar_is_stored_once_with_the_source_that_first_stored_its_values(
        store: Store, kit: SimpleNamespace) -> None:
    bars = kit.random_bars(5, symbol="BTC/USDT")
    inst = bars.instrument
    # two bars arrive live from binance
    live = bars.between(None, int(bars.ts[1]))
    assert store.bars.write_bars(inst, "1m", live, source="binance").inserted == 2
    # a backfill from coinbase overlaps them with the same values and adds the rest
    result = store.bars.write_bars(inst, "1m", bars, source="coinbase")
    assert (result.inserted, result.updated, result.unchanged) == (3, 0, 2)
    sources = store.bars.read_sources("BTC/USDT", "1m")
    assert [ts for ts, _ in sources] == bars.ts.tolist()
    assert [s for _, s in sources] == ["binance"] * 2 + ["coinbase"] * 3
    # an import (no source) with the same values changes nothing
    assert store.bars.write_bars(inst, "1m", bars).unchanged == 5
    assert [s for _, s in store.bars.read_sources("BTC/USDT", "1m")] == \
        ["binance"] * 2 + ["coinbase"] * 3
    assert len(store.bars.read_bars("BTC/USDT", "1m")) == 5


def test_a_changed_bar_takes_the_source_of_its_new_values(
        store: Store, kit: SimpleNamespace) -> None:
    bars = kit.random_bars(3, symbol="ETH/USDT")
    inst = bars.instrument
    store.bars.write_bars(inst, "1m", bars, source="binance")
    revised = kit.bars_from_rows(
        [("2024-01-01T00:01:00Z", 100.0, 120.0, 90.0, 110.0, 5.0)], timeframe="1m", inst=inst)
    result = store.bars.write_bars(inst, "1m", revised, source="coinbase")
    assert (result.inserted, result.updated) == (0, 1)
    assert store.bars.read_sources("ETH/USDT", "1m") == [
        (int(bars.ts[0]), "binance"), (int(bars.ts[1]), "coinbase"),
        (int(bars.ts[2]), "binance")]
    # a file import that changes it again records no source
    store.bars.write_bars(inst, "1m", kit.bars_from_rows(
        [("2024-01-01T00:01:00Z", 100.0, 121.0, 90.0, 110.0, 5.0)], timeframe="1m",
        inst=inst))
    assert store.bars.read_sources("ETH/USDT", "1m", start=int(bars.ts[1]),
                                   end=int(bars.ts[1])) == [(int(bars.ts[1]), None)]
