"""``trading-strategy data``: import, list and export stored market data; stream live bars
from a provider and backfill the store from its history.

``stream`` runs the same feed a session runs (``runtime.live_data``: staleness watchdog,
dedupe, gap backfill) for one instrument and prints every bar and every health change until
Ctrl-C (or ``--max-bars``). ``backfill`` upserts the provider's REST history (ccxt
``fetch_ohlcv``) for a window: running it again changes nothing; the instrument is stored
with the provider as its venue (the bars' source).

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
        "import", help="import a CSV/text/Parquet file of bars (idempotent upsert)",
        description="Validate a CSV or Parquet file and upsert its bars in one transaction: "
        "re-importing changes nothing, changed bars are updated and logged, a bad row "
        "leaves the database untouched.")
    imp.add_argument("file", metavar="FILE", help="CSV or text file (.csv, .txt: MetaTrader "
                     "exports; either maybe .gz) or Parquet file")
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

    _register_live(actions)


#: the options of :func:`add_format_options`, for messages about them
FORMAT_FLAGS = ("--preset", "--columns", "--delimiter", "--date-format", "--tz")


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
    with load_settings().open_store() as store:
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

    with load_settings().open_store() as store:
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

    start, end = parse_time(args.start), parse_time(args.end, end=True)
    with load_settings().open_store() as store:
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


# --- live: stream and backfill ------------------------------------------------------------
_PROVIDERS = ("binance", "coinbase")


def _register_live(actions: Any) -> None:
    stream = actions.add_parser(
        "stream", help="print live bars and feed health from a provider (Ctrl-C stops)",
        description="Subscribe to one instrument's bars on a provider's public stream (no "
        "keys) and print each closed bar and each health change (stale, restored) until "
        "Ctrl-C.")
    _common(stream)
    stream.add_argument("--ws-url", help="WebSocket base URL (default: the exchange's)")
    stream.add_argument("--stale-after", type=float, default=1.5, metavar="BARS",
                        help="no bar for this many bar lengths is stale (default 1.5)")
    stream.add_argument("--max-bars", type=int, default=None, metavar="N",
                        help="stop after N bars (default: until Ctrl-C)")
    stream.set_defaults(handler=_stream)

    backfill = actions.add_parser(
        "backfill", help="store a provider's history of bars (idempotent)",
        description="Fetch closed bars opening in [--start, --end] from the provider's REST "
        "history and upsert them into the bar store; running it again changes nothing.")
    _common(backfill)
    backfill.add_argument("--start", required=True, help="first bar (YYYY-MM-DD or ISO, UTC)")
    backfill.add_argument("--end", help="last bar, inclusive (default: now)")
    backfill.set_defaults(handler=_backfill)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--provider", required=True, choices=_PROVIDERS)
    parser.add_argument("--symbol", required=True, help="e.g. BTC/USDT")
    parser.add_argument("--timeframe", required=True, help="bar length: 1m, 5m, 1h ...")
    parser.add_argument("--rest-url", help="REST base URL for history (default: the "
                        "exchange's)")


#: a ``[data]`` field → the option that set it (errors name what the user typed)
_OPTION_OF = {"ws_url": "--ws-url", "rest_url": "--rest-url", "stale_after": "--stale-after",
              "timeframe": "--timeframe", "providers": "--provider"}


def _section(args: argparse.Namespace, ws_url: str | None) -> Any:
    """The options as the ``[data]`` section a portfolio file would hold, checked alike."""
    from pydantic import ValidationError

    from trading_strategy.runtime.portfolio_config import DataSection

    endpoints = {k: v for k, v in (("ws_url", ws_url), ("rest_url", args.rest_url)) if v}
    feed: dict[str, Any] = {"providers": [args.provider], "timeframe": args.timeframe}
    if getattr(args, "stale_after", None) is not None:
        feed["stale_after"] = args.stale_after
    try:
        return DataSection.model_validate({"default": feed,
                                           "providers": {args.provider: endpoints}})
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][-1]) if err["loc"] else ""
        message = err["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{_OPTION_OF.get(field, field)}: {message}") from None


def _stream(args: argparse.Namespace) -> int:
    if args.max_bars is not None and args.max_bars < 1:
        raise ConfigError(f"--max-bars must be at least 1, got {args.max_bars}")
    import asyncio

    section = _section(args, args.ws_url)
    try:
        return asyncio.run(_run_stream(section, args.symbol, args.timeframe, args.max_bars))
    except KeyboardInterrupt:
        print("stopped")
        return 0


async def _run_stream(section: Any, symbol: str, timeframe: str, max_bars: int | None) -> int:
    from trading_strategy.core.bars import format_ts
    from trading_strategy.market_data.health_events import DataRestored, DataStale, ProviderSwitch
    from trading_strategy.market_data.providers.base import BarEvent
    from trading_strategy.runtime.live_data import LiveData

    live = LiveData(section, {symbol: timeframe})
    bars = 0
    async with live:
        async for item in live.items():
            event = item.event
            if isinstance(event, BarEvent):
                b = event.bar
                note = " (backfilled)" if item.backfilled else ""
                print(f"{format_ts(b.ts_event)} {event.symbol} {event.timeframe} "
                      f"O {b.open:g} H {b.high:g} L {b.low:g} C {b.close:g} V {b.volume:g} "
                      f"[{event.provider}]{note}", flush=True)
                bars += 1
                if max_bars is not None and bars >= max_bars:
                    break
            elif isinstance(event, DataStale | DataRestored | ProviderSwitch):
                data = event.to_dict()
                kind = str(data.pop("event")).upper()
                data.pop("ts_ns", None)
                detail = " ".join(f"{k}={v}" for k, v in data.items())
                print(f"{kind} {detail}", flush=True)
    return 0


def _backfill(args: argparse.Namespace) -> int:
    import asyncio
    import time

    from trading_strategy.config import load_settings
    from trading_strategy.core.timeframe import Timeframe

    Timeframe.parse(args.timeframe)
    start = parse_time(args.start) or 0
    end = parse_time(args.end, end=True) if args.end else time.time_ns()
    assert end is not None
    if end <= start:
        raise ConfigError(f"--end {args.end} must be after --start {args.start}")
    section = _section(args, None)
    url = load_settings().effective_database_url()
    bars = asyncio.run(_fetch(section, args.provider, args.symbol, args.timeframe, start,
                              end + 1))
    from trading_strategy.storage import open_store

    with open_store(url) as store:
        result = store.bars.write_bars(bars.instrument, bars.timeframe, bars,
                                       source=args.provider)
        where = store.url
    print(f"{args.symbol} {args.timeframe} from {args.provider}: {len(bars)} bars: "
          f"{result.inserted} inserted, {result.updated} updated, {result.unchanged} "
          f"unchanged ({where})")
    return 0


async def _fetch(section: Any, provider: str, symbol: str, timeframe: str, start: int,
                 end: int) -> Any:
    from trading_strategy.runtime.live_data import make_provider

    adapter = make_provider(provider, section.providers[provider], None, lambda _c: None)
    try:
        return await adapter.request_bars(symbol, timeframe, start, end)
    finally:
        await adapter.close()
