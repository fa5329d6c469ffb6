"""/api/v1/research over the real app and database (SQLite and PostgreSQL), filled by the
real optimize and walk-forward commands."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete
from tests.web.conftest import TOKEN, in_thread, make_app

from trading_strategy.cli import main as cli
from trading_strategy.storage import make_engine
from trading_strategy.storage.tables import ResearchRunRow
from trading_strategy.storage.transactions import writing

AUTH = {"Authorization": f"Bearer {TOKEN}"}
OPTIMIZE = ["optimize", "--strategy", "sma_crossover", "--data", "GOOG", "--workers", "0",
            "--param", "fast=5,10", "--param", "slow=20,30", "--quiet"]
WALK = ["walk-forward", "--strategy", "sma_crossover", "--data", "GOOG", "--workers", "0",
        "--param", "fast=5,10", "--param", "slow=30", "--train", "3y", "--test", "2y",
        "--quiet"]


def _empty_research(url: str) -> None:
    # the storage fixtures empty the older tables only; the PostgreSQL database is shared
    engine = make_engine(url)
    try:
        with writing(engine) as connection:
            connection.execute(delete(ResearchRunRow))
    finally:
        engine.dispose()


@pytest.fixture
def researched(db_url: str, _isolated_data_dir: Path,
               monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """One optimisation (sma_crossover on GOOG) and one walk-forward, stored by the CLI."""
    monkeypatch.setenv("TRADING_STRATEGY_DATABASE_URL", db_url)
    in_thread(cli, ["db", "upgrade"])
    _empty_research(db_url)
    assert in_thread(cli, OPTIMIZE) == 0
    assert in_thread(cli, WALK) == 0
    return SimpleNamespace(url=db_url, data_dir=_isolated_data_dir)


@pytest.fixture
def api(researched: SimpleNamespace) -> Iterator[TestClient]:
    with TestClient(make_app()) as test_client:  # type: ignore[arg-type]
        yield test_client


def test_list_is_newest_first_and_filters(api: TestClient) -> None:
    listed = api.get("/api/v1/research").json()
    assert listed["total"] == 2
    walk, opt = listed["runs"]
    assert (walk["kind"], opt["kind"]) == ("walk_forward", "optimize")
    assert opt["trials"] == 4 and opt["objective"] == "maximize sharpe"
    assert opt["verdict"].startswith("overall:")
    only = api.get("/api/v1/research", params={"kind": "optimize"}).json()
    assert [r["id"] for r in only["runs"]] == [opt["id"]] and only["total"] == 1
    page = api.get("/api/v1/research", params={"limit": 1, "offset": 1}).json()
    assert [r["id"] for r in page["runs"]] == [opt["id"]] and page["total"] == 2
    assert api.get("/api/v1/research", params={"strategy": "rsi_reversion"}
                   ).json()["total"] == 0
    bad = api.get("/api/v1/research", params={"kind": "sweep"})
    assert bad.status_code == 400 and "kind: one of optimize, walk_forward" in bad.json()["detail"]


def test_detail_is_the_stored_report(api: TestClient) -> None:
    opt = api.get("/api/v1/research", params={"kind": "optimize"}).json()["runs"][0]
    detail = api.get(f"/api/v1/research/{opt['id']}").json()
    report = detail["report"]
    assert detail["summary"]["id"] == opt["id"]
    assert report["heatmap"]["x"] == "fast" and len(report["heatmap"]["values"]) == 2
    assert set(report["diagnostics"]) == {"deflated_sharpe", "pbo", "bootstrap", "stability"}
    assert report["best"]["params"] == opt["best_params"]
    walk = api.get("/api/v1/research", params={"kind": "walk_forward"}).json()["runs"][0]
    wf = api.get(f"/api/v1/research/{walk['id']}").json()["report"]
    assert len(wf["equity_times"]) == len(wf["equity"]) and wf["windows"]
    missing = api.get("/api/v1/research/999999")
    assert missing.status_code == 404 and "no research run" in missing.json()["detail"]


def test_delete_needs_auth_and_is_audited(api: TestClient,
                                          researched: SimpleNamespace) -> None:
    run_id = api.get("/api/v1/research").json()["runs"][0]["id"]
    assert api.delete(f"/api/v1/research/{run_id}").status_code == 401
    assert api.delete(f"/api/v1/research/{run_id}", headers=AUTH).status_code == 200
    assert api.get(f"/api/v1/research/{run_id}").status_code == 404
    assert api.delete(f"/api/v1/research/{run_id}", headers=AUTH).status_code == 404
    assert api.get("/api/v1/research").json()["total"] == 1
    [record] = [json.loads(line) for line in
                (researched.data_dir / "web" / "actions.jsonl").read_text().splitlines()]
    assert (record["action"], record["target"], record["actor"]) == (
        "delete_research", str(run_id), "token")


def test_pages_are_served(api: TestClient) -> None:
    listing = api.get("/research")
    assert listing.status_code == 200 and "research.js" in listing.text
    one = api.get("/research/1")
    assert one.status_code == 200 and "research_run.js" in one.text
    assert api.get("/static/research_run.js").status_code == 200
