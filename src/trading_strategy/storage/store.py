"""The storage facade: one engine and the repositories over it, opened from settings.

Open it in an application factory or a command handler, use it, close it::

    with open_store() as store:                      # settings from the environment
        bars = store.bars.read_bars("GOOG", "1d")
        run_id = store.runs.save_run(report)

Opening checks the schema: an empty database is migrated on first use; an outdated one
raises ``ConfigError`` asking for ``trading-strategy db upgrade``.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from trading_strategy.core.errors import ConfigError
from trading_strategy.storage.bar_store import BarStore
from trading_strategy.storage.engine import make_engine
from trading_strategy.storage.events import EventRepository
from trading_strategy.storage.instruments import InstrumentRepository
from trading_strategy.storage.journal import TradingJournal
from trading_strategy.storage.migrate import ensure_schema
from trading_strategy.storage.runs import RunRepository
from trading_strategy.storage.urls import redact_url

if TYPE_CHECKING:
    from trading_strategy.config import Settings

__all__ = ["Store", "open_store", "settings_from_environment"]


class Store:
    """Repositories sharing one engine. Not thread-bound; close it when done."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.instruments = InstrumentRepository(engine)
        self.bars = BarStore(engine)
        self.runs = RunRepository(engine)
        self.journal = TradingJournal(engine)
        self.events = EventRepository(engine)

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


def settings_from_environment() -> Settings:
    """``Settings()`` with validation errors as a one-line ``ConfigError``."""
    from pydantic import ValidationError

    from trading_strategy.config import Settings

    try:
        return Settings()
    except ValidationError as exc:
        # loc and message only: the offending input may be a secret.
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ())) or "settings"
        raise ConfigError(f"invalid setting {where}: {first.get('msg', 'invalid')}") from None


def open_store(settings: Settings | None = None, *, url: str | None = None,
               migrate: bool = True) -> Store:
    """A ``Store`` on ``url``, else ``settings``' database, else the environment's.

    With ``migrate`` (the default) the schema is created in an empty database and checked
    otherwise; pass ``migrate=False`` to manage migrations yourself (``db`` commands).
    """
    if url is None:
        url = (settings or settings_from_environment()).effective_database_url()
    engine = make_engine(url)
    try:
        if migrate:
            ensure_schema(engine)
    except BaseException:
        engine.dispose()
        raise
    return Store(engine)
