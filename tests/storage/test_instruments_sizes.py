"""Tick and lot sizes the user gives (``data import --tick-size/--lot-size``) are stored on
the instrument and replace the stored ones; inferred sizes never shrink a stored lot."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from types import SimpleNamespace

import pytest

from trading_strategy.core.errors import ConfigError
from trading_strategy.storage import Store


def test_given_lot_size_is_stored_and_replaces_the_old(kit: SimpleNamespace,
                                                       store: Store) -> None:
    bars = kit.random_bars(5, timeframe="1d", tick="0.01")
    fractional = replace(bars.instrument, lot_size=Decimal("0.00001"))
    store.bars.write_bars(fractional, "1d", bars, given=("lot_size",))
    assert store.bars.instrument("TEST").lot_size == Decimal("0.00001")
    assert store.bars.read_bars("TEST", "1d").instrument.lot_size == Decimal("0.00001")
    # A later import that does not give a lot keeps the stored one...
    store.bars.write_bars(bars.instrument, "1d", bars)
    assert store.bars.instrument("TEST").lot_size == Decimal("0.00001")
    # ...one that does replaces it.
    store.bars.write_bars(replace(bars.instrument, lot_size=Decimal("0.001")), "1d", bars,
                          given=("lot_size",))
    assert store.bars.instrument("TEST").lot_size == Decimal("0.001")


def test_given_tick_must_hold_the_stored_prices(kit: SimpleNamespace, store: Store) -> None:
    bars = kit.random_bars(5, timeframe="1d", tick="0.01")
    store.bars.write_bars(bars.instrument, "1d", bars)
    coarser = replace(bars.instrument, tick_size=Decimal("0.05"))
    with pytest.raises(ConfigError, match="does not divide it"):
        store.bars.write_bars(coarser, "1d", bars, given=("tick_size",))
    assert store.bars.instrument("TEST").tick_size == Decimal("0.01")
    # Not given (inferred from a file): the stored tick stays, as before.
    store.bars.write_bars(coarser, "1d", bars)
    assert store.bars.instrument("TEST").tick_size == Decimal("0.01")
    finer = replace(bars.instrument, tick_size=Decimal("0.001"))
    store.bars.write_bars(finer, "1d", bars, given=("tick_size",))
    assert store.bars.instrument("TEST").tick_size == Decimal("0.001")
