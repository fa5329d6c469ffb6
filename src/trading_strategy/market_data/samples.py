"""The bundled sample data in ``trading_strategy/data/samples/``.

Each sample is a CSV named ``<SYMBOL>_<timeframe>.csv`` (``GOOG_1d.csv``) with the header
``timestamp,open,high,low,close,volume``. The equities (AAPL, GOOG, IBM, MSFT) are real
split- and dividend-adjusted US daily bars with 4 decimals; EURUSD is hourly spot FX with
5 decimals. Files are reached through :mod:`importlib.resources`, so samples work from a
wheel or a zip as well as from a source checkout.

Symbols are matched case-insensitively and reported upper-case.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable

from trading_strategy.core.errors import DataError
from trading_strategy.core.instrument import AssetClass, Calendar, Instrument
from trading_strategy.core.timeframe import Timeframe

__all__ = [
    "is_sample",
    "sample_instrument",
    "sample_path",
    "sample_symbols",
    "sample_timeframe",
]


@dataclass(frozen=True, slots=True)
class _Spec:
    tick_size: Decimal
    asset_class: AssetClass
    calendar: Calendar
    currency: str


# Adjusted equity prices are published with 4 decimals, so 0.0001 is their true grid.
_EQUITY = _Spec(Decimal("0.0001"), AssetClass.EQUITY, Calendar.XNYS, "USD")
# Samples that are not US equities; anything not listed here is one.
_SPECS: dict[str, _Spec] = {
    "EURUSD": _Spec(Decimal("0.00001"), AssetClass.FX, Calendar.FX, "USD"),
}


def _samples_dir() -> Traversable:
    return files("trading_strategy").joinpath("data", "samples")


@cache
def _index() -> dict[str, Traversable]:
    # Cached: the bundled files cannot change while the process runs.
    found: dict[str, Traversable] = {}
    for entry in _samples_dir().iterdir():
        name = entry.name
        if entry.is_file() and name.endswith(".csv") and "_" in name:
            found[name.split("_", 1)[0].upper()] = entry
    return found


def sample_symbols() -> list[str]:
    """Symbols of the bundled samples, sorted: ``['AAPL', 'EURUSD', 'GOOG', 'IBM', 'MSFT']``."""
    return sorted(_index())


def is_sample(symbol: str) -> bool:
    """Whether ``symbol`` (any case) names a bundled sample."""
    return symbol.strip().upper() in _index()


def sample_path(symbol: str) -> Traversable:
    """The sample's CSV file; raises ``DataError`` naming the available samples if unknown.

    A ``Traversable`` (use ``.open()``, or ``importlib.resources.as_file`` for a real path).
    """
    entry = _index().get(symbol.strip().upper())
    if entry is None:
        raise DataError(
            f"unknown sample {symbol!r}; available samples: {', '.join(sample_symbols())}"
        )
    return entry


def sample_timeframe(symbol: str) -> Timeframe:
    """The sample's timeframe, from its file name (``GOOG_1d.csv`` → ``1d``)."""
    name = sample_path(symbol).name
    return Timeframe.parse(name.removesuffix(".csv").split("_", 1)[1])


def sample_instrument(symbol: str) -> Instrument:
    """The instrument of a sample: equities tick 0.0001 on XNYS, EURUSD tick 0.00001 FX.

    Lot size 1 for all; venue ``SIM``.
    """
    key = sample_path(symbol).name.split("_", 1)[0].upper()
    spec = _SPECS.get(key, _EQUITY)
    return Instrument(
        symbol=key,
        tick_size=spec.tick_size,
        lot_size=Decimal("1"),
        asset_class=spec.asset_class,
        currency=spec.currency,
        calendar=spec.calendar,
    )
