"""Keyword arguments of ``Backtest`` → the engine's ``BacktestSettings`` and ``RiskSettings``.

Each argument is checked here so that a mistake is one ``ArgumentError`` naming the argument
and the fix; the models themselves (``kernel.costs``, ``kernel.sizing``) keep every rule.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from difflib import get_close_matches
from typing import Any, TypeVar

from pydantic import ValidationError

from trading_strategy.api.errors import ArgumentError
from trading_strategy.backtesting.settings import BacktestSettings, IndicatorMode
from trading_strategy.core.errors import ConfigError
from trading_strategy.kernel import costs
from trading_strategy.kernel.sizing import SizeSpec
from trading_strategy.risk.settings import RiskSettings

_T = TypeVar("_T")


def decimal(name: str, value: object, *, example: str) -> Decimal:
    """An exact decimal from a number or numeric text; a float is read as it prints
    (0.1 → Decimal('0.1'), not its binary expansion)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise ArgumentError(f"{name}: expected a number such as {example}, got {value!r}")
    try:
        result = Decimal(str(value).strip())
    except InvalidOperation:
        raise ArgumentError(f"{name}: expected a number such as {example}, got {value!r}") \
            from None
    if not result.is_finite():
        raise ArgumentError(f"{name}: must be a finite number such as {example}, got {value!r}")
    return result


def commission_model(value: object) -> Any:
    """A fraction of notional (0.001 = 0.1%) or a model from ``trading_strategy.kernel.costs``."""
    if isinstance(value, _SLIPPAGES):
        raise ArgumentError(f"commission: {type(value).__name__} is a slippage model; pass "
                            "it as slippage=, and commission as a fraction such as 0.001")
    if _is_model(value):
        return value
    rate = decimal("commission", value, example="0.001 (0.1% of notional)")
    return _checked("commission", lambda: costs.PercentCommission(rate))


def slippage_model(value: object) -> Any:
    """None (no slippage), basis points (2 = 0.02%) or a slippage model object."""
    if value is None:
        return costs.NoSlippage()
    if isinstance(value, _COMMISSIONS):
        raise ArgumentError(f"slippage: {type(value).__name__} is a commission model; pass "
                            "it as commission=, and slippage in basis points such as 2")
    if _is_model(value):
        return value
    bps = decimal("slippage", value, example="2 (basis points)")
    return _checked("slippage", lambda: costs.FixedBpsSlippage(bps))


def size_spec(value: object) -> SizeSpec:
    """As ``--size``: ``"all-in"``, ``"25%"`` of equity, or a quantity (1, ``"0.5"``)."""
    if isinstance(value, SizeSpec):
        return value
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise ArgumentError(f"size: expected 'all-in', a percent of equity such as '25%' or "
                            f"a quantity such as 1, got {value!r}")
    try:
        return SizeSpec.parse(str(value))
    except ConfigError as exc:
        raise ArgumentError(str(exc).replace("--size", "size")) from None


def risk_settings(value: object) -> RiskSettings:
    """None: the defaults (the CLI's without a config file); a dict of ``[risk]`` keys; or
    ``RiskSettings``."""
    if value is None:
        return RiskSettings()
    if isinstance(value, RiskSettings):
        return value
    if not isinstance(value, Mapping):
        raise ArgumentError(f"risk: expected a dict of [risk] settings such as "
                            f"{{'max_drawdown_pct': 20}} or RiskSettings, got {value!r}")
    try:
        return RiskSettings.model_validate(dict(value))
    except ValidationError as exc:
        problems = "; ".join(_risk_problem(err) for err in exc.errors())
        raise ArgumentError(f"risk: {problems} (keys: docs/risk.md)") from None


def _risk_problem(err: Any) -> str:
    where = ".".join(map(str, err["loc"])) or "risk"
    if err["type"] == "extra_forbidden":
        guess = get_close_matches(str(err["loc"][-1]), RiskSettings.model_fields, n=1)
        return f"{where}: unknown key" + (f"; did you mean {guess[0]}?" if guess else "")
    return f"{where}: {err['msg'].removeprefix('Value error, ')}"


def backtest_settings(
    *,
    cash: object,
    commission: object,
    slippage: object,
    size: object,
    latency_bars: int,
    latency_ms: int | None,
    volume_cap: object,
    periods_per_year: float | None,
    risk_free_rate: float,
    indicators: str,
) -> BacktestSettings:
    initial = decimal("cash", cash, example="10_000")
    if initial <= 0:
        raise ArgumentError(f"cash: must be > 0, got {cash!r}")
    for name, count in (("latency_bars", latency_bars), ("latency_ms", latency_ms)):
        if count is not None and (isinstance(count, bool) or not isinstance(count, int)):
            raise ArgumentError(f"{name}: expected a whole number, got {count!r}")
    try:
        mode = IndicatorMode(indicators)
    except ValueError:
        raise ArgumentError(f"indicators: expected 'vectorized' or 'incremental' (the live "
                            f"code path), got {indicators!r}") from None
    cap = None if volume_cap is None else decimal("volume_cap", volume_cap, example="0.1")
    ppy = None if periods_per_year is None else float(
        decimal("periods_per_year", periods_per_year, example="252"))
    rate = float(decimal("risk_free_rate", risk_free_rate, example="0.02 (2%)"))
    return _checked(None, lambda: BacktestSettings(
        initial_cash=initial,
        commission=commission_model(commission),
        slippage=slippage_model(slippage),
        size=size_spec(size),
        latency_bars=latency_bars,
        latency_ms=latency_ms,
        volume_participation=cap,
        periods_per_year=ppy,
        risk_free_rate=rate,
        indicator_mode=mode,
    ))


_SLIPPAGES = (costs.NoSlippage, costs.FixedBpsSlippage, costs.RangeSlippage, costs.AtrSlippage)
_COMMISSIONS = (costs.PercentCommission, costs.PerUnitCommission, costs.FixedCommission)


def _is_model(value: object) -> bool:
    # A cost model is anything with the models' two methods (users may write their own).
    return all(callable(getattr(value, m, None)) for m in ("bind", "describe"))


def _checked(name: str | None, build: Callable[[], _T]) -> _T:
    """``build()``, its ConfigError re-raised as an ArgumentError (prefixed with ``name``
    when the message does not say which argument it is about)."""
    try:
        return build()
    except ArgumentError:
        raise
    except ConfigError as exc:
        raise ArgumentError(str(exc) if name is None else f"{name}: {exc}") from None


#: the CLI's words for the file format options, in the messages of ``market_data.formats``
_FORMAT_OPTIONS = (("--preset", "preset"), ("--columns", "columns"),
                   ("--delimiter", "delimiter"), ("--date-format", "date_format"),
                   ("--tz", "tz"))


def data_format(data_format: object = None, *, preset: object = None, columns: object = None,
                delimiter: object = None, date_format: object = None,
                tz: object = None) -> Any:
    """The layout of a data file (``market_data.formats.FileFormat``) from the keyword
    arguments ``data import`` and ``backtest --data`` take as options (a preset, then the
    others over it), or a ``FileFormat`` given as ``data_format``; None when none is given.
    """
    from trading_strategy.market_data.formats import FileFormat, file_format

    texts = {"preset": preset, "columns": columns, "delimiter": delimiter,
             "date_format": date_format, "tz": tz}
    for name, value in texts.items():
        if value is not None and not isinstance(value, str):
            raise ArgumentError(f"{name}: expected text, got {value!r}")
    given = {name: str(value) for name, value in texts.items() if value is not None}
    if data_format is not None:
        if not isinstance(data_format, FileFormat):
            raise ArgumentError("data_format: expected a market_data.formats.FileFormat "
                                f"(or pass preset=, columns=, ...), got {data_format!r}")
        if given:
            raise ArgumentError(f"data_format: give either a FileFormat or "
                                f"{', '.join(given)}, not both")
        return data_format
    try:
        return file_format(**given)
    except ConfigError as exc:
        message = str(exc)
        for flag, name in _FORMAT_OPTIONS:
            message = message.replace(flag, name)
        raise ArgumentError(message) from None
