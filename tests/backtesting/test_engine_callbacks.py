"""The strategy's callbacks in a backtest, in the order every mode delivers them.

Events a decision causes (accepted, denied by risk, the strategy's own cancel) arrive right
after the ``on_bar`` that decided, in submission order; events of matching (fills, expiry,
the venue's rejection at the fill) arrive before the next ``on_bar``, a fill as ``on_fill``
then ``on_order_event``. Bars are ``(open, high, low, close[, volume])``, tick 0.01, lot 1.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

from trading_strategy.backtesting.runner import run_backtest
from trading_strategy.backtesting.settings import BacktestSettings
from trading_strategy.core.enums import OrderStatus, TimeInForce
from trading_strategy.risk import RiskSettings
from trading_strategy.strategies.base import Strategy, StrategyParams
from trading_strategy.strategies.context import Context, FillEvent, OrderEvent
from trading_strategy.testing import make_bars

D = Decimal
S = OrderStatus
FLAT = (10.0, 10.0, 10.0, 10.0)


def bars_of(rows: Sequence[tuple[float, ...]]):  # type: ignore[no-untyped-def]
    return make_bars([r[3] for r in rows], open=[r[0] for r in rows],  # type: ignore[arg-type]
                     high=[r[1] for r in rows], low=[r[2] for r in rows],
                     volume=[r[4] if len(r) > 4 else 1e6 for r in rows])


def journal(decide: Callable[[Context, int, list[str]], None],
            rows: Sequence[tuple[float, ...]], *, risk: RiskSettings | None = None,
            **settings: object) -> list[str]:
    """Every callback as one line: ``bar i`` on entering ``on_bar``, ``/bar i`` on leaving
    it, ``fill <id#> <lots>``, ``<status> <id#> [reason]`` (ids as their order number)."""
    lines: list[str] = []
    ids: list[str] = []

    def short(oid: str) -> str:
        base = oid.split("-")
        return "#" + str(int(base[1])) + ("-" + base[2] if len(base) > 2 else "")

    class Recorder(Strategy):
        name = "rec"
        Params = StrategyParams

        def on_bar(self) -> None:
            i = self.ctx.bar_index
            lines.append(f"bar {i}")
            decide(self.ctx, i, ids)
            lines.append(f"/bar {i}")

        def on_fill(self, fill: FillEvent) -> None:
            lines.append(f"fill {short(fill.order_id)} {fill.quantity}")

        def on_order_event(self, event: OrderEvent) -> None:
            reason = f" {event.reason}" if event.reason else ""
            lines.append(f"{event.status.value} {short(event.order_id)}{reason}")

    run_backtest(Recorder, bars_of(rows), BacktestSettings(**settings),  # type: ignore[arg-type]
                 risk=risk, allow_short_history=True)
    return lines


def test_accepted_after_on_bar_then_partial_fills_then_filled() -> None:
    def decide(ctx: Context, i: int, ids: list[str]) -> None:
        if i == 0:
            ctx.buy(8)

    lines = journal(decide, [FLAT, (*FLAT, 50), (*FLAT, 1e6)],
                    volume_participation=D("0.1"))
    assert lines == [
        "bar 0", "/bar 0", "accepted #1",
        "fill #1 5", "partially_filled #1", "bar 1", "/bar 1",
        "fill #1 3", "filled #1", "bar 2", "/bar 2",
    ]


def test_a_cancel_by_the_strategy_is_told_after_its_on_bar_in_order() -> None:
    def decide(ctx: Context, i: int, ids: list[str]) -> None:
        if i == 0:
            ids.append(ctx.buy(1, limit=5.0))
            ids.append(ctx.buy(1, limit=6.0))
        if i == 1:
            assert ctx.cancel(ids[1])
            assert ctx.cancel(ids[0])

    lines = journal(decide, [FLAT, FLAT, FLAT])
    assert lines == [
        "bar 0", "/bar 0", "accepted #1", "accepted #2",
        "bar 1", "/bar 1", "cancelled #2 cancelled by strategy",
        "cancelled #1 cancelled by strategy",
        "bar 2", "/bar 2",
    ]


def test_an_order_cancelled_in_the_bar_that_placed_it_never_fills() -> None:
    def decide(ctx: Context, i: int, ids: list[str]) -> None:
        if i == 0:
            assert ctx.cancel(ctx.buy(1))

    lines = journal(decide, [FLAT, FLAT])
    assert lines == ["bar 0", "/bar 0", "accepted #1", "cancelled #1 cancelled by strategy",
                     "bar 1", "/bar 1"]


def test_a_day_order_expires_before_the_next_days_first_bar() -> None:
    def decide(ctx: Context, i: int, ids: list[str]) -> None:
        if i == 0:
            ctx.buy(1, limit=5.0, tif=TimeInForce.DAY)

    # daily bars: the order's day is bar 1's; bar 2 is a later day
    lines = journal(decide, [FLAT, FLAT, FLAT])
    assert lines == ["bar 0", "/bar 0", "accepted #1", "bar 1", "/bar 1",
                     "expired #1 DAY order expired", "bar 2", "/bar 2"]


def test_rejected_by_the_venue_for_cash_at_the_fill() -> None:
    def decide(ctx: Context, i: int, ids: list[str]) -> None:
        if i == 0:
            ctx.buy(2_000)  # 20 000 > the 10 000 cash

    lines = journal(decide, [FLAT, FLAT])
    assert lines == ["bar 0", "/bar 0", "accepted #1",
                     "rejected #1 insufficient cash", "bar 1", "/bar 1"]


def test_denied_by_a_risk_limit_right_after_on_bar() -> None:
    def decide(ctx: Context, i: int, ids: list[str]) -> None:
        if i == 0:
            ctx.buy(500)  # 5 000 is half the equity: above the 10 % position limit
            ctx.buy(50)  # 500: within it

    risk = RiskSettings(max_position_pct=10, resize_to_fit=False)
    lines = journal(decide, [FLAT, FLAT], risk=risk)
    assert lines[:2] == ["bar 0", "/bar 0"]
    # the reason is "<code>: <message>", the code first
    assert lines[2].startswith("denied #1 max_position: ")
    assert lines[3:] == ["accepted #2", "fill #2 50", "filled #2", "bar 1", "/bar 1"]


def test_exits_are_accepted_after_their_entry_fills_and_one_cancels_the_other() -> None:
    def decide(ctx: Context, i: int, ids: list[str]) -> None:
        if i == 0:
            ctx.buy(1, stop_loss=9.0, take_profit=11.0)

    lines = journal(decide, [FLAT, FLAT, (10.0, 11.5, 9.5, 11.0), FLAT])
    assert lines == [
        "bar 0", "/bar 0", "accepted #1",
        "fill #1 1", "filled #1", "accepted #1-sl", "accepted #1-tp", "bar 1", "/bar 1",
        "fill #1-tp 1", "filled #1-tp", "cancelled #1-sl one-cancels-other sibling filled",
        "bar 2", "/bar 2", "bar 3", "/bar 3",
    ]


def test_a_strategy_without_callbacks_takes_the_fast_path() -> None:
    class Quiet(Strategy):
        name = "quiet"
        Params = StrategyParams

        def on_bar(self) -> None:
            if self.ctx.bar_index == 0:
                self.ctx.buy(1)

    result = run_backtest(Quiet, bars_of([FLAT, FLAT]), BacktestSettings(),
                          allow_short_history=True)
    assert result.engine.state.fills and result.engine._told == []


def test_a_time_exit_is_told_between_bars_as_a_session_tells_it() -> None:
    # the gate decides the exit at bar 3's close; the strategy hears it before on_bar(3)
    # with bar 2 still "now" (as matching's callbacks and a session's runner), at bar 3's time
    heard: list[tuple[int, str, int]] = []

    class Holder(Strategy):
        name = "holder"
        Params = StrategyParams

        def on_bar(self) -> None:
            if self.ctx.bar_index == 0:
                self.ctx.buy(1)

        def on_order_event(self, event: OrderEvent) -> None:
            heard.append((self.ctx.bar_index, event.status.value, event.ts_event))

    bars = bars_of([FLAT] * 6)
    run_backtest(Holder, bars, BacktestSettings(), risk=RiskSettings(time_exit_bars=2),
                 allow_short_history=True)
    accepted = [(i, ts) for i, status, ts in heard if status == "accepted"]
    assert accepted[1] == (2, int(bars.ts[3]))  # the time exit, decided at bar 3


def test_a_trailing_stop_moves_as_its_next_generation_told_before_the_next_bar() -> None:
    # entry at bar 1's open (10); trailing 10 %: bar 2's high 20 moves the stop to 18 — a
    # new order (-sl2) for the rest of the exit, the old one cancelled, as a session does it
    def decide(ctx: Context, i: int, ids: list[str]) -> None:
        if i == 0:
            ctx.buy(1)

    lines = journal(decide, [FLAT, FLAT, (10.0, 20.0, 10.0, 19.0), (19.0, 19.0, 17.0, 17.0)],
                    risk=RiskSettings(trailing_stop_pct=10))
    assert lines == [
        "bar 0", "/bar 0", "accepted #1",
        "fill #1 1", "filled #1", "accepted #1-sl", "bar 1", "/bar 1",
        "accepted #1-sl2", "cancelled #1-sl trailing stop moved", "bar 2", "/bar 2",
        "fill #1-sl2 1", "filled #1-sl2", "bar 3", "/bar 3",
    ]


def test_no_time_exit_while_the_strategys_own_close_is_working() -> None:
    # two bars of latency: the entry (bar 0) fills at bar 1 (heard then), the close decided
    # at bar 3 fills later; the time exit falls due meanwhile and is not sent, as in a session
    def decide(ctx: Context, i: int, ids: list[str]) -> None:
        if i == 0:
            ctx.buy(1)
        if i == 3:
            ctx.close()

    lines = journal(decide, [FLAT] * 7, risk=RiskSettings(time_exit_bars=2), latency_bars=2)
    assert not [line for line in lines if "#3" in line]  # no third order, not even denied
    assert "filled #2" in lines
