"""Backtest throughput: sma_crossover(10, 30) over 1,000,000 synthetic one-minute bars.

Geometric Brownian motion (seed 42) generated here; 0.1% commission per fill; one unit per
order; market orders fill at the next bar's open. The timed part is everything after the raw
price arrays exist: building the bar series, tick conversion, indicators, the per-bar
strategy loop, fills, the equity curve and the metrics (data preparation included, report
writing excluded).

    .venv/bin/python bench/backtest_throughput.py [--bars N]

Prints readable figures; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import statistics
import sys
import time
from decimal import Decimal

import numpy as np


def synthetic_gbm(n: int, seed: int = 42) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    dt = 1.0 / (365 * 24 * 60)
    mu, sigma = 0.05, 0.6
    log_ret = (mu - 0.5 * sigma**2) * dt + sigma * np.sqrt(dt) * rng.standard_normal(n)
    close = 100.0 * np.exp(np.cumsum(log_ret))
    open_ = np.concatenate(([100.0], close[:-1]))
    wiggle = np.abs(rng.standard_normal(n)) * sigma * np.sqrt(dt) * close
    high = np.maximum(open_, close) + wiggle
    low = np.minimum(open_, close) - wiggle
    volume = rng.integers(100, 10_000, n).astype(np.float64)
    start = np.datetime64("2020-01-01T00:00:00", "ns").astype(np.int64)
    ts = start + np.arange(n, dtype=np.int64) * 60_000_000_000
    return {"ts": ts, "open": np.round(open_, 2), "high": np.round(high, 2),
            "low": np.round(low, 2), "close": np.round(close, 2), "volume": volume}


def plain_loop(raw: dict[str, np.ndarray], fast: int = 10, slow: int = 30,
               fee: float = 0.001) -> tuple[float, int]:
    """The same strategy with no framework: numpy SMAs, then one Python loop over the bars
    (cross up: buy 1 unit at the next open; cross down: sell it at the next open; 0.1 %
    commission), floats, no orders, no risk, no report. The floor a per-bar Python loop
    costs: it shows how much of our time is the engine. Returns (seconds, round trips)."""
    t0 = time.perf_counter()
    close, open_ = raw["close"], raw["open"]
    csum = np.concatenate(([0.0], np.cumsum(close)))
    n = len(close)
    f = np.full(n, np.nan)
    s = np.full(n, np.nan)
    f[fast - 1:] = (csum[fast:] - csum[:-fast]) / fast
    s[slow - 1:] = (csum[slow:] - csum[:-slow]) / slow
    fl, sl, op = f.tolist(), s.tolist(), open_.tolist()
    cash, position, pending, trips = 1_000_000.0, 0, 0, 0
    for i in range(1, n):
        if pending:  # the order decided on the previous bar fills at this open
            price = op[i]
            cash -= pending * price + abs(pending) * price * fee
            position += pending
            trips += pending < 0
            pending = 0
        a, b, pa, pb = fl[i], sl[i], fl[i - 1], sl[i - 1]
        if a > b and pa <= pb and position == 0:
            pending = 1
        elif a < b and pa >= pb and position > 0:
            pending = -position
    return time.perf_counter() - t0, trips


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5,
                        help="timed runs; the best is the headline (as timeit does: the "
                             "machine is a shared VM), the median is printed beside it")
    args = parser.parse_args()

    from trading_strategy.backtesting.runner import run_backtest
    from trading_strategy.backtesting.settings import BacktestSettings
    from trading_strategy.core.bars import BarSeries
    from trading_strategy.core.instrument import AssetClass, Calendar, Instrument
    from trading_strategy.core.timeframe import Timeframe
    from trading_strategy.kernel.costs import PercentCommission
    from trading_strategy.kernel.sizing import SizeSpec

    raw = synthetic_gbm(args.bars)
    # a fixed size keeps every crossover trading for the whole run (all-in would let the
    # commission drain the account and later orders size to zero)
    settings = BacktestSettings(commission=PercentCommission(Decimal("0.001")),
                                size=SizeSpec.parse("1"))
    instrument = Instrument("GBM", tick_size=Decimal("0.01"), lot_size=Decimal("1"),
                            asset_class=AssetClass.CRYPTO, calendar=Calendar.ALWAYS)

    timings = []
    result = None
    for _ in range(max(1, args.repeat)):
        result = None  # let the previous run go before measuring the next one's memory
        gc.collect()  # its objects hold cycles: freed only by a collection
        t0 = time.perf_counter()
        bars = BarSeries(instrument, Timeframe.parse("1m"), raw["ts"], raw["open"],
                         raw["high"], raw["low"], raw["close"], raw["volume"])
        result = run_backtest("sma_crossover", bars, settings, {"fast": 10, "slow": 30},
                              allow_short_history=True)  # 1M minutes is 1.9 years
        timings.append(time.perf_counter() - t0)
    seconds = min(timings)
    median = statistics.median(timings)
    assert result is not None
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    m = result.metrics
    fills = len(result.engine.state.fills)
    result = None  # the gated run below is measured for time, not memory

    # the same run through the risk engine with default settings (what the CLI does)
    from trading_strategy.risk import RiskSettings

    t0 = time.perf_counter()
    bars = BarSeries(instrument, Timeframe.parse("1m"), raw["ts"], raw["open"], raw["high"],
                     raw["low"], raw["close"], raw["volume"])
    gated = run_backtest("sma_crossover", bars, settings, {"fast": 10, "slow": 30},
                         risk=RiskSettings(), allow_short_history=True)
    gated_seconds = time.perf_counter() - t0
    assert gated.metrics.trades == m.trades
    plain_seconds, plain_trips = min(plain_loop(raw) for _ in range(max(1, args.repeat)))

    figures = {
        "bars": args.bars,
        "seconds": round(seconds, 4),
        "median_seconds": round(median, 4),
        "bars_per_sec": round(args.bars / seconds),
        "bars_per_sec_median": round(args.bars / median),
        "peak_rss_mb": round(peak_mb, 1),
        "bars_per_sec_risk_gate": round(args.bars / gated_seconds),
        "trades": m.trades,
        "fills": fills,
        "total_return": round(m.total_return, 6),
        "bars_per_sec_plain_loop": round(args.bars / plain_seconds),
        "plain_loop_round_trips": plain_trips,
    }
    print(f"sma_crossover(10,30) on {args.bars:,} synthetic 1m bars (GBM, seed 42)")
    print(f"  time            {seconds:.3f} s (best of {len(timings)}; median {median:.3f} s)")
    print(f"  throughput      {figures['bars_per_sec']:,} bars/s "
          f"(median {figures['bars_per_sec_median']:,})")
    print(f"  with risk gate  {figures['bars_per_sec_risk_gate']:,} bars/s "
          "(default risk settings, every order checked)")
    print(f"  plain loop      {figures['bars_per_sec_plain_loop']:,} bars/s (no framework: "
          f"numpy SMAs and one Python loop, {plain_trips:,} round trips; ours is "
          f"{figures['bars_per_sec'] / figures['bars_per_sec_plain_loop']:.2f}x of it)")
    print(f"  peak RSS        {peak_mb:.1f} MB")
    print(f"  trades / fills  {m.trades:,} / {figures['fills']:,}")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
