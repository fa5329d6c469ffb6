"""The research pages in a real browser: a stored optimisation shows its heatmap and
verdicts, a walk-forward its windows and out-of-sample equity chart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.web.browser.conftest import ARTIFACTS
from tests.web.conftest import LiveServer, in_thread, make_app

from trading_strategy.cli import main as cli

DATA = ["--strategy", "sma_crossover", "--data", "GOOG", "--workers", "0", "--quiet"]


@pytest.fixture
def research_server(db_url: str, _isolated_data_dir: Path,
                    monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveServer]:
    """An optimisation (5 × 5 grid) and a walk-forward stored by the CLI, then served."""
    monkeypatch.setenv("TRADING_STRATEGY_DATABASE_URL", db_url)
    assert in_thread(cli, ["optimize", *DATA, "--param", "fast=5:25:5",
                           "--param", "slow=20:60:10"]) == 0
    assert in_thread(cli, ["walk-forward", *DATA, "--param", "fast=5,10",
                           "--param", "slow=30,50", "--train", "3y", "--test", "1y"]) == 0
    with LiveServer(make_app()) as live:
        yield live


def test_a_stored_optimisation_shows_heatmap_and_verdicts(web_page: Any,
                                                          research_server: LiveServer) -> None:
    page = web_page
    page.goto(research_server.url + "/research")
    page.wait_for_function("document.body.dataset.ready === '1'")
    assert page.locator("#research tr").count() == 2
    assert page.locator("header a.active").inner_text() == "Research"
    page.locator('#research tr:has-text("optimize") a').first.click()
    page.wait_for_function("document.body.dataset.ready === '1'")
    assert page.url.endswith("/research/1")
    heatmap = page.locator("table.heatmap")
    assert "slow \\ fast" in heatmap.locator("tr").first.inner_text()
    # 5 slow rows of 5 fast columns, each coloured
    assert heatmap.locator("td").count() == 25
    assert "background" in (heatmap.locator("td").first.get_attribute("style") or "")
    verdicts = page.locator("#verdicts .verdict")
    assert verdicts.count() >= 3 and "overall:" in verdicts.last.inner_text()
    diagnostics = page.locator("#diagnostics").inner_text()
    for name in ("Deflated Sharpe ratio", "Probability of backtest overfitting",
                 "Bootstrap intervals", "Parameter stability"):
        assert name in diagnostics
    assert page.locator("#trials tr").count() == 20
    page.screenshot(path=str(ARTIFACTS / "research.png"), full_page=True)


def test_a_walk_forward_shows_windows_and_equity(web_page: Any,
                                                 research_server: LiveServer) -> None:
    page = web_page
    page.goto(research_server.url + "/research/2")
    page.wait_for_function("document.body.dataset.ready === '1'")
    assert page.locator("#sweep").is_hidden()
    assert page.locator("#windows tr").count() >= 3
    assert page.locator("#equity canvas").count() >= 1
    assert "total return" in page.locator("#oos-stats").inner_text()
    page.screenshot(path=str(ARTIFACTS / "research-walk-forward.png"), full_page=True)
