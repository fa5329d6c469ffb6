"""Prometheus metrics of one trading session, in the session's own registry.

Nothing here touches prometheus-client's global ``REGISTRY``: :class:`SessionMetrics` creates
(or is given) a :class:`~prometheus_client.CollectorRegistry`, so any number of sessions and
tests can live in one process. The runtime serves :func:`render` on ``/metrics``.

Metrics (all labelled by ``strategy``):

=====================================  =========  ============================================
name                                   type       meaning
=====================================  =========  ============================================
``decision_latency_seconds``           histogram  market event arrival → the strategy's intent
``order_placement_latency_seconds``    histogram  intent → venue ack (also labelled ``venue``)
``orders_total``                       counter    orders sent to a venue
``fills_total``                        counter    fills received
``rejects_total``                      counter    risk denials and venue rejects (``reason``)
``restarts_total``                     counter    supervisor restarts (``reason``: the error)
``fill_rate``                          gauge      filled orders / orders sent, 0..1
``fill_rate_by_type``                  gauge      the same per ``order_type``
``slippage_bps``                       gauge      mean slippage vs. each order's reference, bps
``slippage_bps_by_type``               gauge      the same per ``order_type``
``realized_pnl``                       gauge      realised P&L, quote currency
``unrealized_pnl``                     gauge      unrealised (mark-to-market) P&L, quote ccy
=====================================  =========  ============================================

A live session (a portfolio file with ``[data]``) adds its feed's health, per ``symbol``
(:class:`FeedMetrics`, read from the feed when the registry is collected, so the hot path
pays nothing):

=======================================  =========  ==========================================
``feed_stale``                           gauge      1 while the instrument's data is stale
``feed_provider``                        gauge      1 for the provider in use (``provider``)
``feed_last_bar_timestamp_seconds``      gauge      open time of the last live bar (Unix s)
``feed_duplicates_total``                counter    duplicate messages dropped
``feed_out_of_order_total``              counter    out-of-order messages dropped
``feed_malformed_total``                 counter    malformed messages dropped
``feed_crossed_quotes_total``            counter    crossed quotes rejected
``feed_missing_quotes_total``            counter    one-sided / empty quotes rejected
``feed_gaps_total``                      counter    gaps found in the bar sequence
``feed_gap_bars_backfilled_total``       counter    bars delivered from a REST backfill
``feed_provider_switches_total``         counter    failovers and switches back
``feed_health_events_total``             counter    health events routed (``event``)
=======================================  =========  ==========================================

The feed's counters are the current process's (a restart starts them at 0, which
Prometheus' ``rate``/``increase`` read as a counter reset).

Fill rate and slippage follow the definitions of :mod:`.order_stats` (slippage against
the order's own reference price, adverse positive, notional-weighted mean). They are fed by
:meth:`StrategyMetrics.record_submitted` and :meth:`StrategyMetrics.record_fill`, and a
resumed session first calls :meth:`SessionMetrics.resume` with the tallies of its journal,
so ``orders_total``, ``fills_total`` and the gauges cover the whole session, not only the
current process (the counters then continue where the previous process left them).

Latency buckets (:data:`LATENCY_BUCKETS`) run from 50 µs to 1 s, dense below 1 ms where the
latency budget is.

:func:`summarize` reads exposition text back for ``trading-strategy status``. Quantiles are
*approximate*, estimated from the cumulative buckets exactly like Prometheus'
``histogram_quantile``: find the first bucket whose cumulative count reaches ``q × count``
and interpolate linearly inside it (the first bucket starts at 0). When the rank falls in
the ``+Inf`` bucket the highest finite bound (1 s) is returned, so a p99 of ``1.0`` means
"at least 1 s". The error is at most the width of the bucket holding the quantile.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypedDict

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.parser import text_string_to_metric_families

from trading_strategy.core.enums import OrderType, Side
from trading_strategy.observability.order_stats import (
    ALL_TYPES,
    OrderTally,
    totals,
)

__all__ = [
    "CONTENT_TYPE",
    "FEED_COUNTERS",
    "LATENCY_BUCKETS",
    "FeedMetrics",
    "FeedState",
    "HistogramSummary",
    "MetricsSummary",
    "SessionMetrics",
    "StrategyMetrics",
    "bucket_quantile",
    "render",
    "summarize",
]

CONTENT_TYPE = CONTENT_TYPE_LATEST
LATENCY_BUCKETS: tuple[float, ...] = (
    50e-6, 100e-6, 200e-6, 300e-6, 500e-6, 750e-6,
    1e-3, 2e-3, 3e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 500e-3, 1.0,
)
QUANTILES = (0.5, 0.95, 0.99)
ALL = "all"


class _Latest:
    """A gauge's value kept as a plain float and read when the registry is collected: set
    on every bar (the mark-to-market P&L), where a Prometheus gauge takes a lock per set."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0.0

    def set(self, value: float) -> None:
        self.value = value

    def get(self) -> float:
        return self.value


class StrategyMetrics:
    """The metrics of one strategy, label children resolved once (cheap on the hot path)."""

    def __init__(self, session: SessionMetrics, strategy: str) -> None:
        self._session = session
        self.strategy = strategy
        self.decision_latency = session.decision_latency.labels(strategy=strategy)
        self.orders = session.orders.labels(strategy=strategy)
        self.fills = session.fills.labels(strategy=strategy)
        self.fill_rate = session.fill_rate.labels(strategy=strategy)
        self.slippage_bps = session.slippage_bps.labels(strategy=strategy)
        self.realized_pnl = session.realized_pnl.labels(strategy=strategy)
        self.unrealized_pnl = _Latest()
        session.unrealized_pnl.labels(strategy=strategy).set_function(
            self.unrealized_pnl.get)
        self._placement: dict[str, Histogram] = {}
        #: this session's orders by type (whole session once resumed), feeding the gauges
        self.tallies: dict[str, OrderTally] = {}

    # --- orders and fills (fill rate, slippage) -------------------------------------------
    def record_submitted(self, *, order_type: OrderType | str) -> None:
        """An order was sent to the venue (journaled ``submitted``): count it once."""
        kind = OrderType(order_type).value
        self._tally(kind).sent += 1
        self.orders.inc()
        self._update_gauges(kind)

    def record_fill(self, *, order_type: OrderType | str, side: Side | str,
                    quantity: Decimal, fill_price: Decimal, reference_price: Decimal | None,
                    order_filled: bool) -> None:
        """One fill of an order; ``reference_price`` as in
        :func:`~.order_stats.reference_price` (None: counted, but not in the slippage);
        ``order_filled`` when this fill completed the order (it counts for the fill rate)."""
        kind = OrderType(order_type).value
        tally = self._tally(kind)
        tally.add_fill(quantity, fill_price, side=side, reference=reference_price)
        if order_filled:
            tally.filled += 1
        self.fills.inc()
        self._update_gauges(kind)

    def _tally(self, kind: str) -> OrderTally:
        tally = self.tallies.get(kind)
        if tally is None:
            tally = self.tallies[kind] = OrderTally()
        return tally

    def _update_gauges(self, kind: str) -> None:
        session, name = self._session, self.strategy
        for tally, rate, slip in (
            (self.tallies[kind], session.fill_rate_by_type.labels(strategy=name,
                                                                  order_type=kind),
             session.slippage_bps_by_type.labels(strategy=name, order_type=kind)),
            (totals(self.tallies.values()), self.fill_rate, self.slippage_bps),
        ):
            if tally.fill_rate is not None:
                rate.set(tally.fill_rate)
            if tally.mean_slippage_bps is not None:
                slip.set(tally.mean_slippage_bps)

    def _resume(self, by_type: Mapping[str, OrderTally]) -> None:
        for kind, past in by_type.items():
            if kind == ALL_TYPES:
                continue
            # only what record_* maintains: outcomes other than "filled" are not tracked live
            self.tallies[kind] = OrderTally(
                sent=past.sent, filled=past.filled, fills=past.fills,
                filled_quantity=past.filled_quantity,
                reference_notional=past.reference_notional,
                weighted_bps=past.weighted_bps, worst_bps=past.worst_bps)
            self.orders.inc(past.sent)
            self.fills.inc(past.fills)
            self._update_gauges(kind)

    def observe_decision_ns(self, nanoseconds: int) -> None:
        self.decision_latency.observe(nanoseconds / 1e9)

    def observe_placement_ns(self, nanoseconds: int, *, venue: str) -> None:
        child = self._placement.get(venue)
        if child is None:
            child = self._session.order_placement_latency.labels(strategy=self.strategy,
                                                                   venue=venue)
            self._placement[venue] = child
        child.observe(nanoseconds / 1e9)

    def reject(self, reason: str) -> None:
        self._session.rejects.labels(strategy=self.strategy, reason=reason).inc()

    def restart(self, reason: str) -> None:
        self._session.restarts.labels(strategy=self.strategy, reason=reason).inc()


class SessionMetrics:
    """All metrics of one session, registered in ``registry`` (a new one by default)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        reg = self.registry
        self.decision_latency = Histogram(
            "decision_latency_seconds", "Market event arrival to strategy intent.",
            ["strategy"], buckets=LATENCY_BUCKETS, registry=reg)
        self.order_placement_latency = Histogram(
            "order_placement_latency_seconds", "Intent to venue acknowledgement.",
            ["strategy", "venue"], buckets=LATENCY_BUCKETS, registry=reg)
        self.orders = Counter("orders", "Orders sent to a venue.", ["strategy"], registry=reg)
        self.fills = Counter("fills", "Fills received.", ["strategy"], registry=reg)
        self.rejects = Counter("rejects", "Risk denials and venue rejects.",
                               ["strategy", "reason"], registry=reg)
        self.restarts = Counter("restarts", "Automatic restarts by the supervisor.",
                                ["strategy", "reason"], registry=reg)
        self.fill_rate = Gauge("fill_rate", "Filled orders / orders sent (0..1).",
                               ["strategy"], registry=reg)
        self.fill_rate_by_type = Gauge(
            "fill_rate_by_type", "Filled orders / orders sent (0..1), by order type.",
            ["strategy", "order_type"], registry=reg)
        self.slippage_bps = Gauge(
            "slippage_bps", "Mean fill slippage vs the order's reference price, bps, "
            "adverse positive (notional-weighted).", ["strategy"], registry=reg)
        self.slippage_bps_by_type = Gauge(
            "slippage_bps_by_type", "Mean fill slippage vs the order's reference price, "
            "bps, adverse positive, by order type.", ["strategy", "order_type"], registry=reg)
        self.realized_pnl = Gauge("realized_pnl", "Realised P&L, quote currency.",
                                  ["strategy"], registry=reg)
        self.unrealized_pnl = Gauge("unrealized_pnl", "Unrealised P&L, quote currency.",
                                    ["strategy"], registry=reg)
        self._strategies: dict[str, StrategyMetrics] = {}
        self._resumed = False
        self._feed: FeedMetrics | None = None

    def feed(self) -> FeedMetrics:
        """The live feed's metrics (created, and registered, on first use)."""
        if self._feed is None:
            self._feed = FeedMetrics(self.registry)
        return self._feed

    def resume(self, stats: Mapping[str, Mapping[str, OrderTally]]) -> None:
        """Start from the session's history (:func:`~.order_stats.order_stats` of its
        journal), before this process records anything, so the counters and gauges cover
        the whole session. Only once, and only before the first ``record_*`` call."""
        recorded = any(sm.tallies for sm in self._strategies.values())
        if self._resumed or recorded:
            raise RuntimeError("SessionMetrics.resume must come first, and only once")
        self._resumed = True
        for name, by_type in stats.items():
            self.strategy(name)._resume(by_type)

    def strategy(self, name: str) -> StrategyMetrics:
        """The (cached) per-strategy view; creating it makes the strategy's series appear."""
        metrics = self._strategies.get(name)
        if metrics is None:
            metrics = self._strategies[name] = StrategyMetrics(self, name)
        return metrics

    def render(self) -> bytes:
        return render(self.registry)


# --- the live feed ------------------------------------------------------------------------
#: the feed's per-instrument counter (``FeedCounters``) → the metric it is exposed as
FEED_COUNTERS: dict[str, str] = {
    "duplicates": "feed_duplicates",
    "out_of_order": "feed_out_of_order",
    "malformed": "feed_malformed",
    "crossed_quotes": "feed_crossed_quotes",
    "missing_quotes": "feed_missing_quotes",
    "gaps": "feed_gaps",
    "backfilled_bars": "feed_gap_bars_backfilled",
    "switches": "feed_provider_switches",
}


@dataclass(frozen=True, slots=True)
class FeedState:
    """One instrument's feed as the metrics read it."""

    provider: str
    stale: bool
    #: open time of the last live bar delivered (ns), None before the first
    last_bar_ns: int | None
    counters: Mapping[str, int] = field(default_factory=dict)


class FeedMetrics:
    """Feed health per symbol (see the module docstring). ``watch`` names the function
    that reads the feed's state; ``health`` counts a routed health event (the session's
    ``HealthRouter(count=...)``)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.events = Counter("feed_health_events", "Feed health events routed.",
                              ["symbol", "event"], registry=registry)
        self._read: Callable[[], Mapping[str, FeedState]] | None = None
        registry.register(_FeedCollector(self))

    def watch(self, read: Callable[[], Mapping[str, FeedState]]) -> None:
        self._read = read

    def health(self, kind: str, symbol: str) -> None:
        self.events.labels(symbol=symbol, event=kind).inc()

    def states(self) -> Mapping[str, FeedState]:
        return {} if self._read is None else self._read()


class _FeedCollector:
    """Builds the feed's series from its state when the registry is collected."""

    def __init__(self, metrics: FeedMetrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        states = self._metrics.states()
        stale = GaugeMetricFamily("feed_stale", "1 while the instrument's data is stale.",
                                  labels=["symbol"])
        provider = GaugeMetricFamily("feed_provider", "1 for the provider the feed reads "
                                     "the instrument from.", labels=["symbol", "provider"])
        last = GaugeMetricFamily("feed_last_bar_timestamp_seconds",
                                 "Open time of the last live bar, Unix seconds.",
                                 labels=["symbol"])
        counters = {key: CounterMetricFamily(name, f"Feed counter {key}.", labels=["symbol"])
                    for key, name in FEED_COUNTERS.items()}
        for symbol, state in sorted(states.items()):
            stale.add_metric([symbol], 1.0 if state.stale else 0.0)
            provider.add_metric([symbol, state.provider], 1.0)
            if state.last_bar_ns is not None:
                last.add_metric([symbol], state.last_bar_ns / 1e9)
            for key, family in counters.items():
                family.add_metric([symbol], float(state.counters.get(key, 0)))
        yield stale
        yield provider
        yield last
        yield from counters.values()


def render(registry: CollectorRegistry) -> bytes:
    """The Prometheus text exposition of ``registry`` (serve with :data:`CONTENT_TYPE`)."""
    return generate_latest(registry)


# --- reading it back ---------------------------------------------------------------------
class HistogramSummary(TypedDict):
    count: int
    sum: float
    mean: float | None
    p50: float | None
    p95: float | None
    p99: float | None


class MetricsSummary(TypedDict):
    """Series are keyed ``"label=value,..."`` (sorted by label); ``"all"`` aggregates
    every series of a histogram or counter (gauges are not aggregated). The ``*_created``
    timestamps of the text format are left out."""

    histograms: dict[str, dict[str, HistogramSummary]]
    counters: dict[str, dict[str, float]]
    gauges: dict[str, dict[str, float]]


def bucket_quantile(q: float, buckets: list[tuple[float, float]]) -> float | None:
    """Approximate quantile ``q`` from ``(upper_bound, cumulative_count)`` pairs sorted by
    bound and ending with ``+Inf`` (see the module docstring); None when empty."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    prev_bound, prev_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return prev_bound
            if count == prev_count:
                return bound
            return prev_bound + (bound - prev_bound) * (rank - prev_count) / (count - prev_count)
        prev_bound, prev_count = bound, count
    return prev_bound


def _key(labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def _histogram_summary(buckets: dict[float, float], count: float,
                       total: float) -> HistogramSummary:
    ordered = sorted(buckets.items())
    q = {p: bucket_quantile(p, ordered) for p in QUANTILES}
    return HistogramSummary(count=int(count), sum=total,
                            mean=total / count if count else None,
                            p50=q[0.5], p95=q[0.95], p99=q[0.99])


def summarize(text: str | bytes) -> MetricsSummary:
    """Parse Prometheus text exposition into a :class:`MetricsSummary` (module docstring)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    summary = MetricsSummary(histograms={}, counters={}, gauges={})
    for family in text_string_to_metric_families(text):
        if family.type == "histogram":
            series: dict[str, tuple[dict[float, float], list[float]]] = {}
            merged: tuple[dict[float, float], list[float]] = ({}, [0.0, 0.0])
            for sample in family.samples:
                labels = {k: v for k, v in sample.labels.items() if k != "le"}
                buckets, count_sum = series.setdefault(_key(labels), ({}, [0.0, 0.0]))
                if sample.name.endswith("_bucket"):
                    le = float(sample.labels["le"])
                    buckets[le] = sample.value
                    merged[0][le] = merged[0].get(le, 0.0) + sample.value
                elif sample.name.endswith("_count"):
                    count_sum[0] = sample.value
                    merged[1][0] += sample.value
                elif sample.name.endswith("_sum"):
                    count_sum[1] = sample.value
                    merged[1][1] += sample.value
            out = {key: _histogram_summary(b, cs[0], cs[1]) for key, (b, cs) in series.items()}
            out[ALL] = _histogram_summary(merged[0], merged[1][0], merged[1][1])
            summary["histograms"][family.name] = out
        elif family.type == "counter":
            values = {_key(s.labels): s.value for s in family.samples
                      if s.name.endswith("_total")}
            values[ALL] = sum(values.values(), 0.0)
            summary["counters"][f"{family.name}_total"] = values
        elif family.type == "gauge" and not family.name.endswith("_created"):
            summary["gauges"][family.name] = {_key(s.labels): s.value for s in family.samples}
    return summary
