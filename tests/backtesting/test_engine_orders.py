"""Orders through the engine: scripted strategies on hand-made bars, every price by hand.

Bars are written as rows ``(open, high, low, close[, volume])``; ``tick 0.01``, ``lot 1``,
starting cash 10 000 and no costs unless a test says otherwise. A decision on bar *t* (in
``on_bar``) is eligible from bar *t + 1*.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

import pytest

from trading_strategy.backtesting.runner import BacktestResult, run_backtest
from trading_strategy.backtesting.settings import BacktestSettings
from trading_strategy.core.bars import BarSeries
from trading_strategy.core.enums import OrderStatus, OrderType, Side, TimeInForce
from trading_strategy.core.errors import StrategyError
from trading_strategy.kernel.costs import PercentCommission
from trading_strategy.strategies.base import Strategy, StrategyParams
from trading_strategy.strategies.context import Context, FillEvent, OrderEvent
from trading_strategy.testing import make_bars, scripted

D = Decimal
Row = tuple[float, ...]


def bars_of(rows: Sequence[Row], **kw: object) -> BarSeries:
    o = [r[0] for r in rows]
    h = [r[1] for r in rows]
    lo = [r[2] for r in rows]
    c = [r[3] for r in rows]
    v = [r[4] if len(r) > 4 else 1e6 for r in rows]
    return make_bars(c, open=o, high=h, low=lo, volume=v, **kw)  # type: ignore[arg-type]


def run(on_bar: Callable[[Context, int], None], bars: BarSeries, **settings: object
        ) -> BacktestResult:
    strategy = scripted(on_bar)
    return run_backtest(strategy, bars, BacktestSettings(**settings),  # type: ignore[arg-type]
                        allow_short_history=True)


def fills(result: BacktestResult) -> list[tuple[int, str, int, Decimal]]:
    """(bar, side, lots, price) of every execution."""
    inst = result.bars.instrument
    return [(f.bar_index, f.side.value, f.lots, inst.price(f.price_ticks))
            for f in result.engine.state.fills]


def events(result: BacktestResult) -> list[object]:
    return list(result.engine.strategy.events)  # type: ignore[attr-defined]


def order_events(result: BacktestResult) -> list[tuple[str, OrderStatus, str]]:
    return [(e.order_id, e.status, e.reason) for e in events(result)
            if isinstance(e, OrderEvent)]


def cash(result: BacktestResult) -> Decimal:
    return result.bars.instrument.money(result.engine.ledger.cash)


FLAT = (10.0, 10.0, 10.0, 10.0)


def vol(volume: float) -> Row:
    """A flat bar at 10.00 with this volume."""
    return (*FLAT, volume)


# --------------------------------------------------------------------------- market


def test_market_order_decided_on_bar_t_fills_at_the_open_of_t_plus_1() -> None:
    bars = bars_of([
        (10.00, 10.20, 9.80, 10.10),  # bar 0: decision at the close 10.10
        (10.50, 10.80, 10.40, 10.70),  # bar 1: filled at this open, 10.50
        (10.60, 10.90, 10.50, 10.80),
    ])

    def on_bar(ctx: Context, i: int) -> None:
        if i == 0:
            ctx.buy(3)

    result = run(on_bar, bars)
    assert fills(result) == [(1, "buy", 3, D("10.50"))]
    # cash 10000 - 3 * 10.50 = 9968.50; equity at each close:
    #   bar 0: 10000 (flat); bar 1: 9968.50 + 3 * 10.70 = 10000.60; bar 2: + 3 * 10.80 = 10000.90
    assert cash(result) == D("9968.50")
    assert result.equity.tolist() == [10000.0, 10000.6, 10000.9]


def test_position_is_visible_to_the_strategy_from_the_fill_bar() -> None:
    bars = bars_of([FLAT, FLAT, FLAT])
    seen: list[int] = []

    def on_bar(ctx: Context, i: int) -> None:
        seen.append(ctx.position_lots)
        if i == 0:
            ctx.buy(2)

    run(on_bar, bars)
    # bar 0: flat; the order fills at bar 1's open, before bar 1's on_bar
    assert seen == [0, 2, 2]


# --------------------------------------------------------------------------- limit / stop


def test_limit_buy_and_sell_fill_intrabar_at_their_price() -> None:
    bars = bars_of([
        FLAT,
        (10.00, 10.10, 9.70, 9.90),  # low 9.70 <= 9.80: buy limit fills at 9.80
        (10.00, 10.40, 9.95, 10.20),  # high 10.40 >= 10.30: sell limit fills at 10.30
    ])

    def on_bar(ctx: Context, i: int) -> None:
        if i == 0:
            ctx.buy(5, limit=9.80)
        if i == 1:
            ctx.sell(5, limit=10.30)

    result = run(on_bar, bars)
    assert fills(result) == [(1, "buy", 5, D("9.80")), (2, "sell", 5, D("10.30"))]
    # P&L 5 * (10.30 - 9.80) = 2.50
    assert cash(result) == D("10002.50")


def test_stop_buy_and_sell_fill_intrabar_at_their_price() -> None:
    bars = bars_of([
        FLAT,
        (10.00, 10.60, 9.95, 10.40),  # high 10.60 >= 10.50: buy stop fills at 10.50
        (10.40, 10.45, 9.70, 9.80),  # low 9.70 <= 9.90: sell stop fills at 9.90
    ])

    def on_bar(ctx: Context, i: int) -> None:
        if i == 0:
            ctx.buy(4, stop=10.50)
        if i == 1:
            ctx.sell(4, stop=9.90)

    result = run(on_bar, bars)
    assert fills(result) == [(1, "buy", 4, D("10.50")), (2, "sell", 4, D("9.90"))]
    # 4 * (9.90 - 10.50) = -2.40
    assert cash(result) == D("9997.60")


def test_stop_limit_triggered_intrabar_below_its_limit_fills_next_bar() -> None:
    bars = bars_of([
        FLAT,
        (10.00, 10.60, 9.90, 10.20),  # touches the stop 10.50; limit 10.40 < stop: no fill
        (10.45, 10.55, 10.35, 10.50),  # now a limit 10.40: o 10.45 > 10.40, low 10.35 -> 10.40
    ])

    def on_bar(ctx: Context, i: int) -> None:
        if i == 0:
            ctx.buy(1, stop=10.50, limit=10.40)

    assert fills(run(on_bar, bars)) == [(2, "buy", 1, D("10.40"))]


# --------------------------------------------------------------------------- brackets


def test_bracket_exits_of_an_entry_filled_at_the_open_are_live_in_the_same_bar() -> None:
    bars = bars_of([
        FLAT,
        (10.00, 11.20, 9.80, 10.90),  # entry at the open 10.00; high 11.20 reaches TP 11.00
        FLAT,
    ])

    def on_bar(ctx: Context, i: int) -> None:
        if i == 0:
            ctx.buy(10, stop_loss=9.00, take_profit=11.00)

    result = run(on_bar, bars)
    assert fills(result) == [(1, "buy", 10, D("10.00")), (1, "sell", 10, D("11.00"))]
    # 10 * (11.00 - 10.00) = +10.00; the stop is cancelled with it (one-cancels-other)
    assert cash(result) == D("10010.00")
    assert [s for _, s, why in order_events(result) if "one-cancels-other" in why] == [
        OrderStatus.CANCELLED]
    assert result.engine.ledger.position == 0


def test_bracket_with_stop_and_target_inside_one_bar_assumes_the_stop_first() -> None:
    bars = bars_of([
        FLAT,
        (10.00, 10.20, 9.90, 10.00),  # entry at 10.00; neither exit touched
        (10.00, 11.50, 8.50, 10.00),  # both 9.00 and 11.00 inside: pessimistic -> stop 9.00
        (10.00, 12.00, 8.00, 10.00),  # nothing left to fill
    ])

    def on_bar(ctx: Context, i: int) -> None:
        if i == 0:
            ctx.buy(10, stop_loss=9.00, take_profit=11.00)

    result = run(on_bar, bars)
    assert fills(result) == [(1, "buy", 10, D("10.00")), (2, "sell", 10, D("9.00"))]
    # 10 * (9.00 - 10.00) = -10.00
    assert cash(result) == D("9990.00")
    cancelled = [(s, why) for _, s, why in order_events(result) if s is OrderStatus.CANCELLED]
    assert cancelled == [(OrderStatus.CANCELLED, "one-cancels-other sibling filled")]


def test_bracket_exits_are_named_after_their_entry_and_grow_with_its_fills() -> None:
    # a GTC entry of 10 under a volume cap of 5 per bar fills 5 + 5: the exits are created
    # at the first fill (ids <entry>-sl / <entry>-tp) and grown to 10 by the second
    bars = bars_of([vol(1e6), vol(50), vol(50), (10.0, 10.0, 9.0, 9.2), FLAT])
    entry: list[str] = []

    def on_bar(ctx: Context, i: int) -> None:
        if i == 0:
            entry.append(ctx.buy(10, stop_loss=9.50, take_profit=12.00))

    result = run(on_bar, bars, volume_participation=D("0.1"))
    assert fills(result) == [(1, "buy", 5, D("10.00")), (2, "buy", 5, D("10.00")),
                             (3, "sell", 10, D("9.50"))]
    sl, tp = f"{entry[0]}-sl", f"{entry[0]}-tp"
    assert [f.order_id for f in result.engine.state.fills][-1] == sl
    closed = {o.id: (o.status, o.lots, o.reason) for o in result.engine.state.closed_orders}
    assert closed[sl] == (OrderStatus.FILLED, 10, "")
    assert closed[tp] == (OrderStatus.CANCELLED, 10, "one-cancels-other sibling filled")


def test_bracket_both_inside_the_entry_bar_itself_takes_the_stop() -> None:
    # entry at the open 10.00 and the same bar spans 8.90..11.20: stop 9.00 first
    bars = bars_of([FLAT, (10.00, 11.20, 8.90, 10.50), FLAT])

    def on_bar(ctx: Context, i: int) -> None:
        if i == 0:
            ctx.buy(10, stop_loss=9.00, take_profit=11.00)

    result = run(on_bar, bars)
    assert fills(result) == [(1, "buy", 10, D("10.00")), (1, "sell", 10, D("9.00"))]


def test_bracket_of_an_intrabar_entry_is_live_only_from_the_next_bar() -> None:
    bars = bars_of([
        FLAT,
        (10.00, 10.10, 9.40, 9.60),  # limit 9.90 fills intrabar; low 9.40 is below the
        #                              stop 9.50, but the low may have come before the entry
        (9.70, 9.80, 9.60, 9.70),  # stop 9.50 not touched
        (9.60, 9.65, 9.30, 9.40),  # stop 9.50 touched -> 9.50
    ])

    def on_bar(ctx: Context, i: int) -> None:
        if i == 0:
            ctx.buy(10, limit=9.90, stop_loss=9.50)

    result = run(on_bar, bars)
    assert fills(result) == [(1, "buy", 10, D("9.90")), (3, "sell", 10, D("9.50"))]


def test_bracket_gap_through_the_target_fills_the_target_at_the_open() -> None:
    # The open is the first price of a bar. Opening at 11.50, above the take-profit 11.00,
    # the limit sell fills at the open (gap-through rule) before the low 8.50 can touch the
    # stop 9.00: the order of the two is known, so the pessimistic rule does not apply.
    bars = bars_of([FLAT, (10.00, 10.20, 9.90, 10.00), (11.50, 11.60, 8.50, 9.00)])

    def on_bar(ctx: Context, i: int) -> None:
        if i == 0:
            ctx.buy(10, stop_loss=9.00, take_profit=11.00)

    result = run(on_bar, bars)
    assert fills(result) == [(1, "buy", 10, D("10.00")), (2, "sell", 10, D("11.50"))]


def test_exits_are_cancelled_when_another_order_closes_the_position() -> None:
    bars = bars_of([
        FLAT,
        (10.00, 10.20, 9.90, 10.00),  # entry 10.00
        (10.00, 10.20, 9.90, 10.00),  # strategy closes on this bar
        (10.50, 10.60, 10.40, 10.50),  # close fills at 10.50 -> stop and target cancelled
        (10.00, 13.00, 8.00, 10.00),  # would hit both exits: nothing must happen
    ])

    def on_bar(ctx: Context, i: int) -> None:
        if i == 0:
            ctx.buy(10, stop_loss=9.00, take_profit=12.00)
        if i == 2:
            ctx.close()

    result = run(on_bar, bars)
    assert fills(result) == [(1, "buy", 10, D("10.00")), (3, "sell", 10, D("10.50"))]
    assert result.engine.ledger.position == 0
    closed = [s for _, s, why in order_events(result) if why == "position closed"]
    assert closed == [OrderStatus.CANCELLED, OrderStatus.CANCELLED]
    assert cash(result) == D("10005.00")  # 10 * (10.50 - 10.00)


# --------------------------------------------------------------------------- time in force


def test_ioc_not_filled_on_its_first_bar_is_cancelled() -> None:
    bars = bars_of([
        FLAT,
        (10.00, 10.10, 9.50, 9.80),  # low 9.50 > limit 9.00: not filled -> cancelled
        (9.00, 9.10, 8.00, 8.50),  # would fill a live limit at the open 9.00: must not
    ])

    def on_bar(ctx: Context, i: int) -> None:
        if i == 0:
            ctx.buy(1, limit=9.00, tif=TimeInForce.IOC)

    result = run(on_bar, bars)
    assert fills(result) == []
    assert [(s, why) for _, s, why in order_events(result)] == [
        (OrderStatus.ACCEPTED, ""), (OrderStatus.CANCELLED, "IOC: not filled on its first bar")]
    assert events(result)[0].ts_event == int(bars.ts[0])  # type: ignore[attr-defined]
    assert events(result)[1].ts_event == int(bars.ts[1])  # type: ignore[attr-defined]


def test_ioc_partially_filled_under_the_volume_cap_cancels_the_remainder() -> None:
    # 10% of bar 1's volume 50 = 5 lots of the 8 wanted; the other 3 are cancelled
    bars = bars_of([vol(1e6), vol(50), vol(1e6)])

    def on_bar(ctx: Context, i: int) -> None:
        if i == 0:
            ctx.submit_order(Side.BUY, 8, tif=TimeInForce.IOC)

    result = run(on_bar, bars, volume_participation=D("0.1"))
    assert fills(result) == [(1, "buy", 5, D("10.00"))]
    assert [(s, why) for _, s, why in order_events(result)] == [
        (OrderStatus.ACCEPTED, ""),
        (OrderStatus.PARTIALLY_FILLED, ""),
        (OrderStatus.CANCELLED, "IOC: remainder cancelled"),
    ]
    assert result.engine.ledger.position == 5


def test_partially_filled_bracket_entry_still_protects_the_filled_lots() -> None:
    # IOC entry with a stop-loss: 5 of 10 lots fill (volume cap), the rest is cancelled.
    # The 5 lots held must get their stop-loss 9.50, which bar 3 (low 9.00) then hits.
    bars = bars_of([vol(1e6), vol(50), vol(1e6), (10.0, 10.0, 9.0, 9.2)])

    def on_bar(ctx: Context, i: int) -> None:
        if i == 0:
            ctx.submit_order(Side.BUY, 10, tif=TimeInForce.IOC, stop_loss=9.50)

    result = run(on_bar, bars, volume_participation=D("0.1"))
    assert fills(result) == [(1, "buy", 5, D("10.00")), (3, "sell", 5, D("9.50"))]


def test_day_order_expires_after_its_first_day_while_gtc_persists() -> None:
    bars = bars_of([
        FLAT,
        (10.00, 10.10, 9.60, 9.80),  # day 1 (2020-01-02): low 9.60 > 9.50, no fill
        (9.80, 9.90, 9.40, 9.60),  # day 2: low 9.40 would fill 9.50
    ])

    def day(ctx: Context, i: int) -> None:
        if i == 0:
            ctx.buy(1, limit=9.50, tif=TimeInForce.DAY)

    def gtc(ctx: Context, i: int) -> None:
        if i == 0:
            ctx.buy(1, limit=9.50, tif=TimeInForce.GTC)

    expired = run(day, bars)
    assert fills(expired) == []
    assert [(s, why) for _, s, why in order_events(expired)] == [
        (OrderStatus.ACCEPTED, ""), (OrderStatus.EXPIRED, "DAY order expired")]
    assert events(expired)[1].ts_event == int(bars.ts[2])  # type: ignore[attr-defined]
    assert fills(run(gtc, bars)) == [(2, "buy", 1, D("9.50"))]


@pytest.mark.parametrize(("touch_bar", "expected"), [
    (23, [(23, "buy", 1, D("9.50"))]),  # 23:00 on 2020-01-01: same UTC day -> fills
    (24, []),  # 00:00 on 2020-01-02: the DAY order expired
])
def test_day_order_on_hourly_bars_lives_for_the_rest_of_the_day(
        touch_bar: int, expected: list[tuple[int, str, int, Decimal]]) -> None:
    low = [10.0] * 30
    low[touch_bar] = 9.40
    bars = make_bars([10.0] * 30, low=low, timeframe="1h")

    def on_bar(ctx: Context, i: int) -> None:
        if i == 0:
            ctx.buy(1, limit=9.50, tif=TimeInForce.DAY)

    assert fills(run(on_bar, bars)) == expected


# --------------------------------------------------------------------------- volume cap


def test_volume_cap_fills_partially_and_the_rest_on_the_next_bars() -> None:
    # 10% participation: bar 1 volume 30 -> 3 lots, bar 2 volume 50 -> 5, bar 3 the last 2
    bars = bars_of([
        (10.00, 10.00, 10.00, 10.00, 1e6),
        (10.10, 10.10, 10.10, 10.10, 30),
        (10.20, 10.20, 10.20, 10.20, 50),
        (10.30, 10.30, 10.30, 10.30, 1e6),
    ])

    def on_bar(ctx: Context, i: int) -> None:
        if i == 0:
            ctx.buy(10)

    result = run(on_bar, bars, volume_participation=D("0.1"))
    assert fills(result) == [
        (1, "buy", 3, D("10.10")), (2, "buy", 5, D("10.20")), (3, "buy", 2, D("10.30"))]
    # entry value 3*10.10 + 5*10.20 + 2*10.30 = 30.30 + 51.00 + 20.60 = 101.90
    assert cash(result) == D("9898.10")
    trade = result.engine.ledger.trades[0]
    assert (trade.entry_lots, trade.entry_value) == (10, 10190)  # average 10.19
    statuses = [s for _, s, _ in order_events(result)]
    assert statuses == [OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED,
                        OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED]


def test_volume_cap_is_shared_by_the_orders_of_one_bar() -> None:
    # cap 10% of 50 = 5 lots on bar 1: the first order takes 4, the second gets 1,
    # and its other 3 fill on bar 2 (volume 1e6)
    bars = bars_of([vol(1e6), vol(50), vol(1e6)])

    def on_bar(ctx: Context, i: int) -> None:
        if i == 0:
            ctx.buy(4)
            ctx.buy(4)

    result = run(on_bar, bars, volume_participation=D("0.1"))
    assert [(b, n) for b, _, n, _ in fills(result)] == [(1, 4), (1, 1), (2, 3)]


def test_volume_cap_is_exact_for_fractional_lots() -> None:
    # lot 0.001; bar 1 traded 0.7 units; 10% of it = 0.07 units = 70 lots (not 69 from
    # 0.7 * 0.1 / 0.001 = 69.99999999999999 in floats); the other 30 lots on bar 2
    bars = make_bars([100.0] * 3, volume=[10.0, 0.7, 10.0], lot_size="0.001")

    def on_bar(ctx: Context, i: int) -> None:
        if i == 0:
            ctx.buy(D("0.1"))

    result = run(on_bar, bars, volume_participation=D("0.1"))
    assert [(b, n) for b, _, n, _ in fills(result)] == [(1, 70), (2, 30)]


# --------------------------------------------------------------------------- reduce-only


def test_reduce_only_never_flips_the_position() -> None:
    bars = bars_of([FLAT, FLAT, FLAT, FLAT])
    seen: list[int] = []

    def on_bar(ctx: Context, i: int) -> None:
        seen.append(ctx.position_lots)
        if i == 0:
            ctx.buy(5)
        if i == 1:
            ctx.submit_order(Side.SELL, 8, reduce_only=True)

    result = run(on_bar, bars)
    # sells only the 5 held, never goes short 3
    assert fills(result) == [(1, "buy", 5, D("10.00")), (2, "sell", 5, D("10.00"))]
    assert seen == [0, 5, 0, 0]


def test_a_second_close_is_cancelled_when_the_position_closes() -> None:
    bars = bars_of([FLAT, FLAT, FLAT, FLAT])

    def on_bar(ctx: Context, i: int) -> None:
        if i == 0:
            ctx.buy(5)
        if i == 1:
            ctx.close()
            ctx.close()

    result = run(on_bar, bars)
    assert fills(result) == [(1, "buy", 5, D("10.00")), (2, "sell", 5, D("10.00"))]
    assert result.engine.ledger.position == 0
    # the first close flattens; the second, reduce-only, is cancelled with the position
    assert (OrderStatus.CANCELLED, "position closed") in [
        (s, why) for _, s, why in order_events(result)]


def test_close_when_flat_places_nothing() -> None:
    ids: list[str | None] = []
    run(lambda ctx, i: ids.append(ctx.close()), bars_of([FLAT, FLAT]))
    assert ids == [None, None]


# --------------------------------------------------------------------------- short


def test_short_sale_and_cover_cash_and_pnl() -> None:
    bars = bars_of([
        (100.0, 100.0, 100.0, 100.0),
        (100.0, 100.0, 95.0, 95.0),  # sold short 10 at the open 100
        (95.0, 95.0, 90.0, 90.0),  # cover decided at the close 90
        (90.0, 90.0, 90.0, 90.0),  # bought back at the open 90
    ])

    def on_bar(ctx: Context, i: int) -> None:
        if i == 0:
            ctx.sell(10)
        if i == 2:
            ctx.close()

    result = run(on_bar, bars, commission=PercentCommission(D("0.001")))
    assert fills(result) == [(1, "sell", 10, D("100.00")), (3, "buy", 10, D("90.00"))]
    # short: cash 10000 + 1000 - 1.00 (0.1% of 1000) = 10999.00
    # equity at closes: bar1 10999 - 10*95 = 10049, bar2 10999 - 900 = 10099
    # cover: cash 10999 - 900 - 0.90 = 10098.10
    assert result.equity.tolist() == [10000.0, 10049.0, 10099.0, 10098.1]
    assert cash(result) == D("10098.10")
    (trade,) = result.engine.ledger.trades
    # P&L = -1 * (900 - 1000) - (1.00 + 0.90) = 98.10
    assert trade.direction == -1
    assert result.bars.instrument.money(trade.pnl()) == D("98.10")


# --------------------------------------------------------------------------- cancel


def test_cancel_returns_true_only_for_an_open_order() -> None:
    bars = bars_of([FLAT, FLAT, FLAT, FLAT])
    answers: list[bool] = []
    ids: dict[str, str] = {}
    open_counts: list[int] = []

    def on_bar(ctx: Context, i: int) -> None:
        if i == 0:
            ids["limit"] = ctx.buy(1, limit=5.00)  # far below the market: stays open
        if i == 1:
            answers.append(ctx.cancel(ids["limit"]))  # open -> True
            answers.append(ctx.cancel(ids["limit"]))  # already cancelled -> False
            answers.append(ctx.cancel("no-such-order"))  # unknown -> False
            open_counts.append(len(ctx.open_orders))
            ids["market"] = ctx.buy(1)
        if i == 3:
            answers.append(ctx.cancel(ids["market"]))  # filled on bar 2 -> False

    result = run(on_bar, bars)
    assert answers == [True, False, False, False]
    assert open_counts == [0]
    assert (ids["limit"], OrderStatus.CANCELLED, "cancelled by strategy") in order_events(result)
    assert fills(result) == [(2, "buy", 1, D("10.00"))]


# --------------------------------------------------------------------------- callbacks


def test_on_fill_and_on_order_event_receive_the_events() -> None:
    bars = bars_of([FLAT, (10.50, 10.60, 10.40, 10.50), FLAT])
    ids: list[str] = []

    def on_bar(ctx: Context, i: int) -> None:
        if i == 0:
            ids.append(ctx.buy(3))

    result = run(on_bar, bars, commission=PercentCommission(D("0.001")))
    # commission 0.1% of 3 * 10.50 = 31.50 -> 0.0315 -> half-up to the cent: 0.03
    ts = int(bars.ts[1])
    assert events(result) == [
        OrderEvent(ids[0], OrderStatus.ACCEPTED, "", int(bars.ts[0])),
        FillEvent(ids[0], Side.BUY, D("3"), D("10.50"), D("0.03"), ts),
        OrderEvent(ids[0], OrderStatus.FILLED, "", ts),
    ]


# --------------------------------------------------------------------------- cash


def test_explicit_quantity_beyond_cash_is_rejected_at_the_fill() -> None:
    bars = bars_of([(100.0, 100.0, 100.0, 100.0)] * 3)

    def on_bar(ctx: Context, i: int) -> None:
        if i == 0:
            ctx.buy(20)  # 20 * 100 = 2000 > 1000 cash

    result = run(on_bar, bars, initial_cash=D(1000))
    assert fills(result) == []
    assert [(s, why) for _, s, why in order_events(result)] == [
        (OrderStatus.ACCEPTED, ""), (OrderStatus.REJECTED, "insufficient cash")]
    assert result.engine.state.rejections == {"insufficient_cash": 1}
    assert cash(result) == D("1000")


def test_cash_boundary_includes_the_commission() -> None:
    bars = bars_of([(100.0, 100.0, 100.0, 100.0)] * 3)

    def on_bar(ctx: Context, i: int) -> None:
        if i == 0:
            ctx.buy(10)

    # 10 * 100 = 1000 = all the cash: fills with no commission ...
    assert fills(run(on_bar, bars, initial_cash=D(1000))) == [(1, "buy", 10, D("100.00"))]
    # ... but not with 0.1% commission: 1000 + 1.00 > 1000
    costly = run(on_bar, bars, initial_cash=D(1000), commission=PercentCommission(D("0.001")))
    assert fills(costly) == []


def test_a_reversing_buy_cannot_spend_cash_it_does_not_have() -> None:
    # short 10 at 100 -> cash 11000; then buy 200 at 100: covering 10 leaves 10000, and the
    # 190 long lots would cost 19000. The long-side cash check must apply: cash never < 0.
    bars = bars_of([(100.0, 100.0, 100.0, 100.0)] * 4)

    def on_bar(ctx: Context, i: int) -> None:
        if i == 0:
            ctx.sell(10)
        if i == 2:
            ctx.buy(200)

    result = run(on_bar, bars)
    assert result.engine.ledger.cash >= 0, f"cash went to {cash(result)}"


# --------------------------------------------------------------------------- errors


def test_a_strategy_raising_in_on_bar_becomes_a_strategy_error_naming_it_and_the_bar() -> None:
    def on_bar(ctx: Context, i: int) -> None:
        if i == 3:
            raise ValueError("boom")

    strategy = scripted(on_bar, name="exploder")
    with pytest.raises(StrategyError) as info:
        run_backtest(strategy, bars_of([FLAT] * 5), allow_short_history=True)
    err = info.value
    assert err.strategy == "exploder"
    assert err.callback == "on_bar at bar 3"
    assert isinstance(err.cause, ValueError)
    # the message starts with the strategy's own file and line: here on_bar's raise
    assert (err.path, err.line) == (__file__, on_bar.__code__.co_firstlineno + 2)
    assert str(err).endswith(f"test_engine_orders.py:{err.line}: strategy 'exploder' raised "
                             "in on_bar at bar 3: ValueError('boom')")


def test_a_strategy_raising_in_on_fill_becomes_a_strategy_error() -> None:
    class Faulty(Strategy):
        name = "faulty"
        Params = StrategyParams

        def on_bar(self) -> None:
            if self.ctx.bar_index == 0:
                self.ctx.buy(1)

        def on_fill(self, fill: FillEvent) -> None:
            raise RuntimeError("bad fill handler")

    with pytest.raises(StrategyError, match="'faulty' raised in on_fill") as info:
        run_backtest(Faulty, bars_of([FLAT] * 3), allow_short_history=True)
    assert isinstance(info.value.cause, RuntimeError)


def test_an_order_missing_its_price_is_a_strategy_error() -> None:
    def on_bar(ctx: Context, i: int) -> None:
        ctx.submit_order(Side.BUY, 1, order_type=OrderType.LIMIT)

    with pytest.raises(StrategyError, match="limit order needs a limit price"):
        run(on_bar, bars_of([FLAT] * 2))
