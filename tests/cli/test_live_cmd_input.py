"""Session commands refuse names that are not one path component and speeds out of range."""

from __future__ import annotations

from pathlib import Path

import pytest

from trading_strategy.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "portfolio.toml"


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "data"
    monkeypatch.setenv("TRADING_STRATEGY_DATA_DIR", str(root))
    return root


@pytest.mark.parametrize("command", [["status"], ["audit", "--strategy", "x"]])
@pytest.mark.parametrize("name", ["..", ".", "a/b"])
def test_a_session_name_never_leaves_the_sessions_folder(
        command: list[str], name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*command, "--session", name]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --session must be")
    assert "Traceback" not in err


@pytest.mark.parametrize("speed", ["-1", "inf", "nan"])
def test_run_speed_is_checked_like_the_file_value(
        speed: str, capsys: pytest.CaptureFixture[str], data_dir: Path) -> None:
    assert main(["run", "--config", str(EXAMPLE), "--speed", speed, "--quiet"]) == 2
    assert capsys.readouterr().err.startswith("error: --speed: ")
    assert not (data_dir / "sessions").exists()  # refused before anything was written
