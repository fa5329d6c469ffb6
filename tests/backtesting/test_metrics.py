"""Metrics pinned to hand-computed values; the arithmetic is in the comments."""

from __future__ import annotations

import math
from dataclasses import fields

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from trading_strategy.backtesting.metrics import (
    Metrics,
    TradeOutcome,
    annualized_volatility,
    cagr,
    compute_metrics,
    drawdown_series,
    max_drawdown,
    periodic_returns,
    sharpe_ratio,
    sortino_ratio,
)


def curve(*values: float) -> NDArray[np.float64]:
    return np.array(values, dtype=np.float64)


# The worked example used throughout: up 10%, down 10%, then a new high.
#   r1 = 110/100 - 1 = 0.1
#   r2 = 99/110 - 1  = -0.1
#   r3 = 120/99 - 1  = 21/99 = 7/33 = 0.212121...
#   mean(r) = (0.1 - 0.1 + 7/33) / 3 = 7/99
#   deviations from the mean, in units of 1/99: 9.9 - 7 = 2.9, -9.9 - 7 = -16.9, 21 - 7 = 14
#   sum of squares = (2.9² + 16.9² + 14²) / 99² = (8.41 + 285.61 + 196) / 99² = 490.02 / 99²
#   sample variance (ddof=1) = 245.01 / 99²  ->  std(r) = sqrt(245.01) / 99
EXAMPLE = curve(100, 110, 99, 120)
STD_EXAMPLE = math.sqrt(245.01) / 99
TRADES = [
    TradeOutcome(pnl=50.0, ret=0.05),
    TradeOutcome(pnl=-20.0, ret=-0.02),
    TradeOutcome(pnl=30.0, ret=0.03),
    TradeOutcome(pnl=-10.0, ret=-0.01),
]


def metrics_for(
    equity: NDArray[np.float64],
    *,
    periods_per_year: float = 252,
    trades: list[TradeOutcome] | None = None,
    risk_free_rate: float = 0.0,
) -> Metrics:
    return compute_metrics(
        equity,
        periods_per_year=periods_per_year,
        trades=trades or [],
        bars_in_market=0,
        traded_notional=0.0,
        commission=0.0,
        slippage=0.0,
        risk_free_rate=risk_free_rate,
    )


# ------------------------------------------------------------------------ curve helpers


def test_periodic_returns_of_example() -> None:
    assert periodic_returns(EXAMPLE) == pytest.approx([0.1, -0.1, 7 / 33], abs=1e-15)


def test_drawdown_series_is_fraction_below_running_peak() -> None:
    # running peak: 100, 110, 110, 120 -> 1 - E/peak: 0, 0, 1 - 99/110 = 0.1, 0
    assert drawdown_series(EXAMPLE) == pytest.approx([0.0, 0.0, 0.1, 0.0], abs=1e-15)


def test_max_drawdown_and_duration_of_example() -> None:
    # Peak 110 at bar 1; bar 2 (99) is below it; bar 3 (120) regains it.
    # Depth 1 - 99/110 = 0.1; duration counts bar 2 through bar 3 = 2 bars.
    depth, duration = max_drawdown(EXAMPLE)
    assert depth == pytest.approx(0.1, abs=1e-15)
    assert duration == 2


def test_never_recovered_drawdown_runs_to_the_last_bar() -> None:
    # Peak 120 at bar 1, never regained: bars 2, 3, 4 are all underwater -> duration 3.
    # Deepest point 90: 1 - 90/120 = 0.25.
    depth, duration = max_drawdown(curve(100, 120, 90, 100, 110))
    assert depth == pytest.approx(0.25, abs=1e-15)
    assert duration == 3


def test_longest_drawdown_need_not_be_the_deepest() -> None:
    # Episode A: peak 100 at bar 0, 90 on bar 1 (depth 0.10), regained on bar 2 -> 2 bars.
    # Episode B: peak 100 at bar 2, 95..98 on bars 3-6 (depth 0.05), back to exactly 100
    #            on bar 7 (touching the peak counts as recovery) -> bars 3..7 = 5 bars.
    depth, duration = max_drawdown(curve(100, 90, 100, 95, 96, 97, 98, 100))
    assert depth == pytest.approx(0.10, abs=1e-15)
    assert duration == 5


def test_monotone_curve_has_no_drawdown() -> None:
    assert max_drawdown(curve(100, 100, 101, 105)) == (0.0, 0)


def test_cagr_over_exactly_one_year() -> None:
    # 4 bars at 4 bars/year: years = 4/4 = 1 -> cagr = 120/100 - 1 = 0.2
    assert cagr(EXAMPLE, periods_per_year=4) == pytest.approx(0.2, abs=1e-15)


def test_cagr_over_two_years() -> None:
    # 4 bars at 2 bars/year: years = 2 -> cagr = 1.2 ** (1/2) - 1 = 0.0954451150...
    assert cagr(EXAMPLE, periods_per_year=2) == pytest.approx(math.sqrt(1.2) - 1, rel=1e-12)
    assert cagr(EXAMPLE, periods_per_year=2) == pytest.approx(0.0954451150103, rel=1e-10)


def test_cagr_is_none_when_account_ends_non_positive() -> None:
    assert cagr(curve(100, 50, 0), periods_per_year=252) is None
    assert cagr(curve(100, 50, -5), periods_per_year=252) is None


def test_cagr_overflow_is_none_not_inf() -> None:
    # 1000x in 2 minute bars of a 24/7 market annualises far past float range.
    assert cagr(curve(1, 1000), periods_per_year=365 * 24 * 60) is None


# ---------------------------------------------------------------------- return helpers


def test_volatility_by_hand() -> None:
    # std(r) * sqrt(252) = sqrt(245.01)/99 * sqrt(252) = 0.1581088... * 15.8745... = 2.50989...
    vol = annualized_volatility(periodic_returns(EXAMPLE), 252)
    assert vol == pytest.approx(STD_EXAMPLE * math.sqrt(252), rel=1e-12)
    assert vol == pytest.approx(2.50989, rel=1e-5)


def test_sharpe_by_hand() -> None:
    # mean/std * sqrt(252) = (7/99) / (sqrt(245.01)/99) * sqrt(252) = 7 * sqrt(252/245.01)
    #                      = 7 * 1.0141638... = 7.0991508...
    sharpe = sharpe_ratio(periodic_returns(EXAMPLE), 252)
    assert sharpe == pytest.approx(7 * math.sqrt(252 / 245.01), rel=1e-12)
    assert sharpe == pytest.approx(7.0991508, rel=1e-7)


def test_sortino_by_hand() -> None:
    # min(0, r) = [0, -0.1, 0] -> DD = sqrt(0.01 / 3) = 0.1 / sqrt(3)   (all 3 periods)
    # sortino = (7/99) / (0.1/sqrt(3)) * sqrt(252) = (70/99) * sqrt(756)
    #         = (70/99) * 6*sqrt(21) = 140*sqrt(21)/33 = 19.441230...
    sortino = sortino_ratio(periodic_returns(EXAMPLE), 252)
    assert sortino == pytest.approx(140 * math.sqrt(21) / 33, rel=1e-12)
    assert sortino == pytest.approx(19.44123, rel=1e-6)


def test_positive_risk_free_rate_lowers_sharpe_and_sortino() -> None:
    # Choose the annual rate so that rf_p = (1 + rf)**(1/252) - 1 = 0.01 exactly (in maths).
    rf = 1.01**252 - 1
    returns = periodic_returns(EXAMPLE)
    # Shifting every return by 0.01 leaves the std unchanged; the mean becomes 7/99 - 0.01:
    #   sharpe = (7/99 - 0.01) / (sqrt(245.01)/99) * sqrt(252) = 6.01 * sqrt(252/245.01)
    sharpe = sharpe_ratio(returns, 252, risk_free_rate=rf)
    assert sharpe == pytest.approx(6.01 * math.sqrt(252 / 245.01), rel=1e-9)
    # Excess [0.09, -0.11, 0.2021...]: DD = sqrt(0.11² / 3) = 0.11/sqrt(3)
    #   sortino = (6.01/99) / (0.11/sqrt(3)) * sqrt(252) = 6.01 * 6*sqrt(21) / (99 * 0.11)
    sortino = sortino_ratio(returns, 252, risk_free_rate=rf)
    assert sortino == pytest.approx(6.01 * 6 * math.sqrt(21) / (99 * 0.11), rel=1e-9)
    zero_rf_sharpe = sharpe_ratio(returns, 252)
    assert sharpe is not None and zero_rf_sharpe is not None
    assert sharpe < zero_rf_sharpe


def test_sharpe_matches_direct_numpy_formula() -> None:
    rng = np.random.default_rng(20240601)
    equity = np.asarray(10_000 * np.cumprod(1 + rng.normal(0.0004, 0.01, size=500)), np.float64)
    rf = 0.03
    r = equity[1:] / equity[:-1] - 1
    excess = r - ((1 + rf) ** (1 / 365) - 1)
    expected = excess.mean() / excess.std(ddof=1) * np.sqrt(365)
    assert sharpe_ratio(periodic_returns(equity), 365, rf) == pytest.approx(expected, rel=1e-12)
    got = metrics_for(equity, periods_per_year=365, risk_free_rate=rf).sharpe
    assert got == pytest.approx(expected, rel=1e-12)


def test_flat_equity_has_no_sharpe_or_sortino() -> None:
    m = metrics_for(curve(100, 100, 100, 100))
    assert m.sharpe is None
    assert m.sortino is None
    assert m.volatility == 0.0
    assert m.total_return == 0.0
    assert m.cagr == 0.0
    assert (m.max_drawdown, m.max_drawdown_duration) == (0.0, 0)
    assert m.calmar is None  # no drawdown to divide by


def test_constant_growth_rounding_noise_is_not_a_huge_sharpe() -> None:
    # 100 * 1.001**t: the returns are all 0.001 in exact arithmetic, but the float
    # divisions leave a std of ~1.7e-16, which naively gives a Sharpe of ~6e12.
    equity = 100 * 1.001 ** np.arange(10.0)
    assert np.std(periodic_returns(equity), ddof=1) > 0  # the noise really is there
    assert sharpe_ratio(periodic_returns(equity), 252) is None
    assert sortino_ratio(periodic_returns(equity), 252) is None  # no downside at all


def test_ratios_need_two_returns() -> None:
    one_return = periodic_returns(curve(100, 110))
    assert annualized_volatility(one_return, 252) is None
    assert sharpe_ratio(one_return, 252) is None
    assert sortino_ratio(one_return, 252) is None
    assert sharpe_ratio(np.array([], dtype=np.float64), 252) is None


# ---------------------------------------------------------------------- compute_metrics


def test_compute_metrics_full_example() -> None:
    m = compute_metrics(
        EXAMPLE,
        periods_per_year=4,
        trades=TRADES,
        bars_in_market=3,
        traded_notional=214.5,
        commission=1.25,
        slippage=0.75,
    )
    assert m.total_return == pytest.approx(0.2, abs=1e-15)  # 120/100 - 1
    assert m.cagr == pytest.approx(0.2, abs=1e-15)  # years = 4/4 = 1
    assert m.max_drawdown == pytest.approx(0.1, abs=1e-15)
    assert m.max_drawdown_duration == 2
    assert m.calmar == pytest.approx(2.0, rel=1e-12)  # 0.2 / 0.1
    # With 4 periods a year: sharpe = 7 * sqrt(4/245.01); sortino = (70/99) * sqrt(3 * 4)
    assert m.sharpe == pytest.approx(7 * math.sqrt(4 / 245.01), rel=1e-12)
    assert m.sortino == pytest.approx(70 / 99 * math.sqrt(12), rel=1e-12)
    assert m.volatility == pytest.approx(STD_EXAMPLE * 2, rel=1e-12)  # sqrt(4) = 2
    # Trades: pnl [50, -20, 30, -10]; wins 50, 30; losses -20, -10.
    assert m.trades == 4
    assert m.win_rate == 0.5  # 2 / 4
    assert m.profit_factor == pytest.approx(8 / 3, rel=1e-15)  # 80 / |-30|
    assert m.expectancy == 12.5  # (50 - 20 + 30 - 10) / 4 = 50 / 4
    assert m.average_win == 40.0  # (50 + 30) / 2
    assert m.average_loss == -15.0  # (-20 - 10) / 2
    assert m.exposure == 0.75  # 3 of 4 bars in the market
    assert m.turnover == 2.0  # mean equity (100+110+99+120)/4 = 107.25; 214.5 / 107.25
    assert (m.commission, m.slippage) == (1.25, 0.75)


def test_no_trades_gives_none_trade_stats() -> None:
    m = metrics_for(EXAMPLE)
    assert m.trades == 0
    assert m.win_rate is None
    assert m.profit_factor is None
    assert m.expectancy is None
    assert m.average_win is None
    assert m.average_loss is None


def test_only_winning_trades_has_no_profit_factor() -> None:
    m = metrics_for(EXAMPLE, trades=[TradeOutcome(10.0, 0.01), TradeOutcome(30.0, 0.03)])
    assert m.win_rate == 1.0
    assert m.profit_factor is None  # 40 / 0 would be infinite
    assert m.average_win == 20.0
    assert m.average_loss is None


def test_break_even_trade_counts_but_is_neither_win_nor_loss() -> None:
    m = metrics_for(EXAMPLE, trades=[TradeOutcome(10.0, 0.01), TradeOutcome(0.0, 0.0)])
    assert m.trades == 2
    assert m.win_rate == 0.5  # 1 win of 2 trades
    assert m.expectancy == 5.0  # (10 + 0) / 2
    assert m.profit_factor is None  # no losing trade
    assert m.average_loss is None


def test_only_losing_trades_has_zero_profit_factor() -> None:
    m = metrics_for(EXAMPLE, trades=[TradeOutcome(-10.0, -0.01)])
    assert m.win_rate == 0.0
    assert m.profit_factor == 0.0  # 0 / |-10|
    assert m.average_win is None


def test_single_bar_equity() -> None:
    m = metrics_for(curve(100))
    assert m.total_return == 0.0
    assert m.volatility is None
    assert m.sharpe is None
    assert m.sortino is None
    assert m.calmar is None
    assert (m.max_drawdown, m.max_drawdown_duration) == (0.0, 0)
    # years = 1/252 > 0, so cagr follows its formula: 1 ** 252 - 1 = 0.
    assert m.cagr == 0.0


def test_wiped_out_account_has_no_return_ratios() -> None:
    # Equity hits 0 on bar 2, so r3 = 10/0 - 1 is undefined: no volatility/sharpe/sortino.
    m = metrics_for(curve(100, 50, 0, 10))
    assert m.volatility is None
    assert m.sharpe is None
    assert m.sortino is None
    assert m.max_drawdown == 1.0  # 1 - 0/100
    assert m.total_return == pytest.approx(-0.9)
    with pytest.raises(ValueError, match="wiped out"):
        periodic_returns(curve(100, 50, 0, 10))
    with pytest.raises(ValueError, match="risk_free_rate"):
        metrics_for(curve(100, 50, 0, 10), risk_free_rate=-2.0)


def test_mean_equity_not_positive_leaves_only_turnover_undefined() -> None:
    # mean(100, -300) = -100: turnover would divide by a negative "capital"; a wiped-out
    # account (a short that rallied) still has every other figure
    m = metrics_for(curve(100, -300))
    assert m.turnover is None
    assert m.total_return == pytest.approx(-4.0)
    assert m.max_drawdown == pytest.approx(4.0)


def test_as_dict_preserves_field_order() -> None:
    m = metrics_for(EXAMPLE, trades=TRADES)
    d = m.as_dict()
    assert list(d) == [f.name for f in fields(Metrics)]
    assert list(d)[:3] == ["total_return", "cagr", "volatility"]
    assert d["trades"] == 4
    assert d["profit_factor"] == m.profit_factor


# ------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("equity", "message"),
    [
        (curve(), "empty"),
        (curve(100, math.nan, 120), "non-finite value nan at index 1"),
        (curve(100, math.inf), "non-finite"),
        (curve(0, 100), "start positive"),
        (np.ones((2, 2)), "one-dimensional"),
    ],
)
def test_bad_equity_raises_value_error(equity: NDArray[np.float64], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        metrics_for(equity)
    with pytest.raises(ValueError, match=message):
        max_drawdown(equity)


@pytest.mark.parametrize("periods_per_year", [0, -252, math.nan, math.inf])
def test_bad_periods_per_year(periods_per_year: float) -> None:
    with pytest.raises(ValueError, match="periods_per_year"):
        metrics_for(EXAMPLE, periods_per_year=periods_per_year)


@pytest.mark.parametrize("rate", [-1.0, math.nan])
def test_bad_risk_free_rate(rate: float) -> None:
    with pytest.raises(ValueError, match="risk_free_rate"):
        metrics_for(EXAMPLE, risk_free_rate=rate)


def test_nan_returns_raise() -> None:
    with pytest.raises(ValueError, match="returns has a non-finite"):
        sharpe_ratio(curve(0.1, math.nan, 0.2), 252)


def test_bad_scalar_arguments_raise() -> None:
    base = {
        "periods_per_year": 252,
        "trades": [],
        "bars_in_market": 0,
        "traded_notional": 0.0,
        "commission": 0.0,
        "slippage": 0.0,
    }
    for key, value, message in [
        ("bars_in_market", 5, "bars_in_market"),
        ("bars_in_market", -1, "bars_in_market"),
        ("traded_notional", -1.0, "traded_notional"),
        ("commission", math.nan, "commission"),
        ("slippage", math.inf, "slippage"),
    ]:
        with pytest.raises(ValueError, match=message):
            compute_metrics(EXAMPLE, **{**base, key: value})  # type: ignore[arg-type]


def test_trade_outcome_rejects_non_finite() -> None:
    with pytest.raises(ValueError, match="finite"):
        TradeOutcome(pnl=math.nan, ret=0.0)


# ------------------------------------------------------------------------- property


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.floats(min_value=1e-3, max_value=1e9, allow_nan=False, allow_infinity=False),
        min_size=1,
        max_size=60,
    ),
    st.sampled_from([4.0, 252.0, 365.0, 365.0 * 24 * 60]),
)
def test_metrics_never_hold_nan_or_inf(values: list[float], periods_per_year: float) -> None:
    equity = np.array(values, dtype=np.float64)
    m = metrics_for(equity, periods_per_year=periods_per_year, risk_free_rate=0.02)
    for name, value in m.as_dict().items():
        assert value is None or math.isfinite(value), name
    assert 0.0 <= m.max_drawdown < 1.0
    assert 0 <= m.max_drawdown_duration < len(values)
