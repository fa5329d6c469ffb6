"""Bundled samples are loaded into a store once, and skipped afterwards without reading a
file."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from trading_strategy import sample_store
from trading_strategy.market_data.samples import sample_symbols
from trading_strategy.sample_store import ensure_samples_loaded
from trading_strategy.storage import Store


def test_samples_load_once(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    added = ensure_samples_loaded(store)
    assert added > 15_000
    assert {s.symbol for s in store.bars.series()} == set(sample_symbols())
    goog = store.bars.read_bars("GOOG", "1d")
    assert str(goog.instrument.tick_size) == "0.0001" and len(goog) == 2148

    def no_file(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a sample already stored was read again")

    # the second call is one indexed query, no file read
    monkeypatch.setattr(sample_store, "load_bars", no_file)
    assert ensure_samples_loaded(store.engine) == 0


def test_user_data_under_a_sample_symbol_is_kept(kit: SimpleNamespace, store: Store) -> None:
    mine = kit.random_bars(10, symbol="AAPL", timeframe="1h")
    store.bars.write_bars(mine.instrument, "1h", mine)
    ensure_samples_loaded(store)
    assert [str(t) for t in store.bars.timeframes("AAPL")] == ["1h"]
    assert len(store.bars.read_bars("AAPL", "1h")) == 10
