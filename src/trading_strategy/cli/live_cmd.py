"""``run``, ``reconcile``, ``status`` and ``audit``: paper and live sessions from the shell."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from trading_strategy.core.errors import ConfigError


def register(subparsers: Any) -> None:
    run = subparsers.add_parser(
        "run", help="run a paper portfolio session (replayed market data by default)",
        description="Start the strategies of a portfolio file under one risk engine, "
        "trading a paper venue. Restarting with the same session name resumes it.")
    run.add_argument("--config", required=True, type=Path, help="portfolio TOML file")
    run.add_argument("--speed", type=float, default=None,
                     help="override the replay speed (0 = as fast as possible)")
    run.add_argument("--log-format", choices=("console", "json"), default="console")
    run.add_argument("--quiet", action="store_true", help="log warnings and errors only")
    run.set_defaults(handler=_run)

    rec = subparsers.add_parser(
        "reconcile", help="compare a session's journal with its venue and report differences")
    rec.add_argument("--config", required=True, type=Path)
    rec.add_argument("--json", action="store_true")
    rec.set_defaults(handler=_reconcile)

    status = subparsers.add_parser(
        "status", help="summarise a running or finished session",
        description="Orders, fill rate, slippage, risk denials and restarts over the "
        "session's whole history (its journal and events file, every process), readable "
        "while it runs; latency and P&L from --url or the last process's metrics snapshot.")
    status.add_argument("--config", type=Path, default=None)
    status.add_argument("--session", default=None, help="session name (instead of --config)")
    status.add_argument("--url", default=None,
                        help="read live metrics from http://127.0.0.1:PORT/metrics "
                        "(session.metrics_port); alone, prints only those")
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=_status)

    audit = subparsers.add_parser(
        "audit", help="the journal of an order (or of every order of a strategy)",
        description="Answer 'why is this position what it is', order by order.")
    audit.add_argument("order_id", nargs="?", default=None)
    audit.add_argument("--config", type=Path, default=None)
    audit.add_argument("--session", default=None)
    audit.add_argument("--strategy", default=None, help="every order of this strategy")
    audit.set_defaults(handler=_audit)


def _session(args: argparse.Namespace, *, speed: float | None = None) -> Any:
    from trading_strategy.config import load_portfolio, load_settings
    from trading_strategy.runtime.portfolio_config import with_speed
    from trading_strategy.runtime.session import PaperSession
    from trading_strategy.runtime.wiring import stored_bars, stored_journal_factory

    config = load_portfolio(args.config)
    if speed is not None:
        config = with_speed(config, speed)
    settings = load_settings()
    store = settings.open_store()
    session = PaperSession(config, data_dir=settings.data_dir,
                           journal_factory=stored_journal_factory(store),
                           event_repository=store.events, bar_source=stored_bars(store),
                           bar_store=store.bars)
    return session


def _run(args: argparse.Namespace) -> int:
    import asyncio

    from trading_strategy.observability.logging import configure_logging

    # loggers stay uncached: the CLI may run inside a longer process (tests, notebooks)
    # whose later logging set-up must still take effect
    configure_logging(args.log_format, "warning" if args.quiet else "info",
                      cache_loggers=False)
    session = _session(args, speed=args.speed)
    result = asyncio.run(session.run())
    print(f"session {session.config.session.name} ({session.session_id}): "
          f"{result.bars} bars processed")
    for line in result.reconciliation.lines() if result.reconciliation else []:
        print(line)
    for name, figures in result.strategies.items():
        print(f"  {name:<16} {figures['symbol']:<8} position {figures['position']:>10}  "
              f"equity {figures['equity']:>14}  trades {figures['trades']}")
    for name in result.failed:
        print(f"  FAILED: {name} (see the events file for its reason)")
    return 1 if result.failed else 0


def _reconcile(args: argparse.Namespace) -> int:
    import asyncio
    import time

    from trading_strategy.runtime.reconcile import reconcile

    session = _session(args)

    async def go() -> Any:
        try:
            return await reconcile(session.execution, now_ns=time.time_ns())
        finally:
            close = getattr(session.venue, "close", None)
            if close is not None:
                await close()
            session.files.release()

    report = asyncio.run(go())
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print("\n".join(report.lines()))
    return 0 if report.clean else 1


def _session_root(args: argparse.Namespace) -> Path:
    from trading_strategy.config import load_settings
    from trading_strategy.runtime.portfolio_config import require_name
    from trading_strategy.runtime.session import session_dir

    # a name is a single path component: `..` must not reach outside the sessions folder
    name = None if args.session is None else require_name(args.session)
    if name is None and args.config is not None:
        from trading_strategy.config import load_portfolio

        name = load_portfolio(args.config).session.name
    if name is None:
        raise ConfigError("name the session with --session NAME or --config FILE")
    root = session_dir(load_settings().data_dir, name)
    if not root.exists():
        raise ConfigError(f"no session named {name!r} in {root.parent}")
    return root


def _status(args: argparse.Namespace) -> int:
    """The session's whole history (journal, events file, checkpoint), readable while it
    runs; latency and P&L from ``--url`` or the last process's metrics snapshot; a live
    session's feed health per instrument."""
    import time
    from datetime import UTC, datetime

    from trading_strategy.observability.status import (
        metrics_lines,
        metrics_view,
        parse_events,
        session_status,
        status_lines,
    )

    metrics = None
    if args.url:
        import httpx

        try:
            response = httpx.get(args.url, timeout=5)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise ConfigError(f"cannot read metrics from {args.url}: {exc}") from None
        metrics = metrics_view(response.text, source=f"live, {args.url}")
        if args.session is None and args.config is None:
            _print(metrics, args.json, metrics_lines)
            return 0
    root = _session_root(args)
    providers = _feed_providers(args)
    snapshot = root / "metrics.prom"
    if metrics is None and snapshot.exists():
        written = datetime.fromtimestamp(snapshot.stat().st_mtime, tz=UTC)
        metrics = metrics_view(snapshot.read_text(), source=(
            "snapshot of the last process, written "
            f"{written.strftime('%Y-%m-%dT%H:%M:%SZ')}"))
    events_file = root / "events.jsonl"
    events, unreadable = parse_events(
        events_file.read_text(encoding="utf-8") if events_file.exists() else "")
    session_id = _session_id(root)
    journal = _stored_journal(root)
    report = session_status(name=root.name, session_id=session_id,
                            entries=journal.events(), events=events,
                            unreadable_events=unreadable, checkpoint=_checkpoint(root),
                            metrics=metrics, providers=providers, now_ns=time.time_ns())
    _print(report, args.json, status_lines)
    return 0


def _feed_providers(args: argparse.Namespace) -> dict[str, list[str]] | None:
    """The providers each traded symbol reads, from the portfolio file's ``[data]`` (only
    with ``--config``: the events and metrics say the rest)."""
    if args.config is None:
        return None
    from trading_strategy.config import load_portfolio

    config = load_portfolio(args.config)
    if config.data is None:
        return None
    symbols = dict.fromkeys(entry.symbol.upper() for entry in config.strategies)
    return {symbol: list(config.data.settings_for(symbol).providers or ())
            for symbol in symbols}


def _print(data: dict[str, Any], as_json: bool,
           lines: Callable[[dict[str, Any]], list[str]]) -> None:
    if as_json:
        print(json.dumps(data, indent=2))
    else:
        print("\n".join(lines(data)))


def _session_id(root: Path) -> str:
    path = root / "session.json"
    try:
        return str(json.loads(path.read_text())["session_id"])
    except (OSError, ValueError, KeyError, TypeError):
        raise ConfigError(f"session {root.name}: {path} is missing or unreadable; "
                          "the session never started") from None


def _checkpoint(root: Path) -> dict[str, int]:
    # the session's own reader: checkpoint.json lags while a session runs (its log is newer)
    from trading_strategy.runtime.session import read_checkpoint

    try:
        return read_checkpoint(root)
    except (OSError, ValueError, AttributeError, TypeError, KeyError):
        raise ConfigError(f"session {root.name}: its checkpoint in {root} is unreadable") \
            from None


def _stored_journal(root: Path) -> Any:
    from trading_strategy.config import load_settings
    from trading_strategy.runtime.wiring import session_journal

    return session_journal(load_settings().open_store(), root)


def _audit(args: argparse.Namespace) -> int:
    from trading_strategy.config import load_settings
    from trading_strategy.orders.journal import explain
    from trading_strategy.runtime.wiring import session_journal

    root = _session_root(args)
    journal = session_journal(load_settings().open_store(), root)
    entries = journal.events()
    order_ids: list[str] = []
    for entry in entries:
        oid = entry.event.order_id
        if oid in order_ids:
            continue
        if args.order_id is not None and oid != args.order_id:
            continue
        if args.strategy is not None and not oid.startswith(f"{args.strategy}-"):
            continue
        order_ids.append(oid)
    if not order_ids:
        raise ConfigError(f"no order {args.order_id or 'of ' + str(args.strategy)} "
                          f"in session {root.name}")
    from trading_strategy.orders.events import OrderFilled
    from trading_strategy.orders.state import evolve

    position: dict[str, Any] = {}
    for oid in order_ids:
        print(f"order {oid}")
        for line in explain(oid, journal):
            print(f"  {line}")
        order = None
        for entry in journal.events(order_id=oid):
            order = evolve(order, entry.event)
            if isinstance(entry.event, OrderFilled):
                sign = 1 if order.side.value == "buy" else -1
                key = f"{order.strategy} {order.symbol}"
                position[key] = position.get(key, 0) + sign * entry.event.quantity
                print(f"  position {key} → {position[key]}")
    sys.stdout.flush()
    return 0
