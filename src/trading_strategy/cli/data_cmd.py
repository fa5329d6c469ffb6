"""``trading-strategy data``: import, list and export stored market data.

SQLAlchemy and the loader are imported inside the handlers: every command module is
imported when the CLI starts, and ``backtest`` must start fast.
"""

from __future__ import annotations

import argparse
import csv
import sys
from datetime import UTC, datetime, timedelta
from typing import IO, TYPE_CHECKING, Any

from trading_strategy.core.errors import ConfigError

if TYPE_CHECKING:
    from decimal import Decimal

    from trading_strategy.core.bars import BarSeries

_EXPORT_HEADER = ("timestamp", "open", "high", "low", "close", "volume")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "data", help="import, list and export market data in the database",
        description="Market data in the database (TRADING_STRATEGY_DATABASE_URL; default: "
        "a SQLite file in the data folder).")
    actions = parser.add_subparsers(dest="data_action", metavar="ACTION")
    parser.set_defaults(handler=lambda _args: _usage(parser))

    imp = actions.add_parser(
        "import", help="import a CSV/Parquet file of bars (idempotent upsert)",
        description="Validate a CSV or Parquet file and upsert its bars in one transaction: "
        "re-importing changes nothing, changed bars are updated and logged, a bad row "
        "leaves the database untouched.")
    imp.add_argument("file", metavar="FILE", help="CSV (.csv, .csv.gz) or Parquet file")
    imp.add_argument("--symbol", help="instrument symbol (default: file name up to '_')")
    imp.add_argument("--timeframe", help="bar timeframe: 1m, 1h, 1d ... (default: inferred)")
    imp.add_argument("--tick-size", help="price tick, e.g. 0.01 (default: from the prices); "
                     "stored on the instrument")
    imp.add_argument("--lot-size", help="quantity step, e.g. 0.00001 for fractional BTC "
                     "(default 1); stored on the instrument")
    imp.add_argument("--repair", action="store_true",
                     help="sort rows and drop duplicate timestamps (keeping the last)")
    add_format_options(imp)
    imp.set_defaults(handler=_import)

    lst = actions.add_parser("list", help="list stored series (symbol, timeframe, range)")
    lst.set_defaults(handler=_list)

    exp = actions.add_parser("export", help="write stored bars as CSV")
    exp.add_argument("--symbol", required=True)
    exp.add_argument("--timeframe", help="default: the symbol's only stored timeframe")
    exp.add_argument("--start", help="first bar (YYYY-MM-DD or ISO time, UTC)")
    exp.add_argument("--end", help="last bar, inclusive (a date means the whole day)")
    exp.add_argument("--out", default="-", help="output file, '-' for standard output")
    exp.set_defaults(handler=_export)


def add_format_options(parser: argparse.ArgumentParser) -> None:
    """The file layout options (``market_data.formats``); also for ``backtest --data``."""
    group = parser.add_argument_group(
        "file format", "what is not given is detected, and said (docs/data.md)")
    group.add_argument("--preset", metavar="NAME", help="yahoo, binance, mt4, mt5, "
                       "semicolon or us-dates")
    group.add_argument("--columns", metavar="SPEC", help="header names by role "
                       "(date=Datum,close=Last) or, for a file without a header, the role "
                       "of each column in order (timestamp,open,high,low,close,volume; - "
                       "skips one)")
    group.add_argument("--delimiter", metavar="CHAR", help="field separator: ',', ';', "
                       "'|' or tab (default: detected)")
    group.add_argument("--date-format", metavar="FMT", help="strptime-style, e.g. "
                       "'%%d.%%m.%%Y %%H:%%M' (default: ISO-8601, epochs and common forms "
                       "detected)")
    group.add_argument("--tz", metavar="ZONE", help="time zone of naive timestamps, e.g. "
                       "Europe/Berlin: converted to UTC (default: UTC)")


def format_from_args(args: argparse.Namespace) -> Any:
    """The ``FileFormat`` of :func:`add_format_options`, or ``None`` when none is given."""
    from trading_strategy.market_data.formats import file_format

    return file_format(preset=args.preset, columns=args.columns, delimiter=args.delimiter,
                       date_format=args.date_format, tz=args.tz)


def _size(option: str, text: str | None, example: str) -> Decimal | None:
    from decimal import Decimal, InvalidOperation

    if text is None:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ConfigError(f"invalid {option} {text!r}: use e.g. {example}") from None
    if not value.is_finite() or value <= 0:
        raise ConfigError(f"invalid {option} {text!r}: must be > 0, e.g. {example}")
    return value


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def parse_time(text: str | None, *, end: bool = False) -> int | None:
    """UTC ns from a date or ISO time (naive means UTC); an ``end`` date means its last ns."""
    if text is None:
        return None
    from trading_strategy.core.bars import datetime_to_ns

    value = text.strip()
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"invalid time {text!r}: use YYYY-MM-DD or an ISO time such as "
                          "2024-01-31T09:30:00Z") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    date_only = len(value) == 10
    if end and date_only:
        return datetime_to_ns(moment + timedelta(days=1)) - 1
    return datetime_to_ns(moment)


def _import(args: argparse.Namespace) -> int:
    from trading_strategy.config import load_settings
    from trading_strategy.market_data.files import load_bars
    from trading_strategy.storage import open_store

    tick = _size("--tick-size", args.tick_size, "0.01")
    lot = _size("--lot-size", args.lot_size, "0.00001")
    loaded = load_bars(args.file, timeframe=args.timeframe, symbol=args.symbol,
                       repair=args.repair, tick_size=tick, lot_size=lot,
                       fmt=format_from_args(args))
    if loaded.format:
        print(f"format: {loaded.format}")
    for warning in loaded.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    bars = loaded.bars
    given = [name for name, value in (("tick_size", tick), ("lot_size", lot))
             if value is not None]
    with open_store(load_settings().effective_database_url()) as store:
        result = store.bars.write_bars(bars.instrument, bars.timeframe, bars, given=given)
        stored = store.bars.instrument(bars.instrument.symbol)
        where = store.url
    print(f"{bars.instrument.symbol} {bars.timeframe}: {len(bars)} bars from {args.file}: "
          f"{result.inserted} inserted, {result.updated} updated, {result.unchanged} "
          f"unchanged; tick {stored.tick_size}, lot {stored.lot_size} ({where})")
    return 0


def _list(_args: argparse.Namespace) -> int:
    from trading_strategy.config import load_settings
    from trading_strategy.core.bars import format_ts
    from trading_strategy.storage import open_store

    with open_store(load_settings().effective_database_url()) as store:
        series = store.bars.series()
        where = store.url
    if not series:
        print(f"no market data in {where}; import a file with: trading-strategy data "
              "import FILE --symbol SYMBOL --timeframe 1d")
        return 0
    rows = [("SYMBOL", "TIMEFRAME", "BARS", "FIRST", "LAST")]
    rows += [(s.symbol, str(s.timeframe), str(s.bars), format_ts(s.first_ns, s.timeframe),
              format_ts(s.last_ns, s.timeframe)) for s in series]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
              .rstrip())
    return 0


def _export(args: argparse.Namespace) -> int:
    from trading_strategy.config import load_settings
    from trading_strategy.storage import open_store

    start, end = parse_time(args.start), parse_time(args.end, end=True)
    with open_store(load_settings().effective_database_url()) as store:
        bars = store.bars.read_bars(args.symbol, args.timeframe, start, end)
    if args.out == "-":
        _write_csv(bars, sys.stdout)
        sys.stdout.flush()
    else:
        try:
            with open(args.out, "w", newline="", encoding="utf-8") as stream:
                _write_csv(bars, stream)
        except OSError as exc:
            raise ConfigError(f"cannot write {args.out}: {exc.strerror}") from None
        print(f"{len(bars)} bars of {bars.instrument.symbol} {bars.timeframe} written to "
              f"{args.out}", file=sys.stderr)
    return 0


def _write_csv(bars: BarSeries, stream: IO[str]) -> None:
    from trading_strategy.core.bars import format_ts

    decimals = bars.instrument.price_decimals
    price = f"{{:.{decimals}f}}".format
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(_EXPORT_HEADER)
    columns = (bars.ts.tolist(), bars.open.tolist(), bars.high.tolist(), bars.low.tolist(),
               bars.close.tolist(), bars.volume.tolist())
    frame = bars.timeframe
    writer.writerows(
        (format_ts(ts, frame), price(o), price(h), price(lo), price(c), _volume(v))
        for ts, o, h, lo, c, v in zip(*columns, strict=True)
    )


def _volume(value: float) -> str:
    # Stored volumes have at most 8 decimals; repr is the shortest exact spelling.
    return str(int(value)) if value.is_integer() else repr(value)
