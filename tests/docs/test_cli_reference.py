"""docs/cli.md is what docs/gen_cli.py renders from the CLI's parsers, and names every
command and option."""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from trading_strategy.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "cli.md"


@pytest.fixture(scope="module")
def gen_cli() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_cli", ROOT / "docs" / "gen_cli.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_page_is_up_to_date(gen_cli: ModuleType) -> None:
    assert PAGE.read_text(encoding="utf-8") == gen_cli.render(), (
        "docs/cli.md is out of date: run .venv/bin/python docs/gen_cli.py")


def test_check_mode_fails_on_a_stale_page(gen_cli: ModuleType, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    stale = tmp_path / "cli.md"
    stale.write_text(PAGE.read_text(encoding="utf-8").replace("--no-store", "--no-save"))
    monkeypatch.setattr(gen_cli, "PAGE", stale)
    assert gen_cli.main(["--check"]) == 1
    assert "out of date" in capsys.readouterr().err
    assert gen_cli.main([]) == 0  # rewrites it
    assert gen_cli.main(["--check"]) == 0


def _parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found += _parsers(sub)
    return found


def test_every_command_and_option_is_on_the_page() -> None:
    """Walks the parsers on its own (not through the generator), so a renderer that skipped
    a command or an option fails here."""
    text = PAGE.read_text(encoding="utf-8")
    parsers = _parsers(build_parser())
    assert len(parsers) > 15
    for parser in parsers[1:]:
        assert f"\n#{'#' * parser.prog.count(' ')} {parser.prog}\n" in text, parser.prog
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
                continue
            names = action.option_strings or [str(action.metavar or action.dest)]
            for name in names:
                assert f"`{name}`" in text, f"{parser.prog} {name}"


def test_a_new_option_makes_the_page_stale(gen_cli: ModuleType) -> None:
    parser = build_parser()
    backtest = next(p for p in _parsers(parser) if p.prog == "trading-strategy backtest")
    backtest.add_argument("--brand-new", help="an option the page does not know")
    rendered = gen_cli.render(parser)
    assert "`--brand-new`" in rendered
    assert rendered != PAGE.read_text(encoding="utf-8")
