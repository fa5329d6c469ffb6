"""The web app's figures: the positions endpoint under load and a 1,000,000-bar run page.

Run: ``.venv/bin/python bench/web.py [--clients 50] [--requests 100] [--poll 0.5]
[--poll-seconds 10] [--bars 1000000] [--positions-only]``

1. **Positions endpoint**: a paper session (``examples/portfolio.toml``, two strategies,
   ~5,400 bars, ~90 orders) is replayed into a fresh data folder and SQLite database; the app
   is served by ``trading-strategy serve`` (its own process) on 127.0.0.1, and
   ``GET /api/v1/sessions/demo/positions`` is asked by ``--clients`` clients, each on its
   own keep-alive connection, two ways. Target p95 < 20 ms (issue 13).

   * *closed loop* (the hammer): each client asks again as soon as it has its answer,
     ``--requests`` times. Latency is then the queue: by Little's law the mean is
     clients / throughput, so this measures throughput (p95 < 20 ms with 50 clients needs
     about 2,500 answers a second).
   * *open loop* (dashboards): each client asks every ``--poll`` seconds (0.5 s: how often
     the dashboard redraws a session, ``web/static/dashboard.js``) for ``--poll-seconds``,
     revalidating with ``If-None-Match`` as a browser does; latency is counted from when the
     request was due, so a stalled server is not hidden by clients that wait for it.

   The load generator shares the machine's cores with the server, so it is a raw asyncio
   HTTP/1.1 client (~30 µs of CPU a request). The closed loop is also run with
   ``httpx.AsyncClient``, the generator of the first figure (p95 160 ms), which spends
   ~2 ms of CPU a request on the same cores: that figure was mostly the generator (the
   rest: full garbage collections and a thread-pool convoy in the server, both gone). The
   server's and the generator's CPU time per request are printed.
2. **Run page**: a run with ``--bars`` equity points is saved; the API's downsampled answer
   (``?points=2000``) is timed, then chromium (``/usr/bin/chromium``, headless) opens
   ``/runs/ID`` and the time from navigation to charts drawn (``body[data-ready]``) is
   measured. Target < 2 s.
3. **Fill to WebSocket client**: with a client connected to ``/api/v1/stream``, a paper
   session of five strategies (AAPL, GOOG, MSFT, IBM daily samples) is replayed, paced, in
   its own process; for each fill the delay is the client's receive time minus the time
   the session recorded the fill (``recorded_ns``, wall clock). Target p95 < 100 ms.

The last line printed is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
TARGET_POSITIONS_P95_MS = 20.0
TARGET_RENDER_S = 2.0
TARGET_FILL_P95_MS = 100.0
_FIVE = """
[session]
name = "five"
speed = 20000000

[venue]
kind = "paper"
commission = 0.001
slippage_bps = 2
""" + "".join(f"""
[[strategies]]
name = "{name}"
strategy = "{strategy}"
symbol = "{symbol}"
capital = 20000
size = "10"
params = {params}
""" for name, strategy, symbol, params in (
    ("sma_aapl", "sma_crossover", "AAPL", "{ fast = 5, slow = 20 }"),
    ("sma_goog", "sma_crossover", "GOOG", "{ fast = 5, slow = 20 }"),
    ("rsi_msft", "rsi_reversion", "MSFT", "{ period = 14, oversold = 30, overbought = 70 }"),
    ("rsi_ibm", "rsi_reversion", "IBM", "{ period = 14, oversold = 30, overbought = 70 }"),
    ("rsi_goog", "rsi_reversion", "GOOG", "{ period = 7, oversold = 30, overbought = 70 }")))


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (Linux; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _Connection:
    """One keep-alive HTTP/1.1 connection that costs its process next to nothing: the load
    generator must not take the cores the server is measured on."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> _Connection:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def get(self, path: str, etag: bytes | None = None) -> tuple[int, bytes | None]:
        """(status, ETag); the body is read and dropped."""
        self._writer.write(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: bench\r\n" +
                           (b"If-None-Match: " + etag + b"\r\n" if etag else b"") + b"\r\n")
        head = await self._reader.readuntil(b"\r\n\r\n")
        length, tag = 0, None
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
            elif name.lower() == b"etag":
                tag = value.strip()
        if length:
            await self._reader.readexactly(length)
        return int(head[9:12]), tag

    def close(self) -> None:
        self._writer.close()


_POSITIONS = "/api/v1/sessions/demo/positions"


async def _closed_loop(port: int, clients: int, requests: int) -> tuple[list[float], float]:
    """Latencies (ms) of ``clients`` clients asking back to back; answers per second."""
    latencies: list[float] = []

    async def one() -> None:
        connection = await _Connection.open(port)
        await connection.get(_POSITIONS)  # connected and warm
        for _ in range(requests):
            start = time.perf_counter()
            status, _ = await connection.get(_POSITIONS)
            latencies.append((time.perf_counter() - start) * 1000)
            if status != 200:
                raise RuntimeError(f"positions endpoint answered {status}")
        connection.close()

    start = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(clients)))
    return latencies, len(latencies) / (time.perf_counter() - start)


async def _open_loop(port: int, clients: int, every: float,
                     seconds: float) -> tuple[list[float], float, int]:
    """Latencies (ms, from when each request was due) of ``clients`` clients polling every
    ``every`` seconds, spread evenly over the interval; answers per second; 304s."""
    latencies: list[float] = []
    not_modified = 0

    async def one(index: int) -> None:
        nonlocal not_modified
        connection = await _Connection.open(port)
        _, etag = await connection.get(_POSITIONS)
        first = time.perf_counter() + every * (1 + index / clients)
        for n in range(int(seconds / every)):
            due = first + n * every
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            status, tag = await connection.get(_POSITIONS, etag)
            latencies.append((time.perf_counter() - due) * 1000)
            if status == 304:
                not_modified += 1
            elif status == 200:
                etag = tag
            else:
                raise RuntimeError(f"positions endpoint answered {status}")
        connection.close()

    start = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(clients)))
    return latencies, len(latencies) / (time.perf_counter() - start), not_modified


class _Server:
    """``trading-strategy serve`` in its own process (the clients must not share its GIL)."""

    def __init__(self) -> None:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def cpu_seconds(self) -> float:
        return float("nan") if self.process is None else _cpu_seconds(self.process.pid)

    def __enter__(self) -> str:
        import httpx

        self.process = subprocess.Popen(
            [sys.executable, "-m", "trading_strategy", "serve", "--port", str(self.port)],
            stdout=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(url + "/api/v1/sessions", timeout=1)
                return url
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("the web app did not start")

    def __exit__(self, *_: object) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)


def _seed(data_dir: Path, bars: int) -> int:
    """The demo session replayed, and a saved run of ``bars`` equity points; its id."""
    from trading_strategy.cli import main as cli
    from trading_strategy.config import load_settings
    from trading_strategy.storage import open_store

    os.environ["TRADING_STRATEGY_DATA_DIR"] = str(data_dir)
    assert cli(["run", "--config", str(ROOT / "examples" / "portfolio.toml"), "--quiet"]) == 0
    rng = np.random.default_rng(7)
    ts = np.int64(1_600_000_000) * 10**9 + np.arange(bars, dtype=np.int64) * 60 * 10**9
    equity = 10_000 * np.exp(np.cumsum(rng.normal(0.00001, 0.001, bars)))
    report = {"strategy": "bench_random_walk", "params": {}, "settings": {},
              "metrics": {"total_return": float(equity[-1] / equity[0] - 1)},
              "data": {"symbol": None, "timeframe": "1m", "bars": bars},
              "trades": [], "equity_curve": SimpleNamespace(ts=ts, equity=equity)}
    with open_store(load_settings().effective_database_url()) as store:
        return int(store.runs.save_run(report))


async def _httpx_closed_loop(url: str, clients: int, requests: int) -> list[float]:
    """The closed loop with ``httpx.AsyncClient`` (the first figure's generator)."""
    import httpx

    latencies: list[float] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        await client.get("/api/v1/sessions/demo/positions")  # warm-up

        async def one() -> None:
            for _ in range(requests):
                start = time.perf_counter()
                response = await client.get("/api/v1/sessions/demo/positions")
                latencies.append((time.perf_counter() - start) * 1000)
                response.raise_for_status()

        await asyncio.gather(*(one() for _ in range(clients)))
    return latencies


async def _fill_delays(url: str, data_dir: Path) -> list[float]:
    """Delays (ms) from each fill recorded by a paced five-strategy session to its arrival
    at a connected stream client."""
    import websockets

    config = data_dir / "five.toml"
    config.write_text(_FIVE)
    delays: list[float] = []
    async with websockets.connect(url.replace("http", "ws") + "/api/v1/stream") as ws:
        json.loads(await ws.recv())  # the snapshot
        session = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "trading_strategy", "run", "--config", str(config),
            "--quiet", stdout=subprocess.DEVNULL)
        done = asyncio.ensure_future(session.wait())
        quiet_until = None
        while True:
            try:
                raw = await asyncio.wait_for(ws.recv(), timeout=0.5)
            except TimeoutError:
                if done.done():
                    if quiet_until is None:
                        quiet_until = time.monotonic() + 1.0
                    elif time.monotonic() > quiet_until:
                        break
                continue
            received = time.time_ns()
            message = json.loads(raw)
            if message["kind"] == "fill" and message["session"] == "five":
                delays.append((received - message["data"]["recorded_ns"]) / 1e6)
    return delays


def _render(url: str, run_id: int) -> tuple[float, float, int]:
    """(API seconds for the downsampled run, page seconds to charts drawn, points drawn)."""
    import httpx

    start = time.perf_counter()
    body = httpx.get(f"{url}/api/v1/runs/{run_id}", params={"points": 2000}, timeout=60).json()
    api_s = time.perf_counter() - start
    if not Path(CHROMIUM).exists():
        return api_s, float("nan"), len(body["equity"])
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/runs")  # the browser itself started; not part of the figure
        start = time.perf_counter()
        page.goto(f"{url}/runs/{run_id}")
        page.wait_for_selector("body[data-ready='1']", timeout=30_000)
        page_s = time.perf_counter() - start
        browser.close()
    return api_s, page_s, len(body["equity"])


def _positions_figures(server: _Server, args: argparse.Namespace) -> dict[str, Any]:
    """The positions endpoint closed loop, open loop and with httpx; printed, and the
    figures for the JSON line."""
    port, url = server.port, f"http://127.0.0.1:{server.port}"
    client_cpu, server_cpu = time.process_time(), server.cpu_seconds
    latencies, rate = asyncio.run(_closed_loop(port, args.clients, args.requests))
    client_cpu = time.process_time() - client_cpu
    server_cpu = server.cpu_seconds - server_cpu
    p50, p95, p99 = (_quantile(latencies, q) for q in (0.5, 0.95, 0.99))
    server_us = server_cpu / len(latencies) * 1e6
    print(f"positions endpoint, closed loop, {args.clients} clients x {args.requests} "
          f"back to back: p50 {p50:.1f} ms  p95 {p95:.1f} ms  p99 {p99:.1f} ms  "
          f"mean {statistics.fmean(latencies):.1f} ms at {rate:,.0f} answers/s "
          f"(target p95 < {TARGET_POSITIONS_P95_MS:.0f} ms; server CPU {server_us:.0f} "
          f"us/request, generator {client_cpu / len(latencies) * 1e6:.0f} us/request)")
    opened, open_rate, not_modified = asyncio.run(
        _open_loop(port, args.clients, args.poll, args.poll_seconds))
    o50, o95, o99 = (_quantile(opened, q) for q in (0.5, 0.95, 0.99))
    print(f"positions endpoint, open loop, {args.clients} clients each every "
          f"{args.poll:g} s for {args.poll_seconds:g} s: p50 {o50:.1f} ms  p95 {o95:.1f} ms  "
          f"p99 {o99:.1f} ms  max {max(opened):.1f} ms at {open_rate:,.0f} requests/s "
          f"({not_modified} of {len(opened)} answered 304 Not Modified)")
    start = time.process_time()
    slow = asyncio.run(_httpx_closed_loop(url, args.clients, min(args.requests, 20)))
    slow_cpu = (time.process_time() - start) / len(slow) * 1e6
    h95 = _quantile(slow, 0.95)
    print(f"positions endpoint, closed loop with httpx as the generator (the first figure's):"
          f" p95 {h95:.1f} ms; httpx spent {slow_cpu:.0f} us of CPU a request")
    return {
        "clients": args.clients, "requests_per_client": args.requests,
        "positions_p50_ms": round(p50, 2), "positions_p95_ms": round(p95, 2),
        "positions_p99_ms": round(p99, 2), "positions_rps": round(rate),
        "positions_server_cpu_us": round(server_us),
        "meets_positions": p95 < TARGET_POSITIONS_P95_MS,
        "poll_seconds": args.poll, "positions_open_p50_ms": round(o50, 2),
        "positions_open_p95_ms": round(o95, 2), "positions_open_p99_ms": round(o99, 2),
        "positions_open_rps": round(open_rate, 1), "positions_open_304": not_modified,
        "meets_positions_open": o95 < TARGET_POSITIONS_P95_MS,
        "positions_httpx_p95_ms": round(h95, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=100,
                        help="closed loop: requests per client")
    parser.add_argument("--poll", type=float, default=0.5,
                        help="open loop: seconds between one client's requests")
    parser.add_argument("--poll-seconds", type=float, default=10.0,
                        help="open loop: how long the clients poll")
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--positions-only", action="store_true",
                        help="only the positions endpoint (no browser, no paced session)")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="bench-web-"))
    for key in [k for k in os.environ if k.startswith("TRADING_STRATEGY_")]:
        del os.environ[key]
    seed_start = time.perf_counter()
    bars = 1_000 if args.positions_only else args.bars
    run_id = _seed(data_dir, bars)
    print(f"seeded {data_dir} (session demo, run {run_id} of {bars:,} equity points) in "
          f"{time.perf_counter() - seed_start:.1f} s")

    server = _Server()
    with server as url:
        result: dict[str, Any] = {"bench": "web", **_positions_figures(server, args)}
        if not args.positions_only:
            delays = asyncio.run(_fill_delays(url, data_dir))
            f50, f95 = (_quantile(delays, q) for q in (0.5, 0.95)) if delays else (0.0, 0.0)
            print(f"fill to stream client, {len(delays)} fills of 5 strategies: p50 "
                  f"{f50:.1f} ms p95 {f95:.1f} ms (target p95 < {TARGET_FILL_P95_MS:.0f} ms; "
                  "the stream polls the journal every 0.05 s)")
            api_s, page_s, drawn = _render(url, run_id)
            print(f"run page of {bars:,} equity points: API (downsampled to {drawn} "
                  f"points) {api_s * 1000:.0f} ms; page to charts drawn {page_s:.2f} s "
                  f"(target < {TARGET_RENDER_S:.0f} s)")
            result |= {
                "fills": len(delays), "fill_p50_ms": round(f50, 1),
                "fill_p95_ms": round(f95, 1),
                "meets_fill": bool(delays) and f95 < TARGET_FILL_P95_MS,
                "run_bars": bars, "run_points_drawn": drawn,
                "run_api_ms": round(api_s * 1000, 1), "run_page_s": round(page_s, 3),
                "meets_render": page_s < TARGET_RENDER_S,
            }
    result["python"] = platform.python_version()
    print(json.dumps(result, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
