"""One settings path: `run` uses the risk settings of the environment, and `config show
--config PORTFOLIO` shows what the session will use (issue 9, item 6)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from trading_strategy.cli import main
from trading_strategy.config import ValueSource, load_portfolio, load_settings_report
from trading_strategy.core.errors import ConfigError

# one year of GOOG: sma_crossover(10, 30) trades several times in it
PORTFOLIO = """
[session]
name = "{name}"
start = "2010-01-01"
end = "2011-01-01"

[[strategies]]
name = "sma_goog"
strategy = "sma_crossover"
symbol = "GOOG"
capital = 50000
size = "10"
params = {{ fast = 10, slow = 30 }}

[risk]
max_position_pct = 60
max_drawdown_pct = 40
"""


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("TRADING_STRATEGY_") and name != "TRADING_STRATEGY_DATA_DIR":
            monkeypatch.delenv(name)


def portfolio(tmp_path: Path, name: str = "envrisk") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(PORTFOLIO.format(name=name), encoding="utf-8")
    return path


def trades(out: str) -> int:
    line = next(line for line in out.splitlines() if "sma_goog" in line)
    return int(line.rsplit("trades", 1)[1])


def test_run_trades_without_environment_risk(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--config", str(portfolio(tmp_path, "plain")), "--quiet"]) == 0
    assert trades(capsys.readouterr().out) > 0


def test_run_obeys_environment_risk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    # the reproduction: `config show` reported these, `run` ignored them
    monkeypatch.setenv("TRADING_STRATEGY_RISK__BLOCKED_SYMBOLS", "GOOG,MSFT")
    assert main(["run", "--config", str(portfolio(tmp_path, "blocked")), "--quiet"]) == 0
    assert trades(capsys.readouterr().out) == 0


def test_precedence_defaults_settings_file_portfolio_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings_file = tmp_path / "settings.toml"
    settings_file.write_text("[risk]\nmax_drawdown_pct = 10\nmax_open_orders = 7\n"
                             "max_position_pct = 50\n", encoding="utf-8")
    monkeypatch.setenv("TRADING_STRATEGY_CONFIG_FILE", str(settings_file))
    monkeypatch.setenv("TRADING_STRATEGY_RISK__MAX_POSITION_PCT", "1")
    path = portfolio(tmp_path)
    risk = load_portfolio(path).risk
    assert risk.max_position_pct == 1  # environment over portfolio over settings file
    assert risk.max_drawdown_pct == 40  # portfolio over settings file
    assert risk.max_open_orders == 7  # settings file over default
    assert risk.max_gross_exposure is None  # default
    sources = {v.key: (v.source, v.origin) for v in load_settings_report(path).values}
    assert sources["risk.max_position_pct"] == (
        ValueSource.ENV, "TRADING_STRATEGY_RISK__MAX_POSITION_PCT")
    assert sources["risk.max_drawdown_pct"] == (ValueSource.PORTFOLIO, str(path))
    assert sources["risk.max_open_orders"] == (ValueSource.FILE, str(settings_file))
    assert sources["session.name"] == (ValueSource.PORTFOLIO, str(path))
    assert sources["venue.kind"] == (ValueSource.DEFAULT, "")


def test_config_show_of_a_portfolio_shows_what_the_session_uses(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TRADING_STRATEGY_RISK__BLOCKED_SYMBOLS", "GOOG,MSFT")
    path = portfolio(tmp_path)
    assert main(["config", "show", "--config", str(path), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    values = {v["key"]: v for v in shown["values"]}
    assert shown["portfolio_file"] == str(path)
    assert values["risk.blocked_symbols"]["value"] == ["GOOG", "MSFT"]
    assert values["risk.blocked_symbols"]["source"] == "env"
    assert values["risk.max_position_pct"]["source"] == "portfolio"
    assert values["strategies.sma_goog.capital"]["value"] == "50000"
    assert main(["config", "show", "--config", str(path)]) == 0
    text = capsys.readouterr().out
    assert "portfolio file: " in text and "GOOG, MSFT" in text


def test_a_portfolio_is_accepted_as_the_risk_config_of_a_backtest(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TRADING_STRATEGY_RISK__BLOCKED_SYMBOLS", "GOOG")
    assert main(["backtest", "--strategy", "sma_crossover", "--data", "GOOG", "--no-store",
                 "--quiet", "--risk-config", str(portfolio(tmp_path))]) == 0


def test_environment_risk_errors_name_the_variable_when_running(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADING_STRATEGY_RISK__MAX_POSITION_PCT", "lots")
    with pytest.raises(ConfigError) as info:
        load_portfolio(portfolio(tmp_path))
    assert "(from TRADING_STRATEGY_RISK__MAX_POSITION_PCT)" in str(info.value)
    assert str(info.value).startswith("risk.max_position_pct: ")
