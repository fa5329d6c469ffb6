"""Each diagnostic against a worked example from its paper or a hand computation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from trading_strategy.research import diagnostics as dg


def test_deflated_sharpe_ratio_matches_the_papers_numerical_example() -> None:
    """Bailey & López de Prado (2014), "The Deflated Sharpe Ratio", J. Portfolio Management
    40(5), section "A numerical example": an annualised SR of 2.5 from 5 years of daily
    returns (T = 1250, 250 days a year), N = 100 trials whose annualised SR estimates have
    variance 1/2, skewness -3, kurtosis 10. The paper finds SR0 ≈ 0.1132 (per day) and
    DSR ≈ 0.9004. By hand: V = 0.5/250 = 0.002, √V = 0.044721;
    (1-γ)·Φ⁻¹(0.99) + γ·Φ⁻¹(1 - 1/(100e)) = 0.42279·2.32635 + 0.57722·2.67999 = 2.53053,
    SR0 = 0.11317; SR = 2.5/√250 = 0.158114;
    z = (0.158114 - 0.11317)·√1249 / √(1 + 3·0.158114 + 9/4·0.025) = 1.5884/1.23718,
    DSR = Φ(1.2839) ≈ 0.9004."""
    sr0 = dg.expected_max_sharpe(0.5 / 250, 100)
    assert sr0 == pytest.approx(0.1132, abs=5e-5)
    result = dg.deflated_sharpe_ratio(2.5 / math.sqrt(250), 1250, -3.0, 10.0,
                                      n_trials=100, sr_variance=0.5 / 250)
    assert result.sr0 == pytest.approx(sr0)
    assert result.dsr == pytest.approx(0.9004, abs=5e-4)
    assert "NOT significant" in result.verdict()


def test_probabilistic_sharpe_ratio_against_zero_with_normal_returns() -> None:
    """PSR (DSR paper, eq. 1) with skew 0 and kurtosis 3, by hand: SR = 0.1, T = 101,
    z = 0.1·√100 / √(1 + 2/4·0.01) = 1/√1.005 = 0.997509,
    Φ(z) ≈ Φ(1) - 0.002491·φ(1) = 0.841345 - 0.000603 = 0.840742."""
    assert dg.probabilistic_sharpe_ratio(0.1, 0.0, 101, 0.0, 3.0) == pytest.approx(
        0.840742, abs=2e-6)
    # one trial: nothing to deflate (SR0 = 0), DSR = PSR(0)
    assert dg.expected_max_sharpe(0.01, 1) == 0.0


def _pbo_matrix() -> np.ndarray:
    # rows: 2 blocks of 2 returns; columns: trials A, B, C
    return np.array([[0.03, 0.01, 0.00],
                     [0.01, 0.00, -0.01],
                     [-0.01, 0.02, 0.03],
                     [-0.03, 0.00, 0.01]])


def test_pbo_is_one_when_the_in_sample_best_is_always_the_worst_out_of_sample() -> None:
    """CSCV (Bailey, Borwein, López de Prado & Zhu 2015, section 2, steps 1-6) by hand with
    S = 2 blocks, N = 3 trials; per-block Sharpe = mean/sd(ddof=1):
    block 1: A 0.02/0.014142 = 1.414, B 0.005/0.007071 = 0.707, C -0.707;
    block 2: A -1.414, B 0.707, C 1.414.
    Train on block 1: best A, ranks 1st of 3 on block 2, ω = 1/4, λ = ln(1/3) < 0.
    Train on block 2: best C, ranks 1st of 3 on block 1, ω = 1/4, λ = ln(1/3) < 0.
    PBO = 2/2 = 1."""
    result = dg.pbo_cscv(_pbo_matrix(), splits=2)
    assert result.pbo == 1.0
    assert result.logits == pytest.approx((math.log(1 / 3), math.log(1 / 3)))
    assert "high" in result.verdict()


def test_pbo_is_zero_when_one_trial_is_best_everywhere() -> None:
    """B shifted up by 0.05 is best in both blocks: ω = 3/4, λ = ln 3 > 0 twice; PBO 0.
    With S = 4 blocks of one row each pair, C(4, 2) = 6 splits."""
    m = _pbo_matrix()
    m[:, 1] += 0.05
    assert dg.pbo_cscv(m, splits=2).logits == pytest.approx((math.log(3), math.log(3)))
    wide = np.vstack([m, m])  # 8 rows: 4 blocks of 2
    result = dg.pbo_cscv(wide, splits=4)
    assert len(result.logits) == 6
    assert result.pbo == 0.0


def test_pbo_rejects_odd_splits() -> None:
    with pytest.raises(ValueError, match="even"):
        dg.pbo_cscv(_pbo_matrix(), splits=3)


def test_bootstrap_intervals_of_two_trades_by_hand() -> None:
    """Trades +10 %, -10 %: a resample of two is (+,+) with p 1/4 (total +21 %, drawdown 0),
    mixed with p 1/2 (total -1 %, drawdown 10 %), (-,-) with p 1/4 (total -19 %, drawdown
    19 %); each atom holds over 2.5 % of the mass, so the 95 % percentile interval of the
    total return is exactly [-19 %, +21 %] and of the drawdown [0, 19 %]. Every resample
    has mean 0 or sd 0, so the per-trade Sharpe is 0 throughout."""
    result = dg.bootstrap_trades([0.1, -0.1], samples=4000, seed=7)
    assert result is not None
    assert result.total_return.value == pytest.approx(-0.01)
    assert (result.total_return.low, result.total_return.high) == pytest.approx((-0.19, 0.21))
    assert (result.max_drawdown.low, result.max_drawdown.high) == pytest.approx((0.0, 0.19))
    assert (result.sharpe.low, result.sharpe.high) == (0.0, 0.0)
    assert "loss" in result.verdict()
    again = dg.bootstrap_trades([0.1, -0.1], samples=4000, seed=7)
    assert again == result  # seeded: reproducible
    assert dg.bootstrap_trades([0.1]) is None


def test_compounded_max_drawdown_by_hand() -> None:
    """+50 %, -50 %, +20 %: curve 1, 1.5, 0.75, 0.9; deepest fall 1 - 0.75/1.5 = 50 %."""
    assert dg.compounded_max_drawdown(np.array([0.5, -0.5, 0.2])) == pytest.approx(0.5)


def test_stability_plateau_and_spike() -> None:
    """5 x 5 grid of zeros; best 10 in the centre. Plateau: its 8 neighbours are 8, the
    grid's median 0, ratio (8 - 0)/(10 - 0) = 0.8. Spike: neighbours 0, ratio 0."""
    plateau = np.zeros((5, 5))
    plateau[1:4, 1:4] = 8.0
    plateau[2, 2] = 10.0
    result = dg.stability(plateau)
    assert (result.verdict_word, result.neighbours) == ("plateau", 8)
    assert result.ratio == pytest.approx(0.8)
    spike = np.zeros((5, 5))
    spike[2, 2] = 10.0
    assert dg.stability(spike).verdict_word == "spike"
    # minimising: the best is the smallest
    assert dg.stability(-plateau, maximize=False).ratio == pytest.approx(0.8)
    # a corner optimum has 3 neighbours; NaN (unscored) points are not neighbours
    corner = np.full((3, 3), np.nan)
    corner[0, 0], corner[0, 1] = 5.0, 1.0
    assert dg.stability(corner).neighbours == 1
    assert dg.stability(np.full((2, 2), np.nan)).verdict_word == "undefined"
