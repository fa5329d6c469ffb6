"""``Backtest``: one strategy over one instrument's bars, from a notebook or a script.

A thin face over the layers below: bars from :mod:`.data` (the file loader's rules),
settings from :mod:`.settings`, the run from ``backtesting.runner.run_backtest`` and the
report from ``backtesting.report.build_report`` — the very functions the CLI calls, so the
same inputs give the same numbers either way.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from trading_strategy.api import settings as arguments
from trading_strategy.api.data import load_data
from trading_strategy.api.errors import ArgumentError, DataWarning
from trading_strategy.api.result import BacktestResult
from trading_strategy.api.strategy_ref import resolve_strategy
from trading_strategy.backtesting.settings import BacktestSettings
from trading_strategy.core.bars import BarSeries
from trading_strategy.core.errors import ConfigError
from trading_strategy.risk.settings import RiskSettings
from trading_strategy.strategies.base import Strategy


class Backtest:
    """A backtest of ``strategy`` on ``data``; call :meth:`run` for a :class:`BacktestResult`.

    ``data``: a pandas DataFrame (a DatetimeIndex or a timestamp/date column; open, high,
    low, close and optionally volume in any case; ``Adj Close`` applied as for CSV files),
    a polars DataFrame, a mapping of columns, a ``.csv``/``.txt``/``.parquet`` path
    (``.csv.gz``, ``.txt.gz`` too), or a symbol (a bundled sample such as ``"GOOG"``, else
    one stored with ``data import``). Naive timestamps are UTC. A file's layout is detected;
    ``preset`` (``"yahoo"``, ``"binance"``, ``"mt4"``, ``"mt5"``, ``"semicolon"``,
    ``"us-dates"``), ``columns``, ``delimiter``, ``date_format`` and ``tz`` say it as
    ``data import``'s options do (``Backtest("EURUSD.txt", SmaCross, preset="mt4")``), or
    ``data_format`` as a ``market_data.formats.FileFormat``; what was recognised is in
    ``data_format_found``. ``strategy``: a ``Strategy`` subclass, a registered name,
    ``"package.module:Class"`` or ``"path/to/file.py:Class"``.

    ``commission``: a fraction of notional (0.001 = 0.1 %) or a cost model from
    ``trading_strategy.kernel.costs``; ``slippage``: basis points or a slippage model;
    ``size``: the default order size as ``--size`` takes it (``"all-in"``, ``"25%"`` of
    equity, or a quantity in whole lots; ``0.5`` is a quantity, never half of equity);
    ``risk``: a dict of ``[risk]`` keys or ``RiskSettings`` (None: the defaults, as the CLI
    without a config file). ``store``: an open ``storage.Store`` whose symbols come before
    the bundled samples (the CLI's order); ``store=False`` never opens a database (a name is
    then a file or a bundled sample). ``settings``: a complete ``BacktestSettings`` instead
    of ``cash`` .. ``indicators`` (the CLI builds one from its options; its size is checked
    against the lot size by ``run``). Every bad argument
    raises ``ArgumentError`` (a ``ValueError``). What the loader did to the data is in
    ``warnings`` and is also issued as a ``DataWarning``.
    """

    def __init__(
        self,
        data: object,
        strategy: object,
        *,
        cash: float | int | Decimal | str = 10_000,
        commission: object = 0.0,
        slippage: object = None,
        size: object = "all-in",
        risk: RiskSettings | dict[str, Any] | None = None,
        latency_bars: int = 1,
        latency_ms: int | None = None,
        volume_cap: float | Decimal | None = None,
        periods_per_year: float | None = None,
        risk_free_rate: float = 0.0,
        indicators: str = "vectorized",
        timeframe: str | None = None,
        symbol: str | None = None,
        tick_size: float | Decimal | str | None = None,
        lot_size: float | Decimal | str | None = None,
        start: object = None,
        end: object = None,
        repair: bool = False,
        allow_short_history: bool = False,
        store: Any = None,
        settings: BacktestSettings | None = None,
        preset: str | None = None,
        columns: str | None = None,
        delimiter: str | None = None,
        date_format: str | None = None,
        tz: str | None = None,
        data_format: Any = None,
    ) -> None:
        self.strategy: type[Strategy] = resolve_strategy(strategy)
        size_given = settings is None
        if settings is None:
            settings = arguments.backtest_settings(
                cash=cash, commission=commission, slippage=slippage, size=size,
                latency_bars=latency_bars, latency_ms=latency_ms, volume_cap=volume_cap,
                periods_per_year=periods_per_year, risk_free_rate=risk_free_rate,
                indicators=indicators)
        elif not isinstance(settings, BacktestSettings):
            raise ArgumentError(f"settings: expected BacktestSettings, got {settings!r}")
        self.settings: BacktestSettings = settings
        self.risk: RiskSettings = arguments.risk_settings(risk)
        tick = None if tick_size is None else arguments.decimal(
            "tick_size", tick_size, example="0.01")
        lot = None if lot_size is None else arguments.decimal(
            "lot_size", lot_size, example="0.001")
        if symbol is not None and not (isinstance(symbol, str) and symbol.strip()):
            raise ArgumentError(f"symbol: expected a name such as 'GOOG', got {symbol!r}")
        fmt = arguments.data_format(data_format, preset=preset, columns=columns,
                                    delimiter=delimiter, date_format=date_format, tz=tz)
        try:
            loaded = load_data(data, timeframe=timeframe, symbol=symbol, tick_size=tick,
                               lot_size=lot, repair=bool(repair), start=start, end=end,
                               store=store, fmt=fmt)
        except ArgumentError:
            raise
        except ConfigError as exc:  # a bad timeframe, tick or lot size: an argument
            raise ArgumentError(str(exc)) from None
        self.bars: BarSeries = loaded.bars
        #: what was recognised of a file's layout (empty for the plain one)
        self.data_format_found: str = loaded.format
        #: what the loader did to the data (adjusted prices, repairs, precision)
        self.warnings: list[str] = loaded.warnings
        for note in self.warnings:
            warnings.warn(note, DataWarning, stacklevel=2)
        self.allow_short_history = bool(allow_short_history)
        if size_given:  # a settings object's size is checked by the run, in its own words
            try:
                self.settings.size.check_lots(self.bars.instrument, what="size")
            except ConfigError as exc:
                raise ArgumentError(str(exc)) from None


    def optimize(self, params: Any, **options: Any) -> Any:
        """Search the strategy's parameters (``trading_strategy.research.optimize``): a
        ``SweepResult`` with ``frame``, ``best_params``, ``heatmap()``, ``diagnostics`` and
        ``verdicts``. See docs/research.md for the options (method, objective,
        constraints, workers, Dask)."""
        from trading_strategy.research import optimize

        return optimize(self, params, **options)

    def sensitivity(self, *, workers: int | None = None, **params: Any) -> Any:
        """The run at ``params`` under optimistic (no costs), neutral (as given) and
        pessimistic (2x commission, 3x slippage, +1 bar latency) fills: a
        ``research.sensitivity.SensitivityResult`` with each scenario's metrics, a verdict
        (``code``, ``warning``, ``message``), ``text()``, ``to_dict()`` and ``html()``."""
        from trading_strategy.research.sensitivity import fill_sensitivity

        return fill_sensitivity(self, params, workers=workers)

    def run(self, *, progress: Callable[[int, int], None] | None = None,
            **params: Any) -> BacktestResult:
        """Run with the strategy parameters ``params`` (defaults for those not given)."""
        from trading_strategy.backtesting.runner import InsufficientHistoryError, run_backtest

        try:
            result = run_backtest(self.strategy, self.bars, self.settings, params,
                                  risk=self.risk, allow_short_history=self.allow_short_history,
                                  progress=progress)
        except InsufficientHistoryError as exc:
            raise ArgumentError(str(exc).replace("pass --allow-short-history",
                                                 "pass allow_short_history=True")) from None
        return BacktestResult(result)

    def __repr__(self) -> str:
        bars = self.bars
        return (f"Backtest({self.strategy.name}, {bars.instrument.symbol} {bars.timeframe}, "
                f"{len(bars)} bars)")
