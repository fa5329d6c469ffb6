"""``trading-strategy risk rearm`` records the operator's request for the (future) runtime."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from trading_strategy.cli import main
from trading_strategy.core.errors import ConfigError
from trading_strategy.risk.commands import RearmRequest
from trading_strategy.runtime.rearm import read_rearm_requests, rearm_requests_path


@pytest.fixture(autouse=True)
def data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in list(os.environ):
        if name.upper().startswith("TRADING_STRATEGY_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TRADING_STRATEGY_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def test_rearm_records_requests(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["risk", "rearm", "--strategy", "sma_crossover", "--actor", "alice",
                 "--note", "checked the feed"]) == 0
    assert main(["risk", "rearm", "--portfolio", "--actor", "bob"]) == 0
    out = capsys.readouterr().out
    assert "re-arm strategy sma_crossover, requested by alice" in out
    assert "sessions apply it when they start" in out
    first, second = read_rearm_requests(data_dir)
    assert (first.strategy, first.actor, first.note) == ("sma_crossover", "alice",
                                                         "checked the feed")
    assert (second.strategy, second.actor) == (None, "bob")
    assert second.ts_ns >= first.ts_ns > 0
    raw = rearm_requests_path(data_dir).read_text().splitlines()
    assert json.loads(raw[1])["command"] == "rearm"


def test_rearm_needs_a_scope(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["risk", "rearm"])
    assert info.value.code == 2
    assert "one of the arguments --strategy --portfolio is required" in capsys.readouterr().err


def test_rearm_rejects_a_bad_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["risk", "rearm", "--strategy", "my strategy"]) == 2
    assert "--strategy: 'my strategy' is not a strategy name" in capsys.readouterr().err


def test_request_round_trip_and_bad_lines(data_dir: Path) -> None:
    request = RearmRequest("sma", "alice", 123, "why")
    assert RearmRequest.from_json(request.to_json()) == request
    for bad in ('{"command": "halt"}', '{"command": "rearm", "actor": "", "ts_ns": 1}',
                '{"command": "rearm", "actor": "a", "ts_ns": "1"}'):
        with pytest.raises(ValueError):
            RearmRequest.from_json(bad)
    path = rearm_requests_path(data_dir)
    path.parent.mkdir(parents=True)
    path.write_text('{"command": "halt"}\n')
    with pytest.raises(ConfigError, match=":1: not a rearm request"):
        read_rearm_requests(data_dir)
