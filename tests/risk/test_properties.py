"""Property tests of the gate.

1. No accepted or resized order leaves a position above its max % of equity (unless the order
   only shrank it), for the strategy's own cap and the portfolio-wide per-symbol cap (which
   adds up the strategies' absolute positions).
2. After a HALT no order that opens, grows or reverses a position is allowed until a re-arm,
   while reducing orders still pass; after the daily loss limit (REDUCING) the same holds until
   the next day boundary of the calendar (XNYS: New York midnight, FX: 17:00 New York,
   24/7: UTC midnight), after which entries pass again. A reference model computes the
   expected state independently from the equity path.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from hypothesis import event, given, settings
from hypothesis import strategies as st

from trading_strategy.core.enums import Side
from trading_strategy.core.instrument import Calendar, Instrument
from trading_strategy.core.orders import OrderIntent
from trading_strategy.risk import RiskEngine, RiskOverrides, RiskSettings, TradingState
from trading_strategy.risk.sessions import trading_day_bounds

MINUTE = 60 * 1_000_000_000
START = 1_704_790_800 * 1_000_000_000  # 2024-01-09 09:00 UTC


def _limit(pct: float, equity: int) -> Fraction:
    """pct % of equity, exactly as configured (decimal), never less."""
    return Fraction(Decimal(repr(pct))) / 100 * max(equity, 0)


def _only_shrinks(before: int, after: int) -> bool:
    return abs(after) <= abs(before) and before * after >= 0


# 0 % is refused by the settings (a cap that allows no position cannot size any order)
pcts = st.floats(min_value=0, max_value=100, allow_nan=False, exclude_min=True)


@settings(max_examples=400, deadline=None)
@given(
    equity=st.integers(min_value=-10**6, max_value=10**10),
    price=st.integers(min_value=1, max_value=10**6),
    lot_size=st.sampled_from([Decimal(1), Decimal("0.01")]),
    top_pct=pcts,
    own_pct=pcts,
    position=st.integers(min_value=-10**5, max_value=10**5),
    other=st.integers(min_value=-10**5, max_value=10**5),
    side=st.sampled_from([Side.BUY, Side.SELL]),
    lots=st.integers(min_value=1, max_value=10**7),
    resize=st.booleans(),
)
def test_no_allowed_order_exceeds_max_position(
    equity: int, price: int, lot_size: Decimal, top_pct: float, own_pct: float, position: int,
    other: int, side: Side, lots: int, resize: bool,
) -> None:
    # two instruments of different precision, so the value factor is exercised (k = 100 / 1)
    coarse = Instrument("A", lot_size=lot_size)
    fine = Instrument("B", lot_size=Decimal("0.01"))
    engine = RiskEngine(
        RiskSettings(max_position_pct=top_pct, enforce_market_hours=False,
                     check_buying_power=False, resize_to_fit=resize,
                     strategies={"s": RiskOverrides(max_position_pct=own_pct)}),
        {"A": coarse, "B": fine},
    )
    k = engine.value_factor("A")
    account = engine.new_account(equity=equity)
    account.set_last_price("A", price)
    account.set_position("s", "A", position)
    account.set_position("t", "A", other)
    verdict = engine.check(OrderIntent("x", "s", "A", side, lots), account, START)
    if not verdict.allowed:
        return
    assert 0 < verdict.lots <= lots
    after = position + side.sign * verdict.lots
    if _only_shrinks(position, after):
        return  # reducing risk is always allowed, whatever the caps
    # the strategy's own cap, and the portfolio's per-symbol cap over all strategies
    assert abs(after) * price * k <= _limit(own_pct, equity)
    assert (abs(after) + abs(other)) * price * k <= _limit(top_pct, equity)


@dataclass
class Model:
    """Expected trading state from the equity path, computed without the engine's code."""

    calendar: Calendar
    daily_pct: int
    drawdown_pct: int
    day_end: int = 0
    start_of_day: int | None = None
    last: int | None = None
    peak: int | None = None
    halted: bool = False
    reducing_until: int = 0

    def equity(self, ts: int, equity: int) -> None:
        if ts >= self.day_end:
            _, self.day_end = trading_day_bounds(self.calendar, ts)
            self.start_of_day = equity if self.last is None else self.last
            self.reducing_until = 0
        self.last = equity
        self.peak = equity if self.peak is None else max(self.peak, equity)
        assert self.start_of_day is not None
        sod = self.start_of_day
        if self.reducing_until == 0 and sod > 0 and (sod - equity) * 100 >= self.daily_pct * sod:
            self.reducing_until = self.day_end
        if self.peak > 0 and (self.peak - equity) * 100 >= self.drawdown_pct * self.peak:
            self.halted = True

    def rearm(self) -> None:
        self.halted = False
        self.peak = self.last

    def entries_allowed(self, ts: int) -> bool:
        return not self.halted and not (self.reducing_until and ts < self.reducing_until)

    def state(self, ts: int) -> TradingState:
        if self.halted:
            return TradingState.HALTED
        if self.reducing_until and ts < self.reducing_until:
            return TradingState.REDUCING
        return TradingState.ACTIVE


step = st.one_of(
    st.tuples(st.just("equity"), st.integers(min_value=1, max_value=20 * 60),
              st.integers(min_value=-60, max_value=40)),
    # a sharp drop (8-15 %), so halts happen often enough to test what follows them
    st.tuples(st.just("equity"), st.integers(min_value=1, max_value=60),
              st.integers(min_value=-150, max_value=-80)),
    st.tuples(st.just("order"), st.integers(min_value=0, max_value=6 * 60),
              st.integers(min_value=-30, max_value=-1) | st.integers(min_value=1, max_value=30)),
    st.tuples(st.just("rearm"), st.integers(min_value=0, max_value=600), st.just(0)),
)


@settings(max_examples=500, deadline=None)
@given(
    calendar=st.sampled_from(list(Calendar)),
    daily_pct=st.integers(min_value=1, max_value=5),
    drawdown_pct=st.integers(min_value=2, max_value=10),
    steps=st.lists(step, min_size=1, max_size=60),
)
def test_halted_and_reducing_allow_only_reductions(
    calendar: Calendar, daily_pct: int, drawdown_pct: int,
    steps: list[tuple[str, int, int]],
) -> None:
    engine = RiskEngine(
        RiskSettings(max_daily_loss_pct=daily_pct, max_drawdown_pct=drawdown_pct,
                     enforce_market_hours=False, check_buying_power=False),
        {"X": Instrument("X", calendar=calendar)},
    )
    model = Model(calendar, daily_pct, drawdown_pct)
    account = engine.new_account()
    account.set_last_price("X", 100)
    ts, equity = START, 1_000_000
    engine.on_equity(ts, None, equity)
    model.equity(ts, equity)
    for kind, minutes, value in steps:
        ts += minutes * MINUTE
        if kind == "equity":
            equity = max(1, equity + value * 1_000)  # in thousandths of the start equity
            account.equity = equity
            engine.on_equity(ts, None, equity)
            model.equity(ts, equity)
            assert engine.state(None) is model.state(ts)
        elif kind == "rearm":
            change = engine.rearm(None, actor="op", ts_ns=ts)
            assert (change is not None) is model.halted
            if model.halted:
                event("re-armed")
                model.rearm()
        else:
            before = account.position("s", "X")
            side = Side.BUY if value > 0 else Side.SELL
            lots = abs(value)
            verdict = engine.check(OrderIntent("o", "s", "X", side, lots), account, ts)
            reducing = before * side.sign < 0 and lots <= abs(before)
            if reducing:
                assert verdict.allowed and verdict.lots == lots  # reductions always pass
            elif model.entries_allowed(ts):
                assert verdict.allowed and verdict.lots == lots  # no other limit configured
            else:
                event(f"entry while {model.state(ts).value}")
                after = before + side.sign * verdict.lots
                assert not verdict.allowed or _only_shrinks(before, after)
            if verdict.allowed:
                account.add_fill("s", "X", side.sign * verdict.lots)
