"""ExitBook: which protective exits exist, and what a fill or a flat position asks for."""

from __future__ import annotations

from trading_strategy.core.enums import OrderType, Side, TimeInForce
from trading_strategy.core.orders import Bracket
from trading_strategy.kernel.exits import (
    ExitBook,
    ExitPlan,
    entry_of,
    exit_ids,
    exit_leg,
    leg_id,
    trade_end_cancels,
)

BOTH = Bracket(stop_loss=9_500, take_profit=11_000)


def book_with_entry(entry: str = "s-000001", lots: int = 5) -> tuple[ExitBook, ExitPlan]:
    book = ExitBook("s")
    return book, book.on_entry_fill(entry, "AAPL", Side.BUY, lots, BOTH, ts=7,
                                    fill_ticks=10_000)


def test_first_fill_creates_reduce_only_stop_and_target() -> None:
    book, plan = book_with_entry()
    assert plan.grow == ()
    sl, tp = plan.create
    assert (sl.client_order_id, tp.client_order_id) == ("s-000001-sl", "s-000001-tp")
    assert sl.order_type is OrderType.STOP and sl.stop_ticks == 9_500 and sl.limit_ticks is None
    assert tp.order_type is OrderType.LIMIT and tp.limit_ticks == 11_000 and tp.stop_ticks is None
    for leg in plan.create:
        assert leg.side is Side.SELL and leg.lots == 5 and leg.reduce_only
        assert leg.tif is TimeInForce.GTC and leg.strategy == "s" and leg.symbol == "AAPL"
        assert leg.ts_init == 7 and leg.decision_ticks == 10_000
    assert book.open_exits == ["s-000001-sl", "s-000001-tp"]


def test_short_entry_exits_buy_back() -> None:
    book = ExitBook("s")
    plan = book.on_entry_fill("e", "X", Side.SELL, 2, Bracket(11_000, 9_000))
    assert {leg.side for leg in plan.create} == {Side.BUY}


def test_one_leg_only_and_no_bracket() -> None:
    book = ExitBook("s")
    assert book.on_entry_fill("a", "X", Side.BUY, 1, None) == ExitPlan()
    assert book.on_entry_fill("b", "X", Side.BUY, 1, Bracket()) == ExitPlan()
    assert book.on_entry_fill("c", "X", Side.BUY, 0, BOTH) == ExitPlan()
    plan = book.on_entry_fill("d", "X", Side.BUY, 1, Bracket(take_profit=12_000))
    assert [leg.client_order_id for leg in plan.create] == ["d-tp"]
    # a lone leg has no sibling to cancel
    assert book.on_exit_fill("d-tp", complete=True) == []
    assert not book


def test_later_fills_grow_the_open_exits() -> None:
    book, _ = book_with_entry()
    assert book.on_entry_fill("s-000001", "AAPL", Side.BUY, 3, BOTH) == ExitPlan(
        grow=(("s-000001-sl", 3), ("s-000001-tp", 3)))
    book.forget("s-000001-tp")
    assert book.on_entry_fill("s-000001", "AAPL", Side.BUY, 1, BOTH) == ExitPlan(
        grow=(("s-000001-sl", 1),))
    book.forget("s-000001-sl")
    # the ids are taken: an entry whose exits ended gets no new ones
    assert book.on_entry_fill("s-000001", "AAPL", Side.BUY, 1, BOTH) == ExitPlan()


def test_one_cancels_other_only_on_a_complete_fill() -> None:
    book, _ = book_with_entry()
    assert book.on_exit_fill("s-000001-tp", complete=False) == []
    assert book.open_exits == ["s-000001-sl", "s-000001-tp"]
    assert book.on_exit_fill("s-000001-tp", complete=True) == ["s-000001-sl"]
    assert book.open_exits == []
    assert book.on_exit_fill("s-000001-sl", complete=True) == []  # already gone


def test_flat_cancels_every_open_exit() -> None:
    book, _ = book_with_entry("a")
    book.on_entry_fill("b", "AAPL", Side.BUY, 1, Bracket(stop_loss=9_000))
    assert book.on_flat() == ["a-sl", "a-tp", "b-sl"]
    assert book.on_flat() == [] and not book
    assert not book.is_exit("a-sl")


def test_restore_rebuilds_pairing_and_flat_rule() -> None:
    book = ExitBook("s")
    book.restore(["s-000004-sl", "s-000004-tp", "s-000009", "s-000007-tp"], entries=["old"])
    assert book.open_exits == ["s-000004-sl", "s-000004-tp", "s-000007-tp"]
    assert book.on_exit_fill("s-000004-sl", complete=True) == ["s-000004-tp"]
    assert book.on_entry_fill("old", "X", Side.BUY, 1, BOTH) == ExitPlan()
    assert book.on_entry_fill("s-000007", "X", Side.BUY, 2, BOTH) == ExitPlan(
        grow=(("s-000007-tp", 2),))
    assert book.on_flat() == ["s-000007-tp"]


def test_ids() -> None:
    assert exit_ids("x-1") == ("x-1-sl", "x-1-tp")
    assert entry_of("x-1-sl") == "x-1" and entry_of("x-1-tp") == "x-1"
    assert entry_of("x-1") is None and entry_of("-sl") is None and entry_of("sl") is None


def test_trade_end_cancels_exits_and_when_flat_reduce_only_and_partly_filled_entries() -> None:
    orders = [("e1-sl", True, False), ("target", True, False), ("entry", False, True),
              ("fresh", False, False)]
    assert trade_end_cancels(True, {"e1-sl"}, orders) == ["e1-sl", "target", "entry"]
    # reversed, not flat: only the old trade's exits
    assert trade_end_cancels(False, {"e1-sl"}, orders) == ["e1-sl"]


def test_a_replaced_exit_answers_with_its_live_generation() -> None:
    book, _ = book_with_entry("e")
    assert book.replace("e-sl") == "e-sl2"
    assert book.replace("e-sl2") == "e-sl3"
    assert book.open_exits == ["e-sl3", "e-tp"]
    assert not book.is_exit("e-sl") and book.is_exit("e-sl3")
    book.forget("e-sl2")  # a replaced generation ending changes nothing
    assert book.on_entry_fill("e", "AAPL", Side.BUY, 2, BOTH).grow == (
        ("e-sl3", 2), ("e-tp", 2))
    # the target filled: the live stop is the sibling to cancel
    assert book.on_exit_fill("e-tp", complete=True) == ["e-sl3"]
    assert not book


def test_the_stop_of_a_replaced_pair_filling_cancels_the_target() -> None:
    book, _ = book_with_entry("e")
    book.replace("e-tp")
    assert book.on_exit_fill("e-sl", complete=True) == ["e-tp2"]
    book, _ = book_with_entry("f")
    book.replace("f-sl")
    assert book.on_flat() == ["f-sl2", "f-tp"]


def test_exit_leg_and_leg_id_round_trip() -> None:
    assert exit_leg("a-b-sl") == ("a-b", "sl", 1) and leg_id("a-b", "sl") == "a-b-sl"
    assert exit_leg("x-tp12") == ("x", "tp", 12) and leg_id("x", "tp", 12) == "x-tp12"
    assert exit_leg("x-sl1") is None and exit_leg("x-sl02") is None and exit_leg("x") is None
