"""Storage: SQLAlchemy tables, Alembic migrations and repositories (SQLite, PostgreSQL).

The public surface; everything else in this package is private. Importing it loads
SQLAlchemy (not psycopg): command handlers import it inside the handler.

- ``open_store(settings=None, *, url=None, migrate=True) -> Store``: engine plus
  repositories ``store.bars`` (:class:`BarStore`), ``store.instruments``, ``store.runs``
  (:class:`RunRepository`), ``store.journal`` (:class:`TradingJournal`), ``store.events``
  (:class:`EventRepository`).
- ``make_engine(url)``, ``create_engine_from_settings(settings)``: engines alone.
- ``upgrade``, ``downgrade``, ``current_revision``, ``head_revision``, ``ensure_schema``.
- ``ensure_samples_loaded(store_or_engine)``; ``redact_url(url)``.
"""

from trading_strategy.storage.bar_store import BarStore, SeriesInfo, WriteResult
from trading_strategy.storage.coverage import Coverage, CoverageRange, Gap
from trading_strategy.storage.engine import create_engine_from_settings, make_engine
from trading_strategy.storage.errors import DatabaseError
from trading_strategy.storage.events import EventRepository
from trading_strategy.storage.instruments import InstrumentRepository
from trading_strategy.storage.journal import TradingJournal
from trading_strategy.storage.migrate import (
    current_revision,
    downgrade,
    ensure_schema,
    head_revision,
    upgrade,
)
from trading_strategy.storage.records import (
    FillRecord,
    OrderEventRecord,
    OrderRecord,
    PositionRecord,
    RiskEventRecord,
    StrategyEventRecord,
)
from trading_strategy.storage.runs import RunDetail, RunRepository, RunSummary, StoredTrade
from trading_strategy.storage.samples import ensure_samples_loaded
from trading_strategy.storage.store import Store, open_store, settings_from_environment
from trading_strategy.storage.urls import redact_url

__all__ = [
    "BarStore",
    "Coverage",
    "CoverageRange",
    "DatabaseError",
    "EventRepository",
    "FillRecord",
    "Gap",
    "InstrumentRepository",
    "OrderEventRecord",
    "OrderRecord",
    "PositionRecord",
    "RiskEventRecord",
    "RunDetail",
    "RunRepository",
    "RunSummary",
    "SeriesInfo",
    "Store",
    "StoredTrade",
    "StrategyEventRecord",
    "TradingJournal",
    "WriteResult",
    "create_engine_from_settings",
    "current_revision",
    "downgrade",
    "ensure_samples_loaded",
    "ensure_schema",
    "head_revision",
    "make_engine",
    "open_store",
    "redact_url",
    "settings_from_environment",
    "upgrade",
]
