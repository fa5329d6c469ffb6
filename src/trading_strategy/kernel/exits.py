"""Protective exits of one strategy: which stop-loss / take-profit orders exist, and what to
create, grow or cancel when fills arrive (pure bookkeeping; the driver acts).

Rules, the same in every mode (backtest engine, session runtime):

* An entry's **first fill** that opens a position creates its exits: ``<entry>-sl`` (a STOP
  at the bracket's stop-loss) and ``<entry>-tp`` (a LIMIT at its take-profit), reduce-only,
  GTC, on the opposite side, for the lots the fill opened. The ids derive from the entry's,
  so re-deciding after a restart names the same orders (idempotent at the venue).
* A **later fill** of the same entry grows its exits that are still open by the lots it
  opened; an entry whose exits have all ended gets no new ones (the ids are taken).
* The stop and the target **cancel each other**: when one has filled completely its sibling
  is cancelled. A partly filled exit leaves the sibling on: both are reduce-only, so together
  they can never close more than the position.
* When the strategy is **flat** (or the trade ended by reversing) every open exit is
  cancelled: it protects nothing and would open a position if it filled. Flat, the
  strategy's other reduce-only orders (nothing left to reduce) and the unfilled rest of a
  partly filled entry (it would reopen the trade without exits) are cancelled too, oldest
  first (``trade_end_cancels``).

* An exit that must **change** (a trailing stop moved) is replaced by a new order, the
  next generation of its id (``-sl2``, ``-sl3``, ...: ``leg_id``), as at a venue with no
  amend; ``replace(id)`` names it, and the book answers with the live generation's id from
  then on. A driver that never calls it sees the ``-sl``/``-tp`` ids only.

The book returns decisions and forgets the exits it tells the driver to cancel; the driver
calls ``forget(id)`` when an exit ends for any other reason (cancelled by the strategy,
refused or expired at the venue) and ``restore(ids)`` after a restart with the exits still
open at the venue.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import NamedTuple

from trading_strategy.core.enums import OrderType, Side, TimeInForce
from trading_strategy.core.orders import Bracket, OrderIntent

__all__ = ["EXIT_SUFFIXES", "ExitBook", "ExitPlan", "entry_of", "exit_ids", "exit_leg",
           "leg_id", "trade_end_cancels"]

#: suffix → order type of each protective leg, in the order they are created
EXIT_SUFFIXES: dict[str, OrderType] = {"sl": OrderType.STOP, "tp": OrderType.LIMIT}


def exit_ids(entry_id: str) -> tuple[str, str]:
    """The stop-loss and take-profit ids of an entry."""
    return f"{entry_id}-sl", f"{entry_id}-tp"


def exit_leg(order_id: str) -> tuple[str, str, int] | None:
    """``(entry id, "sl" or "tp", generation)`` of a protective exit's id, else ``None``:
    ``<entry>-sl`` is generation 1, its replacements ``-sl2``, ``-sl3``, ..."""
    base, _, suffix = order_id.rpartition("-")
    kind, number = suffix[:2], suffix[2:]
    if not base or kind not in EXIT_SUFFIXES:
        return None
    if not number:
        return base, kind, 1
    if number.isdigit() and int(number) > 1 and number[0] != "0":
        return base, kind, int(number)
    return None


def leg_id(entry_id: str, kind: str, generation: int = 1) -> str:
    """The id of an entry's ``generation``-th ``kind`` ("sl"/"tp") exit order."""
    return f"{entry_id}-{kind}" if generation == 1 else f"{entry_id}-{kind}{generation}"


def entry_of(order_id: str) -> str | None:
    """The entry an exit id belongs to, ``None`` when ``order_id`` is not an exit id."""
    base, dash, suffix = order_id.rpartition("-")
    return base if dash and base and suffix in EXIT_SUFFIXES else None


def trade_end_cancels(flat: bool, exits: Collection[str],
                      orders: Iterable[tuple[str, bool, bool]]) -> list[str]:
    """The strategy's trade ended (``flat``, or reversed): which of its open orders
    (``(id, reduce_only, partly filled)``, oldest first) to cancel, in that order: the exits
    ``ExitBook.on_flat`` gave up (``exits``) and, when flat, every reduce-only order and
    every partly filled entry."""
    return [oid for oid, reduce_only, partial in orders
            if oid in exits or (flat and (reduce_only or partial))]


def _sibling(exit_id: str) -> str:
    base, _, suffix = exit_id.rpartition("-")
    return f"{base}-{'tp' if suffix == 'sl' else 'sl'}"


class ExitPlan(NamedTuple):
    """What an entry fill asks of the driver: exits to create, and open exits to grow by
    ``lots`` (``(exit id, lots)``)."""

    create: tuple[OrderIntent, ...] = ()
    grow: tuple[tuple[str, int], ...] = ()


_NOTHING = ExitPlan()


class ExitBook:
    """The protective exits of one strategy (ids only; the orders live with the driver)."""

    __slots__ = ("_book_of", "_entries", "_live", "_open", "strategy")

    def __init__(self, strategy: str) -> None:
        self.strategy = strategy
        #: open exit id → its entry's id
        self._open: dict[str, str] = {}
        #: entries that have had exits (their ids are taken even once the exits ended)
        self._entries: set[str] = set()
        #: replaced exits: book id (``-sl``/``-tp``) → live generation's id, and back
        self._live: dict[str, str] = {}
        self._book_of: dict[str, str] = {}

    def _book(self, order_id: str) -> str:
        return self._book_of.get(order_id, order_id)

    def _out(self, book_id: str) -> str:
        return self._live.get(book_id, book_id)

    def _drop(self, book_id: str) -> None:
        live = self._live.pop(book_id, None)
        if live is not None:
            del self._book_of[live]

    def replace(self, exit_id: str) -> str:
        """The id of the order replacing the open exit ``exit_id`` (its next generation),
        which stands for that exit from now on."""
        book = self._book(exit_id)
        leg = exit_leg(exit_id)
        if book not in self._open or leg is None or self._out(book) != exit_id:
            raise ValueError(f"{exit_id} is not an open exit of {self.strategy}")
        new = leg_id(leg[0], leg[1], leg[2] + 1)
        self._drop(book)
        self._live[book] = new
        self._book_of[new] = book
        return new

    def __bool__(self) -> bool:
        return bool(self._open)

    @property
    def open_exits(self) -> list[str]:
        """Open exit ids (their live generation's), in creation order."""
        return [self._out(oid) for oid in self._open]

    def is_exit(self, order_id: str) -> bool:
        """``order_id`` is an exit this book holds open (its live generation)."""
        book = self._book(order_id)
        return book in self._open and self._out(book) == order_id

    def on_entry_fill(self, entry_id: str, symbol: str, side: Side, opened_lots: int,
                      bracket: Bracket | None, *, ts: int = 0,
                      fill_ticks: int | None = None) -> ExitPlan:
        """An entry (not reduce-only, not an exit) filled and opened ``opened_lots``.

        The first time: the exits of ``bracket`` to create (none without a bracket or with
        nothing opened); afterwards: the entry's open exits to grow. ``fill_ticks`` becomes
        the exits' decision price (slippage attribution)."""
        if opened_lots <= 0:
            return _NOTHING
        if entry_id in self._entries:
            grow = tuple((self._out(oid), opened_lots) for oid, entry in self._open.items()
                         if entry == entry_id)
            return ExitPlan(grow=grow) if grow else _NOTHING
        if bracket is None or (bracket.stop_loss is None and bracket.take_profit is None):
            return _NOTHING
        self._entries.add(entry_id)
        exit_side = Side.SELL if side is Side.BUY else Side.BUY
        made = []
        for oid, (kind, price) in zip(exit_ids(entry_id),
                                      ((OrderType.STOP, bracket.stop_loss),
                                       (OrderType.LIMIT, bracket.take_profit)), strict=True):
            if price is None:
                continue
            made.append(OrderIntent(
                client_order_id=oid, strategy=self.strategy, symbol=symbol, side=exit_side,
                lots=opened_lots, order_type=kind,
                limit_ticks=price if kind is OrderType.LIMIT else None,
                stop_ticks=price if kind is OrderType.STOP else None,
                tif=TimeInForce.GTC, reduce_only=True, ts_init=ts, decision_ticks=fill_ticks,
                parent_id=entry_id))
            self._open[oid] = entry_id
        return ExitPlan(create=tuple(made))

    def on_exit_fill(self, exit_id: str, *, complete: bool) -> list[str]:
        """An exit filled (``complete``: nothing of it is left): the sibling to cancel.

        A complete exit and its sibling leave the book; a partial fill changes nothing."""
        if not complete or not self.is_exit(exit_id):
            return []
        book = self._book(exit_id)
        del self._open[book]
        self._drop(book)
        sibling = _sibling(book)
        if self._open.pop(sibling, None) is None:
            return []
        live = self._out(sibling)
        self._drop(sibling)
        return [live]

    def on_flat(self) -> list[str]:
        """The strategy is flat (or its trade ended by reversing): every open exit to cancel,
        oldest first. They all leave the book."""
        if not self._open:
            return []
        ids = [self._out(oid) for oid in self._open]
        self._open.clear()
        self._live.clear()
        self._book_of.clear()
        return ids

    def forget(self, exit_id: str) -> None:
        """An exit ended outside the book's decisions (cancelled, refused, expired); a
        generation already replaced is no longer the exit and is ignored."""
        if self.is_exit(exit_id):
            book = self._book(exit_id)
            del self._open[book]
            self._drop(book)

    def restore(self, open_exit_ids: Iterable[str], entries: Iterable[str] = ()) -> None:
        """After a restart: the exits still open at the venue (other ids are ignored), so
        their pairing and the flat rule hold as for exits placed in this run; ``entries``
        names entries whose exits all ended already (later fills must not re-create them)."""
        self._entries.update(entries)
        for oid in open_exit_ids:
            entry = entry_of(oid)
            if entry is not None:
                self._open[oid] = entry
                self._entries.add(entry)
