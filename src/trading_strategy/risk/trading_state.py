"""Loss limits and the trading state of one scope (a strategy, or the portfolio).

Rules, evaluated on every equity update (``ScopeState.on_equity``):

* **Trading day.** Days follow the engine's day calendar (``sessions.trading_day_bounds``).
  Start-of-day equity is the last equity seen *before* the day began (the previous close), or
  the first equity of the run on its first day.
* **Daily loss** → REDUCING. When ``start_of_day − equity ≥ max_daily_loss`` or
  ``(start_of_day − equity) × 10⁶ ≥ ppm × start_of_day`` (``max_daily_loss_pct``; only while
  start-of-day equity is positive), the scope may only reduce positions until the end of that
  trading day. It is not re-armed by hand: the next day boundary ends it.
* **Max drawdown** → HALTED. With ``peak`` the highest equity seen since the start (or since the
  last re-arm), when ``(peak − equity) × 10⁶ ≥ ppm × peak`` the scope may only reduce positions
  until an operator re-arms it. Re-arming resets the peak to the current equity (otherwise the
  same drawdown would halt again on the next update) and leaves the scope REDUCING if the daily
  loss limit was reached earlier that day.

Limits trigger on *reaching* the threshold (``≥``). Both may trigger on one update: the events
are ACTIVE → REDUCING then REDUCING → HALTED. Transitions follow ``TRANSITIONS``; any other
raises ``IllegalTransition``. Time must not go backwards (a simulated clock guarantees it).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from trading_strategy.core.fsm import TransitionTable
from trading_strategy.core.instrument import Calendar
from trading_strategy.risk._units import PPM, money_to_units, pct_to_ppm
from trading_strategy.risk.sessions import trading_day_bounds
from trading_strategy.risk.settings import EffectiveRisk
from trading_strategy.risk.verdicts import (
    ENGINE_ACTOR,
    StateReason,
    TradingState,
    TradingStateChange,
)

ACTIVE, REDUCING, HALTED = TradingState.ACTIVE, TradingState.REDUCING, TradingState.HALTED

TRANSITIONS: TransitionTable[TradingState] = TransitionTable({
    ACTIVE: {REDUCING, HALTED},
    REDUCING: {ACTIVE, HALTED},  # REDUCING → ACTIVE: the day ended
    # HALTED → REDUCING: re-armed on a day whose loss limit was already reached
    HALTED: {ACTIVE, REDUCING},
})


@dataclass(frozen=True, slots=True)
class LossLimits:
    """A scope's loss limits as integers (``None``: off)."""

    daily_loss_units: int | None = None
    daily_loss_ppm: int | None = None
    drawdown_ppm: int | None = None
    flatten_on_halt: bool = True

    @classmethod
    def compile(cls, eff: EffectiveRisk, money_unit: Decimal) -> LossLimits:
        return cls(
            None if eff.max_daily_loss is None else money_to_units(eff.max_daily_loss,
                                                                    money_unit),
            None if eff.max_daily_loss_pct is None else pct_to_ppm(eff.max_daily_loss_pct),
            None if eff.max_drawdown_pct is None else pct_to_ppm(eff.max_drawdown_pct),
            eff.flatten_on_halt,
        )

    def daily_loss_reached(self, start_of_day: int, equity: int) -> bool:
        loss = start_of_day - equity
        if loss <= 0:
            return False
        if self.daily_loss_units is not None and loss >= self.daily_loss_units:
            return True
        return (self.daily_loss_ppm is not None and start_of_day > 0
                and loss * PPM >= self.daily_loss_ppm * start_of_day)

    def drawdown_reached(self, peak: int, equity: int) -> bool:
        return (self.drawdown_ppm is not None and peak > 0
                and (peak - equity) * PPM >= self.drawdown_ppm * peak)


class ScopeState:
    """Trading state, start-of-day equity and equity peak of one scope."""

    __slots__ = ("_calendar", "_limits", "_money_unit", "day_end", "day_start", "last_equity",
                 "loss_hit_today", "peak", "reducing_until", "scope", "start_of_day", "state")

    def __init__(self, scope: str | None, limits: LossLimits, calendar: Calendar,
                 money_unit: Decimal = Decimal(1)) -> None:
        self.scope = scope
        self._limits = limits
        self._calendar = calendar
        #: only to write amounts in messages as money rather than units
        self._money_unit = money_unit
        self.state = ACTIVE
        self.day_start = 0
        self.day_end = 0  # 0: no day yet; the first update opens one
        self.start_of_day: int | None = None
        self.last_equity: int | None = None
        self.peak: int | None = None
        self.loss_hit_today = False
        #: when REDUCING (or HALTED after a daily loss): the end of that trading day
        self.reducing_until = 0

    _PERSISTED = ("day_start", "day_end", "start_of_day", "last_equity", "peak",
                  "loss_hit_today", "reducing_until")

    def snapshot(self) -> dict[str, object]:
        """Everything the scope has learnt (plain data, for a process that restarts)."""
        data: dict[str, object] = {k: getattr(self, k) for k in self._PERSISTED}
        data["state"] = self.state.value
        return data

    def restore(self, data: dict[str, object]) -> None:
        """Take back a ``snapshot``: the peak, the trading day and the state carry on."""
        for key in self._PERSISTED:
            if key in data:
                setattr(self, key, data[key])
        self.state = TradingState(str(data.get("state", self.state.value)))

    def _money(self, units: int) -> str:
        return str(units * self._money_unit)

    @property
    def _label(self) -> str:
        return "portfolio" if self.scope is None else f"strategy {self.scope}"

    def _move(self, target: TradingState, reason: StateReason, message: str, ts_ns: int,
              *, actor: str = ENGINE_ACTOR, equity: int | None = None,
              threshold: int | None = None) -> TradingStateChange:
        previous = self.state
        self.state = TRANSITIONS.check(previous, target)
        halting = target is HALTED
        flatten = halting and self._limits.flatten_on_halt
        return TradingStateChange(
            scope=self.scope, previous=previous, current=target, reason=reason,
            message=message, ts_ns=ts_ns, actor=actor,
            cancel_entry_orders=target is not ACTIVE,
            cancel_exit_orders=flatten, flatten=flatten,
            equity_units=equity, threshold_units=threshold,
        )

    def expire(self, ts_ns: int) -> TradingStateChange | None:
        """End REDUCING once its trading day is over (also called lazily by the gate)."""
        if self.state is REDUCING and ts_ns >= self.reducing_until:
            self.reducing_until = 0
            return self._move(ACTIVE, StateReason.DAY_ROLLOVER,
                              f"{self._label}: new trading day, daily loss limit reset", ts_ns)
        return None

    def on_equity(self, ts_ns: int, equity: int) -> list[TradingStateChange]:
        events: list[TradingStateChange] = []
        if ts_ns >= self.day_end or ts_ns < self.day_start:
            self.day_start, self.day_end = trading_day_bounds(self._calendar, ts_ns)
            self.start_of_day = equity if self.last_equity is None else self.last_equity
            self.loss_hit_today = False
            rolled = self.expire(ts_ns)
            if rolled is not None:
                events.append(rolled)
            self.reducing_until = 0
        self.last_equity = equity
        if self.peak is None or equity > self.peak:
            self.peak = equity
        limits = self._limits
        sod = self.start_of_day
        assert sod is not None
        if not self.loss_hit_today and limits.daily_loss_reached(sod, equity):
            self.loss_hit_today = True
            self.reducing_until = self.day_end
            if self.state is ACTIVE:
                events.append(self._move(
                    REDUCING, StateReason.DAILY_LOSS,
                    f"{self._label}: daily loss {self._money(sod - equity)} reached the limit "
                    f"(start-of-day equity {self._money(sod)}, now {self._money(equity)}); "
                    "only reducing orders until the next trading day", ts_ns,
                    equity=equity, threshold=sod))
        if self.state is not HALTED and limits.drawdown_reached(self.peak, equity):
            events.append(self._move(
                HALTED, StateReason.DRAWDOWN,
                f"{self._label}: drawdown from peak {self._money(self.peak)} to "
                f"{self._money(equity)} reached the max drawdown; halted until an operator "
                "re-arms it", ts_ns,
                equity=equity, threshold=self.peak))
        return events

    def restore_halt(self, message: str, ts_ns: int) -> TradingStateChange | None:
        """Put back a HALT recorded before a restart: a kill switch survives the process."""
        if self.state is HALTED:
            return None
        return self._move(HALTED, StateReason.DRAWDOWN, message, ts_ns)

    def halt(self, actor: str, note: str, ts_ns: int) -> TradingStateChange | None:
        """An operator's kill switch: → HALTED as a drawdown halt would (``flatten_on_halt``
        applies); ``None`` when already halted."""
        if self.state is HALTED:
            return None
        why = f" ({note})" if note else ""
        return self._move(HALTED, StateReason.OPERATOR,
                          f"{self._label}: halted by {actor}{why}; re-arm to trade again",
                          ts_ns, actor=actor, equity=self.last_equity)

    def rearm(self, actor: str, ts_ns: int) -> TradingStateChange | None:
        """HALTED → ACTIVE (or REDUCING for the rest of a day whose loss limit was reached);
        ``None`` when the scope is not halted (nothing to re-arm)."""
        if self.state is not HALTED:
            return None
        self.peak = self.last_equity
        reducing = self.loss_hit_today and ts_ns < self.reducing_until
        target = REDUCING if reducing else ACTIVE
        note = " (still REDUCING: the daily loss limit was reached today)" if reducing else ""
        return self._move(target, StateReason.REARM,
                          f"{self._label}: re-armed by {actor}{note}", ts_ns, actor=actor,
                          equity=self.last_equity)

