"""Secrets never reach an output: every URL form, every command, failing or not (issue 9,
item 10). The succeeding PostgreSQL commands are in tests/storage/test_engine.py."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from trading_strategy.cli import main
from trading_strategy.core.errors import redact_secrets, redact_url

SECRET = "Hunter2-s3cret"


def _unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


PORT = _unused_port()
#: every form a database password takes (the last two: a secret %-encoded in the URL)
URLS = [
    f"postgresql+psycopg://trader:{SECRET}@127.0.0.1:{PORT}/ts",
    f"postgresql+psycopg://trader@127.0.0.1:{PORT}/ts?password={SECRET}",
    f"postgresql://127.0.0.1:{PORT}/ts?user=trader&sslmode=disable&password={SECRET}",
    f"postgresql+psycopg://trader@127.0.0.1:{PORT}/ts?sslpassword={SECRET}&password={SECRET}",
    f"host=127.0.0.1 port={PORT} user=trader password={SECRET}",
    f"postgresql+psycopg://trader:{SECRET}%40x@127.0.0.1:{PORT}/ts",
    f"postgresql+psycopg://trader@127.0.0.1:{PORT}/ts?password={SECRET}%26x",
]
COMMANDS = [["config", "show"], ["config", "show", "--json"], ["db", "current"],
            ["db", "upgrade"], ["runs", "list"],
            ["backtest", "--strategy", "sma_crossover", "--data", "GOOG", "--quiet"]]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("TRADING_STRATEGY_") and name != "TRADING_STRATEGY_DATA_DIR":
            monkeypatch.delenv(name)


@pytest.mark.parametrize("url", URLS)
def test_no_command_prints_the_database_password(url: str, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TRADING_STRATEGY_DATABASE_URL", url)
    codes = []
    for command in COMMANDS:
        codes.append(main(command))
        out, err = capsys.readouterr()
        assert SECRET not in out + err, command
        assert "Traceback" not in err
    # config show succeeds (a libpq string is refused: not a URL); database commands fail
    assert codes[:2] == ([0, 0] if "://" in url else [2, 2])
    assert all(code in (1, 2) for code in codes[2:])


def test_exchange_secrets_never_print(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TRADING_STRATEGY_EXCHANGE__API_KEY", SECRET)
    monkeypatch.setenv("TRADING_STRATEGY_EXCHANGE__SECRET", SECRET + "x")
    assert main(["config", "show", "--json"]) == 0
    monkeypatch.setenv("TRADING_STRATEGY_EXCHANGE__API_URL", "nonsense")  # a failing run
    assert main(["config", "show"]) == 2
    out, err = capsys.readouterr()
    assert SECRET not in out + err and "exchange.api_url" in err


def test_a_secret_in_a_settings_file_is_refused_without_echoing_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "settings.toml"
    path.write_text(f'database_url = "postgresql://u:{SECRET}@db/ts"\n'
                    f'[exchange]\napi_key = "{SECRET}"\nsecret = ["{SECRET}"]\n',
                    encoding="utf-8")
    assert main(["config", "show", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert SECRET not in err
    assert "exchange.api_key: a secret is read from the environment only" in err
    assert "database_url: a password is read from the environment only" in err


def test_a_subprocess_run_leaks_nothing_on_any_stream() -> None:
    env = {**os.environ, "TRADING_STRATEGY_DATABASE_URL": URLS[1]}
    done = subprocess.run([sys.executable, "-m", "trading_strategy.cli", "db", "current"],
                          capture_output=True, text=True, env=env, timeout=60, check=False)
    assert done.returncode == 2 and "cannot connect" in done.stderr
    assert SECRET not in done.stdout + done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(("text", "expected"), [
    ("postgresql://u:p@ss/w@rd@db/ts", "postgresql://u:***@db/ts"),
    ("see postgresql://u:pw@h/d and sqlite:///x", "see postgresql://u:***@h/d and sqlite:///x"),
    ("db?password=x&user=u", "db?password=***&user=u"),
    ("dsn host=h password='a b' user=u", "dsn host=h password=*** user=u"),
    ("sslpassword=x PASSWORD = y", "sslpassword=*** PASSWORD = ***"),
    ("api_key=k token=t secret=s", "api_key=*** token=*** secret=***"),
    ("exchange.api_key: unknown key", "exchange.api_key: unknown key"),
])
def test_redact_secrets(text: str, expected: str) -> None:
    assert redact_secrets(text) == expected
    assert redact_secrets(expected) == expected  # scrubbing twice changes nothing


def test_redact_url_hides_user_info_of_strings_that_are_no_url() -> None:
    assert redact_url("trader:pw@db") == "***@db"
    assert redact_url("host=db password=pw") == "host=db password=***"


def test_a_venue_url_with_credentials_prints_masked(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "portfolio.toml"
    path.write_text(f'[venue]\nkind = "paper-http"\nurl = "http://ops:{SECRET}@127.0.0.1:1"\n'
                    '[[strategies]]\nname = "a"\nstrategy = "sma_crossover"\n'
                    'symbol = "GOOG"\ncapital = 1000\n', encoding="utf-8")
    assert main(["config", "show", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert SECRET not in out and "http://ops:***@127.0.0.1:1" in out


def test_the_web_token_is_a_setting_every_command_accepts_and_none_prints(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    """TRADING_STRATEGY_WEB__TOKEN once broke every command ("web: unknown setting")."""
    monkeypatch.setenv("TRADING_STRATEGY_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TRADING_STRATEGY_WEB__TOKEN", SECRET)
    for argv in (["config", "show"], ["config", "show", "--json"], ["strategies"]):
        assert main(argv) == 0
        out, err = capsys.readouterr()
        assert SECRET not in out + err
    from trading_strategy.config import load_settings

    web = load_settings().web
    assert web.auth_configured and web.token is not None
    assert web.token.get_secret_value() == SECRET
