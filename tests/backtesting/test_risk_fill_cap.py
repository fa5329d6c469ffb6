"""``max_position_pct`` holds at the fill price, not only at the decision close (issue 8 item 6).

The gate values an entry at the close it is decided on; a market order fills at the next open.
Before the fix a gap up made GOOG entries worth up to 10.03 % of equity with a 10 % cap (up to
11 % in the issue's run). The simulated venue now re-checks every size cap at the fill price,
with equity marked at that price net of the fill's commission, and cuts the fill.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading_strategy.backtesting.runner import run_backtest
from trading_strategy.backtesting.settings import BacktestSettings
from trading_strategy.cli import main
from trading_strategy.core.enums import Side
from trading_strategy.kernel.costs import PercentCommission
from trading_strategy.kernel.sizing import SizeSpec
from trading_strategy.risk import RiskSettings
from trading_strategy.strategies.context import Context
from trading_strategy.testing import make_bars, scripted


def test_goog_positions_stay_within_the_cap_at_their_fill_price(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADING_STRATEGY_DATA_DIR", str(tmp_path))
    config = tmp_path / "risk.toml"
    config.write_text("[risk]\nmax_position_pct = 10\n")
    out = tmp_path / "report.json"
    assert main(["backtest", "--strategy", "sma_crossover", "--data", "GOOG", "--risk-config",
                 str(config), "--json", str(out), "--quiet", "--no-store"]) == 0
    report = json.loads(out.read_text())
    equity = [p["equity"] for p in report["equity_curve"]]
    times = [p["time"] for p in report["equity_curve"]]
    assert report["metrics"]["commission"] == 0 and report["trades"]
    worst = 0.0
    for trade in report["trades"]:
        # sma_crossover enters from flat: the equity at the fill is the previous close's
        # (all cash), and no commission is charged, so the ratio is exact
        before = equity[times.index(trade["entry_time"]) - 1]
        worst = max(worst, trade["quantity"] * trade["entry_price"] / before)
    # 1e-12: the report's decimals read back as floats (the engine compares integers)
    assert worst <= 0.10 + 1e-12, worst
    assert worst > 0.09  # the cap binds: the test can tell 10 % from far less
    assert report["risk"]["verdicts"].get("resized_at_fill:max_position", 0) > 0


@settings(max_examples=60, deadline=None)
@given(
    closes=st.lists(st.integers(min_value=50, max_value=200), min_size=6, max_size=30),
    gaps=st.lists(st.integers(min_value=-30, max_value=30), min_size=30, max_size=30),
    pct=st.sampled_from([5, 10, 33.3, 60]),
    commission_bps=st.sampled_from([0, 10, 50]),
    short=st.booleans(),
)
def test_no_fill_grows_a_position_above_the_cap_at_its_price(
        closes: list[int], gaps: list[int], pct: float, commission_bps: int,
        short: bool) -> None:
    # opens gap away from the previous close by up to 30 %; the strategy asks for far more
    # than the cap every bar (all-in, or a fixed 1000 shares), in one direction
    opens = [closes[0]] + [max(1, c + c * g // 100) for c, g in zip(closes, gaps[1:],
                                                                     strict=False)]
    opens = opens[: len(closes)]
    highs = [max(o, c) for o, c in zip(opens, closes, strict=True)]
    lows = [min(o, c) for o, c in zip(opens, closes, strict=True)]
    bars = make_bars(closes, open=opens, high=highs, low=lows)
    side = Side.SELL if short else Side.BUY

    def on_bar(ctx: Context, i: int) -> None:
        if i % 4 == 3:
            ctx.close()
        else:
            ctx.submit_order(side, 1000 if short else None)

    costs = BacktestSettings(commission=PercentCommission(Decimal(commission_bps) / 10_000),
                             size=SizeSpec.parse("all-in"))
    result = run_backtest(scripted(on_bar), bars, costs,
                          risk=RiskSettings(max_position_pct=pct, check_buying_power=False),
                          allow_short_history=True)
    engine = result.engine
    cash, position = engine.initial_cash_units, 0
    ppm = int(Decimal(str(pct)) * 10_000)
    for fill in engine.state.fills:
        sign = 1 if fill.side is Side.BUY else -1
        before = abs(position)
        cash -= sign * fill.lots * fill.price_ticks + fill.commission
        position += sign * fill.lots
        if abs(position) > before:  # the fill grew the position: the cap must hold exactly
            equity = cash + position * fill.price_ticks
            assert abs(position) * fill.price_ticks * 1_000_000 <= ppm * equity, (fill, equity)
