"""The web app's figures: the positions endpoint under load and a 1,000,000-bar run page.

Run: ``.venv/bin/python bench/web.py [--clients 50] [--requests 20] [--bars 1000000]``

1. **Positions endpoint**: a paper session (``examples/portfolio.toml``, two strategies,
   ~5,400 bars, ~90 orders) is replayed into a fresh data folder and SQLite database; the app
   is served by ``trading-strategy serve`` (its own process) on 127.0.0.1; ``--clients``
   concurrent clients each ask ``GET /api/v1/sessions/demo/positions`` ``--requests`` times.
   Reports p50/p95/p99 latency. Target p95 < 20 ms (issue 13).
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


class _Server:
    """``trading-strategy serve`` in its own process (the clients must not share its GIL)."""

    def __init__(self) -> None:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.process: subprocess.Popen[bytes] | None = None

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


async def _positions(url: str, clients: int, requests: int) -> list[float]:
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--bars", type=int, default=1_000_000)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="bench-web-"))
    for key in [k for k in os.environ if k.startswith("TRADING_STRATEGY_")]:
        del os.environ[key]
    seed_start = time.perf_counter()
    run_id = _seed(data_dir, args.bars)
    print(f"seeded {data_dir} (session demo, run {run_id} of {args.bars:,} equity points) in "
          f"{time.perf_counter() - seed_start:.1f} s")

    with _Server() as url:
        latencies = asyncio.run(_positions(url, args.clients, args.requests))
        p50, p95, p99 = (_quantile(latencies, q) for q in (0.5, 0.95, 0.99))
        print(f"positions endpoint, {args.clients} concurrent clients x {args.requests}: "
              f"p50 {p50:.1f} ms  p95 {p95:.1f} ms  p99 {p99:.1f} ms  "
              f"mean {statistics.fmean(latencies):.1f} ms  (target p95 < "
              f"{TARGET_POSITIONS_P95_MS:.0f} ms)")
        delays = asyncio.run(_fill_delays(url, data_dir))
        f50, f95 = (_quantile(delays, q) for q in (0.5, 0.95)) if delays else (0.0, 0.0)
        print(f"fill to stream client, {len(delays)} fills of 5 strategies: p50 {f50:.1f} ms "
              f"p95 {f95:.1f} ms (target p95 < {TARGET_FILL_P95_MS:.0f} ms; the stream "
              "polls the journal every 0.05 s)")
        api_s, page_s, drawn = _render(url, run_id)
        print(f"run page of {args.bars:,} equity points: API (downsampled to {drawn} points) "
              f"{api_s * 1000:.0f} ms; page to charts drawn {page_s:.2f} s "
              f"(target < {TARGET_RENDER_S:.0f} s)")
    result = {
        "bench": "web", "clients": args.clients, "requests_per_client": args.requests,
        "positions_p50_ms": round(p50, 2), "positions_p95_ms": round(p95, 2),
        "positions_p99_ms": round(p99, 2),
        "meets_positions": p95 < TARGET_POSITIONS_P95_MS,
        "fills": len(delays), "fill_p50_ms": round(f50, 1), "fill_p95_ms": round(f95, 1),
        "meets_fill": bool(delays) and f95 < TARGET_FILL_P95_MS,
        "run_bars": args.bars, "run_points_drawn": drawn, "run_api_ms": round(api_s * 1000, 1),
        "run_page_s": round(page_s, 3), "meets_render": page_s < TARGET_RENDER_S,
        "python": platform.python_version(),
    }
    print(json.dumps(result, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
