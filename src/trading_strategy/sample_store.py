"""Load the bundled sample data into a store on first use, cheaply when already there.

A sample is loaded only when its symbol has no bars at all in the store, so data a user
imported under the same symbol is never overwritten. The check is one indexed query;
loading all samples (~17,000 bars) takes a fraction of a second.

It joins two sibling layers (the sample files of ``market_data`` and the tables of
``storage``), which never import each other, so it sits above both, beside the settings,
for the faces (CLI, Python API) to call.
"""

from __future__ import annotations

import logging

from sqlalchemy import exists, select
from sqlalchemy.engine import Engine

from trading_strategy.market_data import samples
from trading_strategy.market_data.files import load_bars
from trading_strategy.storage.bar_store import BarStore
from trading_strategy.storage.store import Store
from trading_strategy.storage.tables import BarRow, InstrumentRow
from trading_strategy.storage.transactions import reading

__all__ = ["ensure_samples_loaded"]

log = logging.getLogger(__name__)


def _symbols_with_bars(engine: Engine, symbols: list[str]) -> set[str]:
    has_bars = exists().where(BarRow.instrument_id == InstrumentRow.id)
    with reading(engine) as connection:
        rows = connection.execute(
            select(InstrumentRow.symbol).where(InstrumentRow.symbol.in_(symbols), has_bars)
        ).scalars()
        return {symbol.upper() for symbol in rows}


def ensure_samples_loaded(target: Engine | Store) -> int:
    """Store every bundled sample whose symbol has no bars yet; the number of bars added."""
    engine = target.engine if isinstance(target, Store) else target
    symbols = samples.sample_symbols()
    missing = [s for s in symbols if s not in _symbols_with_bars(engine, symbols)]
    if not missing:
        return 0
    store = BarStore(engine)
    added = 0
    for symbol in missing:
        bars = load_bars(symbol).bars
        added += store.write_bars(bars.instrument, bars.timeframe, bars).inserted
    log.info("loaded bundled samples %s (%d bars)", ", ".join(missing), added)
    return added
