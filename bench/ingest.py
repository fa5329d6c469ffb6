"""Ingest benchmark: 1,000,000 one-minute bars into SQLite and PostgreSQL, then read back.

Bars are generated here (random walk, seed 7, tick 0.01, integer volumes). Each engine
gets a fresh database: a SQLite file in a temporary folder, and a PostgreSQL database
created on the server (default ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``,
or ``--pg-url``) and dropped at the end. What is timed is the public API a user calls:

* import: ``BarStore.write_bars`` (validation, the exact diff against stored bars, the bulk
  write and the commit; one transaction), into an empty series;
* re-import: the same bars again (all unchanged: nothing is written);
* read month / read all: ``BarStore.read_bars`` into numpy arrays (best of 3);
* parse CSV: ``market_data.files.load_bars`` of the same bars written as a CSV file (every
  validation rule included; best of 3), with the default reader (pyarrow's when installed,
  see docs/data.md) and with the strict reader alone.

    .venv/bin/python bench/ingest.py [--rows N] [--pg-url URL]

Prints readable figures; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from trading_strategy.core.bars import BarSeries
from trading_strategy.core.instrument import Instrument
from trading_strategy.core.timeframe import Timeframe
from trading_strategy.storage import open_store, redact_url

_MINUTE_NS = 60_000_000_000
_MONTH_BARS = 30 * 24 * 60
_START_NS = 1_577_836_800_000_000_000  # 2020-01-01T00:00:00Z


def synthetic_bars(n: int, seed: int = 7) -> BarSeries:
    rng = np.random.default_rng(seed)
    close = np.round(100 + np.cumsum(rng.normal(0, 0.05, n)), 2)
    close = np.maximum(close, 1.0)
    open_ = np.round(np.maximum(close + rng.normal(0, 0.03, n), 1.0), 2).astype(np.float64)
    high = np.round(np.maximum(open_, close) + rng.integers(0, 5, n) * 0.01, 2)
    low = np.round(np.maximum(np.minimum(open_, close) - rng.integers(0, 5, n) * 0.01, 0.5), 2)
    volume = rng.integers(1, 5_000, n).astype(np.float64)
    ts = _START_NS + np.arange(n, dtype=np.int64) * _MINUTE_NS
    instrument = Instrument("BENCH", tick_size=Decimal("0.01"))
    return BarSeries(instrument, Timeframe.parse("1m"), ts, open_, high, low, close, volume)


def _timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def run_engine(url: str, bars: BarSeries) -> dict[str, float]:
    with open_store(url=url) as store:
        import_s, result = _timed(lambda: store.bars.write_bars(bars.instrument, "1m", bars))
        assert result.inserted == len(bars), result
        reimport_s, again = _timed(lambda: store.bars.write_bars(bars.instrument, "1m", bars))
        assert again.unchanged == len(bars), again
        month_end = int(bars.ts[min(_MONTH_BARS, len(bars)) - 1])
        month = [_timed(lambda: store.bars.read_bars("BENCH", "1m", end=month_end))[0]
                 for _ in range(3)]
        whole: list[float] = []
        for _ in range(3):
            seconds, back = _timed(lambda: store.bars.read_bars("BENCH", "1m"))
            whole.append(seconds)
        assert len(back) == len(bars) and np.array_equal(back.close, bars.close)
    return {
        "import_s": import_s,
        "rows_per_sec": len(bars) / import_s,
        "reimport_s": reimport_s,
        "read_month_s": min(month),
        "read_all_s": min(whole),
        "read_all_median_s": statistics.median(whole),
    }


def run_csv(bars: BarSeries, folder: Path) -> dict[str, float]:
    from trading_strategy.market_data.files import load_bars

    path = folder / "bench.csv"
    with path.open("w") as out:
        out.write("timestamp,open,high,low,close,volume\n")
        for row in zip(bars.ts.tolist(), bars.open.tolist(), bars.high.tolist(),
                       bars.low.tolist(), bars.close.tolist(), bars.volume.tolist(),
                       strict=True):
            out.write(f"{row[0] // 1_000_000_000},{row[1]},{row[2]},{row[3]},{row[4]},"
                      f"{int(row[5])}\n")

    def best(strict: bool) -> float:
        from trading_strategy.market_data import files

        fast = getattr(files, "read_csv_fast")  # noqa: B009
        if strict:  # the strict reader alone, as without pyarrow
            setattr(files, "read_csv_fast", lambda *args: None)  # noqa: B010
        try:
            runs: list[float] = []
            for _ in range(3):
                seconds, loaded = _timed(lambda: load_bars(
                    path, timeframe="1m", symbol="BENCH", tick_size=Decimal("0.01")))
                runs.append(seconds)
        finally:
            setattr(files, "read_csv_fast", fast)  # noqa: B010
        assert len(loaded.bars) == len(bars) and np.array_equal(loaded.bars.close, bars.close)
        return min(runs)

    default, strict = best(strict=False), best(strict=True)
    return {"csv_load_s": default, "csv_rows_per_sec": len(bars) / default,
            "csv_load_strict_s": strict}


def _pg_admin(url: str, sql: str) -> None:
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as connection:
        connection.execute(sql.encode())


def run_postgresql(admin_url: str, bars: BarSeries) -> dict[str, float] | None:
    name = f"ts_bench_{uuid.uuid4().hex[:10]}"
    try:
        _pg_admin(admin_url, f"CREATE DATABASE {name}")
    except Exception as exc:  # any failure: report it and carry on with SQLite
        print(f"PostgreSQL at {redact_url(admin_url)} unavailable ({type(exc).__name__}); "
              "skipped", file=sys.stderr)
        return None
    try:
        return run_engine(admin_url.rsplit("/", 1)[0] + f"/{name}", bars)
    finally:
        _pg_admin(admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _show(engine: str, figures: dict[str, float] | None, rows: int) -> None:
    if figures is None:
        print(f"{engine:<11} skipped")
        return
    print(f"{engine:<11} import {figures['import_s']:6.2f} s = "
          f"{figures['rows_per_sec']:>9,.0f} rows/s | re-import (unchanged) "
          f"{figures['reimport_s']:5.2f} s | read 1 month {figures['read_month_s'] * 1000:6.1f} ms"
          f" | read all {rows:,} {figures['read_all_s']:5.2f} s "
          f"(median {figures['read_all_median_s']:.2f} s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                        help="server to create the temporary benchmark database on")
    args = parser.parse_args(argv)

    bars = synthetic_bars(args.rows)
    print(f"{args.rows:,} one-minute bars, {len(bars) * 6 * 8 / 1e6:.0f} MB of columns")
    with tempfile.TemporaryDirectory(prefix="ts-bench-") as folder:
        sqlite = run_engine(f"sqlite:///{Path(folder) / 'bench.sqlite3'}", bars)
        csv = run_csv(bars, Path(folder))
    postgres = run_postgresql(args.pg_url, bars)
    _show("SQLite", sqlite, args.rows)
    _show("PostgreSQL", postgres, args.rows)
    print(f"{'CSV':<11} parse and validate {csv['csv_load_s']:5.2f} s = "
          f"{csv['csv_rows_per_sec']:>9,.0f} rows/s (strict reader alone "
          f"{csv['csv_load_strict_s']:5.2f} s)")

    def pick(figures: dict[str, float] | None, key: str) -> float | None:
        return None if figures is None else round(figures[key], 4)

    summary = {
        "rows": args.rows,
        "pg_rows_per_sec": pick(postgres, "rows_per_sec"),
        "sqlite_rows_per_sec": pick(sqlite, "rows_per_sec"),
        "pg_read_1m_s": pick(postgres, "read_all_s"),
        "sqlite_read_1m_s": pick(sqlite, "read_all_s"),
        "pg_read_month_s": pick(postgres, "read_month_s"),
        "sqlite_read_month_s": pick(sqlite, "read_month_s"),
        "pg_reimport_s": pick(postgres, "reimport_s"),
        "sqlite_reimport_s": pick(sqlite, "reimport_s"),
        "csv_load_s": round(csv["csv_load_s"], 4),
        "csv_rows_per_sec": round(csv["csv_rows_per_sec"], 1),
        "csv_load_strict_s": round(csv["csv_load_strict_s"], 4),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
