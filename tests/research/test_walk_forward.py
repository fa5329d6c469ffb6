from __future__ import annotations

import json
import warnings

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
    assert rows[0]["params"] == ", ".join(f"{k}={v}" for k, v in first.params.items())
    assert json.loads(result.to_json())["chosen_params"][0] == first.params
    assert "<svg" in result.html()


def test_too_short_data_is_one_line(goog: Backtest) -> None:
    with pytest.raises(ConfigError, match="shorter than one training span"):
        walk_forward(goog, {"fast": [5], "slow": [30]}, train="30y", test="1y")
