"""The portfolio file's live sections: ``[data]`` (providers, thresholds, endpoints) and a
ccxt ``[venue]`` (exchange, sandbox, keys only from the environment, slippage models).
Every bad value is one line naming the field."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from trading_strategy.config import load_portfolio
from trading_strategy.core.errors import ConfigError
from trading_strategy.kernel.costs import AtrSlippage, FixedBpsSlippage, RangeSlippage
from trading_strategy.runtime.portfolio_config import parse_portfolio


def raw(**sections: Any) -> dict[str, Any]:
    strategy = {"name": "sma_btc", "strategy": "sma_crossover", "symbol": "BTC/USDT",
                "capital": 1000, **sections.pop("strategy", {})}
    return {"strategies": [strategy], **sections}


DATA = {"default": {"providers": ["binance", "coinbase"], "timeframe": "1m"}}


def error(data: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as info:
        parse_portfolio(data)
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    return message


@pytest.mark.parametrize(("data", "field"), [
    (raw(data={"default": {"providers": ["kraken"], "timeframe": "1m"}}),
     "data.default.providers: unknown provider 'kraken'"),
    (raw(data={"default": {"providers": [], "timeframe": "1m"}}), "data.default.providers"),
    (raw(data={"default": {"providers": ["binance", "binance"], "timeframe": "1m"}}),
     "data.default.providers: a provider is listed twice"),
    (raw(data={"default": {"providers": "binance", "timeframe": "1m"}}),
     "data.default.providers"),
    (raw(data={"default": {"timeframe": "1m"}}), "data.default.providers: list the providers"),
    (raw(data={"default": {"providers": ["binance"]}}), "data.default.timeframe: set the bars"),
    (raw(data={"default": {"providers": ["binance"], "timeframe": "7x"}}),
     "data.default.timeframe"),
    (raw(data={**DATA, "default": {**DATA["default"], "stale_after": 0}}),
     "data.default.stale_after"),
    (raw(data={**DATA, "default": {**DATA["default"], "failover_after": "2"}}),
     "data.default.failover_after"),
    (raw(data={**DATA, "default": {**DATA["default"], "switch_back_after": -1}}),
     "data.default.switch_back_after"),
    (raw(data={**DATA, "default": {**DATA["default"], "stale_after": float("nan")}}),
     "data.default.stale_after"),
    (raw(data={**DATA, "instruments": {"ETH/USDT": {"providers": ["binance"]}}}),
     "data.instruments: no strategy trades 'ETH/USDT'"),
    (raw(data={**DATA, "providers": {"binance": {"ws_url": "http://127.0.0.1:1"}}}),
     "data.providers.binance.ws_url: must be a ws:// or wss:// URL"),
    (raw(data={**DATA, "providers": {"binance": {"rest_url": "ftp://x"}}}),
     "data.providers.binance.rest_url: must be an http:// or https:// URL"),
    (raw(data={**DATA, "providers": {"kraken": {}}}), "data.providers: unknown provider"),
    (raw(data={**DATA, "feeds": {}}), "data.feeds"),
    (raw(data={**DATA}, strategy={"timeframe": "5m"}),
     "data.default.timeframe: '1m' differs from strategy sma_btc's '5m'"),
    (raw(venue={"kind": "ccxt"}), "venue.exchange: a ccxt venue names its exchange"),
    (raw(venue={"kind": "ccxt", "exchange": "kraken"}), "venue.exchange"),
    (raw(venue={"kind": "ccxt", "exchange": "binance", "sandbox": "yes"}), "venue.sandbox"),
    (raw(venue={"kind": "paper", "exchange": "binance"}), "venue.exchange: only a ccxt venue"),
    (raw(venue={"kind": "live"}), "venue.kind"),
    (raw(venue={"slippage": "fixed"}), "venue.slippage"),
    (raw(venue={"slippage": "atr"}), "venue.slippage_value: slippage 'atr' needs it"),
    (raw(venue={"slippage": "range", "slippage_value": -1}), "venue.slippage_value"),
    (raw(venue={"slippage_value": 0.1}), "venue.slippage_value: slippage \"bps\" takes"),
    (raw(venue={"slippage": "range", "slippage_value": 0.1, "slippage_bps": 2}),
     "venue.slippage_bps: only with slippage \"bps\""),
])
def test_a_bad_value_is_one_line_naming_the_field(data: dict[str, Any], field: str) -> None:
    assert field in error(data)


@pytest.mark.parametrize("key", ["api_key", "secret", "apiKey"])
def test_a_key_in_the_file_is_refused_and_told_where_it_goes(key: str) -> None:
    message = error(raw(venue={"kind": "ccxt", "exchange": "binance", key: "hunter2"}))
    assert "environment only" in message and "TRADING_STRATEGY_EXCHANGE__" in message
    assert "hunter2" not in message


def test_a_live_file_reads_back_as_written(tmp_path: Path) -> None:
    path = tmp_path / "live.toml"
    path.write_text('''
[venue]
kind = "ccxt"
exchange = "binance"
sandbox = true
url = "http://127.0.0.1:8080"

[data.default]
providers = ["binance", "coinbase"]
timeframe = "1m"
stale_after = 2
switch_back_after = 10

[data.instruments."BTC/USDT"]
providers = ["coinbase", "binance"]
failover_after = 3

[data.providers.binance]
ws_url = "ws://127.0.0.1:9443"

[[strategies]]
name = "sma_btc"
strategy = "sma_crossover"
symbol = "BTC/USDT"
capital = 1000
size = "25%"
''')
    config = load_portfolio(path)
    assert config.venue.kind == "ccxt" and config.venue.sandbox is True
    assert config.venue.rest_url == "http://127.0.0.1:8080"
    assert config.data is not None
    btc = config.data.settings_for("BTC/USDT")
    assert (btc.providers, btc.timeframe, btc.stale_after, btc.failover_after,
            btc.switch_back_after) == (["coinbase", "binance"], "1m", 2, 3, 10)
    assert config.data.providers["binance"].ws_url == "ws://127.0.0.1:9443"
    assert config.data.providers["binance"].rest_url is None


def test_without_data_a_session_replays_history() -> None:
    assert parse_portfolio(raw()).data is None
    assert parse_portfolio(raw()).venue.rest_url is None


@pytest.mark.parametrize(("venue", "model"), [
    ({}, FixedBpsSlippage(Decimal(0))),
    ({"slippage_bps": 2.5}, FixedBpsSlippage(Decimal("2.5"))),
    ({"slippage": "range", "slippage_value": 0.1},
     RangeSlippage(Decimal("0.1"))),
    ({"slippage": "atr", "slippage_value": 2}, AtrSlippage(Decimal(2))),
])
def test_the_slippage_model_the_venue_names(venue: dict[str, Any], model: Any) -> None:
    assert parse_portfolio(raw(venue=venue)).venue.slippage_model() == model


def test_the_example_files_load() -> None:
    examples = Path(__file__).parents[2] / "examples"
    for name in ("live_binance_paper.toml", "testnet_ccxt.toml"):
        config = load_portfolio(examples / name)
        assert config.data is not None, name


def test_config_show_lists_each_symbols_feed(capsys: pytest.CaptureFixture[str]) -> None:
    from trading_strategy.cli import main

    examples = Path(__file__).parents[2] / "examples"
    assert main(["config", "show", "--config", str(examples / "live_binance_paper.toml")]) == 0
    lines = {line.split()[0]: line.split()[1:] for line in
             capsys.readouterr().out.splitlines() if line.startswith(("data.", "venue."))}
    assert lines["data.BTC/USDT.providers"][:2] == ["binance,", "coinbase"]
    assert lines["data.BTC/USDT.switch_back_after"][0] == "5"
    assert lines["venue.slippage"][0] == "range"
