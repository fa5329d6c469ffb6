"""The research runs repository on SQLite and PostgreSQL, and its migration step."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, inspect

from trading_strategy.core.errors import UserError
from trading_strategy.storage import Store, downgrade, make_engine, upgrade
from trading_strategy.storage.research_runs import ResearchRunRepository
from trading_strategy.storage.tables import ResearchRunRow
from trading_strategy.storage.transactions import writing


@pytest.fixture
def repo(store: Store) -> ResearchRunRepository:
    # the shared fixture empties the older tables only
    with writing(store.engine) as connection:
        connection.execute(delete(ResearchRunRow))
    return ResearchRunRepository(store.engine)


def _save(repo: ResearchRunRepository, **over: object) -> int:
    fields: dict[str, object] = {
        "kind": "optimize", "strategy": "sma_crossover", "symbol": "GOOG", "timeframe": "1d",
        "objective": "maximize sharpe", "trials": 4, "best_params": {"fast": 5, "slow": 20},
        "best_score": 1.25, "verdict": "overall: no sign of overfitting",
        "report": {"method": "grid", "verdicts": ["a", "b"], "nested": {"x": [1, 2.5, None]}}}
    fields.update(over)
    return repo.save_run(**fields)  # type: ignore[arg-type]


def test_save_get_round_trip(repo: ResearchRunRepository) -> None:
    run_id = _save(repo)
    got = repo.get_run(run_id)
    assert got is not None
    assert got.summary.id == run_id
    assert got.summary.best_params == {"fast": 5, "slow": 20}
    assert got.summary.best_score == 1.25
    assert got.summary.created_at.tzinfo is not None
    assert got.report == {"method": "grid", "verdicts": ["a", "b"],
                          "nested": {"x": [1, 2.5, None]}}
    assert repo.get_run(run_id + 1000) is None


def test_list_filters_pages_and_sorts_newest_first(repo: ResearchRunRepository) -> None:
    old = _save(repo, created_at=datetime(2024, 1, 1, tzinfo=UTC))
    new = _save(repo, created_at=datetime(2025, 1, 1, tzinfo=UTC))
    wf = _save(repo, kind="walk_forward", strategy="rsi", trials=None, best_score=None,
               created_at=datetime(2024, 6, 1, tzinfo=UTC))
    runs, total = repo.list_runs()
    assert [r.id for r in runs] == [new, wf, old]
    assert total == 3
    runs, total = repo.list_runs(kind="optimize", limit=1)
    assert [r.id for r in runs] == [new] and total == 2
    runs, total = repo.list_runs(kind="optimize", limit=1, offset=1)
    assert [r.id for r in runs] == [old]
    runs, total = repo.list_runs(strategy="rsi")
    assert [r.id for r in runs] == [wf] and runs[0].best_score is None


def test_non_finite_score_is_stored_as_null_and_bad_kind_refused(
        repo: ResearchRunRepository) -> None:
    run = repo.get_run(_save(repo, best_score=float("nan")))
    assert run is not None and run.summary.best_score is None
    with pytest.raises(UserError, match="kind"):
        _save(repo, kind="sweep")


def test_delete(repo: ResearchRunRepository) -> None:
    run_id = _save(repo)
    assert repo.delete_run(run_id)
    assert not repo.delete_run(run_id)
    assert repo.get_run(run_id) is None


def test_migration_step_adds_and_drops_the_table(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        assert upgrade(engine) == "0007_research_runs"
        with engine.connect() as connection:
            assert inspect(connection).has_table("research_runs")
        assert downgrade(engine) == "0006_bar_source"
        with engine.connect() as connection:
            assert not inspect(connection).has_table("research_runs")
    finally:
        engine.dispose()
