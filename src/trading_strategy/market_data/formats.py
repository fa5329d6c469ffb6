"""How a data file is laid out: column mapping, delimiter, date format, time zone, presets.

:class:`FileFormat` is the one options object of the loader (``load_bars(..., fmt=...)``)
and of ``data import`` (``--columns``, ``--delimiter``, ``--date-format``, ``--tz``,
``--preset``); :func:`file_format` builds it from those option strings, a preset first and
the explicit options over it. Every field left unset is detected from the file, and the
loader says what it detected (``LoadResult.format``). The presets:

* ``yahoo``: Yahoo Finance's ``Date,Open,High,Low,Close,Adj Close,Volume`` (the adjusted
  close rules of docs/data.md);
* ``binance``: klines, 12 columns, open time as an epoch in ms (µs since 2025), with or
  without a header;
* ``mt4``: MetaTrader 4 history export, ``2024.01.02,09:30,open,high,low,close,volume``
  without a header, comma- or tab-separated;
* ``mt5``: MetaTrader 5 export, tab-separated with the header
  ``<DATE> <TIME> <OPEN> <HIGH> <LOW> <CLOSE> <TICKVOL> <VOL> <SPREAD>`` (tick volume used);
* ``semicolon``: ``;``-separated with decimal commas when the numbers have them;
* ``us-dates``: month-first dates, ``01/31/2024``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from trading_strategy.core.errors import ConfigError
from trading_strategy.market_data._dates import compile_format, zone
from trading_strategy.market_data._layout import BINANCE_POSITIONS, MT4_POSITIONS

__all__ = ["PRESETS", "ROLES", "FileFormat", "file_format", "parse_columns"]

# What a column can be: "timestamp" holds date and time (or the date alone when a "time"
# column holds the time of day). "-" or "_" skips a column of a header-less file.
ROLES = ("timestamp", "date", "time", "open", "high", "low", "close", "volume",
         "adj_open", "adj_high", "adj_low", "adj_close", "adj_volume")
_ROLE_ALIASES = {"datetime": "timestamp", "adjclose": "adj_close", "adjopen": "adj_open",
                 "adjhigh": "adj_high", "adjlow": "adj_low", "adjvolume": "adj_volume"}
_SKIP = ("-", "_", "")
_DELIMITERS = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|",
               "space": " "}


@dataclass(frozen=True, slots=True)
class FileFormat:
    """How to read a file; ``None`` fields are detected.

    ``columns`` maps roles to header names (``(("timestamp", "Datum"), ...)``); roles not
    named are found by the usual header names. ``positions`` instead names the role of
    each column in order, for files without a header (``"-"`` skips a column; a first
    line whose prices are not numbers is taken as a header and skipped). ``date_format``
    and ``time_format`` are strptime-style (``%d.%m.%Y``, ``%H:%M``). ``tz`` is the IANA
    zone of naive timestamps (converted to UTC). ``decimal_comma`` reads ``1,5`` as 1.5
    (only with a delimiter other than a comma). ``month_first`` settles ``01/02/2024``.
    """

    columns: tuple[tuple[str, str], ...] = ()
    positions: tuple[str, ...] = ()
    delimiter: str | None = None
    date_format: str | None = None
    time_format: str | None = None
    tz: str | None = None
    decimal_comma: bool | None = None
    month_first: bool | None = None
    preset: str | None = None

    def describe(self) -> str:
        """The options in the CLI's words, for messages."""
        parts = [f"--preset {self.preset}"] if self.preset else []
        if self.delimiter is not None:
            parts.append(f"--delimiter {self.delimiter!r}")
        if self.date_format is not None:
            parts.append(f"--date-format {self.date_format!r}")
        if self.tz is not None:
            parts.append(f"--tz {self.tz}")
        return " ".join(parts)


PRESETS: dict[str, FileFormat] = {
    "yahoo": FileFormat(delimiter=",", preset="yahoo"),
    "binance": FileFormat(
        positions=BINANCE_POSITIONS, delimiter=",", preset="binance"),
    "mt4": FileFormat(positions=MT4_POSITIONS, date_format="%Y.%m.%d", preset="mt4"),
    "mt5": FileFormat(delimiter="\t", date_format="%Y.%m.%d", preset="mt5"),
    "semicolon": FileFormat(delimiter=";", preset="semicolon"),
    "us-dates": FileFormat(month_first=True, preset="us-dates"),
}


def _role(text: str, spec: str) -> str:
    key = re.sub(r"[\s.*-]", "", text).lower()
    key = _ROLE_ALIASES.get(key, key)
    if key not in ROLES:
        raise ConfigError(f"--columns {spec!r}: unknown column {text.strip()!r}; use "
                          f"{', '.join(ROLES)} (or - to skip a column)")
    return key


def parse_columns(spec: str) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    """``"date=Date,open=Open"`` → a mapping; ``"timestamp,open,high,low,close"`` (no
    ``=``) → positions for a header-less file. Returns ``(mapping, positions)``."""
    items = [item.strip() for item in spec.split(",")]
    if not any(items):
        raise ConfigError("--columns is empty: use e.g. date=Date,open=Open,... or "
                          "timestamp,open,high,low,close,volume")
    if any("=" in item for item in items):
        mapping: dict[str, str] = {}
        for item in items:
            role, sep, name = item.partition("=")
            if not sep or not name.strip():
                raise ConfigError(f"--columns {spec!r}: {item!r} is not ROLE=HEADER; use "
                                  "e.g. date=Date,close=Last")
            key = _role(role, spec)
            if key in mapping:
                raise ConfigError(f"--columns {spec!r}: {key} is given twice")
            mapping[key] = name.strip()
        return tuple(mapping.items()), ()
    positions = tuple("-" if item in _SKIP else _role(item, spec) for item in items)
    named = [role for role in positions if role != "-"]
    if len(set(named)) != len(named):
        raise ConfigError(f"--columns {spec!r}: a column is named twice")
    return (), positions


def _delimiter(text: str) -> str:
    value = _DELIMITERS.get(text.strip().lower(), text)
    if len(value) != 1 or value in "\"\r\n" or value.isalnum() or value == ".":
        raise ConfigError(f"invalid --delimiter {text!r}: one character such as ',', ';', "
                          "'|' or 'tab'")
    return value


def file_format(
    *,
    preset: str | None = None,
    columns: str | None = None,
    delimiter: str | None = None,
    date_format: str | None = None,
    tz: str | None = None,
) -> FileFormat | None:
    """A :class:`FileFormat` from option strings (a preset, then the others over it);
    ``None`` when no option is given. ``ConfigError`` for a malformed option."""
    if preset is None and columns is None and delimiter is None and date_format is None \
            and tz is None:
        return None
    fmt = FileFormat()
    if preset is not None:
        key = preset.strip().lower()
        if key not in PRESETS:
            raise ConfigError(f"unknown --preset {preset!r}; presets: {', '.join(PRESETS)}")
        fmt = PRESETS[key]
    if columns is not None:
        mapping, positions = parse_columns(columns)
        fmt = replace(fmt, columns=mapping, positions=positions)
    if delimiter is not None:
        fmt = replace(fmt, delimiter=_delimiter(delimiter))
    if date_format is not None:
        compile_format(date_format)  # refuse a bad format before reading the file
        fmt = replace(fmt, date_format=date_format, month_first=None)
    if tz is not None:
        zone(tz)
        fmt = replace(fmt, tz=tz.strip())
    return fmt
