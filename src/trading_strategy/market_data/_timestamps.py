"""Timestamp columns for the file loader: epochs, ISO-8601 and formatted dates.

:class:`_Stamps` decides once per file how its timestamp column is read (integer epochs
scaled by magnitude, ISO-8601 text, or a strptime-style format given or detected by
:mod:`._dates`; a separate time-of-day column; ``--tz``). The ISO path parses a whole
column with numpy when the text is uniform and falls back to ``datetime.fromisoformat``
per row, which names a bad value. Also used for Parquet text and integer columns.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from datetime import UTC, datetime
from itertools import repeat
from operator import itemgetter

import numpy as np

from trading_strategy.core.bars import IntArray, datetime_to_ns
from trading_strategy.core.errors import ConfigError
from trading_strategy.market_data._columns import _BadValue
from trading_strategy.market_data._dates import (
    DateFormat,
    compile_format,
    detect_format,
    localize,
    looks_like_time,
    parse_with,
    time_format,
    zone,
)
from trading_strategy.market_data.formats import FileFormat

_INT64_MAX = int(np.iinfo(np.int64).max)
_NAT = np.iinfo(np.int64).min  # how numpy stores NaT
_INTEGER = re.compile(r"\s*[+-]?\d+\s*")
_OFFSET = re.compile(r"[+-]\d\d:\d\d")
_TIMESTAMP_HINT = (
    "expected a date or ISO-8601 time (2024-01-31, 2024-01-31T09:30:00Z, "
    "2024-01-31T09:30:00+02:00) or an integer epoch; other forms: --date-format or "
    "--preset (docs/data.md)"
)


class _Stamps:
    """How the timestamp column is read: decided on the first rows, held for the file.

    Integer epochs, ISO-8601, or a strptime-style format (given, or detected for common
    non-ISO dates); plus a separate time-of-day column when there is one, and ``--tz``.
    """

    def __init__(self, fmt: FileFormat, source: str, notes: list[str]) -> None:
        self._fmt = fmt
        self._notes = notes
        self._kind = ""  # "epoch", "iso" or "format" once decided
        self._date: DateFormat | None = None
        self._time: DateFormat | None = None
        self._time_index: int | None = None

    @property
    def kind(self) -> str:
        """``"epoch"``, ``"iso"`` or ``"format"`` once decided, else ``""``."""
        return self._kind

    @property
    def time_index(self) -> int | None:
        """The column of the time of day, when the time is a column of its own."""
        return self._time_index

    def parse(self, cells: Sequence[Sequence[str]], layout: dict[str, int]) -> IntArray:
        """One batch: raw epochs (see :meth:`finish`) or ns, as if naive times were UTC."""
        values = cells[layout["timestamp"]]
        if not self._kind:
            self.decide(values, cells, layout)
        if self._kind == "format":
            out = self.formatted(values)
        else:
            out = _parse_timestamps(values, epoch=self._kind == "epoch")
        if self._time_index is not None:
            out = out + self.time_of_day(cells[self._time_index])
        return out

    def formatted(self, values: Sequence[str]) -> IntArray:
        """Dates of the ``"format"`` kind → ns, as if naive times were UTC."""
        assert self._date is not None
        return parse_with(values, self._date)

    def time_of_day(self, values: Sequence[str]) -> IntArray:
        """The separate time-of-day column → ns since midnight."""
        assert self._time is not None
        return parse_with(values, self._time)

    def decide(self, values: Sequence[str], cells: Sequence[Sequence[str]],
               layout: dict[str, int]) -> None:
        """Decide the kind from the first batch: ``values`` is its timestamp column and
        ``cells`` its columns (only the first value of a time column is looked at)."""
        fmt, first = self._fmt, values[0].strip()
        index = layout.get("time")
        candidate = layout.get("time_candidate")
        if index is None and candidate is not None and looks_like_time(cells[candidate][0]) \
                and ":" not in first:
            index = candidate
        if index is not None:
            self._time_index = index
            spelled = fmt.time_format or time_format(cells[index][0].strip())
            self._time = compile_format(spelled, option="the time column's format")
            self._notes.append("date and time from two columns")
        if fmt.date_format is not None:
            self._kind, self._date = "format", compile_format(fmt.date_format)
        elif _is_epoch_text(first):
            self._kind = "epoch"
        elif _is_iso(first):
            self._kind = "iso"
        else:
            detected = detect_format(values, month_first=fmt.month_first)
            if detected is None:
                self._kind = "iso"  # its parser names the bad value
            else:
                self._kind, self._date = "format", compile_format(detected)
                how = "detected" if fmt.month_first is None else "month first"
                self._notes.append(f"dates read as {detected!r} ({how}; --date-format "
                                   "overrides)")
        if fmt.tz is not None:
            if self._kind == "epoch":
                raise ConfigError("--tz: the timestamps are epochs, which are UTC already; "
                                  "drop --tz")
            if first.endswith("Z") or _OFFSET.fullmatch(first[-6:]):
                raise ConfigError(f"--tz: timestamps such as {first!r} carry their own "
                                  "offset; drop --tz")

    def finish(self, ts: IntArray) -> IntArray:
        """The whole column: epochs scaled to ns, ``--tz`` wall times converted to UTC."""
        if self._kind == "epoch":
            return _scale_epochs(ts)
        if self._fmt.tz is not None:
            self._notes.append(f"times in {self._fmt.tz} converted to UTC")
            return localize(ts, zone(self._fmt.tz))
        return ts


def _is_iso(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def _is_epoch_text(value: str) -> bool:
    # Eight digits are a YYYYMMDD date: as epoch seconds they would all fall in 1970-73.
    return _INTEGER.fullmatch(value) is not None and len(value.strip().lstrip("+-")) != 8


def _parse_timestamps(values: Sequence[str], *, epoch: bool) -> IntArray:
    """Raw epoch integers (``epoch``; scale with :func:`_scale_epochs`) or UTC ns."""
    if epoch:
        try:
            return np.array(values, dtype=np.int64)
        except (ValueError, OverflowError, TypeError):
            for index, value in enumerate(values):
                if _INTEGER.fullmatch(value) is None:
                    raise _BadValue(
                        index, value, "expected an integer epoch like the first row"
                    ) from None
                if abs(int(value)) > _INT64_MAX:
                    raise _BadValue(index, value, "epoch out of range") from None
            # numpy refused a spelling int() accepts (such as surrounding spaces).
            return np.array([int(value) for value in values], dtype=np.int64)
    fast = _parse_iso_fast(values)
    return fast if fast is not None else _parse_iso_slow(values)


def _offset_ns(text: str) -> int:
    sign = -1 if text[0] == "-" else 1
    return sign * (int(text[1:3]) * 60 + int(text[4:6])) * 60_000_000_000


def _parse_iso_fast(values: Sequence[str]) -> IntArray | None:
    """Whole-column numpy parse of uniform ISO text; ``None`` → use the per-row parser.

    Handles a trailing ``Z`` or ``±HH:MM`` on every row; anything unusual (mixed suffixes,
    other offset spellings, words numpy would accept such as "now") falls back.
    """
    offset: IntArray | int = 0
    first = values[0]
    if first.endswith("Z"):
        if not all(map(str.endswith, values, repeat("Z"))):
            return None
        bodies = [value[:-1] for value in values]
    elif len(first) > 10 and _OFFSET.fullmatch(first[-6:]):
        tails = [value[-6:] for value in values]
        distinct = set(tails)
        if not all(_OFFSET.fullmatch(tail) for tail in distinct):
            return None
        by_tail = {tail: _offset_ns(tail) for tail in distinct}
        if len(distinct) == 1:
            offset = by_tail[first[-6:]]
        else:  # e.g. a daylight-saving change inside the file
            offset = np.array([by_tail[tail] for tail in tails], dtype=np.int64)
        bodies = [value[:-6] for value in values]
    else:
        bodies = list(values)
    # numpy's parser also accepts "now", "today", "NaT" and years of any length: only
    # "YYYY-..." text takes this path (which also rules out empty values).
    try:
        if not "".join(map(itemgetter(0), bodies)).isdigit():
            return None
        if "".join(map(itemgetter(4), bodies)).strip("-"):
            return None
    except IndexError:  # a value shorter than "YYYY-"
        return None
    if min(map(len, bodies)) < 10:
        # numpy reads "2005-01" as 2005-01-01 and "2005" as 2005-01-01: a truncated date
        # would silently move its bar. The per-row parser rejects them.
        return None
    try:
        with warnings.catch_warnings():
            # numpy only warns (and guesses) on leftover time-zone text: let the slow path decide.
            warnings.simplefilter("error")
            # Microseconds cover any 4-digit year without overflow; nanoseconds would wrap
            # silently outside 1678..2262.
            micros = np.array(bodies, dtype="datetime64[us]").astype(np.int64)
    except (ValueError, OverflowError, TypeError, Warning):
        return None
    if np.any(micros == _NAT) or np.any(np.abs(micros) > _INT64_MAX // 1000):
        return None  # the per-row parser names the bad value
    result: IntArray = micros * 1000 - offset
    return result


def _parse_iso_slow(values: Sequence[str]) -> IntArray:
    """Per-row ``datetime.fromisoformat``: any mix of ISO forms; reports the bad value."""
    out = np.empty(len(values), dtype=np.int64)
    for index, value in enumerate(values):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise _BadValue(index, value, _TIMESTAMP_HINT) from None
        if moment.tzinfo is not None:
            try:
                moment = moment.astimezone(UTC)
            except OverflowError:  # such as 0001-01-01T00:00+05:00: before year 1 in UTC
                raise _BadValue(index, value, "out of range") from None
        nanos = datetime_to_ns(moment)
        if abs(nanos) > _INT64_MAX:
            raise _BadValue(index, value, "out of range")
        out[index] = nanos
    return out


def _scale_epochs(raw: IntArray) -> IntArray:
    """Epoch integers → ns, the unit chosen by the largest magnitude in the column."""
    if raw.size == 0:
        return raw
    biggest = int(np.max(np.abs(raw.astype(np.float64))))
    if biggest < 10**11:
        scale = 1_000_000_000  # seconds: 1e11 s is the year 5138
    elif biggest < 10**14:
        scale = 1_000_000  # milliseconds
    elif biggest < 10**17:
        scale = 1_000  # microseconds
    else:
        scale = 1  # nanoseconds
    limit = _INT64_MAX // scale
    too_big = np.abs(raw) > limit
    if np.any(too_big):
        index = int(np.argmax(too_big))
        raise _BadValue(index, str(int(raw[index])), "epoch out of range for nanoseconds")
    result: IntArray = raw * scale
    return result
