"""The feed's small pure checks and conversions (bar rules, log sampling, excerpts)."""

from __future__ import annotations

from collections.abc import Sequence

from trading_strategy.core.bars import Bar, BarSeries
from trading_strategy.market_data.providers.base import BarEvent

_INF = float("inf")
_DAY_NS = 86_400 * 1_000_000_000


def bar_problem(event: BarEvent, timeframe: str | None, tf_ns: int) -> str | None:
    """Why a bar event cannot be delivered on a feed of ``timeframe`` bars (``tf_ns``: their
    length, 0 when unchecked), or ``None``."""
    bar = event.bar
    if not isinstance(bar, Bar):
        return "bar event without a Bar"
    if event.timeframe != timeframe:
        return f"a {event.timeframe!r} bar on a {timeframe!r} feed"
    o, h, lo, c, v = bar.open, bar.high, bar.low, bar.close, bar.volume
    # written so that NaN fails every comparison
    if not (0.0 < lo <= o <= h < _INF and lo <= c <= h and 0.0 <= v < _INF):
        return f"impossible OHLCV {o} {h} {lo} {c} {v}"
    ts = bar.ts_event
    if type(ts) is not int:
        return f"bar time {ts!r} is not integer nanoseconds"
    if tf_ns and tf_ns <= _DAY_NS and ts % tf_ns:
        return f"bar time {ts} is not on a {timeframe} boundary"
    return None


def power_of_ten(n: int) -> bool:
    while n % 10 == 0:
        n //= 10
    return n == 1


def excerpt(event: object) -> str:
    try:
        text = repr(event)
    except Exception:
        text = f"<unprintable {type(event).__name__}>"
    return text[:200]


def bar_rows(bars: BarSeries | Sequence[Bar], symbol: str) -> list[Bar]:
    if isinstance(bars, BarSeries):
        return [Bar(symbol, int(bars.ts[i]), float(bars.open[i]), float(bars.high[i]),
                    float(bars.low[i]), float(bars.close[i]), float(bars.volume[i]))
                for i in range(len(bars))]
    return sorted((b for b in bars if isinstance(b, Bar)), key=lambda b: b.ts_event)

