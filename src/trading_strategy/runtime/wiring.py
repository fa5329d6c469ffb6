"""Where a session's durable pieces come from (the application database by default).

The runtime sits below ``config``: callers hand in plain values (a database URL, an open
store), never the settings object.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from trading_strategy.core.bars import BarSeries
from trading_strategy.orders.journal import Journal
from trading_strategy.runtime.journal_store import StoredJournal


def _session_id(root: Path) -> str:
    return str(json.loads((root / "session.json").read_text())["session_id"])


def open_session_store(database_url: Any) -> Any:
    """The application database at ``database_url`` (migrated on first use); anything with
    an ``effective_database_url()`` is taken too, as ``storage.open_store`` does."""
    from trading_strategy.storage import open_store

    return open_store(database_url)


def session_journal(store: Any, root: Path) -> StoredJournal:
    """The order journal of the session whose folder is ``root``."""
    return StoredJournal(store.journal, session_id=_session_id(root))


def stored_bars(store: Any) -> Callable[[str, str | None], BarSeries]:
    """Bars for a session: stored ones first (``data import``), else a sample or a file."""
    from trading_strategy.market_data.files import load_bars

    def read(symbol: str, timeframe: str | None) -> BarSeries:
        if not Path(symbol).exists() and store.bars.timeframes(symbol.upper()):
            bars: BarSeries = store.bars.read_bars(symbol.upper(), timeframe=timeframe)
            return bars
        return load_bars(symbol, timeframe=timeframe).bars

    return read


def stored_journal_factory(store: Any) -> Callable[[Path], Journal]:
    def make(root: Path) -> Journal:
        return session_journal(store, root)

    return make
