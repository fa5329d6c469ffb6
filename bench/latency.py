"""Decision and order placement latency of a paper session.

The three built-in strategies, one synthetic instrument each (one-minute GBM bars, seed 7),
replayed as fast as possible through the whole live path: bus, strategy runner (O(1)
indicators), risk engine, order manager with the journal in SQLite, paper venue.

* throughput: bars delivered to strategies per second of the in-process replay (wall
  clock, and per second of CPU, which other load on the machine does not inflate);
* decision latency: the bar reaching the strategy layer → its intent is ready;
* placement latency: intent → venue acknowledgement, risk check and journal writes included;
  in-process (paper venue in the same process) and over the loopback socket to
  ``trading-strategy paper-venue`` in another process (fewer events: every bar is an HTTP
  request there).

    .venv/bin/python bench/latency.py [--events 100000] [--loopback-events 10000]

``--loopback-events 0`` skips the loopback part (to profile the in-process replay).

Prints p50/p95/p99 and counts; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SYMBOLS = {"SYNA": "sma_crossover", "SYNB": "rsi_reversion", "SYNC": "donchian_breakout"}


def write_bars(folder: Path, symbol: str, n: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    dt = 1.0 / (365 * 24 * 60)
    close = 100 * np.exp(np.cumsum(0.8 * np.sqrt(dt) * rng.standard_normal(n)))
    open_ = np.concatenate(([100.0], close[:-1]))
    spread = np.abs(rng.standard_normal(n)) * 0.8 * np.sqrt(dt) * close
    high, low = np.maximum(open_, close) + spread, np.minimum(open_, close) - spread
    ts = np.datetime64("2024-01-01T00:00", "m") + np.arange(n)
    path = folder / f"{symbol}_1m.csv"
    with path.open("w") as fh:
        fh.write("timestamp,open,high,low,close,volume\n")
        for t, o, h, lo, c in zip(ts.astype(str), open_, high, low, close, strict=True):
            fh.write(f"{t}Z,{o:.2f},{h:.2f},{lo:.2f},{c:.2f},1000\n")
    return path


def portfolio(files: dict[str, Path], *, name: str, kind: str, url: str = "") -> dict:
    strategies = []
    for symbol, strategy in SYMBOLS.items():
        params = {"sma_crossover": {"fast": 5, "slow": 20},
                  "rsi_reversion": {"period": 7, "oversold": 35, "overbought": 65},
                  "donchian_breakout": {"channel": 20}}[strategy]
        strategies.append({"name": f"{strategy}_{symbol.lower()}", "strategy": strategy,
                           "symbol": str(files[symbol]), "capital": 100000, "size": "10",
                           "params": params})
    venue = {"kind": kind, "commission": 0.001, "slippage_bps": 1}
    if url:
        venue["url"] = url
    return {"session": {"name": name}, "venue": venue, "strategies": strategies}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_session(raw: dict, data_dir: Path) -> tuple[list[int], list[int], int]:
    from trading_strategy.config import Settings
    from trading_strategy.observability import metrics as m
    from trading_strategy.runtime.portfolio_config import parse_portfolio
    from trading_strategy.runtime.session import PaperSession
    from trading_strategy.runtime.wiring import open_session_store, stored_journal_factory

    decisions: list[int] = []
    placements: list[int] = []
    orig_d, orig_p = m.StrategyMetrics.observe_decision_ns, m.StrategyMetrics.observe_placement_ns

    def obs_d(self: m.StrategyMetrics, ns: int) -> None:
        decisions.append(ns)
        orig_d(self, ns)

    def obs_p(self: m.StrategyMetrics, ns: int, *, venue: str) -> None:
        placements.append(ns)
        orig_p(self, ns, venue=venue)

    m.StrategyMetrics.observe_decision_ns = obs_d  # type: ignore[method-assign]
    m.StrategyMetrics.observe_placement_ns = obs_p  # type: ignore[method-assign]
    try:
        config = parse_portfolio(raw)
        store = open_session_store(Settings(data_dir=data_dir).effective_database_url())
        session = PaperSession(config, data_dir=data_dir,
                               journal_factory=stored_journal_factory(store),
                               event_repository=store.events)
        result = asyncio.run(session.run())
    finally:
        m.StrategyMetrics.observe_decision_ns = orig_d  # type: ignore[method-assign]
        m.StrategyMetrics.observe_placement_ns = orig_p  # type: ignore[method-assign]
    return decisions, placements, result.bars


def pct(values: list[int], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) / 1e6 if values else float("nan")


def show(label: str, values: list[int]) -> None:
    print(f"  {label:<34} n={len(values):>7,}  p50 {pct(values, 50):7.3f} ms  "
          f"p95 {pct(values, 95):7.3f} ms  p99 {pct(values, 99):7.3f} ms")


def loopback(tmp: Path, n: int) -> tuple[list[int], list[int], int]:
    """The same portfolio over HTTP to ``trading-strategy paper-venue`` in another process."""
    (tmp / "lb").mkdir(exist_ok=True)
    lb_symbol = max(2, n // len(SYMBOLS))
    lb_files = {s: write_bars(tmp / "lb", s, lb_symbol, seed=7 + k)
                for k, s in enumerate(SYMBOLS)}
    port = free_port()
    venue_db = tmp / "venue.sqlite3"
    symbols = ",".join(f"{s}:0.01" for s in SYMBOLS)
    server = subprocess.Popen(
        [sys.executable, "-m", "trading_strategy", "paper-venue", "--port", str(port),
         "--db", str(venue_db), "--symbols", symbols, "--cash", "300000",
         "--commission-rate", "0.001", "--slippage-bps", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env={**os.environ, "TRADING_STRATEGY_DATA_DIR": str(tmp / "venue")})
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        return run_session(portfolio(lb_files, name="bench_loopback", kind="paper-http",
                                     url=f"http://127.0.0.1:{port}"), tmp / "loopback")
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--loopback-events", type=int, default=10_000)
    args = parser.parse_args()

    from trading_strategy.observability.logging import configure_logging

    # the session's modules are loaded before the clock starts: importing them (~0.4 s) is
    # the interpreter's start-up, not replay (building the session and its stores is timed)
    for module in ("trading_strategy.config", "trading_strategy.runtime.portfolio_config",
                   "trading_strategy.runtime.session", "trading_strategy.runtime.wiring",
                   "trading_strategy.orders.venues.paper"):
        importlib.import_module(module)

    configure_logging("console", "error")
    tmp = Path(tempfile.mkdtemp(prefix="ts-latency-"))
    per_symbol = args.events // len(SYMBOLS)
    files = {s: write_bars(tmp, s, per_symbol, seed=7 + k) for k, s in enumerate(SYMBOLS)}
    t0, c0 = time.perf_counter(), time.process_time()
    d_in, p_in, events = run_session(portfolio(files, name="bench_inproc", kind="paper"),
                                     tmp / "inproc")
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0

    if args.loopback_events <= 0:  # in-process only (profiling)
        d_lb, p_lb, lb_events = [], [], 0
    else:
        d_lb, p_lb, lb_events = loopback(tmp, args.loopback_events)

    print(f"paper session latency: {events:,} replayed events in-process in {seconds:.1f} s "
          f"({events / seconds:,.0f} events/s; {cpu:.1f} s of CPU, {events / cpu:,.0f} "
          f"events per CPU second), {lb_events:,} over loopback")
    show("decision (bar → intent)", d_in)
    show("placement in-process (intent → ack)", p_in)
    show("placement loopback (intent → ack)", p_lb)
    figures = {
        "events": events,
        "seconds_inprocess": round(seconds, 2),
        "events_per_s_inprocess": round(events / seconds),
        "events_per_cpu_s_inprocess": round(events / cpu),
        "loopback_events": lb_events,
        "decisions": len(d_in),
        "orders_inprocess": len(p_in),
        "orders_loopback": len(p_lb),
        "decision_p50_ms": round(pct(d_in, 50), 4),
        "decision_p95_ms": round(pct(d_in, 95), 4),
        "decision_p99_ms": round(pct(d_in, 99), 4),
        "placement_p50_ms_inprocess": round(pct(p_in, 50), 4),
        "placement_p95_ms_inprocess": round(pct(p_in, 95), 4),
        "placement_p99_ms_inprocess": round(pct(p_in, 99), 4),
        "placement_p50_ms_loopback": round(pct(p_lb, 50), 4),
        "placement_p95_ms_loopback": round(pct(p_lb, 95), 4),
        "placement_p99_ms_loopback": round(pct(p_lb, 99), 4),
        "decision_loopback_p95_ms": round(pct(d_lb, 95), 4),
    }
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
