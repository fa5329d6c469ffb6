"""A fake exchange WebSocket server that plays scripted messages and injects faults.

For provider contract tests (ours and users')::

    script = [AwaitRequest(), Send(kline_1), Send(kline_2), Drop()]
    async with FakeStreamServer([script, [AwaitRequest(), Send(kline_3)]],
                                reply=binance_reply) as server:
        provider = BinanceProvider(ws_url=server.url, ...)

Connection *k* (0-based) plays ``scripts[k]``; connections past the list only answer
requests and stay open and silent. Every text the client sends is recorded per connection
(``received``) and, when ``reply`` is given, answered (a subscription acknowledgement).
Steps: ``Send`` a text (valid or not: malformed JSON, duplicates, out-of-order and skipped
messages are just texts), ``Pause`` (silence), ``AwaitRequest`` (wait for the client's next
message), ``Drop`` (abort the TCP connection: no close frame, like a network failure) and
``Close`` (a clean close frame). After its script a connection stays open until the
client leaves. It runs in the test's event loop on 127.0.0.1 and a free port.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed


@dataclass(frozen=True, slots=True)
class Send:
    text: str


@dataclass(frozen=True, slots=True)
class Pause:
    seconds: float


@dataclass(frozen=True, slots=True)
class AwaitRequest:
    """Wait until the client has sent its next message (e.g. its subscribe request)."""

    timeout: float = 5.0


@dataclass(frozen=True, slots=True)
class Drop:
    """Abort the TCP connection without a close frame."""


@dataclass(frozen=True, slots=True)
class Close:
    code: int = 1000
    reason: str = ""


Step = Send | Pause | AwaitRequest | Drop | Close


def binance_reply(text: str) -> str | None:
    """Binance acknowledges a SUBSCRIBE/UNSUBSCRIBE with ``{"result": null, "id": n}``."""
    try:
        request = json.loads(text)
    except ValueError:
        return None
    return json.dumps({"result": None, "id": request.get("id")})


def coinbase_reply(text: str) -> str | None:
    """Coinbase answers a subscribe with the channels now subscribed."""
    try:
        request = json.loads(text)
    except ValueError:
        return None
    channels = [{"name": c, "product_ids": request.get("product_ids", [])}
                for c in request.get("channels", [])]
    return json.dumps({"type": "subscriptions", "channels": channels})


class FakeStreamServer:
    def __init__(self, scripts: Sequence[Sequence[Step]], *,
                 reply: Callable[[str], str | None] | None = None,
                 host: str = "127.0.0.1") -> None:
        self.scripts = [list(s) for s in scripts]
        self.reply = reply
        self.host = host
        self.port = 0
        #: what the client sent, per connection
        self.received: list[list[str]] = []
        #: the request path of each connection (``/stream`` ...)
        self.paths: list[str] = []
        #: loop time (``asyncio`` clock) at which each connection was accepted
        self.accepted_at: list[float] = []
        self._requests: list[asyncio.Queue[str]] = []
        self._server: Server | None = None
        self._finished: list[asyncio.Event] = []

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    @property
    def connections(self) -> int:
        return len(self.received)

    async def wait_connections(self, count: int, timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while self.connections < count:
                await asyncio.sleep(0.005)

    async def wait_script(self, index: int, timeout: float = 5.0) -> None:
        """Until connection ``index`` has played its whole script."""
        await self.wait_connections(index + 1, timeout)
        async with asyncio.timeout(timeout):
            await self._finished[index].wait()

    async def __aenter__(self) -> FakeStreamServer:
        self._server = await serve(self._handle, self.host, 0, ping_interval=None,
                                   compression=None)
        self.port = next(iter(self._server.sockets)).getsockname()[1]
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, ws: ServerConnection) -> None:
        index = len(self.received)
        received: list[str] = []
        requests: asyncio.Queue[str] = asyncio.Queue()
        finished = asyncio.Event()
        self.received.append(received)
        self._requests.append(requests)
        self._finished.append(finished)
        self.paths.append(ws.request.path if ws.request is not None else "")
        self.accepted_at.append(asyncio.get_running_loop().time())
        reader = asyncio.create_task(self._read(ws, received, requests))
        try:
            script = self.scripts[index] if index < len(self.scripts) else []
            for step in script:
                if not await self._play(ws, step, requests):
                    return
            finished.set()
            await ws.wait_closed()
        except ConnectionClosed:
            pass
        finally:
            finished.set()
            reader.cancel()

    async def _play(self, ws: ServerConnection, step: Step,
                    requests: asyncio.Queue[str]) -> bool:
        """Plays one step; False when the connection is gone."""
        if isinstance(step, Send):
            await ws.send(step.text)
        elif isinstance(step, Pause):
            await asyncio.sleep(step.seconds)
        elif isinstance(step, AwaitRequest):
            async with asyncio.timeout(step.timeout):
                await requests.get()
        elif isinstance(step, Drop):
            ws.transport.abort()
            return False
        else:
            await ws.close(step.code, step.reason)
            return False
        return True

    async def _read(self, ws: ServerConnection, received: list[str],
                    requests: asyncio.Queue[str]) -> None:
        try:
            async for message in ws:
                text = message if isinstance(message, str) else message.decode()
                received.append(text)
                answer = self.reply(text) if self.reply is not None else None
                if answer is not None:
                    await ws.send(answer)
                requests.put_nowait(text)
        except ConnectionClosed:
            pass
