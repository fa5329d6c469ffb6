"""The database a command reads bars from and saves its results to (``backtest``,
``optimize``, ``walk-forward``)."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["open_database"]


def open_database(args: argparse.Namespace, settings: Any = None) -> Any:
    """The store ``settings`` (default: the environment's) name, with the bundled samples
    loaded; ``None`` with ``--no-store``. The caller closes it."""
    if args.no_store:
        return None
    from trading_strategy.sample_store import ensure_samples_loaded

    if settings is None:
        from trading_strategy.config import load_settings

        settings = load_settings(None)
    store = settings.open_store()
    try:
        ensure_samples_loaded(store)
    except BaseException:
        store.close()
        raise
    return store
