"""Where a session's durable pieces come from (the application database by default)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from trading_strategy.config import Settings
from trading_strategy.orders.journal import Journal
from trading_strategy.runtime.journal_store import StoredJournal
from trading_strategy.runtime.portfolio_config import PortfolioConfig


def _session_id(root: Path) -> str:
    return str(json.loads((root / "session.json").read_text())["session_id"])


def open_session_journal(settings: Settings, root: Path) -> StoredJournal:
    from trading_strategy.storage import open_store

    store = open_store(settings)
    return StoredJournal(store.journal, session_id=_session_id(root))


def stored_journal_factory(settings: Settings,
                           config: PortfolioConfig) -> Callable[[Path], Journal]:
    def make(root: Path) -> Journal:
        return open_session_journal(settings, root)

    return make
