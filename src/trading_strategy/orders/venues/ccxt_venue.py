"""``CcxtVenue``: real order placement on Binance spot through ccxt's async API.

One exchange shape, Binance spot (``ccxt.async_support.binance``), configured so that only
the spot REST API is called (``fetchMarkets`` spot only, no currencies or margin look-ups).
``api_url`` rewrites every REST base URL (e.g. to ``trading_strategy.testing_exchange``);
``sandbox=True`` uses Binance's testnet.

Rules:

* **Keys only from the environment**: ``TRADING_STRATEGY_EXCHANGE__API_KEY`` and
  ``TRADING_STRATEGY_EXCHANGE__SECRET`` (``ExchangeCredentials.from_env``). They are never
  logged: every error text passes through ``redact`` (key, secret and request signatures
  replaced by ``***``) and ccxt exceptions are not chained.
* **Idempotency**: ``client_order_id`` is sent as ``clientOrderId`` (Binance
  ``newClientOrderId``). Real Binance refuses a duplicate id only among *open* orders, so
  before re-sending an id this venue has sent before it looks the order up by client id and
  answers the existing order if there is one. A refused submit is also looked up (it may be
  a duplicate of an order that exists).
* **Errors translated at the edge**: timeouts, network errors, 5xx and "status unknown"
  answers on a *submit* → the order is looked up by client id; found → its ack, else
  ``OrderOutcomeUnknown`` (re-send the same id). The same on other calls →
  ``VenueUnavailable``. ``InvalidOrder``/``InsufficientFunds``/``BadSymbol`` and other
  exchange refusals → ``VenueRejected``. ``AuthenticationError``/``PermissionDenied`` →
  ``ExchangeAuthError`` (a ``ConfigError``: an operator must fix the keys).
* **Orders**: market and limit (GTC, IOC); stop orders are refused (not supported yet).
  A quantity or price off the market's step or tick is refused before sending (ccxt would
  round it silently); on-grid values are sent exactly.
* **Spot accounting**: ``fetch_balances`` is the total (free + locked) per asset, exact from
  the exchange's decimal strings; ``fetch_positions`` is the base asset's total per symbol.
* **Reports** are polled (``poll_interval`` seconds): trades of the configured symbols newer
  than the stream's start or belonging to orders this venue placed become ``FillReport``s
  (once each, by trade id); orders it placed that leave the open set as cancelled, expired
  or rejected become ``StatusReport``s. A poll that fails unexpectedly is logged and the
  next one tried: a dead poller would silence every stream (an outage is the link's to tell).
* **Reconnects**: every call's outcome goes to ``link`` (``venues.link.VenueLink``): no
  answer (``NetworkError``: timeouts, 5xx, maintenance — rate limits and clock-skew refusals
  are answers) marks the exchange unreachable, and the first answer after that is a
  reconnect, signalled on ``reconnects()``. What happened while unreachable is unknown until
  reconciled (``runtime.reconcile.ReconnectReconciler`` listens).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import time
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NoReturn
from urllib.parse import quote

import ccxt.async_support as ccxt_async  # type: ignore[import-untyped]
import structlog

from trading_strategy.core.enums import OrderStatus, OrderType, Side, TimeInForce
from trading_strategy.core.errors import ConfigError
from trading_strategy.orders.venues.base import (
    FillReport,
    OrderAck,
    OrderOutcomeUnknown,
    OrderRequest,
    OrderState,
    QueuedReportStream,
    StatusReport,
    VenueRejected,
    VenueReport,
    VenueUnavailable,
)
from trading_strategy.orders.venues.link import ReconnectStream, VenueLink

log = structlog.get_logger("trading_strategy.venues.ccxt")

ENV_API_KEY = "TRADING_STRATEGY_EXCHANGE__API_KEY"
ENV_SECRET = "TRADING_STRATEGY_EXCHANGE__SECRET"
#: trades asked for in one request (Binance answers at most 1,000; 500 by default)
TRADES_PAGE = 500
#: how far before the newest fill seen the fill poll looks again (clock skew, late trades)
_POLL_SLACK_NS = 60 * 10**9
_BINANCE_REST = re.compile(r"^https://[a-z0-9.-]+")
_SIGNATURE = re.compile(r"(signature=)[0-9a-fA-F]+")
_STATUS = {"open": OrderStatus.ACCEPTED, "closed": OrderStatus.FILLED,
           "canceled": OrderStatus.CANCELLED, "cancelled": OrderStatus.CANCELLED,
           "expired": OrderStatus.EXPIRED, "rejected": OrderStatus.REJECTED}


class ExchangeAuthError(ConfigError):
    """The exchange refused the API credentials: an operator must fix them."""


@dataclass(frozen=True, slots=True)
class ExchangeCredentials:
    api_key: str = field(repr=False)
    secret: str = field(repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ExchangeCredentials:
        env = os.environ if environ is None else environ
        missing = [n for n in (ENV_API_KEY, ENV_SECRET) if not env.get(n)]
        if missing:
            raise ConfigError(f"exchange credentials missing: set {' and '.join(missing)} "
                              "in the environment")
        return cls(env[ENV_API_KEY], env[ENV_SECRET])

    def redact(self, text: str) -> str:
        """``text`` with the key, the secret and any request signature replaced by ***."""
        for secret in (self.secret, self.api_key):
            if secret:
                text = text.replace(secret, "***").replace(quote(secret, safe=""), "***")
        return _SIGNATURE.sub(r"\1***", text)


def _is_outage(exc: BaseException) -> bool:
    """No answer from the exchange (network, timeout, 5xx, maintenance); a rate limit or a
    clock-skew refusal is an answer."""
    return isinstance(exc, ccxt_async.NetworkError) and not isinstance(
        exc, ccxt_async.DDoSProtection | ccxt_async.InvalidNonce)


class _Binance:
    """A narrow typed face of ``ccxt.async_support.binance`` (ccxt itself is untyped). Every
    call's outcome goes to ``link`` (answered, or failed: an outage)."""

    def __init__(self, credentials: ExchangeCredentials, *, sandbox: bool, api_url: str | None,
                 timeout_ms: int, link: VenueLink) -> None:
        self._link = link
        self._redact = credentials.redact
        self._ex: Any = ccxt_async.binance({
            "apiKey": credentials.api_key, "secret": credentials.secret,
            "timeout": timeout_ms, "enableRateLimit": False,
            "options": {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False,
                        "fetchMargins": False, "warnOnFetchOpenOrdersWithoutSymbol": False,
                        "defaultType": "spot"},
        })
        if sandbox:
            self._ex.set_sandbox_mode(True)
        if api_url is not None:
            base = api_url.rstrip("/")
            self._ex.urls["api"] = {k: _BINANCE_REST.sub(base, v) if isinstance(v, str) else v
                                    for k, v in self._ex.urls["api"].items()}

    async def _call(self, pending: Awaitable[Any]) -> Any:
        try:
            result = await pending
        except ccxt_async.BaseError as exc:
            if _is_outage(exc):
                self._link.failed(self._redact(f"{type(exc).__name__}: {exc}"))
            else:
                self._link.answered()
            raise
        self._link.answered()
        return result

    async def ping(self) -> None:
        await self._call(self._ex.public_get_ping())

    async def load_markets(self) -> dict[str, dict[str, Any]]:
        return dict(await self._call(self._ex.load_markets()))

    def markets_by_id(self) -> dict[str, str]:
        return {m["id"]: s for s, m in self._ex.markets.items()}

    def market(self, symbol: str) -> dict[str, Any]:
        return dict(self._ex.market(symbol))

    async def create_order(self, symbol: str, kind: str, side: str, amount: Decimal,
                           price: Decimal | None, params: dict[str, Any]) -> dict[str, Any]:
        return dict(await self._call(self._ex.create_order(
            symbol, kind, side, float(amount), None if price is None else float(price),
            params)))

    async def fetch_order(self, symbol: str, client_order_id: str | None = None,
                          order_id: str | None = None) -> dict[str, Any]:
        params = {"origClientOrderId": client_order_id} if client_order_id else {}
        return dict(await self._call(self._ex.fetch_order(order_id, symbol, params)))

    async def cancel_order(self, symbol: str, client_order_id: str) -> dict[str, Any]:
        return dict(await self._call(self._ex.cancel_order(
            None, symbol, {"origClientOrderId": client_order_id})))

    async def fetch_open_orders(self, symbol: str | None) -> list[dict[str, Any]]:
        return list(await self._call(self._ex.fetch_open_orders(symbol)))

    async def fetch_my_trades(self, symbol: str, since_ms: int | None,
                              limit: int | None = None) -> list[dict[str, Any]]:
        return list(await self._call(self._ex.fetch_my_trades(symbol, since_ms, limit)))

    async def fetch_balance(self) -> dict[str, Any]:
        return dict(await self._call(self._ex.fetch_balance()))

    async def close(self) -> None:
        await self._ex.close()


class CcxtVenue:
    """``Venue`` on Binance spot (see the module docstring for every rule)."""

    def __init__(self, symbols: Mapping[str, str] | Sequence[str], *,
                 credentials: ExchangeCredentials | None = None, sandbox: bool = False,
                 api_url: str | None = None, timeout_ms: int = 10_000,
                 poll_interval: float = 1.0, heartbeat_interval: float = 1.0,
                 name: str = "binance") -> None:
        self.name = name
        self._creds = credentials or ExchangeCredentials.from_env()
        #: reachability from every call's outcome; ``reconnects()`` streams its signals
        self.link = VenueLink(name)
        self._ex = _Binance(self._creds, sandbox=sandbox, api_url=api_url,
                            timeout_ms=timeout_ms, link=self.link)
        self._heartbeat_interval = heartbeat_interval
        self._heartbeat: asyncio.Task[None] | None = None
        self._wanted = dict(symbols) if isinstance(symbols, Mapping) else {s: s for s in symbols}
        self._to_ccxt: dict[str, str] = {}
        self._from_ccxt: dict[str, str] = {}
        self._placed: dict[str, str] = {}  # client id -> our symbol, for ids sent by us
        self._cid_by_order_id: dict[str, str] = {}
        self._watched: set[str] = set()  # ids placed by us and open when last seen
        self._poll_interval = poll_interval
        self._streams: set[_PolledStream] = set()
        self._poller: asyncio.Task[None] | None = None
        self._loaded = asyncio.Lock()

    def __repr__(self) -> str:
        return f"CcxtVenue(name={self.name!r}, symbols={sorted(self._wanted)!r})"

    # --- the Venue contract ------------------------------------------------------------
    async def submit(self, request: OrderRequest) -> OrderAck:
        cid = request.client_order_id
        symbol = await self._symbol(request.symbol, cid)
        if request.order_type not in (OrderType.MARKET, OrderType.LIMIT):
            raise VenueRejected(cid, f"{request.order_type.value} orders are not supported "
                                     "by the ccxt adapter")
        problem = self._off_grid(symbol, request)
        if problem:
            raise VenueRejected(cid, problem)
        if cid in self._placed:
            existing = await self._lookup(cid, symbol)
            if existing is not None:
                return _ack(existing)
        self._placed[cid] = request.symbol
        params: dict[str, Any] = {"clientOrderId": cid}
        if request.order_type is OrderType.LIMIT:
            params["timeInForce"] = "IOC" if request.tif is TimeInForce.IOC else "GTC"
        try:
            order = await self._ex.create_order(symbol, request.order_type.value,
                                                request.side.value, request.quantity,
                                                request.limit_price, params)
        except ccxt_async.AuthenticationError as exc:
            self._auth_error(exc)
        except ccxt_async.PermissionDenied as exc:
            self._auth_error(exc)
        except ccxt_async.OperationFailed as exc:  # network, timeout, 5xx, status unknown
            existing = await self._lookup_after_failure(cid, symbol)
            if existing is not None:
                return _ack(existing)
            raise OrderOutcomeUnknown(cid, self._text(exc)) from None
        except ccxt_async.BaseError as exc:  # InvalidOrder, InsufficientFunds, ...
            existing = await self._lookup_after_failure(cid, symbol)
            if existing is not None:
                return _ack(existing)
            raise VenueRejected(cid, self._text(exc)) from None
        self._remember(order)
        ack = _ack(order)
        if ack.status.is_open:
            self._watched.add(cid)
        return ack

    async def cancel(self, client_order_id: str) -> OrderAck:
        for symbol in await self._symbols_of(client_order_id):
            try:
                order = await self._ex.cancel_order(symbol, client_order_id)
            except ccxt_async.OrderNotFound:
                existing = await self._lookup(client_order_id, symbol)
                if existing is None:
                    continue
                status = _status(existing)
                return OrderAck(client_order_id, str(existing["id"]), status,
                                f"order already {status.value}", _ts(existing))
            except ccxt_async.BaseError as exc:
                self._unavailable(exc)
            ack = _ack({**order, "clientOrderId": client_order_id})
            self._watched.discard(client_order_id)
            self._publish(StatusReport(client_order_id, ack.venue_order_id, ack.status,
                                       "cancelled on request", ack.ts_event))
            return ack
        raise VenueRejected(client_order_id, "unknown order")

    async def fetch_order(self, client_order_id: str) -> OrderState | None:
        for symbol in await self._symbols_of(client_order_id):
            found = await self._lookup(client_order_id, symbol)
            if found is not None:
                return self._state(found)
        return None

    async def fetch_open_orders(self, symbol: str | None = None) -> list[OrderState]:
        await self._load()
        ccxt_symbol = None if symbol is None else await self._symbol(symbol, "")
        try:
            orders = await self._ex.fetch_open_orders(ccxt_symbol)
        except ccxt_async.BaseError as exc:
            self._unavailable(exc)
        return [self._state(o) for o in orders if o.get("symbol") in self._from_ccxt]

    async def fetch_fills(self, since_ts: int = 0) -> list[FillReport]:
        await self._load()
        fills: list[FillReport] = []
        for ccxt_symbol in self._from_ccxt:
            for trade in await self._trades_since(ccxt_symbol, since_ts // 1_000_000):
                fills.append(await self._fill(trade))
        fills.sort(key=lambda f: (f.ts_event, f.trade_id))
        return fills

    async def _trades_since(self, ccxt_symbol: str, since_ms: int) -> list[dict[str, Any]]:
        """Every trade of ours on ``ccxt_symbol`` from ``since_ms``, page by page: an
        exchange answers one page (Binance: the oldest 500 from the start time), so a
        single request would never see the newest fills of a busy account."""
        trades: list[dict[str, Any]] = []
        ids: set[str] = set()
        while True:
            try:
                page = await self._ex.fetch_my_trades(ccxt_symbol, since_ms, TRADES_PAGE)
            except ccxt_async.BaseError as exc:
                self._unavailable(exc)
            new = [t for t in page if str(t["id"]) not in ids]
            trades.extend(new)
            ids.update(str(t["id"]) for t in new)
            if len(page) < TRADES_PAGE or not new:
                return trades
            # the next page starts at the last trade's time (trades of that millisecond
            # come again and are skipped by id)
            since_ms = max(int(t["timestamp"]) for t in page)

    async def fetch_balances(self) -> dict[str, Decimal]:
        try:
            balance = await self._ex.fetch_balance()
        except ccxt_async.BaseError as exc:
            self._unavailable(exc)
        totals: dict[str, Decimal] = {}
        for row in balance.get("info", {}).get("balances", []):
            total = Decimal(row["free"]) + Decimal(row["locked"])
            if total:
                totals[row["asset"]] = total.normalize()
        return totals

    async def fetch_positions(self) -> dict[str, Decimal]:
        await self._load()
        balances = await self.fetch_balances()
        positions = {}
        for ours, ccxt_symbol in self._to_ccxt.items():
            base = self._ex.market(ccxt_symbol)["base"]
            if balances.get(base):
                positions[ours] = balances[base]
        return positions

    def reports(self) -> _PolledStream:
        stream = _PolledStream(self, time.time_ns() // 1_000_000)
        self._streams.add(stream)
        if self._poller is None or self._poller.done():
            self._poller = asyncio.get_running_loop().create_task(self._poll())
        return stream

    def reconnects(self) -> ReconnectStream:
        """A ``VenueReconnected`` each time the exchange answers again after an outage. While
        someone listens, a heartbeat (``GET /api/v3/ping`` when no other call answered for
        ``heartbeat_interval`` s) makes sure an outage and its end are noticed even when
        nothing else calls the exchange."""
        stream = self.link.reconnects()
        if self._heartbeat is None or self._heartbeat.done():
            self._heartbeat = asyncio.get_running_loop().create_task(self._beat())
        return stream

    async def close(self) -> None:
        for task in (self._poller, self._heartbeat):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self.link.close()
        for stream in list(self._streams):
            stream.queue.put_nowait(None)
        self._streams.clear()
        await self._ex.close()

    # --- polling -----------------------------------------------------------------------
    async def _poll(self) -> None:
        seen: dict[str, int] = {}  # trade id -> its time (ns), for the window's slack
        while self._streams:
            try:
                await self._poll_once(seen)
            except (VenueUnavailable, ExchangeAuthError):
                pass  # the link (or the next call) tells; polled again after the pause
            except Exception as exc:  # a dead poller would silence every stream
                log.warning("venue_poll_failed", venue=self.name,
                            error=self._creds.redact(f"{type(exc).__name__}: {exc}"))
            await asyncio.sleep(self._poll_interval)

    async def _poll_once(self, seen: dict[str, int]) -> None:
        """One look at the exchange: new fills, and orders of ours that left the open set.

        The window starts a minute (slack for clock skew) before the newest fill already
        published, or before the streams' start: it moves with the account, so a long
        session keeps seeing its new fills and ``seen`` keeps only the window's ids."""
        start = min(s.start_ms for s in self._streams) * 1_000_000
        since = max(start, max(seen.values(), default=0)) - _POLL_SLACK_NS
        for fill in await self.fetch_fills(since):
            if fill.trade_id in seen:
                continue
            # older than the streams' start: only if it is ours
            if fill.client_order_id in self._placed or fill.ts_event >= start:
                seen[fill.trade_id] = fill.ts_event
                self._publish(fill)
        for trade_id in [t for t, ts in seen.items() if ts < since]:
            del seen[trade_id]
        if self._watched:
            open_ids = {o.client_order_id for o in await self.fetch_open_orders()}
            for cid in [c for c in self._watched if c not in open_ids]:
                state = await self.fetch_order(cid)
                self._watched.discard(cid)
                if state is not None and state.status in (
                        OrderStatus.CANCELLED, OrderStatus.EXPIRED,
                        OrderStatus.REJECTED):
                    self._publish(StatusReport(cid, state.venue_order_id,
                                               state.status, "", time.time_ns()))

    async def _beat(self) -> None:
        interval = self._heartbeat_interval
        while self.link.listened:
            if not self.link.up or time.monotonic() - self.link.last_answer >= interval:
                # the outcome is what matters (the link records it), not the answer
                with contextlib.suppress(ccxt_async.BaseError):
                    await self._ex.ping()
            await asyncio.sleep(interval)

    def _publish(self, report: VenueReport) -> None:
        for stream in self._streams:
            stream.queue.put_nowait(report)

    # --- helpers -----------------------------------------------------------------------
    async def _load(self) -> None:
        async with self._loaded:
            if self._to_ccxt:
                return
            try:
                markets = await self._ex.load_markets()
            except ccxt_async.AuthenticationError as exc:
                self._auth_error(exc)
            except ccxt_async.BaseError as exc:
                self._unavailable(exc)
            by_id = self._ex.markets_by_id()
            for ours, theirs in self._wanted.items():
                resolved = theirs if theirs in markets else by_id.get(theirs)
                if resolved is None:
                    raise ConfigError(f"symbol {ours!r}: the exchange has no market "
                                      f"{theirs!r}")
                self._to_ccxt[ours] = resolved
                self._from_ccxt[resolved] = ours

    async def _symbol(self, ours: str, cid: str) -> str:
        await self._load()
        if ours not in self._to_ccxt:
            raise VenueRejected(cid, f"unknown symbol {ours!r}")
        return self._to_ccxt[ours]

    def _off_grid(self, symbol: str, request: OrderRequest) -> str:
        """Why the quantity or price is off the market's step or tick ("" if on it): ccxt
        would silently round it, so it is refused here instead."""
        precision = self._ex.market(symbol).get("precision", {})
        checks = [("quantity", request.quantity, precision.get("amount"), "step size")]
        if request.limit_price is not None:
            checks.append(("price", request.limit_price, precision.get("price"), "tick size"))
        for what, value, grid, name in checks:
            if not value.is_finite() or value <= 0:
                return f"{what} must be > 0, got {value}"
            if grid and value % _dec(grid) != 0:
                return f"{what} {value} is not a multiple of the market's {name} {_dec(grid)}"
        return ""

    async def _symbols_of(self, cid: str) -> list[str]:
        await self._load()
        if cid in self._placed:
            return [self._to_ccxt[self._placed[cid]]]
        return list(self._from_ccxt)

    async def _lookup(self, cid: str, symbol: str) -> dict[str, Any] | None:
        try:
            order = await self._ex.fetch_order(symbol, client_order_id=cid)
        except ccxt_async.OrderNotFound:
            return None
        except ccxt_async.BaseError as exc:
            self._unavailable(exc)
        self._remember(order)
        return order

    async def _lookup_after_failure(self, cid: str, symbol: str) -> dict[str, Any] | None:
        try:
            return await self._lookup(cid, symbol)
        except (VenueUnavailable, ExchangeAuthError):
            return None

    def _remember(self, order: Mapping[str, Any]) -> None:
        cid = order.get("clientOrderId")
        if cid and order.get("id") is not None:
            self._cid_by_order_id[str(order["id"])] = str(cid)
            if order.get("symbol") in self._from_ccxt:
                self._placed.setdefault(str(cid), self._from_ccxt[order["symbol"]])

    async def _fill(self, trade: Mapping[str, Any]) -> FillReport:
        order_id = str(trade.get("order"))
        symbol = str(trade["symbol"])
        cid = self._cid_by_order_id.get(order_id)
        if cid is None:
            try:
                self._remember(await self._ex.fetch_order(symbol, order_id=order_id))
            except ccxt_async.BaseError as exc:
                self._unavailable(exc)
            cid = self._cid_by_order_id.get(order_id, "")
        info = trade.get("info", {})
        fee = trade.get("fee") or {}
        return FillReport(
            cid, order_id, str(trade["id"]), self._from_ccxt.get(symbol, symbol),
            Side(trade["side"]), _dec(info.get("qty", trade.get("amount"))),
            _dec(info.get("price", trade.get("price"))),
            _dec(info.get("commission", fee.get("cost", 0))),
            int(trade.get("timestamp") or 0) * 1_000_000,
            "maker" if trade.get("takerOrMaker") == "maker" else "taker")

    def _state(self, o: Mapping[str, Any]) -> OrderState:
        info = o.get("info", {})
        limit = _dec(info["price"]) if o.get("type") == "limit" and "price" in info else None
        filled = _dec(info.get("executedQty", o.get("filled") or 0))
        avg = None
        if filled and "cummulativeQuoteQty" in info:
            avg = (_dec(info["cummulativeQuoteQty"]) / filled).normalize()
        symbol = str(o.get("symbol"))
        return OrderState(
            str(o.get("clientOrderId") or ""), str(o.get("id")),
            self._from_ccxt.get(symbol, symbol), Side(o["side"]),
            OrderType.LIMIT if o.get("type") == "limit" else OrderType.MARKET,
            _dec(info.get("origQty", o.get("amount"))).normalize(), filled.normalize(),
            _status(o), limit.normalize() if limit is not None else None, None, avg)

    def _text(self, exc: BaseException) -> str:
        return self._creds.redact(f"{type(exc).__name__}: {exc}")

    def _auth_error(self, exc: BaseException) -> NoReturn:
        raise ExchangeAuthError(
            f"the exchange refused the API credentials ({self._text(exc)}); check "
            f"{ENV_API_KEY} and {ENV_SECRET}") from None

    def _unavailable(self, exc: BaseException) -> NoReturn:
        if isinstance(exc, ccxt_async.AuthenticationError | ccxt_async.PermissionDenied):
            self._auth_error(exc)
        raise VenueUnavailable(self._text(exc)) from None


class _PolledStream(QueuedReportStream):
    def __init__(self, venue: CcxtVenue, start_ms: int) -> None:
        super().__init__(venue._streams)
        self.start_ms = start_ms


def _dec(value: Any) -> Decimal:
    return Decimal(str(value)) if value is not None else Decimal(0)


def _status(o: Mapping[str, Any]) -> OrderStatus:
    status = _STATUS.get(str(o.get("status")), OrderStatus.ACCEPTED)
    info = o.get("info", {})
    if status is OrderStatus.ACCEPTED and info.get("status") == "PARTIALLY_FILLED":
        return OrderStatus.PARTIALLY_FILLED
    return status


def _ts(o: Mapping[str, Any]) -> int:
    return int(o.get("lastUpdateTimestamp") or o.get("timestamp") or 0) * 1_000_000


def _ack(o: Mapping[str, Any]) -> OrderAck:
    return OrderAck(str(o.get("clientOrderId") or ""), str(o.get("id")), _status(o), "",
                    _ts(o))
