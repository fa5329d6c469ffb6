"""``trading-strategy runs``: list saved backtest runs and show one.

SQLAlchemy is imported inside the handlers (fast CLI start-up).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from trading_strategy.core.errors import UserError

if TYPE_CHECKING:
    from trading_strategy.storage import RunDetail, RunSummary

_SHOWN_METRICS = ("total_return", "cagr", "volatility", "sharpe", "sortino", "calmar",
                  "max_drawdown", "win_rate", "profit_factor", "expectancy", "trades",
                  "open_trades", "exposure")
#: labels that differ from the metric's key: ``trades`` counts closed trades only
_LABELS = {"trades": "closed_trades"}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("runs", help="list and show saved backtest runs")
    actions = parser.add_subparsers(dest="runs_action", metavar="ACTION")
    parser.set_defaults(handler=lambda _args: _usage(parser))

    lst = actions.add_parser("list", help="saved runs, newest first")
    lst.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    lst.add_argument("--strategy", help="only runs of this strategy")
    lst.add_argument("--symbol", help="only runs on this symbol")
    lst.set_defaults(handler=_list)

    show = actions.add_parser("show", help="one run: settings, metrics and trades")
    show.add_argument("run_id", metavar="ID", type=int)
    show.add_argument("--json", action="store_true", help="the full run as JSON")
    show.set_defaults(handler=_show)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _fmt(value: Any, pct: bool = False) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value * 100:.2f}%" if pct else f"{value:.3f}"
    return str(value)


def _date(moment: Any) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d")


def _list(args: argparse.Namespace) -> int:
    from trading_strategy.config import load_settings

    if args.limit <= 0:
        raise UserError("--limit must be a positive number")
    with load_settings().open_store() as store:
        runs = store.runs.list_runs(limit=args.limit, strategy=args.strategy,
                                    symbol=args.symbol)
    if not runs:
        print("no saved runs; run a backtest first: trading-strategy backtest --strategy "
              "sma_crossover --data GOOG")
        return 0
    rows: list[tuple[str, ...]] = [("ID", "CREATED (UTC)", "STRATEGY", "DATA", "RANGE",
                                     "RETURN", "SHARPE", "MAX DD", "TRADES", "STATUS")]
    rows += [_summary_row(run) for run in runs]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
              .rstrip())
    return 0


def _summary_row(run: RunSummary) -> tuple[str, ...]:
    return (str(run.id), run.created_at.strftime("%Y-%m-%d %H:%M"), run.strategy,
            f"{run.symbol or '-'} {run.timeframe or ''}".strip(),
            f"{_date(run.data_start)}..{_date(run.data_end)}", _fmt(run.total_return, True),
            _fmt(run.sharpe), _fmt(run.max_drawdown, True), _fmt(run.trade_count), run.status)


def _show(args: argparse.Namespace) -> int:
    from trading_strategy.config import load_settings

    with load_settings().open_store() as store:
        detail = store.runs.get_run(args.run_id)
    if detail is None:
        raise UserError(
            f"no backtest run with id {args.run_id}; see `trading-strategy runs list`")
    if args.json:
        print(json.dumps(detail.to_report(), indent=2, allow_nan=False))
        return 0
    _print_detail(detail)
    return 0


def _print_detail(detail: RunDetail) -> None:
    s = detail.summary
    print(f"run {s.id}: {s.strategy} on {s.symbol} {s.timeframe}, "
          f"{_date(s.data_start)}..{_date(s.data_end)} ({s.bars} bars)")
    print(f"  created {s.created_at.isoformat(timespec='seconds')}, status {s.status}, "
          f"code {s.code_version}")
    if detail.params:
        print("  params: " + ", ".join(f"{k}={v}" for k, v in detail.params.items()))
    print("metrics:")
    for name in _SHOWN_METRICS:
        if name in detail.metrics:
            pct = name in ("total_return", "cagr", "volatility", "max_drawdown", "win_rate",
                           "exposure")
            print(f"  {_LABELS.get(name, name):<14} {_fmt(detail.metrics[name], pct)}")
    still_open = sum(1 for trade in detail.trades if not trade.exit_time)
    print(f"trades listed: {len(detail.trades)} ({still_open} open); "
          f"equity points: {len(detail.curves.ts)}")
    for trade in detail.trades[:10]:
        exit_part = (f"{_date(trade.exit_time)} @ {trade.exit_price}" if trade.exit_time
                     else "open")
        print(f"  {trade.side:<5} {trade.quantity} {_date(trade.entry_time)} @ "
              f"{trade.entry_price} -> {exit_part}  pnl {trade.pnl}")
    if len(detail.trades) > 10:
        print(f"  ... {len(detail.trades) - 10} more (use --json for all)")
