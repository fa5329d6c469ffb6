"""A strategy's exception names the file and line of the strategy's own code: the innermost
frame outside this framework and the libraries it called."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from trading_strategy.backtesting.runner import run_backtest
from trading_strategy.core.errors import StrategyError, strategy_frame
from trading_strategy.strategies.base import Strategy
from trading_strategy.strategies.context import Context
from trading_strategy.testing import make_bars, scripted

BARS = make_bars([10.0, 11.0, 12.0, 13.0])


def _line_of(text: str) -> int:
    """The line of this file holding ``text`` (once)."""
    lines = Path(__file__).read_text().splitlines()
    (found,) = [k + 1 for k, line in enumerate(lines) if text in line and "_line_of" not in line]
    return found


def _raises(strategy: type[Strategy]) -> StrategyError:
    with pytest.raises(StrategyError) as info:
        run_backtest(strategy, BARS, allow_short_history=True)
    return info.value


def test_the_strategys_own_raise_is_named() -> None:
    def on_bar(ctx: Context, i: int) -> None:
        if i == 2:
            raise ZeroDivisionError("no volume")  # the failing line

    err = _raises(scripted(on_bar, name="own_raise"))
    assert (err.path, err.line, err.function) == (__file__, _line_of("# the failing line"),
                                                  "on_bar")
    assert str(err).endswith(
        f":{err.line}: strategy 'own_raise' raised in on_bar at bar 2: "
        "ZeroDivisionError('no volume')")
    assert "\n" not in str(err)


def test_an_error_inside_the_framework_names_the_strategy_line_that_called_it() -> None:
    def on_bar(ctx: Context, i: int) -> None:
        ctx.buy(limit=float("nan"))  # framework refuses this

    err = _raises(scripted(on_bar, name="nan_limit"))
    assert err.path == __file__ and err.line == _line_of("# framework refuses this")
    assert "limit price must be finite" in str(err)


def test_an_error_inside_a_library_names_the_strategy_line_that_called_it() -> None:
    def on_bar(ctx: Context, i: int) -> None:
        json.loads("{not json")  # a library raises

    err = _raises(scripted(on_bar, name="library"))
    assert err.path == __file__ and err.line == _line_of("# a library raises")


def test_a_strategy_file_outside_the_package_is_named_as_given(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "my_strategy.py"
    path.write_text(textwrap.dedent("""\
        from trading_strategy import Strategy


        def helper(x):
            return 1 / x


        class Mine(Strategy):
            name = "mine"

            def on_bar(self):
                helper(self.ctx.bar_index - 1)
        """))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    from my_strategy import Mine  # type: ignore[import-not-found]

    err = _raises(Mine)
    # the innermost frame of the user's code: helper's division, not the call in on_bar
    assert (err.path, err.line, err.function) == (str(path), 5, "helper")
    assert str(err).startswith("my_strategy.py:5: strategy 'mine' raised in on_bar at bar 1")
    sys.modules.pop("my_strategy", None)


def test_no_traceback_no_place() -> None:
    assert strategy_frame(None) is None
    err = StrategyError("s", "on_bar", ValueError("x"))  # never raised: no traceback
    assert err.path is None and str(err) == "strategy 's' raised in on_bar: ValueError('x')"
