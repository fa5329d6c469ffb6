"""Session snapshots (``web.services.snapshot``): served from memory, yet a fill stored in
the journal is in the very next refresh, and pollers get 304 while nothing changed."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.requests import Request
from tests.web.conftest import in_thread, make_app

from trading_strategy.cli import main as cli
from trading_strategy.core.enums import OrderStatus, OrderType, Side
from trading_strategy.orders.events import (
    OrderAccepted,
    OrderCreated,
    OrderEvent,
    OrderFilled,
    OrderSubmitted,
)
from trading_strategy.runtime.wiring import session_journal
from trading_strategy.storage import open_store
from trading_strategy.web.schemas import SessionDetail, SessionPositions
from trading_strategy.web.services import snapshot as snapshot_module
from trading_strategy.web.services.sessions import last_seq
from trading_strategy.web.services.snapshot import SessionSnapshots, respond

ROOT = Path(__file__).resolve().parents[2]
_S = OrderStatus


@pytest.fixture
def session(db_url: str, _isolated_data_dir: Path, monkeypatch: pytest.MonkeyPatch
            ) -> Iterator[SimpleNamespace]:
    """The paper session ``demo`` (examples/portfolio.toml) run to its end, and the store."""
    monkeypatch.setenv("TRADING_STRATEGY_DATABASE_URL", db_url)
    assert in_thread(cli, ["run", "--config", str(ROOT / "examples" / "portfolio.toml"),
                           "--quiet"]) == 0
    with open_store(db_url) as store:
        yield SimpleNamespace(store=store, data_dir=_isolated_data_dir,
                              root=_isolated_data_dir / "sessions" / "demo")


def _fill(store: Any, root: Path, quantity: str, n: int = 1) -> None:
    """One more GOOG buy for ``sma_goog``, created to filled, as the session journals it."""
    session_id = json.loads((root / "session.json").read_text())["session_id"]
    order_id = f"sma_goog-{session_id}-9999999{n}-1"
    events: list[tuple[OrderEvent, OrderStatus | None, OrderStatus]] = [
        (OrderCreated(order_id=order_id, ts_event=1, ts_init=1, cause="risk accepted",
                      actor="strategy:sma_goog", strategy="sma_goog", symbol="GOOG",
                      side=Side.BUY, order_type=OrderType.MARKET,
                      quantity=Decimal(quantity)), None, _S.CREATED),
        (OrderSubmitted(order_id=order_id, ts_event=2, ts_init=2, cause="sent", actor="om"),
         _S.CREATED, _S.SUBMITTED),
        (OrderAccepted(order_id=order_id, ts_event=3, ts_init=3, cause="ack",
                       actor="venue:paper", venue_order_id=f"V{n}"),
         _S.SUBMITTED, _S.ACCEPTED),
        (OrderFilled(order_id=order_id, ts_event=4, ts_init=4, cause="fill",
                     actor="venue:paper", trade_id=f"T{n}", quantity=Decimal(quantity),
                     price=Decimal("400.5")), _S.ACCEPTED, _S.FILLED),
    ]
    session_journal(store, root).append_many(events)


def _goog(body: bytes) -> Decimal:
    positions = json.loads(body)["positions"]
    return next(Decimal(p["quantity"]) for p in positions if p["strategy"] == "sma_goog")


def _request(**headers: str) -> Request:
    return Request({"type": "http", "method": "GET", "path": "/", "query_string": b"",
                    "headers": [(k.lower().replace("_", "-").encode(), v.encode())
                                for k, v in headers.items()]})


def test_a_stored_fill_is_in_the_next_refresh(session: SimpleNamespace) -> None:
    async def scenario() -> None:
        snapshots = SessionSnapshots(session.store, session.data_dir, interval=60.0,
                                     max_age=3600.0)
        first = await snapshots.current("demo")
        assert _goog(first.positions_json.body) == 50
        _fill(session.store, session.root, "7")
        # served from memory until the refresher's next pass: stale by at most that long
        assert snapshots.get("demo") is first
        await snapshots.refresh()
        second = snapshots.get("demo")
        assert second is not None and _goog(second.positions_json.body) == 57
        assert second.positions_json.etag != first.positions_json.etag
        assert json.loads(second.detail_json.body)["last_seq"] == second.detail["last_seq"] \
            > first.detail["last_seq"]
        # nothing moved: the same bytes and ETag, nothing rebuilt
        await snapshots.refresh()
        third = snapshots.get("demo")
        assert third is not None and third.positions_json is second.positions_json
        assert third.checked >= second.checked

    asyncio.run(scenario())


def test_a_client_that_saw_a_row_on_the_stream_gets_a_view_with_it(
        session: SimpleNamespace) -> None:
    async def scenario() -> None:
        snapshots = SessionSnapshots(session.store, session.data_dir, interval=60.0,
                                     max_age=3600.0)
        first = await snapshots.current("demo")
        _fill(session.store, session.root, "3")
        assert await snapshots.current("demo") is first  # no refresh yet, none asked
        seen = last_seq(session.store)  # the fill's row, as the stream numbers it
        fresh = await snapshots.current("demo", after=seen)
        assert fresh.head >= seen and _goog(fresh.positions_json.body) == 53

    asyncio.run(scenario())


def test_without_the_refresher_a_view_is_never_older_than_max_age(
        session: SimpleNamespace) -> None:
    async def scenario() -> None:
        snapshots = SessionSnapshots(session.store, session.data_dir, interval=0.01,
                                     max_age=0.01)
        await snapshots.current("demo")
        _fill(session.store, session.root, "5")
        await asyncio.sleep(0.02)
        assert _goog((await snapshots.current("demo")).positions_json.body) == 55

    asyncio.run(scenario())


def test_the_running_refresher_picks_up_fills_and_session_files(
        session: SimpleNamespace) -> None:
    async def scenario() -> None:
        snapshots = SessionSnapshots(session.store, session.data_dir, interval=0.02,
                                     max_age=3600.0)
        runner = asyncio.create_task(snapshots.run())
        try:
            await snapshots.current("demo")
            _fill(session.store, session.root, "1")
            (session.root / "halts.json").write_text(
                json.dumps({"sma_goog": {"ts_ns": 1, "message": "drawdown"}}))
            deadline = time.monotonic() + 10  # liveness, not a speed target
            while time.monotonic() < deadline:
                current = snapshots.get("demo")
                assert current is not None
                if _goog(current.positions_json.body) == 51 and \
                        current.detail["risk"]["halted"]:
                    break
                await asyncio.sleep(0.01)
            else:
                pytest.fail("the refresher never published the new fill and halt")
        finally:
            runner.cancel()

    asyncio.run(scenario())


def test_fifty_clients_asking_for_a_cold_session_cause_one_build(
        session: SimpleNamespace, monkeypatch: pytest.MonkeyPatch) -> None:
    builds: list[str] = []
    real_build = snapshot_module._build

    def counting(*args: Any) -> Any:
        builds.append(args[2])
        return real_build(*args)

    monkeypatch.setattr(snapshot_module, "_build", counting)

    async def scenario() -> None:
        snapshots = SessionSnapshots(session.store, session.data_dir, max_age=3600.0)
        got = await asyncio.gather(*(snapshots.current("demo") for _ in range(50)))
        assert builds == ["demo"] and all(s is got[0] for s in got)

    asyncio.run(scenario())


def test_unknown_and_removed_sessions(session: SimpleNamespace) -> None:
    async def scenario() -> None:
        snapshots = SessionSnapshots(session.store, session.data_dir, max_age=3600.0)
        with pytest.raises(LookupError, match="no session named 'ghost'"):
            await snapshots.current("ghost")
        with pytest.raises(LookupError):
            await snapshots.current("../demo")
        await snapshots.current("demo")
        (session.root / "session.json").unlink()
        await snapshots.refresh()
        assert snapshots.get("demo") is None

    asyncio.run(scenario())


def test_bytes_are_the_schemas_encoding_and_etags_give_304(session: SimpleNamespace) -> None:
    async def scenario() -> None:
        snapshots = SessionSnapshots(session.store, session.data_dir, max_age=3600.0)
        snap = await snapshots.current("demo")
        positions = json.loads(snap.positions_json.body)
        assert SessionPositions.model_validate(positions).model_dump(mode="json") == positions
        assert SessionDetail.model_validate_json(snap.detail_json.body).name == "demo"
        etag = snap.positions_json.etag
        ok = respond(snap.positions_json, _request())
        assert ok.status_code == 200 and ok.body == snap.positions_json.body
        assert ok.headers["etag"] == etag and ok.headers["content-type"] == "application/json"
        for asked in (etag, f"W/{etag}", f'"other", {etag}', "*"):
            not_modified = respond(snap.positions_json, _request(if_none_match=asked))
            assert not_modified.status_code == 304 and not_modified.body == b""
            assert not_modified.headers["etag"] == etag
        assert respond(snap.positions_json, _request(if_none_match='"other"')).status_code \
            == 200

    asyncio.run(scenario())


def test_the_app_serves_the_snapshot(session: SimpleNamespace) -> None:
    """Against the real app: the same bytes as the schema's encoding, the ETag, 304."""
    with TestClient(make_app()) as client:  # type: ignore[arg-type]
        response = client.get("/api/v1/sessions/demo/positions")
        assert response.status_code == 200 and _goog(response.content) == 50
        expected = SessionPositions.model_validate(response.json()).model_dump_json()
        assert response.content == expected.encode()
        etag = response.headers["etag"]
        again = client.get("/api/v1/sessions/demo/positions", headers={"If-None-Match": etag})
        assert again.status_code == 304
        _fill(session.store, session.root, "2")
        deadline = time.monotonic() + 10  # liveness: the lifespan's refresher runs
        while time.monotonic() < deadline:
            changed = client.get("/api/v1/sessions/demo/positions",
                                 headers={"If-None-Match": etag})
            if changed.status_code == 200:
                assert _goog(changed.content) == 52 and changed.headers["etag"] != etag
                break
            time.sleep(0.02)
        else:
            pytest.fail("the app kept serving the positions from before the fill")
        assert client.get("/api/v1/sessions/ghost/positions").status_code == 404
        # a dashboard that saw a row on the stream asks with after=: no wait for a pass
        _fill(session.store, session.root, "3", n=2)
        detail = client.get("/api/v1/sessions/demo",
                            params={"after": last_seq(session.store)}).json()
        assert Decimal(next(p["quantity"] for p in detail["positions"]
                            if p["strategy"] == "sma_goog")) == 55


def test_only_the_session_whose_journal_moved_is_rebuilt(
        session: SimpleNamespace, monkeypatch: pytest.MonkeyPatch) -> None:
    builds: list[str] = []
    real_build = snapshot_module._build

    def counting(*args: Any) -> Any:
        builds.append(args[2])
        return real_build(*args)

    monkeypatch.setattr(snapshot_module, "_build", counting)
    other = session.data_dir / "sessions" / "other"
    other.mkdir()
    (other / "session.json").write_text(json.dumps({"session_id": "other.000001"}))

    async def scenario() -> None:
        snapshots = SessionSnapshots(session.store, session.data_dir, max_age=3600.0)
        await snapshots.current("demo")
        await snapshots.current("other")
        builds.clear()
        _fill(session.store, other, "4")  # another session's fill: demo stays as it is
        await snapshots.refresh()
        assert builds == ["other"]
        demo = snapshots.get("demo")
        assert demo is not None and _goog(demo.positions_json.body) == 50
        _fill(session.store, session.root, "6", n=2)
        await snapshots.refresh()
        assert builds == ["other", "demo"]
        demo = snapshots.get("demo")
        assert demo is not None and _goog(demo.positions_json.body) == 56

    asyncio.run(scenario())
