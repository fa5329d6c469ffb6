"""The backtest report: one JSON-ready dict, deterministic for the same inputs.

Keys: ``strategy``, ``params``, ``data``, ``settings``, ``metrics``, ``trades``,
``equity_curve`` (and ``buy_and_hold``, ``orders``, ``risk``). Money and prices are exact
decimals rendered as JSON numbers (the shortest float that reads back to the same decimal).

``trades`` lists every trade, the one still open at the end included (``exit_time`` null,
P&L marked at the last close); ``metrics.trades`` counts the closed ones the statistics
use and ``metrics.open_trades`` the open ones, so the two always add up to ``len(trades)``.
``settings.annualisation`` says how many bars make a year and why (calendar rule or
override); ``orders.rejections`` counts refused orders by reason (``zero_size``: the size
rounded to zero lots).

``equity_curve`` is an :class:`EquityCurve`: a sequence of ``{"time", "equity"}`` dicts to
its readers, held as arrays, so a million-bar report formats its timestamps and writes its
JSON in a few vectorized calls instead of a Python object per bar.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any, BinaryIO, SupportsIndex, overload

import numpy as np
import numpy.typing as npt

from trading_strategy._version import __version__
from trading_strategy.backtesting.runner import BacktestResult, annualisation
from trading_strategy.core.bars import format_ts
from trading_strategy.core.enums import OrderStatus
from trading_strategy.core.timeframe import Timeframe

_EXTRA_DECIMALS = Decimal("1e-10")


def number(value: Decimal) -> float | int:
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def _avg_price(value_ticks: int, lots: int, tick: Decimal) -> float | int:
    price = (Decimal(value_ticks) / Decimal(lots) * tick).quantize(_EXTRA_DECIMALS)
    return number(price.normalize())


class _Numbers:
    """``number(units * unit)`` for one unit (a tick, a lot, a money unit), and the
    average price of ``_avg_price``, without a Decimal per value when the unit is 10**-k:
    then a whole number of units is ``units // 10**k`` exactly, and any other is the float
    ``units / 10**k`` — one correctly rounded division of two exact doubles, the same
    float as the Decimal's (below 2**53). A report has several numbers per trade, and a
    million-bar run some tens of thousands of trades."""

    __slots__ = ("_scale", "_unit")

    def __init__(self, unit: Decimal) -> None:
        self._unit = unit
        digits = money_decimals(unit)
        self._scale: int | None = None if digits is None or digits > 10 else int(10**digits)

    def __call__(self, units: int) -> float | int:
        scale = self._scale
        if scale is None or not -_EXACT < units < _EXACT:
            return number(units * self._unit)
        whole, rest = divmod(units, scale)
        return whole if rest == 0 else units / scale

    def average(self, value: int, count: int) -> float | int:
        """``_avg_price(value, count, unit)``."""
        if self._scale is None or value % count:
            return _avg_price(value, count, self._unit)
        return self(value // count)  # exact: no digits for quantize to cut (10 or fewer)


_EXACT = 2**53


def build_report(result: BacktestResult) -> dict[str, Any]:
    engine = result.engine
    bars = engine.bars
    inst = bars.instrument
    tf = bars.timeframe
    settings = engine.settings
    ledger = engine.ledger
    last_close = int(engine.close_t[-1])
    annual = result.annualisation or annualisation(bars, settings)

    # the trades' times, formatted in two array calls rather than one datetime each
    entry_times = format_ts_array(np.array([t.entry_ts for t in ledger.trades],
                                           dtype=np.int64), tf).tolist()
    exit_times = format_ts_array(np.array([t.exit_ts or 0 for t in ledger.trades],
                                          dtype=np.int64), tf).tolist()
    trades = []
    quantity, price, money = (_Numbers(inst.lot_size), _Numbers(inst.tick_size),
                              _Numbers(inst.money_unit))
    for t, entry_time, exit_time in zip(ledger.trades, entry_times, exit_times, strict=True):
        is_open = t.is_open
        pnl = t.pnl(last_close if is_open else None)
        trades.append({
            "side": "long" if t.direction > 0 else "short",
            "quantity": quantity(t.entry_lots),
            "entry_time": entry_time,
            "entry_price": price.average(t.entry_value, t.entry_lots),
            "exit_time": None if is_open else exit_time,
            "exit_price": None if is_open else price.average(t.exit_value, t.exit_lots),
            "pnl": money(pnl),
            "return": round(pnl / t.entry_value, 12),
            "commission": money(t.commission),
        })

    equity_curve = EquityCurve(bars.ts, tf, result.equity,
                               decimals=money_decimals(inst.money_unit))
    metrics: dict[str, Any] = {}
    for key, value in result.metrics.as_dict().items():
        metrics[key] = value
        if key == "trades":  # right after the closed count, so the two read together
            metrics["open_trades"] = sum(1 for t in ledger.trades if t.is_open)
    metrics["final_equity"] = number(inst.money(int(result.equity_units[-1])))
    first_close, last = float(bars.close[0]), float(bars.close[-1])
    statuses: dict[str, int] = {}
    for order in engine.state.closed_orders + [o for o in engine.orders if o.is_open]:
        statuses[order.status.value] = statuses.get(order.status.value, 0) + 1
    report: dict[str, Any] = {
        "strategy": engine.strategy_name,
        "params": engine.params.model_dump(mode="json"),
        "data": {
            "symbol": inst.symbol,
            "timeframe": str(tf),
            "start": format_ts(bars.start, tf),
            "end": format_ts(bars.end, tf),
            "bars": len(bars),
        },
        "settings": {
            "initial_cash": number(settings.initial_cash),
            "commission": settings.commission.describe(),
            "slippage": settings.slippage.describe(),
            "size": str(settings.size),
            "fill_model": {
                "market_orders": "next bar open",
                "latency_bars": settings.latency_bars,
                "latency_ms": settings.latency_ms,
                "intrabar": "pessimistic: stop before target",
                "volume_participation": None if settings.volume_participation is None
                else float(settings.volume_participation),
            },
            "periods_per_year": result.periods_per_year,
            "annualisation": annual.as_dict(),
            "risk_free_rate": settings.risk_free_rate,
            "tick_size": number(inst.tick_size),
            "lot_size": number(inst.lot_size),
            "indicator_mode": settings.indicator_mode.value,
            "version": __version__,
        },
        "metrics": metrics,
        "buy_and_hold": {"total_return": last / first_close - 1.0},
        "orders": {
            "submitted": engine._seq,
            "by_status": dict(sorted(statuses.items())),
            "rejections": dict(sorted(engine.state.rejections.items())),
            "filled": statuses.get(OrderStatus.FILLED.value, 0),
            "fills": len(engine.state.fills),
        },
        "trades": trades,
        "equity_curve": equity_curve,
    }
    if result.risk is not None:
        report["risk"] = result.risk.report(engine)
    return report


_NS_PER_S = 1_000_000_000
_NS_PER_US = 1_000
_NS_PER_DAY = 86_400 * _NS_PER_S
StrArray = npt.NDArray[np.str_]
Bytes2D = npt.NDArray[np.uint8]


def format_ts_array(ts: npt.NDArray[np.int64], timeframe: Timeframe | None) -> StrArray:
    """``format_ts`` of every element of ``ts`` (UTC ns), in a few array operations: a
    plain date for daily and slower bars, else ISO time with a ``Z`` (microseconds only
    when not zero)."""
    text = _ts_bytes(np.asarray(ts, dtype=np.int64), timeframe)
    return text.view(f"S{text.shape[1]}").ravel().astype(np.str_)


def _ts_bytes(ts: npt.NDArray[np.int64], timeframe: Timeframe | None) -> Bytes2D:
    """The ``format_ts`` text of each element as one row of ASCII bytes (NUL-padded)."""
    daily = timeframe is not None and not timeframe.is_intraday
    days, rest = np.divmod(ts, _NS_PER_DAY)
    years = _civil(np.array([days.min(), days.max()]))[0] if ts.size else np.ones(1)
    fraction = (rest % _NS_PER_S) // _NS_PER_US
    if years.min() < 1 or years.max() > 9999 or (not daily and fraction.any()):
        # beyond four-digit years, or microseconds to show: numpy's formatter, row by row
        moments = ts.astype("datetime64[ns]")
        if daily:
            text = np.datetime_as_string(moments, unit="D")
        else:
            text = np.datetime_as_string(moments, unit="s")
            text = np.where(fraction != 0, np.datetime_as_string(moments, unit="us"), text)
            text = np.strings.add(text, "Z")
        raw = text.astype(np.bytes_)
        return raw.view(np.uint8).reshape(len(raw), raw.dtype.itemsize)
    out = np.empty((ts.size, 10 if daily else 20), dtype=np.uint8)
    if ts.size == 0:
        return out
    # bars are few days and few times of day, repeated: format each once, then index
    first = int(days.min())
    span = np.arange(first, int(days.max()) + 1, dtype=np.int64)
    if span.size <= ts.size:
        out[:, :10] = _date_bytes(span)[days - first]
    else:
        out[:, :10] = _date_bytes(days)
    if not daily:
        out[:, 10] = ord("T")
        out[:, 11:19] = _clock_bytes()[rest // _NS_PER_S]
        out[:, 19] = ord("Z")
    return out


def _date_bytes(days: npt.NDArray[np.int64]) -> Bytes2D:
    year, month, day = _civil(days)
    out = np.empty((days.size, 10), dtype=np.uint8)
    _put_digits(out, 0, year, 4)
    _put_digits(out, 5, month, 2)
    _put_digits(out, 8, day, 2)
    out[:, 4] = out[:, 7] = ord("-")
    return out


_CLOCK: list[Bytes2D] = []


def _clock_bytes() -> Bytes2D:
    """"HH:MM:SS" of every second of a day, one row each (built once)."""
    if not _CLOCK:
        seconds = np.arange(86_400, dtype=np.int64)
        out = np.empty((seconds.size, 8), dtype=np.uint8)
        _put_digits(out, 0, seconds // 3600, 2)
        _put_digits(out, 3, seconds // 60 % 60, 2)
        _put_digits(out, 6, seconds % 60, 2)
        out[:, 2] = out[:, 5] = ord(":")
        _CLOCK.append(out)
    return _CLOCK[0]


def _civil(days: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], ...]:
    """Proleptic Gregorian (year, month, day) of days since 1970-01-01 (H. Hinnant's
    ``civil_from_days``), vectorized."""
    z = days + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2)
    return year, month, day


def _put_digits(out: Bytes2D, col: int, value: npt.NDArray[np.int64], width: int) -> None:
    for i in range(width - 1, -1, -1):
        out[:, col + i] = 48 + value % 10
        value = value // 10


def _float_bytes(values: npt.NDArray[np.float64], decimals: int | None) -> Bytes2D:
    """``repr`` of each float as one row of ASCII bytes, NULs anywhere being padding.

    Money is a whole number of 10**-decimals: such a float with at most 15 significant
    digits is the nearest double to that decimal, so its shortest repr is the decimal
    itself, written here digit by digit; other values (and |x| outside [1e-4, 1e16),
    where repr switches to exponents) go through numpy's shortest-repr formatter.
    """
    n = values.size
    fast = np.zeros(n, dtype=bool)
    if decimals is not None and 0 <= decimals <= 12:
        scale = float(10 ** decimals)
        units = np.rint(values * scale)
        magnitude = np.abs(values)
        fast = ((units / scale == values) & (np.abs(units) < 1e15)
                & ((magnitude >= 1e-4) | ((values == 0) & ~np.signbit(values))))
    k = max(decimals or 0, 1)
    out = np.zeros((n, 1), dtype=np.uint8)
    if fast.any():
        whole = np.where(fast, units, 0).astype(np.int64)
        negative = whole < 0
        step = 10 ** (decimals or 0)
        integer, frac = np.divmod(np.abs(whole), step)
        width = len(str(int(integer.max())))
        # int32 division is several times faster than int64 (money rarely needs more)
        if width < 10:
            integer = integer.astype(np.int32)
        if (decimals or 0) < 10:
            frac = frac.astype(np.int32)
        # columns: sign, integer digits (leading zeros blank, one stays), ".", fraction
        # (trailing zeros blank, one stays)
        out = np.zeros((n, 2 + width + k), dtype=np.uint8)
        out[:, 0] = np.where(negative, ord("-"), 0)
        for j in range(width):
            power = 10 ** (width - 1 - j)
            digit = (48 + integer // power % 10).astype(np.uint8)
            out[:, 1 + j] = digit if j == width - 1 else np.where(integer >= power, digit, 0)
        out[:, 1 + width] = ord(".")
        if not decimals:
            out[:, 2 + width] = ord("0")
        for j in range(decimals or 0):
            power = 10 ** (decimals - 1 - j)  # type: ignore[operator]
            digit = (48 + frac // power % 10).astype(np.uint8)
            keep = frac % (power * 10) != 0
            out[:, 2 + width + j] = digit if j == 0 else np.where(keep, digit, 0)
        if not negative.any():
            out = out[:, 1:]
        if fast.all():
            return out
    slow = np.flatnonzero(~fast)
    text = values[slow].astype(np.bytes_)
    width = text.dtype.itemsize
    if width > out.shape[1]:
        out = np.concatenate([out, np.zeros((n, width - out.shape[1]), np.uint8)], axis=1)
    out[slow] = 0
    out[slow, :width] = text.view(np.uint8).reshape(len(slow), width)
    return out


class EquityCurve(list[dict[str, Any]]):
    """The report's equity curve: bar times (UTC ns) and equity after each bar.

    A read-only list of ``{"time": str, "equity": float}`` to its readers (indexing,
    iteration, ``len``, equality with a list; ``json.dumps`` of a report works too, one
    point at a time) that holds arrays: ``dumps`` writes it with :meth:`json_text`, byte
    for byte what ``json.dumps`` makes of it. ``decimals`` (the money unit's, when it is a
    power of ten) lets the text be written from whole money units.
    """

    __slots__ = ("_times", "decimals", "equity", "timeframe", "ts")

    def __init__(self, ts: npt.NDArray[np.int64], timeframe: Timeframe | None,
                 equity: npt.NDArray[np.float64], *, decimals: int | None = None) -> None:
        super().__init__()  # the list itself stays empty: the arrays are the points
        if len(ts) != len(equity):
            raise ValueError("an equity curve needs one time per equity value")
        self.ts = np.asarray(ts, dtype=np.int64)
        self.timeframe = timeframe
        self.equity = np.asarray(equity, dtype=np.float64)
        self.decimals = decimals
        self._times: StrArray | None = None

    @property
    def times(self) -> StrArray:
        """The report's time text of each point."""
        if self._times is None:
            self._times = format_ts_array(self.ts, self.timeframe)
        return self._times

    def __len__(self) -> int:
        return len(self.ts)

    @overload
    def __getitem__(self, index: SupportsIndex) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: SupportsIndex | slice
                    ) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return {"time": format_ts(int(self.ts[index]), self.timeframe),
                "equity": float(self.equity[index])}

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for time, equity in zip(self.times.tolist(), self.equity.tolist(), strict=True):
            yield {"time": time, "equity": equity}

    def __reversed__(self) -> Iterator[dict[str, Any]]:
        points: list[dict[str, Any]] = [*self]
        return iter(points[::-1])

    def __contains__(self, item: object) -> bool:
        return any(point == item for point in self)

    def __reduce__(self) -> tuple[Any, ...]:  # copy and pickle: the arrays, not the list
        return (_curve, (self.ts, self.timeframe, self.equity, self.decimals))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, EquityCurve):
            return bool(np.array_equal(self.times, other.times)
                        and np.array_equal(self.equity, other.equity))
        if isinstance(other, Sequence) and not isinstance(other, str):
            return len(self) == len(other) and list(self) == list(other)
        return NotImplemented

    __hash__ = None

    def __repr__(self) -> str:
        return f"EquityCurve({len(self)} points)"

    def json_text(self) -> str:
        """The JSON array text, as ``json.dumps(list(self), separators=(",", ":"))``."""
        return b"".join(self.json_pieces()).decode("ascii")

    def json_pieces(self) -> Iterator[bytes]:
        """:meth:`json_text` as ASCII bytes, in pieces of some thousands of points: a
        million-point curve is written to a file without ever being one string."""
        n = len(self)
        if n == 0:
            yield b"[]"
            return
        if not np.isfinite(self.equity).all():
            raise ValueError("Out of range float values are not JSON compliant")
        yield b"["
        # in slices, so the byte matrices stay small beside the text
        for lo in range(0, n, _JSON_ROWS):
            hi = min(lo + _JSON_ROWS, n)
            rows = self._json_rows(lo, hi)
            yield rows if hi < n else rows[:-1]  # no comma after the last point
        yield b"]"

    def _json_rows(self, lo: int, hi: int) -> bytes:
        n = hi - lo
        pieces = [_const(b'{"time":"', n), _ts_bytes(self.ts[lo:hi], self.timeframe),
                  _const(b'","equity":', n), _float_bytes(self.equity[lo:hi], self.decimals),
                  _const(b"},", n)]
        # one row per point; NUL bytes are padding (JSON text never holds one)
        flat = np.concatenate(pieces, axis=1).ravel()
        text: bytes = flat[flat != 0].tobytes()
        return text


_JSON_ROWS = 131_072


def _curve(ts: npt.NDArray[np.int64], timeframe: Timeframe | None,
           equity: npt.NDArray[np.float64], decimals: int | None) -> EquityCurve:
    return EquityCurve(ts, timeframe, equity, decimals=decimals)


def _const(text: bytes, n: int) -> Bytes2D:
    return np.broadcast_to(np.frombuffer(text, dtype=np.uint8), (n, len(text)))


def money_decimals(unit: Decimal) -> int | None:
    """k when the money unit is 10**-k (the common case), else None."""
    sign, digits, exponent = unit.normalize().as_tuple()
    if sign == 0 and digits == (1,) and isinstance(exponent, int) and exponent <= 0:
        return -exponent
    return None


def dumps(report: dict[str, Any]) -> str:
    """Deterministic JSON text (insertion order, no NaN)."""
    return b"".join(json_pieces(report)).decode("ascii")


def write_json(report: dict[str, Any], stream: BinaryIO) -> None:
    """``dumps(report)`` written to a binary ``stream`` piece by piece (UTF-8, which is
    ASCII here): a million-bar report never becomes one string, nor several copies of it."""
    for piece in json_pieces(report):
        stream.write(piece)


_SCALARS = frozenset({str, int, float, bool, type(None)})


def json_pieces(report: dict[str, Any]) -> Iterator[bytes]:
    """The text of :func:`dumps` as ASCII bytes, in pieces (equity curves in slices)."""
    curves: list[EquityCurve] = []
    # a fresh token per call: no text in the report can spell a placeholder
    token = secrets.token_hex(16)

    def swap(obj: Any) -> Any:
        """``obj`` with each curve replaced by its placeholder; a container holding none
        is returned as it is, not copied (a report has tens of thousands of trades)."""
        if isinstance(obj, EquityCurve):
            curves.append(obj)
            return f"{token}:{len(curves) - 1}"
        items = obj.items() if isinstance(obj, dict) else enumerate(obj)
        copy: Any = None
        for key, value in items:
            # ``type`` first: almost every value is a number or a text (one check each)
            if type(value) not in _SCALARS and isinstance(value, dict | list | tuple):
                new = swap(value)
                if new is not value:
                    if copy is None:
                        copy = dict(obj) if isinstance(obj, dict) else list(obj)
                    copy[key] = new
        return obj if copy is None else copy

    # ensure_ascii (json's default) makes the text ASCII: its bytes are its UTF-8
    text = json.dumps(swap(report), allow_nan=False, separators=(",", ":"))
    for i, curve in enumerate(curves):
        before, sep, text = text.partition(f'"{token}:{i}"')
        if not sep:  # a curve json.dumps did not write (a dict key?): none to put back
            text = before
            continue
        yield before.encode("ascii")
        yield from curve.json_pieces()
    yield text.encode("ascii") + b"\n"
