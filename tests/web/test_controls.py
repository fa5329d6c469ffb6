"""Strategy controls, feed health and the equity curve through the API, against the real app
and a real database (SQLite and PostgreSQL) holding the replayed paper session ``demo``."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import TOKEN

from trading_strategy.runtime.rearm import read_control_requests

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def test_controls_need_a_token_are_recorded_for_the_session_and_audited(
        client: TestClient, seeded: SimpleNamespace) -> None:
    path = "/api/v1/sessions/demo/strategies/sma_goog/pause"
    refused = client.post(path)
    assert refused.status_code == 401 and "authentication required" in refused.json()["detail"]
    assert read_control_requests(seeded.data_dir) == []
    for action in ("pause", "resume", "stop", "start"):
        done = client.post(f"/api/v1/sessions/demo/strategies/sma_goog/{action}",
                           headers=AUTH, json={"note": "checking"})
        assert done.status_code == 200, done.text
        assert done.json()["action"] == action and done.json()["actor"] == "token"
    requests = read_control_requests(seeded.data_dir)
    assert [(r.session, r.strategy, r.action, r.actor, r.note) for r in requests] == [
        ("demo", "sma_goog", a, "web:token", "checking")
        for a in ("pause", "resume", "stop", "start")]
    actions = [json.loads(line) for line in
               (seeded.data_dir / "web" / "actions.jsonl").read_text().splitlines()]
    assert [(a["action"], a["target"], a["actor"]) for a in actions] == [
        (a, "demo/sma_goog", "token") for a in ("pause", "resume", "stop", "start")]
    # halt and re-arm keep their own routes
    assert client.post("/api/v1/sessions/demo/strategies/sma_goog/halt",
                       headers=AUTH).json()["action"] == "halt"


@pytest.mark.parametrize(("path", "status", "words"), [
    ("/api/v1/sessions/demo/strategies/sma_goog/explode", 422, "action"),
    ("/api/v1/sessions/demo/strategies/nobody/pause", 404, "no strategy 'nobody'"),
    ("/api/v1/sessions/ghost/strategies/sma_goog/pause", 404, "no session named 'ghost'"),
    ("/api/v1/sessions/..%2F..%2Fetc/strategies/sma_goog/stop", 404, ""),
])
def test_a_bad_control_gets_a_clear_error_and_writes_nothing(
        client: TestClient, seeded: SimpleNamespace, path: str, status: int,
        words: str) -> None:
    answer = client.post(path, headers=AUTH)
    assert answer.status_code == status
    assert words in answer.json()["detail"]
    assert read_control_requests(seeded.data_dir) == []


def test_the_detail_lists_each_strategys_state(client: TestClient) -> None:
    detail = client.get("/api/v1/sessions/demo").json()
    assert {name: s["state"] for name, s in detail["strategies"].items()} == {
        "sma_goog": "running", "rsi_msft": "running"}


def test_health_of_a_replay_lists_each_instrument(client: TestClient) -> None:
    health = client.get("/api/v1/sessions/demo/health").json()
    assert health["name"] == "demo" and health["live"] is False
    assert [(i["symbol"], i["state"]) for i in health["instruments"]] == [
        ("GOOG", "replay"), ("MSFT", "replay")]
    assert health["instruments"][0]["last_bar"].startswith("20")
    assert health["running"] is False or health["updated_age_s"] < 10
    assert client.get("/api/v1/sessions/ghost/health").status_code == 404


def test_health_takes_the_last_bar_from_the_equity_curve_when_fresher(
        client: TestClient, seeded: SimpleNamespace) -> None:
    # a quiet running session checkpoints rarely; its equity curve says where it is
    equity = seeded.data_dir / "sessions" / "demo" / "equity.jsonl"
    with equity.open("a") as handle:
        handle.write(json.dumps({"ts": 2_000_000_000 * 10**9, "total": "1", "equity": {},
                                 "bars": {"GOOG": 2_000_000_000 * 10**9}}) + "\n")
    rows = {i["symbol"]: i for i in client.get("/api/v1/sessions/demo/health").json()[
        "instruments"]}
    assert rows["GOOG"]["last_bar"] == "2033-05-18T03:33:20Z"
    assert rows["MSFT"]["last_bar"].startswith("2013-")  # the checkpoint's, later than none


def test_health_of_a_live_feed_says_stale_and_failed_over(
        client: TestClient, seeded: SimpleNamespace) -> None:
    events = seeded.data_dir / "sessions" / "demo" / "events.jsonl"
    with events.open("a") as handle:
        for record in (
            {"kind": "data_stale", "symbol": "GOOG", "provider": "alpaca", "ts_ns": 1},
            {"kind": "provider_switch", "symbol": "GOOG", "from": "alpaca", "to": "yahoo",
             "ts_ns": 2},
            {"kind": "data_restored", "symbol": "GOOG", "provider": "yahoo", "ts_ns": 3},
            {"kind": "data_stale", "symbol": "MSFT", "provider": "alpaca", "ts_ns": 4},
        ):
            handle.write(json.dumps(record) + "\n")
    health = client.get("/api/v1/sessions/demo/health").json()
    rows = {i["symbol"]: i for i in health["instruments"]}
    assert health["live"] is True
    assert (rows["GOOG"]["state"], rows["GOOG"]["provider"], rows["GOOG"]["primary"]) == (
        "failed-over", "yahoo", "alpaca")
    assert rows["GOOG"]["switches"] == 1 and rows["GOOG"]["last_bar_age_s"] > 0
    assert rows["MSFT"]["state"] == "stale"


def test_the_equity_curve_is_served_thinned_and_exact(client: TestClient) -> None:
    full = client.get("/api/v1/sessions/demo/equity", params={"limit": 100_000}).json()
    points = full["points"]
    assert full["points_total"] == len(points) > 10 and not full["downsampled"]
    times = [p["time"] for p in points]
    assert times == sorted(times)
    last = points[-1]
    assert set(last["equity"]) == {"sma_goog", "rsi_msft"}
    # exact money: the total is the sum of the strategies' equity, digit for digit
    from decimal import Decimal

    assert Decimal(last["total"]) == sum(Decimal(v) for v in last["equity"].values())
    small = client.get("/api/v1/sessions/demo/equity", params={"limit": 10}).json()
    assert small["downsampled"] and len(small["points"]) == 10
    assert small["points"][-1] == last
    assert client.get("/api/v1/sessions/demo/equity", params={"limit": 1}).status_code == 422


def test_the_stream_carries_new_equity_points(client: TestClient,
                                              seeded: SimpleNamespace) -> None:
    path = seeded.data_dir / "sessions" / "demo" / "equity.jsonl"
    with client.websocket_connect("/api/v1/stream") as ws:
        snapshot = json.loads(ws.receive_text())
        assert snapshot["kind"] == "snapshot"
        with path.open("a") as handle:  # as the running session appends it
            handle.write(json.dumps({"ts": 2_000_000_000 * 10**9, "total": "123.45",
                                     "equity": {"sma_goog": "100", "rsi_msft": "23.45"}})
                         + "\n")
        message = json.loads(ws.receive_text())
        while message["kind"] == "heartbeat":
            message = json.loads(ws.receive_text())
    assert message["kind"] == "equity" and message["session"] == "demo"
    assert message["seq"] == snapshot["seq"]  # not sequenced: the curve reloads on resync
    assert message["data"]["points"] == [{"time": 2_000_000_000, "total": "123.45",
                                          "equity": {"sma_goog": "100", "rsi_msft": "23.45"}}]


def test_the_stream_carries_health_risk_and_strategy_changes(
        client: TestClient, seeded: SimpleNamespace) -> None:
    events = seeded.data_dir / "sessions" / "demo" / "events.jsonl"
    records = [
        {"kind": "risk_verdict", "strategy": "sma_goog", "status": "approved"},  # not sent
        {"kind": "risk_state", "scope": "sma_goog", "previous": "active",
         "current": "halted", "actor": "web:token"},
        {"kind": "strategy_event", "component": "rsi_msft", "from": "running",
         "to": "paused", "cause": "operator", "actor": "web:token"},
        {"kind": "data_stale", "symbol": "GOOG", "provider": "alpaca", "ts_ns": 1},
    ]
    with client.websocket_connect("/api/v1/stream") as ws:
        assert json.loads(ws.receive_text())["kind"] == "snapshot"
        with events.open("a") as handle:
            handle.writelines(json.dumps(r) + "\n" for r in records)
        got = []
        while len(got) < 3:
            message = json.loads(ws.receive_text())
            if message["kind"] != "heartbeat":
                got.append(message)
    assert [(m["kind"], m["session"]) for m in got] == [
        ("risk", "demo"), ("strategy", "demo"), ("health", "demo")]
    assert got[0]["data"]["current"] == "halted"
    assert got[1]["data"]["to"] == "paused" and got[2]["data"]["symbol"] == "GOOG"
