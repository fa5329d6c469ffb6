"""A strategy hears of its orders in a paper session as it does in a backtest (shared rule 1):
decision-caused events (accepted, denied, rejected at submit, its own cancel) right after the
``on_bar`` that made them, matching events (fills, cancels by one-cancels-other, expiries,
rejections at the fill) before the next ``on_bar``, a fill as ``on_fill`` then
``on_order_event``. Each test drives a scripted strategy through a real ``PaperSession``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import pytest

from trading_strategy.core.enums import OrderStatus, TimeInForce
from trading_strategy.core.fsm import IllegalTransition
from trading_strategy.core.instrument import Instrument
from trading_strategy.core.orders import OrderIntent
from trading_strategy.core.timeframe import Timeframe
from trading_strategy.market_data.files import load_bars
from trading_strategy.orders.journal import InMemoryJournal
from trading_strategy.orders.venues.paper import PaperVenue, PaperVenueConfig
from trading_strategy.runtime.live_context import LiveContext
from trading_strategy.runtime.portfolio_config import parse_portfolio
from trading_strategy.runtime.session import PaperSession
from trading_strategy.strategies import registry
from trading_strategy.strategies.base import Strategy, StrategyParams
from trading_strategy.strategies.context import FillEvent, OrderEvent

Script = dict[int, Callable[[Any], object]]
#: per scripted strategy: (callback, the event's ts_event)
_STAMPS: dict[str, list[tuple[str, int]]] = {}


def _scripted(name: str, script: Script, log: list[str]) -> type[Strategy]:
    """A strategy that runs ``script[bar_index]`` on that bar and logs every callback."""
    stamps = _STAMPS[name] = []

    class Scripted(Strategy):
        Params: ClassVar[type[StrategyParams]] = StrategyParams

        def on_bar(self) -> None:
            i = self.ctx.bar_index
            if i in script:
                log.append(f"bar {i}")
                script[i](self.ctx)

        def on_fill(self, fill: FillEvent) -> None:
            log.append(f"fill {_short(fill.order_id)} {fill.quantity}")
            stamps.append(("fill", fill.ts_event))

        def on_order_event(self, event: OrderEvent) -> None:
            log.append(f"{event.status.value} {_short(event.order_id)}")
            stamps.append((event.status.value, event.ts_event))

    Scripted.name = name
    registry.register(Scripted)
    return Scripted


def _short(order_id: str) -> str:
    """``<strategy>-<session>-<bar>-<k>[-sl]`` → ``<bar>-<k>[-sl]`` (readable asserts)."""
    parts = order_id.split("-")
    return "-".join([str(int(parts[2])), *parts[3:]])


def _session(tmp: Path, strategy: str, *, venue_cash: Decimal | None = None,
             end: str = "2004-12-31", **entry: Any) -> PaperSession:
    raw = {"session": {"name": strategy, "end": end},
           "strategies": [{"name": "rec", "strategy": strategy, "symbol": "GOOG",
                           "capital": 10000, **entry}]}

    def venue(instruments: dict[str, Instrument], capital: Decimal) -> PaperVenue:
        cash = capital if venue_cash is None else venue_cash
        return PaperVenue(instruments.values(),
                          config=PaperVenueConfig(initial_cash={"USD": cash}))

    return PaperSession(parse_portfolio(raw), data_dir=tmp,
                        journal_factory=lambda root: InMemoryJournal(), venue_factory=venue)


def _run(session: PaperSession) -> None:
    result = asyncio.run(session.run())
    assert result.failed == []


def test_an_order_is_accepted_after_its_bar_then_filled_before_the_next(
        tmp_path: Path) -> None:
    log: list[str] = []
    _scripted("cb_fill", {0: lambda ctx: ctx.buy(1), 1: lambda ctx: None}, log)
    _run(_session(tmp_path, "cb_fill"))
    assert log == ["bar 0", "accepted 0-1", "fill 0-1 1", "filled 0-1", "bar 1"]
    # stamped like a backtest's: the decision's bar, then the bar whose open filled it
    bars = {int(ts): i for i, ts in enumerate(load_bars("GOOG").bars.ts)}
    assert [(s, bars[ts]) for s, ts in _STAMPS["cb_fill"]] == \
        [("accepted", 0), ("fill", 1), ("filled", 1)]


def test_the_strategys_own_cancel_is_heard_right_after_the_bar_that_asked(
        tmp_path: Path) -> None:
    log: list[str] = []
    ids: list[str] = []
    _scripted("cb_cancel", {
        0: lambda ctx: ids.append(ctx.buy(1, limit=1)),  # far below: never fills
        2: lambda ctx: ctx.cancel(ids[0]),
        3: lambda ctx: None,
    }, log)
    session = _session(tmp_path, "cb_cancel")
    _run(session)
    assert log == ["bar 0", "accepted 0-1", "bar 2", "cancelled 0-1", "bar 3"]
    runner = session.runners[0]
    assert runner.ctx.orders[ids[0]].status is OrderStatus.CANCELLED
    assert runner.ctx.open_orders == []


def test_a_risk_denial_is_heard_in_submission_order(tmp_path: Path) -> None:
    log: list[str] = []
    _scripted("cb_deny", {
        0: lambda ctx: (ctx.buy(1, limit=1), ctx.buy(100_000), ctx.buy(1, limit=2)),
        1: lambda ctx: None,
    }, log)
    session = _session(tmp_path, "cb_deny")
    _run(session)
    # the second asks for far more than the strategy's capital: denied, never sent
    assert log == ["bar 0", "accepted 0-1", "denied 0-2", "accepted 0-3", "bar 1"]
    denied = session.runners[0].ctx.orders["-".join(["rec", session.session_id,
                                                     "00000000", "2"])]
    assert denied.status is OrderStatus.DENIED and "cash" in denied.reason
    assert session.execution.manager.find(denied.id) is None


def test_a_rejection_at_the_fill_comes_before_the_next_bar(tmp_path: Path) -> None:
    # the venue holds less cash than the strategy's capital: its fill-time check refuses
    log: list[str] = []
    _scripted("cb_reject", {0: lambda ctx: ctx.buy(10), 1: lambda ctx: None}, log)
    _run(_session(tmp_path, "cb_reject", venue_cash=Decimal(100)))
    assert log == ["bar 0", "accepted 0-1", "rejected 0-1", "bar 1"]


def test_a_day_order_expires_before_the_bar_after_its_day(tmp_path: Path) -> None:
    log: list[str] = []
    _scripted("cb_expire", {
        0: lambda ctx: ctx.buy(1, limit=1, tif=TimeInForce.DAY),
        1: lambda ctx: None,
        2: lambda ctx: None,
    }, log)
    _run(_session(tmp_path, "cb_expire"))
    assert log == ["bar 0", "accepted 0-1", "bar 1", "expired 0-1", "bar 2"]


def test_a_filled_take_profit_cancels_its_stop_and_the_strategy_hears_both(
        tmp_path: Path) -> None:
    log: list[str] = []
    _scripted("cb_oco", {
        # GOOG opened near 50 and rose: the target is hit within weeks, the stop never
        0: lambda ctx: ctx.buy(1, stop_loss=10, take_profit=60),
    }, log)
    session = _session(tmp_path, "cb_oco")
    _run(session)
    assert log[:4] == ["bar 0", "accepted 0-1", "fill 0-1 1", "filled 0-1"]
    rest = [line for line in log[4:] if not line.startswith("accepted")]
    assert rest == ["fill 0-1-tp 1", "filled 0-1-tp", "cancelled 0-1-sl"]
    assert session.execution.ledgers["rec"].position == 0


def test_a_strategy_without_callbacks_trades_as_before(tmp_path: Path) -> None:
    class Quiet(Strategy):
        name = "cb_quiet"
        Params: ClassVar[type[StrategyParams]] = StrategyParams

        def on_bar(self) -> None:
            if self.ctx.bar_index == 0:
                self.ctx.buy(1)

    registry.register(Quiet)
    session = _session(tmp_path, "cb_quiet")
    _run(session)
    order = next(iter(session.runners[0].ctx.orders.values()))
    assert order.status is OrderStatus.FILLED and order.filled_lots == 1
    assert session.runners[0].ctx.position_lots == 1


def test_the_live_context_moves_statuses_only_along_the_table() -> None:
    inst = Instrument("TEST", tick_size=Decimal("0.01"))
    ctx = LiveContext(strategy="s", instrument=inst, timeframe=Timeframe.parse("1d"),
                      initial_cash=Decimal(1000), next_id=lambda: "s-1",
                      sizer=lambda side, price, c: (1, False), now_ns=lambda: 0)
    from trading_strategy.core.bars import Bar

    ctx.push_bar(Bar("TEST", 0, 10.0, 10.0, 10.0, 10.0, 1.0))
    oid = ctx.buy()
    with pytest.raises(IllegalTransition):
        ctx.apply_transition(oid, OrderStatus.FILLED)  # CREATED → FILLED skips the venue
    ctx.apply_transition(oid, OrderStatus.SUBMITTED)
    ctx.apply_transition(oid, OrderStatus.ACCEPTED)
    ctx.apply_transition(oid, OrderStatus.FILLED)
    assert ctx.orders[oid].status is OrderStatus.FILLED
    assert ctx.apply_transition("unknown", OrderStatus.ACCEPTED) is None


def test_all_in_intents_ask_the_venue_to_size_at_the_fill() -> None:
    inst = Instrument("TEST", tick_size=Decimal("0.01"))
    ctx = LiveContext(strategy="s", instrument=inst, timeframe=Timeframe.parse("1d"),
                      initial_cash=Decimal(1000), next_id=lambda: "s-1",
                      sizer=lambda side, price, c: (99, True), now_ns=lambda: 0)
    from trading_strategy.core.bars import Bar

    ctx.push_bar(Bar("TEST", 0, 10.0, 10.0, 10.0, 10.0, 1.0))
    ctx.buy()
    intent = ctx.outbox[0]
    assert isinstance(intent, OrderIntent)
    assert intent.size_at_fill is True and intent.lots == 99
    assert ctx.orders["s-1"].size_at_fill


def test_an_order_decided_again_after_a_restart_catches_up_with_the_journal() -> None:
    # the journal had it SUBMITTED before the crash; this process places it again (CREATED)
    inst = Instrument("TEST", tick_size=Decimal("0.01"))
    ctx = LiveContext(strategy="s", instrument=inst, timeframe=Timeframe.parse("1d"),
                      initial_cash=Decimal(1000), next_id=lambda: "s-1",
                      sizer=lambda side, price, c: (1, False), now_ns=lambda: 0)
    from trading_strategy.core.bars import Bar

    ctx.push_bar(Bar("TEST", 0, 10.0, 10.0, 10.0, 10.0, 1.0))
    oid = ctx.buy()
    ctx.apply_transition(oid, OrderStatus.ACCEPTED, from_status=OrderStatus.SUBMITTED)
    assert ctx.orders[oid].status is OrderStatus.ACCEPTED
    second = ctx.buy()
    ctx.catch_up(second, OrderStatus.FILLED)  # nothing journaled now: met where it is
    assert ctx.orders[second].status is OrderStatus.FILLED
