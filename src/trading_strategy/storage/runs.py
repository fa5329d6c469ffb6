"""Backtest runs repository: save a backtest report, list runs, read one back in full.

A report (the dict built by ``backtesting.report``) is stored as: one ``backtest_runs`` row
(params, settings, metrics and any other report keys as JSON, headline metrics as columns
for sorting and filtering, code version, UTC creation time, status, and the curves), its
trades in ``backtest_trades``, all in one transaction. Report numbers are JSON floats;
trade prices and money are stored as the decimal that float prints as
(``Decimal(repr(x))``), i.e. exactly what the report showed.

The curves (bar times, equity and, when given, the position in lots after each bar) are one
compressed blob per run (:func:`pack_curves`): a million-bar run is a few megabytes written
in one statement, not a million rows. The equity is kept as the report's float64 values,
bit for bit, so ``runs show`` prints exactly what the report did.
"""

from __future__ import annotations

import io
import math
import re
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection, Engine

from trading_strategy.core.bars import datetime_to_ns
from trading_strategy.core.errors import DataError
from trading_strategy.core.timeframe import Timeframe
from trading_strategy.storage.jsonable import from_json, to_json
from trading_strategy.storage.tables import BacktestRunRow, BacktestTradeRow
from trading_strategy.storage.transactions import reading, writing
from trading_strategy.storage.types import to_utc
from trading_strategy.storage.version import code_version

__all__ = ["Curves", "RunDetail", "RunRepository", "RunSummary", "StoredTrade", "pack_curves",
           "unpack_curves"]

_KNOWN_KEYS = {"strategy", "params", "data", "settings", "metrics", "trades", "equity_curve",
               "risk"}
_HEADLINE = ("total_return", "cagr", "sharpe", "sortino", "max_drawdown", "win_rate",
             "profit_factor")
_INSERT_BATCH = 10_000
#: extra key of a portfolio's per-trade [strategy, symbol] (see ``_extra``)
_TRADE_SOURCES = "trade_sources"


@dataclass(frozen=True, slots=True)
class RunSummary:
    id: int
    created_at: datetime
    status: str
    strategy: str
    symbol: str | None
    timeframe: str | None
    data_start: datetime | None
    data_end: datetime | None
    bars: int | None
    total_return: float | None
    cagr: float | None
    sharpe: float | None
    sortino: float | None
    max_drawdown: float | None
    win_rate: float | None
    profit_factor: float | None
    trade_count: int | None
    code_version: str


@dataclass(frozen=True, slots=True)
class StoredTrade:
    side: str
    quantity: Decimal
    entry_time: datetime
    entry_price: Decimal
    exit_time: datetime | None
    exit_price: Decimal | None
    pnl: Decimal | None
    trade_return: float | None
    commission: Decimal | None


@dataclass(frozen=True, slots=True)
class Curves:
    """A run's per-bar curves: bar times (UTC ns), equity (the report's floats) and, when
    saved with it, the position in lots after each bar."""

    ts: npt.NDArray[np.int64]
    equity: npt.NDArray[np.float64]
    position_lots: npt.NDArray[np.int64] | None = None


_CURVES_MAGIC = b"TSCURVE1"


def pack_curves(curves: Curves) -> bytes:
    """One zlib-compressed blob: the times as deltas (regular bars compress to almost
    nothing), the equity's float64 bits and the positions, each as a ``.npy`` record."""
    buffer = io.BytesIO()
    deltas = np.diff(curves.ts, prepend=np.int64(0)) if curves.ts.size else curves.ts
    position = (np.zeros(0, dtype=np.int64) if curves.position_lots is None
                else np.asarray(curves.position_lots, dtype=np.int64))
    for array in (deltas, curves.equity, position):
        np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return _CURVES_MAGIC + zlib.compress(buffer.getvalue(), 1)


def unpack_curves(blob: bytes) -> Curves:
    if not blob.startswith(_CURVES_MAGIC):
        raise DataError("stored run curves: unknown format")
    buffer = io.BytesIO(zlib.decompress(blob[len(_CURVES_MAGIC):]))
    deltas, equity, position = (np.load(buffer, allow_pickle=False) for _ in range(3))
    ts = np.cumsum(deltas, dtype=np.int64)
    lots = position if position.size == ts.size and ts.size else None
    return Curves(ts, equity.astype(np.float64, copy=False), lots)


def _curves_of(curve: Any, positions: Sequence[int] | npt.NDArray[np.int64] | None) -> Curves:
    """The report's equity curve as arrays: an ``EquityCurve`` already holds them; a list
    of ``{"time", "equity"}`` points (older reports, portfolios) is converted."""
    ts, equity = getattr(curve, "ts", None), getattr(curve, "equity", None)
    if not isinstance(ts, np.ndarray) or not isinstance(equity, np.ndarray):
        points = list(curve or [])
        ts = np.array([_ns(_time(p.get("time"), "equity_curve time")) for p in points],
                      dtype=np.int64)
        equity = np.array([_float(p.get("equity")) for p in points], dtype=np.float64)
    lots = None if positions is None else np.asarray(positions, dtype=np.int64)
    if lots is not None and lots.shape != ts.shape:
        raise DataError(f"backtest report: {lots.size} positions for {ts.size} equity points")
    return Curves(ts.astype(np.int64, copy=False), equity.astype(np.float64, copy=False), lots)


def _ns(moment: datetime | None) -> int:
    if moment is None:
        raise DataError("backtest report: an equity point has no time")
    return datetime_to_ns(moment)


@dataclass(frozen=True, slots=True)
class RunDetail:
    summary: RunSummary
    params: dict[str, Any]
    settings: dict[str, Any]
    metrics: dict[str, Any]
    risk: dict[str, Any] | None
    extra: dict[str, Any]
    trades: list[StoredTrade]
    curves: Curves = field(repr=False)

    @property
    def equity_curve(self) -> list[tuple[datetime, Decimal]]:
        """(UTC time, equity as the decimal the report printed) per bar."""
        return [(to_utc(int(t)), Decimal(repr(e)))
                for t, e in zip(self.curves.ts.tolist(), self.curves.equity.tolist(),
                                strict=True)]

    def to_report(self) -> dict[str, Any]:
        """The run as a report-shaped, JSON-ready dict (plus ``id`` and ``run``)."""
        s = self.summary
        timeframe = Timeframe.parse(s.timeframe) if s.timeframe else None
        extra = dict(self.extra)
        sources = extra.pop(_TRADE_SOURCES, None) or [None] * len(self.trades)
        report: dict[str, Any] = {
            "id": s.id,
            "strategy": s.strategy,
            "params": self.params,
            "data": {"symbol": s.symbol, "timeframe": s.timeframe,
                     "start": _iso(s.data_start, timeframe), "end": _iso(s.data_end, timeframe),
                     "bars": s.bars},
            "settings": self.settings,
            "metrics": self.metrics,
            "trades": [
                {**_source(source), "side": t.side, "quantity": _number(t.quantity),
                 "entry_time": _iso(t.entry_time, timeframe),
                 "entry_price": _number(t.entry_price),
                 "exit_time": _iso(t.exit_time, timeframe), "exit_price": _number(t.exit_price),
                 "pnl": _number(t.pnl), "return": t.trade_return,
                 "commission": _number(t.commission)}
                for t, source in zip(self.trades, sources, strict=True)
            ],
            "equity_curve": [{"time": _iso(to_utc(t), timeframe), "equity": _whole(e)}
                             for t, e in zip(self.curves.ts.tolist(),
                                             self.curves.equity.tolist(), strict=True)],
            **extra,
            "run": {"created_at": _iso(s.created_at, None), "status": s.status,
                    "code_version": s.code_version},
        }
        if self.risk is not None:
            report["risk"] = self.risk
        return to_json(report)  # type: ignore[no-any-return]


def _source(source: Any) -> dict[str, Any]:
    """A portfolio trade's strategy and symbol (nothing for a single backtest's)."""
    if not source:
        return {}
    strategy, symbol = source
    return {"strategy": strategy, "symbol": symbol}


def _iso(moment: datetime | None, timeframe: Timeframe | None) -> str | None:
    if moment is None:
        return None
    midnight = moment.time() == datetime.min.time()
    if timeframe is not None and not timeframe.is_intraday and midnight:
        return moment.date().isoformat()
    return moment.isoformat().replace("+00:00", "Z")


def _number(value: Decimal | None) -> float | int | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def _whole(value: float) -> float | int:
    return int(value) if value.is_integer() else value


def _time(value: Any, what: str) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime | int):
        return to_utc(value)
    try:
        return to_utc(datetime.fromisoformat(str(value)))
    except ValueError:
        raise DataError(f"backtest report: {what} {value!r} is not an ISO time") from None


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else None
    return Decimal(str(value))


def _float(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def _trade_rows(run_id: int, trades: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for seq, trade in enumerate(trades):
        rows.append({
            "run_id": run_id, "seq": seq, "side": str(trade.get("side", "")),
            "quantity": _decimal(trade.get("quantity", 0)),
            "entry_time": _time(trade.get("entry_time"), "entry_time"),
            "entry_price": _decimal(trade.get("entry_price", 0)),
            "exit_time": _time(trade.get("exit_time"), "exit_time"),
            "exit_price": _decimal(trade.get("exit_price")),
            "pnl": _decimal(trade.get("pnl")), "trade_return": _float(trade.get("return")),
            "commission": _decimal(trade.get("commission")),
        })
    return rows


def _insert_many(connection: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    for lo in range(0, len(rows), _INSERT_BATCH):
        connection.execute(insert(table), rows[lo:lo + _INSERT_BATCH])


_TRADE_FIELDS = ("run_id", "seq", "side", "quantity", "entry_time", "entry_price",
                 "exit_time", "exit_price", "pnl", "trade_return", "commission")


def _insert_trades_sqlite(connection: Connection, run_id: int,
                          trades: Iterable[Mapping[str, Any]]) -> None:
    """The trade rows on SQLite as ``_trade_rows`` and the column types would store them
    (decimals as their nearest REAL, times as INTEGER ns), in one ``executemany`` on the
    driver: SQLAlchemy's per-row parameter processing costs several times SQLite's insert
    (tens of thousands of trades in a million-bar run)."""
    trades = list(trades)
    entries = _times_ns([trade.get("entry_time") for trade in trades], "entry_time")
    exits = _times_ns([trade.get("exit_time") for trade in trades], "exit_time")
    rows = []
    for seq, (trade, entry, exit_) in enumerate(zip(trades, entries, exits, strict=True)):
        rows.append((
            run_id, seq, str(trade.get("side", "")), _real(trade.get("quantity", 0)),
            entry, _real(trade.get("entry_price", 0)), exit_,
            _real(trade.get("exit_price")), _real(trade.get("pnl")),
            _float(trade.get("return")), _real(trade.get("commission")),
        ))
    if not rows:
        return
    table = BacktestTradeRow.__tablename__
    marks = ", ".join("?" * len(_TRADE_FIELDS))
    connection.exec_driver_sql(
        f"INSERT INTO {table} ({', '.join(_TRADE_FIELDS)}) VALUES ({marks})", rows)


def _real(value: Any) -> float | None:
    """``float(_decimal(value))``: what ``ExactDecimal`` stores on SQLite."""
    if type(value) is float:  # the report's numbers: repr round-trips, float is itself
        return value if math.isfinite(value) else None
    if type(value) is int:  # both roundings are correct: the same float
        return float(value)
    exact = _decimal(value)
    return None if exact is None else float(exact)


def _time_ns(value: Any, what: str) -> int | None:
    """``_time(value)`` as ``UtcTimestamp`` stores it on SQLite (ns since the epoch)."""
    moment = _time(value, what)
    return None if moment is None else datetime_to_ns(moment)


#: the report's own time text (``format_ts``): a date, or a UTC time with ``Z``
_REPORT_TIME = re.compile(r"\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?Z)?")


def _times_ns(values: list[Any], what: str) -> list[int | None]:
    """``_time_ns`` of each value; the report's own time text parsed by numpy in one call
    (the same instants ``datetime.fromisoformat`` reads from those shapes), anything else
    (offsets, datetimes, epochs, a bad value) one at a time as ``_time_ns`` does."""
    texts = [value for value in values if isinstance(value, str) and value]
    if len(texts) != sum(value is not None and value != "" for value in values) or not all(
            _REPORT_TIME.fullmatch(text) and not text.startswith("0000") for text in texts):
        return [_time_ns(value, what) for value in values]
    try:
        # microseconds (numpy's range is then years beyond 9999), to ns as Python ints
        parsed = np.array([text.rstrip("Z") for text in texts],
                          dtype="datetime64[us]").astype(np.int64).tolist()
    except ValueError:  # an impossible date: the row-by-row path names it
        return [_time_ns(value, what) for value in values]
    found = iter(parsed)
    return [next(found) * 1000 if value else None for value in values]


def _extra(report: Mapping[str, Any], trades: list[Any]) -> dict[str, Any]:
    """The report's other keys; a portfolio's trades also name their strategy and symbol,
    which the trade rows have no column for: kept beside them, in row order."""
    extra = {k: v for k, v in report.items() if k not in _KNOWN_KEYS}
    if any("strategy" in trade for trade in trades):
        extra[_TRADE_SOURCES] = [[trade.get("strategy"), trade.get("symbol")]
                                 for trade in trades]
    return extra


class RunRepository:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def save_run(self, report: Mapping[str, Any], *, status: str = "completed",
                 positions: Sequence[int] | npt.NDArray[np.int64] | None = None) -> int:
        """Store a backtest report, with the position in lots after each bar when given;
        returns the new run id."""
        strategy = report.get("strategy")
        if not strategy:
            raise DataError("backtest report has no 'strategy'")
        data: Mapping[str, Any] = report.get("data") or {}
        metrics: Mapping[str, Any] = report.get("metrics") or {}
        trades = list(report.get("trades") or [])
        headline = {name: _float(metrics.get(name)) for name in _HEADLINE}
        trade_count = metrics.get("trades", len(trades))
        values = {
            "created_at": datetime.now(UTC), "status": status, "strategy": str(strategy),
            "symbol": data.get("symbol"), "timeframe": data.get("timeframe"),
            "data_start": _time(data.get("start"), "data.start"),
            "data_end": _time(data.get("end"), "data.end"), "bars": data.get("bars"),
            "params": to_json(report.get("params") or {}),
            "settings": to_json(report.get("settings") or {}),
            "metrics": to_json(metrics), "risk": to_json(report.get("risk")),
            "extra": to_json(_extra(report, trades)),
            "trade_count": int(trade_count) if trade_count is not None else None,
            "code_version": code_version(), **headline,
            "curves": pack_curves(_curves_of(report.get("equity_curve"), positions)),
        }
        with writing(self._engine) as connection:
            run_id: int = connection.execute(
                insert(BacktestRunRow).values(**values).returning(BacktestRunRow.id)
            ).scalar_one()
            if connection.dialect.name == "sqlite":
                _insert_trades_sqlite(connection, run_id, trades)
            else:
                _insert_many(connection, BacktestTradeRow, _trade_rows(run_id, trades))
        return run_id

    def list_runs(self, *, limit: int = 50, offset: int = 0, strategy: str | None = None,
                  symbol: str | None = None) -> list[RunSummary]:
        """Runs, newest first."""
        query = select(*_SUMMARY_COLUMNS).order_by(BacktestRunRow.id.desc())
        if strategy is not None:
            query = query.where(BacktestRunRow.strategy == strategy)
        if symbol is not None:
            query = query.where(BacktestRunRow.symbol == symbol)
        with reading(self._engine) as connection:
            rows = connection.execute(query.limit(limit).offset(offset)).all()
        return [RunSummary(*row) for row in rows]

    def get_run(self, run_id: int) -> RunDetail | None:
        """One run with its trades and equity curve, or ``None``."""
        with reading(self._engine) as connection:
            row = connection.execute(
                select(*_SUMMARY_COLUMNS, BacktestRunRow.params, BacktestRunRow.settings,
                       BacktestRunRow.metrics, BacktestRunRow.risk, BacktestRunRow.extra,
                       BacktestRunRow.curves)
                .where(BacktestRunRow.id == run_id)
            ).first()
            if row is None:
                return None
            trades = connection.execute(
                select(*_TRADE_COLUMNS).where(BacktestTradeRow.run_id == run_id)
                .order_by(BacktestTradeRow.seq)
            ).all()
        n = len(_SUMMARY_COLUMNS)
        params, settings, metrics, risk, extra, curves = row[n:]
        return RunDetail(
            RunSummary(*row[:n]), from_json(params), from_json(settings), from_json(metrics),
            from_json(risk), from_json(extra or {}),
            [StoredTrade(*trade) for trade in trades],
            unpack_curves(curves) if curves else Curves(np.zeros(0, np.int64),
                                                        np.zeros(0, np.float64)),
        )

    def delete_run(self, run_id: int) -> bool:
        """Delete a run with its trades and curves; whether it existed."""
        with writing(self._engine) as connection:
            connection.execute(delete(BacktestTradeRow).where(BacktestTradeRow.run_id == run_id))
            deleted = connection.execute(
                delete(BacktestRunRow).where(BacktestRunRow.id == run_id)
            )
        return bool(deleted.rowcount)


_SUMMARY_COLUMNS = tuple(
    getattr(BacktestRunRow, name) for name in RunSummary.__dataclass_fields__
)
_TRADE_COLUMNS = tuple(
    getattr(BacktestTradeRow, name) for name in StoredTrade.__dataclass_fields__
)
