"""``trading-strategy backtest``: run one strategy over one instrument's bars, or with
``--config`` the portfolio file a paper session runs (``trading-strategy run``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import partial
from pathlib import Path
from typing import Any, Generic, TypeVar

from trading_strategy.cli.data_cmd import FORMAT_FLAGS, add_format_options, format_from_args
from trading_strategy.cli.database import open_database
from trading_strategy.core.errors import ConfigError

_T = TypeVar("_T")
_COMMISSION_MODELS = ("percent", "per-unit", "fixed")
_SLIPPAGE_MODELS = ("bps", "range", "atr")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "backtest", help="backtest a strategy on stored, bundled or CSV/Parquet data",
        description="Event-driven backtest: orders decided on a bar fill from the next bar, "
        "with commission, slippage and the project's fill rules. One strategy with "
        "--strategy and --data, or a portfolio with --config.")
    p.add_argument("--strategy", default=None, help="strategy name (see `strategies`)")
    p.add_argument("--data", default=None,
                   help="a symbol (bundled sample or stored data) or a data file path: "
                   ".csv, .txt (MetaTrader exports), either maybe .gz, or .parquet")
    p.add_argument("--config", type=Path, default=None, metavar="PORTFOLIO",
                   help="backtest a portfolio file (the one `trading-strategy run` takes): its "
                   "strategies, capital, sizes, venue costs and risk limits, on the simulated "
                   "clock")
    p.add_argument("--timeframe", default=None, help="bar timeframe, e.g. 1d, 1h, 1m "
                   "(default: inferred from the data)")
    p.add_argument("--start", default=None, help="first date (YYYY-MM-DD or ISO time, UTC)")
    p.add_argument("--end", default=None, help="last date (inclusive)")
    p.add_argument("--param", action="append", default=[], metavar="K=V",
                   help="strategy parameter, repeatable")
    p.add_argument("--cash", default="10000", help="initial cash (default 10000)")
    p.add_argument("--commission", default=None, help="commission: a rate of notional for "
                   "percent (0.001 = 0.1%%; default 0), money per unit for per-unit, money "
                   "per order for fixed (required by those two)")
    p.add_argument("--commission-model", choices=_COMMISSION_MODELS, default="percent")
    p.add_argument("--commission-min", default=None,
                   help="minimum commission per fill (per-unit model only; default 0)")
    p.add_argument("--slippage-bps", default=None,
                   help="fixed slippage in basis points (default: no slippage)")
    p.add_argument("--slippage-model", choices=_SLIPPAGE_MODELS, default=None,
                   help="bps: --slippage-value (or --slippage-bps) basis points, range: "
                   "--slippage-value × bar range, atr: --slippage-value × ATR(14); the "
                   "value is required")
    p.add_argument("--slippage-value", default=None,
                   help="parameter of --slippage-model (required with it)")
    p.add_argument("--volume-cap", default=None,
                   help="fill at most this fraction of each bar's volume (e.g. 0.1)")
    p.add_argument("--latency-bars", type=int, default=1,
                   help="bars between decision and earliest fill (default 1: next bar)")
    p.add_argument("--latency-ms", type=int, default=None,
                   help="intraday: order reaches the venue this many ms after the bar close")
    p.add_argument("--size", default="all-in",
                   help="default order size: a quantity in whole lots (1), a percent of "
                   "equity (25%%) or all-in (default); 0.5 is a quantity, never half of "
                   "equity")
    p.add_argument("--periods-per-year", type=float, default=None,
                   help="bars per year for CAGR, volatility and ratios (default: from the "
                   "instrument's calendar and the bar length: XNYS 252 days of 6.5 h, FX "
                   "260 days of 24 h, crypto 365 days of 24 h; see docs/backtesting.md)")
    p.add_argument("--risk-free-rate", type=float, default=0.0)
    p.add_argument("--indicators", choices=("vectorized", "incremental"), default="vectorized",
                   help="indicator engine (incremental = the live code path)")
    p.add_argument("--tick-size", default=None, help="price tick (default: from the data)")
    p.add_argument("--lot-size", default=None, help="quantity step (default 1)")
    p.add_argument("--repair", action="store_true",
                   help="sort and de-duplicate timestamps (with a warning) instead of failing")
    p.add_argument("--risk-config", default=None, metavar="FILE",
                   help="TOML settings file with a [risk] table (environment variables "
                   "TRADING_STRATEGY_RISK__* override it); the same limits live trading uses")
    p.add_argument("--allow-short-history", action="store_true",
                   help="allow less than two years of data")
    p.add_argument("--json", dest="json_path", default=None, metavar="PATH",
                   help="write the JSON report to PATH (- for stdout)")
    p.add_argument("--html", dest="html_path", default=None, metavar="PATH",
                   help="write a self-contained HTML report")
    p.add_argument("--quiet", action="store_true", help="no summary table")
    p.add_argument("--sensitivity", action="store_true",
                   help="also run under optimistic (no costs) and pessimistic (2x "
                        "commission, 3x slippage, +1 bar latency) fills; warns when the "
                        "edge exists only under the optimistic one")
    p.add_argument("--no-store", action="store_true",
                   help="neither read bars from nor save the run to the database")
    add_format_options(p)  # the layout of a --data file, as `data import` takes it
    # one-shot: the process ends without taking a run's objects apart (cli.process_end)
    p.set_defaults(handler=run, quick_exit=True)


def _decimal(name: str, text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ConfigError(f"{name} must be a number, got {text!r}") from None
    if not value.is_finite():
        raise ConfigError(f"{name} must be a finite number, got {text!r}")
    return value


def _params(pairs: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--param expects K=V, got {pair!r}")
        params[key.strip()] = value.strip()
    return params


def build_commission(args: argparse.Namespace) -> Any:
    """The commission model; a model whose fee would silently be zero is refused.

    percent defaults to no commission (the documented default); per-unit and fixed read
    ``--commission`` as money, so they need it; ``--commission-min`` belongs to per-unit.
    """
    from trading_strategy.kernel import costs

    model = args.commission_model
    if args.commission is None and model != "percent":
        raise ConfigError(f"--commission-model {model} needs --commission (money per "
                          f"{'unit' if model == 'per-unit' else 'order'}, e.g. "
                          f"{'0.005' if model == 'per-unit' else '1'})")
    if args.commission_min is not None and model != "per-unit":
        raise ConfigError(f"--commission-min applies to --commission-model per-unit only, "
                          f"not {model}")
    rate = _decimal("--commission", args.commission or "0")
    if model == "percent":
        return costs.PercentCommission(rate)
    if model == "per-unit":
        return costs.PerUnitCommission(rate, _decimal("--commission-min",
                                                      args.commission_min or "0"))
    return costs.FixedCommission(rate)


_SLIPPAGE_EXAMPLE = {"bps": "--slippage-value 2 (2 bps of the price)",
                     "range": "--slippage-value 0.1 (a tenth of the bar's high - low)",
                     "atr": "--slippage-value 0.1 (a tenth of ATR(14))"}


def build_slippage(args: argparse.Namespace) -> Any:
    """The slippage model; a model without its value (which used to mean zero) is refused,
    and so are values that would be ignored."""
    from trading_strategy.kernel import costs

    model, bps, value = args.slippage_model, args.slippage_bps, args.slippage_value
    if model is None:
        if value is not None:
            raise ConfigError("--slippage-value needs --slippage-model bps, range or atr")
        return (costs.NoSlippage() if bps is None
                else costs.FixedBpsSlippage(_decimal("--slippage-bps", bps)))
    if bps is not None and model != "bps":
        raise ConfigError(f"--slippage-bps conflicts with --slippage-model {model}: "
                          f"give its size with --slippage-value")
    if bps is not None and value is not None:
        raise ConfigError("give the bps either as --slippage-bps or as --slippage-value, "
                          "not both")
    if model == "bps" and bps is not None:
        return costs.FixedBpsSlippage(_decimal("--slippage-bps", bps))
    if value is None:
        raise ConfigError(f"--slippage-model {model} needs {_SLIPPAGE_EXAMPLE[model]}")
    amount = _decimal("--slippage-value", value)
    if model == "bps":
        return costs.FixedBpsSlippage(amount)
    if model == "range":
        return costs.RangeSlippage(amount)
    return costs.AtrSlippage(amount)


def build_settings(args: argparse.Namespace) -> Any:
    from trading_strategy.backtesting.settings import BacktestSettings, IndicatorMode
    from trading_strategy.kernel.sizing import SizeSpec

    return BacktestSettings(
        initial_cash=_decimal("--cash", args.cash),
        commission=build_commission(args),
        slippage=build_slippage(args),
        size=SizeSpec.parse(args.size),
        latency_bars=args.latency_bars,
        latency_ms=args.latency_ms,
        volume_participation=None if args.volume_cap is None
        else _decimal("--volume-cap", args.volume_cap),
        periods_per_year=args.periods_per_year,
        risk_free_rate=args.risk_free_rate,
        indicator_mode=IndicatorMode(args.indicators),
    )


def _check_time(name: str, text: str | None) -> None:
    """The API reads the same text; checked here so the message names the option."""
    if text is None:
        return
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"{name} must be a date (YYYY-MM-DD) or ISO time, got {text!r}") from None


def run(args: argparse.Namespace) -> int:
    if args.config is not None:
        if args.sensitivity:
            raise ConfigError("--sensitivity applies to one strategy (--strategy, --data), "
                              "not to a portfolio file")
        return _run_portfolio(args)
    missing = [flag for flag, value in (("--strategy", args.strategy), ("--data", args.data))
               if value is None]
    if missing:
        raise ConfigError(f"backtest needs {' and '.join(missing)} (one strategy), or "
                          "--config PORTFOLIO (a portfolio file)")
    return _run_single(args)


class _Stores:
    """The stores one command opened, closed when it ends, when the objects it froze out
    of the collector are handed back: in a process of its own that changes nothing, but a
    process running several commands (tests, a notebook calling ``main``) must not keep a
    database connection and a whole run's objects per command."""

    def __init__(self) -> None:
        self._opened: list[Any] = []

    def open(self, args: argparse.Namespace, settings: Any) -> Any:
        store = open_database(args, settings)
        if store is not None:
            self._opened.append(store)
        return store

    def fork(self, args: argparse.Namespace, settings: Any) -> Any:
        """The store opened in a child process that saves the run (cli.store_process)."""
        from trading_strategy.api.saving import save_report
        from trading_strategy.cli.store_process import StoreProcess

        saver = StoreProcess(lambda: open_database(args, settings), save_report)
        self._opened.append(saver)
        return saver

    def __enter__(self) -> _Stores:
        return self

    def __exit__(self, *exc: object) -> None:
        import gc

        for store in self._opened:
            store.close()
        gc.unfreeze()


def _run_single(args: argparse.Namespace) -> int:
    """The options as a ``trading_strategy.Backtest``, run; then the outputs."""
    with _Stores() as stores:
        return _single(args, stores)


def _single(args: argparse.Namespace, stores: _Stores) -> int:
    import gc
    import warnings

    from trading_strategy.cli.allocator import tune_for_arrays
    from trading_strategy.cli.store_process import can_fork

    tune_for_arrays()  # before the data's arrays exist
    from trading_strategy.api import Backtest, DataWarning
    from trading_strategy.backtesting.runner import check_history
    from trading_strategy.cli.summary import format_summary, progress_bar
    from trading_strategy.config import load_settings

    settings = build_settings(args)
    fmt = format_from_args(args)  # a bad option is refused before anything is read
    if fmt is not None and not Path(args.data).expanduser().is_file():
        given = [flag for flag in FORMAT_FLAGS if getattr(args, flag[2:].replace("-", "_"))]
        raise ConfigError(f"{', '.join(given)} appl{'ies' if len(given) == 1 else 'y'} to a "
                          f"--data file; {args.data!r} is not a file (a symbol is read as "
                          "it was stored)")
    app_settings = load_settings(Path(args.risk_config) if args.risk_config else None)
    params = _params(args.param)
    _check_time("--start", args.start)
    _check_time("--end", args.end)
    opening: _Background[Any] | None = None
    saver: Any = None
    if Path(args.data).expanduser().is_file() and not args.no_store:
        # bars from a file are read without the database: it is opened meanwhile, for
        # saving the run; by a child process on the other core when this process is the
        # program's own (cli.store_process), else in a thread (its imports and schema
        # check then overlap the file's parsing, which pyarrow does without holding the
        # interpreter)
        if getattr(args, "own_process", False) and can_fork():
            saver = stores.fork(args, app_settings)
        else:
            opening = _Background(stores.open, args, app_settings)
        store = None
    else:
        store = stores.open(args, app_settings)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)  # printed below, as one line each
            backtest = Backtest(
                args.data, args.strategy, settings=settings, risk=app_settings.risk,
                timeframe=args.timeframe, start=args.start, end=args.end, repair=args.repair,
                tick_size=_decimal("--tick-size", args.tick_size) if args.tick_size else None,
                lot_size=_decimal("--lot-size", args.lot_size) if args.lot_size else None,
                allow_short_history=args.allow_short_history,
                store=store if store is not None else False, data_format=fmt)
    except BaseException:
        if opening is not None:
            opening.wait()  # never leave the database half-opened behind
        raise
    if opening is not None:
        store = opening.result()
    if saver is not None:
        saver.wait_ready()  # a database that cannot be opened stops the command here
    if backtest.data_format_found and not args.quiet:
        print(f"format: {backtest.data_format_found}", file=sys.stderr)
    for warning in backtest.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    # the runner's own message, which names --allow-short-history
    check_history(backtest.bars, settings, args.allow_short_history)
    total = len(backtest.bars)
    progress = progress_bar(total) if total > 200_000 and sys.stderr.isatty() else None
    # One command, then the process ends: what exists now (modules, bars) and what the run
    # made (orders, fills, trades) lives to the end, so the collector never walks it again
    # (full collections over those objects were some 10 % of a million-bar run's time).
    gc.freeze()
    result = backtest.run(progress=progress, **params)
    gc.freeze()
    if args.sensitivity:
        from trading_strategy.research.sensitivity import fill_sensitivity

        result.report["sensitivity"] = fill_sensitivity(backtest, params).to_dict()
    save: Callable[[], int] | None = None
    if saver is not None:  # saved by the store's own process (cli.store_process)
        save = partial(saver.save, *result.saved_parts())
    elif store is not None:
        save = partial(result.save, store)
    return _publish(args, result.report,
                    _with_sensitivity if args.sensitivity else format_summary, result.html,
                    save=save)


def _with_sensitivity(report: dict[str, Any]) -> str:
    from trading_strategy.cli.summary import format_summary
    from trading_strategy.research.sensitivity import text_block

    return format_summary(report) + "\n\n" + text_block(report["sensitivity"])


def _publish(args: argparse.Namespace, report: dict[str, Any],
             summary: Callable[[dict[str, Any]], str], page: Callable[[], str],
             save: Callable[[], int] | None) -> int:
    """Save the run (``save``: ``None`` without a database), print the summary, write the
    JSON and HTML the options ask for."""
    from trading_strategy.backtesting.report import dumps, write_json

    writing: _Background[None] | None = None
    if args.json_path and args.json_path != "-":
        # written in pieces (a million-bar report is never one string in memory), while
        # the run is saved: here, or by the store's own process (cli.store_process), the
        # formatting being numpy's and the saving mostly SQLite's and zlib's, both
        # without holding the interpreter
        writing = _Background(_write, Path(args.json_path),
                              lambda stream: write_json(report, stream))
    try:
        # the run id stays out of the report: the same inputs give byte-identical JSON
        run_id = save() if save is not None else None
    except BaseException:
        if writing is not None:
            writing.wait()
        raise
    if writing is not None:
        writing.result()
    if not args.quiet and args.json_path != "-":
        print(summary(report))
        if run_id is not None:
            print(f"saved as run {run_id} (trading-strategy runs show {run_id})")
    if args.json_path == "-":
        sys.stdout.write(dumps(report))
    if args.html_path:
        text = page()
        _write(Path(args.html_path), lambda stream: stream.write(text.encode("utf-8")))
    return 0


class _Background(Generic[_T]):
    """``fn(*args)`` in a thread; :meth:`result` waits for it and returns its value or
    raises its exception, :meth:`wait` only waits."""

    def __init__(self, fn: Callable[..., _T], *args: Any) -> None:
        import threading

        self._value: _T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._call, args=(fn, args), daemon=True)
        self._thread.start()

    def _call(self, fn: Callable[..., _T], args: tuple[Any, ...]) -> None:
        try:
            self._value = fn(*args)
        except BaseException as exc:  # handed to the caller by result()
            self._error = exc

    def wait(self) -> None:
        self._thread.join()

    def result(self) -> _T:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]


def _write(path: Path, fill: Callable[[Any], object]) -> None:
    """Write ``path`` through a temporary file, ``fill`` writing the bytes to its stream."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("wb") as stream:
            fill(stream)
        tmp.replace(path)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror}") from None


# --- portfolio backtests ------------------------------------------------------------------
#: options of a single backtest that a portfolio file sets itself: (flag, dest, default,
#: where the file says it)
_FILE_SETS: tuple[tuple[str, str, object, str], ...] = (
    ("--strategy", "strategy", None, "strategies.strategy"),
    ("--data", "data", None, "strategies.symbol"),
    ("--timeframe", "timeframe", None, "strategies.timeframe"),
    ("--start", "start", None, "session.start"),
    ("--end", "end", None, "session.end"),
    ("--param", "param", [], "strategies.params"),
    ("--cash", "cash", "10000", "strategies.capital"),
    ("--size", "size", "all-in", "strategies.size"),
    ("--commission", "commission", None, "venue.commission"),
    ("--commission-model", "commission_model", "percent", "venue.commission_model"),
    ("--commission-min", "commission_min", None, "venue.commission_min"),
    ("--slippage-bps", "slippage_bps", None, "venue.slippage_bps"),
    ("--slippage-model", "slippage_model", None, "venue.slippage_bps"),
    ("--slippage-value", "slippage_value", None, "venue.slippage_bps"),
    ("--latency-bars", "latency_bars", 1, "venue.latency_ms"),
    ("--latency-ms", "latency_ms", None, "venue.latency_ms"),
    ("--volume-cap", "volume_cap", None, "no volume cap: a paper session fills whole orders"),
    ("--tick-size", "tick_size", None, "the data's tick"),
    ("--lot-size", "lot_size", None, "the data's lot"),
    ("--repair", "repair", False, "the data as a session reads it"),
    ("--risk-config", "risk_config", None, "[risk] (and TRADING_STRATEGY_CONFIG_FILE)"),
    *((flag, flag[2:].replace("-", "_"), None, "symbols: stored bars, read as imported")
      for flag in FORMAT_FLAGS),
)
#: settings of a session that change nothing a simulated run computes
_SESSION_ONLY = (("session", "speed"), ("session", "metrics_port"), ("venue", "url"),
                 ("venue", "db"))


def _refuse_single_options(args: argparse.Namespace) -> None:
    for flag, dest, default, where in _FILE_SETS:
        if getattr(args, dest) != default:
            raise ConfigError(f"{flag} does not apply with --config: the portfolio file "
                              f"sets it ({where})")


def portfolio_sleeves(config: Any, bars_of: Any, args: argparse.Namespace) -> list[Any]:
    """The portfolio file as the backtest's sleeves: each strategy's bars (in the session's
    window), capital, size and the venue's costs and latency. A setting a simulated run
    cannot honour is refused, never ignored."""
    from trading_strategy.backtesting.portfolio import Sleeve
    from trading_strategy.backtesting.settings import BacktestSettings, IndicatorMode
    from trading_strategy.core.bars import datetime_to_ns
    from trading_strategy.kernel.sizing import SizeSpec
    from trading_strategy.runtime.portfolio_config import moment

    venue = config.venue
    if venue.kind != "paper":
        raise ConfigError(f"{args.config}: venue.kind {venue.kind!r} cannot be backtested: "
                          "that venue fills under its own settings (trading-strategy "
                          "paper-venue), not this file's commission and slippage; use "
                          "kind = \"paper\" with the venue's costs")
    window = [None if text is None else datetime_to_ns(moment(text))
              for text in (config.session.start, config.session.end)]
    sleeves = []
    for entry in config.strategies:
        bars = bars_of(entry.symbol, entry.timeframe).between(*window)
        settings = BacktestSettings(
            initial_cash=entry.capital,
            # the models the file names, the ones the paper venue fills with
            commission=venue.commission_costs(),
            # the model the file names (bps, range, ATR), the one the paper venue fills with
            slippage=venue.slippage_model(),
            size=SizeSpec.parse(entry.size),
            # the paper venue's 0 ms is the next bar's open: the backtester's one bar
            latency_ms=venue.latency_ms or None,
            periods_per_year=args.periods_per_year,
            risk_free_rate=args.risk_free_rate,
            indicator_mode=IndicatorMode(args.indicators),
        )
        sleeves.append(Sleeve(entry.name, entry.strategy, entry.params, bars, settings))
    return sleeves


def _portfolio_settings(config: Any) -> dict[str, Any]:
    """What the report states about the file beyond the strategies."""
    venue = config.venue
    used: dict[str, Any] = {
        "venue": {"commission": venue.commission_costs().describe(),
                  "slippage": venue.slippage_model().describe(),
                  "latency_ms": venue.latency_ms},
        "window": {"start": config.session.start, "end": config.session.end},
    }
    given = {f"{section}.{key}": getattr(getattr(config, section), key)
             for section, key in _SESSION_ONLY
             if key in getattr(config, section).model_fields_set}
    if given:
        # pacing, the metrics server and the venue's store do not change a simulated run
        used["session_only"] = given
    return used


def _run_portfolio(args: argparse.Namespace) -> int:
    with _Stores() as stores:
        return _portfolio(args, stores)


def _portfolio(args: argparse.Namespace, stores: _Stores) -> int:
    from trading_strategy.backtesting.portfolio import run_portfolio
    from trading_strategy.backtesting.portfolio_report import build_portfolio_report
    from trading_strategy.cli.summary import format_portfolio_summary, progress_bar
    from trading_strategy.config import load_portfolio, load_settings

    _refuse_single_options(args)
    config = load_portfolio(args.config)
    store = stores.open(args, load_settings())
    if store is not None:
        from trading_strategy.runtime.wiring import stored_bars

        bars_of = stored_bars(store)
    else:
        from trading_strategy.market_data.files import load_bars

        def bars_of(symbol: str, timeframe: str | None) -> Any:
            return load_bars(symbol, timeframe=timeframe).bars
    sleeves = portfolio_sleeves(config, bars_of, args)
    total = sum(len(s.bars) for s in sleeves)
    progress = progress_bar(total) if total > 200_000 and sys.stderr.isatty() else None
    result = run_portfolio(sleeves, config.risk, allow_short_history=args.allow_short_history,
                           progress=progress)
    report = build_portfolio_report(result, name=config.session.name,
                                    settings=_portfolio_settings(config))

    def page() -> str:
        from trading_strategy.backtesting.portfolio_html import render_portfolio_html

        return render_portfolio_html(report, interactive=True)

    save: Callable[[], int] | None = None
    if store is not None:
        from trading_strategy.api.saving import save_report

        save = partial(save_report, store, report)
    return _publish(args, report, format_portfolio_summary, page, save=save)
