"""Portfolio backtest throughput: three strategies on three synthetic symbols, 1,000,000
one-minute bars each (issue 10's target: at least 500,000 bars/s in total).

sma_crossover(10, 30), rsi_reversion (defaults) and donchian_breakout (defaults), each on its
own geometric Brownian motion (``backtest_throughput.synthetic_gbm``, seeds 42, 43, 44) with
its own capital; 0.1% commission per fill, one unit per order, every order through the risk
engine. Two runs:

* **independent** (the headline): risk settings with no portfolio-level rule (no loss limit
  on the total, no cap in % of the total equity, buying power not checked), so each
  strategy runs its own tight loop;
* **lockstep**: the same with a portfolio drawdown limit (``max_drawdown_pct``), so the
  engines step together in timestamp order and the total equity feeds the risk engine after
  every minute.

The timed part is everything after the raw price arrays exist (bar series, indicators, the
loops, fills, equity curves, per-strategy and portfolio metrics); report writing excluded.

    .venv/bin/python bench/portfolio_throughput.py [--bars N] [--repeat R]

Prints readable figures; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from backtest_throughput import synthetic_gbm

STRATEGIES = (("sma_crossover", {"fast": 10, "slow": 30}), ("rsi_reversion", {}),
              ("donchian_breakout", {}))


def run(raw: list[dict[str, Any]], risk: Any) -> tuple[float, Any]:
    from trading_strategy.backtesting.portfolio import Sleeve, run_portfolio
    from trading_strategy.backtesting.settings import BacktestSettings
    from trading_strategy.core.bars import BarSeries
    from trading_strategy.core.instrument import AssetClass, Calendar, Instrument
    from trading_strategy.core.timeframe import Timeframe
    from trading_strategy.kernel.costs import PercentCommission
    from trading_strategy.kernel.sizing import SizeSpec

    # a fixed size keeps every signal trading for the whole run (see backtest_throughput)
    settings = BacktestSettings(initial_cash=Decimal(100_000),
                                commission=PercentCommission(Decimal("0.001")),
                                size=SizeSpec.parse("1"))
    t0 = time.perf_counter()
    sleeves = []
    for k, ((name, params), cols) in enumerate(zip(STRATEGIES, raw, strict=True)):
        inst = Instrument(f"GBM{k}", tick_size=Decimal("0.01"), lot_size=Decimal("1"),
                          asset_class=AssetClass.CRYPTO, calendar=Calendar.ALWAYS)
        bars = BarSeries(inst, Timeframe.parse("1m"), cols["ts"], cols["open"], cols["high"],
                         cols["low"], cols["close"], cols["volume"])
        sleeves.append(Sleeve(name, name, params, bars, settings))
    result = run_portfolio(sleeves, risk, allow_short_history=True)  # 1M minutes: 1.9 y
    return time.perf_counter() - t0, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000, help="bars per symbol")
    parser.add_argument("--repeat", type=int, default=3,
                        help="timed runs of each mode; the best is the headline (a shared "
                             "VM), the median is printed beside it")
    args = parser.parse_args()

    from trading_strategy.risk import RiskSettings

    raw = [synthetic_gbm(args.bars, seed=42 + k) for k in range(len(STRATEGIES))]
    total_bars = args.bars * len(STRATEGIES)
    modes = {
        "independent": RiskSettings(check_buying_power=False),
        "lockstep": RiskSettings(check_buying_power=False, max_drawdown_pct=50),
    }
    figures: dict[str, Any] = {"bars_per_symbol": args.bars, "strategies": len(STRATEGIES),
                               "bars_total": total_bars}
    print(f"{len(STRATEGIES)} strategies on {len(STRATEGIES)} synthetic symbols, "
          f"{args.bars:,} one-minute bars each ({total_bars:,} bars)")
    for label, risk in modes.items():
        timings = []
        result = None
        for _ in range(max(1, args.repeat)):
            result = None
            seconds, result = run(raw, risk)
            timings.append(seconds)
        assert result is not None and result.mode == label, (label, result and result.mode)
        best, median = min(timings), statistics.median(timings)
        trades = {s.name: s.result.metrics.trades for s in result.sleeves}
        figures[f"{label}_seconds"] = round(best, 4)
        figures[f"{label}_bars_per_sec"] = round(total_bars / best)
        figures[f"{label}_bars_per_sec_median"] = round(total_bars / median)
        figures[f"{label}_trades"] = trades
        figures[f"{label}_total_return"] = round(result.metrics.total_return, 6)
        print(f"  {label:<12} {best:.3f} s (best of {len(timings)}; median {median:.3f} s)"
              f"  {total_bars / best:,.0f} bars/s (median {total_bars / median:,.0f})")
        print(f"  {'':<12} closed trades {trades}")
    figures["target_bars_per_sec"] = 500_000
    figures["meets_target"] = figures["independent_bars_per_sec"] >= 500_000
    print(f"  target       500,000 bars/s in total (independent): "
          f"{'met' if figures['meets_target'] else 'NOT met'}")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
