"""The one matcher: ordering, time in force, triggering, slippage, volume cap, reduce-only,
the cash check and all-in sizing at the fill (integer ticks; tick 0.01, lot 1)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from trading_strategy.core.enums import OrderStatus, OrderType, Side, TimeInForce
from trading_strategy.core.instrument import Instrument
from trading_strategy.core.orders import Order
from trading_strategy.kernel.matching import DAY_NS, Matcher
from trading_strategy.kernel.order_states import move

INST = Instrument("X", tick_size=Decimal("0.01"))


@dataclass
class Book:
    """Account and driver: books fills into position/cash, records what the matcher did."""

    position: int = 0
    cash: int = 1_000_000
    done: list[tuple[object, ...]] = field(default_factory=list)

    def fill(self, order: Order, i: int, ts: int, lots: int, fill_t: int, commission: int,
             slippage: int, taker: bool, at_open: bool) -> None:
        sign = 1 if order.side is Side.BUY else -1
        self.position += sign * lots
        self.cash -= sign * lots * fill_t + commission
        order.filled_lots += lots
        move(order, OrderStatus.FILLED if order.filled_lots >= order.lots
             else OrderStatus.PARTIALLY_FILLED)
        self.done.append(("fill", order.id, lots, fill_t, commission, slippage, taker, at_open))

    def close(self, order: Order, status: OrderStatus, reason: str) -> None:
        move(order, status, reason)
        self.done.append((status.value, order.id, reason))


def matcher(book: Book, *, slip: int = 0, vp: Decimal | None = None,
            fee_per_lot: int = 0) -> Matcher:
    return Matcher(INST, book, commission=lambda lots, t, first: lots * fee_per_lot,
                   slippage=lambda sign, ref, i: slip, volume_participation=vp,
                   on_fill=book.fill, on_close=book.close)


def order(oid: str, side: Side, lots: int, kind: OrderType = OrderType.MARKET, *,
          limit: int | None = None, stop: int | None = None,
          tif: TimeInForce = TimeInForce.GTC, reduce_only: bool = False,
          size_at_fill: bool = False, max_lots: int | None = None) -> Order:
    return Order(id=oid, strategy="s", symbol="X", side=side, lots=lots, order_type=kind,
                 limit_ticks=limit, stop_ticks=stop, tif=tif, reduce_only=reduce_only,
                 bracket=None, created_index=0, eligible_index=0, ts_init=0,
                 status=OrderStatus.ACCEPTED, size_at_fill=size_at_fill, max_lots=max_lots)


BAR = (1_000, 1_100, 900)  # open, high, low


def run(m: Matcher, orders: list[Order], bar: tuple[int, int, int] = BAR, *, ts: int = 0,
        volume: float = 1e9) -> None:
    m.match(orders, 0, ts, *bar, volume)


def test_at_the_open_first_then_stops_before_limits_then_oldest() -> None:
    book = Book(position=10)
    target = order("tp", Side.SELL, 10, OrderType.LIMIT, limit=1_050, reduce_only=True)
    stop = order("sl", Side.SELL, 10, OrderType.STOP, stop=950, reduce_only=True)
    late_market = order("mkt", Side.SELL, 1)
    run(matcher(book), [target, stop, late_market])
    # the market order fills at the open, the stop (pessimistic) before the target; the
    # target then has nothing left to reduce
    assert [d[:2] for d in book.done] == [("fill", "mkt"), ("fill", "sl"),
                                          ("cancelled", "tp")]
    assert book.done[2][2] == "nothing left to reduce"


def test_slippage_on_market_and_stop_fills_only() -> None:
    book = Book()
    m = matcher(book, slip=3)
    run(m, [order("m", Side.BUY, 1), order("l", Side.BUY, 1, OrderType.LIMIT, limit=950),
            order("s", Side.SELL, 1, OrderType.STOP, stop=950)])
    fills = {d[1]: (d[3], d[5], d[6]) for d in book.done}
    assert fills == {"m": (1_003, 3, True), "s": (947, 3, True), "l": (950, 0, False)}


def test_ioc_unmatched_is_cancelled_and_day_expires_on_a_later_day() -> None:
    book = Book()
    m = matcher(book)
    ioc = order("ioc", Side.BUY, 1, OrderType.LIMIT, limit=800, tif=TimeInForce.IOC)
    day = order("day", Side.BUY, 1, OrderType.LIMIT, limit=800, tif=TimeInForce.DAY)
    run(m, [ioc, day], ts=5)
    assert book.done == [("cancelled", "ioc", "IOC: not filled on its first bar")]
    assert day.first_day == 0 and day.is_open
    run(m, [day], ts=DAY_NS - 1)
    assert day.is_open
    run(m, [day], ts=DAY_NS)
    assert book.done[-1] == ("expired", "day", "DAY order expired")


def test_volume_cap_is_shared_by_one_bar_and_resets_on_the_next() -> None:
    book = Book()
    m = matcher(book, vp=Decimal("0.1"))
    a, b = order("a", Side.BUY, 8), order("b", Side.BUY, 8)
    run(m, [a, b], volume=100)
    assert [(d[1], d[2]) for d in book.done] == [("a", 8), ("b", 2)]
    assert b.status is OrderStatus.PARTIALLY_FILLED
    run(m, [b], ts=1, volume=100)
    assert book.done[-1][1:3] == ("b", 6) and b.status is OrderStatus.FILLED


def test_ioc_remainder_is_cancelled_after_a_partial_fill() -> None:
    book = Book()
    ioc = order("ioc", Side.BUY, 10, tif=TimeInForce.IOC)
    run(matcher(book, vp=Decimal("0.1")), [ioc], volume=50)
    assert book.done[-1] == ("cancelled", "ioc", "IOC: remainder cancelled")
    assert ioc.filled_lots == 5


def test_a_buy_the_cash_does_not_pay_is_rejected_commission_included() -> None:
    book = Book(cash=10_000)
    run(matcher(book, fee_per_lot=1), [order("b", Side.BUY, 10)])
    assert book.done == [("rejected", "b", "insufficient cash")]
    book = Book(cash=10_010)
    run(matcher(book, fee_per_lot=1), [order("b", Side.BUY, 10)])
    assert book.done[0][:3] == ("fill", "b", 10)


def test_covering_a_short_is_always_allowed() -> None:
    book = Book(position=-10, cash=0)
    run(matcher(book), [order("c", Side.BUY, 10)])
    assert book.done[0][:3] == ("fill", "c", 10)


def test_all_in_is_sized_at_the_fill_price_within_its_cap() -> None:
    book = Book(cash=10_500)
    allin = order("a", Side.BUY, 99, size_at_fill=True)
    run(matcher(book), [allin])  # open 1 000 ticks: the cash pays 10 lots
    assert (allin.lots, allin.status) == (10, OrderStatus.FILLED)
    book = Book(cash=10_500)
    capped = order("c", Side.BUY, 99, size_at_fill=True, max_lots=4)
    run(matcher(book), [capped])
    assert capped.lots == 4
    book = Book(cash=500)
    broke = order("z", Side.BUY, 99, size_at_fill=True)
    run(matcher(book), [broke])
    assert book.done == [("rejected", "z", "insufficient cash")]


def test_reduce_only_never_flips_and_a_cap_hook_may_cut_the_fill() -> None:
    book = Book(position=3)
    run(matcher(book), [order("r", Side.SELL, 10, reduce_only=True)])
    assert book.done[0][:3] == ("fill", "r", 3) and book.position == 0
    book = Book()
    m = Matcher(INST, book, commission=lambda lots, t, first: 0,
                slippage=lambda sign, ref, i: 0, volume_participation=None,
                on_fill=book.fill, on_close=book.close, cap_fill=lambda o, lots, t: 2)
    run(m, [order("b", Side.BUY, 10)])
    assert book.done[0][:3] == ("fill", "b", 2)


def test_a_stop_limit_triggered_intrabar_beyond_its_limit_waits_triggered() -> None:
    book = Book()
    sl = order("sl", Side.BUY, 1, OrderType.STOP_LIMIT, stop=1_050, limit=1_040)
    run(matcher(book), [sl])
    assert book.done == [] and sl.triggered
    run(matcher(book), [sl], (1_030, 1_045, 1_020), ts=1)
    assert book.done[0][:4] == ("fill", "sl", 1, 1_030)
