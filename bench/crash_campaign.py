"""Crash campaign: kill -9 paper sessions at random moments and at injected windows, through
the CLI, on SQLite and PostgreSQL, and compare every outcome with an uninterrupted run.

A three-strategy portfolio with protective exits (the Donchian strategy's own bracket stop,
percentage stop-loss/take-profit from ``[risk]`` for the others) is run once without
interruption per backend (the reference). Then each *killed run* is a fresh session that is
SIGKILLed one to three times at random moments (uniform over the reference's duration, so
start-up, reconciliation and replay are all hit), then run to the end. The injected windows
(``TS_FAULT_CRASH``, see ``runtime/faults.py``) kill exactly between two steps:

* ``before_venue_submit``: SUBMITTED journaled, the venue not reached;
* ``after_venue_ack``: the venue accepted, the journal does not know;
* ``before_fill_journal``: the venue filled, the journal does not know;
* ``after_fill_journal``: the fill journaled, its stop-loss/take-profit not placed.

Each finished run is compared with the reference (``compare``) on: orders (type, side,
quantity, prices, reduce-only, final status), every order's complete journal event sequence
(kinds and status moves; fills with trade id, quantity, price, commission and market time),
fills, each strategy's cash and position computed from the journal and as the CLI printed
them, the venue's orders, fills, positions and cash, that every order the venue has is
ACCEPTED (or REJECTED) in our journal with its venue order id, that no order filled before
its decision, and that ``reconcile`` afterwards finds nothing to repair. Any difference is a
*divergence*; the goal is 0.

PostgreSQL: ``--pg-url`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``)
names a server; a uniquely named database is created there, given to the sessions through
``TRADING_STRATEGY_DATABASE_URL``, and dropped at the end. ``--backends sqlite`` skips it.

    .venv/bin/python bench/crash_campaign.py [--runs 50] [--seed 7] [--backends sqlite,postgresql]

``--runs`` random killed runs in all, split over the backends; the injected windows come on
top. Prints one line per run and a summary; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

PORTFOLIO = """
[session]
name = "{name}"
speed = 0
start = "2008-01-01"
end = "2008-12-31"

[venue]
kind = "paper"
commission = 0.001
slippage_bps = 2

[[strategies]]
name = "sma_goog"
strategy = "sma_crossover"
symbol = "GOOG"
capital = 50000
size = "50"
params = {{ fast = 5, slow = 20 }}

[[strategies]]
name = "rsi_msft"
strategy = "rsi_reversion"
symbol = "MSFT"
capital = 50000
size = "500"

[[strategies]]
name = "don_ibm"
strategy = "donchian_breakout"
symbol = "IBM"
capital = 50000
size = "100"

[risk]
stop_loss_pct = 4
take_profit_pct = 6
"""

CAPITAL = Decimal(50000)
WINDOWS = ("before_venue_submit", "after_venue_ack", "before_fill_journal",
           "after_fill_journal")
_PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


# --- running sessions through the CLI -----------------------------------------------------
@dataclass
class Backend:
    name: str
    data_dir: Path
    url: str = ""  # "" → the data folder's SQLite file

    def env(self, crash_at: str | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("TRADING_STRATEGY_") and k != "TS_FAULT_CRASH"}
        env["TRADING_STRATEGY_DATA_DIR"] = str(self.data_dir)
        if self.url:
            env["TRADING_STRATEGY_DATABASE_URL"] = self.url
        if crash_at is not None:
            env["TS_FAULT_CRASH"] = crash_at
        return env

    def store_url(self) -> str:
        return self.url or f"sqlite:///{self.data_dir / 'trading-strategy.sqlite3'}"


def write_config(folder: Path, name: str, template: str = PORTFOLIO) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(template.format(name=name))
    return path


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "trading_strategy", *args]


def run_to_end(config: Path, backend: Backend, timeout: float = 600) -> str:
    """An uninterrupted run (or the final one after kills); its stdout."""
    proc = subprocess.run(_cli("run", "--config", str(config), "--quiet"), env=backend.env(),
                          capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"run of {config.stem} failed ({proc.returncode}): "
                           f"{proc.stderr.strip()[-2000:]}")
    return proc.stdout


def run_killed_after(config: Path, backend: Backend, seconds: float) -> bool:
    """Start a run and SIGKILL it after ``seconds``; True when the kill landed."""
    proc = subprocess.Popen(_cli("run", "--config", str(config), "--quiet"),
                            env=backend.env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    return proc.returncode == -signal.SIGKILL


def run_crashing_at(config: Path, backend: Backend, crash_at: str) -> bool:
    """A run that kills itself at an injected window; True when it did."""
    proc = subprocess.run(_cli("run", "--config", str(config), "--quiet"),
                          env=backend.env(crash_at), capture_output=True, text=True,
                          timeout=600, check=False)
    return proc.returncode == -signal.SIGKILL


def reconcile_json(config: Path, backend: Backend) -> dict[str, Any]:
    proc = subprocess.run(_cli("reconcile", "--config", str(config), "--json"),
                          env=backend.env(), capture_output=True, text=True, timeout=300,
                          check=False)
    try:
        return dict(json.loads(proc.stdout))
    except json.JSONDecodeError:
        return {"clean": False, "error": (proc.stdout + proc.stderr).strip()[-500:]}


# --- what a finished session left behind ------------------------------------------------------
def snapshot(backend: Backend, session: str, printed: str = "") -> dict[str, Any]:
    """Everything a run must agree on, with the session id replaced by ``S``."""
    from trading_strategy.orders.events import OrderAccepted, OrderFilled
    from trading_strategy.orders.journal import decode
    from trading_strategy.orders.venues.paper_store import PaperStore
    from trading_strategy.storage import open_store

    root = backend.data_dir / "sessions" / session
    sid = json.loads((root / "session.json").read_text())["session_id"]

    def norm(text: str) -> str:
        return text.replace(sid, "S")

    store = open_store(url=backend.store_url())
    try:
        records = [o for o in store.journal.orders(mode="paper") if f"-{sid}-" in o.id]
        orders: dict[str, Any] = {}
        events: dict[str, list[Any]] = {}
        created: dict[str, int] = {}
        acked: dict[str, str] = {}
        timeline: list[tuple[int, str, str]] = []
        for o in sorted(records, key=lambda r: r.id):
            oid = norm(o.id)
            orders[oid] = (str(o.side), str(o.order_type), str(o.quantity), str(o.limit_price),
                           str(o.stop_price), bool(o.reduce_only), str(o.status),
                           str(o.filled_quantity))
            created[oid] = int(o.ts_init)
            seq: list[Any] = []
            for row in store.journal.order_events(o.id):
                event = decode(dict(row.detail or {}))
                step: tuple[Any, ...] = (event.kind, str(row.from_status), str(row.to_status))
                if isinstance(event, OrderFilled):
                    step += (event.trade_id, str(event.quantity), str(event.price),
                             str(event.commission), event.ts_event)
                if isinstance(event, OrderAccepted):
                    acked[oid] = event.venue_order_id
                seq.append(step)
                timeline.append((int(row.id or 0), oid, event.kind))
            events[oid] = seq
        fills = sorted((norm(f.order_id), str(f.strategy), str(f.side), str(f.quantity),
                        str(f.price), str(f.commission), int(f.ts_event))
                       for f in store.journal.fills() if f"-{sid}-" in f.order_id)
    finally:
        store.close()
    # each strategy's cash and position, recomputed here from the journal's fills
    cash: dict[str, Decimal] = {}
    position: dict[str, Decimal] = {}
    for _oid, strategy, side, qty, price, fee, _ts in fills:
        sign = 1 if side.lower().endswith("buy") else -1
        cash[strategy] = cash.get(strategy, CAPITAL) - sign * Decimal(qty) * Decimal(price) \
            - Decimal(fee)
        position[strategy] = position.get(strategy, Decimal(0)) + sign * Decimal(qty)
    venue = PaperStore(root / "paper-venue.sqlite3")
    try:
        state = venue.load()
    finally:
        venue.close()
    venue_orders = {norm(r.client_order_id): (str(r.status), str(r.filled_quantity),
                                              r.venue_order_id) for r in state.orders}
    venue_fills = sorted((norm(f.client_order_id), str(f.quantity), str(f.price),
                          str(f.commission), f.ts_event) for f in state.fills)
    lines = sorted(" ".join(line.split()) for line in printed.splitlines()
                   if line.startswith("  ") and "equity" in line)
    # per strategy, every journal event in the order it was written: an obligation carried
    # out late (a stop cancelled only at the next flat) shows here even when each order's
    # own sequence looks right
    by_strategy: dict[str, list[str]] = {}
    for _seq, oid, kind in sorted(timeline):
        by_strategy.setdefault(oid.split("-S-")[0], []).append(f"{oid} {kind}")
    return {
        "orders": orders, "events": events, "fills": fills, "timeline": by_strategy,
        "cash": {k: str(v) for k, v in sorted(cash.items())},
        "positions": {k: str(v) for k, v in sorted(position.items())},
        "printed": lines,
        "venue_orders": {k: v[:2] for k, v in venue_orders.items()},
        "venue_fills": venue_fills,
        "venue_positions": {k: str(v) for k, v in sorted(state.positions.items())},
        "venue_cash": {k: str(v) for k, v in sorted(state.balances.items())},
        # invariants of one run on its own (compared as lists: both must be empty)
        "unacked": sorted(oid for oid, (_st, _q, vid) in venue_orders.items()
                          if orders.get(oid, ("",) * 7)[6] != "rejected"
                          and acked.get(oid) != vid),
        "fills_before_decision": sorted(f[0] for f in fills if f[6] < created.get(f[0], 0)),
        "unjournaled_at_venue": sorted(set(venue_orders) - set(orders)),
    }


def compare(reference: dict[str, Any], run: dict[str, Any]) -> list[str]:
    """One line per difference (empty: the run ended exactly as the reference)."""
    out: list[str] = []
    for key in ("unacked", "fills_before_decision", "unjournaled_at_venue"):
        if run[key]:
            out.append(f"{key}: {run[key][:5]}")
    for key, ref in reference.items():
        got = run[key]
        if got == ref:
            continue
        if isinstance(ref, dict):
            keys = sorted(set(ref) | set(got))
            diff = [k for k in keys if ref.get(k) != got.get(k)]
            detail = "; ".join(_first_difference(k, ref.get(k), got.get(k)) for k in diff[:3])
            out.append(f"{key}: {len(diff)} differ ({detail})")
        else:
            extra = [x for x in got if x not in ref][:3]
            missing = [x for x in ref if x not in got][:3]
            out.append(f"{key}: missing {missing} extra {extra}")
    return out


def _first_difference(key: str, ref: Any, got: Any) -> str:
    if isinstance(ref, list) and isinstance(got, list):
        at = next((i for i, (a, b) in enumerate(zip(ref, got, strict=False)) if a != b),
                  min(len(ref), len(got)))
        return (f"{key}[{at}]: ref {ref[at] if at < len(ref) else None!r} "
                f"run {got[at] if at < len(got) else None!r}")
    return f"{key}: ref {ref!r} run {got!r}"


# --- PostgreSQL: one database for the campaign ----------------------------------------------
@contextmanager
def pg_database(server_url: str) -> Iterator[str]:
    """A fresh, uniquely named database on ``server_url``'s server; dropped afterwards."""
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    url = make_url(server_url)
    name = f"ts_crash_{uuid.uuid4().hex[:10]}"
    params: dict[str, Any] = {"host": url.host or "127.0.0.1", "port": url.port or 5432,
                              "user": url.username or "postgres",
                              "dbname": url.database or "postgres"}
    if url.password:
        params["password"] = url.password
    with psycopg.connect(**params, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(**params, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                         .format(sql.Identifier(name)))


# --- the campaign -------------------------------------------------------------------------
@dataclass
class Tally:
    runs: int = 0
    kills: int = 0
    unkilled: int = 0  # random runs that finished before any kill (not counted as runs)
    divergences: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)


def _check(tally: Tally, label: str, backend: Backend, config: Path, reference: dict[str, Any],
           printed: str, kills: int) -> None:
    run = snapshot(backend, config.stem, printed)
    diffs = compare(reference, run)
    rec = reconcile_json(config, backend)
    if not rec.get("clean") or rec.get("repaired"):
        diffs.append(f"reconcile afterwards: {rec}")
    if kills == 0:
        tally.unkilled += 1
    else:
        tally.runs += 1
        tally.kills += kills
    if diffs:
        tally.divergences += 1
        tally.failures.append(f"{backend.name} {label}: {diffs[0]}")
    print(f"  {backend.name:<10} {label:<34} kills {kills}  "
          f"{'DIVERGED: ' + diffs[0] if diffs else 'identical'}", flush=True)


def campaign(backend: Backend, folder: Path, runs: int, rng: random.Random,
             windows: list[str], tally: Tally) -> None:
    # short session names: order ids carry them and the database keeps ids to 64 characters
    started = time.perf_counter()
    config = write_config(folder, "ref")
    printed = run_to_end(config, backend)
    duration = time.perf_counter() - started
    reference = snapshot(backend, config.stem, printed)
    legs = sum(1 for o in reference["orders"] if o.endswith(("-sl", "-tp")))
    print(f"{backend.name}: reference {len(reference['orders'])} orders ({legs} exit legs), "
          f"{len(reference['fills'])} fills in {duration:.1f} s", flush=True)
    for i, window in enumerate(windows):
        config = write_config(folder, f"w{i:02d}")
        killed = run_crashing_at(config, backend, window)
        printed = run_to_end(config, backend)
        tally.by_kind["window"] += 1
        _check(tally, f"window {window}", backend, config, reference, printed, int(killed))
    for k in range(runs):
        kills, attempt, scale = 0, 0, 1.0
        while kills == 0 and attempt < 4:
            # a kill moment past the end of the run misses: a fresh session, earlier moments
            config = write_config(folder, f"r{k:03d}{'abcd'[attempt]}")
            for _ in range(rng.choice((1, 1, 2, 3))):
                kills += run_killed_after(config, backend,
                                          rng.uniform(0.2, 0.9 * duration * scale))
            attempt, scale = attempt + 1, scale * 0.5
        printed = run_to_end(config, backend)
        tally.by_kind["random"] += 1 if kills else 0
        _check(tally, f"random #{k}", backend, config, reference, printed, kills)


def default_windows() -> list[str]:
    """Each window early, in the middle and late in the replay (the reference places 53
    orders and makes 35 fills; fill 1 is an entry, fills 2 and 5 exits with a sibling)."""
    return [f"{w}:{n}" for w in WINDOWS for n in (1, 2, 5, 13, 29)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=50,
                        help="random killed runs in all, split over the backends")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--pg-url", default=_PG_DEFAULT)
    parser.add_argument("--windows", default=",".join(default_windows()),
                        help="injected kill windows <point>:<n>, comma separated ('' none)")
    args = parser.parse_args()
    if args.runs < 0:
        parser.error("--runs must be >= 0")
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(backends) - {"sqlite", "postgresql"}
    if unknown:
        parser.error(f"unknown backend(s) {', '.join(sorted(unknown))}: sqlite, postgresql")
    rng = random.Random(args.seed)
    tally = Tally()
    started = time.perf_counter()
    windows = [w.strip() for w in args.windows.split(",") if w.strip()]
    for w in windows:
        point, _, n = w.partition(":")
        if point not in WINDOWS or not n.isdigit():
            parser.error(f"--windows {w!r}: use <point>:<n> with a point of {', '.join(WINDOWS)}")
    with tempfile.TemporaryDirectory(prefix="crash-campaign-") as tmp:
        folder = Path(tmp)
        for i, name in enumerate(backends):
            share = args.runs // len(backends) + (1 if i < args.runs % len(backends) else 0)
            data_dir = folder / name
            if name == "sqlite":
                campaign(Backend(name, data_dir), folder, share, rng, windows, tally)
            else:
                with pg_database(args.pg_url) as url:
                    campaign(Backend(name, data_dir, url), folder, share, rng, windows,
                             tally)
    elapsed = time.perf_counter() - started
    print(f"\n{tally.runs} killed runs ({tally.by_kind['random']} random, "
          f"{tally.by_kind['window']} injected windows), {tally.kills} SIGKILLs, "
          f"{tally.unkilled} runs never killed (not counted), "
          f"backends {', '.join(backends)}: {tally.divergences} divergences "
          f"in {elapsed:.0f} s")
    for failure in tally.failures:
        print(f"  {failure}")
    print(json.dumps({"bench": "crash_campaign", "runs": tally.runs,
                      "random_runs": tally.by_kind["random"],
                      "window_runs": tally.by_kind["window"], "sigkills": tally.kills,
                      "unkilled_runs": tally.unkilled,
                      "divergences": tally.divergences, "backends": backends,
                      "seed": args.seed, "seconds": round(elapsed, 1)}))
    return 0 if tally.divergences == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
