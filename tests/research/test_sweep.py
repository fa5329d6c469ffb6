"""Grid and random search through ``Backtest.run``, in this process and a process pool."""

from __future__ import annotations

import json
import os
import time
import warnings
from pathlib import Path
from typing import ClassVar

import pytest
from pydantic import Field

from trading_strategy import Backtest
from trading_strategy.core.errors import ConfigError
from trading_strategy.research import executors, optimize
from trading_strategy.research.sweep import run_trials
from trading_strategy.strategies.base import StrategyParams
from trading_strategy.strategies.sma_crossover import SmaCrossover, SmaCrossoverParams


class CrashParams(SmaCrossoverParams):
    crash: bool = Field(False, description="kill the worker process at start")
    pause: float = Field(0.0, description="seconds to sleep at start (still running when "
                                          "the other worker dies)")


class Crasher(SmaCrossover):
    """An SMA crossover whose ``crash=True`` run kills its process (a dying worker)."""

    name = "crasher"
    Params: ClassVar[type[StrategyParams]] = CrashParams

    def on_start(self) -> None:
        if getattr(self.params, "crash", False):
            os._exit(3)
        time.sleep(getattr(self.params, "pause", 0.0))
        super().on_start()


@pytest.fixture(scope="module")
def goog() -> Backtest:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Backtest("GOOG", "sma_crossover", store=False)


SPACE = {"fast": [10, 20, 30], "slow": [20, 40]}


def test_grid_counts_invalid_pairs_and_picks_the_best(goog: Backtest) -> None:
    result = optimize(goog, SPACE, maximize="sharpe", workers=0)
    counts = result.counts
    # (20, 20), (30, 20) break fast < slow: rows, not a crash
    assert counts == {"trials": 6, "ok": 4, "invalid": 2, "error": 0, "rejected": 0,
                      "scored": 4}
    invalid = result.frame[result.frame["status"] == "invalid"]
    assert set(zip(invalid["fast"], invalid["slow"], strict=True)) == {(20, 20), (30, 20)}
    assert "must be less than" in invalid["message"].iloc[0]
    direct = {(f, s): goog.run(fast=f, slow=s).stats["sharpe"]
              for f, s in [(10, 20), (10, 40), (20, 40), (30, 40)]}
    assert result.best_params is not None
    best = (result.best_params["fast"], result.best_params["slow"])
    assert direct[best] == max(direct.values())
    assert result.frame["score"].iloc[0] == pytest.approx(direct[best])
    heat = result.heatmap()
    assert heat.loc[40, 10] == pytest.approx(direct[(10, 40)])


def test_the_pool_gives_the_same_rows_as_this_process(goog: Backtest) -> None:
    inline = optimize(goog, SPACE, workers=0, fast=False).frame
    pooled = optimize(goog, SPACE, workers=2, fast=False).frame
    assert inline.drop(columns="message").equals(pooled.drop(columns="message"))


def test_constraints_minimize_and_random(goog: Backtest) -> None:
    result = optimize(goog, SPACE, minimize="max_drawdown", constraints=["trades>=1000"],
                      workers=0)
    assert result.best is None and result.counts["rejected"] == 4
    assert "no trial" in result.verdicts[0]
    result = optimize(goog, SPACE, minimize="max_drawdown", workers=0)
    assert result.best is not None
    assert result.score(result.best) == min(
        t.stats["max_drawdown"] for t in result.trials if t.status == "ok")
    sampled = optimize(goog, SPACE, method="random", trials=3, seed=3, workers=0)
    assert len(sampled.trials) == 3
    with pytest.raises(ConfigError, match="unknown metric"):
        optimize(goog, SPACE, maximize="sharpie")
    with pytest.raises(ConfigError, match="method"):
        optimize(goog, SPACE, method="genetic")


def test_diagnostics_and_reports(goog: Backtest, tmp_path: Path) -> None:
    result = optimize(goog, {"fast": "5:25:5", "slow": "30:90:20"}, workers=0)
    d = result.diagnostics
    assert d["dsr"] is not None and d["dsr"].n_trials == 20
    assert d["pbo"] is not None and 0.0 <= d["pbo"].pbo <= 1.0
    assert d["bootstrap"] is not None and d["stability"].verdict_word in ("plateau", "spike")
    assert result.verdicts[-1].startswith("overall:")
    data = json.loads(result.to_json())
    assert data["diagnostics"]["pbo"]["splits"] == 16
    page = result.html()
    assert "<table" in page and "http" not in page  # offline: no CDN
    assert "overall:" in page


def test_results_stream_to_a_file_and_a_rerun_resumes(goog: Backtest, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "trials.jsonl"
    points = [{"fast": 10, "slow": 20}, {"fast": 10, "slow": 40}]
    seen: list[int] = []
    first = run_trials(goog, points[:1], workers=0, results_path=path,
                       on_trial=lambda t: seen.append(t.index))
    assert len(path.read_text().splitlines()) == 1 and seen == [0]
    # the rerun evaluates only the point not in the file
    ran: list[dict[str, object]] = []
    real = executors.run_inline

    def spy(backtest: Backtest, tasks: list[tuple[int, dict[str, object]]]):  # type: ignore[no-untyped-def]
        ran.extend(p for _, p in tasks)
        return real(backtest, tasks)

    monkeypatch.setattr(executors, "run_inline", spy)
    both = run_trials(goog, points, workers=0, results_path=path)
    assert ran == [points[1]]
    assert [t.params for t in both] == points
    assert both[0].stats == first[0].stats
    assert len(path.read_text().splitlines()) == 2


def test_a_dying_worker_loses_only_its_task() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        backtest = Backtest("GOOG", Crasher, store=False)
    # the crash comes first, while the other worker is in the middle of a 0.5 s task
    points = [{"fast": f, "slow": 40, "crash": f == 15, "pause": 0.0 if f == 15 else 0.5}
              for f in (15, 5, 10, 20, 25, 30)]
    trials = run_trials(backtest, points, workers=2)
    status = {t.params["fast"]: t.status for t in trials}
    assert status == {5: "ok", 10: "ok", 15: "error", 20: "ok", 25: "ok", 30: "ok"}
    assert "died" in next(t.message for t in trials if t.status == "error")


def test_pool_workers_are_spawned_unless_the_strategy_exists_only_here(
        goog: Backtest, tmp_path: Path) -> None:
    """A built-in strategy imports in a fresh interpreter: spawned workers. One loaded
    from a file exists only in this process: forked workers inherit it, and the sweep
    runs."""
    assert executors._context(goog).get_start_method() == "spawn"
    source = tmp_path / "my_sma.py"
    source.write_text("from trading_strategy.strategies.sma_crossover import SmaCrossover\n"
                      "class MySma(SmaCrossover):\n    name = 'my_sma'\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mine = Backtest("GOOG", f"{source}:MySma", store=False)
    assert executors._context(mine).get_start_method() == "fork"
    result = optimize(mine, SPACE, workers=2, fast=False)  # the forked pool, not the fast path
    assert result.counts["ok"] == 4
