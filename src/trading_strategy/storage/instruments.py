"""Instruments repository: symbol, venue, precision, currency and calendar of each market."""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine

from trading_strategy.core.errors import ConfigError
from trading_strategy.core.instrument import AssetClass, Calendar, Instrument
from trading_strategy.storage.tables import InstrumentRow
from trading_strategy.storage.transactions import reading, writing

__all__ = ["InstrumentRepository"]

log = logging.getLogger(__name__)
_COLUMNS = (
    InstrumentRow.id,
    InstrumentRow.symbol,
    InstrumentRow.venue,
    InstrumentRow.asset_class,
    InstrumentRow.tick_size,
    InstrumentRow.lot_size,
    InstrumentRow.currency,
    InstrumentRow.calendar,
)


@dataclass(frozen=True, slots=True)
class StoredInstrument:
    id: int
    instrument: Instrument


def _instrument(row: Any) -> StoredInstrument:
    try:
        value = Instrument(
            symbol=row.symbol,
            tick_size=row.tick_size,
            lot_size=row.lot_size,
            venue=row.venue,
            asset_class=AssetClass(row.asset_class),
            currency=row.currency,
            calendar=Calendar(row.calendar),
        )
    except ValueError as exc:
        raise ConfigError(f"stored instrument {row.symbol!r} is not readable: {exc}") from None
    return StoredInstrument(int(row.id), value)


def lookup(connection: Connection, symbol: str) -> StoredInstrument | None:
    """The stored instrument for ``symbol``: exact match first, then any letter case."""
    wanted = symbol.strip()
    row = connection.execute(select(*_COLUMNS).where(InstrumentRow.symbol == wanted)).first()
    if row is None:
        row = connection.execute(
            select(*_COLUMNS).where(func.lower(InstrumentRow.symbol) == wanted.lower())
        ).first()
    return None if row is None else _instrument(row)


def ensure(connection: Connection, instrument: Instrument, *,
           given: Collection[str] = ()) -> StoredInstrument:
    """Insert ``instrument`` if new; return the stored one (inside the caller's transaction).

    An existing instrument keeps its metadata, except that a finer tick size that divides
    the stored one is adopted: stored prices stay exact multiples of it, and new prices
    can keep their extra decimals. ``given`` names sizes the user set explicitly
    (``"tick_size"``, ``"lot_size"``, as ``data import --tick-size/--lot-size`` does): they
    replace the stored ones, except a tick that would not hold the stored prices exactly
    (one that does not divide the stored tick), which is refused.
    """
    stored = lookup(connection, instrument.symbol)
    now = datetime.now(UTC)
    if stored is None:
        # ON CONFLICT DO NOTHING: a concurrent first import of the same symbol (another
        # process loading the samples, say) must not fail on the unique constraint.
        dialect_insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
        connection.execute(
            dialect_insert(InstrumentRow)
            .values(
                symbol=instrument.symbol,
                venue=instrument.venue,
                asset_class=instrument.asset_class.value,
                tick_size=instrument.tick_size,
                lot_size=instrument.lot_size,
                currency=instrument.currency,
                calendar=instrument.calendar.value,
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["symbol"])
        )
        stored = lookup(connection, instrument.symbol)
        if stored is None:  # pragma: no cover - the row was just written
            raise ConfigError(f"instrument {instrument.symbol!r} could not be stored")
        return stored
    changes = _size_changes(stored.instrument, instrument, given)
    if not changes:
        return stored
    connection.execute(
        update(InstrumentRow).where(InstrumentRow.id == stored.id).values(**changes,
                                                                         updated_at=now))
    for name, value in changes.items():
        log.info("instrument %s: %s %s -> %s", stored.instrument.symbol, name,
                 getattr(stored.instrument, name), value)
    return lookup(connection, stored.instrument.symbol) or stored


def _size_changes(old: Instrument, new: Instrument, given: Collection[str]
                  ) -> dict[str, Decimal]:
    changes: dict[str, Decimal] = {}
    old_tick, new_tick = old.tick_size, new.tick_size
    if new_tick < old_tick and old_tick % new_tick == 0:
        changes["tick_size"] = new_tick
    elif "tick_size" in given and new_tick != old_tick:
        raise ConfigError(
            f"{old.symbol} is stored with tick size {old_tick}; tick size {new_tick} does "
            f"not divide it, so its stored prices would not be whole ticks; use "
            f"{old_tick} or a tick that divides it (such as {old_tick / 10})")
    if "lot_size" in given and new.lot_size != old.lot_size:
        changes["lot_size"] = new.lot_size
    return changes


class InstrumentRepository:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def get(self, symbol: str) -> Instrument | None:
        with reading(self._engine) as connection:
            stored = lookup(connection, symbol)
        return None if stored is None else stored.instrument

    def list(self) -> list[Instrument]:
        with reading(self._engine) as connection:
            rows = connection.execute(select(*_COLUMNS).order_by(InstrumentRow.symbol)).all()
        return [_instrument(row).instrument for row in rows]

    def ensure(self, instrument: Instrument) -> Instrument:
        """Store ``instrument`` if its symbol is new; the stored instrument either way."""
        with writing(self._engine) as connection:
            return ensure(connection, instrument).instrument
