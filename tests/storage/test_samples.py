"""Bundled samples are loaded into a store once, cheaply skipped afterwards."""

from __future__ import annotations

import time
from types import SimpleNamespace

from trading_strategy.market_data.samples import sample_symbols
from trading_strategy.storage import Store, ensure_samples_loaded


def test_samples_load_once(store: Store) -> None:
    added = ensure_samples_loaded(store)
    assert added > 15_000
    assert {s.symbol for s in store.bars.series()} == set(sample_symbols())
    goog = store.bars.read_bars("GOOG", "1d")
    assert str(goog.instrument.tick_size) == "0.0001" and len(goog) == 2148
    started = time.perf_counter()
    assert ensure_samples_loaded(store.engine) == 0
    assert time.perf_counter() - started < 0.5


def test_user_data_under_a_sample_symbol_is_kept(kit: SimpleNamespace, store: Store) -> None:
    mine = kit.random_bars(10, symbol="AAPL", timeframe="1h")
    store.bars.write_bars(mine.instrument, "1h", mine)
    ensure_samples_loaded(store)
    assert [str(t) for t in store.bars.timeframes("AAPL")] == ["1h"]
    assert len(store.bars.read_bars("AAPL", "1h")) == 10
