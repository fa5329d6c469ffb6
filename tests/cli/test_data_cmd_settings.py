"""`data` commands read the same settings as every other command (settings file included)."""

from __future__ import annotations

from pathlib import Path

import pytest

from trading_strategy.cli import main


def test_data_commands_use_the_database_of_the_settings_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TRADING_STRATEGY_DATA_DIR", str(tmp_path / "data"))
    db = tmp_path / "elsewhere.sqlite3"
    settings = tmp_path / "settings.toml"
    settings.write_text(f'database_url = "sqlite:///{db}"\n')
    monkeypatch.setenv("TRADING_STRATEGY_CONFIG_FILE", str(settings))
    bars = tmp_path / "bars.csv"
    bars.write_text("timestamp,open,high,low,close,volume\n"
                    "2024-01-02,10,11,9,10.5,100\n2024-01-03,10.5,12,10,11,200\n")
    assert main(["data", "import", str(bars), "--symbol", "XYZ", "--timeframe", "1d"]) == 0
    assert str(db) in capsys.readouterr().out
    assert db.exists()
    assert not (tmp_path / "data" / "trading-strategy.sqlite3").exists()
    assert main(["data", "list"]) == 0
    assert "XYZ" in capsys.readouterr().out


def test_a_bad_settings_file_stops_data_commands_with_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TRADING_STRATEGY_DATA_DIR", str(tmp_path / "data"))
    settings = tmp_path / "settings.toml"
    settings.write_text("[risk]\nmax_position_pct = true\n")
    monkeypatch.setenv("TRADING_STRATEGY_CONFIG_FILE", str(settings))
    assert main(["data", "list"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: risk.max_position_pct")
    assert "Traceback" not in err
