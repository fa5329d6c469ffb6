"""Risk: pure sizing, limits and stop rules, and the pre-trade gate with its trading state.

Typical use by a driver::

    engine = RiskEngine(settings.risk, {"AAPL": aapl})
    account = engine.new_account(equity=cash_units)        # keep it current on fills and bars
    verdict = engine.check(intent, account, ts_ns)          # ACCEPTED / RESIZED / REJECTED
    for change in engine.on_equity(ts_ns, None, equity):    # daily loss, drawdown
        ...  # log, store; on HALTED cancel entry orders (and flatten if change.flatten)

Nothing here does I/O, logs or reads the clock: timestamps are passed in (UTC ns) and the
engine returns events for the caller to log and store.
"""

from trading_strategy.risk.account import Account, AccountView
from trading_strategy.risk.engine import RiskEngine, common_money_unit
from trading_strategy.risk.limits import max_order_lots
from trading_strategy.risk.position_sizing import (
    SizeResult,
    SizingRules,
    kelly_fraction,
    size_fixed_fraction,
    size_fixed_quantity,
    size_kelly,
    size_order,
    size_volatility_target,
)
from trading_strategy.risk.sessions import is_session_open, session_status, trading_day_bounds
from trading_strategy.risk.settings import EffectiveRisk, RiskOverrides, RiskSettings
from trading_strategy.risk.stop_loss import (
    StopRules,
    atr_in_ticks,
    atr_stop,
    atr_take_profit,
    bracket_for_entry,
    fixed_pct_stop,
    fixed_pct_take_profit,
    time_exit_due,
    trail_stop,
    update_trailing,
)
from trading_strategy.risk.verdicts import (
    ReasonCode,
    StateReason,
    TradingState,
    TradingStateChange,
    Verdict,
    VerdictStatus,
)

__all__ = [
    "Account",
    "AccountView",
    "EffectiveRisk",
    "ReasonCode",
    "RiskEngine",
    "RiskOverrides",
    "RiskSettings",
    "SizeResult",
    "SizingRules",
    "StateReason",
    "StopRules",
    "TradingState",
    "TradingStateChange",
    "Verdict",
    "VerdictStatus",
    "atr_in_ticks",
    "atr_stop",
    "atr_take_profit",
    "bracket_for_entry",
    "common_money_unit",
    "fixed_pct_stop",
    "fixed_pct_take_profit",
    "is_session_open",
    "kelly_fraction",
    "max_order_lots",
    "session_status",
    "size_fixed_fraction",
    "size_fixed_quantity",
    "size_kelly",
    "size_order",
    "size_volatility_target",
    "time_exit_due",
    "trading_day_bounds",
    "trail_stop",
    "update_trailing",
]
