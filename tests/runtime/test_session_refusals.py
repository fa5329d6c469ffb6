"""A session that would trade nothing, or something else than asked, refuses to start."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from trading_strategy.core.errors import ConfigError
from trading_strategy.orders.journal import InMemoryJournal
from trading_strategy.runtime.portfolio_config import parse_portfolio
from trading_strategy.runtime.session import PaperSession


def _session(tmp: Path, *, session: dict[str, Any], size: str = "all-in") -> PaperSession:
    raw = {"session": {"name": "refuse", **session},
           "strategies": [{"name": "sma_goog", "strategy": "sma_crossover",
                           "symbol": "GOOG", "capital": 10000, "size": size}]}
    return PaperSession(parse_portfolio(raw), data_dir=tmp,
                        journal_factory=lambda root: InMemoryJournal())


def test_a_window_without_bars_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no bars between 2015-01-01 and the last bar for "
                                          "any strategy: sma_goog "):
        _session(tmp_path, session={"start": "2015-01-01"})


def test_a_strategy_without_bars_beside_others_is_named_but_runs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = {"session": {"name": "part", "end": "2000-12-31"},
           "strategies": [{"name": "sma_goog", "strategy": "sma_crossover", "symbol": "GOOG",
                           "capital": 10000},
                          {"name": "sma_ibm", "strategy": "sma_crossover", "symbol": "IBM",
                           "capital": 10000}]}
    session = PaperSession(parse_portfolio(raw), data_dir=tmp_path,
                           journal_factory=lambda root: InMemoryJournal())
    assert len(session.series["IBM"]) > 0  # GOOG starts in 2004: only IBM trades
    logged = capsys.readouterr()
    assert "no_bars_in_window" in logged.out + logged.err


@pytest.mark.parametrize("size", ["2.5", "0.5"])
def test_a_size_that_is_not_whole_lots_is_refused(tmp_path: Path, size: str) -> None:
    with pytest.raises(ConfigError, match=f"strategy sma_goog: size {size} is not a whole "
                                          "number of lots: GOOG trades in lots of 1"):
        _session(tmp_path, session={}, size=size)
