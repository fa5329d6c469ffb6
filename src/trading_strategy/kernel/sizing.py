"""The default order size of a run (``--size`` / a portfolio's ``size``) and how it becomes
lots: one rule for every driver (backtest engine and live runner)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from trading_strategy.core.enums import Side
from trading_strategy.core.errors import ConfigError
from trading_strategy.core.instrument import Instrument
from trading_strategy.kernel.costs import CommissionFn
from trading_strategy.kernel.intents import all_in_lots
from trading_strategy.risk.position_sizing import size_fixed_fraction, size_fixed_quantity


class SizeKind(StrEnum):
    FIXED = "fixed"
    PERCENT = "percent"
    ALL_IN = "all_in"


@dataclass(frozen=True, slots=True)
class SizeSpec:
    """Default order size when a strategy passes no quantity.

    ``fixed``: that many units, a whole number of the instrument's lots (``check_lots``);
    ``percent``: that share of equity at the decision bar's close, rounded down to whole
    lots; ``all_in``: whole lots from all available cash *at the fill price*, after costs.
    A bare number is always a quantity, never a fraction of equity: half of equity is
    written ``50%``.
    """

    kind: SizeKind
    value: Decimal = Decimal(0)

    @classmethod
    def parse(cls, text: str) -> SizeSpec:
        raw = text.strip().lower()
        if raw in ("all-in", "all_in", "allin"):
            return cls(SizeKind.ALL_IN)
        match = re.fullmatch(r"([0-9]*\.?[0-9]+)\s*(%?)", raw)
        if not match:
            raise ConfigError(
                f"invalid --size {text!r}: use a quantity (1, 0.5), a percent of equity (25%) "
                "or all-in"
            )
        try:
            value = Decimal(match.group(1))
        except InvalidOperation:  # pragma: no cover - the regex admits only numbers
            raise ConfigError(f"invalid --size {text!r}") from None
        if match.group(2):
            if not 0 < value <= 100:
                raise ConfigError(f"invalid --size {text!r}: a percent must be in (0, 100]")
            return cls(SizeKind.PERCENT, value / 100)
        if value <= 0:
            raise ConfigError(f"invalid --size {text!r}: a quantity must be > 0")
        return cls(SizeKind.FIXED, value)

    def check_lots(self, instrument: Instrument, what: str = "--size") -> None:
        """Refuse a fixed quantity that is not a whole number of ``instrument``'s lots
        (``what`` names the setting in the message).

        Rounding it would trade silently less than asked: 2.5 shares in lots of 1 would
        become 2 and 0.5 would become 0, every order then refused as ``zero_size``.
        """
        if self.kind is not SizeKind.FIXED:
            return
        lot = instrument.lot_size
        if self.value % lot != 0:
            lots = self.value / lot
            nearest = ", ".join(f"{(n * lot).normalize():f}"
                                for n in sorted({max(int(lots), 1), int(lots) + 1}))
            raise ConfigError(
                f"{what} {self.value.normalize():f} is not a whole number of lots: "
                f"{instrument.symbol} trades in lots of {lot.normalize():f}; use a multiple "
                f"(e.g. {nearest}) or a share of equity such as {_pct_hint(self.value)}")

    def __str__(self) -> str:
        if self.kind is SizeKind.ALL_IN:
            return "all-in"
        if self.kind is SizeKind.PERCENT:
            return f"{(self.value * 100).normalize():f}%"
        return f"{self.value.normalize():f}"


def _pct_hint(value: Decimal) -> str:
    # 0.5 was probably meant as half of equity; anything else gets a neutral example
    return f"{(value * 100).normalize():f}%" if value < 1 else "25%"


def default_lots(spec: SizeSpec, instrument: Instrument, side: Side, *, price_ticks: int,
                 position_lots: int, cash_units: int, equity_units: int,
                 commission: CommissionFn) -> tuple[int, bool]:
    """Lots for an order placed without a quantity, and whether the venue sizes it at the
    fill (all-in: ``lots`` is then what the cash pays at the decision price, the fill takes
    what it pays at the fill price). One rule for the backtest engine and the live runner."""
    if spec.kind is SizeKind.FIXED:
        return size_fixed_quantity(spec.value, instrument), False
    if spec.kind is SizeKind.PERCENT:
        return size_fixed_fraction(equity_units=equity_units, price_ticks=price_ticks,
                                   fraction_pct=float(spec.value * 100)), False
    return all_in_lots(side is Side.BUY, position_lots, cash_units, price_ticks,
                       commission), True
