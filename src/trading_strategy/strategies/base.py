"""The strategy contract: one class per strategy, the same code in every mode.

A strategy declares typed, validated parameters (a pydantic model with defaults and
descriptions) and reacts to events. It acts only through its context (``self.ctx``): reads
bars and indicators up to the current bar, and places or cancels orders, which the risk
engine gates before any venue sees them. It never sizes past the risk engine, never reads
the wall clock and never talks to a venue, so the backtester and the live runtime can drive
the very same object.

Lifecycle::

    on_start()            once, before the first bar: declare indicators here
    on_bar()              after each bar closes (the context's "now" is that bar)
    on_fill(fill)         after each execution of one of its orders
    on_order_event(ev)    after each order status change (accepted, cancelled, rejected, ...)
    on_data_stale(sym)    the feed stopped trusting an instrument's data (entries refused)
    on_data_restored(sym) that instrument's data is flowing and trusted again
    on_stop()             once, after the last bar or when the runtime stops it
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from trading_strategy.core.errors import ParameterError

if TYPE_CHECKING:
    from trading_strategy.strategies.context import Context, FillEvent, OrderEvent


class StrategyParams(BaseModel):
    """Base for parameter models: frozen, unknown keys rejected, strings coerced (CLI)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Strategy:
    """Base class of every strategy. Subclasses set ``name`` and ``Params``."""

    name: ClassVar[str] = ""
    """The registry name, e.g. ``"sma_crossover"``: what ``--strategy`` on the command line
    and ``strategy = "..."`` in a config file select. ``register`` refuses a class without
    one; a plug-in's entry point key should be the same name."""

    Params: ClassVar[type[StrategyParams]] = StrategyParams
    """The strategy's parameter model, a ``StrategyParams`` subclass: each field's type,
    default, constraints and ``description`` are what ``parse_params`` validates against and
    what ``trading-strategy strategies`` lists. The base model has no fields. Annotate
    ``params`` with the same model so type checkers know its fields:

    ```python
    from typing import ClassVar

    from pydantic import Field

    class BreakoutParams(StrategyParams):
        period: int = Field(20, ge=1, description="channel length, in bars")

    class Breakout(Strategy):
        name = "breakout"
        Params: ClassVar[type[StrategyParams]] = BreakoutParams
        params: BreakoutParams
    ```
    """

    def __init__(self, ctx: Context, params: StrategyParams | None = None) -> None:
        self.ctx = ctx
        """The strategy's ``Context``, given by the driver (backtest or live session) and
        the only way to the world: bars, indicators, position, cash and orders. Set before
        ``on_start``; it has no bar until the first ``on_bar``."""
        self.params = params if params is not None else self.Params()
        """This run's parameters: an instance of ``Params``, validated and frozen (the
        driver builds it with ``parse_params``; the defaults when none are given), e.g.
        ``self.params.period``."""

    # --- lifecycle hooks -----------------------------------------------------------------
    def on_start(self) -> None:
        """Declare indicators and initial state. The context has no bar yet."""

    def on_bar(self) -> None:
        """React to the bar that just closed."""
        raise NotImplementedError

    def on_fill(self, fill: FillEvent) -> None:
        """One of this strategy's orders (partly) executed."""

    def on_order_event(self, event: OrderEvent) -> None:
        """One of this strategy's orders changed status."""

    def on_data_stale(self, symbol: str) -> None:
        """``symbol``'s data stopped arriving or stopped being trusted (no update for too long,
        every provider down). Until ``on_data_restored`` the risk engine refuses new entries
        on it (orders that reduce a position still pass): a strategy may cancel resting entry
        orders or simply wait. Called in every mode; a backtest replays recorded events."""

    def on_data_restored(self, symbol: str) -> None:
        """``symbol``'s data is flowing and trusted again. Bars missed meanwhile were
        backfilled before this call (they reached ``on_bar`` while entries were still
        refused), so the series continues without a hole."""

    def on_stop(self) -> None:
        """The run ends; release resources."""

    # --- parameters ----------------------------------------------------------------------
    @classmethod
    def description(cls) -> str:
        """The first line of the class docstring, stripped (``""`` without one): the
        one-line summary ``trading-strategy strategies`` lists beside the name."""
        doc = (cls.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""

    @classmethod
    def parse_params(cls, raw: Mapping[str, Any] | None = None) -> StrategyParams:
        """Validate raw parameters (strings from the CLI are coerced) or raise ParameterError."""
        raw = dict(raw or {})
        unknown = sorted(set(raw) - set(cls.Params.model_fields))
        if unknown:
            names = ", ".join(repr(u) for u in unknown)
            raise ParameterError(
                f"unknown parameter {names} for strategy {cls.name!r}; "
                f"valid parameters: {describe_params(cls.Params)}"
            )
        try:
            return cls.Params(**raw)
        except ValidationError as exc:
            problems = []
            for err in exc.errors():
                field = ".".join(str(p) for p in err["loc"]) or "parameters"
                value = raw.get(field, err.get("input"))
                msg = err["msg"].removeprefix("Value error, ")
                problems.append(f"{field}={value!r}: {msg}" if field in raw else f"{msg}")
            raise ParameterError(
                f"invalid parameter for strategy {cls.name!r}: {'; '.join(problems)} "
                f"(valid parameters: {describe_params(cls.Params)})"
            ) from None


def describe_params(model: type[StrategyParams]) -> str:
    parts = []
    for name, field in model.model_fields.items():
        annotation = getattr(field.annotation, "__name__", str(field.annotation))
        parts.append(f"{name} ({annotation}, default {field.default!r})")
    return ", ".join(parts) if parts else "none"


def param_table(model: type[StrategyParams]) -> list[tuple[str, str, str, str]]:
    """(name, type, default, description) rows for listings."""
    rows = []
    for name, field in model.model_fields.items():
        annotation = getattr(field.annotation, "__name__", str(field.annotation))
        rows.append((name, annotation, repr(field.default), field.description or ""))
    return rows
