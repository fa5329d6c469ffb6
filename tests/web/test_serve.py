"""``trading-strategy serve`` refuses to expose the app without auth."""

from __future__ import annotations

import pytest

from trading_strategy.cli import main as cli
from trading_strategy.cli.serve_cmd import check_bind, is_loopback
from trading_strategy.core.errors import ConfigError


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)
    check_bind(host, 8000, auth_configured=False)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.5", "example.com", "::"])
def test_other_hosts_need_auth(host: str) -> None:
    assert not is_loopback(host)
    with pytest.raises(ConfigError, match="no authentication is configured"):
        check_bind(host, 8000, auth_configured=False)
    check_bind(host, 8000, auth_configured=True)


def test_serve_on_all_interfaces_without_auth_exits_with_one_line(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRADING_STRATEGY_WEB__TOKEN", raising=False)
    monkeypatch.delenv("TRADING_STRATEGY_WEB__PASSWORD_HASH", raising=False)
    assert cli(["serve", "--host", "0.0.0.0"]) == 2
    err = capsys.readouterr().err
    assert "refusing to serve on 0.0.0.0" in err and "Traceback" not in err
    assert cli(["serve", "--port", "70000"]) == 2
