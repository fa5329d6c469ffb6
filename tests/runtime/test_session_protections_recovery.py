"""Moved trailing stops survive restarts: a resumed session keeps trailing the newest stop
(its ATR rebuilt from the replayed bars), and a crash between placing a moved stop and
cancelling the old one is repaired on restart (never two live stops, never none)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from trading_strategy.config import Settings
from trading_strategy.core.bars import BarSeries
from trading_strategy.core.enums import OrderStatus
from trading_strategy.orders.manager import OrderManager
from trading_strategy.runtime.portfolio_config import parse_portfolio
from trading_strategy.runtime.session import PaperSession
from trading_strategy.runtime.wiring import open_session_store, stored_journal_factory

from .test_session_protections import _BARS, _CAPITAL, _backtest, _trades


def _config(risk: dict[str, Any], end: str | None) -> Any:
    session: dict[str, Any] = {"name": "prot_resume"}
    if end is not None:
        session["end"] = end
    return parse_portfolio({
        "session": session, "venue": {"commission": 0, "slippage_bps": 0},
        "strategies": [{"name": "probe", "strategy": "protections_probe", "symbol": "PROT",
                        "capital": _CAPITAL}],
        "risk": risk})


def _runner(tmp: Path) -> Any:
    store = open_session_store(Settings(data_dir=tmp).effective_database_url())

    def bars(symbol: str, timeframe: str | None) -> BarSeries:
        return _BARS

    def run(risk: dict[str, Any], end: str | None = None) -> PaperSession:
        session = PaperSession(_config(risk, end), data_dir=tmp, bar_source=bars,
                               journal_factory=stored_journal_factory(store),
                               event_repository=store.events)
        asyncio.run(session.run())
        return session

    return run


@pytest.mark.parametrize("risk", [{"trailing_stop_pct": 5},
                                  {"trailing_stop_atr_multiple": 2, "atr_period": 3}])
def test_a_resumed_session_keeps_trailing_its_moved_stop(tmp_path: Path,
                                                         risk: dict[str, Any]) -> None:
    run = _runner(tmp_path)
    first = run(risk, end="2020-01-08")  # stopped mid-rise, the stop moved at least once
    stops = [o for o in first.execution.manager.open_orders() if "-sl" in o.id]
    assert len(stops) == 1 and not stops[0].id.endswith("-sl")  # one live, moved stop
    second = run(risk)
    live = second.execution.ledgers["probe"]
    bt = _backtest(risk)
    assert _trades(live.trades) == _trades(bt.engine.ledger.trades)
    assert live.cash == bt.engine.ledger.cash
    assert not [o for o in second.execution.manager.open_orders() if "-sl" in o.id
                and second.execution.ledgers["probe"].position == 0]


class _Crash(BaseException):
    """Stands for the process dying (not an error anything may catch)."""


def test_a_crash_between_a_moved_stop_and_the_old_ones_cancel_is_repaired(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    risk = {"trailing_stop_pct": 5}
    run = _runner(tmp_path)
    real_cancel = OrderManager.cancel
    crashed: list[str] = []

    async def cancel(self: OrderManager, order: Any, venue: Any, *, cause: str,
                     actor: str) -> Any:
        oid = order if isinstance(order, str) else order.id
        if cause == "trailing stop moved" and oid.endswith("-sl2") and not crashed:
            crashed.append(oid)
            raise _Crash(oid)
        return await real_cancel(self, order, venue, cause=cause, actor=actor)

    monkeypatch.setattr(OrderManager, "cancel", cancel)
    with pytest.raises(_Crash):
        run(risk)
    assert crashed
    session = run(risk)
    repairs = session.result.reconciliation.repairs
    assert any(crashed[0] in line and "exit replaced" in line for line in repairs)
    stale = session.execution.manager.get(crashed[0])
    assert stale.status is OrderStatus.CANCELLED
    live = session.execution.ledgers["probe"]
    bt = _backtest(risk)
    assert _trades(live.trades) == _trades(bt.engine.ledger.trades)
    assert live.cash == bt.engine.ledger.cash


def test_atr_exits_owed_after_a_crash_use_the_atr_the_fill_saw(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # killed between journaling the entry's fill and placing its exits: the restart knows
    # no ATR before the replay, so it places them when the replay reaches the fill's bar
    from trading_strategy.runtime import faults

    risk = {"stop_loss_atr_multiple": 1.5, "take_profit_atr_multiple": 3, "atr_period": 3}
    run = _runner(tmp_path)
    fills: list[str] = []

    def crash_point(name: str) -> None:
        if name == "after_fill_journal":
            fills.append(name)
            if len(fills) == 1:
                raise _Crash(name)

    monkeypatch.setattr(faults, "crash_point", crash_point)
    with pytest.raises(_Crash):
        run(risk)
    session = run(risk)
    repairs = session.result.reconciliation.repairs
    assert any("owed (ATR rules)" in line for line in repairs)
    live = session.execution.ledgers["probe"]
    bt = _backtest(risk)
    assert _trades(live.trades) == _trades(bt.engine.ledger.trades)
    assert live.cash == bt.engine.ledger.cash
    legs = [o.id for o in session.execution.manager.orders() if o.reduce_only]
    assert any(leg.endswith("00000003-1-sl") for leg in legs)
    assert any(leg.endswith("00000003-1-tp") for leg in legs)
