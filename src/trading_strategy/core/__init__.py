"""Pure value types, ids, time and the exception tree. Depends on nothing of ours."""

from trading_strategy.core.enums import OrderStatus, OrderType, Side, TimeInForce
from trading_strategy.core.errors import (
    ConfigError,
    DataError,
    OperatorActionRequired,
    ParameterError,
    RetryableError,
    StrategyError,
    TradingStrategyError,
    UserError,
)
from trading_strategy.core.instrument import Instrument
from trading_strategy.core.timeframe import Timeframe

__all__ = [
    "ConfigError",
    "DataError",
    "Instrument",
    "OperatorActionRequired",
    "OrderStatus",
    "OrderType",
    "ParameterError",
    "RetryableError",
    "Side",
    "StrategyError",
    "TimeInForce",
    "Timeframe",
    "TradingStrategyError",
    "UserError",
]
