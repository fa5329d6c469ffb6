"""Strict reconciliation (an exchange account, on start and after every reconnect): what the
platform cannot explain halts entries on the strategies it touches, and says why."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

from trading_strategy.core.enums import OrderStatus, OrderType, Side
from trading_strategy.orders.journal import InMemoryJournal
from trading_strategy.orders.venues.base import OrderState
from trading_strategy.orders.venues.paper import PaperVenue, PaperVenueConfig
from trading_strategy.risk.verdicts import TradingState
from trading_strategy.runtime.portfolio_config import parse_portfolio
from trading_strategy.runtime.reconcile import reconcile
from trading_strategy.runtime.session import PaperSession


class Account(PaperVenue):
    """A paper venue that can show what an exchange account might: less cash than we think,
    an order someone else placed."""

    short_by: Decimal = Decimal(0)
    stranger: OrderState | None = None

    async def fetch_balances(self) -> dict[str, Decimal]:
        balances = await super().fetch_balances()
        return {k: v - self.short_by for k, v in balances.items()}

    async def fetch_open_orders(self, symbol: str | None = None) -> list[OrderState]:
        found = await super().fetch_open_orders(symbol)
        return [*found, self.stranger] if self.stranger is not None else found


def session(tmp_path: Path) -> tuple[PaperSession, Account]:
    raw = {"session": {"name": "strict"},
           "strategies": [
               {"name": "goog", "strategy": "sma_crossover", "symbol": "GOOG",
                "capital": 50000, "size": "10"},
               {"name": "msft", "strategy": "sma_crossover", "symbol": "MSFT",
                "capital": 50000, "size": "10"}]}
    made: list[Account] = []

    def venue(instruments: dict[str, Any], capital: Decimal) -> Account:
        made.append(Account(instruments.values(), config=PaperVenueConfig(
            initial_cash={"USD": capital})))
        return made[0]

    s = PaperSession(parse_portfolio(raw), data_dir=tmp_path,
                     journal_factory=lambda root: InMemoryJournal(), venue_factory=venue)
    s.files.release()
    return s, made[0]


def states(s: PaperSession) -> dict[str, TradingState]:
    return {name: s.execution.risk.state(name) for name in ("goog", "msft")}


def test_a_matching_account_is_clean_and_halts_nobody(tmp_path: Path) -> None:
    s, _ = session(tmp_path)
    report = asyncio.run(reconcile(s.execution, now_ns=1, strict=True))
    assert report.clean and report.halt_reasons == {}
    assert set(states(s).values()) == {TradingState.ACTIVE}


def test_an_order_we_never_created_halts_entries_on_its_symbol(tmp_path: Path) -> None:
    s, account = session(tmp_path)
    account.stranger = OrderState("someone-else-1", "v-9", "MSFT", Side.BUY, OrderType.LIMIT,
                                  Decimal(5), Decimal(0), OrderStatus.ACCEPTED, Decimal(100))
    report = asyncio.run(reconcile(s.execution, now_ns=1, strict=True))
    assert not report.clean
    assert report.halt_reasons == {"msft": "reconciliation found an open order at the venue "
                                           "(someone-else-1) we never created"}
    assert states(s) == {"goog": TradingState.ACTIVE, "msft": TradingState.HALTED}
    assert "  entries refused for msft until re-armed: reconciliation found an open order " \
           "at the venue (someone-else-1) we never created" in report.lines()


def test_a_balance_short_of_the_strategies_cash_halts_them(tmp_path: Path) -> None:
    s, account = session(tmp_path)
    account.short_by = Decimal("0.01")
    report = asyncio.run(reconcile(s.execution, now_ns=1, strict=True))
    [short] = report.balance_mismatches
    assert (short["currency"], Decimal(short["ours"]), Decimal(short["venue"])) == (
        "USD", Decimal(100000), Decimal("99999.99"))
    assert states(s) == {"goog": TradingState.HALTED, "msft": TradingState.HALTED}
    assert "less than the 100000.0000 USD the strategies trade with" in report.halt_reasons["goog"]


def test_without_strict_differences_are_reported_not_halted(tmp_path: Path) -> None:
    s, account = session(tmp_path)
    account.short_by = Decimal(1)
    account.stranger = OrderState("someone-else-1", "v-9", "MSFT", Side.BUY, OrderType.LIMIT,
                                  Decimal(5), Decimal(0), OrderStatus.ACCEPTED, Decimal(100))
    report = asyncio.run(reconcile(s.execution, now_ns=1))
    assert report.unknown_venue_orders == ["someone-else-1"]
    assert report.halt_reasons == {} and report.balance_mismatches == []
    assert set(states(s).values()) == {TradingState.ACTIVE}
