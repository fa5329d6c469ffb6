"""The composition root of a paper (or live) session: config in, supervised components out.

Components (each an asyncio task under one supervisor, talking only through the bus):

* ``feed``: the market data provider (historical replay by default). For each bar it asks
  the execution component to process it (venue matching, fills, risk), then hands it to
  every runner of that symbol in turn (``StrategyRunner.step``, in the feed's task: each bar
  is finished by every strategy before the next one starts, so a replay is deterministic),
  then checkpoints it when something happened.
* one ``StrategyRunner`` per strategy (restarted on error, stopped and flagged when it keeps
  failing).
* ``venue-reports`` (``runtime.venue_reports.VenueReports``): for a venue no bar feeds
  in-process (an exchange), applies the fills and status changes it reports while the
  session runs; subscribed before the start's reconciliation, so no fill is missed.
* ``reconcile-after-reconnect``: for a venue that signals reconnects, reconciles again after
  each one.

State lives in the data folder, per session name: the order journal (``journal.sqlite3``,
append-only), the checkpoint of the last bar processed per symbol with the risk engine's
state at that bar, and the events file. Starting again with the same name resumes: orders
and positions are rebuilt from the journal, reconciled with the venue, strategies are
warmed up on the bars already processed (their orders suppressed), and the replay continues
after the checkpoint.

Checkpoints (``checkpoint.log``, one appended line each, folded into ``checkpoint.json``
and ``risk_state.json`` at start and end) are written after every bar that journaled an
order event or recorded a risk event, and at least every ``CHECKPOINT_EVERY`` bars. That is
exact for recovery: bars after the last checkpoint changed no order, fill or risk state, so
processing them again after a crash (the venue ignores bars it saw; strategies decide the
same, under the same ids) gives what they gave the first time.
"""

from __future__ import annotations

import copy
import fcntl
import json
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

import structlog

from trading_strategy.core.bars import BarSeries, datetime_to_ns
from trading_strategy.core.enums import OrderStatus
from trading_strategy.core.errors import ConfigError, OperatorActionRequired
from trading_strategy.core.instrument import Instrument
from trading_strategy.market_data.files import load_bars
from trading_strategy.market_data.providers.base import BarEvent
from trading_strategy.market_data.providers.replay import ReplayProvider
from trading_strategy.observability.metrics import SessionMetrics
from trading_strategy.orders.events import OrderCreated, OrderEvent
from trading_strategy.orders.journal import Journal
from trading_strategy.orders.venues.base import Venue, VenueReport
from trading_strategy.risk import RiskEngine
from trading_strategy.runtime import faults
from trading_strategy.runtime.bus import Bus
from trading_strategy.runtime.execution import Execution, StrategySlot
from trading_strategy.runtime.journal_store import NotifyingJournal, StoredJournal
from trading_strategy.runtime.lifecycle import LifecycleEvent, LifecycleState
from trading_strategy.runtime.live_data import (
    HealthRouter,
    LiveData,
    store_live_bars,
    warm_until,
)
from trading_strategy.runtime.portfolio_config import PortfolioConfig, moment
from trading_strategy.runtime.reconcile import (
    ReconciliationReport,
    ReconnectReconciler,
    reconcile,
    signals_reconnects,
)
from trading_strategy.runtime.recorder import EventRecorder
from trading_strategy.runtime.runner import OrderPlaced, OrderTransition, StrategyRunner
from trading_strategy.runtime.supervisor import Supervisor
from trading_strategy.runtime.venue_reports import VenueReports, needs_report_stream
from trading_strategy.strategies import registry

log = structlog.get_logger("trading_strategy.session")

_DONE_TIMEOUT_S = 60.0
#: bars between two checkpoints when nothing happens (bounds the work redone after a crash)
CHECKPOINT_EVERY = 2048
_ENDED = (OrderStatus.CANCELLED, OrderStatus.EXPIRED)


@dataclass
class SessionResult:
    bars: int = 0
    reconciliation: ReconciliationReport | None = None
    strategies: dict[str, dict[str, Any]] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)


#: how often (wall time) a running session looks for new operator requests
_REQUESTS_EVERY_S = 0.5


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


def session_dir(data_dir: Path, name: str) -> Path:
    return data_dir / "sessions" / name


class SessionFiles:
    """The session's own small files (identity, checkpoint, events, metrics snapshot).

    Opening them takes an exclusive lock on the folder: two processes driving one session
    would race on its journal and checkpoint.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self._lock = (root / ".lock").open("a")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            raise ConfigError(f"session {root.name!r} is in use by another process "
                              f"(lock {root / '.lock'})") from None
        self._events: TextIO | None = None
        self._log: TextIO | None = None
        self._equity: TextIO | None = None

    def release(self) -> None:
        """Give the folder up (the lock also goes with the process)."""
        for handle in (self._events, self._log, self._equity):
            if handle is not None:
                handle.close()
        self._events = self._log = self._equity = None
        if not self._lock.closed:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()

    def session_id(self, name: str) -> str:
        """Stable across restarts of one session; new for a fresh session folder."""
        path = self.root / "session.json"
        if path.exists():
            return str(json.loads(path.read_text())["session_id"])
        sid = f"{name}.{secrets.token_hex(3)}"
        _atomic_write(path, json.dumps({"session_id": sid}))
        return sid

    # --- checkpoints -------------------------------------------------------------------------
    def checkpoint(self) -> dict[str, int]:
        """The last bar processed per symbol."""
        return read_checkpoint(self.root)

    def risk_state(self) -> dict[str, Any] | None:
        """The risk engine's state saved with the checkpoint (None before the first)."""
        state = _last_logged(self.root)
        if state is not None:
            risk: dict[str, Any] | None = state.get("risk")
            return risk
        path = self.root / "risk_state.json"
        return json.loads(path.read_text()) if path.exists() else None

    def save_checkpoint(self, bars: dict[str, int], risk: dict[str, Any]) -> None:
        """Append one checkpoint (a single write: cheap enough for every bar that acts)."""
        log = self._log
        if log is None:
            log = self._log = (self.root / "checkpoint.log").open("a", encoding="utf-8")
        log.write(_COMPACT.encode({"bars": bars, "risk": risk}) + "\n")
        log.flush()

    def compact_checkpoint(self) -> None:
        """Fold the appended checkpoints into ``checkpoint.json`` and ``risk_state.json``
        (what ``status`` and people read) and start an empty log."""
        state = _last_logged(self.root)
        if state is None:
            return
        _atomic_write(self.root / "risk_state.json", json.dumps(state.get("risk") or {}))
        _atomic_write(self.root / "checkpoint.json", json.dumps(state["bars"]))
        if self._log is not None:
            self._log.close()
            self._log = None
        # the files above hold the log's last line: losing it now loses nothing
        (self.root / "checkpoint.log").unlink(missing_ok=True)

    # --- events ----------------------------------------------------------------------------
    def event(self, kind: str, data: dict[str, Any]) -> None:
        line = json.dumps({"kind": kind, "ts": time.time_ns(), **data}, default=str)
        handle = self._events
        if handle is None:
            handle = self._events = (self.root / "events.jsonl").open("a", encoding="utf-8")
        handle.write(line + "\n")
        handle.flush()  # on disk (the OS's) before the order it concerns goes anywhere

    def save_metrics(self, text: bytes) -> None:
        _atomic_write(self.root / "metrics.prom", text.decode())

    def equity_point(self, ts_ns: int, equity: Mapping[str, str], total: str | None,
                     bars: Mapping[str, int]) -> None:
        """Append one point of the equity curve (``equity.jsonl``: the dashboard's chart):
        the market time, each strategy's equity and their total (``None`` when the
        strategies count in different currencies), and the last bar per symbol (fresher
        than the checkpoint, which waits for something to happen)."""
        handle = self._equity
        if handle is None:
            handle = self._equity = (self.root / EQUITY_FILE).open("a", encoding="utf-8")
        handle.write(_COMPACT.encode({"ts": ts_ns, "equity": equity, "total": total,
                                      "bars": bars}) + "\n")
        handle.flush()


#: the session's equity curve, one JSON line per point, in its folder
EQUITY_FILE = "equity.jsonl"
#: bars between two points of the equity curve when no order moved it
EQUITY_EVERY = 16
#: wall seconds between two metrics snapshots while running (the dashboard's latency)
_METRICS_EVERY_S = 2.0

#: the checkpoint log's encoder, built once (``json.dumps`` with options builds one a call)
_COMPACT = json.JSONEncoder(separators=(",", ":"))


def read_checkpoint(root: Path) -> dict[str, int]:
    """The last bar processed per symbol of the session whose folder is ``root`` (``{}``
    before its first bar); also readable while the session runs."""
    state = _last_logged(root)
    if state is not None:
        return {k: int(v) for k, v in state["bars"].items()}
    path = root / "checkpoint.json"
    return {k: int(v) for k, v in json.loads(path.read_text()).items()} \
        if path.exists() else {}


def read_risk_state(root: Path) -> dict[str, Any]:
    """The risk engine's state at the last checkpoint of the session whose folder is
    ``root`` (``{}`` before its first); also readable while the session runs."""
    state = _last_logged(root)
    if state is not None:
        risk = state.get("risk")
        return risk if isinstance(risk, dict) else {}
    path = root / "risk_state.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    return data if isinstance(data, dict) else {}


def _last_logged(root: Path) -> dict[str, Any] | None:
    """The newest complete line of ``checkpoint.log`` (a kill may cut the last one short)."""
    path = root / "checkpoint.log"
    if not path.exists():
        return None
    for line in reversed(path.read_text(encoding="utf-8").splitlines()):
        try:
            state = json.loads(line)
        except ValueError:
            continue
        if isinstance(state, dict) and isinstance(state.get("bars"), dict):
            return state
    return None


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _file_bars(symbol: str, timeframe: str | None) -> BarSeries:
    """A bundled sample or a CSV/Parquet file."""
    return load_bars(symbol, timeframe=timeframe).bars


def _socket_feed(venue: Venue) -> Callable[[BarEvent], Awaitable[list[VenueReport]]]:
    """Feed a paper venue behind a socket: POST the bar; its answer carries the reports the
    bar produced, so a replay stays in lockstep (duplicates from the stream are harmless:
    the order manager ignores a fill it already has)."""

    async def feed(event: BarEvent) -> list[VenueReport]:
        push = venue.push_bars_reports  # type: ignore[attr-defined]
        reports: list[VenueReport] = await push([(event.symbol, event.bar)])
        return reports

    return feed


def _refuse_empty_window(config: PortfolioConfig, symbol_of: Mapping[str, str],
                         series: Mapping[str, BarSeries]) -> None:
    """A session that would process no bar at all refuses to start; a strategy whose
    instrument has no bar in the window (others do) is named in a warning."""
    s = config.session
    window = f"between {s.start or 'the first bar'} and {s.end or 'the last bar'}"
    empty = [e for e in config.strategies if len(series[symbol_of[e.symbol]]) == 0]
    if len(empty) == len(config.strategies):
        names = ", ".join(f"{e.name} ({e.symbol})" for e in empty)
        raise ConfigError(f"no bars {window} for any strategy: {names}; change [session] "
                          "start/end or import the data")
    for entry in empty:
        log.warning("no_bars_in_window", strategy=entry.name, symbol=entry.symbol,
                    window=window)


def _window(config: PortfolioConfig, bars: BarSeries) -> BarSeries:
    def ns(text: str | None) -> int | None:
        return None if text is None else datetime_to_ns(moment(text))

    return bars.between(ns(config.session.start), ns(config.session.end))


class PaperSession:
    def __init__(
        self,
        config: PortfolioConfig,
        *,
        data_dir: Path,
        journal_factory: Callable[[Path], Journal],
        venue_factory: Callable[[dict[str, Instrument], Decimal], Venue] | None = None,
        bar_feed: Callable[[Venue], Callable[[BarEvent], Awaitable[list[VenueReport]]]]
        | None = None,
        metrics: SessionMetrics | None = None,
        event_repository: Any | None = None,
        bar_source: Callable[[str, str | None], BarSeries] | None = None,
        bar_store: Any | None = None,
    ) -> None:
        self.config = config
        self.data_dir = data_dir
        self.files = SessionFiles(session_dir(data_dir, config.session.name))
        self.recorder = EventRecorder(self.files, event_repository)
        self.session_id = self.files.session_id(config.session.name)
        self.metrics = metrics or SessionMetrics()
        self._requests_checked = 0.0
        self._requests_seen: tuple[int, ...] | None = None
        self._metrics_saved = time.monotonic()
        #: strategy name → its operator state (``runtime.rearm.read_strategy_states``)
        self._strategy_states: dict[str, dict[str, Any]] = {}
        self.bus = Bus()
        series: dict[str, BarSeries] = {}
        #: the config's data reference (symbol or file) → the instrument's symbol
        symbol_of: dict[str, str] = {}
        for entry in config.strategies:
            if entry.symbol not in symbol_of:
                source = bar_source or _file_bars
                loaded = _window(config, source(entry.symbol, entry.timeframe))
                symbol_of[entry.symbol] = loaded.instrument.symbol
                series[loaded.instrument.symbol] = loaded
            elif entry.timeframe is not None and \
                    str(series[symbol_of[entry.symbol]].timeframe) != entry.timeframe:
                raise ConfigError(f"strategy {entry.name}: {entry.symbol} is already "
                                  f"replayed at {series[symbol_of[entry.symbol]].timeframe}; "
                                  "one timeframe per symbol in a session")
        _refuse_empty_window(config, symbol_of, series)
        self.series = series
        self.instruments = {sym: s.instrument for sym, s in series.items()}
        #: the venue's starting cash: each strategy's capital in its instrument's currency
        self.capital_by_currency: dict[str, Decimal] = {}
        for entry in config.strategies:
            currency = self.instruments[symbol_of[entry.symbol]].currency
            self.capital_by_currency[currency] = \
                self.capital_by_currency.get(currency, Decimal(0)) + entry.capital
        capital = sum((e.capital for e in config.strategies), Decimal(0))
        remote = config.venue.kind == "paper-http"
        if venue_factory is None:
            venue_factory = self._venue
        self.venue = venue_factory(self.instruments, capital)
        if faults.active():
            self.venue = faults.CrashingVenue(self.venue)
        if bar_feed is None and remote:
            bar_feed = _socket_feed
        feed = bar_feed(self.venue) if bar_feed is not None else self._in_process_feed()
        self.risk = RiskEngine(config.risk, self.instruments)
        #: order id → its strategy, for the transitions the journal reports
        self._owners: dict[str, str] = {}
        self._topics: dict[str, str] = {}
        self.journal = NotifyingJournal(journal_factory(self.files.root), self._order_transition)
        self.execution = Execution(
            risk=self.risk, journal=self.journal, session_id=self.session_id,
            venue=self.venue, venue_name=getattr(self.venue, "name", "venue"),
            instruments=self.instruments,
            slots=[StrategySlot(e.name, symbol_of[e.symbol], e.capital)
                   for e in config.strategies],
            metrics=self.metrics, publish=self.bus.publish, feed_venue=feed,
            sink=self.recorder,
        )
        self.execution.set_timeframes({sym: not s.timeframe.is_intraday
                                       for sym, s in series.items()})
        self.bus.register_endpoint("execution.submit", self.execution.submit)
        self.bus.register_endpoint("execution.cancel", self.execution.cancel)
        checkpoint = self.files.checkpoint()
        #: live data (``[data]``): the stored history is warm-up, never traded on
        # live bars go to the bar store (with their provider) once processed
        self.live = None if config.data is None else LiveData(
            config.data, {sym: str(s.timeframe) for sym, s in series.items()},
            on_bar=None if bar_store is None else store_live_bars(bar_store, self.instruments),
            metrics=self.metrics.feed(),
            # a closed market (night, weekend, holiday) is no gap and not stale
            calendars={sym: s.instrument.calendar for sym, s in series.items()})
        if self.live is not None:
            checkpoint = warm_until(checkpoint, series)
        self.checkpoint = checkpoint
        commission = config.venue.commission_costs()
        self.runners = [
            StrategyRunner(
                name=e.name, strategy_cls=registry.get(e.strategy), params=e.params,
                instrument=self.instruments[symbol_of[e.symbol]],
                timeframe=series[symbol_of[e.symbol]].timeframe,
                capital=e.capital, session_id=self.session_id, bus=self.bus,
                metrics=self.metrics.strategy(e.name), size=e.size,
                commission=commission.bind(self.instruments[symbol_of[e.symbol]]),
                warmup_until=checkpoint.get(symbol_of[e.symbol]),
            )
            for e in config.strategies
        ]
        for runner in self.runners:
            # a resumed strategy starts from the position and cash its journaled fills made
            runner.ctx.ledger = copy.deepcopy(self.execution.ledgers[runner.name])
        self.supervisor = Supervisor(name="session", sink=self._lifecycle)
        #: applies an exchange's own reports while the session runs (``None``: the bar feed
        #: hands the venue's reports back, as a paper venue's does)
        self.venue_reports = VenueReports(self.execution) if needs_report_stream(
            self.venue, fed_in_process=feed is not None) else None
        self.result = SessionResult()

    # --- venue ---------------------------------------------------------------------------
    def _venue(self, instruments: dict[str, Instrument], capital: Decimal) -> Venue:
        from trading_strategy.runtime.venue_factory import build_venue

        return build_venue(self.config.venue, instruments,
                           initial_cash=self.capital_by_currency, state_dir=self.files.root,
                           strategies=self.config.strategies)

    def _in_process_feed(self) -> Callable[[BarEvent], Awaitable[list[VenueReport]]] | None:
        on_bar = getattr(self.venue, "on_bar", None)
        if on_bar is None:
            return None

        async def feed(event: BarEvent) -> list[VenueReport]:
            reports = on_bar(event.symbol, event.bar)
            return reports if type(reports) is list else list(reports)

        return feed

    # --- order callbacks -------------------------------------------------------------------
    def _order_transition(self, event: OrderEvent, before: OrderStatus | None,
                          after: OrderStatus) -> None:
        """A journaled transition, passed to the runner of the order's strategy (which turns
        it into the strategy's callback). Runs inside the order manager's ``apply``, between
        the journal write and the order's update in memory: it must never raise."""
        oid = event.order_id
        if isinstance(event, OrderCreated) or before is None:
            owner = self._owners[oid] = getattr(event, "strategy", "")
            if isinstance(event, OrderCreated):
                self._order_placed(owner, event)
            return
        try:
            owner = self._owners.get(oid)
            if owner is None:  # an order from before a restart
                order = self.execution.manager.find(oid)
                if order is None:
                    return
                owner = self._owners[oid] = order.strategy
            topic = self._topics.get(owner)
            if topic is None:
                topic = self._topics[owner] = f"strategy.{owner}"
            reason = getattr(event, "reason", "") or (event.cause if after in _ENDED else "")
            self.bus.publish_nowait(topic, OrderTransition(oid, before, after, reason))
        except Exception:  # the order is journaled; a strategy missing its callback is not
            log.exception("order_callback_lost", order_id=oid, status=after.value)

    def _order_placed(self, owner: str, event: OrderCreated) -> None:
        """Tell the strategy's runner of an order journaled for it (its context lists the
        exits and risk orders placed for it among its open orders, as a backtest does)."""
        try:
            topic = self._topics.get(owner)
            if topic is None:
                topic = self._topics[owner] = f"strategy.{owner}"
            self.bus.publish_nowait(topic, OrderPlaced(
                event.order_id, event.side, event.quantity, event.order_type,
                event.limit_price, event.stop_price, event.tif, event.reduce_only,
                event.parent_id, event.ts_event))
        except Exception:  # the order is journaled; the strategy's list lacks it
            log.exception("order_placed_lost", order_id=event.order_id)

    # --- lifecycle -----------------------------------------------------------------------
    def _lifecycle(self, event: LifecycleEvent) -> None:
        data = {"component": event.component, "from": event.from_state.value,
                "to": event.to_state.value, "reason": event.reason, "cause": event.cause}
        self.recorder("strategy_event", data)
        if event.is_restart and event.component in self.execution.slots:
            # (the session's own components are no strategies: no series of their own)
            self.metrics.strategy(event.component).restart(event.cause or "exit")
        if event.to_state is LifecycleState.FAILED:
            log.error("component_failed", **data)
            if event.component not in self.result.failed:
                self.result.failed.append(event.component)
            if self.venue_reports is not None and event.component == self.venue_reports.name:
                self._halt_blind(event.reason)
            for runner in self.runners:
                if runner.name == event.component:
                    runner.close()

    def _halt_blind(self, reason: str) -> None:
        """The venue's reports can no longer be applied: the session would trade blind to
        its fills (positions, exits, loss limits all wrong), so the portfolio is HALTED —
        entries refused and cancelled, reductions pass — until an operator re-arms (after a
        restart, whose reconciliation applies what was missed)."""
        change = self.execution.risk.halt(
            None, actor="session", ts_ns=time.time_ns(),
            note=f"venue reports no longer applied ({reason}); restart the session to "
                 "reconcile, then re-arm")
        if change is not None:
            self.execution.apply_state_changes([change])
            log.error("halted_blind", reason=reason)

    # --- running -------------------------------------------------------------------------
    # --- operator state that outlives the process -------------------------------------------
    def _market_now(self) -> int:
        """The session's clock: the last bar processed (replays run on market time)."""
        return max(self.checkpoint.values(), default=0) or time.time_ns()

    def _restore_risk_state(self) -> None:
        state = self.files.risk_state()
        if state:
            self.execution.risk.restore(state)

    def _restore_halts(self) -> None:
        for key, halt in self.recorder.halts().items():
            strategy = None if key == "portfolio" else key
            change = self.execution.risk.restore_halt(
                strategy, ts_ns=self._market_now(),
                message=f"{key}: still HALTED from before the restart "
                        f"({halt.get('message', '')}); re-arm to trade again")
            if change is not None:
                log.warning("halt_restored", scope=key)

    def _apply_rearms(self, now_ns: int | None = None) -> None:
        from trading_strategy.runtime.rearm import read_rearm_requests

        marker = self.files.root / "rearm-applied.json"
        applied = int(json.loads(marker.read_text())) if marker.exists() else 0
        requests = read_rearm_requests(self.data_dir)
        for request in requests[applied:]:
            if request.strategy is not None:
                self.execution.operator_halts.discard(request.strategy)
            change = self.execution.risk.rearm(request.strategy, actor=request.actor,
                                               ts_ns=now_ns or self._market_now())
            if change is not None:
                self.recorder("risk_state", change.to_dict())
                log.warning("rearmed", scope=request.scope_label, actor=request.actor)
        if len(requests) != applied:
            _atomic_write(marker, json.dumps(len(requests)))

    def _apply_halts(self, now_ns: int | None = None) -> None:
        """The operators' kill switches for this session (the dashboard's Halt): each halts
        its scope as a drawdown halt does — entries cancelled, and with ``flatten_on_halt``
        exits cancelled and positions closed — until a re-arm."""
        from trading_strategy.runtime.rearm import read_halt_requests

        marker = self.files.root / "halt-applied.json"
        applied = int(json.loads(marker.read_text())) if marker.exists() else 0
        requests = read_halt_requests(self.data_dir)
        name = self.config.session.name
        for request in requests[applied:]:
            if request.session != name:
                continue
            change = self.execution.risk.halt(request.strategy, actor=request.actor,
                                              ts_ns=now_ns or self._market_now(),
                                              note=request.note)
            if change is not None:
                self.execution.apply_state_changes([change])
                log.warning("halted_by_operator", scope=request.scope_label,
                            actor=request.actor)
        if len(requests) != applied:
            _atomic_write(marker, json.dumps(len(requests)))

    def _restore_controls(self) -> None:
        """Strategies an operator paused or stopped stay so across a restart (a stopped one
        gets no ``on_start``); every strategy is listed, for the status and the web app."""
        from trading_strategy.runtime.rearm import read_strategy_states, write_strategy_states

        saved = read_strategy_states(self.files.root)
        states: dict[str, dict[str, Any]] = {}
        for runner in self.runners:
            state = saved.get(runner.name) or {"state": "running"}
            if state.get("state") in ("paused", "stopped"):
                runner.mode = str(state["state"])
                log.warning("strategy_state_restored", strategy=runner.name, state=runner.mode)
            states[runner.name] = dict(state)
        self._strategy_states = states
        write_strategy_states(self.files.root, states)

    def _apply_controls(self, now_ns: int | None = None) -> None:
        """Operators' pause, resume, stop and start of this session's strategies
        (``StrategyControl`` says what each means), each journaled as the strategy's state
        transition with its actor and remembered for a restart."""
        from trading_strategy.runtime.rearm import read_control_requests, write_strategy_states

        marker = self.files.root / "control-applied.json"
        applied = int(json.loads(marker.read_text())) if marker.exists() else 0
        requests = read_control_requests(self.data_dir)
        runners = {r.name: r for r in self.runners}
        changed = False
        for request in requests[applied:]:
            if request.session != self.config.session.name:
                continue
            runner = runners.get(request.strategy)
            if runner is None:
                log.warning("control_unknown_strategy", strategy=request.strategy,
                            action=request.action, actor=request.actor)
                continue
            before = runner.mode
            after = runner.control(request.action)
            if after is None:
                log.info("control_no_change", strategy=runner.name, action=request.action,
                         state=before)
                continue
            ts = now_ns or self._market_now()
            cancelled = (self.execution.cancel_entries(runner.name, actor=request.actor)
                         if request.action == "stop" else [])
            self.recorder("strategy_event", {
                "component": runner.name, "from": before, "to": after,
                "reason": f"{request.action} by {request.actor}"
                          + (f": {request.note}" if request.note else ""),
                "cause": "operator", "actor": request.actor, "action": request.action,
                "ts_ns": ts, "cancelled": cancelled})
            self._strategy_states[runner.name] = {"state": after, "actor": request.actor,
                                                  "ts_ns": ts, "note": request.note}
            changed = True
            log.warning("strategy_control", strategy=runner.name, action=request.action,
                        actor=request.actor, state=after)
        if changed:
            write_strategy_states(self.files.root, self._strategy_states)
        if len(requests) != applied:
            _atomic_write(marker, json.dumps(len(requests)))

    def _apply_requests(self, now_ns: int | None = None) -> None:
        """Operators' halt, re-arm and strategy control requests, read when their files
        changed (a stat per call, at most every ``_REQUESTS_EVERY_S`` of wall time while
        bars flow)."""
        from trading_strategy.runtime.rearm import (
            CONTROL_REQUESTS,
            HALT_REQUESTS,
            REARM_REQUESTS,
        )

        now = time.monotonic()
        if now - self._requests_checked < _REQUESTS_EVERY_S:
            return
        self._requests_checked = now
        stamps = tuple(_mtime(self.data_dir / rel)
                       for rel in (REARM_REQUESTS, HALT_REQUESTS, CONTROL_REQUESTS))
        if stamps == self._requests_seen:
            return
        self._requests_seen = stamps
        self._apply_halts(now_ns)
        self._apply_rearms(now_ns)
        self._apply_controls(now_ns)

    async def run(self) -> SessionResult:
        server = None
        try:
            server = self._serve_metrics()
            self._restore_risk_state()
            self.files.compact_checkpoint()
            self._restore_halts()
            if self.venue_reports is not None:
                # subscribed before anything is sent (reconciliation may re-send orders)
                self.venue_reports.open()
                self.supervisor.add(self.venue_reports)
            report = await reconcile(self.execution, now_ns=time.time_ns(),
                                     strict=self.config.venue.kind == "ccxt")
            self.result.reconciliation = report
            self.files.event("reconciliation", report.as_dict())
            for line in report.lines():
                log.info("reconcile", line=line)
            self._apply_halts()
            self._apply_rearms()
            self._restore_controls()
            self._apply_controls()
            for runner in self.runners:
                self.supervisor.add(runner)
            if signals_reconnects(self.venue):
                # it runs beside the feed and strategies: one at a time with them
                self.execution.serialise()
                # reconciled again, strictly for an exchange account, after every reconnect
                self.supervisor.add(ReconnectReconciler(
                    self.execution, strict=self.config.venue.kind == "ccxt",
                    record=self.files.event))
            await self.supervisor.start()
            self._defer_acks(True)
            await self._feed()
            # orders re-sent after a restart wait for the replay to pass their decision bar;
            # one decided on the last bar is sent now
            await self.execution.flush_resends()
        finally:
            await self.supervisor.stop(timeout=10)
            self._defer_acks(False)
            self.recorder.flush()
            self.files.compact_checkpoint()
            self.files.save_metrics(self.metrics.render())
            if server is not None:
                server.shutdown()
                server.server_close()
            close = getattr(self.venue, "close", None)
            if close is not None:
                await close()
            self.files.release()
        for runner in self.runners:
            ledger = self.execution.ledgers[runner.name]
            inst = self.instruments[runner.symbol]
            mark = self.execution.last_ticks.get(runner.symbol, 0)
            self.result.strategies[runner.name] = {
                "symbol": runner.symbol,
                "position": str(inst.quantity(ledger.position)),
                "cash": str(inst.money(ledger.cash)),
                "equity": str(inst.money(ledger.equity(mark))),
                "trades": len(ledger.trades),
                "state": runner.mode,
            }
        return self.result

    def _defer_acks(self, on: bool) -> None:
        """Let a stored journal hold venue acks back during the replay (``StoredJournal``
        says why that is safe); off again, what it holds is written. It also takes the
        recorder's pending events into its transactions when they share the database."""
        inner = self.journal.inner
        if isinstance(inner, StoredJournal):
            inner.defer_acks = on
            if on:
                inner.take_events_from(self.recorder)
            else:
                inner.flush()

    def _serve_metrics(self) -> Any:
        port = self.config.session.metrics_port
        if not port:
            return None
        from prometheus_client import start_http_server

        try:
            server, _thread = start_http_server(port, addr="127.0.0.1",
                                                registry=self.metrics.registry)
        except OSError as exc:
            raise ConfigError(f"session.metrics_port {port}: cannot serve metrics there "
                              f"({exc.strerror}); choose another port or 0") from None
        return server

    async def _feed(self) -> None:
        by_symbol: dict[str, list[StrategyRunner]] = {}
        for runner in self.runners:
            by_symbol.setdefault(runner.symbol, []).append(runner)
        provider = ReplayProvider(list(self.series.values()), speed=self.config.session.speed)
        stream = provider.stream()
        if self.live is not None:
            health = HealthRouter(self.execution.risk, {
                sym: [r.data_health for r in rs] for sym, rs in by_symbol.items()},
                record=self.recorder, count=self.metrics.feed().health)
            stream = self.live.after(stream, health)
        checkpoint = dict(self.checkpoint)
        execution, journal, recorder, result = (self.execution, self.journal, self.recorder,
                                                self.result)
        seen = journal.count + recorder.count
        quiet = flat = 0
        async for event in stream:
            symbol, ts = event.symbol, event.bar.ts_event
            warm = ts <= checkpoint.get(symbol, -1)
            if warm:
                execution.mark(event)
            else:
                await execution.on_bar(event)
            # decision latency runs from here: the bar reaches the strategies (after the paper
            # venue matched it, which mirrors the backtest's order of work)
            runners = by_symbol.get(symbol)
            if runners:
                event = BarEvent(symbol, event.timeframe, event.bar, time.time_ns(),
                                 event.provider)
                for runner in runners:
                    if runner.ready or await self._until_ready(runner, ts):
                        await runner.step(event)
            result.bars += 1
            self._apply_requests(ts)
            if warm:
                continue
            checkpoint[symbol] = ts
            activity = journal.count + recorder.count
            quiet += 1
            flat += 1
            if activity != seen or quiet >= CHECKPOINT_EVERY:
                seen, quiet, flat = activity, 0, 0
                recorder.flush()
                self.files.save_checkpoint(checkpoint, execution.risk.snapshot())
                self._equity_point(ts, checkpoint)
            elif flat >= EQUITY_EVERY:
                flat = 0
                self._equity_point(ts, checkpoint)
        if quiet:
            self.files.save_checkpoint(checkpoint, execution.risk.snapshot())
        if flat or quiet:
            self._equity_point(max(checkpoint.values(), default=0), checkpoint)

    def _equity_point(self, ts: int, bars: Mapping[str, int]) -> None:
        """Each strategy's equity now (exact, in its instrument's money), for the chart."""
        execution = self.execution
        equity: dict[str, str] = {}
        total = Decimal(0)
        currencies = set()
        for runner in self.runners:
            inst = self.instruments[runner.symbol]
            value = inst.money(execution.ledgers[runner.name].equity(
                execution.last_ticks.get(runner.symbol, 0)))
            equity[runner.name] = str(value)
            total += value
            currencies.add(inst.currency)
        self.files.equity_point(ts, equity, str(total) if len(currencies) == 1 else None,
                                bars)
        self._snapshot_metrics()

    def _snapshot_metrics(self) -> None:
        """Latency, fill and P&L figures for the status and the dashboard while the session
        runs, at most every ``_METRICS_EVERY_S`` of wall time (a render is cheap)."""
        now = time.monotonic()
        if now - self._metrics_saved >= _METRICS_EVERY_S:
            self._metrics_saved = now
            self.files.save_metrics(self.metrics.render())

    async def _until_ready(self, runner: StrategyRunner, ts: int) -> bool:
        """Wait for a runner the supervisor is restarting; ``False`` if it was flagged."""
        try:
            return await runner.wait_ready(_DONE_TIMEOUT_S)
        except TimeoutError:
            # never checkpoint a bar a strategy did not finish: stop here, and a restart
            # resumes from the last bar every strategy completed
            log.error("runner_timeout", waiting=runner.name, bar_ts=ts)
            raise OperatorActionRequired(
                f"strategy {runner.name} was not running again within {_DONE_TIMEOUT_S:g} s "
                f"to take the bar of {ts}; the session stopped before checkpointing it (run "
                "it again to resume)") from None
