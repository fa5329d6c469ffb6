"""Bars for the Python API from whatever a notebook holds: a DataFrame, columns, a file or
a symbol.

Every form goes through the file loader (:func:`trading_strategy.market_data.files.load_bars`),
so column names, ``Adj Close``, timestamps and validation follow exactly the rules of a CSV
or Parquet file (docs/data.md), with the same errors. In-memory tables (pandas, polars, a
mapping of columns) are handed to it as a Parquet file in a temporary folder; its errors
then say ``row N`` (1-based, in the table's order) instead of a file line.

pandas and polars are never imported here: a frame is recognised by its type's module,
and pyarrow (an optional dependency) is imported only to convert one.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from trading_strategy.api.errors import ArgumentError
from trading_strategy.core.bars import BarSeries, datetime_to_ns
from trading_strategy.core.errors import DataError
from trading_strategy.market_data import samples
from trading_strategy.market_data.files import load_bars

#: symbol given to in-memory data when none is named
DEFAULT_SYMBOL = "DATA"
_INDEX_NAMES = ("timestamp", "datetime", "date", "time")
_FORMS = ("a pandas or polars DataFrame, a mapping of columns, a .csv/.txt/.parquet "
          "path (.csv.gz and .txt.gz too), or a symbol (a bundled sample such as 'GOOG', "
          "or stored with `data import`)")


@dataclass(frozen=True, slots=True)
class Loaded:
    bars: BarSeries
    warnings: list[str]
    source: str
    #: what was recognised of a file's layout ("tab-separated (detected); ..."), or ""
    format: str = ""


def load_data(
    data: object,
    *,
    timeframe: str | None = None,
    symbol: str | None = None,
    tick_size: Decimal | None = None,
    lot_size: Decimal | None = None,
    repair: bool = False,
    start: object = None,
    end: object = None,
    store: Any = None,
    fmt: Any = None,
) -> Loaded:
    """Validated bars from ``data`` (see the module doc), cut to ``start``..``end``.

    A name that is not a file is a bundled sample, else a stored symbol. With ``store`` (an
    open ``storage.Store``, as the CLI has) a symbol stored there comes first, samples
    included once loaded into it, unless ``tick_size`` or ``lot_size`` ask for a re-read;
    ``store=False``: no database is read (files and bundled samples only). ``fmt``: the
    layout of a file or the column names of a frame (``market_data.formats.FileFormat``).
    """
    options: dict[str, Any] = {"timeframe": timeframe, "repair": repair,
                               "tick_size": tick_size, "lot_size": lot_size, "fmt": fmt}
    if isinstance(data, BarSeries):
        if fmt is not None:
            raise ArgumentError("data: a file format applies to files and frames, not to "
                                "a BarSeries")
        loaded = Loaded(data, [], data.instrument.symbol)
    elif isinstance(data, str | os.PathLike):
        loaded = _from_name(os.fspath(data), symbol=symbol, store=store, **options)
    else:
        table, found = _arrow_table(data)
        loaded = _from_table(table, symbol=symbol or found, **options)
    first, last = parse_time("start", start), parse_time("end", end, end=True)
    bars = loaded.bars
    if first is not None or last is not None:
        bars = bars.between(first, last)
    if len(bars) == 0:
        raise ArgumentError(f"data: no bars of {loaded.source} between "
                            f"{start or 'the start'} and {end or 'the end'}")
    return Loaded(bars, loaded.warnings, loaded.source, loaded.format)


def _from_name(text: str, *, symbol: str | None, store: Any, **options: Any) -> Loaded:
    path = Path(text).expanduser()
    if options["fmt"] is not None and not path.is_file():
        # a sample or a stored symbol has a known layout: an option would be ignored
        raise ArgumentError(f"data: the file format options (preset, columns, delimiter, "
                            f"date_format, tz) apply to data files; {text!r} is not a file")
    if store is False:  # files and bundled samples only: the file loader says what is not
        return _loaded(load_bars(text, symbol=symbol, **options))
    if (store is not None and not path.exists() and options["tick_size"] is None
            and options["lot_size"] is None and store.bars.timeframes(text.upper())):
        return _read_stored(store, text, options["timeframe"])
    if path.exists() or samples.is_sample(text) or not text.strip().replace("-", "").isalnum():
        return _loaded(load_bars(text, symbol=symbol, **options))
    if symbol is not None or options["tick_size"] is not None \
            or options["lot_size"] is not None or options["repair"]:
        raise ArgumentError("data: symbol, tick_size, lot_size and repair apply to files and "
                            f"frames; {text!r} is read from the database as it was imported")
    if store is not None:
        return _read_stored(store, text, options["timeframe"])
    from trading_strategy.config import load_settings

    opened = load_settings().open_store()
    try:
        return _read_stored(opened, text, options["timeframe"])
    finally:
        opened.engine.dispose()


def _loaded(result: Any) -> Loaded:
    return Loaded(result.bars, list(result.warnings), result.source, result.format)


def _read_stored(store: Any, text: str, timeframe: str | None) -> Loaded:
    """A symbol stored with ``data import``."""
    name = text.upper()
    if not store.bars.timeframes(name):
        raise DataError(f"{text!r} is neither a data file, a bundled sample nor a stored "
                        f"symbol; samples: {', '.join(samples.sample_symbols())}; "
                        f"give {_FORMS}")
    bars: BarSeries = store.bars.read_bars(name, timeframe=timeframe)
    return Loaded(bars, [], f"stored {name}")


# --- in-memory tables --------------------------------------------------------------------


def _kind(data: object) -> str:
    return type(data).__module__.split(".", 1)[0]


def _pyarrow() -> Any:
    try:
        import pyarrow as pa  # type: ignore[import-untyped]
    except ImportError:
        raise ArgumentError("data: a DataFrame or a mapping of columns needs pyarrow: pip "
                            "install 'trading-strategy[parquet]' (or pass a CSV path)") from None
    return pa


def _arrow_table(data: object) -> tuple[Any, str]:
    """An Arrow table of ``data`` and the symbol it names (``DEFAULT_SYMBOL`` if none)."""
    kind = _kind(data)
    if kind == "pandas" and hasattr(data, "columns"):
        return _pandas_table(data)
    if kind == "polars" and hasattr(data, "to_arrow"):
        return data.to_arrow(), DEFAULT_SYMBOL
    if kind == "pyarrow" and hasattr(data, "schema"):
        return data, DEFAULT_SYMBOL
    if isinstance(data, Mapping):
        return _mapping_table(data), DEFAULT_SYMBOL
    raise ArgumentError(f"data: got an object of type {type(data).__qualname__}; "
                        f"give {_FORMS}")


def _pandas_table(frame: Any) -> tuple[Any, str]:
    pa = _pyarrow()
    symbol = DEFAULT_SYMBOL
    attrs = getattr(frame, "attrs", None)  # where pandas keeps a frame's own metadata
    if isinstance(attrs, Mapping) and isinstance(attrs.get("symbol"), str):
        symbol = str(attrs["symbol"])
    columns = frame.columns
    if getattr(columns, "nlevels", 1) == 2 and columns.get_level_values(1).nunique() == 1:
        # yfinance.download("GOOG") labels columns (field, ticker): one ticker, named here.
        symbol = str(columns.get_level_values(1)[0]) or symbol
        frame = frame.droplevel(1, axis=1)
    elif getattr(columns, "nlevels", 1) > 1:
        raise ArgumentError("data: columns have several levels (several tickers?); "
                            "select one instrument, e.g. frame.xs('GOOG', axis=1, level=1)")
    frame = frame.rename(columns=str)
    index = frame.index
    # A DatetimeIndex (or an index named like a time column) is the timestamp column.
    if index.dtype.kind == "M" or str(index.name).lower() in _INDEX_NAMES:
        name = str(index.name) if index.name is not None else "timestamp"
        clash = [str(c) for c in frame.columns
                 if str(c).strip().lower() in (*_INDEX_NAMES, name.lower())]
        if clash:
            raise ArgumentError(f"data: both the index and column {clash[0]!r} hold "
                                "timestamps; drop one (frame.reset_index(drop=True) keeps "
                                "the column)")
        frame = frame.rename_axis(name).reset_index()
    try:
        return pa.Table.from_pandas(frame, preserve_index=False), symbol
    except (pa.ArrowException, TypeError, ValueError) as exc:
        raise ArgumentError(f"data: the DataFrame cannot be converted: {exc}") from None


def _mapping_table(data: Mapping[Any, Any]) -> Any:
    pa = _pyarrow()
    arrays: dict[str, Any] = {}
    for name, values in data.items():
        array = np.asarray(values)
        if array.ndim != 1:
            raise ArgumentError(f"data: column {name!r} must be one-dimensional, "
                                f"got shape {array.shape}")
        arrays[str(name)] = array if array.dtype != object else list(values)
    try:
        return pa.table(arrays)
    except (pa.ArrowException, TypeError, ValueError) as exc:
        raise ArgumentError(f"data: the columns cannot be converted: {exc}") from None


def _from_table(table: Any, *, symbol: str, **options: Any) -> Loaded:
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    label = "data (in-memory table)"
    with tempfile.TemporaryDirectory(prefix="trading-strategy-") as folder:
        path = Path(folder) / "data.parquet"
        pq.write_table(table, path, compression="none")
        try:
            result = load_bars(path, symbol=symbol, **options)
        except DataError as exc:
            raise DataError(exc.reason, path=label) from None
    # the temporary file is gone: warnings and the source name the table instead
    notes = [note.replace(str(path), label) for note in result.warnings]
    return Loaded(result.bars, notes, label, result.format)


# --- time bounds -------------------------------------------------------------------------


def parse_time(name: str, value: object, *, end: bool = False) -> int | None:
    """UTC ns of a bound given as ISO text, a date, a datetime (naive = UTC) or a pandas
    Timestamp; a plain date as ``end`` includes that whole day."""
    if value is None:
        return None
    whole_day = False
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ArgumentError(f"{name}: expected a date (2020-01-31) or an ISO time, "
                                f"got {value!r}") from None
        whole_day = len(value.strip()) == 10
    elif isinstance(value, datetime):  # pandas.Timestamp is a datetime
        moment = value
    elif isinstance(value, date):
        moment, whole_day = datetime(value.year, value.month, value.day), True
    else:
        raise ArgumentError(f"{name}: expected a date, a datetime or ISO text, got {value!r}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if end and whole_day:
        moment += timedelta(days=1) - timedelta(microseconds=1)
    return datetime_to_ns(moment.astimezone(UTC))
