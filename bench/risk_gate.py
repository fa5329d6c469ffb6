"""Latency of one pre-trade risk check with every rule enabled.

Run: ``.venv/bin/python bench/risk_gate.py [--checks N] [--warmup N]``

Every limit of ``RiskSettings`` is switched on (with values loose enough that most orders
travel the whole entry path rather than stopping at the first rule), a per-strategy override
is in force, market hours are decided from the XNYS calendar, and the intents rotate over
buys and sells, market and limit orders, entries, reductions and reversals on three symbols.
Each check is timed alone with ``time.perf_counter_ns``. The last line printed is one JSON
object with ``p50_us``, ``p95_us`` and ``p99_us`` (target: p95 < 20 µs).
"""

from __future__ import annotations

import argparse
import collections
import gc
import json
import platform
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal

from trading_strategy.core.enums import OrderType, Side
from trading_strategy.core.instrument import Instrument
from trading_strategy.core.orders import OrderIntent
from trading_strategy.risk import RiskEngine, RiskOverrides, RiskSettings

TARGET_P95_US = 20.0


def _settings() -> RiskSettings:
    every_rule = {
        "max_position_pct": 20,
        "max_strategy_exposure_pct": 60,
        "max_order_notional": Decimal("50000"),
        "price_collar_pct": 5,
        "max_orders_per_minute": 1_000_000,
        "max_open_orders": 50,
        "tradable_symbols": ["AAPL", "MSFT", "IBM"],
        "blocked_symbols": ["GME"],
        "max_daily_loss_pct": 3,
        "max_daily_loss": Decimal("5000"),
        "max_drawdown_pct": 20,
    }
    return RiskSettings(
        **every_rule,
        max_gross_exposure=Decimal("250000"),
        max_leverage=2.0,
        initial_margin_pct=50,
        check_buying_power=True,
        enforce_market_hours=True,
        stop_loss_pct=2,
        take_profit_pct=4,
        strategies={"trend": RiskOverrides(**{**every_rule, "max_position_pct": 15})},
    )


def _intents() -> list[OrderIntent]:
    out = []
    for n, (strategy, symbol, side, lots, limit) in enumerate([
        ("trend", "AAPL", Side.BUY, 40, None),        # grows a long: every cap evaluated
        ("trend", "AAPL", Side.SELL, 10, 18_950),     # reduces (limit inside the collar)
        ("trend", "MSFT", Side.SELL, 30, None),       # reverses a long into a short
        ("meanrev", "IBM", Side.BUY, 500, 14_000),    # large entry: resized by the caps
        ("meanrev", "MSFT", Side.BUY, 5, 41_000),     # entry from flat
        ("meanrev", "IBM", Side.SELL, 3, None),       # reduces
        ("trend", "AAPL", Side.BUY, 5, 25_000),       # outside the collar: rejected
        ("meanrev", "AAPL", Side.BUY, 8, None),       # entry from flat
    ]):
        out.append(OrderIntent(
            client_order_id=f"bench-{n}", strategy=strategy, symbol=symbol, side=side,
            lots=lots, order_type=OrderType.MARKET if limit is None else OrderType.LIMIT,
            limit_ticks=limit,
        ))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checks", type=int, default=100_000)
    parser.add_argument("--warmup", type=int, default=10_000)
    args = parser.parse_args(argv)

    instruments = {s: Instrument(s) for s in ("AAPL", "MSFT", "IBM")}
    engine = RiskEngine(_settings(), instruments)
    account = engine.new_account(equity=20_000_000)  # 200 000.00 in cents
    for symbol, price in (("AAPL", 19_000), ("MSFT", 41_000), ("IBM", 14_000)):
        account.set_last_price(symbol, price)
    account.set_position("trend", "AAPL", 60)
    account.set_position("trend", "MSFT", 20)
    account.set_position("meanrev", "IBM", 40)
    account.set_open_orders("trend", 3)
    account.set_open_orders("meanrev", 1)

    # a Tuesday, 10:00 New York; one check per millisecond stays inside the session
    ts = int(datetime(2024, 3, 5, 15, 0, tzinfo=UTC).timestamp()) * 1_000_000_000
    engine.on_equity(ts, None, account.equity)
    engine.on_equity(ts, "trend", account.equity // 2)
    intents = _intents()
    count = len(intents)
    check = engine.check
    perf = time.perf_counter_ns

    for i in range(args.warmup):
        check(intents[i % count], account, ts + i * 1_000_000)
    ts += args.warmup * 1_000_000

    samples = [0] * args.checks
    statuses: collections.Counter[str] = collections.Counter()
    gc.collect()
    for i in range(args.checks):
        intent = intents[i % count]
        now = ts + i * 1_000_000
        start = perf()
        verdict = check(intent, account, now)
        samples[i] = perf() - start
        statuses[verdict.status.value if verdict.reason is None
                 else f"{verdict.status.value}:{verdict.reason.value}"] += 1

    samples.sort()

    def pct(q: float) -> float:
        return samples[min(len(samples) - 1, int(q * len(samples)))] / 1000.0

    p50, p95, p99 = pct(0.50), pct(0.95), pct(0.99)
    mean = sum(samples) / len(samples) / 1000.0
    worst = samples[-1] / 1000.0
    verdicts = dict(sorted(statuses.items()))
    print(f"risk gate: {args.checks} checks after {args.warmup} warm-up, every rule enabled")
    print(f"  p50 {p50:.2f} µs   p95 {p95:.2f} µs   p99 {p99:.2f} µs   mean {mean:.2f} µs   "
          f"max {worst:.1f} µs")
    print("  verdicts: " + ", ".join(f"{k} {v}" for k, v in verdicts.items()))
    print(f"  {'meets' if p95 < TARGET_P95_US else 'MISSES'} the p95 target of "
          f"{TARGET_P95_US:g} µs")
    result = {
        "bench": "risk_gate",
        "checks": args.checks,
        "p50_us": round(p50, 3),
        "p95_us": round(p95, 3),
        "p99_us": round(p99, 3),
        "mean_us": round(mean, 3),
        "max_us": round(worst, 3),
        "target_p95_us": TARGET_P95_US,
        "python": platform.python_version(),
        "verdicts": verdicts,
    }
    print(json.dumps(result, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
