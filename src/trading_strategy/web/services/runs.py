"""Stored backtest runs for the API: listing with sort and filters, one run with its equity
downsampled for a chart (or at full resolution inside a window), its candles."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import func, select

from trading_strategy.core.bars import datetime_to_ns
from trading_strategy.core.errors import UserError
from trading_strategy.storage import RunDetail, RunSummary
from trading_strategy.storage.tables import BacktestRunRow
from trading_strategy.storage.transactions import reading

__all__ = ["SORTABLE", "downsample", "equity_window", "list_runs", "run_candles", "run_detail"]

#: metrics a run list can be sorted by (columns of ``backtest_runs``)
SORTABLE = ("id", "created_at", "total_return", "cagr", "sharpe", "sortino", "max_drawdown",
            "win_rate", "profit_factor", "trade_count")
_COLUMNS = tuple(getattr(BacktestRunRow, name) for name in RunSummary.__dataclass_fields__)
_NS = 1_000_000_000


def list_runs(store: Any, *, limit: int, offset: int, sort: str, descending: bool,
              strategy: str | None, symbol: str | None) -> tuple[list[RunSummary], int]:
    """A page of runs and how many match in all; runs without the sort metric come last."""
    if sort not in SORTABLE:
        raise UserError(f"sort: one of {', '.join(SORTABLE)}, got {sort!r}")
    column = getattr(BacktestRunRow, sort)
    order = column.desc() if descending else column.asc()
    query = select(*_COLUMNS)
    count = select(func.count()).select_from(BacktestRunRow)
    for name, value in (("strategy", strategy), ("symbol", symbol)):
        if value is not None:
            query = query.where(getattr(BacktestRunRow, name) == value)
            count = count.where(getattr(BacktestRunRow, name) == value)
    query = query.order_by(column.is_(None), order, BacktestRunRow.id.desc())
    with reading(store.engine) as connection:
        rows = connection.execute(query.limit(limit).offset(offset)).all()
        total = int(connection.execute(count).scalar_one())
    return [RunSummary(*row) for row in rows], total


def get_detail(store: Any, run_id: int) -> RunDetail:
    detail: RunDetail | None = store.runs.get_run(run_id)
    if detail is None:
        raise LookupError(f"no backtest run with id {run_id}")
    return detail


def downsample(values: npt.NDArray[np.float64], points: int) -> npt.NDArray[np.int64]:
    """Indices that keep each bucket's first, lowest, highest and last point (so peaks and
    drawdowns survive), at most ``points`` of them, in order."""
    n = values.size
    if n <= points:
        return np.arange(n, dtype=np.int64)
    buckets = max(1, points // 4)
    size = -(-n // buckets)  # ceil: every bucket but the last is full ...
    buckets = -(-n // size)  # ... and the last is not empty
    padded = np.full(buckets * size, np.nan)
    padded[:n] = values
    grid = padded.reshape(buckets, size)
    base = np.arange(buckets, dtype=np.int64) * size
    lows = base + np.nanargmin(grid, axis=1)
    highs = base + np.nanargmax(grid, axis=1)
    last = np.minimum(base + size - 1, n - 1)
    picked = np.unique(np.concatenate((base, lows, highs, last)))
    return picked[picked < n]


def equity_window(detail: RunDetail, *, points: int, start: datetime | None,
                  end: datetime | None) -> tuple[list[dict[str, Any]], int, bool]:
    """The equity and drawdown points to draw, how many the run has, whether downsampled.
    A ``start``/``end`` window is served at full resolution when it holds ``points`` or
    fewer, else downsampled within the window (zooming in gets the detail)."""
    ts, equity = detail.curves.ts, detail.curves.equity
    total = int(ts.size)
    if total == 0:
        return [], 0, False
    peak = np.maximum.accumulate(equity)
    with np.errstate(divide="ignore", invalid="ignore"):
        drawdown = np.where(peak > 0, equity / peak - 1.0, 0.0)
    lo = 0 if start is None else int(np.searchsorted(ts, datetime_to_ns(start), "left"))
    hi = total if end is None else int(np.searchsorted(ts, datetime_to_ns(end), "right"))
    if lo >= hi:
        return [], total, False
    index = lo + downsample(equity[lo:hi], points)
    seconds = (ts[index] // _NS).tolist()
    out = [{"time": int(t), "equity": float(e), "drawdown": float(d)}
           for t, e, d in zip(seconds, equity[index].tolist(), drawdown[index].tolist(),
                              strict=True)]
    return _unique_times(out), total, index.size < hi - lo


def _unique_times(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # the charts need strictly increasing whole seconds; sub-second bars share one
    out: list[dict[str, Any]] = []
    for point in points:
        if out and point["time"] <= out[-1]["time"]:
            out[-1] = point | {"time": out[-1]["time"]}
            continue
        out.append(point)
    return out


def run_detail(store: Any, run_id: int, *, points: int, start: datetime | None,
               end: datetime | None) -> dict[str, Any]:
    detail = get_detail(store, run_id)
    equity, total, sampled = equity_window(detail, points=points, start=start, end=end)
    trades = [{k: (str(v) if k in ("quantity", "entry_price", "exit_price", "pnl",
                                   "commission") and v is not None else v)
               for k, v in asdict(trade).items()} for trade in detail.trades]
    return {"summary": asdict(detail.summary), "params": detail.params,
            "settings": detail.settings, "metrics": detail.metrics, "risk": detail.risk,
            "trades": trades, "equity": equity, "equity_points_total": total,
            "downsampled": sampled}


def run_candles(store: Any, run_id: int, *, points: int) -> list[dict[str, Any]]:
    """The run's price bars (its symbol over its data range), read as the backtest read
    them; at most ``points`` (longer runs are aggregated into wider candles)."""
    from trading_strategy.api.data import load_data

    summary = get_detail(store, run_id).summary
    if not summary.symbol:
        return []
    try:
        bars = load_data(summary.symbol, timeframe=summary.timeframe, start=summary.data_start,
                         end=summary.data_end, store=store).bars
    except (UserError, ValueError) as exc:
        raise LookupError(f"run {run_id}: its bars cannot be read ({exc})") from None
    ts = np.asarray(bars.ts, dtype=np.int64)
    columns = [np.asarray(getattr(bars, name), dtype=np.float64)
               for name in ("open", "high", "low", "close")]
    n = ts.size
    step = max(1, -(-n // points))
    starts = np.arange(0, n, step)
    o = columns[0][starts]
    h = np.maximum.reduceat(columns[1], starts)
    low = np.minimum.reduceat(columns[2], starts)
    c = columns[3][np.minimum(starts + step - 1, n - 1)]
    times = (ts[starts] // _NS).tolist()
    return _unique_times([{"time": int(t), "open": a, "high": b, "low": d, "close": e}
                          for t, a, b, d, e in zip(times, o.tolist(), h.tolist(),
                                                   low.tolist(), c.tolist(), strict=True)])
