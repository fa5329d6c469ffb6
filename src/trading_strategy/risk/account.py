"""What the gate reads about the account: ``AccountView``, and a mutable ``Account`` to keep one.

Portfolio-wide figures add up the strategies' *absolute* positions: a long in one strategy and
a short in another both count. Netting them would let a strategy's closing order (which must
always pass) push the net exposure past a cap when the position it closes was a hedge.

All figures are integers: positions in lots, prices in ticks, money in the engine's money units
(``RiskEngine.money_unit``; the value of ``n`` lots at ``p`` ticks is ``n × p ×
engine.value_factor(symbol)``). A driver keeps one ``Account`` and updates it on fills, bars
and order events instead of building a view per check.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class AccountView(Protocol):
    """The account as the gate needs it. Exposures are valued at the last prices."""

    @property
    def equity(self) -> int:
        """Portfolio equity (cash plus positions marked to market), money units."""
        ...

    def position(self, strategy: str, symbol: str) -> int:
        """The strategy's signed position in the symbol, lots."""
        ...

    def gross_position(self, symbol: str) -> int:
        """Σ over strategies of ``|position|`` in the symbol, lots (hedges between
        strategies are not netted)."""
        ...

    def last_price(self, symbol: str) -> int | None:
        """Last traded (or bar close) price, ticks; ``None`` when none was seen yet."""
        ...

    def open_orders(self, strategy: str) -> int:
        """Number of the strategy's open orders."""
        ...

    def gross_exposure(self) -> int:
        """Σ over symbols of ``gross_position × last price × value factor``, money units."""
        ...

    def strategy_exposure(self, strategy: str) -> int:
        """Σ over the strategy's symbols of ``|position| × last price × value factor``."""
        ...


class Account:
    """A mutable ``AccountView``. Positions without a last price count 0 towards exposure
    (nothing to value them at yet); the gate refuses entries without a price anyway."""

    __slots__ = ("_factors", "_gross", "_last", "_open", "_positions", "equity")

    def __init__(self, *, equity: int = 0, value_factors: Mapping[str, int] | None = None) -> None:
        self.equity = equity
        self._factors = dict(value_factors or {})
        self._positions: dict[str, dict[str, int]] = {}
        self._gross: dict[str, int] = {}
        self._last: dict[str, int] = {}
        self._open: dict[str, int] = {}

    # --- updates ---------------------------------------------------------------------------
    def set_position(self, strategy: str, symbol: str, lots: int) -> None:
        # no ``setdefault(strategy, {})``: it builds a dict on every call (one per order)
        book = self._positions.get(strategy)
        if book is None:
            book = self._positions[strategy] = {}
        gross = self._gross
        gross[symbol] = gross.get(symbol, 0) - abs(book.get(symbol, 0)) + abs(lots)
        book[symbol] = lots

    def add_fill(self, strategy: str, symbol: str, signed_lots: int) -> None:
        self.set_position(strategy, symbol, self.position(strategy, symbol) + signed_lots)

    def set_last_price(self, symbol: str, ticks: int) -> None:
        self._last[symbol] = ticks

    def set_open_orders(self, strategy: str, count: int) -> None:
        self._open[strategy] = count

    # --- AccountView -----------------------------------------------------------------------
    def position(self, strategy: str, symbol: str) -> int:
        book = self._positions.get(strategy)
        return 0 if book is None else book.get(symbol, 0)

    def gross_position(self, symbol: str) -> int:
        return self._gross.get(symbol, 0)

    def last_price(self, symbol: str) -> int | None:
        return self._last.get(symbol)

    def open_orders(self, strategy: str) -> int:
        return self._open.get(strategy, 0)

    def _value(self, symbol: str, lots: int) -> int:
        price = self._last.get(symbol)
        if price is None or lots == 0:
            return 0
        return abs(lots) * price * self._factors.get(symbol, 1)

    def gross_exposure(self) -> int:
        return self._total(self._gross)

    def strategy_exposure(self, strategy: str) -> int:
        book = self._positions.get(strategy)
        if not book:
            return 0
        return self._total(book)

    def _total(self, lots_by_symbol: Mapping[str, int]) -> int:
        """Σ ``_value`` over ``lots_by_symbol``, as one loop: the caps ask on every entry."""
        last, factors = self._last, self._factors
        total = 0
        for symbol, lots in lots_by_symbol.items():
            price = last.get(symbol)
            if price is not None and lots != 0:
                total += abs(lots) * price * factors.get(symbol, 1)
        return total
