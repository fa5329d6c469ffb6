"""A fake Binance *spot* REST API, close enough for ccxt's real ``binance`` code paths.

It answers what ccxt calls with ``options = {"fetchMarkets": {"types": ["spot"]},
"fetchCurrencies": False, "fetchMargins": False}``:

===============================  ==========================================================
``GET  /api/v3/ping, /time``     public
``GET  /api/v3/exchangeInfo``    markets with PRICE_FILTER / LOT_SIZE / NOTIONAL filters
``POST /api/v3/order``           MARKET and LIMIT (GTC, IOC, FOK); ``newClientOrderId``
``GET  /api/v3/order``           by ``orderId`` or ``origClientOrderId``
``DELETE /api/v3/order``         by ``orderId`` or ``origClientOrderId``
``GET  /api/v3/openOrders``      ``symbol`` optional
``GET  /api/v3/account``         balances (free / locked)
``GET  /api/v3/myTrades``        ``symbol`` required; ``startTime``, ``fromId``, ``orderId``
``GET  /api/v3/klines``          public; candles given with ``add_klines`` (backfill tests);
                                 ``startTime``/``endTime`` (ms) and ``limit`` (≤ 1000)
===============================  ==========================================================

Rules: signed endpoints need ``X-MBX-APIKEY`` (unknown key → 401 ``-2014``) and an HMAC
SHA-256 ``signature`` of the query string (GET/DELETE) or form body (POST) with the secret
(mismatch → 400 ``-1022``). Market orders fill at once at the symbol's last price; limit
orders fill at once (at the last price) when marketable, else rest until ``trade()`` moves
the price through them (they fill at their limit). A commission (default 0.1 %) is charged
in the quote asset. A buy needs the quote asset, a sell the base asset (resting orders lock
them); short of funds → ``-2010 Account has insufficient balance...``. A price or quantity
off the tick / step → ``-1013 Filter failure: PRICE_FILTER / LOT_SIZE``. A
``newClientOrderId`` already used by ANY order → ``-2010 Duplicate order sent.`` (real
Binance only refuses duplicates among *open* orders, which is why adapters must look an id
up before re-sending it).

Fault injection (each consumed once, thread-safe, callable from the test's thread):
``reject_next_order(code, msg)``; ``stall_next_order(seconds, create=...)`` — with
``create=False`` the request sleeps and the order is never created (a lost request), with
``create=True`` the order is created first and the *answer* is delayed (the outcome is
unknown to a client that timed out); ``fail_next(status, count, path)`` — plain-text HTTP
errors (5xx) before any processing; ``go_offline(status)`` / ``go_online()`` — every
request answered with that plain-text status (default 503: an outage or maintenance) until
back online, while the test may still ``trade()`` (fills the client cannot see meanwhile).
``place_order(...)`` places an order as another client would (the exchange's web page, a
second bot): reconciliation must notice it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

_Q8 = Decimal("0.00000001")
_INTERVAL_MS = {"1s": 1_000, "1m": 60_000, "3m": 180_000, "5m": 300_000, "15m": 900_000,
                "30m": 1_800_000, "1h": 3_600_000, "2h": 7_200_000, "4h": 14_400_000,
                "6h": 21_600_000, "8h": 28_800_000, "12h": 43_200_000, "1d": 86_400_000,
                "3d": 259_200_000, "1w": 604_800_000}


def _fmt(value: Decimal) -> str:
    return f"{value.quantize(_Q8):f}"


@dataclass(slots=True)
class FakeMarket:
    symbol: str
    base: str
    quote: str
    tick_size: Decimal
    step_size: Decimal
    last_price: Decimal
    min_notional: Decimal = Decimal(1)


@dataclass(slots=True)
class FakeOrder:
    order_id: int
    client_order_id: str
    symbol: str
    side: str
    type: str
    time_in_force: str
    orig_qty: Decimal
    price: Decimal
    time: int
    status: str = "NEW"
    executed_qty: Decimal = Decimal(0)
    cum_quote: Decimal = Decimal(0)
    update_time: int = 0

    @property
    def is_open(self) -> bool:
        return self.status in ("NEW", "PARTIALLY_FILLED")


@dataclass(frozen=True, slots=True)
class FakeTrade:
    id: int
    order_id: int
    symbol: str
    price: Decimal
    qty: Decimal
    commission: Decimal
    commission_asset: str
    time: int
    is_buyer: bool
    is_maker: bool


@dataclass(slots=True)
class _Faults:
    rejects: list[tuple[int, str]] = field(default_factory=list)
    stalls: list[tuple[float, bool]] = field(default_factory=list)
    http_errors: list[tuple[int, str | None]] = field(default_factory=list)
    #: every request answered with this status while set (an outage)
    offline: int | None = None


class ApiError(Exception):
    def __init__(self, status: int, code: int, msg: str) -> None:
        super().__init__(msg)
        self.status, self.code, self.msg = status, code, msg


def default_markets() -> list[FakeMarket]:
    return [FakeMarket("BTCUSDT", "BTC", "USDT", Decimal("0.01"), Decimal("0.00001"),
                       Decimal("50000.00")),
            FakeMarket("ETHUSDT", "ETH", "USDT", Decimal("0.01"), Decimal("0.0001"),
                       Decimal("3000.00"))]


class FakeBinance:
    """State of one fake account plus the FastAPI app serving it (``app()``)."""

    def __init__(self, *, api_key: str = "fake-api-key", secret: str = "fake-api-secret",
                 markets: list[FakeMarket] | None = None,
                 balances: Mapping[str, Decimal] | None = None,
                 commission_rate: Decimal = Decimal("0.001")) -> None:
        self.api_key, self.secret = api_key, secret
        self.markets = {m.symbol: m for m in (markets or default_markets())}
        self.free: dict[str, Decimal] = {a: Decimal(0) for m in self.markets.values()
                                         for a in (m.base, m.quote)}
        self.free.update({k: Decimal(v) for k, v in
                          (balances or {"USDT": Decimal(100_000)}).items()})
        self.locked: dict[str, Decimal] = dict.fromkeys(self.free, Decimal(0))
        self.commission_rate = commission_rate
        self.orders: dict[int, FakeOrder] = {}
        self.trades: list[FakeTrade] = []
        self.requests: list[tuple[str, str]] = []
        #: (symbol, interval) → {open ms: (open, high, low, close, volume)}
        self.klines: dict[tuple[str, str], dict[int, tuple[Decimal, ...]]] = {}
        self.faults = _Faults()
        self._lock = threading.Lock()
        self._order_ids = itertools.count(1)
        self._trade_ids = itertools.count(1)

    # --- control (thread-safe) ---------------------------------------------------------
    def reject_next_order(self, code: int = -2010,
                          msg: str = "Account has insufficient balance for requested "
                                     "action.") -> None:
        with self._lock:
            self.faults.rejects.append((code, msg))

    def stall_next_order(self, seconds: float, *, create: bool) -> None:
        with self._lock:
            self.faults.stalls.append((seconds, create))

    def fail_next(self, status: int = 503, count: int = 1, path: str | None = None) -> None:
        with self._lock:
            self.faults.http_errors.extend([(status, path)] * count)

    def go_offline(self, status: int = 503) -> None:
        with self._lock:
            self.faults.offline = status

    def go_online(self) -> None:
        with self._lock:
            self.faults.offline = None

    def place_order(self, symbol: str, side: str, quantity: Decimal, price: Decimal | None = None,
                    *, client_order_id: str) -> FakeOrder:
        """An order placed by someone else (MARKET without ``price``, else a GTC LIMIT)."""
        params = {"symbol": symbol, "side": side, "quantity": str(quantity),
                  "newClientOrderId": client_order_id,
                  "type": "MARKET" if price is None else "LIMIT"}
        if price is not None:
            params.update(price=str(price), timeInForce="GTC")
        with self._lock:
            body = self._create(params)
            return self.orders[int(body["orderId"])]

    def orders_with_client_id(self, client_order_id: str) -> list[FakeOrder]:
        with self._lock:
            return [o for o in self.orders.values() if o.client_order_id == client_order_id]

    def trade(self, symbol: str, price: Decimal) -> None:
        """The market trades at ``price``: resting limits it crosses fill at their limit."""
        with self._lock:
            market = self.markets[symbol]
            market.last_price = Decimal(price)
            for order in sorted(self.orders.values(), key=lambda o: o.order_id):
                if order.symbol != symbol or not order.is_open:
                    continue
                crosses = (price <= order.price if order.side == "BUY"
                           else price >= order.price)
                if crosses:
                    self._fill(order, market, order.price, maker=True)

    def add_klines(self, symbol: str, interval: str,
                   rows: list[tuple[int, Decimal, Decimal, Decimal, Decimal, Decimal]]) -> None:
        """Candles ``(open ms, open, high, low, close, volume)`` served by GET klines."""
        with self._lock:
            book = self.klines.setdefault((symbol, interval), {})
            for open_ms, *values in rows:
                book[open_ms] = tuple(Decimal(v) for v in values)

    # --- the app -----------------------------------------------------------------------
    def app(self) -> FastAPI:
        app = FastAPI(title="fake binance spot")
        routes: dict[tuple[str, str], tuple[bool, Callable[[dict[str, str]], Any]]] = {
            ("GET", "ping"): (False, lambda p: {}),
            ("GET", "time"): (False, lambda p: {"serverTime": _now_ms()}),
            ("GET", "exchangeInfo"): (False, lambda p: self._exchange_info()),
            ("POST", "order"): (True, self._create),
            ("GET", "order"): (True, lambda p: self._order_json(self._find(p, -2013))),
            ("DELETE", "order"): (True, self._cancel),
            ("GET", "openOrders"): (True, self._open_orders),
            ("GET", "account"): (True, lambda p: self._account()),
            ("GET", "myTrades"): (True, self._my_trades),
            ("GET", "klines"): (False, self._klines),
        }

        @app.api_route("/api/v3/{path}", methods=["GET", "POST", "DELETE"])
        async def dispatch(path: str, request: Request) -> Response:
            method = request.method
            raw = (await request.body()).decode() if method == "POST" else request.url.query
            with self._lock:
                self.requests.append((method, path))
                error = next((e for e in self.faults.http_errors
                              if e[1] is None or e[1] == path), None)
                if error is not None:
                    self.faults.http_errors.remove(error)
                elif self.faults.offline is not None:
                    error = (self.faults.offline, None)
            if error is not None:
                return PlainTextResponse("Service Unavailable", status_code=error[0])
            route = routes.get((method, path))
            if route is None:
                return _error(404, -1, f"fake binance has no {method} /api/v3/{path}")
            signed, handler = route
            try:
                params = dict(parse_qsl(raw, keep_blank_values=True))
                if signed:
                    self._authenticate(request.headers.get("X-MBX-APIKEY"), raw, params)
                if (method, path) == ("POST", "order"):
                    return await self._create_with_faults(params)
                with self._lock:
                    return JSONResponse(handler(params))
            except ApiError as exc:
                return _error(exc.status, exc.code, exc.msg)

        return app

    async def _create_with_faults(self, params: dict[str, str]) -> Response:
        with self._lock:
            stall = self.faults.stalls.pop(0) if self.faults.stalls else None
        if stall is not None and not stall[1]:
            await asyncio.sleep(stall[0])  # the request is lost: nothing is created
            return PlainTextResponse("Gateway Timeout", status_code=504)
        with self._lock:
            body = self._create(params)
        if stall is not None:
            await asyncio.sleep(stall[0])  # created, but the answer comes too late
        return JSONResponse(body)

    # --- handlers (called with the lock held) ------------------------------------------
    def _authenticate(self, api_key: str | None, raw: str, params: dict[str, str]) -> None:
        if api_key != self.api_key:
            raise ApiError(401, -2014, "API-key format invalid.")
        if "signature" not in params:
            raise ApiError(400, -1102, "Mandatory parameter 'signature' was not sent, was "
                                       "empty/null, or malformed.")
        payload = raw.rsplit("&signature=", 1)[0]
        expected = hmac.new(self.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, params.pop("signature")):
            raise ApiError(400, -1022, "Signature for this request is not valid.")

    def _market(self, params: Mapping[str, str]) -> FakeMarket:
        market = self.markets.get(params.get("symbol", ""))
        if market is None:
            raise ApiError(400, -1121, "Invalid symbol.")
        return market

    def _create(self, p: dict[str, str]) -> dict[str, Any]:
        market = self._market(p)
        if self.faults.rejects:
            code, msg = self.faults.rejects.pop(0)
            raise ApiError(400, code, msg)
        cid = p.get("newClientOrderId") or f"fake-{next(self._order_ids)}"
        if any(o.client_order_id == cid for o in self.orders.values()):
            raise ApiError(400, -2010, "Duplicate order sent.")
        side, kind = p.get("side", ""), p.get("type", "")
        if side not in ("BUY", "SELL") or kind not in ("MARKET", "LIMIT"):
            raise ApiError(400, -1116, "Invalid orderType.")
        qty = Decimal(p.get("quantity", "0"))
        price = Decimal(p.get("price", "0")) if kind == "LIMIT" else Decimal(0)
        if qty <= 0 or qty % market.step_size:
            raise ApiError(400, -1013, "Filter failure: LOT_SIZE")
        if kind == "LIMIT" and (price <= 0 or price % market.tick_size):
            raise ApiError(400, -1013, "Filter failure: PRICE_FILTER")
        reference = price if kind == "LIMIT" else market.last_price
        if qty * reference < market.min_notional:
            raise ApiError(400, -1013, "Filter failure: NOTIONAL")
        need_asset, need = ((market.quote, qty * reference * (1 + self.commission_rate))
                            if side == "BUY" else (market.base, qty))
        if self.free.get(need_asset, Decimal(0)) < need:
            raise ApiError(400, -2010, "Account has insufficient balance for requested action.")
        now = _now_ms()
        order = FakeOrder(next(self._order_ids), cid, market.symbol, side, kind,
                          p.get("timeInForce", "GTC") if kind == "LIMIT" else "GTC", qty,
                          price, now, update_time=now)
        self.orders[order.order_id] = order
        fills: list[FakeTrade] = []
        marketable = kind == "MARKET" or (
            price >= market.last_price if side == "BUY" else price <= market.last_price)
        if marketable:
            fills.append(self._fill(order, market, market.last_price, maker=False))
        elif order.time_in_force in ("IOC", "FOK"):
            order.status = "EXPIRED"
        else:
            lock_asset, amount = ((market.quote, qty * price) if side == "BUY"
                                  else (market.base, qty))
            self.free[lock_asset] -= amount
            self.locked[lock_asset] += amount
        body = self._order_json(order)
        body.update(transactTime=now, fills=[
            {"price": _fmt(t.price), "qty": _fmt(t.qty), "commission": _fmt(t.commission),
             "commissionAsset": t.commission_asset, "tradeId": t.id} for t in fills])
        return body

    def _fill(self, order: FakeOrder, market: FakeMarket, price: Decimal,
              *, maker: bool) -> FakeTrade:
        qty = order.orig_qty - order.executed_qty
        quote = qty * price
        fee = (quote * self.commission_rate).quantize(_Q8)
        resting = order.type == "LIMIT" and order.status in ("NEW", "PARTIALLY_FILLED") \
            and maker
        if order.side == "BUY":
            if resting:
                self.locked[market.quote] -= qty * order.price
                self.free[market.quote] += qty * order.price
            self.free[market.quote] -= quote + fee
            self.free[market.base] += qty
        else:
            if resting:
                self.locked[market.base] -= qty
            else:
                self.free[market.base] -= qty
            self.free[market.quote] += quote - fee
        order.executed_qty += qty
        order.cum_quote += quote
        order.status = "FILLED"
        order.update_time = now = _now_ms()
        trade = FakeTrade(next(self._trade_ids), order.order_id, order.symbol, price, qty, fee,
                          market.quote, now, order.side == "BUY", maker)
        self.trades.append(trade)
        return trade

    def _find(self, p: Mapping[str, str], code: int) -> FakeOrder:
        market = self._market(p)
        oid, cid = p.get("orderId"), p.get("origClientOrderId")
        for order in self.orders.values():
            if order.symbol == market.symbol and (
                    (oid is not None and str(order.order_id) == oid)
                    or (cid is not None and order.client_order_id == cid)):
                return order
        msg = "Order does not exist." if code == -2013 else "Unknown order sent."
        raise ApiError(400, code, msg)

    def _cancel(self, p: dict[str, str]) -> dict[str, Any]:
        order = self._find(p, -2011)
        if not order.is_open:
            raise ApiError(400, -2011, "Unknown order sent.")
        market = self.markets[order.symbol]
        rest = order.orig_qty - order.executed_qty
        asset, amount = ((market.quote, rest * order.price) if order.side == "BUY"
                         else (market.base, rest))
        self.locked[asset] -= amount
        self.free[asset] += amount
        order.status, order.update_time = "CANCELED", _now_ms()
        body = self._order_json(order)
        body.update(origClientOrderId=order.client_order_id, transactTime=order.update_time)
        return body

    def _open_orders(self, p: dict[str, str]) -> list[dict[str, Any]]:
        symbol = self._market(p).symbol if "symbol" in p else None
        return [self._order_json(o) for o in self.orders.values()
                if o.is_open and (symbol is None or o.symbol == symbol)]

    def _my_trades(self, p: dict[str, str]) -> list[dict[str, Any]]:
        symbol = self._market(p).symbol
        start, from_id = int(p.get("startTime", 0)), int(p.get("fromId", 0))
        order_id = p.get("orderId")
        picked = [t for t in self.trades if t.symbol == symbol and t.time >= start
                  and t.id >= from_id and (order_id is None or str(t.order_id) == order_id)]
        return [{"symbol": t.symbol, "id": t.id, "orderId": t.order_id, "orderListId": -1,
                 "price": _fmt(t.price), "qty": _fmt(t.qty), "quoteQty": _fmt(t.price * t.qty),
                 "commission": _fmt(t.commission), "commissionAsset": t.commission_asset,
                 "time": t.time, "isBuyer": t.is_buyer, "isMaker": t.is_maker,
                 "isBestMatch": True} for t in picked[: int(p.get("limit", 500))]]

    def _klines(self, p: dict[str, str]) -> list[list[Any]]:
        market = self._market(p)
        interval = p.get("interval", "")
        if interval not in _INTERVAL_MS:
            raise ApiError(400, -1120, "Invalid interval.")
        start = int(p.get("startTime", 0))
        end = int(p.get("endTime", 2**62))
        limit = min(int(p.get("limit", 500)), 1000)
        book = self.klines.get((market.symbol, interval), {})
        rows = [t for t in sorted(book) if start <= t <= end][:limit]
        return [[t, *(_fmt(v) for v in book[t][:4]), _fmt(book[t][4]),
                 t + _INTERVAL_MS[interval] - 1, "0", 1, "0", "0", "0"] for t in rows]

    def _account(self) -> dict[str, Any]:
        return {"makerCommission": 10, "takerCommission": 10, "buyerCommission": 0,
                "sellerCommission": 0, "canTrade": True, "canWithdraw": True,
                "canDeposit": True, "brokered": False, "requireSelfTradePrevention": False,
                "updateTime": _now_ms(), "accountType": "SPOT", "permissions": ["SPOT"],
                "balances": [{"asset": a, "free": _fmt(self.free[a]),
                              "locked": _fmt(self.locked[a])} for a in sorted(self.free)]}

    def _order_json(self, o: FakeOrder) -> dict[str, Any]:
        return {"symbol": o.symbol, "orderId": o.order_id, "orderListId": -1,
                "clientOrderId": o.client_order_id, "price": _fmt(o.price),
                "origQty": _fmt(o.orig_qty), "executedQty": _fmt(o.executed_qty),
                "cummulativeQuoteQty": _fmt(o.cum_quote), "status": o.status,
                "timeInForce": o.time_in_force, "type": o.type, "side": o.side,
                "stopPrice": _fmt(Decimal(0)), "icebergQty": _fmt(Decimal(0)),
                "time": o.time, "updateTime": o.update_time, "isWorking": True,
                "workingTime": o.time, "origQuoteOrderQty": _fmt(Decimal(0)),
                "selfTradePreventionMode": "NONE"}

    def _exchange_info(self) -> dict[str, Any]:
        return {"timezone": "UTC", "serverTime": _now_ms(), "rateLimits": [],
                "exchangeFilters": [], "symbols": [_market_json(m)
                                                   for m in self.markets.values()]}


def _market_json(m: FakeMarket) -> dict[str, Any]:
    return {
        "symbol": m.symbol, "status": "TRADING", "baseAsset": m.base, "baseAssetPrecision": 8,
        "quoteAsset": m.quote, "quotePrecision": 8, "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8, "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "MARKET"], "icebergAllowed": False, "ocoAllowed": False,
        "quoteOrderQtyMarketAllowed": False, "allowTrailingStop": False,
        "cancelReplaceAllowed": False, "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False, "permissions": [], "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "NONE", "allowedSelfTradePreventionModes": ["NONE"],
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": _fmt(m.tick_size),
             "maxPrice": "1000000.00000000", "tickSize": _fmt(m.tick_size)},
            {"filterType": "LOT_SIZE", "minQty": _fmt(m.step_size),
             "maxQty": "9000.00000000", "stepSize": _fmt(m.step_size)},
            {"filterType": "NOTIONAL", "minNotional": _fmt(m.min_notional),
             "applyMinToMarket": True, "maxNotional": "9000000.00000000",
             "applyMaxToMarket": False, "avgPriceMins": 5},
        ],
    }


def _error(status: int, code: int, msg: str) -> JSONResponse:
    return JSONResponse({"code": code, "msg": msg}, status_code=status)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
