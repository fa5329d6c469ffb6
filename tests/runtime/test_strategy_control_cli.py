"""``trading-strategy strategy pause|resume|stop|start``: records a control for a running
session beside halt and re-arm requests, refuses what cannot be meant with one line."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import pytest

from trading_strategy.cli import strategy_ctl_cmd
from trading_strategy.core.errors import UserError
from trading_strategy.orders.journal import InMemoryJournal
from trading_strategy.runtime.portfolio_config import parse_portfolio
from trading_strategy.runtime.rearm import read_control_requests
from trading_strategy.runtime.session import PaperSession


def _cli(argv: list[str]) -> int:
    # the command's own parser (registering it in ``cli.COMMAND_MODULES`` is one line)
    parser = argparse.ArgumentParser(prog="trading-strategy")
    strategy_ctl_cmd.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return int(args.handler(args))


@pytest.fixture
def session(_isolated_data_dir: Path) -> Path:
    """A finished paper session ``ctl`` (it listed its strategies when it started)."""
    raw = {"session": {"name": "ctl", "end": "2005-03-01"},
           "strategies": [{"name": "sma_goog", "strategy": "sma_crossover",
                           "symbol": "GOOG", "capital": 10000, "size": "10"}]}
    asyncio.run(PaperSession(parse_portfolio(raw), data_dir=_isolated_data_dir,
                             journal_factory=lambda root: InMemoryJournal()).run())
    return _isolated_data_dir


def test_each_action_is_recorded_with_its_actor(session: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    for action in ("pause", "resume", "stop", "start"):
        assert _cli(["strategy", action, "--session", "ctl", "--strategy", "sma_goog",
                     "--actor", "ops", "--note", "maintenance"]) == 0
    out = capsys.readouterr().out
    assert "recorded: stop strategy sma_goog of session ctl, requested by ops" in out
    assert "protective exits of an open position kept" in out
    requests = read_control_requests(session)
    assert [(r.action, r.session, r.strategy, r.actor, r.note) for r in requests] == [
        (a, "ctl", "sma_goog", "ops", "maintenance")
        for a in ("pause", "resume", "stop", "start")]


@pytest.mark.parametrize(("argv", "words"), [
    (["--session", "nope", "--strategy", "sma_goog"], "no session named 'nope'"),
    (["--session", "ctl", "--strategy", "other"], "has no strategy 'other' (it has sma_goog)"),
    (["--session", "../x", "--strategy", "sma_goog"], "--session"),
])
def test_a_wrong_name_is_one_clear_line(session: Path, argv: list[str], words: str) -> None:
    with pytest.raises(UserError, match=None) as refused:
        _cli(["strategy", "pause", *argv])
    assert words in str(refused.value) and "\n" not in str(refused.value)
    assert read_control_requests(session) == []


def test_an_unknown_action_is_refused_by_the_parser(session: Path) -> None:
    with pytest.raises(SystemExit):
        _cli(["strategy", "explode", "--session", "ctl", "--strategy", "sma_goog"])
