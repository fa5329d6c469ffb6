from __future__ import annotations

import pytest

from trading_strategy.core.errors import ConfigError
from trading_strategy.research.grid import Constraint, Objective, ParamSpace, parse_dimension


def test_range_includes_its_stop_and_keeps_integers() -> None:
    dim = parse_dimension("fast=5:50:5")
    assert dim.values == (5, 10, 15, 20, 25, 30, 35, 40, 45, 50)
    assert all(isinstance(v, int) for v in dim.values)
    assert (dim.low, dim.high, dim.step) == (5.0, 50.0, 5.0)
    assert parse_dimension("x=0.1:0.3:0.1").values == (0.1, 0.2, 0.3)
    assert parse_dimension("slow=20:45:10").values == (20, 30, 40)


def test_lists_and_single_values() -> None:
    assert parse_dimension("fast=10,20,10").values == (10, 20)
    assert parse_dimension("allow_short=true,false").values == ("true", "false")
    assert parse_dimension("fast=7").values == (7,)


@pytest.mark.parametrize("spec", ["fast", "fast=", "fast=5:1", "fast=1:5:0", "fast=a:b",
                                  "fast=1,,2", "=5"])
def test_bad_specs_are_one_line_errors(spec: str) -> None:
    with pytest.raises(ConfigError):
        parse_dimension(spec)


def test_space_grid_and_seeded_sample() -> None:
    space = ParamSpace.parse(["fast=1:3", "slow=10,20"])
    assert space.size == 6
    assert list(space.grid())[:2] == [{"fast": 1, "slow": 10}, {"fast": 1, "slow": 20}]
    sample = space.sample(4, seed=1)
    assert len(sample) == 4 and len({tuple(p.items()) for p in sample}) == 4
    assert all(p in list(space.grid()) for p in sample)
    assert sample == space.sample(4, seed=1)
    assert len(space.sample(99)) == 6
    assert ParamSpace.parse({"fast": range(1, 4), "slow": [10, 20]}).size == 6
    with pytest.raises(ConfigError, match="twice"):
        ParamSpace.parse(["fast=1", "fast=2"])


def test_constraints_and_objective() -> None:
    rule = Constraint.parse("max_drawdown<=0.2")
    assert rule.holds({"max_drawdown": 0.2}) and not rule.holds({"max_drawdown": 0.21})
    assert not rule.holds({"max_drawdown": None})  # undefined never satisfies
    assert Constraint.parse("trades >= 20").holds({"trades": 20})
    with pytest.raises(ConfigError, match="METRIC OP NUMBER"):
        Constraint.parse("trades=>20")
    assert Objective("max_drawdown", maximize=False).better(0.1, 0.2)
    assert Objective("sharpe").score({"sharpe": None}) is None
