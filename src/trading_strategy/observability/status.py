"""What ``trading-strategy status`` reports about a session: its whole history, read back.

Sources, all of them covering every process that ever ran the session:

* the order journal → orders sent, outcomes, fills, fill rate and slippage by strategy and
  order type (:mod:`.order_stats`);
* the session's events file (``events.jsonl``, appended by every process) → process runs
  (one ``reconciliation`` record each), risk denials by reason, strategy restarts and
  failures;
* the checkpoint → the last bar processed per symbol.

Latency and P&L exist only as metrics: they come from the live ``/metrics`` endpoint when
asked (``--url``) or else from the snapshot the last process wrote when it stopped, and
are labelled so. This module only shapes data; the command line reads the files.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from trading_strategy.core.errors import ConfigError
from trading_strategy.observability.logging import utc_iso
from trading_strategy.observability.metrics import summarize
from trading_strategy.observability.order_stats import ALL_TYPES, order_stats, totals
from trading_strategy.orders.journal import JournalEntry

__all__ = ["metrics_lines", "metrics_view", "parse_events", "session_status", "status_lines"]

_RESTART_FROM = ("running", "degraded")


def parse_events(text: str) -> tuple[list[dict[str, Any]], int]:
    """The records of an events file and the number of lines that could not be read (a
    process killed mid-write leaves a partial last line)."""
    records: list[dict[str, Any]] = []
    bad = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            bad += 1
            continue
        if isinstance(record, dict):
            records.append(record)
        else:
            bad += 1
    return records, bad


def _to_ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 4)


def metrics_view(text: str | bytes, *, source: str) -> dict[str, Any]:
    """Latency quantiles (ms) and P&L gauges from Prometheus text, per strategy; text that
    is not the Prometheus exposition format is a :class:`ConfigError` naming ``source``."""
    try:
        summary = summarize(text)
    except ValueError as exc:
        raise ConfigError(f"metrics from {source} are not Prometheus text ({exc})") from None
    latency: dict[str, dict[str, Any]] = {}
    for name, label in (("decision_latency_seconds", "decision"),
                        ("order_placement_latency_seconds", "order_placement")):
        for key, hist in summary["histograms"].get(name, {}).items():
            latency.setdefault(label, {})[key] = {
                "count": hist["count"], "p50": _to_ms(hist["p50"]), "p95": _to_ms(hist["p95"]),
                "p99": _to_ms(hist["p99"])}
    gauges = summary["gauges"]
    pnl = {kind: {key.removeprefix("strategy="): value
                  for key, value in gauges.get(kind, {}).items()}
           for kind in ("realized_pnl", "unrealized_pnl")}
    return {"source": source, "latency_ms": latency, **pnl}


def session_status(*, name: str, session_id: str, entries: Iterable[JournalEntry],
                   events: Iterable[Mapping[str, Any]], unreadable_events: int = 0,
                   checkpoint: Mapping[str, int] | None = None,
                   metrics: dict[str, Any] | None = None) -> dict[str, Any]:
    """The status report as plain data (the ``--json`` output)."""
    stats = order_stats(entries)
    runs = 0
    denials: dict[str, dict[str, int]] = {}
    restarts: dict[str, int] = {}
    failed: list[str] = []
    for record in events:
        kind = record.get("kind")
        if kind == "reconciliation":
            runs += 1
        elif kind == "risk_verdict" and record.get("status") == "rejected":
            by_reason = denials.setdefault(str(record.get("strategy")), {})
            reason = str(record.get("reason") or "rejected")
            by_reason[reason] = by_reason.get(reason, 0) + 1
        elif kind == "strategy_event":
            component = str(record.get("component"))
            if record.get("to") == "starting" and record.get("from") in _RESTART_FROM:
                restarts[component] = restarts.get(component, 0) + 1
            elif record.get("to") == "failed" and component not in failed:
                failed.append(component)
    return {
        "session": name,
        "session_id": session_id,
        "process_runs": runs,
        "last_bar": {sym: utc_iso(ns) for sym, ns in sorted((checkpoint or {}).items())},
        "orders": {strategy: {kind: tally.as_dict() for kind, tally in sorted(by_type.items())}
                   for strategy, by_type in sorted(stats.items())},
        "totals": totals(by_type[ALL_TYPES] for by_type in stats.values()).as_dict(),
        "risk_denials": denials,
        "restarts": restarts,
        "failed": failed,
        "unreadable_event_lines": unreadable_events,
        "metrics": metrics,
    }


def _bps(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _order_lines(orders: Mapping[str, Mapping[str, Mapping[str, Any]]],
                 total: Mapping[str, Any]) -> list[str]:
    head = (f"  {'strategy':<16} {'type':<10} {'sent':>6} {'filled':>6} {'rate':>7} "
            f"{'rejected':>8} {'cancelled':>9} {'expired':>7} {'working':>7} {'fills':>6}  "
            "slippage bps (mean / worst)")
    lines = [head]
    rows: list[tuple[str, str, Mapping[str, Any]]] = []
    for strategy, by_type in orders.items():
        rows += [(strategy, k, t) for k, t in by_type.items() if k != ALL_TYPES]
        if len(by_type) > 2:  # more than one order type: their sum too
            rows.append((strategy, ALL_TYPES, by_type[ALL_TYPES]))
    if len(orders) > 1:  # more than one strategy: the session's sum
        rows.append(("(session)", ALL_TYPES, total))
    for strategy, kind, t in rows:
        lines.append(
            f"  {strategy:<16} {kind:<10} {t['sent']:>6} {t['filled']:>6} "
            f"{_pct(t['fill_rate']):>7} {t['rejected']:>8} {t['cancelled']:>9} "
            f"{t['expired']:>7} {t['working']:>7} {t['fills']:>6}  "
            f"{_bps(t['slippage_bps_mean'])} / {_bps(t['slippage_bps_worst'])}")
    return lines


def _counts(title: str, data: Mapping[str, Any]) -> str:
    if not data:
        return f"{title}: none"
    parts = []
    for key, value in sorted(data.items()):
        if isinstance(value, Mapping):
            value = ", ".join(f"{r} {n}" for r, n in sorted(value.items()))
        parts.append(f"{key} ({value})" if isinstance(value, str) else f"{key} {value}")
    return f"{title}: " + "; ".join(parts)


def metrics_lines(metrics: Mapping[str, Any] | None) -> list[str]:
    if metrics is None:
        return ["metrics: no snapshot yet (a process writes it when it stops); for live "
                "latency set session.metrics_port and use --url"]
    lines = [f"metrics ({metrics['source']}):"]
    for label, series in metrics["latency_ms"].items():
        for key, q in sorted(series.items()):
            lines.append(f"  {label + ' latency':<24} {key:<34} n={q['count']:<6} "
                         f"p50 {_ms(q['p50'])}  p95 {_ms(q['p95'])}  p99 {_ms(q['p99'])}")
    for kind in ("realized_pnl", "unrealized_pnl"):
        values = metrics.get(kind) or {}
        text = "  ".join(f"{k} {v:.2f}" for k, v in sorted(values.items())) or "-"
        lines.append(f"  {kind.replace('_', ' '):<24} {text}")
    return lines


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f} ms"


def status_lines(report: Mapping[str, Any]) -> list[str]:
    """The report for a person."""
    lines = [f"session {report['session']} ({report['session_id']}): whole history, "
             f"{report['process_runs']} process run(s)"]
    last = report["last_bar"]
    lines.append("last bar processed: " + (", ".join(f"{s} {t}" for s, t in last.items())
                                           if last else "none yet"))
    if report["orders"]:
        lines.append("orders (from the journal; rate = filled / sent; slippage against "
                     "each order's reference price, adverse positive):")
        lines += _order_lines(report["orders"], report["totals"])
    else:
        lines.append("orders: none yet")
    lines.append(_counts("risk denials", report["risk_denials"]))
    lines.append(_counts("strategy restarts", report["restarts"]))
    if report["failed"]:
        lines.append("FAILED strategies: " + ", ".join(report["failed"]))
    if report["unreadable_event_lines"]:
        lines.append(f"warning: {report['unreadable_event_lines']} unreadable line(s) in "
                     "the events file were skipped")
    lines += metrics_lines(report["metrics"])
    return lines
