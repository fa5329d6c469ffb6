"""The REST API against the real app and a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from tests.web.conftest import TOKEN, make_app

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def test_runs_list_sorts_filters_and_pages(client: TestClient) -> None:
    body = client.get("/api/v1/runs").json()
    assert body["total"] == 2 and [r["id"] for r in body["runs"]] == [2, 1]
    by_sharpe = client.get("/api/v1/runs", params={"sort": "sharpe", "order": "desc"}).json()
    sharpes = [r["sharpe"] for r in by_sharpe["runs"]]
    assert sharpes == sorted(sharpes, reverse=True)
    only = client.get("/api/v1/runs", params={"strategy": "rsi_reversion"}).json()
    assert [r["strategy"] for r in only["runs"]] == ["rsi_reversion"] and only["total"] == 1
    page = client.get("/api/v1/runs", params={"limit": 1, "offset": 1}).json()
    assert [r["id"] for r in page["runs"]] == [1] and page["total"] == 2


def test_run_detail_downsamples_and_serves_a_window_in_full(client: TestClient) -> None:
    full = client.get("/api/v1/runs/1", params={"points": 100_000}).json()
    total = full["equity_points_total"]
    assert len(full["equity"]) == total and not full["downsampled"] and full["trades"]
    small = client.get("/api/v1/runs/1", params={"points": 200}).json()
    assert small["downsampled"] and len(small["equity"]) <= 200
    # the peak and the trough survive downsampling
    equities = [p["equity"] for p in full["equity"]]
    kept = [p["equity"] for p in small["equity"]]
    assert max(kept) == max(equities) and min(kept) == min(equities)
    times = [p["time"] for p in small["equity"]]
    assert times == sorted(set(times))
    start, end = full["equity"][100]["time"], full["equity"][199]["time"]
    window = client.get("/api/v1/runs/1", params={
        "points": 200, "start": f"{start}", "end": f"{end}"}).json()
    assert [p["time"] for p in window["equity"]] == [p["time"] for p in full["equity"][100:200]]
    assert not window["downsampled"]


def test_run_candles(client: TestClient) -> None:
    candles = client.get("/api/v1/runs/1/candles", params={"points": 100}).json()
    assert 0 < len(candles) <= 100
    assert all(c["low"] <= min(c["open"], c["close"]) <= c["high"] for c in candles)


@pytest.mark.parametrize(("path", "status", "words"), [
    ("/api/v1/runs/999", 404, "no backtest run with id 999"),
    ("/api/v1/runs/abc", 422, "run_id"),
    ("/api/v1/runs?sort=nonsense", 400, "sort: one of"),
    ("/api/v1/runs?limit=0", 422, "limit"),
    ("/api/v1/runs/1?points=1", 422, "points"),
    ("/api/v1/runs/1?start=2010-01-01&end=2009-01-01", 422, "start must not be after end"),
    ("/api/v1/runs/1?start=yesterday", 422, "start"),
    ("/api/v1/sessions/nope", 404, "no session named 'nope'"),
    ("/api/v1/sessions/demo/orders/none/audit", 404, "no order 'none'"),
    ("/api/v1/backtests/unknown", 404, "no backtest job"),
])
def test_bad_requests_get_a_clear_json_error(client: TestClient, path: str, status: int,
                                             words: str) -> None:
    response = client.get(path)
    assert response.status_code == status
    body = response.json()
    assert words in body["detail"] and body["status"] == status
    assert "Traceback" not in response.text


def test_sessions_list_detail_and_order_audit(client: TestClient) -> None:
    sessions = client.get("/api/v1/sessions").json()["sessions"]
    assert [s["name"] for s in sessions] == ["demo"]
    assert sessions[0]["strategies"] == ["rsi_msft", "sma_goog"] and sessions[0]["fills"] > 0
    detail = client.get("/api/v1/sessions/demo").json()
    # the same report `trading-strategy status --json` prints
    assert detail["status"]["session"] == "demo" and detail["status"]["totals"]["fills"] > 0
    positions = {p["strategy"]: Decimal(p["quantity"]) for p in detail["positions"]}
    assert positions == {"rsi_msft": 500, "sma_goog": 50}
    assert detail["recent_fills"][0]["seq"] > detail["recent_fills"][-1]["seq"]
    assert set(detail["risk"]["states"]) >= {"portfolio", "sma_goog", "rsi_msft"}
    order_id = detail["recent_fills"][0]["order_id"]
    audit = client.get(f"/api/v1/sessions/demo/orders/{order_id}/audit").json()
    assert audit["lines"] and audit["events"][-1]["to"] == "filled"


def test_actions_need_a_token_and_are_audited(client: TestClient,
                                              seeded: SimpleNamespace) -> None:
    path = "/api/v1/sessions/demo/strategies/sma_goog/halt"
    refused = client.post(path)
    assert refused.status_code == 401 and "authentication required" in refused.json()["detail"]
    wrong = client.post(path, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and "unknown or expired" in wrong.json()["detail"]
    assert client.delete("/api/v1/runs/1").status_code == 401
    assert client.post("/api/v1/backtests", json={"strategy": "x", "data": "y"}
                       ).status_code == 401
    done = client.post(path, headers=AUTH, json={"note": "test"})
    assert done.status_code == 200 and done.json()["actor"] == "token"
    halt = json.loads((seeded.data_dir / "risk" / "halt-requests.jsonl").read_text())
    assert halt | {"ts_ns": 0} == {"command": "halt", "session": "demo", "strategy": "sma_goog",
                                   "actor": "web:token", "ts_ns": 0, "note": "test"}
    rearm = client.post("/api/v1/sessions/demo/strategies/sma_goog/rearm", headers=AUTH)
    assert rearm.status_code == 200
    from trading_strategy.runtime.rearm import read_rearm_requests

    [request] = read_rearm_requests(seeded.data_dir)
    assert request.strategy == "sma_goog" and request.actor == "web:token"
    assert client.post("/api/v1/sessions/ghost/strategies/a/halt", headers=AUTH
                       ).status_code == 404
    deleted = client.delete("/api/v1/runs/1", headers=AUTH)
    assert deleted.status_code == 200
    assert client.get("/api/v1/runs/1").status_code == 404
    assert client.delete("/api/v1/runs/1", headers=AUTH).status_code == 404
    actions = [json.loads(line)["action"] for line in
               (seeded.data_dir / "web" / "actions.jsonl").read_text().splitlines()]
    assert actions == ["halt", "rearm", "delete_run"]


def test_without_auth_configured_actions_are_disabled(seeded: SimpleNamespace) -> None:
    with TestClient(make_app(token=None)) as plain:  # type: ignore[arg-type]
        response = plain.post("/api/v1/sessions/demo/strategies/sma_goog/halt",
                              headers={"Authorization": "Bearer anything"})
    assert response.status_code == 401 and "actions are disabled" in response.json()["detail"]


def test_login_with_an_argon2_password_gives_a_short_lived_token(
        seeded: SimpleNamespace) -> None:
    from argon2 import PasswordHasher

    app = make_app(token=None, user="ops", password_hash=PasswordHasher().hash("s3cret"))
    with TestClient(app) as c:  # type: ignore[arg-type]
        assert c.post("/api/v1/auth/login", json={"user": "ops", "password": "bad"}
                      ).status_code == 401
        assert c.post("/api/v1/auth/login", json={"user": "ops"}).status_code == 422
        login = c.post("/api/v1/auth/login", json={"user": "ops", "password": "s3cret"})
        assert login.status_code == 200 and login.json()["expires_in"] == 900
        token = login.json()["token"]
        done = c.post("/api/v1/sessions/demo/strategies/rsi_msft/halt",
                      headers={"Authorization": f"Bearer {token}"})
        assert done.status_code == 200 and done.json()["actor"] == "user:ops"


def test_a_backtest_launched_in_the_background_is_saved(client: TestClient) -> None:
    bad = client.post("/api/v1/backtests", headers=AUTH, json={"strategy": "sma_crossover"})
    assert bad.status_code == 422 and "data" in bad.json()["detail"]
    job = client.post("/api/v1/backtests", headers=AUTH, json={
        "strategy": "sma_crossover", "data": "GOOG", "params": {"fast": 5, "slow": 20}}).json()
    for _ in range(600):
        state = client.get(f"/api/v1/backtests/{job['job']}").json()
        if state["state"] in ("done", "failed"):
            break
        time.sleep(0.05)
    assert state["state"] == "done", state
    run = client.get(f"/api/v1/runs/{state['run_id']}").json()
    assert run["params"]["fast"] == 5
    failing = client.post("/api/v1/backtests", headers=AUTH, json={
        "strategy": "no_such_strategy", "data": "GOOG"}).json()
    for _ in range(200):
        state = client.get(f"/api/v1/backtests/{failing['job']}").json()
        if state["state"] in ("done", "failed"):
            break
        time.sleep(0.05)
    assert state["state"] == "failed" and "no_such_strategy" in state["error"]


def test_stream_resumes_after_a_sequence_without_gaps_or_doubles(
        client: TestClient) -> None:
    detail = client.get("/api/v1/sessions/demo").json()
    head = detail["last_seq"]
    with client.websocket_connect("/api/v1/stream") as ws:
        snapshot = json.loads(ws.receive_text())
    assert snapshot["kind"] == "snapshot" and snapshot["seq"] == head
    assert snapshot["data"]["sessions"] == ["demo"]
    resume = head - 10
    with client.websocket_connect(f"/api/v1/stream?after={resume}") as ws:
        first = json.loads(ws.receive_text())
        missed = [json.loads(ws.receive_text()) for _ in range(10)]
    assert first["kind"] == "snapshot" and first["seq"] == resume
    assert [m["seq"] for m in missed] == list(range(resume + 1, head + 1))
    assert all(m["session"] == "demo" and m["kind"] in ("order", "fill") for m in missed)
    fills = [m for m in missed if m["kind"] == "fill"]
    assert fills and fills[-1]["data"]["price"] == detail["recent_fills"][0]["price"]


def test_stream_refuses_a_bad_sequence(client: TestClient) -> None:
    with client.websocket_connect("/api/v1/stream?after=-3") as ws, \
            pytest.raises(WebSocketDisconnect) as closed:
        ws.receive_text()
    assert closed.value.code == 1008


def test_openapi_documents_the_api_and_the_stream_message(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    assert {"/api/v1/runs", "/api/v1/runs/{run_id}", "/api/v1/sessions/{name}",
            "/api/v1/stream/schema"} <= set(spec["paths"])
    assert "StreamMessage" in spec["components"]["schemas"]
    assert client.get("/api/docs").status_code == 200


def test_pages_are_served(client: TestClient) -> None:
    for path in ("/", "/runs", "/runs/1", "/runs/compare?ids=1,2"):
        response = client.get(path)
        assert response.status_code == 200 and "<html" in response.text
    assert client.get("/static/common.js").status_code == 200


def test_positions_endpoint_and_the_cache_follows_the_session(
        client: TestClient, seeded: SimpleNamespace) -> None:
    detail = client.get("/api/v1/sessions/demo").json()
    positions = client.get("/api/v1/sessions/demo/positions").json()
    assert positions["positions"] == detail["positions"] and positions["name"] == "demo"
    assert client.get("/api/v1/sessions/ghost/positions").status_code == 404
    assert detail["risk"]["halted"] == {}
    # a session writing its folder (here: a halt it recorded) is seen on the next check
    (seeded.data_dir / "sessions" / "demo" / "halts.json").write_text(
        json.dumps({"sma_goog": {"ts_ns": 1, "message": "drawdown"}}))
    # seen by the session snapshots' next pass (every poll interval: services/snapshot.py)
    deadline = time.monotonic() + 10
    while not (halted := client.get("/api/v1/sessions/demo").json()["risk"]["halted"]) \
            and time.monotonic() < deadline:
        time.sleep(0.02)
    assert halted == {"sma_goog": {"ts_ns": 1, "message": "drawdown"}}


def test_the_api_docs_are_served_without_a_cdn(client: TestClient) -> None:
    html = client.get("/api/docs").text
    assert "/static/vendor/swagger-ui-bundle.js" in html and "cdn." not in html
