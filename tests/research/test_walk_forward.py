from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from trading_strategy import Backtest
from trading_strategy.core.errors import ConfigError
from trading_strategy.research import optimize, walk_forward
from trading_strategy.research.walk_forward import Span, windows

TS = np.arange(100, dtype=np.int64) * 86_400_000_000_000


def test_rolling_windows_in_bars_follow_each_other() -> None:
    found = windows(100, TS, Span.parse("40b", "train"), Span.parse("20b", "test"), False)
    assert [(w.train, w.test) for w in found] == [((0, 40), (40, 60)), ((20, 60), (60, 80)),
                                                 ((40, 80), (80, 100))]


def test_anchored_windows_start_at_the_first_bar() -> None:
    found = windows(100, TS, Span.parse("40b", "train"), Span.parse("25b", "test"), True)
    assert [(w.train, w.test) for w in found] == [((0, 40), (40, 65)), ((0, 65), (65, 90)),
                                                 ((0, 90), (90, 100))]


def test_calendar_spans() -> None:
    # daily bars: 30 days of training, 10 of test
    found = windows(100, TS, Span.parse("30d", "train"), Span.parse("10d", "test"), False)
    assert found[0].train == (0, 30) and found[0].test == (30, 40)
    assert found[-1].test[1] == 100
    with pytest.raises(ConfigError, match="length"):
        Span.parse("2 years", "train")


@pytest.fixture(scope="module")
def goog() -> Backtest:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Backtest("GOOG", "sma_crossover", store=False)


def test_walk_forward_chooses_in_sample_and_stitches_out_of_sample(goog: Backtest) -> None:
    space = {"fast": [5, 10, 20], "slow": [30, 60]}
    result = walk_forward(goog, space, train="3y", test="1y", workers=0)
    first = result.windows[0]
    # the first window's choice is the in-sample search's best over its training bars
    bars = goog.bars
    import copy

    part = copy.copy(goog)
    part.bars = bars.between(int(bars.ts[first.train[0]]), int(bars.ts[first.train[1] - 1]))
    part.allow_short_history = True
    assert first.params == optimize(part, space, workers=0).best_params
    # out-of-sample bars: every bar after the first training span, once
    assert result.returns.size == len(bars) - first.test[0]
    assert result.equity[0] == pytest.approx(10_000)
    expected = 10_000 * np.prod([np.prod(1 + w.test_returns) for w in result.windows])
    assert result.equity[-1] == pytest.approx(expected)
    stats = result.stats
    assert stats["windows"] == len(result.windows) and stats["total_return"] is not None
    rows = result.window_rows()
    assert first.params is not None
    assert rows[0]["params"] == ", ".join(f"{k}={v}" for k, v in first.params.items())
    assert json.loads(result.to_json())["chosen_params"][0] == first.params
    assert "<svg" in result.html()


def test_too_short_data_is_one_line(goog: Backtest) -> None:
    with pytest.raises(ConfigError, match="shorter than one training span"):
        walk_forward(goog, {"fast": [5], "slow": [30]}, train="30y", test="1y")


def test_walk_forward_with_a_bayesian_search_per_window(goog: Backtest, tmp_path: Path) -> None:
    pytest.importorskip("optuna")
    space = ["fast=5:40:5", "slow=30:120:10"]
    result = walk_forward(goog, space, train="3y", test="1y", method="bayes", trials=8,
                          workers=0)
    assert len(result.windows) >= 2
    first = result.windows[0]
    # the choice is a Bayesian search's best over the window's training bars only
    search = optimize(_train_part(goog, first.train), space, method="bayes", trials=8,
                      storage="memory")
    assert first.params == search.best_params and search.best is not None
    assert first.train_score == pytest.approx(search.score(search.best))
    for w in result.windows:
        assert w.params is not None and w.counts["trials"] == 8
        assert 5 <= w.params["fast"] <= 40 and 30 <= w.params["slow"] <= 120
    # given a database, each window's study is kept under its own name: a rerun resumes
    url = f"sqlite:///{tmp_path / 'wf.sqlite3'}"
    stored = walk_forward(goog, space, train="3y", test="1y", method="bayes", trials=8,
                          storage=url)
    import optuna

    studies = optuna.get_all_study_summaries(storage=url)
    assert len(studies) == len(stored.windows)
    assert all(s.n_trials == 8 for s in studies)
    again = walk_forward(goog, space, train="3y", test="1y", method="bayes", trials=8,
                         storage=url)
    assert [w.params for w in again.windows] == [w.params for w in stored.windows]
    assert all(s.n_trials == 8 for s in optuna.get_all_study_summaries(storage=url))
    # the in-memory studies chose as the stored ones did (same seed, same trials)
    assert [w.params for w in stored.windows] == [w.params for w in result.windows]


def _train_part(backtest: Backtest, span: tuple[int, int]) -> Backtest:
    import copy

    part = copy.copy(backtest)
    bars = backtest.bars
    part.bars = bars.between(int(bars.ts[span[0]]), int(bars.ts[span[1] - 1]))
    part.allow_short_history = True
    return part
