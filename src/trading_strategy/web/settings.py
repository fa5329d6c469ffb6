"""The web app's settings: the ``web`` section of ``config.Settings``
(``TRADING_STRATEGY_WEB__*`` variables), re-exported where the app reads them."""

from __future__ import annotations

from trading_strategy.config import WebSettings

__all__ = ["WebSettings"]
