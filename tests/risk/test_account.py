"""The mutable ``Account`` view: positions, gross figures and exposures (hand-computed)."""

from __future__ import annotations

from trading_strategy.risk import Account


def test_exposures_add_absolute_positions() -> None:
    account = Account(equity=1_000_000, value_factors={"BTC": 1, "AAPL": 10_000})
    account.set_last_price("AAPL", 15_000)
    account.set_last_price("BTC", 6_000_000)
    account.set_position("a", "AAPL", 4)
    account.set_position("b", "AAPL", -3)  # a hedge in another strategy still counts
    account.add_fill("a", "BTC", 10)
    assert account.position("a", "AAPL") == 4 and account.position("c", "AAPL") == 0
    assert account.gross_position("AAPL") == 7  # |4| + |−3|
    # AAPL 7 × 15 000 × 10 000 = 1 050 000 000; BTC 10 × 6 000 000 = 60 000 000
    assert account.gross_exposure() == 1_110_000_000
    # strategy a: 4 × 15 000 × 10 000 + 60 000 000 = 660 000 000
    assert account.strategy_exposure("a") == 660_000_000
    account.add_fill("a", "AAPL", -6)  # long 4 → short 2
    assert account.gross_position("AAPL") == 5  # |−2| + |−3|
    assert account.strategy_exposure("nobody") == 0


def test_positions_without_price_count_zero() -> None:
    account = Account()
    account.set_position("a", "X", 5)
    assert account.gross_exposure() == 0 and account.last_price("X") is None
    account.set_open_orders("a", 3)
    assert account.open_orders("a") == 3 and account.open_orders("b") == 0
