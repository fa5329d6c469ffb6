"""Naming a strategy: a class, a registered name, module:Class or file.py:Class."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from trading_strategy import Strategy
from trading_strategy.api import ArgumentError, Backtest, resolve_strategy
from trading_strategy.strategies.registry import UnknownStrategyError
from trading_strategy.strategies.sma_crossover import SmaCrossover

FILE_STRATEGY = '''
from trading_strategy import Strategy


class BuyAndHold(Strategy):
    """Buys on the first bar and holds."""

    def on_bar(self) -> None:
        if self.ctx.is_flat:
            self.ctx.buy()
'''


def test_class_name_and_module_reference_give_the_same_class() -> None:
    assert resolve_strategy(SmaCrossover) is SmaCrossover
    assert resolve_strategy("sma_crossover") is SmaCrossover
    assert resolve_strategy("trading_strategy.strategies.sma_crossover:SmaCrossover") \
        is SmaCrossover


def test_a_file_reference_loads_the_class_once(tmp_path: Path) -> None:
    path = tmp_path / "my_strategies.py"
    path.write_text(FILE_STRATEGY)
    cls = resolve_strategy(f"{path}:BuyAndHold")
    assert issubclass(cls, Strategy) and cls.__name__ == "BuyAndHold"
    assert resolve_strategy(f"{path}:BuyAndHold") is cls
    result = Backtest("GOOG", f"{path}:BuyAndHold").run()
    assert result.report["strategy"] == "buy_and_hold"
    assert result.report["metrics"]["open_trades"] == 1


def test_a_class_without_a_name_gets_one_from_its_class_name() -> None:
    class MyMomentum(Strategy):
        def on_bar(self) -> None:
            pass

    cls = resolve_strategy(MyMomentum)
    assert cls.name == "my_momentum" and issubclass(cls, MyMomentum)
    assert MyMomentum.name == ""  # the user's class is left as it is


@pytest.mark.parametrize(("ref", "message"), [
    (int, "int is not a Strategy subclass"),
    (42, "strategy: got 42"),
    ("", "strategy: got ''"),
    ("trading_strategy.nope:X", "cannot import 'trading_strategy.nope'"),
    ("trading_strategy.strategies.sma_crossover:Nope", "has no attribute 'Nope'"),
    ("trading_strategy.strategies.base:StrategyParams", "is not a Strategy subclass"),
    ("missing/file.py:X", "file 'missing/file.py' not found"),
    ("trading_strategy.strategies:", "must end with ':ClassName'"),
])
def test_bad_references_name_the_problem(ref: object, message: str) -> None:
    with pytest.raises(ArgumentError, match=message.replace("(", r"\(")) as caught:
        resolve_strategy(ref)
    assert isinstance(caught.value, ValueError)


def test_an_instance_is_refused_with_the_fix() -> None:
    instance = SmaCrossover.__new__(SmaCrossover)
    with pytest.raises(ArgumentError, match="pass the class SmaCrossover, not an instance"):
        resolve_strategy(instance)


def test_an_unknown_name_lists_the_registered_ones() -> None:
    with pytest.raises(UnknownStrategyError, match=r"available: .*sma_crossover"):
        resolve_strategy("no_such_strategy")


def test_user_modules_do_not_leak_on_a_failed_load(tmp_path: Path) -> None:
    path = tmp_path / "broken.py"
    path.write_text("raise RuntimeError('boom')\n")
    before = set(sys.modules)
    # one line naming the file and line that raised, not the user's traceback
    with pytest.raises(ArgumentError, match=r"broken\.py:1: strategy: importing .* raised "
                                            r"RuntimeError: boom"):
        resolve_strategy(f"{path}:X")
    assert set(sys.modules) == before
