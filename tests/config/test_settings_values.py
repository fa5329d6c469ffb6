"""Settings (file and environment): strict values, one clear line each (issue 9, items 8, 9)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from trading_strategy.cli import main
from trading_strategy.config import load_settings
from trading_strategy.core.errors import ConfigError


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("TRADING_STRATEGY_") and name != "TRADING_STRATEGY_DATA_DIR":
            monkeypatch.delenv(name)


def env_error(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> str:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    return str(info.value)


def test_an_empty_data_dir_is_not_the_current_folder(monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    message = env_error(monkeypatch, "TRADING_STRATEGY_DATA_DIR", "")
    assert message.startswith("data_dir: must not be empty")
    assert message.endswith("(from TRADING_STRATEGY_DATA_DIR)")
    for command in (["config", "show"], ["db", "current"], ["runs", "list"]):
        assert main(command) == 2
        assert capsys.readouterr().err.startswith("error: data_dir: must not be empty")


@pytest.mark.parametrize(("name", "value", "start"), [
    ("TRADING_STRATEGY_LOG_FORMAT", "xml", "log_format: "),
    ("TRADING_STRATEGY_TIMESCALE_COMPRESS_AFTER", "soon", "timescale_compress_after: "),
    ("TRADING_STRATEGY_DATABASE_URL", "mysql://u@h/db", "database_url: "),
    ("TRADING_STRATEGY_EXCHANGE__API_URL", "not a url", "exchange.api_url: "),
    ("TRADING_STRATEGY_EXCHANGE__SANDBOX", "maybe", "exchange.sandbox: "),
])
def test_nonsense_in_the_environment_is_named(monkeypatch: pytest.MonkeyPatch, name: str,
                                              value: str, start: str) -> None:
    message = env_error(monkeypatch, name, value)
    assert message.startswith(start) and message.endswith(f"(from {name})")


def test_a_non_utf8_settings_file_is_one_error(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_bytes(b'log_format = "json"\n# r\xe9sum\xe9\n')
    with pytest.raises(ConfigError, match=r"settings.toml: line 2: not UTF-8"):
        load_settings(path)


def test_a_folder_as_settings_file_is_one_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        load_settings(tmp_path)


def test_undecodable_bytes_in_a_path_print_escaped(monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    # a Linux path may hold any bytes; printing it must not crash the command
    odd = os.fsdecode(bytes(tmp_path) + b"/d\xff")
    monkeypatch.setenv("TRADING_STRATEGY_DATA_DIR", odd)
    assert main(["config", "show"]) == 0
    assert "data_dir" in capsys.readouterr().out


@pytest.mark.parametrize(("table", "key"), [
    ('max_position_pct = "10"', "risk.max_position_pct: must be a number"),
    ('flatten_on_halt = "false"', "risk.flatten_on_halt: must be true or false"),
    ('[risk.strategies.a]\nstop_loss_pct = "2"', "risk.strategies.a.stop_loss_pct: must be"),
])
def test_a_quoted_number_in_a_file_is_refused_but_not_in_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, table: str, key: str) -> None:
    settings = tmp_path / "settings.toml"
    settings.write_text(f"[risk]\n{table}\n")
    portfolio = tmp_path / "portfolio.toml"
    portfolio.write_text('[[strategies]]\nname = "a"\nstrategy = "sma_crossover"\n'
                         f'symbol = "GOOG"\ncapital = 1000\n\n[risk]\n{table}\n')
    for path in (settings, portfolio):
        with pytest.raises(ConfigError, match=key) as info:
            load_settings(path)
        assert str(path) in str(info.value)
    monkeypatch.setenv("TRADING_STRATEGY_RISK__MAX_POSITION_PCT", "10")
    assert load_settings().risk.max_position_pct == 10
