"""Prometheus metrics: per-session registries, exposition, reading it back."""

from __future__ import annotations

import math

import prometheus_client
import pytest

from trading_strategy.observability.metrics import (
    LATENCY_BUCKETS,
    SessionMetrics,
    bucket_quantile,
    render,
    summarize,
)


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
