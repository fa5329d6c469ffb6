"""What ``trading-strategy status`` reports about a session: its whole history, read back.

Sources, all of them covering every process that ever ran the session:

* the order journal → orders sent, outcomes, fills, fill rate and slippage by strategy and
  order type (:mod:`.order_stats`);
* the session's events file (``events.jsonl``, appended by every process) → process runs
  (one ``reconciliation`` record each), risk denials by reason, strategy restarts and
  failures;
* the checkpoint → the last bar processed per symbol;
* for a live session (``[data]``), the feed's health per instrument: its health events in
  the events file (stale, restored, provider switches: the whole history), the provider in
  use and whether it is stale now from the metrics (live ``--url``, else the snapshot),
  and the last bar's age from the checkpoint (or the metrics' last live bar).

Latency and P&L exist only as metrics: they come from the live ``/metrics`` endpoint when
asked (``--url``) or else from the snapshot the last process wrote when it stopped, and
are labelled so. This module only shapes data; the command line reads the files.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from trading_strategy.core.errors import ConfigError
from trading_strategy.observability.logging import utc_iso
from trading_strategy.observability.metrics import FEED_COUNTERS, summarize
from trading_strategy.observability.order_stats import ALL_TYPES, order_stats, totals
from trading_strategy.orders.journal import JournalEntry

__all__ = ["feed_health", "feed_lines", "feed_state", "metrics_lines", "metrics_view",
           "parse_events", "session_status", "status_lines"]

_RESTART_FROM = ("running", "degraded")
_S = 1_000_000_000
_FEED_EVENTS = ("data_stale", "data_restored", "provider_switch")


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
    return {"source": source, "latency_ms": latency, **pnl, "feed": _feed_metrics(summary)}


def _labels(key: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in key.split(",") if "=" in part)


def _feed_metrics(summary: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Per symbol: the feed's gauges and counters (empty for a session without ``[data]``)."""
    feed: dict[str, dict[str, Any]] = {}
    gauges, counters = summary["gauges"], summary["counters"]
    for key, value in gauges.get("feed_stale", {}).items():
        feed.setdefault(_labels(key)["symbol"], {})["stale"] = value >= 1
    for key, value in gauges.get("feed_provider", {}).items():
        labels = _labels(key)
        if value >= 1:
            feed.setdefault(labels["symbol"], {})["provider"] = labels["provider"]
    for key, value in gauges.get("feed_last_bar_timestamp_seconds", {}).items():
        feed.setdefault(_labels(key)["symbol"], {})["last_bar_ns"] = round(value * _S)
    for name in FEED_COUNTERS.values():
        for key, value in counters.get(f"{name}_total", {}).items():
            if "symbol" in (labels := _labels(key)):
                feed.setdefault(labels["symbol"], {}).setdefault("counters", {})[
                    name.removeprefix("feed_")] = int(value)
    return feed


def feed_health(events: Iterable[Mapping[str, Any]], *,
                metrics: Mapping[str, Any] | None = None,
                checkpoint: Mapping[str, int] | None = None,
                providers: Mapping[str, Sequence[str]] | None = None,
                now_ns: int | None = None) -> dict[str, dict[str, Any]]:
    """Per instrument of a live session: provider in use, stale or not, switches, stale
    spells, the last bar and its age (seconds at ``now_ns``), the feed's counters.
    ``providers`` (the portfolio file's ``[data]``, when known) names the primary, the
    provider in use until an event or the metrics say otherwise. Empty when nothing shows
    the session is live."""
    out: dict[str, dict[str, Any]] = {}

    def row(symbol: str) -> dict[str, Any]:
        found = out.get(symbol)
        if found is None:
            found = out[symbol] = {"provider": None, "stale": False, "stale_since": None,
                                   "switches": 0, "stale_spells": 0, "last_bar": None,
                                   "last_bar_age_s": None, "counters": {}}
        return found

    for symbol, names in (providers or {}).items():
        row(symbol)["provider"] = names[0] if names else None
    for record in events:
        kind = record.get("kind")
        if kind not in _FEED_EVENTS:
            continue
        r = row(str(record.get("symbol")))
        if kind == "provider_switch":
            r["switches"] += 1
            r["provider"] = record.get("to")
        else:
            r["provider"] = record.get("provider") or r["provider"]
            r["stale"] = kind == "data_stale"
            if r["stale"]:
                r["stale_spells"] += 1
                r["stale_since"] = _iso(record.get("ts_ns"))
            else:
                r["stale_since"] = None
    feed = (metrics or {}).get("feed") or {}
    # live metrics are the feed's own, current view; a snapshot was written as the process
    # stopped, when every provider was closed: its "stale" says nothing about the data
    current = ("provider", "stale", "counters") if str(
        (metrics or {}).get("source", "")).startswith("live") else ("provider", "counters")
    for symbol, now in feed.items():
        r = row(symbol)
        for key in current:
            if key in now:
                r[key] = now[key]
    if not out:
        return out
    for symbol, r in out.items():
        last = max((ns for ns in ((checkpoint or {}).get(symbol),
                                  feed.get(symbol, {}).get("last_bar_ns")) if ns is not None),
                   default=None)
        if last is not None:
            r["last_bar"] = utc_iso(last)
            if now_ns is not None:
                r["last_bar_age_s"] = round((now_ns - last) / _S, 1)
    return dict(sorted(out.items()))


def feed_state(health: Mapping[str, Any], events: Iterable[Mapping[str, Any]],
               providers: Sequence[str] | None = None) -> tuple[str, str | None]:
    """One instrument's row of :func:`feed_health` in a word — ``healthy``, ``stale``, or
    ``failed-over`` (read from another provider than its primary) — and that primary:
    ``providers[0]`` when the portfolio file is known, else the provider its first health
    event names. ``events`` are that instrument's."""
    primary = providers[0] if providers else None
    for record in events:
        if primary is not None:
            break
        if record.get("kind") in _FEED_EVENTS:
            found = record.get("from") if record.get("kind") == "provider_switch" \
                else record.get("provider")
            primary = str(found) if found else None
    if health.get("stale"):
        return "stale", primary
    provider = health.get("provider")
    if primary is not None and provider is not None and provider != primary:
        return "failed-over", primary
    return "healthy", primary


def _iso(ns: object) -> str | None:
    return utc_iso(ns) if isinstance(ns, int) else None


def session_status(*, name: str, session_id: str, entries: Iterable[JournalEntry],
                   events: Iterable[Mapping[str, Any]], unreadable_events: int = 0,
                   checkpoint: Mapping[str, int] | None = None,
                   metrics: dict[str, Any] | None = None,
                   providers: Mapping[str, Sequence[str]] | None = None,
                   now_ns: int | None = None) -> dict[str, Any]:
    """The status report as plain data (the ``--json`` output); ``providers`` and
    ``now_ns`` as in :func:`feed_health`."""
    events = list(events)
    stats = order_stats(entries)
    runs = 0
    denials: dict[str, dict[str, int]] = {}
    restarts: dict[str, int] = {}
    failed: list[str] = []
    #: per strategy, its last operator control (paused or stopped until another one)
    controls: dict[str, dict[str, Any]] = {}
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
            if record.get("cause") == "operator":  # pause, resume, stop, start
                controls[component] = {"state": record.get("to"),
                                       "actor": record.get("actor"),
                                       "since": _iso(record.get("ts_ns")),
                                       "reason": record.get("reason")}
            elif record.get("to") == "starting" and record.get("from") in _RESTART_FROM:
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
        "strategy_states": dict(sorted(controls.items())),
        "unreadable_event_lines": unreadable_events,
        "feed": feed_health(events, metrics=metrics, checkpoint=checkpoint,
                            providers=providers, now_ns=now_ns),
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


def feed_lines(feed: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The live feed's health, one line per instrument (nothing for a replay)."""
    if not feed:
        return []
    lines = ["live data feed:"]
    for symbol, r in feed.items():
        state = "STALE" + (f" since {r['stale_since']}" if r["stale_since"] else "") \
            if r["stale"] else "ok"
        age = "" if r["last_bar_age_s"] is None else f" ({_age(r['last_bar_age_s'])} ago)"
        last = f"last bar {r['last_bar']}{age}" if r["last_bar"] else "no bar yet"
        counters = r["counters"] or {}
        dropped = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(counters.items())
                            if v and k != "provider_switches")
        lines.append(f"  {symbol:<12} {state:<8} provider {r['provider'] or '-'}; {last}; "
                     f"switches {r['switches']}, stale spells {r['stale_spells']}"
                     + (f"; {dropped}" if dropped else ""))
    return lines


def _age(seconds: float) -> str:
    if abs(seconds) < 120:
        return f"{seconds:.0f} s"
    if abs(seconds) < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def status_lines(report: Mapping[str, Any]) -> list[str]:
    """The report for a person."""
    lines = [f"session {report['session']} ({report['session_id']}): whole history, "
             f"{report['process_runs']} process run(s)"]
    last = report["last_bar"]
    lines.append("last bar processed: " + (", ".join(f"{s} {t}" for s, t in last.items())
                                           if last else "none yet"))
    lines += feed_lines(report.get("feed") or {})
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
    held = {name: c for name, c in (report.get("strategy_states") or {}).items()
            if c.get("state") != "running"}
    if held:
        lines.append("strategies held by an operator: " + "; ".join(
            f"{name} {c['state'].upper()} since {c.get('since') or '-'} by {c.get('actor')}"
            for name, c in held.items()))
    if report["unreadable_event_lines"]:
        lines.append(f"warning: {report['unreadable_event_lines']} unreadable line(s) in "
                     "the events file were skipped")
    lines += metrics_lines(report["metrics"])
    return lines
