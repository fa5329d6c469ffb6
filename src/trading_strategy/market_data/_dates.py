"""Dates and times that are not ISO-8601: strptime-style formats, detection and time zones.

A format (``--date-format "%d.%m.%Y %H:%M"``) is compiled once (:func:`compile_format`);
a column is then parsed as a whole: fixed-width text (the usual case: ``31.01.2024``) by
slicing the characters as a numpy array, anything else (``1/2/2024``) by one regular
expression per value. Either way the calendar arithmetic is done on arrays and a bad value
is named. :func:`detect_format` finds the format of common non-ISO shapes (dotted, slashed
and MetaTrader dates, with or without a time) and refuses day/month orders it cannot tell
apart. :func:`localize` converts naive wall times of a zone to UTC.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from trading_strategy.core.bars import IntArray
from trading_strategy.core.errors import ConfigError
from trading_strategy.market_data._columns import _BadValue

_SECOND = 1_000_000_000
_DAY = 86_400 * _SECOND
# (regex, fixed width or 0 for variable) of each supported directive.
_DIRECTIVES = {
    "Y": (r"(\d{4})", 4),
    "y": (r"(\d{2})", 2),
    "m": (r"(\d{1,2})", 2),
    "d": (r"(\d{1,2})", 2),
    "H": (r"(\d{1,2})", 2),
    "M": (r"(\d{2})", 2),
    "S": (r"(\d{2})", 2),
    "f": (r"(\d{1,9})", 0),
}
SUPPORTED = "%Y %y %m %d %H %M %S %f"
# datetime64 covers these years in int64 nanoseconds.
_FIRST_YEAR, _LAST_YEAR = 1678, 2261


@dataclass(frozen=True, slots=True)
class DateFormat:
    """A compiled strptime-style format: literal text and the directives in order."""

    text: str
    parts: tuple[tuple[str, str], ...]  # ("lit", text) or ("dir", letter)
    regex: re.Pattern[str]

    @property
    def has_date(self) -> bool:
        return any(kind == "dir" and value in "Yymd" for kind, value in self.parts)


def compile_format(text: str, *, option: str = "--date-format") -> DateFormat:
    """Compile ``text``; ``ConfigError`` naming ``option`` for an unsupported directive."""
    parts: list[tuple[str, str]] = []
    pattern = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "%":
            letter = text[i + 1: i + 2]
            if letter == "%":
                parts.append(("lit", "%"))
                pattern.append("%")
            elif letter in _DIRECTIVES:
                parts.append(("dir", letter))
                pattern.append(_DIRECTIVES[letter][0])
            else:
                raise ConfigError(f"{option} {text!r}: unsupported directive %{letter}; "
                                  f"use {SUPPORTED} and literal text, e.g. %d.%m.%Y %H:%M")
            i += 2
            continue
        parts.append(("lit", char))
        pattern.append(re.escape(char))
        i += 1
    letters = [value for kind, value in parts if kind == "dir"]
    if len(set(letters)) != len(letters) or not letters:
        raise ConfigError(f"{option} {text!r}: give each of {SUPPORTED} at most once, "
                          "and at least one")
    has_date = any(letter in "Yymd" for letter in letters)
    if has_date and not ({"Y", "y"} & set(letters) and {"m", "d"} <= set(letters)):
        raise ConfigError(f"{option} {text!r}: a date needs a year (%Y or %y), %m and %d")
    return DateFormat(text, tuple(parts), re.compile("".join(pattern)))


def parse_with(values: Sequence[str], fmt: DateFormat) -> IntArray:
    """Values in format ``fmt`` → UTC ns (as if naive times were UTC); ``_BadValue`` names
    the first value that does not match or is not a real date."""
    fields = _fixed_width(values, fmt)
    if fields is None:
        fields = _by_regex(values, fmt)
    return _to_ns(values, fields, fmt)


def _fixed_width(values: Sequence[str], fmt: DateFormat) -> dict[str, IntArray] | None:
    """Slice the characters of equally long values; ``None`` when that does not apply."""
    if not values:
        return None
    width = len(values[0])
    directive_widths = [_DIRECTIVES[v][1] for kind, v in fmt.parts if kind == "dir"]
    literal_width = sum(1 for kind, _ in fmt.parts if kind == "lit")
    if 0 in directive_widths or sum(directive_widths) + literal_width != width:
        return None
    if any(len(value) != width for value in values):
        return None
    codes = np.array(values, dtype=f"<U{width}").view(np.uint32).reshape(len(values), width)
    fields: dict[str, IntArray] = {}
    at = 0
    for kind, value in fmt.parts:
        if kind == "lit":
            if np.any(codes[:, at] != ord(value)):
                return None  # the per-value path names the culprit
            at += 1
            continue
        size = _DIRECTIVES[value][1]
        digits = codes[:, at: at + size].astype(np.int64) - ord("0")
        if np.any((digits < 0) | (digits > 9)):
            return None
        fields[value] = digits @ (10 ** np.arange(size - 1, -1, -1, dtype=np.int64))
        at += size
    return fields


def _by_regex(values: Sequence[str], fmt: DateFormat) -> dict[str, IntArray]:
    letters = [value for kind, value in fmt.parts if kind == "dir"]
    rows: list[tuple[str, ...]] = []
    match = fmt.regex.fullmatch
    for index, value in enumerate(values):
        found = match(value.strip())
        if found is None:
            raise _BadValue(index, value, f"does not match the date format {fmt.text!r} "
                            "(--date-format; see docs/data.md)")
        rows.append(found.groups())
    fields: dict[str, IntArray] = {}
    for k, letter in enumerate(letters):
        column = [row[k] for row in rows]
        if letter == "f":  # a fraction of a second: "5" is 500 ms
            column = [(text + "000000000")[:9] for text in column]
        fields[letter] = np.array(column, dtype=np.int64)
    return fields


def _to_ns(values: Sequence[str], fields: dict[str, IntArray], fmt: DateFormat) -> IntArray:
    count = len(values)
    zero = np.zeros(count, dtype=np.int64)
    hours, minutes = fields.get("H", zero), fields.get("M", zero)
    seconds = fields.get("S", zero)
    fraction = fields.get("f", zero)  # %f has no fixed width: always read by the regex
    bad = (hours > 23) | (minutes > 59) | (seconds > 59)
    total = ((hours * 60 + minutes) * 60 + seconds) * _SECOND + fraction
    if fmt.has_date:
        years = fields["Y"] if "Y" in fields else _century(fields["y"])
        months, days = fields["m"], fields["d"]
        bad |= (months < 1) | (months > 12) | (days < 1)
        bad |= (years < _FIRST_YEAR) | (years > _LAST_YEAR)
        month = (years - 1970) * 12 + np.clip(months, 1, 12) - 1
        starts = month.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
        ends = (month + 1).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
        bad |= days > ends - starts
        total = total + (starts + days - 1) * _DAY
    if np.any(bad):
        index = int(np.argmax(bad))
        raise _BadValue(index, values[index], f"not a real date or time for the format "
                        f"{fmt.text!r}")
    return total


def _century(two_digits: IntArray) -> IntArray:
    # strptime's rule for %y: 69-99 are 1969-1999, 00-68 are 2000-2068.
    result: IntArray = np.where(two_digits >= 69, 1900, 2000) + two_digits
    return result


# --- detection -------------------------------------------------------------------------

_SHAPE = re.compile(
    r"(?P<a>\d{1,4})(?P<sep>[./-])(?P<b>\d{1,2})(?P=sep)(?P<c>\d{1,4})"
    r"(?:(?P<tsep>[ T])(?P<time>\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?))?"
)
_TIME = re.compile(r"\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?")


def looks_like_time(value: str) -> bool:
    return _TIME.fullmatch(value.strip()) is not None


def time_format(value: str) -> str:
    """The format of a time of day such as ``09:30`` or ``09:30:00.5``."""
    colons = value.count(":")
    text = "%H:%M" if colons == 1 else "%H:%M:%S"
    return text + ".%f" if "." in value else text


def detect_format(values: Sequence[str], *, month_first: bool | None) -> str | None:
    """The strptime-style format of non-ISO dates like the first value, or ``None``.

    Year-first dates (``2024.01.31``, MetaTrader's form, and ``2024/01/31``) and dotted
    day-first dates (``31.01.2024``) are unambiguous. For ``01/02/2024`` and ``01-02-2024``
    the column decides: a first number above 12 means day first, a second one above 12
    month first; if neither occurs the order is unknown and ``ConfigError`` asks for
    ``--date-format`` or a preset, unless ``month_first`` says.
    """
    first = _SHAPE.fullmatch(values[0].strip())
    if first is None:
        return None
    sep = first["sep"]
    time_part = ""
    if first["time"] is not None:
        time_part = first["tsep"] + time_format(first["time"])
    if len(first["a"]) == 4:
        return f"%Y{sep}%m{sep}%d{time_part}"
    if len(first["c"]) != 4:
        return None
    if sep == "." and month_first is None:
        return f"%d.%m.%Y{time_part}"  # dotted dates are day-first wherever they are used
    if month_first is None:
        month_first = _month_first(values, sep)
    order = f"%m{sep}%d" if month_first else f"%d{sep}%m"
    return f"{order}{sep}%Y{time_part}"


def _month_first(values: Sequence[str], sep: str) -> bool:
    firsts, seconds = set(), set()
    for value in values:
        found = _SHAPE.fullmatch(value.strip())
        if found is None or found["sep"] != sep:
            continue  # the parse reports it
        firsts.add(int(found["a"]))
        seconds.add(int(found["b"]))
    day_first = max(firsts, default=0) > 12
    month_first = max(seconds, default=0) > 12
    if day_first != month_first:
        return month_first
    example = values[0].strip()
    why = ("has days above 12 in both positions" if day_first
           else "has no number above 12 to tell the day from the month")
    raise ConfigError(
        f"dates such as {example!r} could be month{sep}day or day{sep}month and the file "
        f"{why}: pass --date-format '%m{sep}%d{sep}%Y' (or --preset us-dates) or "
        f"--date-format '%d{sep}%m{sep}%Y'"
    )


# --- time zones ------------------------------------------------------------------------


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; ``ConfigError`` when unknown."""
    try:
        return ZoneInfo(name.strip())
    except (ValueError, OSError, KeyError):
        raise ConfigError(f"unknown time zone --tz {name!r}: use an IANA name such as "
                          "Europe/London, America/New_York or UTC") from None


def localize(local_ns: IntArray, where: ZoneInfo) -> IntArray:
    """Naive wall times of ``where`` (as ns) → UTC ns.

    The offset is looked up once per distinct day; only on days where it changes (daylight
    saving) each time is looked up. A wall time that happens twice (the hour repeated in
    autumn) is read as the first; one that does not exist (skipped in spring) is read with
    the offset before the change, as Python's ``datetime`` does.
    """
    if local_ns.size == 0:
        return local_ns
    days = local_ns // _DAY
    unique, inverse = np.unique(days, return_inverse=True)
    epoch = datetime(1970, 1, 1)
    day_offset = np.empty(unique.size, dtype=np.int64)
    changing = np.zeros(unique.size, dtype=np.bool_)
    for k, day in enumerate(unique.tolist()):
        start = epoch + timedelta(days=day)
        before = _offset_ns(where, start)
        after = _offset_ns(where, start + timedelta(hours=23, minutes=59, seconds=59))
        day_offset[k] = before
        changing[k] = before != after
    offsets = day_offset[inverse]
    for i in np.flatnonzero(changing[inverse]).tolist():
        moment = epoch + timedelta(microseconds=int(local_ns[i]) // 1000)
        offsets[i] = _offset_ns(where, moment)
    result: IntArray = local_ns - offsets
    return result


def _offset_ns(where: ZoneInfo, wall: datetime) -> int:
    offset = where.utcoffset(wall)
    return 0 if offset is None else int(offset.total_seconds()) * _SECOND
