"""``PaperVenueClient``: the ``Venue`` contract over the paper venue's HTTP + WebSocket API.

One ``httpx.AsyncClient`` (keep-alive) carries every request; ``reports()`` opens a
WebSocket to ``/stream`` per consumer (see ``paper_server`` for the wire format).

Error translation:

* the server cannot be reached (connect refused or timed out, no free connection) →
  ``VenueUnavailable``: the request was never sent;
* the request was sent but no answer came (read/write timeout, connection dropped) or the
  server answered 5xx → on ``submit`` ``OrderOutcomeUnknown`` (re-send the same
  ``client_order_id``: the venue is idempotent), on any other call ``VenueUnavailable``;
* 400 (refused by the venue) and 422 (the request was invalid) → ``VenueRejected``.

Report streams reconnect with exponential backoff (``backoff_initial`` doubling up to
``backoff_max``) and miss no fill: each connection asks for the fills after the last one it
delivered (``?after=SEQ``); the first starts after the newest fill this client had heard of
(every HTTP answer carries it), so fills caused by this client's own later requests are
never missed. Status reports sent while disconnected are not replayed (``fetch_order``
tells the outcome).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

from trading_strategy.core.bars import Bar
from trading_strategy.core.enums import OrderStatus, OrderType, Side
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

FILL_SEQ_HEADER = "X-Paper-Fill-Seq"
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class PaperVenueClient:
    """A paper venue in another process, at ``base_url`` (e.g. ``http://127.0.0.1:8765``)."""

    def __init__(self, base_url: str = "http://127.0.0.1:8765", *, name: str = "paper",
                 timeout: float = 5.0, connect_timeout: float = 2.0,
                 backoff_initial: float = 0.05, backoff_max: float = 5.0) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.ws_url = "ws" + self.base_url.removeprefix("http")
        # TCP_NODELAY: without it Nagle's algorithm and delayed ACKs add ~40 ms per request
        transport = httpx.AsyncHTTPTransport(
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
            limits=httpx.Limits(max_keepalive_connections=8, keepalive_expiry=60))
        self._http = httpx.AsyncClient(
            base_url=self.base_url, timeout=httpx.Timeout(timeout, connect=connect_timeout),
            transport=transport)
        self._backoff = (backoff_initial, backoff_max)
        self._open_timeout = connect_timeout
        self._fill_seq: int | None = None
        self._streams: set[WebSocketReportStream] = set()

    # --- the Venue contract ------------------------------------------------------------
    async def submit(self, request: OrderRequest) -> OrderAck:
        body = {"client_order_id": request.client_order_id, "symbol": request.symbol,
                "side": request.side.value, "order_type": request.order_type.value,
                "quantity": str(request.quantity), "limit_price": _opt(request.limit_price),
                "stop_price": _opt(request.stop_price), "tif": request.tif.value,
                "reduce_only": request.reduce_only, "strategy": request.strategy,
                "size_at_fill": request.size_at_fill,
                "quantity_is_cap": request.quantity_is_cap, "parent_id": request.parent_id}
        response = await self._call("POST", "/orders", json=body,
                                    submit_id=request.client_order_id)
        return _ack(self._ok(response, request.client_order_id))

    async def cancel(self, client_order_id: str) -> OrderAck:
        response = await self._call("DELETE", f"/orders/{client_order_id}")
        return _ack(self._ok(response, client_order_id))

    async def fetch_order(self, client_order_id: str) -> OrderState | None:
        response = await self._call("GET", f"/orders/{client_order_id}")
        if response.status_code == 404:
            return None
        return _order(self._ok(response, client_order_id))

    async def fetch_open_orders(self, symbol: str | None = None) -> list[OrderState]:
        params = {"open": "true", **({"symbol": symbol} if symbol else {})}
        response = await self._call("GET", "/orders", params=params)
        return [_order(o) for o in self._ok(response, "")]

    async def fetch_fills(self, since_ts: int = 0) -> list[FillReport]:
        response = await self._call("GET", "/fills", params={"since": str(since_ts)})
        return [_fill(f) for f in self._ok(response, "")]

    async def fetch_balances(self) -> dict[str, Decimal]:
        data = self._ok(await self._call("GET", "/balances"), "")
        return {k: Decimal(v) for k, v in data.items()}

    async def fetch_positions(self) -> dict[str, Decimal]:
        data = self._ok(await self._call("GET", "/positions"), "")
        return {k: Decimal(v) for k, v in data.items()}

    def reports(self) -> WebSocketReportStream:
        stream = WebSocketReportStream(self, self._fill_seq)
        self._streams.add(stream)
        return stream

    async def close(self) -> None:
        for stream in list(self._streams):
            await stream.aclose()
        await self._http.aclose()

    # --- beyond the contract -----------------------------------------------------------
    async def health(self) -> dict[str, Any]:
        return dict(self._ok(await self._call("GET", "/health"), ""))

    async def push_bar(self, symbol: str, bar: Bar) -> int:
        """Feed one bar to the venue; returns how many reports it produced."""
        return await self.push_bars([(symbol, bar)])

    async def push_bars(self, bars: Iterable[tuple[str, Bar]]) -> int:
        return len(await self.push_bars_reports(bars))

    async def push_bars_reports(self, bars: Iterable[tuple[str, Bar]]) -> list[VenueReport]:
        """Feed bars; returns the fills and status changes they caused, in order."""
        body = [{"symbol": s, "ts_event": b.ts_event, "open": b.open, "high": b.high,
                 "low": b.low, "close": b.close, "volume": b.volume} for s, b in bars]
        answer = self._ok(await self._call("POST", "/bars", json=body), "")
        return [_report(item) for item in answer.get("items", [])]

    # --- plumbing ----------------------------------------------------------------------
    async def _call(self, method: str, path: str, *, json: Any = None,
                    params: Mapping[str, str] | None = None,
                    submit_id: str | None = None) -> httpx.Response:
        try:
            response = await self._http.request(method, path, json=json, params=params)
        except _NOT_SENT as exc:
            raise VenueUnavailable(f"paper venue at {self.base_url} unreachable: "
                                   f"{type(exc).__name__} {exc}") from None
        except httpx.TransportError as exc:
            detail = f"{method} {path}: {type(exc).__name__} {exc}"
            if submit_id is not None:
                raise OrderOutcomeUnknown(submit_id, detail) from None
            raise VenueUnavailable(f"paper venue at {self.base_url}: {detail}") from None
        seq = response.headers.get(FILL_SEQ_HEADER)
        if seq is not None and seq.isdigit():
            self._fill_seq = max(self._fill_seq or 0, int(seq))
        if response.status_code >= 500:
            detail = f"{method} {path}: HTTP {response.status_code}"
            if submit_id is not None:
                raise OrderOutcomeUnknown(submit_id, detail)
            raise VenueUnavailable(f"paper venue at {self.base_url}: {detail}")
        return response

    def _ok(self, response: httpx.Response, client_order_id: str) -> Any:
        if response.status_code in (400, 404, 422):
            detail = _detail(response)
            if isinstance(detail, dict):
                raise VenueRejected(str(detail.get("client_order_id", client_order_id)),
                                    str(detail.get("reason") or detail.get("error")))
            raise VenueRejected(client_order_id, f"invalid request: {detail}")
        if response.status_code != 200:
            raise VenueUnavailable(f"paper venue answered HTTP {response.status_code}")
        return response.json()


class WebSocketReportStream(QueuedReportStream):
    """Reports from ``WS /stream``; reconnects with backoff and replays missed fills."""

    def __init__(self, client: PaperVenueClient, after: int | None) -> None:
        super().__init__(client._streams)
        self._client = client
        self._after = after
        self.connected = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def aclose(self) -> None:
        await super().aclose()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self.queue.put_nowait(None)

    async def _run(self) -> None:
        initial, ceiling = self._client._backoff
        delay = initial
        while True:
            query = "" if self._after is None else f"?after={self._after}"
            try:
                async with connect(f"{self._client.ws_url}/stream{query}",
                                   open_timeout=self._client._open_timeout) as ws:
                    async for raw in ws:
                        delay = initial
                        self._receive(json.loads(raw))
            except (OSError, TimeoutError, WebSocketException, ValueError):
                pass
            self.connected.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, ceiling)

    def _receive(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "hello":
            if self._after is None:
                self._after = int(message["fill_seq"])
            self.connected.set()
        elif kind == "fill":
            seq = int(message["seq"])
            if self._after is not None and seq <= self._after:
                return
            self._after = seq
            self.queue.put_nowait(_fill(message))
        elif kind == "status":
            self.queue.put_nowait(StatusReport(
                message["client_order_id"], message["venue_order_id"],
                OrderStatus(message["status"]), message["reason"], int(message["ts_event"])))


def _report(message: Mapping[str, Any]) -> VenueReport:
    if message.get("type") == "fill":
        return _fill(message)
    return StatusReport(message["client_order_id"], message["venue_order_id"],
                        OrderStatus(message["status"]), message["reason"],
                        int(message["ts_event"]))


def _opt(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _opt_dec(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _detail(response: httpx.Response) -> Any:
    try:
        return response.json().get("detail")
    except ValueError:
        return response.text


def _ack(d: Mapping[str, Any]) -> OrderAck:
    return OrderAck(d["client_order_id"], d["venue_order_id"], OrderStatus(d["status"]),
                    d["reason"], int(d["ts_event"]))


def _order(d: Mapping[str, Any]) -> OrderState:
    return OrderState(d["client_order_id"], d["venue_order_id"], d["symbol"], Side(d["side"]),
                      OrderType(d["order_type"]), Decimal(d["quantity"]),
                      Decimal(d["filled_quantity"]), OrderStatus(d["status"]),
                      _opt_dec(d["limit_price"]), _opt_dec(d["stop_price"]),
                      _opt_dec(d["avg_price"]))


def _fill(d: Mapping[str, Any]) -> FillReport:
    return FillReport(d["client_order_id"], d["venue_order_id"], d["trade_id"], d["symbol"],
                      Side(d["side"]), Decimal(d["quantity"]), Decimal(d["price"]),
                      Decimal(d["commission"]), int(d["ts_event"]), d["liquidity"],
                      None if d.get("order_quantity") is None
                      else Decimal(d["order_quantity"]))
