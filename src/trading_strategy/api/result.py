"""``BacktestResult``: what ``Backtest.run`` returns, shaped for a notebook.

The numbers are the report's (``backtesting.report.build_report``, the CLI's JSON); this
module only re-shapes them into pandas objects and renders. pandas is imported when a
pandas-shaped attribute is first read, so a script that only wants ``report`` or
``to_json`` never pays for it.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from trading_strategy.api import display

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped, import-not-found, unused-ignore]

    from trading_strategy.backtesting.runner import BacktestResult as RunResult
    from trading_strategy.core.orders import Order


def _pandas() -> Any:
    try:
        import pandas
    except ImportError:
        raise ImportError("this attribute is a pandas object: pip install pandas "
                          "(report, to_json and to_html work without it)") from None
    return pandas


class BacktestResult:
    """One backtest's outcome.

    ``stats`` (a pandas Series with the report's metric names), ``trades``, ``orders`` and
    ``fills`` (DataFrames), ``equity`` (a DataFrame of equity, drawdown and position on a
    UTC DatetimeIndex), ``report`` (the dict the JSON report holds), :meth:`to_json`,
    :meth:`to_html`, and a rich display in notebooks. ``run`` is the engine-level result.
    """

    def __init__(self, run: RunResult) -> None:
        self.run = run

    @cached_property
    def report(self) -> dict[str, Any]:
        """The JSON report as a dict (``metrics``, ``trades``, ``settings``, ``data``, ...);
        built on first use, which on a million bars is most of a run's time."""
        from trading_strategy.backtesting.report import build_report

        return build_report(self.run)

    # --- pandas views -------------------------------------------------------------------
    @cached_property
    def stats(self) -> pd.Series:
        """The report's metrics, by name (``total_return``, ``sharpe``, ``max_drawdown``...)."""
        pd = _pandas()
        return pd.Series(self.report["metrics"], name=self.report["strategy"], dtype=object)

    @cached_property
    def trades(self) -> pd.DataFrame:
        """One row per trade, as in the report (an open trade has no exit time)."""
        pd = _pandas()
        columns = ["side", "quantity", "entry_time", "entry_price", "exit_time",
                   "exit_price", "pnl", "return", "commission"]
        frame = pd.DataFrame(self.report["trades"], columns=columns)
        for column in ("entry_time", "exit_time"):
            frame[column] = pd.to_datetime(frame[column], utc=True)
        return frame

    @cached_property
    def orders(self) -> pd.DataFrame:
        """Every order the strategy placed (or its risk settings attached), in order."""
        pd = _pandas()
        engine = self.run.engine
        inst, ts = engine.instrument, engine.bars.ts
        by_id: dict[str, Order] = {o.id: o for o in engine.state.closed_orders}
        by_id.update((o.id, o) for o in engine.orders if o.is_open)
        rows = []
        for o in sorted(by_id.values(), key=lambda o: (o.created_index, o.id)):
            rows.append({
                "id": o.id,
                "time": int(ts[min(max(o.created_index, 0), len(ts) - 1)]),
                "side": o.side.value,
                "type": o.order_type.value,
                "quantity": float(inst.quantity(o.lots)),
                "filled": float(inst.quantity(o.filled_lots)),
                "limit": None if o.limit_ticks is None else float(inst.price(o.limit_ticks)),
                "stop": None if o.stop_ticks is None else float(inst.price(o.stop_ticks)),
                "tif": o.tif.value,
                "status": o.status.value,
                "reason": o.reason,
                "tag": o.tag,
                "parent_id": o.parent_id,
            })
        columns = ["id", "time", "side", "type", "quantity", "filled", "limit", "stop",
                   "tif", "status", "reason", "tag", "parent_id"]
        frame = pd.DataFrame(rows, columns=columns)
        frame["time"] = pd.to_datetime(frame["time"].astype("int64"), utc=True)
        return frame

    @cached_property
    def fills(self) -> pd.DataFrame:
        """Every execution: time, order, side, quantity, price, commission, slippage."""
        pd = _pandas()
        inst = self.run.engine.instrument
        rows = [{"time": f.ts_event, "order_id": f.order_id, "side": f.side.value,
                 "quantity": float(inst.quantity(f.lots)),
                 "price": float(inst.price(f.price_ticks)),
                 "commission": float(inst.money(f.commission)),
                 "slippage": float(inst.money(f.slippage))}
                for f in self.run.engine.state.fills]
        columns = ["time", "order_id", "side", "quantity", "price", "commission", "slippage"]
        frame = pd.DataFrame(rows, columns=columns)
        frame["time"] = pd.to_datetime(frame["time"].astype("int64"), utc=True)
        return frame

    @cached_property
    def equity(self) -> pd.DataFrame:
        """Equity (account currency), drawdown (a fraction, <= 0) and position (quantity)
        after each bar, indexed by the bar's UTC open time."""
        pd = _pandas()
        run = self.run
        lot = float(run.bars.instrument.lot_size)
        index = pd.DatetimeIndex(pd.to_datetime(run.bars.ts, utc=True), name="time")
        return pd.DataFrame({"equity": run.equity,
                             "drawdown": display.drawdown(run.equity),
                             "position": run.engine.position_curve * lot}, index=index)

    # --- files --------------------------------------------------------------------------
    def to_json(self, path: str | os.PathLike[str] | None = None) -> str:
        """The JSON report, byte for byte the CLI's ``--json``; written to ``path`` if given."""
        from trading_strategy.backtesting.report import dumps

        text = dumps(self.report)
        if path is not None:
            _write(Path(path), text)
        return text

    def html(self) -> str:
        """The self-contained HTML report page as text (``to_html`` writes it)."""
        from trading_strategy.backtesting.html_report import render_html
        from trading_strategy.backtesting.indicator_plot import plottable_indicators

        curve = self.report["equity_curve"]
        times = curve.times if hasattr(curve, "times") else [p["time"] for p in curve]
        sections = []
        if self.report.get("sensitivity"):  # set by backtest --sensitivity
            from trading_strategy.research.sensitivity import html_section

            sections.append(html_section(self.report["sensitivity"]))
        return render_html(self.report, price_time=times, price_close=self.run.bars.close,
                           bars=self.run.bars,
                           indicators=plottable_indicators(self.run.engine.ctx),
                           sections=sections)

    def to_html(self, path: str | os.PathLike[str]) -> Path:
        """The self-contained HTML report (no network needed to view it), as ``--html``."""
        target = Path(path)
        _write(target, self.html())
        return target

    # --- storage ------------------------------------------------------------------------
    def save(self, store: Any) -> int:
        """Save the run (report, trades, and the equity and position curves) to an open
        ``storage.Store``, as the CLI does; returns the run id (``trading-strategy runs
        show ID``)."""
        from trading_strategy.api.saving import save_report

        return save_report(store, *self.saved_parts())

    def saved_parts(self) -> tuple[dict[str, Any], np.ndarray[Any, np.dtype[np.int64]]]:
        """What :meth:`save` stores: the report and the position (lots) after each bar, as
        ``api.saving.save_report(store, report, positions)`` takes them (for a store in
        another process: the CLI's ``cli.store_process``)."""
        return self.report, self.run.engine.position_curve

    # --- display ------------------------------------------------------------------------
    def _repr_html_(self) -> str:
        return display.result_html(self.report, np.asarray(self.run.equity, dtype=np.float64))

    def __repr__(self) -> str:
        data = self.report["data"]
        metrics = self.report["metrics"]
        return (f"<BacktestResult {self.report['strategy']} on {data['symbol']} "
                f"{data['timeframe']} {data['start']}..{data['end']}: "
                f"{display.metric_text('total_return', metrics.get('total_return'))} return, "
                f"{metrics.get('trades', 0)} trades>")


def _write(path: Path, text: str) -> None:
    from trading_strategy.api.errors import ArgumentError

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ArgumentError(f"path: cannot write {path}: {exc.strerror}") from None
