"""What a strategy sees, logged by a subclass that wraps its callbacks.

The subclass is registered under a fresh name so that a paper session (which finds its
strategies in the registry) and a backtest drive the very same class. Per bar it logs the
strategy's position, cash and equity as the strategy sees them when ``on_bar`` starts (after
the bar's fills); per callback, the bar it came on, whether it came inside ``on_bar``, and
its content in exact units (lots, ticks, money units).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from trading_strategy.core.instrument import Instrument
from trading_strategy.strategies import registry
from trading_strategy.strategies.base import Strategy
from trading_strategy.strategies.context import Context, FillEvent, OrderEvent

_names = itertools.count(1)


@dataclass(frozen=True, slots=True)
class Mark:
    bar: int
    ts: int
    position: int
    cash: int
    equity: int


@dataclass(frozen=True, slots=True)
class Call:
    """One callback: ``kind`` "fill" or "event"; ``inside`` when it ran within ``on_bar``."""

    kind: str
    bar: int
    inside: bool
    order_id: str
    detail: tuple[Any, ...]
    ts: int


@dataclass
class CallbackLog:
    marks: list[Mark] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    in_bar: bool = False


def _units(instrument: Instrument, money: Decimal) -> int:
    return int((money / instrument.money_unit).to_integral_value())


def _mark(log: CallbackLog, ctx: Context) -> None:
    inst = ctx.instrument
    log.marks.append(Mark(ctx.bar_index, ctx.time_ns, ctx.position_lots,
                          _units(inst, ctx.cash_exact), _units(inst, ctx.equity_exact)))


def recording(base: type[Strategy], log: CallbackLog) -> type[Strategy]:
    """A registered subclass of ``base`` whose instances log into ``log``."""

    def on_bar(self: Strategy) -> None:
        _mark(log, self.ctx)
        log.in_bar = True
        try:
            base.on_bar(self)
        finally:
            log.in_bar = False

    def on_fill(self: Strategy, fill: FillEvent) -> None:
        inst = self.ctx.instrument
        log.calls.append(Call("fill", self.ctx.bar_index, log.in_bar, fill.order_id, (
            fill.side.value, inst.to_lots(fill.quantity), inst.to_ticks(fill.price),
            _units(inst, fill.commission)), fill.ts_event))
        base.on_fill(self, fill)

    def on_order_event(self: Strategy, event: OrderEvent) -> None:
        log.calls.append(Call("event", self.ctx.bar_index, log.in_bar, event.order_id,
                              (event.status.value,), event.ts_event))
        base.on_order_event(self, event)

    name = f"parity_rec_{base.name}_{next(_names)}"
    cls = type(f"Recording{base.__name__}", (base,), {
        "name": name, "on_bar": on_bar, "on_fill": on_fill,
        "on_order_event": on_order_event, "__module__": __name__,
        "__doc__": base.__doc__})
    return registry.register(cls)
