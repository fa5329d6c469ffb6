"""Reconciliation after a crash, in-process and fast: each crash state is built by doing only
the steps before the kill (with the real order manager, journal and paper venue), then a new
session's execution is built over the same journal and venue, as a restart would.

The subprocess kill -9 tests (tests/integration/test_crash_recovery.py) prove the whole path;
these pin each rule of ``runtime/reconcile.py`` on its own.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

from trading_strategy.core.bars import Bar
from trading_strategy.core.enums import OrderStatus, OrderType, Side
from trading_strategy.core.orders import OrderIntent
from trading_strategy.market_data.files import load_bars
from trading_strategy.market_data.providers.base import BarEvent
from trading_strategy.orders.journal import InMemoryJournal
from trading_strategy.orders.venues.base import FillReport
from trading_strategy.orders.venues.paper import PaperVenue
from trading_strategy.runtime.portfolio_config import parse_portfolio
from trading_strategy.runtime.reconcile import reconcile
from trading_strategy.runtime.session import PaperSession

_DAY = 86_400 * 10**9
_GOOG = load_bars("GOOG").bars


def _bar(i: int) -> Bar:
    s = _GOOG
    return Bar("GOOG", int(s.ts[i]), float(s.open[i]), float(s.high[i]), float(s.low[i]),
               float(s.close[i]), float(s.volume[i]))


def _event(i: int) -> BarEvent:
    return BarEvent("GOOG", "1d", _bar(i), 0)


class _Shared:
    """One journal and one paper venue that outlive the 'process' (a session object)."""

    def __init__(self) -> None:
        self.journal = InMemoryJournal()
        self.venue: PaperVenue | None = None

    def session(self, tmp: Path) -> PaperSession:
        raw = {"session": {"name": "rec"},
               "venue": {"commission": 0.001, "slippage_bps": 0},
               "strategies": [{"name": "s", "strategy": "sma_crossover", "symbol": "GOOG",
                               "capital": 100000, "size": "10"}],
               "risk": {"stop_loss_pct": 5, "take_profit_pct": 10}}

        def venue(instruments: dict[str, Any], capital: Decimal) -> PaperVenue:
            if self.venue is None:
                from trading_strategy.orders.venues.paper import PaperVenueConfig
                self.venue = PaperVenue(instruments.values(), config=PaperVenueConfig(
                    initial_cash={"USD": capital}))
            return self.venue

        session = PaperSession(parse_portfolio(raw), data_dir=tmp,
                               journal_factory=lambda root: self.journal, venue_factory=venue)
        session.files.release()  # the next 'process' takes the folder again
        return session


def _intent(i: int, oid: str) -> OrderIntent:
    inst = _GOOG.instrument
    return OrderIntent(client_order_id=oid, strategy="s", symbol="GOOG", side=Side.BUY,
                       lots=10, order_type=OrderType.MARKET, ts_init=int(_GOOG.ts[i]) + _DAY,
                       decision_ticks=inst.to_ticks(float(_GOOG.close[i])))


def _prepare(session: PaperSession, i: int, oid: str) -> None:
    """Journal CREATED + SUBMITTED as the execution does, but never reach the venue."""
    ex = session.execution
    intent = _intent(i, oid)
    verdict = ex.risk.check(intent, ex.account, intent.ts_init, session_open=True)
    ex.manager.prepare(intent, verdict, sending_to=ex.venue_name)


def test_a_resent_order_never_fills_on_its_decision_bar(tmp_path: Path) -> None:
    shared = _Shared()
    first = shared.session(tmp_path)
    asyncio.run(first.execution.on_bar(_event(100)))
    # bar 101 reaches the venue, the strategy decides on it; killed before the venue has it
    asyncio.run(first.execution.on_bar(_event(101)))
    _prepare(first, 101, "s-x-00000101-1")

    second = shared.session(tmp_path)
    report = asyncio.run(reconcile(second.execution, now_ns=0))
    assert report.resubmitted == ["s-x-00000101-1"]
    venue = shared.venue
    assert venue is not None
    assert asyncio.run(venue.fetch_order("s-x-00000101-1")) is None  # not before its bar

    async def replay() -> None:  # the decision bar is fed again (never checkpointed)...
        await second.execution.on_bar(_event(101))
        await second.execution.on_bar(_event(102))  # ...and the order fills on the next
    asyncio.run(replay())
    order = second.execution.manager.get("s-x-00000101-1")
    assert order.status is OrderStatus.FILLED
    fills = asyncio.run(venue.fetch_fills())
    assert [(f.ts_event, f.price) for f in fills] == \
        [(int(_GOOG.ts[102]), _GOOG.instrument.price(_GOOG.instrument.to_ticks(
            float(_GOOG.open[102]))))]


def test_an_order_the_venue_accepted_is_journaled_accepted_with_its_venue_id(
        tmp_path: Path) -> None:
    shared = _Shared()
    first = shared.session(tmp_path)
    asyncio.run(first.execution.on_bar(_event(100)))
    _prepare(first, 100, "s-x-00000100-1")
    venue = shared.venue
    assert venue is not None
    request = first.execution.manager.get("s-x-00000100-1").request
    ack = asyncio.run(venue.submit(request))  # killed before the ack was journaled

    second = shared.session(tmp_path)
    report = asyncio.run(reconcile(second.execution, now_ns=0))
    order = second.execution.manager.get("s-x-00000100-1")
    assert order.status is OrderStatus.ACCEPTED
    assert order.venue_order_id == ack.venue_order_id != ""
    assert report.acknowledged and report.repaired == 1 and report.clean
    assert report.lines()[0] == "reconciliation: clean (1 repaired)"
    kinds = [e.event.kind for e in shared.journal.events("s-x-00000100-1")]
    assert kinds == ["created", "submitted", "accepted"]


def test_protective_legs_of_a_journaled_fill_are_placed_and_reported(tmp_path: Path) -> None:
    shared = _Shared()
    first = shared.session(tmp_path)
    ex = first.execution
    asyncio.run(ex.on_bar(_event(100)))
    asyncio.run(ex.submit(_intent(100, "s-x-00000100-1")))
    venue = shared.venue
    assert venue is not None
    reports = venue.on_bar("GOOG", _bar(101))
    fill = next(r for r in reports if isinstance(r, FillReport))
    ex.manager.on_report(fill, venue=ex.venue_name)  # journaled; killed before the legs

    second = shared.session(tmp_path)
    report = asyncio.run(reconcile(second.execution, now_ns=0))
    inst = _GOOG.instrument
    ticks = inst.to_ticks(fill.price)
    legs = {o.id: o for o in second.execution.manager.open_orders()}
    assert set(legs) == {"s-x-00000100-1-sl", "s-x-00000100-1-tp"}
    # priced from the fill as the session would have: 5 % below, 10 % above
    assert legs["s-x-00000100-1-sl"].stop_price is not None
    assert abs(inst.to_ticks(legs["s-x-00000100-1-sl"].stop_price) - ticks * 0.95) <= 1
    assert legs["s-x-00000100-1-tp"].limit_price is not None
    assert abs(inst.to_ticks(legs["s-x-00000100-1-tp"].limit_price) - ticks * 1.10) <= 1
    assert all(o.status is OrderStatus.ACCEPTED for o in legs.values())
    assert len(report.repairs) == 2 and all("placed" in r for r in report.repairs)
    assert asyncio.run(venue.fetch_order("s-x-00000100-1-sl")) is not None
    # a second start finds nothing more to do
    third = shared.session(tmp_path)
    again = asyncio.run(reconcile(third.execution, now_ns=0))
    assert again.repaired == 0 and again.clean


def test_an_exit_left_open_by_a_closed_position_is_cancelled_and_reported(
        tmp_path: Path) -> None:
    shared = _Shared()
    first = shared.session(tmp_path)
    ex = first.execution
    venue = shared.venue
    assert venue is not None
    asyncio.run(ex.on_bar(_event(100)))
    asyncio.run(ex.submit(_intent(100, "s-x-00000100-1")))
    asyncio.run(ex.on_bar(_event(101)))  # filled; both legs placed
    assert {o.id for o in ex.manager.open_orders()} == {"s-x-00000100-1-sl",
                                                       "s-x-00000100-1-tp"}
    # the strategy closes with a market sell; the fill is journaled, the legs' cancel is not
    close = OrderIntent(client_order_id="s-x-00000101-1", strategy="s", symbol="GOOG",
                        side=Side.SELL, lots=10, ts_init=int(_GOOG.ts[101]) + _DAY,
                        decision_ticks=_GOOG.instrument.to_ticks(float(_GOOG.close[101])))
    asyncio.run(ex.submit(close))
    fill = next(r for r in venue.on_bar("GOOG", _bar(102)) if isinstance(r, FillReport)
                and r.client_order_id == "s-x-00000101-1")
    ex.manager.on_report(fill, venue=ex.venue_name)

    second = shared.session(tmp_path)
    report = asyncio.run(reconcile(second.execution, now_ns=0))
    assert second.execution.ledgers["s"].position == 0
    assert second.execution.manager.open_orders() == []
    assert sorted(report.repairs) == [
        "cancelled s-x-00000100-1-sl (position closed, missed before the restart)",
        "cancelled s-x-00000100-1-tp (position closed, missed before the restart)"]
    assert asyncio.run(venue.fetch_open_orders()) == []
