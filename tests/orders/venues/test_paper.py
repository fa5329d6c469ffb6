"""PaperVenue specifics: fills equal the backtester's rules, restart from its store, accounting.

Hand-computed cases use tick 0.01 (prices in ticks: 101.37 = 10137 ticks).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from trading_strategy.backtesting.runner import run_backtest
from trading_strategy.backtesting.settings import BacktestSettings
from trading_strategy.core.bars import Bar
from trading_strategy.core.enums import OrderStatus, OrderType, Side, TimeInForce
from trading_strategy.core.errors import ConfigError
from trading_strategy.core.instrument import Instrument
from trading_strategy.kernel.costs import (
    AtrSlippage,
    FixedBpsSlippage,
    PercentCommission,
    RangeSlippage,
)
from trading_strategy.orders.venues.base import FillReport, OrderRequest, StatusReport
from trading_strategy.orders.venues.paper import PaperVenue, PaperVenueConfig
from trading_strategy.orders.venues.paper_store import PaperStore
from trading_strategy.strategies.context import Context
from trading_strategy.testing import make_bars, scripted

pytestmark = pytest.mark.asyncio

MIN = 60 * 1_000_000_000
GOOG = Instrument("GOOG", tick_size=Decimal("0.01"))


def bar(i: int, o: float, h: float, lo: float, c: float, v: float = 1e6) -> Bar:
    return Bar("GOOG", i * MIN, o, h, lo, c, v)


def market(cid: str, side: Side = Side.BUY, qty: str = "10") -> OrderRequest:
    return OrderRequest(cid, "GOOG", side, OrderType.MARKET, Decimal(qty))


def limit(cid: str, price: str, side: Side = Side.BUY, qty: str = "10",
          tif: TimeInForce = TimeInForce.GTC) -> OrderRequest:
    return OrderRequest(cid, "GOOG", side, OrderType.LIMIT, Decimal(qty), Decimal(price),
                        tif=tif)


def venue(**cfg: object) -> PaperVenue:
    return PaperVenue([GOOG], config=PaperVenueConfig(**cfg))  # type: ignore[arg-type]


async def test_market_buy_fills_at_next_open_plus_2bps_rounded_away_to_a_tick() -> None:
    v = venue(slippage=FixedBpsSlippage(Decimal(2)), commission=PercentCommission(Decimal("0.001")))
    v.on_bar("GOOG", bar(0, 100, 101, 99, 100.5))
    await v.submit(market("b1"))
    await v.submit(market("s1", Side.SELL, "4"))
    assert v.on_bar("GOOG", bar(0, 1, 1, 1, 1)) == []  # not newer: ignored
    reports = v.on_bar("GOOG", bar(1, 101.37, 102, 100, 101))
    # open 10137 ticks; 2 bps = 2.0274 ticks -> 3 ticks away from the open
    fills = [r for r in reports if isinstance(r, FillReport)]
    assert [(f.client_order_id, f.price) for f in fills] == [
        ("b1", Decimal("101.40")), ("s1", Decimal("101.34"))]
    # commission 0.1 % of notional, half-up to the money unit (0.01): 1014.00 * 0.001 = 1.014
    assert fills[0].commission == Decimal("1.01")
    assert fills[1].commission == Decimal("0.41")  # 405.36 * 0.001 = 0.40536 -> 0.41
    balances = await v.fetch_balances()
    assert balances["USD"] == Decimal(100_000) - Decimal("1014.00") - Decimal("1.01") \
        + Decimal("405.36") - Decimal("0.41")
    assert await v.fetch_positions() == {"GOOG": Decimal(6)}


async def test_limit_gap_through_fills_at_the_open_without_slippage() -> None:
    v = venue(slippage=FixedBpsSlippage(Decimal(2)))
    v.on_bar("GOOG", bar(0, 100, 101, 99, 100))
    await v.submit(limit("l1", "95.00"))
    await v.submit(limit("l2", "90.00"))
    # gaps down to 93.50: the buy limit at 95 fills at the better price, the open
    reports = v.on_bar("GOOG", bar(1, 93.5, 94, 92, 93))
    assert [(r.client_order_id, r.price) for r in reports if isinstance(r, FillReport)] == [
        ("l1", Decimal("93.50"))]
    # the next bar trades down through 90: filled at the limit itself
    reports = v.on_bar("GOOG", bar(2, 92, 92, 89, 90))
    assert [(r.client_order_id, r.price, r.liquidity) for r in reports
            if isinstance(r, FillReport)] == [("l2", Decimal("90.00"), "maker")]


async def test_latency_ms_counts_on_bar_timestamps() -> None:
    v = venue(latency_ms=1)
    v.on_bar("GOOG", bar(0, 10, 10, 10, 10))
    await v.submit(market("m"))
    assert v.on_bar("GOOG", bar(1, 10.01, 11, 9, 10)) == []  # opened before the order arrived
    [fill] = v.on_bar("GOOG", bar(2, 10.02, 11, 9, 10))
    assert isinstance(fill, FillReport) and fill.price == Decimal("10.02")


async def test_volume_cap_day_expiry_ioc_and_insufficient_cash() -> None:
    v = venue(volume_participation=Decimal("0.1"), initial_cash={"USD": Decimal(1000)})
    v.on_bar("GOOG", bar(0, 10, 10, 10, 10))
    await v.submit(market("m", qty="30"))
    r1 = v.on_bar("GOOG", bar(1, 10, 10, 10, 10, v=100))  # 10 % of 100 = 10 lots
    r2 = v.on_bar("GOOG", bar(2, 10, 10, 10, 10, v=1000))
    assert [r.quantity for r in r1 + r2 if isinstance(r, FillReport)] == [10, 20]
    state = await v.fetch_order("m")
    assert state is not None and state.status is OrderStatus.FILLED
    assert state.avg_price == Decimal(10)
    await v.submit(limit("ioc", "5.00", tif=TimeInForce.IOC))
    await v.submit(market("big", qty="1000"))
    reports = v.on_bar("GOOG", bar(3, 10, 10, 10, 10))
    statuses = {r.client_order_id: r.status for r in reports if isinstance(r, StatusReport)}
    assert statuses == {"ioc": OrderStatus.CANCELLED, "big": OrderStatus.REJECTED}
    await v.submit(limit("day", "5.00", tif=TimeInForce.DAY))
    v.on_bar("GOOG", Bar("GOOG", 4 * MIN, 10, 10, 10, 10, 1e6))
    [expired] = v.on_bar("GOOG", Bar("GOOG", 86_400 * 1_000_000_000, 10, 10, 10, 10, 1e6))
    assert isinstance(expired, StatusReport) and expired.status is OrderStatus.EXPIRED


@pytest.mark.parametrize("slippage", [FixedBpsSlippage(Decimal(2)), RangeSlippage(Decimal("0.1")),
                                      AtrSlippage(Decimal("0.5"), period=5)])
@pytest.mark.parametrize("latency_ms", [None, 90_000])
async def test_same_fills_as_the_backtester(slippage: object, latency_ms: int | None) -> None:
    """A scripted strategy in the backtester and the same orders at the paper venue."""
    rng = np.random.default_rng(7)
    close = 100 + np.cumsum(rng.normal(0, 1, 40))
    bars = make_bars(close.round(2).tolist(), timeframe="1m", symbol="GOOG")
    plan = {2: ("buy", None), 5: ("sell", round(float(close[5]) + 1.5, 2)), 9: ("buy", None),
            14: ("sell", None), 20: ("buy", round(float(close[20]) - 1, 2)), 30: ("sell", None)}

    def on_bar(ctx: Context, i: int) -> None:
        if i in plan:
            side, px = plan[i]
            (ctx.buy if side == "buy" else ctx.sell)(3, limit=px)

    settings = BacktestSettings(commission=PercentCommission(Decimal("0.001")),
                                slippage=slippage, latency_ms=latency_ms)  # type: ignore[arg-type]
    result = run_backtest(scripted(on_bar), bars, settings, allow_short_history=True)
    inst = bars.instrument
    expected = [(inst.price(f.price_ticks), inst.money(f.commission))
                for f in result.engine.state.fills]

    v = PaperVenue([inst], config=PaperVenueConfig(
        commission=settings.commission, slippage=settings.slippage,
        latency_ms=latency_ms or 0))
    got = []
    for i in range(len(bars)):
        b = Bar("GOOG", int(bars.ts[i]), float(bars.open[i]), float(bars.high[i]),
                float(bars.low[i]), float(bars.close[i]), float(bars.volume[i]))
        got += [(r.price, r.commission) for r in v.on_bar("GOOG", b) if isinstance(r, FillReport)]
        if i in plan:
            side, px = plan[i]
            await v.submit(OrderRequest(
                f"o{i}", "GOOG", Side(side), OrderType.LIMIT if px else OrderType.MARKET,
                Decimal(3), None if px is None else Decimal(str(px))))
    assert len(expected) >= 5
    assert got == expected


async def test_store_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "paper.sqlite3"
    v = PaperVenue([GOOG], store=PaperStore(path),
                   config=PaperVenueConfig(commission=PercentCommission(Decimal("0.001"))))
    v.on_bar("GOOG", bar(0, 100, 100, 100, 100))
    await v.submit(market("a"))
    await v.submit(limit("b", "50.00"))
    await v.submit(limit("c", "60.00"))
    await v.cancel("c")
    v.on_bar("GOOG", bar(1, 100, 101, 99, 100))
    fills, balances = await v.fetch_fills(), await v.fetch_balances()
    await v.close()

    again = PaperVenue([GOOG], store=PaperStore(path))
    assert await again.fetch_fills() == fills
    assert await again.fetch_balances() == balances == {"USD": Decimal("98999.00")}
    assert await again.fetch_positions() == {"GOOG": Decimal(10)}
    assert [o.client_order_id for o in await again.fetch_open_orders()] == ["b"]
    c = await again.fetch_order("c")
    assert c is not None and c.status is OrderStatus.CANCELLED
    # idempotent across the restart: the same id answers the existing order
    ack = await again.submit(market("a"))
    assert ack.status is OrderStatus.FILLED and len(await again.fetch_fills()) == 1
    # a bar already seen before the restart is not matched again
    assert again.on_bar("GOOG", bar(1, 40, 40, 40, 40)) == []
    [fill] = again.on_bar("GOOG", bar(2, 49, 50, 48, 49))
    assert isinstance(fill, FillReport) and fill.price == Decimal("49.00")
    events = [(e.to_status, e.cause) for e in PaperStore(path).events("c")]
    assert events == [(OrderStatus.ACCEPTED, "submit"), (OrderStatus.CANCELLED, "cancel")]
    await again.close()


async def test_atr_slippage_follows_the_bars_seen_so_far() -> None:
    # period 2: bars 0 and 1 (ranges 2.00 and 4.00, no gaps) seed ATR 3.00; x 0.5 = 150 ticks
    v = venue(slippage=AtrSlippage(Decimal("0.5"), period=2))
    v.on_bar("GOOG", bar(0, 100, 101, 99, 100))
    await v.submit(market("early"))
    [early] = v.on_bar("GOOG", bar(1, 100, 102, 98, 100))
    await v.submit(market("late"))
    [late] = v.on_bar("GOOG", bar(2, 100, 100, 100, 100))
    assert isinstance(early, FillReport) and early.price == Decimal("100.00")  # not seeded
    assert isinstance(late, FillReport) and late.price == Decimal("101.50")


async def test_a_bad_latency_is_refused_with_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="latency"):
        PaperVenueConfig(latency_ms=-1)


async def test_all_in_order_is_sized_from_the_cash_at_the_fill_and_survives_a_restart(
        tmp_path: Path) -> None:
    path = tmp_path / "paper.sqlite3"
    v = PaperVenue([GOOG], store=PaperStore(path),
                   config=PaperVenueConfig(initial_cash={"USD": Decimal("1000")}))
    v.on_bar("GOOG", bar(0, 10, 10, 10, 10))
    # decided at 10.00 for at most 100 lots; the stored order keeps the flag
    await v.submit(OrderRequest("all", "GOOG", Side.BUY, OrderType.MARKET, Decimal(100),
                                size_at_fill=True))
    await v.close()
    again = PaperVenue([GOOG], store=PaperStore(path))
    # opens at 12.50: the cash pays 80 lots, not 100 (and not the 100 a fixed order asks)
    [fill] = again.on_bar("GOOG", bar(1, 12.5, 13, 12, 12.5))
    assert isinstance(fill, FillReport) and fill.quantity == 80 and fill.order_quantity == 80
    assert await again.fetch_fills() == [fill]
    state = await again.fetch_order("all")
    assert state is not None and state.status is OrderStatus.FILLED
    assert state.quantity == Decimal(80)
    assert (await again.fetch_balances())["USD"] == Decimal(0)
    await again.close()


async def test_server_and_client_carry_size_at_fill() -> None:
    from trading_strategy.orders.venues.paper_server import OrderIn

    body = {"client_order_id": "a", "symbol": "GOOG", "side": "buy", "quantity": "5",
            "size_at_fill": True}
    assert OrderIn.model_validate(body).to_domain().size_at_fill is True
    from trading_strategy.orders.venues.paper_client import _fill
    from trading_strategy.orders.venues.paper_server import fill_json

    report = FillReport("a", "P1", "T1", "GOOG", Side.BUY, Decimal(3), Decimal("10.00"),
                        Decimal(0), 5, "taker", Decimal(3))
    assert _fill(fill_json(report)) == report
    assert _fill(fill_json(report._replace(order_quantity=None))).order_quantity is None
