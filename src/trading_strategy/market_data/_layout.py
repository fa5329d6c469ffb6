"""Which column holds what: header names, ``--columns`` mappings and header-less files.

:func:`header_layout` maps roles (timestamp, open, ..., volume, adj_close, ...; ``time``
for a separate time-of-day column) to column indexes from a header, shared by the CSV and
Parquet readers; :func:`headerless_positions` recognises the two header-less shapes users
have (Binance klines, MetaTrader 4 exports).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from trading_strategy.core.errors import DataError
from trading_strategy.market_data._adjusted import _ADJUSTED_ALIASES, _check_adjustment_columns
from trading_strategy.market_data._columns import _PRICES

# "open_time" is Binance's name for a kline's open.
_TIMESTAMP_ALIASES = ("timestamp", "datetime", "date", "time", "opentime")
_INTEGER = re.compile(r"\s*[+-]?\d+\s*")
_MT_DATE = re.compile(r"\s*\d{4}\.\d{2}\.\d{2}\s*")
_CLOCK = re.compile(r"\s*\d{1,2}:\d{2}(:\d{2})?\s*")
BINANCE_POSITIONS = ("timestamp", "open", "high", "low", "close", "volume", *("-",) * 6)
MT4_POSITIONS = ("date", "time", "open", "high", "low", "close", "volume")


def normalized(name: str) -> str:
    # "Adj Close", "adj_close", "Adj. Close", "adjClose" and "Adj Close**" (Yahoo's web
    # table) all read "adjclose"; MetaTrader 5's "<DATE>" reads "date".
    text = name.strip()
    if len(text) > 2 and text[0] == "<" and text[-1] == ">":
        text = text[1:-1]
    return re.sub(r"[\s._*-]", "", text).lower()


def header_layout(
    names: Sequence[str],
    source: str,
    line: int | None,
    mapping: Sequence[tuple[str, str]] = (),
) -> tuple[dict[str, int], list[str]]:
    """Map each role to its column index; also notes on what was recognised.

    ``mapping`` (role, header name) pairs come first; other roles are found by their
    usual names. A file with ``date`` and ``time`` columns and no ``timestamp`` gets a
    ``time_candidate`` role: the reader combines the two when the time column holds times
    of day. A column that looks like a price adjustment but is not one we apply is
    refused (see :mod:`._adjusted`).
    """
    normalized_names = [normalized(name) for name in names]
    positions: dict[str, int] = {}
    for index, name in enumerate(normalized_names):
        positions.setdefault(name, index)  # the first of repeated names wins
    layout: dict[str, int] = {}
    notes: list[str] = []
    for role, wanted in mapping:
        key = normalized(wanted)
        if key not in positions:
            found = ", ".join(name.strip() for name in names if name.strip()) or "none"
            raise DataError(f"--columns {role}={wanted}: no such column in the header; "
                            f"found {found}", path=source, line=line)
        layout["timestamp" if role == "date" else role] = positions[key]
    if "timestamp" not in layout:
        _find_timestamp(positions, layout)
    for role in (*_PRICES, "volume"):
        if role in positions and role not in layout:
            layout[role] = positions[role]
    if all(len(n.strip()) > 2 and n.strip()[0] == "<" for n in names if n.strip()):
        notes.append(_metatrader5(positions, layout))
    for alias, role in _ADJUSTED_ALIASES.items():
        if alias in positions and role not in layout:
            layout[role] = positions[alias]
    _check_adjustment_columns(names, normalized_names, layout, source, line)
    missing = [role for role in ("timestamp", *_PRICES) if role not in layout]
    if missing:
        found = ", ".join(name.strip() for name in names if name.strip()) or "none"
        reason = (
            f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}; "
            f"found {found}; the header must name timestamp (or date, time, datetime), "
            "open, high, low, close and optionally volume; other names: --columns "
            "date=Datum,close=Last,...; no header: --columns timestamp,open,high,low,close"
        )
        if names and re.match(r"\s*[\d.+-]", names[0]):
            reason += (" (the first line looks like data: a header line is required, or "
                       "name the columns with --columns)")
        raise DataError(reason, path=source, line=line)
    return layout, [note for note in notes if note]


def _find_timestamp(positions: dict[str, int], layout: dict[str, int]) -> None:
    full = [alias for alias in ("timestamp", "datetime", "opentime") if alias in positions]
    if not full and "date" in positions and "time" in positions and "time" not in layout:
        layout["timestamp"] = positions["date"]
        layout["time_candidate"] = positions["time"]
        return
    for alias in _TIMESTAMP_ALIASES:
        if alias in positions:
            layout["timestamp"] = positions[alias]
            return


def _metatrader5(positions: dict[str, int], layout: dict[str, int]) -> str:
    """MetaTrader 5 names its volumes TICKVOL and VOL (VOL is zero for FX and CFDs)."""
    if "volume" in layout:
        return "MetaTrader 5 export"
    for name in ("tickvol", "vol"):
        if name in positions:
            layout["volume"] = positions[name]
            return f"MetaTrader 5 export; volume from <{name.upper()}>"
    return "MetaTrader 5 export"


def headerless_positions(first: Sequence[str]) -> tuple[tuple[str, ...], str] | None:
    """The roles of a header-less file recognised from its first row, with a note.

    Binance klines: 12 numbers, the first an integer epoch. MetaTrader 4: 7 fields,
    ``2024.01.02,09:30,...``. Anything else needs a header or ``--columns``.
    """
    if len(first) == 12 and _INTEGER.fullmatch(first[0]) and all(
            _is_number(cell) for cell in first[1:6]):
        return BINANCE_POSITIONS, "Binance klines (no header; open time, OHLCV of 12 columns)"
    if len(first) == 7 and _MT_DATE.fullmatch(first[0]) and _CLOCK.fullmatch(first[1]) \
            and all(_is_number(cell) for cell in first[2:]):
        return MT4_POSITIONS, "MetaTrader 4 export (no header; date, time, OHLCV)"
    return None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def positions_layout(positions: Sequence[str]) -> dict[str, int]:
    """Roles by position (``-`` skipped); ``date`` is the timestamp when ``time`` is given."""
    layout = {role: index for index, role in enumerate(positions) if role != "-"}
    if "date" in layout:
        layout["timestamp"] = layout.pop("date")
    return layout


def first_row_is_header(row: Sequence[str], layout: dict[str, int]) -> bool:
    """A header-less format's first line is a header when its close is not a number."""
    index = layout.get("close", layout.get("open"))
    return index is not None and index < len(row) and not _is_number(row[index])
