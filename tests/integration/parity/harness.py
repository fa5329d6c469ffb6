"""Run one combination as a backtest and as a replayed paper session, and diff the traces.

Both runs read one portfolio mapping (``combos.Combo.portfolio``) over the same bars and drive
the same recording subclass of the strategy: the paper session as ``trading-strategy run``
does, the backtest as a portfolio backtest (``backtesting.portfolio.run_portfolio``) of that
one strategy, named as in the session. Each run becomes a ``Trace`` of id-independent
tables, in exact units (lots, ticks, money units):

* ``orders``: every order, in the order of the bar it was created on, then exits (made by
  fills) before risk orders (flatten, time exit) before the strategy's own, then content;
  each with its final status, filled lots and the statuses the strategy heard (``path``);
  orders are labelled ``o0``, ``o1``, ... in that order, in both runs;
* ``fills``: bar, order label, side, lots, price, commission, in execution order;
* ``marks``: per bar, position, cash and equity as the strategy sees them in ``on_bar``;
* ``calls``: the strategy's ``on_fill``/``on_order_event`` calls in order, with the bar they
  came on and whether they came inside ``on_bar``;
* ``trades`` and ``final``: the driver's own ledger (round trips; position, cash, equity).

``compare`` returns, per table that differs, its first differing row on each side. A
combination one side refuses at start-up must be refused by the other too.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from trading_strategy.backtesting.portfolio import Sleeve, run_portfolio
from trading_strategy.core.bars import BarSeries, datetime_to_ns
from trading_strategy.core.errors import UserError
from trading_strategy.core.instrument import Instrument
from trading_strategy.market_data.files import load_bars
from trading_strategy.orders.events import OrderFilled
from trading_strategy.orders.journal import InMemoryJournal
from trading_strategy.portfolio.ledger import Ledger
from trading_strategy.runtime.portfolio_config import moment, parse_portfolio
from trading_strategy.runtime.session import PaperSession
from trading_strategy.strategies import registry
from trading_strategy.strategies.base import Strategy

from .combos import SLOT, STRATEGIES, Combo, backtest_inputs
from .recording import CallbackLog, Mark, recording
from .strategies import LimitCancel, Oversize

#: ids of protective exits: ``<entry>-sl``/``-tp`` (and moved stops ``-sl2``, ...)
_EXIT_ID = re.compile(r"-(sl|tp)\d*$")
_RISK_TAGS = ("risk_flatten", "time_exit")
_PHASE = {"exit": 0, "risk": 1, "strategy": 2}
_TEST_STRATEGIES: dict[str, type[Strategy]] = {c.name: c for c in (LimitCancel, Oversize)}


# --- data --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DataSet:
    """Bars both runs use: ``symbol`` as the portfolio names them (a sample or a file), the
    replay window, and the window's bars as the backtest reads them."""

    name: str
    symbol: str
    start: str
    end: str
    bars: BarSeries


@cache
def _loaded(symbol: str) -> BarSeries:
    return load_bars(symbol).bars


def dataset(name: str, symbol: str, first: int | None = None, count: int = 600,
            after: str | None = None) -> DataSet:
    """``count`` bars of ``symbol`` from bar ``first`` (or from the first bar at or after the
    date ``after``), with the inclusive window a session replays them by."""
    full = _loaded(symbol)
    if after is not None:
        first = int(np.searchsorted(full.ts, datetime_to_ns(moment(after)), side="left"))
    first = first or 0
    if first + count > len(full):
        raise ValueError(f"{symbol} has {len(full)} bars, fewer than {first} + {count}")
    start, end = (_day(int(full.ts[first])), _day(int(full.ts[first + count - 1])))
    bars = full.between(datetime_to_ns(moment(start)), datetime_to_ns(moment(end)))
    return DataSet(name, symbol, start, end, bars)


def _day(ts: int) -> str:
    return datetime.fromtimestamp(ts / 1e9, UTC).date().isoformat()


def write_gbm(path: Path, *, count: int = 600, seed: int = 7) -> Path:
    """Daily geometric-Brownian-motion bars (every calendar day, cents) as a CSV file."""
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0.0003, 0.02, count)))
    open_ = np.concatenate(([100.0], close[:-1])) * (1 + rng.normal(0, 0.004, count))
    wick = np.abs(rng.normal(0, 0.008, count))
    o, c = np.round(open_, 2), np.round(close, 2)
    high = np.round(np.maximum(o, c) * (1 + wick), 2)
    low = np.round(np.minimum(o, c) * (1 - wick), 2)
    volume = rng.integers(200_000, 2_000_000, count)
    day0 = datetime(2020, 1, 1, tzinfo=UTC).timestamp()
    lines = ["timestamp,open,high,low,close,volume"]
    for k in range(count):
        date = datetime.fromtimestamp(day0 + 86_400 * k, UTC).date().isoformat()
        lines.append(f"{date},{o[k]:.2f},{high[k]:.2f},{low[k]:.2f},{c[k]:.2f},{volume[k]}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --- traces ------------------------------------------------------------------------------
class OrderRow(NamedTuple):
    bar: int
    role: str
    side: str
    type: str
    lots: int
    limit: int | None
    stop: int | None
    reduce_only: bool
    status: str
    filled: int
    path: tuple[str, ...]


class FillRow(NamedTuple):
    bar: int
    order: str
    side: str
    lots: int
    price: int
    commission: int


class CallRow(NamedTuple):
    kind: str
    bar: int
    inside_on_bar: bool
    order: str
    detail: tuple[Any, ...]
    at: str


class TradeRow(NamedTuple):
    entry: str
    direction: int
    lots: int
    entry_value: int
    exit_value: int
    exit: str
    commission: int


class FinalRow(NamedTuple):
    position: int
    cash: int
    equity: int


@dataclass(frozen=True, slots=True)
class Trace:
    orders: list[OrderRow]
    fills: list[FillRow]
    marks: list[Mark]
    calls: list[CallRow]
    trades: list[TradeRow]
    final: list[FinalRow]


TABLES = ("orders", "fills", "marks", "calls", "trades", "final")


class _RawOrder(NamedTuple):
    id: str
    bar: int
    role: str
    side: str
    type: str
    lots: int
    limit: int | None
    stop: int | None
    reduce_only: bool
    status: str
    filled: int
    seq: int

    def key(self) -> tuple[Any, ...]:
        return (self.bar, _PHASE[self.role], self.side, self.type,
                -1 if self.limit is None else self.limit, -1 if self.stop is None else self.stop,
                self.lots, self.reduce_only, self.seq)


class _RawFill(NamedTuple):
    order_id: str
    bar: int
    side: str
    lots: int
    price: int
    commission: int


def _bar_label(ts: int, index: Mapping[int, int]) -> str:
    return f"b{index[ts]}" if ts in index else f"ts{ts}"


def _trace(orders: Iterable[_RawOrder], fills: Sequence[_RawFill], log: CallbackLog,
           ledger: Ledger, final: FinalRow, index: Mapping[int, int]) -> Trace:
    ordered = sorted(orders, key=_RawOrder.key)
    label = {o.id: f"o{k}" for k, o in enumerate(ordered)}
    paths: dict[str, list[str]] = {}
    calls = []
    for call in log.calls:
        name = label.get(call.order_id, f"?{call.order_id}")
        calls.append(CallRow(call.kind, call.bar, call.inside, name, call.detail,
                             _bar_label(call.ts, index)))
        if call.kind == "event":
            paths.setdefault(call.order_id, []).append(f"{call.detail[0]}@{call.bar}")
    return Trace(
        orders=[OrderRow(o.bar, o.role, o.side, o.type, o.lots, o.limit, o.stop, o.reduce_only,
                         o.status, o.filled, tuple(paths.get(o.id, ()))) for o in ordered],
        fills=[FillRow(f.bar, label.get(f.order_id, f"?{f.order_id}"), f.side, f.lots, f.price,
                       f.commission) for f in fills],
        marks=list(log.marks),
        calls=calls,
        trades=[TradeRow(_bar_label(t.entry_ts, index), t.direction, t.entry_lots,
                         t.entry_value, t.exit_value,
                         "open" if t.exit_ts is None else _bar_label(t.exit_ts, index),
                         t.commission) for t in ledger.trades],
        final=[final])


# --- one run each ------------------------------------------------------------------------
@dataclass
class Outcome:
    """One side's run: a trace, or an exception before its first bar (``refused``), or a
    failure after it (``crashed``)."""

    mode: str
    trace: Trace | None = None
    refused: BaseException | None = None
    crashed: str = ""

    def summary(self) -> str:
        if self.trace is None:
            return "no trace"
        return f"{len(self.trace.orders)} orders, {len(self.trace.fills)} fills"


def strategy_class(key: str) -> type[Strategy]:
    name = STRATEGIES[key]
    return _TEST_STRATEGIES.get(name) or registry.get(name)


def _failed(mode: str, exc: BaseException, log: CallbackLog) -> Outcome:
    if not log.marks:
        return Outcome(mode, refused=exc)
    return Outcome(mode, crashed=f"{type(exc).__name__} after {len(log.marks)} bars: {exc}")


def run_backtest_side(combo: Combo, data: DataSet) -> Outcome:
    log = CallbackLog()
    cls = recording(strategy_class(combo.strategy), log)
    raw = combo.portfolio(data.symbol, data.start, data.end, cls.name)
    try:
        inputs = backtest_inputs(raw)
        portfolio = run_portfolio([Sleeve(SLOT, cls, {}, data.bars, inputs.settings)],
                                  inputs.risk, allow_short_history=True)
    except Exception as exc:
        return _failed("backtest", exc, log)
    result = portfolio.sleeves[0].result
    engine = result.engine
    orders: dict[str, _RawOrder] = {}
    for o in [*engine.state.closed_orders, *engine.orders]:
        role = ("exit" if o.parent_id is not None or _EXIT_ID.search(o.id)
                else "risk" if o.tag in _RISK_TAGS else "strategy")
        seq = re.findall(r"\d+", o.id[len(SLOT):])
        orders.setdefault(o.id, _RawOrder(
            o.id, o.created_index, role, o.side.value, o.order_type.value, o.lots,
            o.limit_ticks, o.stop_ticks, o.reduce_only, o.status.value, o.filled_lots,
            int(seq[0]) if seq else 0))
    fills = [_RawFill(f.order_id, f.bar_index, f.side.value, f.lots, f.price_ticks,
                      f.commission) for f in engine.state.fills]
    ledger = engine.ledger
    final = FinalRow(ledger.position, ledger.cash, int(result.equity_units[-1]))
    return Outcome("backtest", _trace(orders.values(), fills, log, ledger, final,
                                      _ts_index(data.bars)))


def run_session_side(combo: Combo, data: DataSet, root: Path) -> Outcome:
    log = CallbackLog()
    cls = recording(strategy_class(combo.strategy), log)
    raw = combo.portfolio(data.symbol, data.start, data.end, cls.name)
    journal = InMemoryJournal()
    try:
        session = PaperSession(parse_portfolio(raw), data_dir=root,
                               journal_factory=lambda _root: journal)
        result = asyncio.run(session.run())
    except Exception as exc:
        return _failed("paper", exc, log)
    crashed = ""
    if result.failed:
        crashed = f"the supervisor flagged {result.failed} failed: {_last_cause(root)}"
    inst = next(iter(session.instruments.values()))
    own = session.runners[0].ctx.orders
    index = _ts_index(data.bars)
    managed = {o.id: o for o in session.execution.manager.orders()}
    orders = []
    for seq, m in enumerate(managed.values()):
        mine = own.get(m.id)
        role = "strategy" if mine is not None else "exit" if _EXIT_ID.search(m.id) else "risk"
        bar = mine.created_index if mine is not None else _bar_of(m.ts_created, data.bars)
        # the size the order fills to (an all-in order's venue size; ``quantity`` is its cap)
        size = getattr(m, "size", m.quantity)
        orders.append(_RawOrder(
            m.id, bar, role, m.side.value, m.order_type.value, inst.to_lots(size),
            _ticks(inst, m.limit_price), _ticks(inst, m.stop_price), m.reduce_only,
            m.status.value, inst.to_lots(m.filled_quantity), seq))
    for seq, (oid, o) in enumerate(own.items(), start=len(managed)):
        if oid not in managed:  # denied before the order manager saw it
            orders.append(_RawOrder(
                oid, o.created_index, "strategy", o.side.value, o.order_type.value, o.lots,
                o.limit_ticks, o.stop_ticks, o.reduce_only, o.status.value, o.filled_lots, seq))
    fills = []
    for entry in journal.events():
        event = entry.event
        if isinstance(event, OrderFilled):
            order = managed[event.order_id]
            fills.append(_RawFill(event.order_id, index.get(event.ts_event, -1),
                                  order.side.value, inst.to_lots(event.quantity),
                                  inst.to_ticks(event.price), _units(inst, event.commission)))
    ledger = session.execution.ledgers[SLOT]
    mark = session.execution.last_ticks.get(inst.symbol, 0)
    final = FinalRow(ledger.position, ledger.cash, ledger.equity(mark))
    return Outcome("paper", _trace(orders, fills, log, ledger, final, index), crashed=crashed)


def _ts_index(bars: BarSeries) -> dict[int, int]:
    return {int(ts): k for k, ts in enumerate(bars.ts)}


def _bar_of(ts: int, bars: BarSeries) -> int:
    """The last bar opening at or before ``ts``."""
    return int(np.searchsorted(bars.ts, ts, side="right")) - 1


def _ticks(inst: Instrument, price: Decimal | None) -> int | None:
    return None if price is None else inst.to_ticks(price)


def _units(inst: Instrument, money: Decimal) -> int:
    return int((money / inst.money_unit).to_integral_value())


def _last_cause(root: Path) -> str:
    path = next(root.glob("sessions/*/events.jsonl"), None)
    if path is None:
        return "no events file"
    causes = [e.get("cause") for e in map(json.loads, path.read_text().splitlines())
              if e.get("cause")]
    return str(causes[-1]) if causes else "no cause recorded"


def masked(trace: Trace, statuses: Iterable[str]) -> Trace:
    """``trace`` without the order events of ``statuses`` (in ``calls`` and in each order's
    ``path``): a known difference masked, to see what differs next."""
    drop = set(statuses)
    return Trace(
        orders=[o._replace(path=tuple(p for p in o.path if p.split("@")[0] not in drop))
                for o in trace.orders],
        fills=trace.fills, marks=trace.marks,
        calls=[c for c in trace.calls if c.kind != "event" or c.detail[0] not in drop],
        trades=trace.trades, final=trace.final)


# --- comparison --------------------------------------------------------------------------
def run_both(combo: Combo, data: DataSet, root: Path) -> tuple[Outcome, Outcome]:
    return run_backtest_side(combo, data), run_session_side(combo, data, root)


@dataclass(frozen=True, slots=True)
class Problem:
    """One difference: ``key`` names its kind (for grouping), ``text`` shows it."""

    key: str
    text: str

    def __str__(self) -> str:
        return self.text


def compare(backtest: Outcome, paper: Outcome, *, mask: Iterable[str] = ()) -> list[Problem]:
    """What differs, one entry per cause or table (empty: the runs agree); ``mask``: order
    statuses whose events are left out of the comparison (see ``masked``)."""
    sides = (backtest, paper)
    if backtest.refused is not None or paper.refused is not None:
        if backtest.refused is not None and paper.refused is not None:
            return [Problem(f"{o.mode} refuses unclearly",
                            f"{o.mode} refuses with a {type(o.refused).__name__}, not a "
                            f"one-line user error: {o.refused}") for o in sides
                    if not isinstance(o.refused, UserError)]
        refuser, runner = sides if backtest.refused is not None else sides[::-1]
        error = refuser.refused
        if not isinstance(error, UserError):  # a bug, not a refusal
            return [Problem(f"the {refuser.mode} fails at start-up ({type(error).__name__})",
                            f"the {refuser.mode} fails at start-up with a "
                            f"{type(error).__name__}: {error} (the {runner.mode} ran it: "
                            f"{runner.summary()})")]
        keys = sorted(set(re.findall(r"([a-z_]+(?:\.[a-z_0-9]+)+):", str(error))))
        return [Problem(f"only the {refuser.mode} refuses: {', '.join(keys) or str(error)}",
                        f"only the {refuser.mode} refuses at start-up "
                        f"({type(error).__name__}: {error}); the {runner.mode} "
                        f"ran it ({runner.summary()})")]
    crashes = [Problem(f"the {o.mode} fails mid-run", f"the {o.mode} failed mid-run: {o.crashed}")
               for o in sides if o.crashed]
    if crashes or backtest.trace is None or paper.trace is None:
        return crashes
    return differences(masked(backtest.trace, mask), masked(paper.trace, mask))


def differences(backtest: Trace, paper: Trace) -> list[Problem]:
    """Per table that differs: its first differing row on each side (and the row before)."""
    out = []
    for name in TABLES:
        left: list[Any] = getattr(backtest, name)
        right: list[Any] = getattr(paper, name)
        k = next((k for k, (a, b) in enumerate(zip(left, right, strict=False)) if a != b),
                 min(len(left), len(right)))
        if k == len(left) == len(right):
            continue
        text = [f"{name}: first difference at row {k} "
                f"(backtest {len(left)} rows, paper {len(right)})"]
        if k:
            text.append(f"    same before: {left[k - 1]}")
        text.append(f"    backtest:    {left[k] if k < len(left) else '(no more rows)'}")
        text.append(f"    paper:       {right[k] if k < len(right) else '(no more rows)'}")
        out.append(Problem(f"{name}[{_fields(left, right, k)}]", "\n".join(text)))
    return out


def _fields(left: Sequence[Any], right: Sequence[Any], k: int) -> str:
    """The fields that differ in row ``k`` ("rows" when one side has no row ``k``)."""
    if k >= len(left) or k >= len(right):
        return "rows"
    a, b = left[k], right[k]
    names = tuple(getattr(a, "_fields", ()) or getattr(a, "__slots__", ()))
    return ",".join(n for n in names if getattr(a, n) != getattr(b, n))
