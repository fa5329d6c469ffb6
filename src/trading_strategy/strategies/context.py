"""What a strategy may touch: bars up to now, indicators, its position, and order methods.

Bars and indicators are ``Series`` read "bars ago": ``ctx.bars.close[0]`` is the current
close, ``ctx.bars.close[1]`` the previous one. A series never exposes a value after the
current bar, so a strategy cannot look ahead, whichever driver runs it.

Indicators are declared once (in ``on_start``) through the context — ``ctx.sma(20)``,
``ctx.rsi(14)``, ``ctx.crossover(fast, slow)`` — and are then kept current by the driver:
precomputed with the vectorized forms in backtests, updated in O(1) per bar live. Both forms
agree (see ``indicators``), so the strategy cannot tell them apart. ``ctx.indicator(fn, ...)``
declares any other indicator from a plain function of arrays (see ``Context.indicator``).

Order methods return the order's id. Quantities are rounded down to the instrument's lot size
and prices to its tick size at order creation; ``quantity=None`` uses the run's sizer (e.g.
``--size 25%``). Every order passes the risk engine; a refusal is an order event with a reason.

Numbers: everything a strategy decides with is a ``float`` — prices, indicator values, and
``position``, ``cash`` and ``equity`` — so ``ctx.equity * 0.02 / ctx.bars.close[0]`` works
as in backtesting.py. The engine keeps money exact (integer ticks, lots and money units);
``position_exact``, ``cash_exact`` and ``equity_exact`` give it as ``Decimal``, and a float
quantity becomes whole lots when the order is created, so float maths never leaks into
stored or reported money.

Orders, the position and closed trades are read as frozen snapshots (``open_orders``,
``position_view``, ``closed_trades``; see ``strategies.views``), never as the engine's own
objects.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, NamedTuple, overload

import numpy as np
import numpy.typing as npt

from trading_strategy.core.bars import ns_to_datetime
from trading_strategy.core.enums import OrderStatus, OrderType, Side, TimeInForce
from trading_strategy.core.instrument import Instrument
from trading_strategy.core.orders import Bracket, Order
from trading_strategy.core.timeframe import Timeframe
from trading_strategy.strategies import indicators as ind
from trading_strategy.strategies.views import (
    ClosedTrades,
    ExactFloat,
    LedgerLike,
    OrderView,
    PositionView,
    TradeView,
)

FloatArray = npt.NDArray[np.float64]
Price = float | int | Decimal
PlotHint = bool | Literal["overlay", "panel"]


class Cursor:
    """The index of the current bar, shared by every series of one context."""

    __slots__ = ("i",)

    def __init__(self) -> None:
        self.i = -1


class Series:
    """A column of values read by "bars ago"; never past the current bar."""

    __slots__ = ("_array", "_cursor", "_values", "name")

    def __init__(
        self,
        name: str,
        values: list[float] | None,
        cursor: Cursor,
        array: npt.NDArray[Any] | None = None,
    ) -> None:
        self.name = name
        """A label for reading, not a key: the column of a bar series (``"open"``,
        ``"high"``, ``"low"``, ``"close"``, ``"volume"``), the indicator and its arguments
        for a derived one (``"sma(20)"``, ``"rsi(14)"``; ``"bollinger(20,2.0).1"`` for the
        second of several lines; a custom indicator's ``name``). It shows in ``repr`` and in
        the names of indicators built on the series (``"crossover(sma(10),sma(30))"``)."""
        if values is not None:
            self._values = values
        elif array is None:
            raise ValueError("a series needs values or an array")
        self._cursor = cursor
        self._array = array

    def __getattr__(self, name: str) -> Any:
        # Reached only while the ``_values`` slot is unset: build the list on first read, so
        # columns no strategy reads (and indicators only combined vectorized) cost no memory.
        if name == "_values":
            assert self._array is not None
            values: list[float] = self._array.tolist()
            self._values = values
            return values
        raise AttributeError(name)

    def __getitem__(self, ago: int) -> float:
        if ago < 0:
            raise IndexError(f"{self.name}[{ago}]: negative 'bars ago' would look into the future")
        i = self._cursor.i - ago
        if i < 0:
            return math.nan
        return self._values[i]

    @property
    def value(self) -> float:
        """The current bar's value (NaN during an indicator's warm-up or before any bar)."""
        i = self._cursor.i
        return self._values[i] if i >= 0 else math.nan

    @property
    def prev(self) -> float:
        """The previous bar's value, the same as ``series[1]``: NaN on the first bar, before
        any bar and while that bar was still in an indicator's warm-up."""
        i = self._cursor.i - 1
        return self._values[i] if i >= 0 else math.nan

    def __len__(self) -> int:
        return self._cursor.i + 1

    def to_numpy(self, lookback: int | None = None) -> FloatArray:
        """Values up to and including the current bar (the last ``lookback`` of them)."""
        end = self._cursor.i + 1
        start = 0 if lookback is None else max(0, end - lookback)
        if self._array is not None:
            return self._array[start:end].copy()
        return np.asarray(self._values[start:end], dtype=np.float64)

    def __repr__(self) -> str:
        return f"Series({self.name!r}, len={len(self)})"


class OrderSpec(NamedTuple):
    """An order as the strategy asked for it (prices and quantity not yet normalised)."""

    side: Side
    quantity: Price | None
    order_type: OrderType
    limit: Price | None
    stop: Price | None
    tif: TimeInForce
    stop_loss: Price | None
    take_profit: Price | None
    reduce_only: bool
    tag: str


@dataclass(frozen=True, slots=True)
class FillEvent:
    """One execution of one of the strategy's orders, given to ``Strategy.on_fill``.

    An order may fill in several parts, one event each. The strategy's position and cash
    already include the fill when ``on_fill`` runs, and the ``partially_filled`` or
    ``filled`` ``OrderEvent`` it caused follows it.
    """

    order_id: str
    """The order's id: what ``buy``, ``sell`` or ``submit_order`` returned, or the id of an
    exit the engine placed for an entry's ``stop_loss`` / ``take_profit``."""
    side: Side
    """``Side.BUY`` or ``Side.SELL``, the order's side."""
    quantity: Decimal
    """Quantity executed in this fill, in units of the instrument (lots × lot size), always
    positive; the side gives the direction."""
    price: Decimal
    """Execution price in the instrument's currency, exact at its tick size; in a backtest
    the simulated fill price, slippage included."""
    commission: Decimal
    """Commission charged for this fill, in the instrument's currency (already taken from
    ``Context.cash``)."""
    ts_event: int
    """When it executed, UTC nanoseconds: in a backtest the open time of the bar it filled
    in, in a live session the venue's execution time."""


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """A change of status of one of the strategy's orders, given to
    ``Strategy.on_order_event``.

    What a callback's own calls cause (an order accepted or denied, its own cancel) is told
    after that callback returns, not inside ``buy`` or ``cancel``. A fill's status follows
    its ``FillEvent``.
    """

    order_id: str
    """The order's id: what ``buy``, ``sell`` or ``submit_order`` returned, or the id of an
    exit the engine placed for an entry's ``stop_loss`` / ``take_profit``."""
    status: OrderStatus
    """The order's new status, one of:

    - ``accepted``: passed the risk engine and taken by the venue; it now works;
    - ``partially_filled``: part of it executed (after its ``on_fill``), the rest works on;
    - ``filled``: completely executed (after the last ``on_fill``);
    - ``cancelled``: by ``cancel``, by the engine or the risk engine (e.g. the unfilled
      rest of an IOC order, the other exit once one filled, the exits of a closed trade)
      or by the venue;
    - ``expired``: its time in force ran out (a DAY order after its day);
    - ``rejected``: the venue refused it (in a backtest the simulated venue, e.g. when the
      cash does not pay for it at the fill price);
    - ``denied``: the risk engine refused it before any venue saw it.

    The other statuses (``created``, ``submitted``, ``pending_cancel``) are not told.
    """
    reason: str
    """Why, for a refusal or an end the strategy did not ask for, e.g.
    ``"zero_size: order size rounds to zero lots"`` (a risk engine's or venue's code, a
    colon and a message); ``""`` when there is nothing to explain (accepted, fills)."""
    ts_event: int
    """When it happened, UTC nanoseconds: in a backtest the open time of the bar during
    which it happened; in a live session a fill's status carries the venue's execution time,
    any other status the open time of the bar at which the session told it."""


class DeclaredIndicator(NamedTuple):
    """One indicator a strategy declared, as reports plot it (``Context.indicators``)."""

    name: str
    """Its label, e.g. ``"sma(20)"`` or a custom indicator's ``name``."""
    series: tuple[Series, ...]
    """Its output series (three for ``bollinger``)."""
    plot: PlotHint
    """``"overlay"`` (over the price), ``"panel"`` (below it), ``False`` (not plotted) or
    ``True`` (plotted where its values' scale puts it)."""


@dataclass(frozen=True, slots=True)
class Bars:
    """The OHLCV history of the context's instrument as series."""

    open: Series
    """Each bar's first traded price."""
    high: Series
    """Each bar's highest traded price."""
    low: Series
    """Each bar's lowest traded price."""
    close: Series
    """Each bar's last traded price; ``close[0]`` is the price decisions are taken at (the
    current bar has closed when ``on_bar`` runs), and the default input of indicators."""
    volume: Series
    """Each bar's traded volume, in the instrument's units as the data source reports it."""


class SeriesBuilder(ABC):
    """Makes derived series: vectorized once (backtest) or updated per bar (live)."""

    @abstractmethod
    def derive(
        self,
        name: str,
        inputs: Sequence[Series],
        vectorized: Callable[..., Any],
        incremental: Callable[[], Any],
        outputs: int,
    ) -> list[Series]: ...

    def advance(self) -> None:  # noqa: B027 - optional hook, a no-op for vectorized builders
        """Called by the driver after the base series moved to a new bar."""


def _output_names(name: str, outputs: int) -> list[str]:
    return [name] if outputs == 1 else [f"{name}.{k}" for k in range(outputs)]


class VectorizedBuilder(SeriesBuilder):
    """Computes each indicator over the whole history at declaration (backtests)."""

    def __init__(self, cursor: Cursor) -> None:
        self._cursor = cursor

    def derive(
        self,
        name: str,
        inputs: Sequence[Series],
        vectorized: Callable[..., Any],
        incremental: Callable[[], Any],
        outputs: int,
    ) -> list[Series]:
        arrays = []
        for s in inputs:
            if s._array is None:
                raise TypeError(f"series {s.name!r} has no backing array")
            arrays.append(s._array)
        result = vectorized(*arrays)
        columns = list(result) if outputs > 1 else [result]
        names = _output_names(name, outputs)
        return [Series(n, None, self._cursor, np.asarray(c))
                for n, c in zip(names, columns, strict=True)]


class IncrementalBuilder(SeriesBuilder):
    """Updates each indicator in O(1) as bars arrive (live; also selectable in backtests)."""

    def __init__(self, cursor: Cursor) -> None:
        self._cursor = cursor
        self._nodes: list[tuple[Any, Sequence[Series], list[list[float]]]] = []

    def derive(
        self,
        name: str,
        inputs: Sequence[Series],
        vectorized: Callable[..., Any],
        incremental: Callable[[], Any],
        outputs: int,
    ) -> list[Series]:
        lists: list[list[float]] = [[] for _ in range(outputs)]
        self._nodes.append((incremental(), inputs, lists))
        names = _output_names(name, outputs)
        series = [Series(n, values, self._cursor) for n, values in zip(names, lists, strict=True)]
        # catch up with bars already seen (an indicator declared mid-run)
        node = self._nodes[-1]
        for i in range(self._cursor.i + 1):
            self._update(node, i)
        return series

    @staticmethod
    def _update(node: tuple[Any, Sequence[Series], list[list[float]]], i: int) -> None:
        obj, inputs, lists = node
        out = obj.update(*[s._values[i] for s in inputs])
        if len(lists) == 1:
            lists[0].append(float(out))
        else:
            for target, value in zip(lists, out, strict=True):
                target.append(float(value))

    def advance(self) -> None:
        i = self._cursor.i
        for node in self._nodes:
            if len(node[2][0]) <= i:
                self._update(node, i)


class _Recompute:
    """The live form of a custom indicator without an incremental one: ``fn`` over the last
    ``window`` bars (every bar so far when ``window`` is None), keeping its last value."""

    def __init__(self, fn: Callable[..., Any], kwargs: dict[str, Any], inputs: int,
                 window: int | None, outputs: int) -> None:
        self._fn, self._kwargs, self._outputs = fn, kwargs, outputs
        self._buffers: list[deque[float]] = [deque(maxlen=window) for _ in range(inputs)]

    def update(self, *values: float) -> float | tuple[float, ...]:
        for buffer, value in zip(self._buffers, values, strict=True):
            buffer.append(value)
        arrays = [np.fromiter(b, dtype=np.float64, count=len(b)) for b in self._buffers]
        out = self._fn(*arrays, **self._kwargs)
        if self._outputs == 1:
            return float(np.asarray(out, dtype=np.float64)[-1])
        return tuple(float(np.asarray(column, dtype=np.float64)[-1]) for column in out)


def _columns(label: str, out: Any, outputs: int, n: int) -> list[FloatArray]:
    columns = [out] if outputs == 1 else list(out)
    if len(columns) != outputs:
        raise ValueError(f"indicator {label}: returned {len(columns)} arrays, expected "
                         f"outputs={outputs}")
    arrays = [np.asarray(c, dtype=np.float64).reshape(-1) for c in columns]
    for array in arrays:
        if len(array) != n:
            raise ValueError(f"indicator {label}: returned {len(array)} values for {n} bars; "
                             "return one value per bar (NaN while warming up)")
    return arrays


def _check_causal(label: str, fn: Callable[..., Any], kwargs: dict[str, Any],
                  arrays: Sequence[FloatArray], columns: Sequence[FloatArray],
                  window: int | None) -> None:
    """Recompute a few bars from the data up to them (the last ``window`` bars when given):
    a different value means ``fn`` read later bars (look-ahead) or more than its window,
    and the backtest would differ from a live session."""
    n = len(arrays[0])
    for i in sorted({n // 4, n // 2, (3 * n) // 4, n - 1} - {0}):
        lo = 0 if window is None else max(0, i + 1 - window)
        out = fn(*[a[lo:i + 1] for a in arrays], **kwargs)
        again = _columns(label, out, len(columns), i + 1 - lo)
        for k, (column, value) in enumerate(zip(columns, again, strict=True)):
            if not np.isclose(column[i], value[-1], rtol=1e-9, atol=1e-12, equal_nan=True):
                what = "reads bars after the current one (look-ahead)" if window is None \
                    else f"reads bars after the current one or more than window={window}"
                raise ValueError(
                    f"indicator {label}{'' if len(columns) == 1 else f' output {k}'}: "
                    f"bar {i} is {column[i]!r} over the whole history but {value[-1]!r} "
                    f"from the bars up to it; the function {what}")


class Context(ABC):
    """The strategy's window on the world. Drivers subclass it; strategies only use it."""

    def __init__(
        self,
        *,
        instrument: Instrument,
        timeframe: Timeframe,
        cursor: Cursor,
        builder: SeriesBuilder,
        bars: Bars,
        times: Sequence[int] | npt.NDArray[np.int64],
    ) -> None:
        self.instrument = instrument
        """The instrument the strategy trades here: ``symbol``, ``tick_size`` (prices are
        rounded to it), ``lot_size`` (quantities are rounded down to it) and ``currency``
        (of prices, cash and commissions), e.g. ``ctx.instrument.round_price(x)``."""
        self.timeframe = timeframe
        """The length of one bar of ``bars``, e.g. ``str(ctx.timeframe) == "1d"``;
        ``ctx.timeframe.nanoseconds`` is that length in nanoseconds."""
        self._cursor = cursor
        self._builder = builder
        self.bars = bars
        """The OHLCV history up to the current bar: ``ctx.bars.close[0]`` is the current
        close, ``ctx.bars.close[1]`` the previous one."""
        self._times = times
        self._exact = ExactFloat(instrument)
        self._trades = ClosedTrades(instrument, self._exact)
        self._declared: list[DeclaredIndicator] = []
        self._order_views: dict[str, tuple[OrderView, Bracket | None]] = {}
        self._position_view: tuple[tuple[int, ...], PositionView] | None = None

    @property
    def indicators(self) -> tuple[DeclaredIndicator, ...]:
        """Every indicator declared so far, in order, with where a report plots it."""
        return tuple(self._declared)

    # --- time ------------------------------------------------------------------------------
    @property
    def bar_index(self) -> int:
        """Number of bars seen so far minus one (0 on the first bar)."""
        return self._cursor.i

    @property
    def time_ns(self) -> int:
        """Open time of the current bar, UTC nanoseconds."""
        i = self._cursor.i
        if i < 0:
            raise RuntimeError("no bar yet: time is known from the first on_bar on")
        return int(self._times[i])

    @property
    def now(self) -> datetime:
        """``time_ns`` as a timezone-aware UTC ``datetime`` (microsecond resolution): the
        current bar's open time, never the wall clock. Like ``time_ns`` it raises
        ``RuntimeError`` before the first bar (in ``on_start``).

        ```python
        if ctx.now.weekday() == 4 and not ctx.is_flat:  # no position over the weekend
            ctx.close()
        ```
        """
        return ns_to_datetime(self.time_ns)

    # --- indicators ------------------------------------------------------------------------
    def _derive(self, name: str, inputs: Sequence[Series], vec: Callable[..., Any],
                inc: Callable[[], Any], outputs: int, plot: PlotHint = True) -> list[Series]:
        series = self._builder.derive(name, inputs, vec, inc, outputs)
        self._declared.append(DeclaredIndicator(name, tuple(series), plot))
        return series

    def _one(self, name: str, inputs: Sequence[Series], vec: Callable[..., Any],
             inc: Callable[[], Any], plot: PlotHint = True) -> Series:
        return self._derive(name, inputs, vec, inc, 1, plot)[0]

    def sma(self, period: int, source: Series | None = None) -> Series:
        """Declare the simple moving average of ``source`` over the last ``period`` bars,
        the current one included: NaN for the first ``period - 1`` bars. Its sums are exact
        (inputs at 1e-8 resolution), so backtest and live values agree bit for bit and
        equal averages compare equal (see ``indicators``).

        Call it once, in ``on_start``, and keep the series: the driver keeps it current, and
        every call declares one more indicator. ``period`` must be an int >= 1 and
        ``source`` finite on every bar (an indicator still warming up is refused with
        ``ValueError``); ``bars.close`` by default.

        ```python
        def on_start(self) -> None:
            self.trend = self.ctx.sma(200)

        def on_bar(self) -> None:
            # False while the average warms up: a comparison with NaN is never true
            if self.ctx.is_flat and self.ctx.bars.close[0] > self.trend[0]:
                self.ctx.buy()
        ```
        """
        src = source or self.bars.close
        return self._one(f"sma({period})", [src], lambda a: ind.sma(a, period),
                         lambda: ind.SMA(period))

    def ema(self, period: int, source: Series | None = None) -> Series:
        """Declare the exponential moving average of ``source``, ``alpha = 2 / (period + 1)``,
        seeded with the plain mean of the first ``period`` values: NaN for the first
        ``period - 1`` bars.

        Call it once, in ``on_start``, and keep the series: the driver keeps it current, and
        every call declares one more indicator. ``period`` must be an int >= 1 and
        ``source`` finite on every bar (an indicator still warming up is refused with
        ``ValueError``); ``bars.close`` by default.
        """
        src = source or self.bars.close
        return self._one(f"ema({period})", [src], lambda a: ind.ema(a, period),
                         lambda: ind.EMA(period))

    def rsi(self, period: int = 14, source: Series | None = None) -> Series:
        """Declare Wilder's relative strength index of ``source`` over ``period`` changes,
        from 0 to 100: NaN for the first ``period`` bars (it needs ``period`` changes, so
        ``period + 1`` bars); 100 while the average loss is 0, 50 if the average gain is 0
        too.

        Call it once, in ``on_start``, and keep the series: the driver keeps it current, and
        every call declares one more indicator. ``period`` must be an int >= 1 and
        ``source`` finite on every bar (an indicator still warming up is refused with
        ``ValueError``); ``bars.close`` by default.
        """
        src = source or self.bars.close
        return self._one(f"rsi({period})", [src], lambda a: ind.rsi(a, period),
                         lambda: ind.RSI(period), plot="panel")

    def atr(self, period: int = 14) -> Series:
        """Declare Wilder's average true range over ``period`` bars of ``bars`` (high, low
        and previous close), in price units: NaN for the first ``period - 1`` bars. The
        first bar's true range is its high minus its low. Call it once, in ``on_start``, and
        keep the series; ``period`` must be an int >= 1.

        ```python
        # self.atr = ctx.atr(14) in on_start
        ctx.buy(stop_loss=ctx.bars.close[0] - 2 * self.atr[0])
        ```
        """
        return self._one(f"atr({period})", [self.bars.high, self.bars.low, self.bars.close],
                         lambda h, lo, c: ind.atr(h, lo, c, period), lambda: ind.ATR(period),
                         plot="panel")

    def bollinger(self, period: int = 20, k: float = 2.0,
                  source: Series | None = None) -> tuple[Series, Series, Series]:
        """(middle, upper, lower)."""
        src = source or self.bars.close
        mid, up, lo = self._derive(
            f"bollinger({period},{k})", [src], lambda a: ind.bollinger(a, period, k),
            lambda: ind.Bollinger(period, k), 3)
        return mid, up, lo

    def donchian(self, period: int) -> tuple[Series, Series, Series]:
        """(upper, lower, middle) over the window ending at the current bar."""
        up, lo, mid = self._derive(
            f"donchian({period})", [self.bars.high, self.bars.low],
            lambda h, lo_: ind.donchian(h, lo_, period), lambda: ind.Donchian(period), 3)
        return up, lo, mid

    def crossover(self, a: Series, b: Series) -> Series:
        """+1 on the bar ``a`` crosses above ``b``, -1 below, else 0 (see ``indicators``)."""
        return self._one(f"crossover({a.name},{b.name})", [a, b],
                         lambda x, y: ind.crossover(x, y),
                         lambda: ind.Crossover(), plot=False)

    @overload
    def indicator(self, fn: Callable[..., Any], *inputs: Series, name: str | None = ...,
                  window: int | None = ..., incremental: Callable[[], Any] | None = ...,
                  outputs: Literal[1] = ..., plot: PlotHint = ...,
                  **kwargs: Any) -> Series: ...

    @overload
    def indicator(self, fn: Callable[..., Any], *inputs: Series, name: str | None = ...,
                  window: int | None = ..., incremental: Callable[[], Any] | None = ...,
                  outputs: int, plot: PlotHint = ...,
                  **kwargs: Any) -> tuple[Series, ...]: ...

    def indicator(self, fn: Callable[..., Any], *inputs: Series, name: str | None = None,
                  window: int | None = None, incremental: Callable[[], Any] | None = None,
                  outputs: int = 1, plot: PlotHint = True,
                  **kwargs: Any) -> Series | tuple[Series, ...]:
        """A custom indicator: ``fn(*arrays, **kwargs)`` over ``inputs`` (default: the close).

        ``fn`` takes numpy float arrays and returns one array as long as them (``outputs``
        arrays for several lines), NaN while warming up; its value at bar *i* must depend on
        bars up to *i* only. Backtests call it once over the whole history (vectorized) and
        recompute a few bars from the data up to them, refusing a function that looks ahead.
        Live, ``incremental`` (a factory of an object whose ``update(*values)`` returns the
        new value, as the classes of ``indicators``) keeps it in O(1); without it, ``fn`` is
        recomputed each bar over the last ``window`` bars (all bars so far when None: exact
        but O(n) per bar), so give ``window`` when ``fn`` needs only that many.

        ``plot`` places it in the HTML report: ``"overlay"`` over the price, ``"panel"`` in a
        panel below it, ``False`` not at all; ``True`` (the default) decides from its values
        (near the price: overlay, else a panel).

        ``ctx.indicator(talib.SMA, timeperiod=20)``;
        ``ctx.indicator(lambda h, lo: (h - lo) / lo, ctx.bars.high, ctx.bars.low, window=1)``.
        """
        if outputs < 1:
            raise ValueError(f"outputs must be >= 1, got {outputs}")
        if window is not None and window < 1:
            raise ValueError(f"window must be a number of bars >= 1, got {window}")
        if plot not in (True, False, "overlay", "panel"):
            raise ValueError(f"plot must be 'overlay', 'panel', True or False, got {plot!r}")
        sources = list(inputs) or [self.bars.close]
        label = name or (f"{getattr(fn, '__name__', 'indicator')}"
                         f"({','.join(s.name for s in sources)})")

        def vectorized(*arrays: FloatArray) -> Any:
            columns = _columns(label, fn(*arrays, **kwargs), outputs, len(arrays[0]))
            _check_causal(label, fn, kwargs, arrays, columns, window)
            return columns[0] if outputs == 1 else columns

        def live() -> Any:
            return _Recompute(fn, kwargs, len(sources), window, outputs)

        series = self._derive(label, sources, vectorized, incremental or live, outputs, plot)
        return series[0] if outputs == 1 else tuple(series)

    # --- portfolio -------------------------------------------------------------------------
    # Numbers a strategy decides with are floats, like the prices and indicators they meet
    # (``ctx.equity * 0.02 / ctx.bars.close[0]`` must just work, as in backtesting.py); the
    # engine keeps them exact (integer lots and money units) and the ``*_exact`` twins give
    # them as ``Decimal``. A float never flows back into stored or reported money: an order's
    # quantity is rounded down to whole lots at its creation, its prices to ticks.
    @property
    @abstractmethod
    def position_lots(self) -> int:
        """Signed position in lots of the instrument (exact)."""

    @abstractmethod
    def _cash_units(self) -> int:
        """The driver's part of ``cash``: integer money units (tick × lot)."""

    @abstractmethod
    def _equity_units(self) -> int:
        """The driver's part of ``equity``: cash plus the position at the current close."""

    @abstractmethod
    def _ledger(self) -> LedgerLike:
        """The driver's part of ``position_view`` and ``closed_trades``: this strategy's
        ledger (position, round trips), from its fills only."""

    @abstractmethod
    def _mark_ticks(self) -> int:
        """The current bar's close in ticks (what ``equity`` marks the position at)."""

    @property
    def position(self) -> float:
        """Signed position in units of the instrument (lots × lot size), as a float for
        decision maths (``ctx.position * ctx.bars.close[0]`` is the position's value);
        ``position_exact`` is the exact ``Decimal``, ``position_lots`` the exact lots.
        Giving it back as an order quantity is exact: ``ctx.sell(ctx.position)`` sells the
        whole position (a float quantity is rounded down to whole lots only when it is not
        already a multiple of the lot size)."""
        return self._exact.quantity(self.position_lots)

    @property
    def position_exact(self) -> Decimal:
        """``position`` exactly, as a ``Decimal`` at the lot size's precision."""
        return self.instrument.quantity(self.position_lots)

    @property
    def is_flat(self) -> bool:
        """True when the strategy holds no position in ``instrument``
        (``position_lots == 0``). The position moves only on fills: an order placed in
        ``on_bar`` changes it once it fills, never within that ``on_bar``."""
        return self.position_lots == 0

    @property
    def is_long(self) -> bool:
        """True when the strategy holds a long position (``position_lots > 0``)."""
        return self.position_lots > 0

    @property
    def is_short(self) -> bool:
        """True when the strategy holds a short position (``position_lots < 0``)."""
        return self.position_lots < 0

    @property
    def cash(self) -> float:
        """The strategy's own cash in the instrument's currency, as a float for decision
        maths: the run's initial cash (its own capital in a portfolio); each fill moves it by
        price × quantity (paid for a buy, received for a sell, shorts included) and takes its
        commission. Open orders reserve none of it; ``equity`` adds the position at the
        current close. The engine keeps it exact: ``cash_exact`` is that ``Decimal``."""
        return self._exact.money(self._cash_units())

    @property
    def cash_exact(self) -> Decimal:
        """``cash`` exactly, as a ``Decimal`` (a multiple of tick size × lot size)."""
        return self.instrument.money(self._cash_units())

    @property
    def equity(self) -> float:
        """Cash plus the position marked at the current close, as a float for decision
        maths; ``equity_exact`` is the exact ``Decimal`` the reports use.

        ```python
        # risk 2 % of equity per trade, sized in units of the instrument
        quantity = ctx.equity * 0.02 / ctx.bars.close[0]
        ctx.buy(quantity)  # rounded down to whole lots at order creation
        ```
        """
        return self._exact.money(self._equity_units())

    @property
    def equity_exact(self) -> Decimal:
        """``equity`` exactly, as a ``Decimal``."""
        return self.instrument.money(self._equity_units())

    @property
    def position_view(self) -> PositionView:
        """A frozen snapshot of the position: signed ``lots`` and ``quantity``, the average
        ``entry_price``, ``entry_ts`` and the open ``pnl`` at the current close (see
        ``PositionView``). Both drivers compute it from the strategy's fills alone."""
        ledger, mark = self._ledger(), self._mark_ticks()
        trade = ledger.open_trade
        # rebuilt only when the position or the mark moved (read on every bar, often)
        state = (ledger.position, mark) if trade is None else (
            ledger.position, mark, trade.entry_ts, trade.entry_value, trade.exit_value,
            trade.commission)
        cached = self._position_view
        if cached is None or cached[0] != state:
            cached = self._position_view = (
                state, PositionView.of(self.instrument, ledger, mark, self._exact))
        return cached[1]

    @property
    def closed_trades(self) -> tuple[TradeView, ...]:
        """The strategy's closed round trips (flat to flat), oldest first, as frozen
        ``TradeView`` snapshots: side, size, average entry and exit prices, times and net
        P&L. The open one, if any, is ``position_view``. A backtest and a replayed session
        list the same trades (in a session, those since the process started).

        ```python
        losses = sum(1 for t in ctx.closed_trades[-3:] if t.pnl < 0)
        if losses == 3:
            return  # three losses in a row: sit this bar out
        ```
        """
        return self._trades.of(self._ledger())

    # --- orders ----------------------------------------------------------------------------
    def submit_order(
        self,
        side: Side,
        quantity: Price | None = None,
        *,
        order_type: OrderType = OrderType.MARKET,
        limit: Price | None = None,
        stop: Price | None = None,
        tif: TimeInForce = TimeInForce.GTC,
        stop_loss: Price | None = None,
        take_profit: Price | None = None,
        reduce_only: bool = False,
        tag: str = "",
    ) -> str:
        """Place an order; returns its id (a refused order gets a ``rejected`` event)."""
        return self._place(OrderSpec(side, quantity, order_type, limit, stop, tif, stop_loss,
                                     take_profit, reduce_only, tag))

    @abstractmethod
    def _place(self, spec: OrderSpec) -> str:
        """The driver's part of ``submit_order``."""

    def buy(self, quantity: Price | None = None, *, limit: Price | None = None,
            stop: Price | None = None, tif: TimeInForce = TimeInForce.GTC,
            stop_loss: Price | None = None, take_profit: Price | None = None,
            tag: str = "") -> str:
        """Buy; the order type follows from ``limit``/``stop`` (both: stop-limit)."""
        # straight to the driver (what ``submit_order`` does): keywords cost per order
        return self._place(OrderSpec(Side.BUY, quantity, _order_type(limit, stop), limit, stop,
                                     tif, stop_loss, take_profit, False, tag))

    def sell(self, quantity: Price | None = None, *, limit: Price | None = None,
             stop: Price | None = None, tif: TimeInForce = TimeInForce.GTC,
             stop_loss: Price | None = None, take_profit: Price | None = None,
             tag: str = "") -> str:
        """Sell; returns the order's id. The order type follows from ``limit``/``stop``
        (both: stop-limit), as for ``buy``. Selling more than the long position, or while
        flat, opens or adds to a short: use ``close`` to only flatten. ``quantity`` is in
        units of the instrument; ``None`` uses the run's sizer (all-in: while long, exactly
        the long position). ``stop_loss`` and ``take_profit`` set the exits of the position
        it opens (for a short: the stop above the entry, the target below).

        ```python
        if ctx.is_long:  # half the position, resting 5 % above the close
            ctx.sell(ctx.position / 2, limit=ctx.bars.close[0] * 1.05)
        ```
        """
        return self._place(OrderSpec(Side.SELL, quantity, _order_type(limit, stop), limit,
                                     stop, tif, stop_loss, take_profit, False, tag))

    def close(self, tag: str = "close") -> str | None:
        """Flatten with a market order; ``None`` when already flat."""
        lots = self.position_lots
        if lots == 0:
            return None
        side = Side.SELL if lots > 0 else Side.BUY
        lot_size = self.instrument.lot_size
        qty: Price = abs(lots) if lot_size == 1 else abs(lots) * lot_size
        return self._place(OrderSpec(side, qty, _MARKET, None, None, _GTC, None, None, True,
                                     tag))

    @abstractmethod
    def cancel(self, order_id: str) -> bool:
        """Cancel an open order; False when it is unknown or no longer open."""

    @abstractmethod
    def _open_orders(self) -> list[Order]:
        """The driver's part of ``open_orders``: the engine's open orders, oldest first."""

    @property
    def open_orders(self) -> list[OrderView]:
        """The strategy's orders that are still open (not yet filled, cancelled, expired,
        rejected or denied), oldest first, as frozen ``OrderView`` snapshots in a new list:
        cancelling while looping over it is safe, and assigning a field raises (an order
        changes only by the engine applying events). The same rule in a backtest and a
        session: the orders the strategy placed and those placed for it — the exits of its
        entries (``stop_loss`` / ``take_profit``, the risk settings' stops, a trailing
        stop's next generation; their ``parent_id`` is set) and a risk rule's close (time
        exit, flatten). A session learns of the latter from the journal; those from before
        a restart are not listed.

        ```python
        for order in ctx.open_orders:
            if order.tag == "entry":
                ctx.cancel(order.id)
        ```
        """
        # A view is rebuilt only when its order changed: strategies often read the list on
        # every bar while a bracket rests, and building a view costs some microseconds.
        cache = self._order_views
        exact = self._exact
        views = []
        for order in self._open_orders():
            # what the engine may change on an open order: status, fills, size, exits
            hit = cache.get(order.id)
            if hit is None or hit[1] is not order.bracket or (
                    (view := hit[0]).status is not order.status
                    or view.filled_lots != order.filled_lots or view.lots != order.lots):
                hit = cache[order.id] = (OrderView.of(order, exact), order.bracket)
            views.append(hit[0])
        if len(cache) > 2 * len(views) + 32:  # forget the closed orders now and then
            live = {view.id for view in views}
            self._order_views = {k: v for k, v in cache.items() if k in live}
        return views

    @abstractmethod
    def log(self, event: str, **fields: Any) -> None:
        """A structured decision log entry tagged with strategy, instrument and bar time."""


_MARKET = OrderType.MARKET
_GTC = TimeInForce.GTC


def _order_type(limit: Price | None, stop: Price | None) -> OrderType:
    if limit is None:
        return _MARKET if stop is None else OrderType.STOP
    return OrderType.LIMIT if stop is None else OrderType.STOP_LIMIT
