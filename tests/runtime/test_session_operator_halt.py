"""The kill switch an operator pulls (the dashboard's Halt): a running session halts that
strategy within a bar — entries cancelled and refused, its position closed — until a
re-arm; other strategies trade on."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from trading_strategy.orders.journal import InMemoryJournal
from trading_strategy.risk.commands import HaltRequest
from trading_strategy.runtime import session as session_module
from trading_strategy.runtime.portfolio_config import parse_portfolio
from trading_strategy.runtime.rearm import record_halt_request
from trading_strategy.runtime.session import PaperSession
from trading_strategy.strategies import registry
from trading_strategy.strategies.base import Strategy

#: the bar (of GOOG's sample) on which the test's strategy pulls the switch
PULL_AT = 300


def _raw(name: str) -> dict[str, Any]:
    return {
        "session": {"name": name},
        "venue": {"commission": 0.001},
        "strategies": [
            {"name": "holder", "strategy": "always_long", "symbol": "GOOG",
             "capital": 50000, "size": "10"},
            {"name": "sma_msft", "strategy": "sma_crossover", "symbol": "MSFT",
             "capital": 50000, "size": "100"},
        ],
    }


class AlwaysLong(Strategy):
    """Buys whenever flat; on bar PULL_AT writes a halt request for itself (as the web
    app's Halt button does), so the switch is pulled while the session runs."""

    name = "always_long"
    data_dir: Path = Path()

    def on_bar(self) -> None:
        ctx = self.ctx
        if ctx.bar_index == PULL_AT:
            record_halt_request(self.data_dir, HaltRequest(
                "kill", "holder", "web:alice", 0, "manual"))
        if ctx.is_flat:
            ctx.buy()


@pytest.fixture
def always_long(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(AlwaysLong, "data_dir", tmp_path)
    monkeypatch.setattr(session_module, "_REQUESTS_EVERY_S", 0.0)  # look at every bar
    monkeypatch.setattr(registry, "_extra", dict(registry._extra))  # restored afterwards
    registry.register(AlwaysLong)
    return AlwaysLong


def _run(tmp_path: Path, name: str) -> PaperSession:
    session = PaperSession(parse_portfolio(_raw(name)), data_dir=tmp_path,
                           journal_factory=lambda root: InMemoryJournal())
    asyncio.run(session.run())
    return session


def test_a_halt_request_stops_and_flattens_the_running_strategy(
        tmp_path: Path, always_long: Any) -> None:
    session = _run(tmp_path, "kill")
    risk = session.execution.risk
    assert risk.state("holder").value == "halted"
    assert risk.state("sma_msft").value == "active"  # the other strategy trades on
    ledger = session.execution.ledgers["holder"]
    assert ledger.position == 0  # flattened (flatten_on_halt is the default)
    # its last trade ended right after the switch, and nothing was bought afterwards
    last = ledger.trades[-1]
    bars = session.series["GOOG"].ts
    assert last.exit_ts is not None and last.exit_ts <= int(bars[PULL_AT + 3])
    assert len(session.execution.ledgers["sma_msft"].trades) > 1


def test_a_halt_waiting_at_start_applies_before_the_first_bar_and_names_its_session(
        tmp_path: Path, always_long: Any) -> None:
    raw = _raw("calm")
    raw["strategies"][0]["strategy"] = "sma_crossover"  # nobody pulls the switch in-run
    record_halt_request(tmp_path, HaltRequest("other", "sma_msft", "web:bob", 0, ""))
    record_halt_request(tmp_path, HaltRequest("calm", "holder", "web:bob", 0, "before"))
    session = PaperSession(parse_portfolio(raw), data_dir=tmp_path,
                           journal_factory=lambda root: InMemoryJournal())
    asyncio.run(session.run())
    risk = session.execution.risk
    assert risk.state("holder").value == "halted"
    assert risk.state("sma_msft").value == "active"  # that request named another session
    assert session.execution.ledgers["holder"].trades == []  # every entry was refused
    assert session.execution.ledgers["sma_msft"].trades
