"""Connections for repositories: driver errors translated, writes in one transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Connection, Engine

from trading_strategy.storage.engine import WRITE_OPTION
from trading_strategy.storage.errors import translate_errors

__all__ = ["reading", "writing"]


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
