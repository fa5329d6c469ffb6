"""A fake Coinbase Exchange public REST API: what ccxt's ``coinbaseexchange`` calls for
history (``fetch_ohlcv``), so backfill tests run on 127.0.0.1.

===================================  =====================================================
``GET /products``                    the markets (``BTC-USD``, ``ETH-USD`` by default)
``GET /currencies``, ``GET /time``   public basics ccxt may ask for
``GET /products/{id}/candles``       candles given with ``add_candles``: ``granularity``
                                     (seconds), ``start``/``end`` (ISO 8601, inclusive);
                                     at most 300, newest first, as the real one answers
                                     ``[time s, low, high, open, close, volume]``
===================================  =====================================================
"""

from __future__ import annotations

import threading
import time
from datetime import datetime
from decimal import Decimal
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

_MAX_CANDLES = 300


class FakeCoinbase:
    def __init__(self, products: tuple[str, ...] = ("BTC-USD", "ETH-USD")) -> None:
        self.products = products
        #: (product, granularity s) → {open s: (open, high, low, close, volume)}
        self.candles: dict[tuple[str, int], dict[int, tuple[Decimal, ...]]] = {}
        self.requests: list[str] = []
        self._lock = threading.Lock()

    def add_candles(self, product: str, granularity: int,
                    rows: list[tuple[int, Decimal, Decimal, Decimal, Decimal, Decimal]]) -> None:
        """Candles ``(open s, open, high, low, close, volume)``."""
        with self._lock:
            book = self.candles.setdefault((product, granularity), {})
            for open_s, *values in rows:
                book[open_s] = tuple(Decimal(v) for v in values)

    def app(self) -> FastAPI:
        app = FastAPI(title="fake coinbase exchange")

        @app.get("/products")
        def products() -> list[dict[str, Any]]:
            self.requests.append("products")
            return [_product(p) for p in self.products]

        @app.get("/currencies")
        def currencies() -> list[dict[str, Any]]:
            self.requests.append("currencies")
            return []

        @app.get("/time")
        def server_time() -> dict[str, Any]:
            return {"epoch": time.time()}

        @app.get("/products/{product}/candles", response_model=None)
        def candles(product: str, granularity: int = 60, start: str | None = None,
                    end: str | None = None) -> list[list[Any]] | JSONResponse:
            self.requests.append(f"candles {product}")
            if product not in self.products:
                return JSONResponse({"message": "NotFound"}, status_code=404)
            lo = _seconds(start) if start else 0
            hi = _seconds(end) if end else 2**62
            with self._lock:
                book = self.candles.get((product, granularity), {})
                rows = [t for t in sorted(book) if lo <= t <= hi][:_MAX_CANDLES]
                return [[t, *(float(book[t][i]) for i in (2, 1, 0, 3, 4))]
                        for t in reversed(rows)]

        return app


def _seconds(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp())


def _product(product: str) -> dict[str, Any]:
    base, quote = product.split("-")
    return {"id": product, "base_currency": base, "quote_currency": quote,
            "quote_increment": "0.01", "base_increment": "0.00000001",
            "display_name": f"{base}/{quote}", "min_market_funds": "1",
            "margin_enabled": False, "post_only": False, "limit_only": False,
            "cancel_only": False, "status": "online", "status_message": "",
            "auction_mode": False}
