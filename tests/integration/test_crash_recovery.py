"""kill -9 a paper session at random points, restart it, and prove nothing was lost or doubled.

The session journals every order event before acting on it and its paper venue keeps its own
durable state, so after each SIGKILL a restart rebuilds orders and positions from the journal,
reconciles with the venue (missed fills applied, unsent orders re-sent under the same client
id) and resumes the replay. The final state must equal an uninterrupted run of the same
portfolio, order for order.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

PORTFOLIO = """
[session]
name = "{name}"
speed = 0

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
"""


def _config(tmp: Path, name: str) -> Path:
    path = tmp / f"{name}.toml"
    path.write_text(PORTFOLIO.format(name=name))
    return path


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADING_STRATEGY_")}
    env["TRADING_STRATEGY_DATA_DIR"] = str(data_dir)
    return env


def _run(config: Path, data_dir: Path, *, kill_after: float | None = None,
         crash_at: str | None = None) -> int | None:
    cmd = [sys.executable, "-m", "trading_strategy", "run", "--config", str(config), "--quiet"]
    env = _env(data_dir)
    if crash_at is not None:
        env["TS_FAULT_CRASH"] = crash_at
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    if crash_at is not None:
        proc.communicate(timeout=300)
        return proc.returncode
    if kill_after is None:
        _out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        return proc.returncode
    time.sleep(kill_after)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    return proc.returncode


def _journal(data_dir: Path, session: str) -> tuple[list[tuple[str, str]], list[str]]:
    """(order id, final status) and fill ids our database holds for one session."""
    db = sqlite3.connect(data_dir / "trading-strategy.sqlite3")
    sid = json.loads((data_dir / "sessions" / session / "session.json").read_text())
    marker = f"%-{sid['session_id']}-%"
    orders = db.execute("select id, status from orders where id like ? order by id",
                        (marker,)).fetchall()
    fills = [r[0] for r in db.execute("select fill_id from fills where order_id like ? "
                                      "order by fill_id", (marker,))]
    return orders, fills


def _venue(data_dir: Path, session: str) -> sqlite3.Connection:
    return sqlite3.connect(data_dir / "sessions" / session / "paper-venue.sqlite3")


def _normalise(ids: list[str], sid: str) -> list[str]:
    return [i.replace(sid, "S") for i in ids]


def _state(data_dir: Path, session: str) -> tuple[list[tuple[str, str]], list[str]]:
    sid = json.loads((data_dir / "sessions" / session / "session.json").read_text())
    orders, fills = _journal(data_dir, session)
    return ([(o.replace(sid["session_id"], "S"), st) for o, st in orders],
            _normalise(fills, sid["session_id"]))


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One uninterrupted run to compare against (module-wide: it takes seconds)."""
    tmp = tmp_path_factory.mktemp("crash")
    data_dir = tmp / "data"
    _run(_config(tmp, "clean"), data_dir)
    return tmp, data_dir


@pytest.mark.slow
@pytest.mark.parametrize("crash_at", ["after_venue_ack:7", "before_fill_journal:5",
                                      "after_venue_ack:40", "before_fill_journal:33"])
def test_sigkill_between_venue_and_journal_is_recovered(reference: tuple[Path, Path],
                                                        crash_at: str) -> None:
    tmp, data_dir = reference
    name = "crash_" + crash_at.replace(":", "_")
    config = _config(tmp, name)
    assert _run(config, data_dir, crash_at=crash_at) == -signal.SIGKILL
    _run(config, data_dir)
    assert _state(data_dir, name) == _state(data_dir, "clean")


@pytest.mark.slow
def test_sigkill_at_random_points_loses_and_doubles_nothing(
        reference: tuple[Path, Path]) -> None:
    tmp_path, data_dir = reference
    seed = int(os.environ.get("CRASH_TEST_SEED", "20261125"))
    rng = random.Random(seed)
    # killed three times at random moments, then run to the end
    crashed = _config(tmp_path, "crashed")
    kills = 0
    for _ in range(3):
        if _run(crashed, data_dir, kill_after=rng.uniform(0.6, 2.5)) == -signal.SIGKILL:
            kills += 1
    _run(crashed, data_dir)
    assert kills >= 1, f"no run was killed mid-session (seed {seed})"

    clean_orders, clean_fills = _state(data_dir, "clean")
    crash_orders, crash_fills = _state(data_dir, "crashed")
    assert clean_orders, "the reference run placed no orders"
    # the same orders with the same outcomes, the same fills: nothing lost, nothing doubled
    assert crash_orders == clean_orders, f"seed {seed}"
    assert crash_fills == clean_fills, f"seed {seed}"
    # the venue saw each client order id exactly once and agrees on the positions
    venue = _venue(data_dir, "crashed")
    tables = {r[0] for r in venue.execute("select name from sqlite_master where type='table'")}
    assert "paper_orders" in tables
    ids = [r[0] for r in venue.execute("select client_order_id from paper_orders")]
    assert len(ids) == len(set(ids)) == len(crash_orders)
    env = _env(data_dir)
    proc = subprocess.run([sys.executable, "-m", "trading_strategy", "reconcile", "--config",
                           str(crashed), "--json"], env=env, capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["clean"] is True
