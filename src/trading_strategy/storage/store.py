"""The storage facade: one engine and the repositories over it, opened on a database URL.

Open it in an application factory or a command handler, use it, close it::

    with open_store(settings.effective_database_url()) as store:
        bars = store.bars.read_bars("GOOG", "1d")
        run_id = store.runs.save_run(report)

The URL comes from the caller (``trading_strategy.config`` resolves it from the settings
file and the environment): storage sits below the settings layer and never reads them.

Opening checks the schema: an empty database is migrated on first use; an outdated one
raises ``ConfigError`` asking for ``trading-strategy db upgrade``.
"""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.engine import URL, Engine

from trading_strategy.storage.bar_store import BarStore
from trading_strategy.storage.engine import make_engine
from trading_strategy.storage.events import EventRepository
from trading_strategy.storage.instruments import InstrumentRepository
from trading_strategy.storage.journal import TradingJournal
from trading_strategy.storage.migrate import ensure_schema
from trading_strategy.storage.research_runs import ResearchRunRepository
from trading_strategy.storage.runs import RunRepository
from trading_strategy.storage.urls import redact_url

__all__ = ["Store", "open_store"]


class Store:
    """Repositories sharing one engine. Not thread-bound; close it when done."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.instruments = InstrumentRepository(engine)
        self.bars = BarStore(engine)
        self.runs = RunRepository(engine)
        self.journal = TradingJournal(engine)
        self.events = EventRepository(engine)
        self.research = ResearchRunRepository(engine)

    @property
    def url(self) -> str:
        """The database URL with its password hidden."""
        return redact_url(self.engine.url)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


def open_store(url: str | URL, *, migrate: bool = True,
               upgrade_older: bool = False) -> Store:
    """A ``Store`` on the database at ``url`` (SQLite or PostgreSQL, see ``make_engine``).

    With ``migrate`` (the default) the schema is created in an empty database and checked
    otherwise (``upgrade_older``: also brought up from an older revision); pass
    ``migrate=False`` to manage migrations yourself (``db`` commands).
    """
    engine = make_engine(url)
    try:
        if migrate:
            ensure_schema(engine, upgrade_older=upgrade_older)
    except BaseException:
        engine.dispose()
        raise
    return Store(engine)
