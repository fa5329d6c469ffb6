"""Whether a backtest can take the fast path, and the kernel's inputs when it can.

``make_plan`` answers with a ``Plan`` (the bars in ticks, the cost and size rules as
integers, the market-hours mask) or a ``NotEligible`` with the reason in words. Eligible:

* the strategy declares ``fast_signals`` (``declaration``);
* the run settings: latency of one bar, no volume cap, vectorized indicators; default size
  fixed or all-in; commission percent, per unit or fixed; slippage none, fixed bps, range or
  ATR;
* no risk settings (the open gate), or risk settings whose only active rules are the
  defaults the kernel carries out: buying power at the decision price and the margin cap
  (``check_buying_power``, ``initial_margin_pct``, ``resize_to_fit``) and market hours
  (``enforce_market_hours``). Any stop, sizing method, position or loss limit, order-rate
  or open-order limit, or a per-strategy table for this strategy is not eligible;
* the history check and the size's lot check pass (else the engine's error is the row).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from trading_strategy.backtesting.runner import check_history, periods_per_year
from trading_strategy.backtesting.settings import BacktestSettings, IndicatorMode
from trading_strategy.core.bars import BarSeries
from trading_strategy.core.errors import UserError
from trading_strategy.kernel.costs import (
    AtrSlippage,
    FixedBpsSlippage,
    FixedCommission,
    NoSlippage,
    PercentCommission,
    PerUnitCommission,
    RangeSlippage,
)
from trading_strategy.kernel.sizing import SizeKind
from trading_strategy.research.fastpath import codes as k
from trading_strategy.research.fastpath.declaration import bar_columns, declaring_class
from trading_strategy.risk.limits import PortfolioLimits
from trading_strategy.risk.position_sizing import size_fixed_quantity
from trading_strategy.risk.sessions import session_status
from trading_strategy.risk.settings import RiskSettings
from trading_strategy.strategies.base import Strategy

Int64Array = npt.NDArray[np.int64]

#: the effective risk keys the kernel carries out or that cannot matter to market orders
#: of a strategy's own size; every other key must be unset
_HANDLED = frozenset({"strategy", "sizing_method", "atr_period", "kelly_min_trades",
                      "flatten_on_halt", "price_collar_pct", "tradable_symbols",
                      "blocked_symbols"})
#: integer ratios above this could leave int64 in the kernel's products
_RATIO_LIMIT = 1 << 18


@dataclass(frozen=True, slots=True)
class NotEligible:
    reason: str


@dataclass(frozen=True, slots=True)
class Plan:
    strategy: type[Strategy]
    bars: BarSeries
    settings: BacktestSettings
    periods_per_year: float
    open_t: Int64Array
    high_t: Int64Array
    low_t: Int64Array
    close_t: Int64Array
    #: orders may be placed at this bar (market hours)
    allowed: npt.NDArray[np.bool_]
    slip_bar: Int64Array
    cfg: Int64Array
    costs: Int64Array
    #: the bars' float columns, one object each for the whole sweep (the memo's keys)
    columns: tuple[npt.NDArray[np.float64], ...]


def _ratio(value: Decimal) -> tuple[int, int] | None:
    num, den = value.as_integer_ratio()
    return (num, den) if num < _RATIO_LIMIT and den < (1 << 40) else None


def _costs(settings: BacktestSettings, bars: BarSeries) -> tuple[Int64Array, Int64Array] | str:
    inst = bars.instrument
    model = settings.commission
    costs = np.zeros(7, dtype=np.int64)
    if isinstance(model, PercentCommission):
        ratio = _ratio(model.rate)
        kind, minimum = k.COMM_PERCENT, 0
    elif isinstance(model, PerUnitCommission):
        ratio = _ratio(model.per_unit / inst.tick_size)
        mnum, mden = (model.minimum / inst.money_unit).as_integer_ratio()
        kind, minimum = k.COMM_PER_UNIT, (mnum * 2 + mden) // (2 * mden)
    elif isinstance(model, FixedCommission):
        fnum, fden = (model.per_order / inst.money_unit).as_integer_ratio()
        ratio, kind, minimum = (0, 1), k.COMM_FIXED, (fnum * 2 + fden) // (2 * fden)
    else:
        return f"commission model {type(model).__name__}"
    if ratio is None or minimum >= k.LIMIT:
        return "a commission rate too fine for the compiled integers"
    costs[k.K_COMM], (costs[k.K_NUM], costs[k.K_DEN]), costs[k.K_MIN] = kind, ratio, minimum
    slip = settings.slippage
    slip_bar = np.zeros(1, dtype=np.int64)
    if isinstance(slip, NoSlippage):
        costs[k.K_SLIP] = k.SLIP_NONE
    elif isinstance(slip, FixedBpsSlippage):
        sratio = _ratio(slip.bps / 10_000)
        if sratio is None:
            return "a slippage in bps too fine for the compiled integers"
        costs[k.K_SLIP], (costs[k.K_SNUM], costs[k.K_SDEN]) = k.SLIP_BPS, sratio
    elif isinstance(slip, RangeSlippage | AtrSlippage):
        # these depend on the bar only: the bound model's own answer for every bar
        bound = slip.bind(inst, bars)
        slip_bar = np.fromiter((bound(1, 0, i) for i in range(len(bars))), dtype=np.int64,
                               count=len(bars))
        costs[k.K_SLIP] = k.SLIP_PER_BAR
    else:
        return f"slippage model {type(slip).__name__}"
    return costs, slip_bar


def _risk(risk: RiskSettings | None, strategy: str, symbol: str) -> str | None:
    """Why these risk settings need the event-driven engine (None: the kernel does them)."""
    if risk is None:
        return None
    if strategy in risk.strategies:
        return f"risk settings for strategy {strategy}"
    if risk.max_gross_exposure is not None or risk.max_leverage is not None:
        return "portfolio exposure limits"
    for eff in (risk.for_strategy(None), risk.for_strategy(strategy)):
        if eff.sizing_method != "strategy":
            return f"the {eff.sizing_method} sizing method"
        for key in type(eff).__dataclass_fields__:
            if key not in _HANDLED and getattr(eff, key) is not None:
                return f"risk setting {key}"
        if symbol in eff.blocked_symbols or (eff.tradable_symbols is not None
                                             and symbol not in eff.tradable_symbols):
            return f"{symbol} is not tradable under the risk settings"
    return None


def market_open_mask(bars: BarSeries) -> npt.NDArray[np.bool_]:
    """Per bar, whether the risk engine's market-hours rule lets an order be placed at its
    time: always for daily or slower bars; else the instrument calendar's session, one
    ``session_status`` call per session boundary (the answer holds until the boundary)."""
    n = len(bars)
    mask = np.ones(n, dtype=np.bool_)
    if not bars.timeframe.is_intraday:
        return mask
    ts = bars.ts
    calendar = bars.instrument.calendar
    i = 0
    while i < n:
        is_open, until = session_status(calendar, int(ts[i]))
        j = max(i + 1, int(np.searchsorted(ts, until, side="left")))
        mask[i:j] = is_open
        i = j
    return mask


def make_plan(strategy: type[Strategy], bars: BarSeries, settings: BacktestSettings,
              risk: RiskSettings | None, *, allow_short_history: bool) -> Plan | NotEligible:
    try:
        import numba  # noqa: F401
    except ImportError:
        return NotEligible("numba is not installed (pip install 'trading-strategy[research]')")
    if declaring_class(strategy) is None:
        return NotEligible(f"strategy {strategy.name} declares no fast_signals (or a subclass "
                           "changes its hooks)")
    if len(bars) == 0:
        return NotEligible("no bars")
    if settings.latency_bars != 1 or settings.latency_ms is not None:
        return NotEligible("latency other than one bar")
    if settings.volume_participation is not None:
        return NotEligible("a volume participation cap")
    if settings.indicator_mode is not IndicatorMode.VECTORIZED:
        return NotEligible("incremental indicators")
    inst = bars.instrument
    try:
        check_history(bars, settings, allow_short_history)
        settings.size.check_lots(inst)
    except UserError as exc:
        return NotEligible(f"the engine refuses the run: {exc}")
    size = settings.size
    if size.kind is SizeKind.FIXED:
        kind, fixed = k.SIZE_FIXED, size_fixed_quantity(size.value, inst)
    elif size.kind is SizeKind.ALL_IN:
        kind, fixed = k.SIZE_ALL_IN, 0
    else:
        return NotEligible(f"size {size} (percent of equity)")
    why = _risk(risk, strategy.name, inst.symbol)
    if why is not None:
        return NotEligible(why)
    money = _costs(settings, bars)
    if isinstance(money, str):
        return NotEligible(money)
    costs, slip_bar = money
    cash = int((settings.initial_cash / inst.money_unit).to_integral_value())
    if cash >= k.LIMIT:
        return NotEligible("initial cash too large for the compiled integers")
    margin = 0
    resize = check_cash = 0
    allowed = np.ones(len(bars), dtype=np.bool_)
    if risk is not None:
        limits = PortfolioLimits.compile(risk, inst.money_unit)
        margin = limits.margin_ppm or 0
        resize = int(limits.resize_to_fit)
        check_cash = int(risk.check_buying_power)
        if limits.market_hours:
            allowed = market_open_mask(bars)
    cfg = np.array([cash, kind, fixed, int(risk is not None), check_cash, margin, resize],
                   dtype=np.int64)
    tick = float(inst.tick_size)
    # the engine's own conversion of the bars to ticks
    high_t = np.rint(bars.high / tick).astype(np.int64)
    if fixed * 2 * int(high_t.max()) >= k.LIMIT:
        return NotEligible("a fixed size too large for the compiled integers")
    return Plan(strategy, bars, settings, periods_per_year(bars, settings),
                np.rint(bars.open / tick).astype(np.int64), high_t,
                np.rint(bars.low / tick).astype(np.int64),
                np.rint(bars.close / tick).astype(np.int64),
                allowed, slip_bar, cfg, costs, bar_columns(bars))
