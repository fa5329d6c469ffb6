"""Storage: SQLAlchemy tables, Alembic migrations and repositories (SQLite, PostgreSQL).

The public surface; everything else in this package is private. Importing it loads
SQLAlchemy (not psycopg): command handlers import it inside the handler. The database URL
always comes from the caller: this layer reads no settings and no data files.

- ``open_store(url, *, migrate=True) -> Store``: engine plus repositories ``store.bars``
  (:class:`BarStore`), ``store.instruments``, ``store.runs`` (:class:`RunRepository`),
  ``store.journal`` (:class:`TradingJournal`), ``store.events`` (:class:`EventRepository`),
  ``store.research`` (:class:`ResearchRunRepository`: optimisations, walk-forwards).
- ``make_engine(url)``: an engine alone.
- ``upgrade``, ``downgrade``, ``current_revision``, ``head_revision``, ``ensure_schema``.
- ``redact_url(url)``.
"""

from trading_strategy.storage.bar_store import BarStore, SeriesInfo, WriteResult
from trading_strategy.storage.coverage import Coverage, CoverageRange, Gap
from trading_strategy.storage.engine import make_engine
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
from trading_strategy.storage.store import Store, open_store
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
    "current_revision",
    "downgrade",
    "ensure_schema",
    "head_revision",
    "make_engine",
    "open_store",
    "redact_url",
    "upgrade",
]

