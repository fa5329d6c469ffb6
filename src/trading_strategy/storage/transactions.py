"""Connections for repositories: driver errors translated, writes in one transaction."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Table, event
from sqlalchemy.engine import Connection, Dialect, Engine

from trading_strategy.storage.engine import WRITE_OPTION, tune_hot_writer
from trading_strategy.storage.errors import translate_errors

__all__ = ["DriverInsert", "DriverWriter", "reading", "writing"]


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection for reads (rolled back on exit; each statement sees one snapshot)."""
    with translate_errors(engine.url), engine.connect() as connection:
        yield connection


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """One write transaction: committed if the block succeeds, rolled back if it raises.

    On SQLite it starts with ``BEGIN IMMEDIATE`` (the write lock is taken first, so a
    read-then-write block cannot fail half-way on a lock upgrade).
    """
    with translate_errors(engine.url), engine.connect() as connection:
        connection = connection.execution_options(**{WRITE_OPTION: True})
        with connection.begin():
            yield connection


class DriverWriter:
    """``writing`` on SQLite's own cursor, for the few statements a session runs per bar:
    ``BEGIN IMMEDIATE`` … ``COMMIT``, rolled back if the block raises. SQLAlchemy's
    execution costs ~30 µs a statement and its transaction and pool checkout as much
    again, several times the SQLite write itself.

    Keeps one pooled connection (with the engine's connect-time pragmas) for the thread
    that wrote first; another thread checks one out per transaction (pysqlite connections
    belong to the thread that made them).
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._raw: Any = None
        self._thread = 0
        # a disposed engine's connections are closed: the kept one with them
        event.listen(engine, "engine_disposed", lambda _engine: self.close())

    @contextmanager
    def writing(self) -> Iterator[Any]:
        with translate_errors(self._engine.url):
            thread = threading.get_ident()
            kept = self._raw
            if kept is None:
                kept = self._engine.raw_connection()
                if self._engine.dialect.name == "sqlite":
                    tune_hot_writer(kept.driver_connection)
                self._raw, self._thread = kept, thread
            raw = kept if thread == self._thread else self._engine.raw_connection()
            try:
                cursor = raw.cursor()
                cursor.execute("BEGIN IMMEDIATE")
                try:
                    yield cursor
                except BaseException:
                    cursor.execute("ROLLBACK")
                    raise
                cursor.execute("COMMIT")
            except BaseException:
                if raw is kept:  # a connection in an unknown state is not kept
                    self._raw = None
                    raw.invalidate()
                raise
            finally:
                if raw is not kept:
                    raw.close()

    def close(self) -> None:
        raw, self._raw = self._raw, None
        if raw is not None:  # not back to the pool: it carries ``tune_hot_writer``'s pragma
            raw.invalidate()


class DriverInsert:
    """An ``INSERT`` into ``table`` built once, run on a driver cursor (``DriverWriter``).

    Each value goes through its column type's bind processor for the engine's dialect, so
    a row holds exactly what a SQLAlchemy ``insert`` of the same values would have written
    (timestamps as integer nanoseconds, decimals as REAL, JSON as text). ``tail`` is
    appended to the statement (``ON CONFLICT …``).
    """

    def __init__(self, table: Table, columns: Sequence[str], dialect: Dialect, *,
                 tail: str = "") -> None:
        self.columns = tuple(columns)
        names = ", ".join(self.columns)
        marks = ", ".join("?" for _ in self.columns)
        self.sql = f"INSERT INTO {table.name} ({names}) VALUES ({marks}){tail}"
        self._processors = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
                            for name in self.columns]

    def row(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(value if process is None else process(value)
                     for value, process in zip(map(values.__getitem__, self.columns),
                                               self._processors, strict=True))

    def insert(self, cursor: Any, values: Mapping[str, Any]) -> int:
        """Insert one row; its rowid (the ``INTEGER PRIMARY KEY``)."""
        cursor.execute(self.sql, self.row(values))
        rowid: int = cursor.lastrowid
        return rowid

    def insert_many(self, cursor: Any, rows: Sequence[Mapping[str, Any]]) -> None:
        cursor.executemany(self.sql, [self.row(values) for values in rows])
