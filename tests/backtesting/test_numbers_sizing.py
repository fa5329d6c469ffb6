"""--size: a quantity must be whole lots, and refused sizes are counted (issue 8, item 5).

``--size 0.5`` on a stock traded in lots of 1 used to round every order down to zero lots
(each one refused as ``zero_size``, the run silently flat) and ``--size 2.5`` to trade 2.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from trading_strategy.backtesting.html_report import render_html
from trading_strategy.backtesting.report import build_report
from trading_strategy.backtesting.runner import run_backtest
from trading_strategy.backtesting.settings import BacktestSettings
from trading_strategy.cli import main
from trading_strategy.cli.summary import format_summary
from trading_strategy.core.errors import ConfigError
from trading_strategy.kernel.sizing import SizeSpec
from trading_strategy.market_data.files import load_bars
from trading_strategy.strategies.context import Context
from trading_strategy.testing import make_bars, scripted


def _goog(size: str, cash: str = "10000") -> dict[str, Any]:
    settings = BacktestSettings(size=SizeSpec.parse(size), initial_cash=Decimal(cash))
    return build_report(run_backtest("sma_crossover", load_bars("GOOG").bars, settings))


@pytest.mark.parametrize(("size", "hint"), [("0.5", "e.g. 1) or a share of equity such as 50%"),
                                            ("2.5", "e.g. 2, 3)")])
def test_a_fractional_quantity_on_whole_lots_is_an_error_naming_the_lot(size: str,
                                                                      hint: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _goog(size)
    message = str(caught.value)
    assert f"--size {size} is not a whole number of lots: GOOG trades in lots of 1" in message
    assert hint in message


def test_the_cli_gives_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backtest", "--strategy", "sma_crossover", "--data", "GOOG", "--size", "0.5",
                 "--no-store"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --size 0.5 is not a whole number of lots")
    assert err.count("\n") == 1


def test_a_fractional_quantity_in_fractional_lots_trades_exactly_that() -> None:
    bars = make_bars([100.0, 101.0, 102.0, 103.0], lot_size="0.001")

    def on_bar(ctx: Context, i: int) -> None:
        if i == 0:
            ctx.buy()
        if i == 2:
            ctx.close()

    settings = BacktestSettings(size=SizeSpec.parse("0.5"))
    rep = build_report(run_backtest(scripted(on_bar), bars, settings,
                                    allow_short_history=True))
    assert [t["quantity"] for t in rep["trades"]] == [0.5]
    # bought 0.5 at the open of bar 1 (100.00), sold at the open of bar 3 (102.00)
    assert rep["trades"][0]["pnl"] == 1


def test_whole_quantities_still_trade() -> None:
    rep = _goog("2")
    assert rep["trades"] and {t["quantity"] for t in rep["trades"]} == {2}


def test_the_summary_counts_orders_refused_for_size() -> None:
    # 1 % of 1,000 is 10 dollars: not one GOOG share (over 100 dollars) at any time
    rep = _goog("1%", cash="1000")
    orders = rep["orders"]
    assert isinstance(orders, dict)
    refused = orders["by_status"]["denied"]
    assert refused == orders["submitted"] > 0  # every order, counted independently
    assert orders["rejections"] == {"zero_size": refused}
    summary = format_summary(rep)
    assert f"Orders rejected         {refused} (zero_size: {refused})" in summary
    assert f"{refused} for size: rounded to zero lots (raise --size or --cash)" in summary


def test_no_rejection_line_when_nothing_was_refused() -> None:
    assert "Orders rejected" not in format_summary(_goog("all-in"))


def test_the_html_report_counts_them_too() -> None:
    rep = _goog("1%", cash="1000")
    times = [p["time"] for p in rep["equity_curve"]]
    page = render_html(rep, price_time=times, price_close=[1.0] * len(times))
    refused = rep["orders"]["rejections"]["zero_size"]
    assert f"<tr><th>rejected: zero_size</th><td>{refused}</td></tr>" in page
