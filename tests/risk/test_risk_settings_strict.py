"""Strict risk settings: types and sane bounds, from a TOML file and from the environment.

Regressions of issue 9: booleans became numbers (``max_position_pct = true`` was 1 %), 1e308
reached the engine as a leverage or ATR multiple (a traceback), 1e20 was accepted as a bar
count, and a malformed list in an environment variable became a literal symbol.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from pydantic import ValidationError

from trading_strategy.cli import main
from trading_strategy.config import load_settings
from trading_strategy.core.errors import ConfigError
from trading_strategy.risk.settings import (
    FLAG_KEYS,
    NUMBER_KEYS,
    RiskOverrides,
    RiskSettings,
    file_type_problems,
)

#: keys whose value is text, a list or a table
TEXT_KEYS = {"sizing_method", "time_exit_after", "tradable_symbols", "blocked_symbols",
             "day_calendar", "strategies"}


def one_error(**kw: object) -> tuple[str, str]:
    with pytest.raises(ValidationError) as info:
        RiskSettings(**kw)
    [error] = info.value.errors()
    return ".".join(map(str, error["loc"])), error["msg"].removeprefix("Value error, ")


def test_every_key_has_a_declared_kind() -> None:
    # file_type_problems relies on these lists: a new key must be classified
    assert set(RiskSettings.model_fields) == NUMBER_KEYS | FLAG_KEYS | TEXT_KEYS
    assert not NUMBER_KEYS & FLAG_KEYS


@pytest.mark.parametrize("key", sorted(NUMBER_KEYS))
def test_a_boolean_is_never_a_number(key: str) -> None:
    loc, msg = one_error(**{key: True})
    assert loc == key
    assert msg.startswith("must be a ") and msg.endswith("got true"), msg
    assert "at most" in msg or "from 1 to" in msg  # the allowed range is named


@pytest.mark.parametrize("key", sorted(FLAG_KEYS))
def test_a_number_is_never_a_flag(key: str) -> None:
    assert one_error(**{key: 1}) == (key, "must be true or false, got 1")


@pytest.mark.parametrize(
    ("key", "value", "text"),
    [
        ("max_leverage", 1e308, "must be greater than 0 and at most 100, got 1e+308"),
        ("stop_loss_atr_multiple", 1e308, "must be greater than 0 and at most 100, got 1e+308"),
        ("take_profit_atr_multiple", 1e308,
         "must be greater than 0 and at most 100, got 1e+308"),
        ("trailing_stop_atr_multiple", 1e308,
         "must be greater than 0 and at most 100, got 1e+308"),
        ("max_position_pct", 10**400, "must be a number greater than 0 and at most 100, got "
         "100000000000... (401 characters)"),
        ("max_order_notional", 1e308, "must be a money amount greater than 0 and at most "
         "1E+15, got 1E+308"),
        ("atr_period", 1e20, "must be a whole number from 1 to 10,000, got 1e+20"),
        ("atr_period", 14.0, "must be a whole number from 1 to 10,000, got 14"),
        ("time_exit_bars", 1e20, "must be a whole number from 1 to 10,000,000, got 1e+20"),
        ("time_exit_bars", 10**20, "must be a whole number from 1 to 10,000,000, got "
         "100000000000000000000"),
        ("kelly_min_trades", 0, "must be a whole number from 1 to 10,000, got 0"),
    ],
)
def test_absurd_sizes_are_refused_with_the_range(key: str, value: object, text: str) -> None:
    assert one_error(**{key: value}) == (key, text)


@pytest.mark.parametrize("text", ['["A"', "[A,B", '["A", 3]', "[]x", "A B"])
def test_a_malformed_symbol_list_is_refused(text: str) -> None:
    loc, msg = one_error(tradable_symbols=text)
    assert loc.startswith("tradable_symbols")
    assert "must be a list" in msg or "is not a symbol" in msg or "valid string" in msg


def test_symbol_lists_in_both_forms() -> None:
    assert RiskSettings(tradable_symbols='["AAPL", "BRK.B"]').tradable_symbols == [
        "AAPL", "BRK.B"]
    assert RiskSettings(blocked_symbols="BTC/USDT, ^GSPC").blocked_symbols == [
        "BTC/USDT", "^GSPC"]


def test_quoted_numbers_in_a_file_are_named() -> None:
    table = tomllib.loads('[risk]\nmax_position_pct = "10"\nflatten_on_halt = "true"\n'
                          'sizing_method = "strategy"\nmax_drawdown_pct = 15\n'
                          '[risk.strategies.sma]\natr_period = "14"\n')["risk"]
    assert file_type_problems(table) == [
        "risk.max_position_pct: must be a number, not the string '10' (write it without "
        "quotes)",
        "risk.flatten_on_halt: must be true or false, not the string 'true' (write it "
        "without quotes)",
        "risk.strategies.sma.atr_period: must be a number, not the string '14' (write it "
        "without quotes)",
    ]


def test_kelly_prior_must_come_in_pairs_and_have_an_edge() -> None:
    base = {"sizing_method": "kelly", "kelly_fraction": 0.5, "kelly_max_pct": 10}
    with pytest.raises(ValidationError, match="set both or neither"):
        RiskSettings(**base, kelly_win_rate=0.6)
    with pytest.raises(ValidationError, match="has no edge"):
        RiskSettings(**base, kelly_win_rate=0.4, kelly_payoff_ratio=1.2)
    with pytest.raises(ValidationError, match="only used with sizing_method 'kelly'"):
        RiskSettings(kelly_win_rate=0.6, kelly_payoff_ratio=2)
    ok = RiskSettings(**base, kelly_win_rate=0.55, kelly_payoff_ratio=1.5, kelly_min_trades=30)
    eff = ok.for_strategy(None)
    assert (eff.kelly_win_rate, eff.kelly_payoff_ratio, eff.kelly_min_trades) == (0.55, 1.5, 30)
    # a strategy setting any sizing key replaces the whole sizing group, prior included
    s = RiskSettings(**base, kelly_win_rate=0.55, kelly_payoff_ratio=1.5, strategies={
        "sma": RiskOverrides(sizing_method="kelly", kelly_fraction=1, kelly_max_pct=5)})
    assert s.for_strategy("sma").kelly_win_rate is None


# --- the environment: strings must still parse ------------------------------------------
def test_environment_strings_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADING_STRATEGY_RISK__MAX_POSITION_PCT", "10")
    monkeypatch.setenv("TRADING_STRATEGY_RISK__ATR_PERIOD", "20")
    monkeypatch.setenv("TRADING_STRATEGY_RISK__FLATTEN_ON_HALT", "false")
    monkeypatch.setenv("TRADING_STRATEGY_RISK__TRADABLE_SYMBOLS", '["GOOG", "AAPL"]')
    risk = load_settings().risk
    assert risk.max_position_pct == 10 and risk.atr_period == 20
    assert risk.flatten_on_halt is False
    assert risk.tradable_symbols == ["GOOG", "AAPL"]


@pytest.mark.parametrize(
    ("name", "value", "text"),
    [
        ("TRADABLE_SYMBOLS", '["A"', "risk.tradable_symbols: must be a list"),
        ("TRADABLE_SYMBOLS", "[A,B", "risk.tradable_symbols: must be a list"),
        ("MAX_LEVERAGE", "1e308", "risk.max_leverage: must be greater than 0 and at most 100"),
        ("ATR_PERIOD", "1e20", "risk.atr_period: must be a whole number from 1 to 10,000"),
        ("MAX_POSITION_PCT", "ten", "risk.max_position_pct: must be a number greater than 0 "
         "and at most 100, got 'ten'"),
        ("FLATTEN_ON_HALT", "maybe", "risk.flatten_on_halt: must be true or false"),
    ],
)
def test_bad_environment_values_are_one_line_errors(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path,
        name: str, value: str, text: str) -> None:
    monkeypatch.setenv(f"TRADING_STRATEGY_RISK__{name}", value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert str(info.value).startswith(text)
    # through the CLI: one line on stderr, no traceback, a failing exit code
    monkeypatch.setenv("TRADING_STRATEGY_DATA_DIR", str(tmp_path))
    code = main(["backtest", "--strategy", "sma_crossover", "--data", "GOOG", "--quiet",
                 "--no-store"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"error: {text}") and err.count("\n") == 1, err
