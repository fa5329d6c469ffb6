"""``build_venue``: the venue a ``[venue]`` section names, and what a ccxt venue refuses at
start-up."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from trading_strategy.core.errors import ConfigError
from trading_strategy.core.instrument import Instrument
from trading_strategy.kernel.costs import AtrSlippage, FixedBpsSlippage, RangeSlippage
from trading_strategy.orders.venues.ccxt_venue import CcxtVenue
from trading_strategy.orders.venues.paper import PaperVenue
from trading_strategy.orders.venues.paper_client import PaperVenueClient
from trading_strategy.runtime.portfolio_config import parse_portfolio
from trading_strategy.runtime.venue_factory import build_venue

KEYS = {"TRADING_STRATEGY_EXCHANGE__API_KEY": "k-123",
        "TRADING_STRATEGY_EXCHANGE__SECRET": "s-456"}
BTC = Instrument("BTC/USDT", tick_size=Decimal("0.01"), lot_size=Decimal("0.00001"),
                 currency="USDT")


def portfolio(venue: dict[str, Any], size: str = "0.01") -> Any:
    return parse_portfolio({"venue": venue, "strategies": [
        {"name": "sma_btc", "strategy": "sma_crossover", "symbol": "BTC/USDT",
         "capital": 1000, "size": size}]})


def build(venue: dict[str, Any], tmp_path: Path, size: str = "0.01",
          environ: dict[str, str] | None = None) -> Any:
    config = portfolio(venue, size)
    return build_venue(config.venue, {"BTC/USDT": BTC},
                       initial_cash={"USDT": Decimal(1000)}, state_dir=tmp_path,
                       strategies=config.strategies, environ=environ or {})


@pytest.mark.parametrize(("section", "model"), [
    ({}, FixedBpsSlippage(Decimal(0))),
    ({"slippage_bps": 3}, FixedBpsSlippage(Decimal(3))),
    ({"slippage": "range", "slippage_value": 0.1}, RangeSlippage(Decimal("0.1"))),
    ({"slippage": "atr", "slippage_value": 0.5}, AtrSlippage(Decimal("0.5"))),
])
def test_paper_venue_fills_with_the_slippage_model_the_file_names(
        section: dict[str, Any], model: Any, tmp_path: Path) -> None:
    venue = build({"kind": "paper", **section}, tmp_path)
    assert isinstance(venue, PaperVenue)
    assert venue.config.slippage == model
    assert (tmp_path / "paper-venue.sqlite3").exists()


def test_paper_http_is_a_client_of_the_url(tmp_path: Path) -> None:
    venue = build({"kind": "paper-http", "url": "http://127.0.0.1:9999"}, tmp_path)
    assert isinstance(venue, PaperVenueClient)
    assert venue.base_url == "http://127.0.0.1:9999"


def test_ccxt_venue_reads_its_keys_from_the_environment(tmp_path: Path) -> None:
    venue = build({"kind": "ccxt", "exchange": "binance", "sandbox": True,
                   "url": "http://127.0.0.1:9998"}, tmp_path, environ=KEYS)
    assert isinstance(venue, CcxtVenue)
    assert "k-123" not in repr(venue) and "s-456" not in repr(venue)


def test_ccxt_venue_without_keys_says_which_variables_to_set(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="TRADING_STRATEGY_EXCHANGE__API_KEY"):
        build({"kind": "ccxt", "exchange": "binance"}, tmp_path)


def test_ccxt_venue_refuses_an_all_in_strategy_at_start_up(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^strategy sma_btc: size \"all-in\" needs a "
                                          "quote-quantity market buy"):
        build({"kind": "ccxt", "exchange": "binance"}, tmp_path, size="all-in", environ=KEYS)


def test_a_percent_size_is_fine_on_a_ccxt_venue(tmp_path: Path) -> None:
    assert isinstance(build({"kind": "ccxt", "exchange": "binance"}, tmp_path, size="25%",
                            environ=KEYS), CcxtVenue)
