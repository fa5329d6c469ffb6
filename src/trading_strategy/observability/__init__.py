"""Structured logs (structlog), Prometheus metrics (a registry per session), and the order
statistics (fill rate, slippage) they share with ``trading-strategy status``."""

from trading_strategy.observability.logging import (
    DecisionLogger,
    configure_logging,
    decision_logger,
    redact_secrets,
    utc_iso,
)
from trading_strategy.observability.metrics import (
    CONTENT_TYPE,
    LATENCY_BUCKETS,
    MetricsSummary,
    SessionMetrics,
    StrategyMetrics,
    render,
    summarize,
)
from trading_strategy.observability.order_stats import (
    OrderTally,
    order_reference,
    order_stats,
    reference_price,
    slippage_bps,
)

__all__ = [
    "CONTENT_TYPE",
    "LATENCY_BUCKETS",
    "DecisionLogger",
    "MetricsSummary",
    "OrderTally",
    "SessionMetrics",
    "StrategyMetrics",
    "configure_logging",
    "decision_logger",
    "order_reference",
    "order_stats",
    "redact_secrets",
    "reference_price",
    "render",
    "slippage_bps",
    "summarize",
    "utc_iso",
]
