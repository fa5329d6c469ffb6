"""``import trading_strategy`` stays cheap: the public names load on first use."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("pandas", "polars", "pyarrow", "sqlalchemy", "alembic")


def _modules_after(code: str) -> set[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True,
                         text=True).stdout
    return set(json.loads(out.splitlines()[-1]))


def _heavy(modules: set[str]) -> set[str]:
    return {m for m in modules if m.split(".")[0] in HEAVY}


def test_import_trading_strategy_loads_nothing_heavy() -> None:
    loaded = _modules_after("import trading_strategy")
    assert not _heavy(loaded)
    assert "numpy" not in loaded and "pydantic" not in loaded
    assert "trading_strategy.api" not in loaded


@pytest.mark.parametrize("code", [
    "from trading_strategy import Backtest, Strategy, StrategyParams",
    "import trading_strategy.api",
    "from trading_strategy import Backtest; Backtest('GOOG', 'sma_crossover').run()",
])
def test_the_api_and_a_sample_backtest_need_neither_pandas_nor_a_database(code: str) -> None:
    assert not _heavy(_modules_after(code))


def test_public_names_resolve_lazily() -> None:
    import trading_strategy
    from trading_strategy.strategies.base import Strategy

    assert trading_strategy.Strategy is Strategy
    public = {"Backtest", "BacktestResult", "Strategy", "StrategyParams"}
    assert public <= set(dir(trading_strategy))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = trading_strategy.nope  # type: ignore[attr-defined]
