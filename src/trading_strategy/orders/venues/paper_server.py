"""The paper venue over HTTP + WebSocket (FastAPI), for sessions in another process.

``create_app(venue)`` builds the app; there is no module-level app, engine or venue. Bind
it to 127.0.0.1 (``trading-strategy paper-venue``). Wire format (JSON; every price,
quantity and amount is a decimal *string*; timestamps are integer UTC nanoseconds):

=========================  ==================================================================
``POST /orders``           ``OrderIn`` → 200 ``ack``; idempotent on ``client_order_id``
                           (the same id answers the existing order). Refused by the venue →
                           400 ``{"detail": {"error": "rejected", "client_order_id", "reason"}}``
``DELETE /orders/{id}``    → 200 ``ack`` (status of the order after the cancel); unknown → 400
``GET /orders/{id}``       → 200 ``order`` or 404
``GET /orders``            ``?open=true`` (the default) and ``?symbol=``: → list of ``order``
``GET /fills``             ``?since=NS`` (fills with ``ts_event >= since``) → list of ``fill``
``GET /balances``          → ``{"USD": "99000.00"}``; ``GET /positions`` → ``{"GOOG": "10"}``
``POST /bars``             one ``BarIn`` or a list: feed market data → ``{"reports": n}``
``GET /health``            → ``{"status": "ok", "venue", "symbols", "fill_seq"}``
``WS /stream``             ``?after=SEQ``: ``{"type": "hello", "fill_seq"}``, then every fill
                           after ``SEQ`` (a reconnecting client misses none), then live
                           ``{"type": "fill", "seq", ...}`` / ``{"type": "status", ...}``
=========================  ==================================================================

Every HTTP answer carries ``X-Paper-Fill-Seq`` (the newest fill's sequence number) so a
client knows where its report stream starts. Requests are validated by pydantic schemas
kept apart from the domain types: malformed JSON or an invalid field → 422 naming the field;
an unknown symbol in ``/bars`` → 422. The venue lives on the server's event loop and is
closed when the app shuts down.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Query, Request, Response, WebSocket
from pydantic import BaseModel, ConfigDict, Field
from starlette.websockets import WebSocketDisconnect

from trading_strategy.core.bars import Bar
from trading_strategy.core.enums import OrderType, Side, TimeInForce
from trading_strategy.orders.venues.base import (
    FillReport,
    OrderAck,
    OrderRequest,
    OrderState,
    VenueRejected,
    VenueReport,
)
from trading_strategy.orders.venues.paper import PaperVenue
from trading_strategy.orders.venues.paper_client import FILL_SEQ_HEADER

PositiveDecimal = Annotated[Decimal, Field(gt=0, allow_inf_nan=False)]
FinitePrice = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class OrderIn(BaseModel):
    """``POST /orders`` body."""

    model_config = ConfigDict(extra="forbid")

    client_order_id: Annotated[str, Field(min_length=1, max_length=128)]
    symbol: Annotated[str, Field(min_length=1, max_length=64)]
    side: Side
    order_type: OrderType = OrderType.MARKET
    quantity: PositiveDecimal
    limit_price: PositiveDecimal | None = None
    stop_price: PositiveDecimal | None = None
    tif: TimeInForce = TimeInForce.GTC
    reduce_only: bool = False
    strategy: Annotated[str, Field(max_length=128)] = ""
    size_at_fill: bool = False
    quantity_is_cap: bool = True
    parent_id: Annotated[str, Field(min_length=1, max_length=128)] | None = None

    def to_domain(self) -> OrderRequest:
        return OrderRequest(self.client_order_id, self.symbol, self.side, self.order_type,
                            self.quantity, self.limit_price, self.stop_price, self.tif,
                            self.reduce_only, self.strategy, self.size_at_fill,
                            self.quantity_is_cap, self.parent_id)


class BarIn(BaseModel):
    """``POST /bars`` item: one bar of one symbol; ``ts_event`` is the bar's open (UTC ns)."""

    model_config = ConfigDict(extra="forbid")

    symbol: Annotated[str, Field(min_length=1, max_length=64)]
    ts_event: Annotated[int, Field(ge=0)]
    open: FinitePrice
    high: FinitePrice
    low: FinitePrice
    close: FinitePrice
    volume: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.0

    def to_domain(self) -> Bar:
        return Bar(self.symbol, self.ts_event, self.open, self.high, self.low, self.close,
                   self.volume)


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def ack_json(ack: OrderAck) -> dict[str, Any]:
    return {"client_order_id": ack.client_order_id, "venue_order_id": ack.venue_order_id,
            "status": ack.status.value, "reason": ack.reason, "ts_event": ack.ts_event}


def order_json(o: OrderState) -> dict[str, Any]:
    return {"client_order_id": o.client_order_id, "venue_order_id": o.venue_order_id,
            "symbol": o.symbol, "side": o.side.value, "order_type": o.order_type.value,
            "quantity": str(o.quantity), "filled_quantity": str(o.filled_quantity),
            "status": o.status.value, "limit_price": _dec(o.limit_price),
            "stop_price": _dec(o.stop_price), "avg_price": _dec(o.avg_price)}


def fill_json(f: FillReport) -> dict[str, Any]:
    return {"client_order_id": f.client_order_id, "venue_order_id": f.venue_order_id,
            "trade_id": f.trade_id, "symbol": f.symbol, "side": f.side.value,
            "quantity": str(f.quantity), "price": str(f.price),
            "commission": str(f.commission), "ts_event": f.ts_event, "liquidity": f.liquidity,
            "order_quantity": _dec(f.order_quantity)}


def report_json(report: VenueReport, seq: int | None = None) -> dict[str, Any]:
    if isinstance(report, FillReport):
        return {"type": "fill", "seq": seq, **fill_json(report)}
    return {"type": "status", "client_order_id": report.client_order_id,
            "venue_order_id": report.venue_order_id, "status": report.status.value,
            "reason": report.reason, "ts_event": report.ts_event}


def _rejected(exc: VenueRejected) -> HTTPException:
    return HTTPException(400, {"error": "rejected", "client_order_id": exc.client_order_id,
                               "reason": exc.reason})


def create_app(venue: PaperVenue) -> FastAPI:
    """The HTTP + WebSocket face of ``venue`` (which the app closes on shutdown)."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await venue.close()

    app = FastAPI(title="trading-strategy paper venue", lifespan=lifespan)

    @app.middleware("http")
    async def fill_seq_header(request: Request,
                              call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        response.headers[FILL_SEQ_HEADER] = str(venue.fill_seq)
        return response

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "venue": venue.name, "symbols": sorted(venue.instruments),
                "fill_seq": venue.fill_seq}

    @app.post("/orders")
    async def submit(order: OrderIn) -> dict[str, Any]:
        try:
            return ack_json(await venue.submit(order.to_domain()))
        except VenueRejected as exc:
            raise _rejected(exc) from None

    @app.delete("/orders/{client_order_id}")
    async def cancel(client_order_id: str) -> dict[str, Any]:
        try:
            return ack_json(await venue.cancel(client_order_id))
        except VenueRejected as exc:
            raise _rejected(exc) from None

    @app.get("/orders/{client_order_id}")
    async def fetch_order(client_order_id: str) -> dict[str, Any]:
        state = await venue.fetch_order(client_order_id)
        if state is None:
            raise HTTPException(404, {"error": "unknown_order",
                                      "client_order_id": client_order_id})
        return order_json(state)

    @app.get("/orders")
    async def fetch_orders(open: bool = True, symbol: str | None = None) -> list[dict[str, Any]]:
        if not open:
            raise HTTPException(422, "only open=true is supported; use GET /orders/{id}")
        return [order_json(o) for o in await venue.fetch_open_orders(symbol)]

    @app.get("/fills")
    async def fetch_fills(since: Annotated[int, Query(ge=0)] = 0) -> list[dict[str, Any]]:
        return [fill_json(f) for f in await venue.fetch_fills(since)]

    @app.get("/balances")
    async def balances() -> dict[str, str]:
        return {k: str(v) for k, v in (await venue.fetch_balances()).items()}

    @app.get("/positions")
    async def positions() -> dict[str, str]:
        return {k: str(v) for k, v in (await venue.fetch_positions()).items()}

    @app.post("/bars")
    async def bars(body: BarIn | list[BarIn]) -> dict[str, Any]:
        items = body if isinstance(body, list) else [body]
        unknown = sorted({b.symbol for b in items} - set(venue.instruments))
        if unknown:
            raise HTTPException(422, f"unknown symbol(s) {', '.join(unknown)}; this venue "
                                     f"trades {', '.join(sorted(venue.instruments))}")
        produced: list[VenueReport] = []
        for item in items:
            produced.extend(venue.on_bar(item.symbol, item.to_domain()))
        # the reports come back in the answer too: a replaying client stays in lockstep
        # without depending on the stream (which also carries cancels and reconnects)
        return {"reports": len(produced), "items": [report_json(r) for r in produced]}

    @app.websocket("/stream")
    async def stream(websocket: WebSocket, after: int | None = None) -> None:
        await websocket.accept()
        reports = venue.reports()  # registered before the replay: nothing falls between
        backlog = venue.fills_after(after) if after is not None else []
        seq = venue.fill_seq
        closed: asyncio.Future[None] | None = None
        try:
            await websocket.send_json({"type": "hello", "fill_seq": seq})
            for fill_seq, fill in backlog:
                await websocket.send_json(report_json(fill, fill_seq))
            closed = asyncio.ensure_future(_wait_closed(websocket))
            while True:
                following = asyncio.ensure_future(anext(reports))
                await asyncio.wait({following, closed}, return_when=asyncio.FIRST_COMPLETED)
                if not following.done():
                    following.cancel()
                    break
                try:
                    report = following.result()
                except StopAsyncIteration:
                    break
                if isinstance(report, FillReport):
                    seq = int(report.trade_id.lstrip("T"))
                await websocket.send_json(report_json(report, seq))
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            if closed is not None:
                closed.cancel()
            await reports.aclose()

    return app


async def _wait_closed(websocket: WebSocket) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
