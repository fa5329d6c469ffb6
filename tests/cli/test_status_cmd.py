"""``trading-strategy status``: the session's whole history, from real session runs.

The figures are checked against an independent computation straight from the database's
``order_events`` rows (sqlite3 and json, none of our code).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from trading_strategy.cli import main

_CONFIG = """
[session]
name = "st"
speed = {speed}
start = "2010-01-01"
end = "{end}"
[venue]
kind = "paper"
commission = 0.001
slippage_bps = 2
[[strategies]]
name = "sma_goog"
strategy = "sma_crossover"
symbol = "GOOG"
capital = 50000
size = "10"
params = {{ fast = 5, slow = 15 }}
[risk]
stop_loss_pct = 2
take_profit_pct = 3
"""


def _config(tmp_path: Path, end: str, speed: float = 0) -> Path:
    path = tmp_path / f"st-{end}.toml"
    path.write_text(_CONFIG.format(end=end, speed=speed))
    return path


def _raw_figures(data_dir: Path) -> dict[str, dict[str, float]]:
    """Per order type: sent, filled and notional-weighted slippage, from the raw rows."""
    sid = json.loads((data_dir / "sessions/st/session.json").read_text())["session_id"]
    db = sqlite3.connect(data_dir / "trading-strategy.sqlite3")
    created: dict[str, dict[str, Any]] = {}
    sent: set[str] = set()
    last: dict[str, str] = {}
    fills: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for oid, to_status, detail in db.execute(
            "select order_id, to_status, detail from order_events order by id"):
        if f"-{sid}-" not in oid:
            continue
        event = json.loads(detail)
        if event["kind"] == "created":
            created[oid] = event
        elif event["kind"] == "submitted":
            sent.add(oid)
        elif event["kind"] == "filled":
            fills[oid].append((float(event["quantity"]), float(event["price"])))
        last[oid] = to_status
    db.close()
    out: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for oid, order in created.items():
        row = out[order["order_type"]]
        row["sent"] += oid in sent
        row["filled"] += oid in sent and last[oid] == "filled"
        ref = float({"market": order["decision_price"],
                     "limit": order["limit_price"]}.get(order["order_type"],
                                                        order["stop_price"]))
        sign = 1 if order["side"] == "buy" else -1
        for qty, price in fills[oid]:
            row["notional"] += qty * ref
            row["cost_bps"] += qty * ref * sign * (price - ref) / ref * 10_000
    return out


def test_status_reports_every_process_of_a_session(
        tmp_path: Path, _isolated_data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 9 item 4: after a restart status counted only the last process."""
    assert main(["run", "--config", str(_config(tmp_path, "2010-09-01")), "--quiet"]) == 0
    first = _raw_figures(_isolated_data_dir)
    second = _config(tmp_path, "2011-12-31")
    assert main(["run", "--config", str(second), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["status", "--config", str(second), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    raw = _raw_figures(_isolated_data_dir)
    first_sent = sum(row["sent"] for row in first.values())
    total_sent = sum(row["sent"] for row in raw.values())
    assert 0 < first_sent < total_sent          # both processes placed orders
    assert report["process_runs"] == 2
    assert report["totals"]["sent"] == total_sent
    assert report["last_bar"] == {"GOOG": "2011-12-30T00:00:00Z"}
    by_type = report["orders"]["sma_goog"]
    assert set(by_type) == {"market", "stop", "limit", "all"}
    for kind, row in raw.items():
        mine = by_type[kind]
        assert (mine["sent"], mine["filled"]) == (row["sent"], row["filled"])
        assert mine["fill_rate"] == pytest.approx(row["filled"] / row["sent"])
        assert mine["slippage_bps_mean"] == pytest.approx(row["cost_bps"] / row["notional"],
                                                          abs=1e-3)
        assert mine["filled"] + mine["cancelled"] + mine["rejected"] + mine["expired"] \
            + mine["working"] == mine["sent"]
    # a take-profit limit never fills worse than its limit
    assert by_type["limit"]["slippage_bps_worst"] <= 0
    assert report["metrics"]["source"].startswith("snapshot of the last process")

    assert main(["status", "--session", "st"]) == 0
    text = capsys.readouterr().out
    assert "{" not in text                      # no raw JSON for a person
    assert "2 process run(s)" in text and "last bar processed: GOOG 2011-12-30" in text
    assert f"{by_type['market']['fill_rate'] * 100:.1f}%" in text


def test_status_of_an_unknown_session_is_one_line(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--session", "nope"]) != 0
    err = capsys.readouterr().err
    assert "no session named 'nope'" in err and err.count("\n") == 1
    assert main(["status"]) != 0
    assert "--session NAME or --config FILE" in capsys.readouterr().err


def test_status_works_while_the_session_runs(
        tmp_path: Path, _isolated_data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The old status refused a running session ("no metrics snapshot yet")."""
    config = _config(tmp_path, "2010-12-31", speed=2_880_000)   # ~0.03 s per daily bar
    env = {**os.environ, "TRADING_STRATEGY_DATA_DIR": str(_isolated_data_dir)}
    proc = subprocess.Popen([sys.executable, "-m", "trading_strategy", "run", "--config",
                             str(config), "--quiet"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seen: dict[str, Any] | None = None
    try:
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            if (_isolated_data_dir / "sessions/st/session.json").exists():
                capsys.readouterr()
                if main(["status", "--session", "st", "--json"]) == 0:
                    report = json.loads(capsys.readouterr().out)
                    if report["totals"]["sent"] > 0:
                        seen = report
                        break
            time.sleep(0.2)
        running = proc.poll() is None
    finally:
        _, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err.decode()
    assert seen is not None and running, "status never read the running session"
    assert seen["metrics"] is None               # no snapshot before the process stops
    capsys.readouterr()
    assert main(["status", "--session", "st", "--json"]) == 0
    final = json.loads(capsys.readouterr().out)
    assert seen["totals"]["sent"] <= final["totals"]["sent"]
    assert final["metrics"] is not None


def test_status_of_damaged_session_files(
        tmp_path: Path, _isolated_data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, "2010-04-01")
    assert main(["run", "--config", str(config), "--quiet"]) == 0
    root = _isolated_data_dir / "sessions/st"
    with (root / "events.jsonl").open("a") as fh:
        fh.write('{"kind": "risk_verdict", "stat')       # killed mid-write
    capsys.readouterr()
    assert main(["status", "--config", str(config)]) == 0
    assert "warning: 1 unreadable line(s) in the events file" in capsys.readouterr().out
    (root / "metrics.prom").write_text("<html>proxy error</html>\n")
    assert main(["status", "--config", str(config)]) != 0
    err = capsys.readouterr().err
    assert "metrics from snapshot" in err and "not Prometheus text" in err
    assert err.count("\n") == 1 and "Traceback" not in err
    (root / "metrics.prom").unlink()
    assert main(["status", "--config", str(config)]) == 0
    assert "metrics: no snapshot yet" in capsys.readouterr().out


def test_live_metrics_of_a_resumed_session_cover_its_history(
        tmp_path: Path, _isolated_data_dir: Path) -> None:
    from trading_strategy.observability.metrics import summarize

    assert main(["run", "--config", str(_config(tmp_path, "2010-09-01")), "--quiet"]) == 0
    assert main(["run", "--config", str(_config(tmp_path, "2011-12-31")), "--quiet"]) == 0
    raw = _raw_figures(_isolated_data_dir)
    summary = summarize((_isolated_data_dir / "sessions/st/metrics.prom").read_text())
    sent = sum(row["sent"] for row in raw.values())
    filled = sum(row["filled"] for row in raw.values())
    assert summary["counters"]["orders_total"]["strategy=sma_goog"] == sent
    assert summary["gauges"]["fill_rate"]["strategy=sma_goog"] == pytest.approx(filled / sent)
    stop = raw["stop"]
    assert summary["gauges"]["slippage_bps_by_type"][
        "order_type=stop,strategy=sma_goog"] == pytest.approx(stop["cost_bps"] / stop["notional"])


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_status_reads_live_metrics_from_a_url(capsys: pytest.CaptureFixture[str]) -> None:
    from decimal import Decimal

    from prometheus_client import start_http_server

    from trading_strategy.observability.metrics import SessionMetrics

    metrics = SessionMetrics()
    sma = metrics.strategy("sma")
    sma.observe_decision_ns(300_000)
    sma.record_submitted(order_type="market")
    sma.record_fill(order_type="market", side="buy", quantity=Decimal(1),
                    fill_price=Decimal(101), reference_price=Decimal(100), order_filled=True)
    sma.realized_pnl.set(12.5)
    port = _free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=metrics.registry)
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        assert main(["status", "--url", url]) == 0
        text = capsys.readouterr().out
        assert f"metrics (live, {url}):" in text and "{" not in text
        assert "decision latency" in text and "realized pnl             sma 12.50" in text
        assert main(["status", "--url", url, "--json"]) == 0
        live = json.loads(capsys.readouterr().out)
        assert live["latency_ms"]["decision"]["strategy=sma"]["count"] == 1
        assert live["realized_pnl"] == {"sma": 12.5}
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert main(["status", "--url", url]) != 0            # nothing listens any more
    err = capsys.readouterr().err
    assert f"cannot read metrics from {url}" in err and err.count("\n") == 1
