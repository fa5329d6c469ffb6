"""One broken plug-in never breaks ``strategies`` for all: a real entry point (a dist-info
folder on ``sys.path``) whose module raises on import, and one that is not a Strategy, are
reported, listed as broken and skipped; selecting one by name is a one-line error."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from trading_strategy.cli import main
from trading_strategy.strategies import registry

GOOD = '''
from trading_strategy import Strategy


class Fine(Strategy):
    """A plug-in strategy that loads."""

    name = "plugin_fine"

    def on_bar(self) -> None:
        pass
'''


@pytest.fixture
def plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    dist = tmp_path / "broken_plugins-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugins\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(
        "[trading_strategy.strategies]\n"
        "plugin_explodes = plugin_explodes_mod:Thing\n"
        "plugin_not_a_strategy = plugin_fine_mod:GOOD_LUCK\n"
        "plugin_fine = plugin_fine_mod:Fine\n")
    (tmp_path / "plugin_explodes_mod.py").write_text(
        "raise RuntimeError('this plug-in fails on import')\n")
    (tmp_path / "plugin_fine_mod.py").write_text(GOOD + "\nGOOD_LUCK = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in ("plugin_explodes_mod", "plugin_fine_mod"):
        sys.modules.pop(name, None)


@pytest.mark.usefixtures("plugins")
def test_the_listing_shows_the_rest_and_the_broken_ones_with_their_error(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["strategies"]) == 0
    out, err = capsys.readouterr()
    assert "sma_crossover: " in out and "plugin_fine: A plug-in strategy that loads." in out
    assert ("plugin_explodes: BROKEN, not loaded: strategy 'plugin_explodes' could not be "
            "loaded from plugin_explodes_mod:Thing: RuntimeError: this plug-in fails on "
            "import") in out
    assert ("plugin_not_a_strategy: BROKEN, not loaded: entry point 'plugin_not_a_strategy' "
            "(plugin_fine_mod:GOOD_LUCK) is not a Strategy subclass") in out
    warnings = err.splitlines()
    assert len(warnings) == 2 and all(w.startswith("warning: skipped a broken strategy "
                                                   "plug-in: ") for w in warnings)
    assert "plugin_explodes" in warnings[0] and "plugin_not_a_strategy" in warnings[1]


@pytest.mark.usefixtures("plugins")
def test_the_json_listing_marks_the_broken_ones(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["strategies", "--json"]) == 0
    listing = {e["name"]: e for e in json.loads(capsys.readouterr().out)}
    assert listing["plugin_explodes"]["broken"] is True
    assert "RuntimeError: this plug-in fails on import" in listing["plugin_explodes"]["error"]
    assert "broken" not in listing["plugin_fine"] and "broken" not in listing["sma_crossover"]


@pytest.mark.usefixtures("plugins")
def test_selecting_a_broken_plugin_is_a_one_line_error(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backtest", "--strategy", "plugin_explodes", "--data", "GOOG",
                 "--no-store", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err == ("error: strategy 'plugin_explodes' could not be loaded from "
                   "plugin_explodes_mod:Thing: RuntimeError: this plug-in fails on import\n")
    assert main(["backtest", "--strategy", "plugin_fine", "--data", "GOOG", "--no-store",
                 "--quiet"]) == 0


@pytest.mark.usefixtures("plugins")
def test_discover_warns_and_skips() -> None:
    with pytest.warns(registry.BrokenStrategyWarning) as record:
        found = {f.name: f for f in registry.discover()}
    assert sorted(str(w.message).split("'")[1] for w in record) == [
        "plugin_explodes", "plugin_not_a_strategy"]
    assert found["plugin_fine"].cls is not None and found["plugin_explodes"].cls is None
    with pytest.raises(registry.BrokenStrategyError):
        registry.get("plugin_explodes")
