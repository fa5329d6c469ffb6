"""Runs keep their per-bar curves as one compressed blob; migration 0005 converts old runs."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import sqlalchemy as sa

from trading_strategy.core.bars import datetime_to_ns
from trading_strategy.storage import Store, make_engine
from trading_strategy.storage.migrate import downgrade, upgrade
from trading_strategy.storage.runs import Curves, pack_curves, unpack_curves


class _ArrayCurve(list[dict[str, Any]]):
    """What backtesting.report's EquityCurve offers storage: ``ts`` and ``equity`` arrays
    (the list content is deliberately empty, so only the arrays can have been stored)."""

    def __init__(self, ts: np.ndarray, equity: np.ndarray) -> None:
        super().__init__()
        self.ts, self.equity = ts, equity


def _report(curve: Any) -> dict[str, Any]:
    return {"strategy": "sma_crossover", "params": {}, "metrics": {"trades": 0},
            "data": {"symbol": "GBM", "timeframe": "1m", "start": "2020-01-01T00:00:00Z",
                     "end": "2020-01-01T00:04:00Z", "bars": 5},
            "settings": {}, "trades": [], "equity_curve": curve}


def test_pack_round_trips_times_equity_and_positions_bit_for_bit() -> None:
    rng = np.random.default_rng(7)
    ts = np.cumsum(rng.integers(1, 10**12, 5000)).astype(np.int64) - 10**15
    equity = rng.lognormal(9, 2, 5000)
    lots = rng.integers(-50, 50, 5000)
    back = unpack_curves(pack_curves(Curves(ts, equity, lots)))
    assert np.array_equal(back.ts, ts)
    assert back.equity.tobytes() == equity.tobytes()
    assert back.position_lots is not None and np.array_equal(back.position_lots, lots)
    assert unpack_curves(pack_curves(Curves(ts, equity))).position_lots is None


def test_a_regular_curve_is_stored_small() -> None:
    n = 100_000
    ts = np.int64(1_577_836_800 * 10**9) + np.arange(n, dtype=np.int64) * 60 * 10**9
    equity = np.full(n, 10_000.0)
    assert len(pack_curves(Curves(ts, equity, np.zeros(n, np.int64)))) < 20_000


def test_arrays_are_saved_and_read_back_with_positions(store: Store) -> None:
    ts = np.int64(1_577_836_800 * 10**9) + np.arange(5, dtype=np.int64) * 60 * 10**9
    equity = np.array([10_000.0, 10_000.25, 9_999.5, 10_010.0, 0.1 + 0.2])
    run_id = store.runs.save_run(_report(_ArrayCurve(ts, equity)), positions=[0, 1, 1, 0, -2])
    run = store.runs.get_run(run_id)
    assert run is not None
    assert np.array_equal(run.curves.ts, ts)
    assert run.curves.equity.tobytes() == equity.tobytes()
    assert run.curves.position_lots is not None
    assert run.curves.position_lots.tolist() == [0, 1, 1, 0, -2]
    shown = run.to_report()["equity_curve"]
    assert shown[0] == {"time": "2020-01-01T00:00:00Z", "equity": 10000}
    assert shown[1]["equity"] == 10000.25 and shown[4]["equity"] == 0.1 + 0.2
    assert run.equity_curve[2] == (datetime(2020, 1, 1, 0, 2, tzinfo=UTC), Decimal("9999.5"))


def test_migration_0005_converts_stored_equity_rows_and_back(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        upgrade(engine, "0004_timescale")
        day = datetime(2020, 1, 2, tzinfo=UTC)
        values = ["10000", "10000.5", "11234.01"]
        with engine.begin() as connection:
            run_id = connection.execute(sa.text(
                "INSERT INTO backtest_runs (created_at, status, strategy, symbol, timeframe, "
                "params, settings, metrics, code_version) VALUES (:t, 'completed', "
                "'sma_crossover', 'GOOG', '1d', '{}', '{}', '{}', '0.1') RETURNING id"),
                {"t": datetime_to_ns(day) if engine.dialect.name == "sqlite" else day},
            ).scalar_one()
            for seq, value in enumerate(values):
                moment = datetime(2020, 1, 2 + seq, tzinfo=UTC)
                connection.execute(sa.text(
                    "INSERT INTO backtest_equity (run_id, seq, ts, equity) "
                    "VALUES (:r, :s, :ts, :e)"),
                    {"r": run_id, "s": seq, "e": value,
                     "ts": datetime_to_ns(moment) if engine.dialect.name == "sqlite"
                     else moment})
        upgrade(engine)
        run = Store(engine).runs.get_run(run_id)
        assert run is not None
        assert [p["equity"] for p in run.to_report()["equity_curve"]] == [
            10000, 10000.5, 11234.01]
        assert [p["time"] for p in run.to_report()["equity_curve"]] == [
            "2020-01-02", "2020-01-03", "2020-01-04"]
        assert "backtest_equity" not in sa.inspect(engine).get_table_names()

        downgrade(engine, "0004_timescale")
        with engine.connect() as connection:
            rows = connection.execute(sa.text(
                "SELECT seq, equity FROM backtest_equity ORDER BY seq")).all()
        assert [(seq, Decimal(str(value))) for seq, value in rows] == [
            (i, Decimal(v)) for i, v in enumerate(values)]
    finally:
        engine.dispose()
