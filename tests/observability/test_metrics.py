"""Prometheus metrics: per-session registries, exposition, reading it back."""

from __future__ import annotations

import math
from decimal import Decimal as D

import prometheus_client
import pytest

from trading_strategy.core.enums import OrderType, Side
from trading_strategy.observability.metrics import (
    LATENCY_BUCKETS,
    SessionMetrics,
    bucket_quantile,
    render,
    summarize,
)
from trading_strategy.observability.order_stats import OrderTally


def test_sessions_have_their_own_registries() -> None:
    a, b = SessionMetrics(), SessionMetrics()
    a.strategy("sma").orders.inc()
    assert a.registry is not b.registry
    assert a.registry.get_sample_value("orders_total", {"strategy": "sma"}) == 1
    assert b.registry.get_sample_value("orders_total", {"strategy": "sma"}) is None
    assert prometheus_client.REGISTRY.get_sample_value("orders_total",
                                                       {"strategy": "sma"}) is None


def test_exposition_contains_the_histograms_and_counters() -> None:
    metrics = SessionMetrics()
    sma = metrics.strategy("sma")
    sma.observe_decision_ns(120_000)
    sma.observe_placement_ns(1_500_000, venue="paper")
    sma.orders.inc()
    sma.fills.inc()
    sma.reject("max_exposure")
    sma.restart("ValueError")
    sma.fill_rate.set(1.0)
    sma.slippage_bps.set(2.5)
    sma.realized_pnl.set(10)
    sma.unrealized_pnl.set(-3)
    text = render(metrics.registry).decode()
    assert metrics.render() == render(metrics.registry)
    assert "# TYPE decision_latency_seconds histogram" in text
    assert "# TYPE order_placement_latency_seconds histogram" in text
    assert 'decision_latency_seconds_bucket{le="5e-05",strategy="sma"} 0.0' in text
    assert 'decision_latency_seconds_bucket{le="0.0002",strategy="sma"} 1.0' in text
    assert ('order_placement_latency_seconds_bucket{le="0.002",strategy="sma",venue="paper"}'
            ' 1.0') in text
    for line in ('orders_total{strategy="sma"} 1.0', 'fills_total{strategy="sma"} 1.0',
                 'rejects_total{reason="max_exposure",strategy="sma"} 1.0',
                 'restarts_total{reason="ValueError",strategy="sma"} 1.0',
                 'fill_rate{strategy="sma"} 1.0', 'slippage_bps{strategy="sma"} 2.5',
                 'realized_pnl{strategy="sma"} 10.0', 'unrealized_pnl{strategy="sma"} -3.0'):
        assert line in text


def test_buckets_cover_50us_to_1s() -> None:
    assert LATENCY_BUCKETS[0] == 50e-6 and LATENCY_BUCKETS[-1] == 1.0
    assert list(LATENCY_BUCKETS) == sorted(LATENCY_BUCKETS)
    assert sum(b < 1e-3 for b in LATENCY_BUCKETS) >= 5


def test_bucket_quantile_interpolates_like_prometheus() -> None:
    buckets = [(1.0, 0.0), (2.0, 10.0), (4.0, 20.0), (math.inf, 20.0)]
    assert bucket_quantile(0.5, buckets) == pytest.approx(2.0)
    assert bucket_quantile(0.25, buckets) == pytest.approx(1.5)
    assert bucket_quantile(0.75, buckets) == pytest.approx(3.0)
    assert bucket_quantile(0.99, [(1.0, 1.0), (math.inf, 100.0)]) == 1.0   # in +Inf
    assert bucket_quantile(0.5, [(1.0, 0.0), (math.inf, 0.0)]) is None
    assert bucket_quantile(0.5, []) is None


def test_summarize_reads_the_text_back() -> None:
    metrics = SessionMetrics()
    sma, rsi = metrics.strategy("sma"), metrics.strategy("rsi")
    for i in range(100):                       # 100 µs .. 1.09 ms, evenly
        sma.observe_decision_ns(100_000 + i * 10_000)
    rsi.observe_decision_ns(40_000)
    sma.orders.inc(3)
    rsi.orders.inc(2)
    rsi.realized_pnl.set(7.5)
    summary = summarize(metrics.render())
    dec = summary["histograms"]["decision_latency_seconds"]
    assert dec["strategy=sma"]["count"] == 100
    assert dec["strategy=sma"]["mean"] == pytest.approx(595e-6)
    assert dec["strategy=sma"]["p50"] == pytest.approx(595e-6, rel=0.05)
    p95 = dec["strategy=sma"]["p95"]
    assert p95 is not None and 1e-3 <= p95 <= 2e-3
    assert dec["all"]["count"] == 101 and dec["strategy=rsi"]["p50"] == pytest.approx(25e-6)
    assert summary["histograms"]["order_placement_latency_seconds"]["all"]["p95"] is None
    assert summary["counters"]["orders_total"] == {"strategy=sma": 3.0, "strategy=rsi": 2.0,
                                                   "all": 5.0}
    assert summary["counters"]["restarts_total"] == {"all": 0.0}
    assert summary["gauges"]["realized_pnl"]["strategy=rsi"] == 7.5
    assert not any(name.endswith("_created") for name in summary["gauges"])
    assert summarize(metrics.render().decode()) == summary


# --- fill rate and slippage (issue 8 item 10, issue 9 item 4) ------------------------------
def _gauge(metrics: SessionMetrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_fill_rate_is_set_from_submissions_and_completed_orders() -> None:
    metrics = SessionMetrics()
    sma = metrics.strategy("sma")
    for _ in range(4):
        sma.record_submitted(order_type=OrderType.MARKET)
    sma.record_fill(order_type=OrderType.MARKET, side=Side.BUY, quantity=D(2),
                    fill_price=D(100), reference_price=D(100), order_filled=False)
    assert _gauge(metrics, "fill_rate", strategy="sma") == 0.0   # a partial is not filled
    sma.record_fill(order_type=OrderType.MARKET, side=Side.BUY, quantity=D(2),
                    fill_price=D(100), reference_price=D(100), order_filled=True)
    sma.record_fill(order_type="market", side="sell", quantity=D(1),
                    fill_price=D(100), reference_price=D(100), order_filled=True)
    assert _gauge(metrics, "fill_rate", strategy="sma") == 0.5
    assert _gauge(metrics, "fill_rate_by_type", strategy="sma", order_type="market") == 0.5
    assert _gauge(metrics, "orders_total", strategy="sma") == 4
    assert _gauge(metrics, "fills_total", strategy="sma") == 3


def test_slippage_gauges_use_each_orders_reference_price() -> None:
    metrics = SessionMetrics()
    sma = metrics.strategy("sma")
    sma.record_submitted(order_type=OrderType.STOP)
    # a stop-loss sell at 96 filled at 95.9 after an entry at 100.02: 10.42 bps, not 412
    sma.record_fill(order_type=OrderType.STOP, side=Side.SELL, quantity=D(10),
                    fill_price=D("95.9"), reference_price=D(96), order_filled=True)
    stop_bps = float((D(96) - D("95.9")) / D(96) * 10_000)
    assert _gauge(metrics, "slippage_bps_by_type", strategy="sma",
                  order_type="stop") == pytest.approx(stop_bps)
    sma.record_submitted(order_type=OrderType.LIMIT)
    sma.record_fill(order_type=OrderType.LIMIT, side=Side.SELL, quantity=D(10),
                    fill_price=D(107), reference_price=D(106), order_filled=True)
    limit_bps = float((D(106) - D(107)) / D(106) * 10_000)          # better: negative
    assert _gauge(metrics, "slippage_bps_by_type", strategy="sma",
                  order_type="limit") == pytest.approx(limit_bps)
    # the strategy's figure: notional-weighted at the reference prices
    mean = (960 * stop_bps + 1060 * limit_bps) / (960 + 1060)
    assert _gauge(metrics, "slippage_bps", strategy="sma") == pytest.approx(mean)
    sma.record_fill(order_type=OrderType.MARKET, side=Side.BUY, quantity=D(1),
                    fill_price=D(5), reference_price=None, order_filled=True)
    assert _gauge(metrics, "slippage_bps", strategy="sma") == pytest.approx(mean)


def test_resume_starts_from_the_sessions_history() -> None:
    past = OrderTally(sent=10, filled=7, cancelled=3, fills=8, filled_quantity=D(70),
                      reference_notional=D(7000), weighted_bps=D(14000),
                      worst_bps=D(9))
    metrics = SessionMetrics()
    metrics.resume({"sma": {"market": past, "all": past}})
    assert _gauge(metrics, "orders_total", strategy="sma") == 10   # not counted twice
    assert _gauge(metrics, "fill_rate", strategy="sma") == 0.7
    assert _gauge(metrics, "slippage_bps", strategy="sma") == pytest.approx(2.0)
    sma = metrics.strategy("sma")
    sma.record_fill(order_type=OrderType.MARKET, side=Side.BUY, quantity=D(10),
                    fill_price=D(100), reference_price=D(100), order_filled=True)
    assert _gauge(metrics, "fill_rate", strategy="sma") == 0.8     # 8 of the same 10
    assert _gauge(metrics, "fills_total", strategy="sma") == 9
    with pytest.raises(RuntimeError):
        metrics.resume({})


def test_the_old_call_sites_still_work() -> None:
    metrics = SessionMetrics()
    sma = metrics.strategy("sma")
    sma.orders.inc()
    sma.fills.inc()
    sma.slippage_bps.set(1.5)
    assert _gauge(metrics, "slippage_bps", strategy="sma") == 1.5
