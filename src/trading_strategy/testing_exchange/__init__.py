"""A fake exchange for adapter tests (ours and users'): a Binance-spot-shaped REST server,
Coinbase Exchange's public history endpoints (``FakeCoinbase``) and a WebSocket server
playing scripted stream messages with injected faults (``FakeStreamServer``).

::

    from trading_strategy.testing_exchange import FakeBinance, ServedApp

    exchange = FakeBinance(api_key="k", secret="s")
    with ServedApp(exchange.app()) as served:
        ...  # point a ccxt ``binance`` (or ``CcxtVenue(api_url=served.url)``) at it
        exchange.trade("BTCUSDT", Decimal("49000"))  # fill resting limits
        exchange.stall_next_order(1.0, create=True)  # an order whose outcome is unknown
"""

from trading_strategy.testing_exchange.binance import (
    FakeBinance,
    FakeMarket,
    FakeOrder,
    FakeTrade,
    default_markets,
)
from trading_strategy.testing_exchange.coinbase import FakeCoinbase
from trading_strategy.testing_exchange.serve import ServedApp
from trading_strategy.testing_exchange.streams import (
    AwaitRequest,
    Close,
    Drop,
    FakeStreamServer,
    Pause,
    Send,
    Step,
    binance_reply,
    coinbase_reply,
)

__all__ = ["AwaitRequest", "Close", "Drop", "FakeBinance", "FakeCoinbase", "FakeMarket",
           "FakeOrder",
           "FakeStreamServer", "FakeTrade", "Pause", "Send", "ServedApp", "Step",
           "binance_reply", "coinbase_reply", "default_markets"]
