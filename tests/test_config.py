"""Settings: TOML file, environment overrides, clear errors, source report, ``config show``."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from trading_strategy.cli import main
from trading_strategy.config import (
    CONFIG_FILE_ENV,
    Settings,
    ValueSource,
    load_settings,
    load_settings_report,
    redact_url,
)
from trading_strategy.core.errors import ConfigError


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.upper().startswith("TRADING_STRATEGY_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "settings.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(config: Path | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        load_settings(config)
    return str(info.value)


def test_defaults_without_file_or_env() -> None:
    settings = load_settings()
    assert settings.log_format == "console"
    assert settings.risk.max_position_pct is None
    assert settings.effective_database_url().startswith("sqlite:///")


def test_file_then_env_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, """
log_format = "json"
[risk]
max_position_pct = 20
max_drawdown_pct = 15
[risk.strategies.sma_crossover]
max_position_pct = 5
""")
    settings = load_settings(path)
    assert settings.log_format == "json"
    assert settings.risk.max_position_pct == 20
    assert settings.risk.strategies["sma_crossover"].max_position_pct == 5
    monkeypatch.setenv("TRADING_STRATEGY_RISK__MAX_POSITION_PCT", "10")
    monkeypatch.setenv("TRADING_STRATEGY_RISK__STRATEGIES__SMA_CROSSOVER__MAX_POSITION_PCT", "3")
    monkeypatch.setenv("TRADING_STRATEGY_RISK__BLOCKED_SYMBOLS", "GME, AMC")
    settings = load_settings(path)
    assert settings.risk.max_position_pct == 10  # env beats file
    assert settings.risk.max_drawdown_pct == 15  # the rest of the file still applies
    assert settings.risk.strategies["sma_crossover"].max_position_pct == 3
    assert settings.risk.blocked_symbols == ["GME", "AMC"]


def test_env_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADING_STRATEGY_RISK__MAX_POSITION_PCT", "10")
    assert load_settings().risk.max_position_pct == 10
    assert Settings().risk.max_position_pct == 10  # direct construction reads env too


def test_config_file_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "[risk]\nmax_leverage = 2\n")
    monkeypatch.setenv(CONFIG_FILE_ENV, str(path))
    assert load_settings().risk.max_leverage == 2


def test_bad_value_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "[risk]\nmax_position_pct = 150\n")
    message = error_of(path)  # the bound's wording belongs to risk.settings
    assert message.startswith("risk.max_position_pct: must be ")
    assert message.endswith(f"at most 100, got 150 (in {path})")
    monkeypatch.setenv("TRADING_STRATEGY_RISK__MAX_DAILY_LOSS_PCT", "-2")
    monkeypatch.setenv("TRADING_STRATEGY_RISK__MAX_DRAWDOWN_PCT", "abc")
    lines = error_of(path).splitlines()  # every problem, one line each
    assert len(lines) == 3
    assert any(line.startswith("risk.max_daily_loss_pct: must be ") and "-2" in line
               and line.endswith("(from TRADING_STRATEGY_RISK__MAX_DAILY_LOSS_PCT)")
               for line in lines)
    assert any(line.startswith("risk.max_drawdown_pct: ") and "number" in line
               and "got 'abc'" in line for line in lines)


def test_unknown_keys_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "[risk]\nmax_positon_pct = 10\n")
    assert error_of(path) == (
        f"risk.max_positon_pct: unknown key; did you mean max_position_pct? (in {path})")
    path = write(tmp_path, "[risk.strategies.sma]\nmax_gross_exposure = 10\n")
    assert error_of(path).startswith("risk.strategies.sma.max_gross_exposure: unknown key")
    path = write(tmp_path, "[riks]\nmax_position_pct = 10\n")
    assert error_of(path).startswith("riks: unknown key; did you mean risk?")
    monkeypatch.setenv("TRADING_STRATEGY_RISK__MAX_POSITON_PCT", "5")
    monkeypatch.setenv("TRADING_STRATEGY_LOG_FROMAT", "json")
    lines = error_of().splitlines()
    assert ("log_fromat: unknown setting; did you mean log_format? "
            "(TRADING_STRATEGY_LOG_FROMAT)") in lines
    assert ("risk.max_positon_pct: unknown key; did you mean max_position_pct? "
            "(from TRADING_STRATEGY_RISK__MAX_POSITON_PCT)") in lines
    monkeypatch.setenv("TRADING_STRATEGY_RISK_MAX_POSITION_PCT", "5")
    assert ("risk_max_position_pct: unknown setting; nested keys need a double underscore: "
            "TRADING_STRATEGY_RISK__MAX_POSITION_PCT (TRADING_STRATEGY_RISK_MAX_POSITION_PCT)"
            ) in error_of().splitlines()


def test_inconsistent_and_missing_values(tmp_path: Path) -> None:
    path = write(tmp_path, '[risk]\nsizing_method = "kelly"\nkelly_fraction = 0.5\n')
    assert error_of(path) == "risk.kelly_max_pct: required when sizing_method is 'kelly'"
    path = write(tmp_path, "[risk]\ntake_profit_pct = 4\ntake_profit_atr_multiple = 3\n")
    assert error_of(path) == ("risk.take_profit_atr_multiple: cannot be combined with "
                              f"take_profit_pct; set only one of them (in {path})")


def test_file_problems(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    assert error_of(missing) == f"config file {missing}: not found"
    broken = write(tmp_path, "[risk\n")
    assert error_of(broken).startswith(f"config file {broken}: invalid TOML")


def test_source_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "[risk]\nmax_position_pct = 20\nmax_drawdown_pct = 15\n"
                           "[risk.strategies.sma]\nmax_open_orders = 4\n")
    monkeypatch.setenv("TRADING_STRATEGY_RISK__MAX_POSITION_PCT", "10")
    loaded = load_settings_report(path)
    by_key = {v.key: v for v in loaded.values}
    pos = by_key["risk.max_position_pct"]
    assert (pos.value, pos.source, pos.origin) == (
        10, ValueSource.ENV, "TRADING_STRATEGY_RISK__MAX_POSITION_PCT")
    dd = by_key["risk.max_drawdown_pct"]
    assert (dd.value, dd.source, dd.origin) == (15, ValueSource.FILE, str(path))
    sizing = by_key["risk.sizing_method"]
    assert (sizing.value, sizing.source) == ("strategy", ValueSource.DEFAULT)
    assert by_key["risk.strategies.sma.max_open_orders"].source is ValueSource.FILE


def test_redact_url() -> None:
    assert redact_url("postgresql+psycopg://app:s3cret@db:5432/x") == (
        "postgresql+psycopg://app:***@db:5432/x")
    assert redact_url("sqlite:///tmp/x.db") == "sqlite:///tmp/x.db"


def test_config_show_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                          capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "[risk]\nmax_drawdown_pct = 15\n")
    monkeypatch.setenv("TRADING_STRATEGY_RISK__MAX_POSITION_PCT", "10")
    monkeypatch.setenv("TRADING_STRATEGY_DATABASE_URL", "postgresql://u:pw@h/db")
    assert main(["config", "show", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert lines["risk.max_position_pct"].split()[1:] == [
        "10", "env", "(TRADING_STRATEGY_RISK__MAX_POSITION_PCT)"]
    assert lines["risk.max_drawdown_pct"].split()[1:] == ["15", "file", f"({path})"]
    assert lines["risk.max_leverage"].split()[1:] == ["off", "default"]
    assert "pw" not in out and "u:***@h" in lines["database_url"]


def test_config_show_json(capsys: pytest.CaptureFixture[str],
                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADING_STRATEGY_RISK__MAX_ORDER_NOTIONAL", "2500.50")
    assert main(["config", "show", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    values = {v["key"]: v for v in data["values"]}
    assert values["risk.max_order_notional"] == {
        "key": "risk.max_order_notional", "value": "2500.50", "source": "env",
        "origin": "TRADING_STRATEGY_RISK__MAX_ORDER_NOTIONAL"}
    assert values["risk.initial_margin_pct"]["value"] == 100


def test_config_show_error_is_one_line_per_problem(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "[risk]\nmax_position_pct = 150\n")
    assert main(["config", "show", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: risk.max_position_pct: must be ")
    assert err.endswith(f"got 150 (in {path})\n") and err.count("\n") == 1


def test_exchange_keys_load_from_env_and_never_print(monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from trading_strategy.cli import main
    from trading_strategy.config import load_settings

    monkeypatch.setenv("TRADING_STRATEGY_EXCHANGE__API_KEY", "key-123")
    monkeypatch.setenv("TRADING_STRATEGY_EXCHANGE__SECRET", "secret-456")
    settings = load_settings()
    assert settings.exchange.secret is not None
    assert settings.exchange.secret.get_secret_value() == "secret-456"
    assert "secret-456" not in repr(settings)
    assert main(["config", "show", "--json"]) == 0
    assert main(["config", "show"]) == 0
    out = capsys.readouterr().out
    assert "secret-456" not in out and "key-123" not in out
