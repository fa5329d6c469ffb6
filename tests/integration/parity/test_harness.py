"""The parity harness itself: the generator covers every pair, and the comparison catches a
difference of one money unit and names the first differing row."""

from __future__ import annotations

import argparse
import itertools

import pytest

from trading_strategy.core.errors import ConfigError

from .allpairs import all_pairs, uncovered
from .combos import DIMENSIONS, SEED, Combo, backtest_inputs, matrix
from .harness import DataSet, Outcome, compare, run_backtest_side


def test_all_pairs_covers_every_pair_with_few_rows() -> None:
    dims = [("a", "b", "c"), ("x", "y"), ("1", "2", "3", "4"), ("p", "q")]
    rows = all_pairs(dims, seed=1)
    assert uncovered(dims, rows) == set()
    assert 12 <= len(rows) <= 16  # 3 × 4 pairs at least; the full product has 48 rows
    assert rows == all_pairs(dims, seed=1)  # seeded: the same rows every run


def test_a_row_missing_leaves_its_pairs_uncovered() -> None:
    dims = [("a", "b"), ("x", "y")]
    rows = list(itertools.product(*dims))
    assert uncovered(dims, rows[1:]) == {(0, "a", 1, "x")}


def test_the_matrix_covers_every_pair_of_settings_with_readable_unique_ids() -> None:
    combos = matrix()
    rows = [(c.strategy, c.sizing, c.commission, c.slippage, c.risk, c.latency, c.data)
            for c in combos]
    assert uncovered(DIMENSIONS, rows) == set()
    # ... and again at the basic costs, for every pair of the other dimensions
    basic = [r for r in rows if (r[2], r[3]) == ("pct", "bpsslip")]
    others = [d for k, d in enumerate(DIMENSIONS) if k not in (2, 3)]
    assert uncovered(others, [(*r[:2], *r[4:]) for r in basic]) == set()
    assert len(combos) <= 80
    ids = [c.id for c in combos]
    assert len(set(ids)) == len(ids)
    assert all(len(i.split("-")) == len(DIMENSIONS) for i in ids)
    first = all_pairs(DIMENSIONS, seed=SEED)  # seeded: the same rows every run
    assert [tuple(r) for r in rows[:len(first)]] == first


def test_runs_that_agree_compare_equal_and_one_money_unit_of_commission_does_not(
        datasets: dict[str, DataSet]) -> None:
    combo = Combo("sma_crossover", "fixed", "pct", "bpsslip", "norisk", "lat0", "goog")
    first = run_backtest_side(combo, datasets["goog"])
    again = run_backtest_side(combo, datasets["goog"])
    assert first.trace is not None and first.trace.fills
    assert compare(first, again) == []
    # the same fills with one commission a unit higher: the tables that carry it differ
    assert again.trace is not None
    fill = again.trace.fills[3]
    again.trace.fills[3] = fill._replace(commission=fill.commission + 1)
    problems = compare(first, again)
    assert len(problems) == 1
    assert problems[0].key == "fills[commission]"
    assert problems[0].text.startswith("fills: first difference at row 3 ")
    assert f"commission={fill.commission})" in problems[0].text
    assert f"commission={fill.commission + 1})" in problems[0].text


def test_a_refusal_on_one_side_only_is_a_difference() -> None:
    ran = Outcome("paper", trace=None, crashed="")
    refused = Outcome("backtest", refused=ConfigError("size 2.5 is not a whole number of lots"))
    assert compare(refused, ran)[0].text.startswith("only the backtest refuses at start-up")
    both = compare(refused, Outcome("paper", refused=ConfigError("no")))
    assert both == []
    unclear = compare(refused, Outcome("paper", refused=KeyError("size")))
    assert unclear and "not a one-line user error" in unclear[0].text


@pytest.mark.parametrize("strategy", ["limitcancel", "oversize"])
def test_the_test_strategies_cancel_expire_and_get_denied(
        strategy: str, datasets: dict[str, DataSet]) -> None:
    combo = Combo(strategy, "fixed", "pct", "bpsslip", "norisk", "lat0", "goog")
    outcome = run_backtest_side(combo, datasets["goog"])
    assert outcome.trace is not None
    statuses = {o.status for o in outcome.trace.orders}
    if strategy == "limitcancel":
        assert {"cancelled", "expired", "filled"} <= statuses
    else:  # refused by the risk engine (DENIED; REJECTED before the kernel work)
        assert "filled" in statuses and statuses & {"denied", "rejected"}


def test_the_backtest_reads_the_portfolio_file_as_backtest_config_does(
        datasets: dict[str, DataSet]) -> None:
    """The harness's reading of the venue and risk tables is the one of
    ``trading-strategy backtest --config`` wherever the file has the keys."""
    from trading_strategy.cli.backtest_cmd import portfolio_sleeves
    from trading_strategy.runtime.portfolio_config import parse_portfolio

    data = datasets["goog"]
    for combo in (Combo("sma_crossover", "percent", "pct", "bpsslip", "ddhalt", "lat60s", "goog"),
                  Combo("rsi_reversion", "voltarget", "pct", "bpsslip", "atrstop", "lat0",
                        "goog")):
        raw = combo.portfolio(data.symbol, data.start, data.end, "sma_crossover")
        config = parse_portfolio(raw)
        args = argparse.Namespace(config="parity.toml", periods_per_year=None,
                                  risk_free_rate=0.0, indicators="vectorized")
        sleeve = portfolio_sleeves(config, lambda symbol, tf: data.bars, args)[0]
        mine = backtest_inputs(raw)
        assert sleeve.settings == mine.settings
        assert config.risk == mine.risk
        assert len(sleeve.bars) == len(data.bars)
    for slip in ("bpsslip", "rangeslip", "atrslip"):
        combo = Combo("sma_crossover", "fixed", "pct", slip, "norisk", "lat0", "goog")
        raw = combo.portfolio(data.symbol, data.start, data.end, "sma_crossover")
        venue = parse_portfolio(raw).venue
        assert venue.slippage_model() == backtest_inputs(raw).settings.slippage


@pytest.mark.parametrize("slippage", ["rangeslip", "atrslip"])
def test_backtest_config_honours_the_files_slippage_model(
        slippage: str, datasets: dict[str, DataSet]) -> None:
    """``backtest --config`` must fill with the model the file names, as the harness does."""
    from trading_strategy.cli.backtest_cmd import portfolio_sleeves
    from trading_strategy.runtime.portfolio_config import parse_portfolio

    data = datasets["goog"]
    combo = Combo("sma_crossover", "fixed", "pct", slippage, "norisk", "lat0", "goog")
    raw = combo.portfolio(data.symbol, data.start, data.end, "sma_crossover")
    args = argparse.Namespace(config="parity.toml", periods_per_year=None,
                              risk_free_rate=0.0, indicators="vectorized")
    sleeve = portfolio_sleeves(parse_portfolio(raw), lambda symbol, tf: data.bars, args)[0]
    assert sleeve.settings.slippage == backtest_inputs(raw).settings.slippage


def test_a_masked_status_is_left_out_of_calls_and_paths(datasets: dict[str, DataSet]) -> None:
    combo = Combo("sma_crossover", "fixed", "pct", "bpsslip", "norisk", "lat0", "goog")
    first = run_backtest_side(combo, datasets["goog"])
    other = run_backtest_side(combo, datasets["goog"])
    assert first.trace is not None and other.trace is not None
    call = other.trace.calls[0]
    other.trace.calls.insert(0, call._replace(kind="event", detail=("accepted",)))
    order = other.trace.orders[0]
    other.trace.orders[0] = order._replace(path=(f"accepted@{call.bar}", *order.path))
    assert [p.key.split("[")[0] for p in compare(first, other)] == ["orders", "calls"]
    assert compare(first, other, mask=["accepted"]) == []
