"""Structured logs (structlog) and Prometheus metrics (a registry per session)."""

from trading_strategy.observability.logging import (
    DecisionLogger,
    configure_logging,
    decision_logger,
    redact_secrets,
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

__all__ = [
    "CONTENT_TYPE",
    "LATENCY_BUCKETS",
    "DecisionLogger",
    "MetricsSummary",
    "SessionMetrics",
    "StrategyMetrics",
    "configure_logging",
    "decision_logger",
    "redact_secrets",
    "render",
    "summarize",
]
