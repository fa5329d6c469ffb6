"""What the CLI needs of the API: a complete settings object, no database on request,
the HTML page as text, and saving a run (with its position curve) to a store."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from trading_strategy.api import ArgumentError, Backtest
from trading_strategy.backtesting.settings import BacktestSettings
from trading_strategy.core.errors import DataError
from trading_strategy.kernel.costs import PercentCommission
from trading_strategy.kernel.sizing import SizeSpec


def test_a_settings_object_replaces_the_keywords() -> None:
    settings = BacktestSettings(initial_cash=Decimal("5000"),
                                commission=PercentCommission(Decimal("0.001")),
                                size=SizeSpec.parse("3"))
    result = Backtest("GOOG", "sma_crossover", settings=settings).run()
    assert result.report["settings"]["initial_cash"] == 5000
    assert result.report["settings"]["size"] == "3"
    with pytest.raises(ArgumentError, match="settings: expected BacktestSettings"):
        Backtest("GOOG", "sma_crossover", settings={"cash": 1})  # type: ignore[arg-type]


def test_store_false_reads_no_database(monkeypatch: pytest.MonkeyPatch) -> None:
    import trading_strategy.storage as storage

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("a database was opened")

    monkeypatch.setattr(storage, "open_store", refuse)
    with pytest.raises(DataError, match="neither a data file nor a bundled sample"):
        Backtest("NOSUCH", "sma_crossover", store=False)
    assert len(Backtest("GOOG", "sma_crossover", store=False).bars) == 2148


def test_save_stores_the_run_with_its_positions_and_html_is_the_page(tmp_path: Path) -> None:
    from trading_strategy.storage import open_store

    result = Backtest("GOOG", "sma_crossover").run()
    with open_store(f"sqlite:///{tmp_path / 'runs.sqlite3'}") as store:
        run_id = result.save(store)
        run = store.runs.get_run(run_id)
    assert run is not None
    assert np.array_equal(run.curves.ts, result.run.bars.ts)
    assert run.curves.equity.tobytes() == result.run.equity.tobytes()
    assert run.curves.position_lots is not None
    assert np.array_equal(run.curves.position_lots, result.run.engine.position_curve)
    assert run.to_report()["equity_curve"] == json.loads(result.to_json())["equity_curve"]
    page = result.html()
    assert page.startswith("<!DOCTYPE html>")
    assert result.to_html(tmp_path / "r.html").read_text(encoding="utf-8") == page


def test_a_command_imports_only_its_own_module() -> None:
    probe = ("import sys, json\nfrom trading_strategy.cli import build_parser\n"
             "build_parser(['backtest', '--help'])\nprint(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True,
                         text=True).stdout
    loaded = set(json.loads(out.splitlines()[-1]))
    assert "trading_strategy.cli.backtest_cmd" in loaded
    assert "trading_strategy.cli.risk_cmd" not in loaded
    assert not {m for m in loaded if m.split(".")[0] in ("sqlalchemy", "pandas", "numpy")}
