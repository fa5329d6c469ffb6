"""The pages in a real browser: dashboard, live updates, run charts, compare, refusals."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from tests.web.browser.conftest import ARTIFACTS
from tests.web.conftest import ROOT, TOKEN, LiveServer

from trading_strategy.cli import main as cli


def _shot(page: Any, name: str) -> Path:
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


def test_the_dashboard_shows_the_session(web_page: Any, server: LiveServer) -> None:
    page = web_page
    page.goto(server.url + "/")
    card = page.locator('section.session[data-session="demo"]')
    card.wait_for()
    assert card.locator("tr[data-strategy]").count() == 2
    assert "sma_goog" in card.inner_text() and "GOOG" in card.inner_text()
    page.locator("#live.live").wait_for()
    _shot(page, "dashboard.png")


def test_the_dashboard_follows_a_session_while_it_runs(web_page: Any, server: LiveServer,
                                                       seeded: SimpleNamespace,
                                                       tmp_path: Path) -> None:
    page = web_page
    page.goto(server.url + "/")
    page.locator("#live.live").wait_for()
    assert page.locator("#events tr").count() == 0
    config = tmp_path / "second.toml"
    config.write_text((ROOT / "examples" / "portfolio.toml").read_text()
                      .replace('name = "demo"', 'name = "second"'))
    runner = threading.Thread(target=cli, args=(["run", "--config", str(config), "--quiet"],))
    runner.start()
    runner.join(timeout=60)
    # the new session's events arrive over the stream and its card appears, no reload
    page.locator('section.session[data-session="second"]').wait_for(timeout=15_000)
    page.wait_for_function("document.querySelectorAll('#events tr').length > 0")
    assert "second" in page.locator("#events").inner_text()
    _shot(page, "dashboard-live.png")


def test_an_action_without_a_token_is_refused_and_with_one_is_done(
        web_page: Any, server: LiveServer, seeded: SimpleNamespace) -> None:
    page = web_page
    page.goto(server.url + "/")
    halt = page.locator('tr[data-strategy="sma_goog"] button[data-act="halt"]')
    halt.click()
    page.wait_for_function("document.getElementById('message').textContent.includes('refused')")
    assert "authentication required" in page.locator("#message").inner_text()
    assert not (seeded.data_dir / "risk" / "halt-requests.jsonl").exists()
    page.fill("#token", TOKEN)
    page.press("#token", "Enter")
    page.locator("#token").dispatch_event("change")
    halt.click()
    page.wait_for_function("document.getElementById('message').textContent.includes('requested')")
    assert (seeded.data_dir / "risk" / "halt-requests.jsonl").exists()


def test_a_run_page_draws_its_charts(web_page: Any, server: LiveServer) -> None:
    page = web_page
    page.goto(server.url + "/runs/1")
    page.wait_for_selector("body[data-ready='1']", timeout=15_000)
    for chart in ("#price", "#equity", "#drawdown"):
        assert page.locator(f"{chart} canvas").count() > 0
    assert page.locator("#trades tr").count() > 10
    assert "sma_crossover" in page.locator("#title").inner_text()
    _shot(page, "run.png")


def test_two_runs_compare(web_page: Any, server: LiveServer) -> None:
    page = web_page
    page.goto(server.url + "/runs/compare?ids=1,2")
    page.wait_for_selector("body[data-ready='1']", timeout=15_000)
    cards = page.locator("section.run-card")
    assert cards.count() == 2
    assert "sma_crossover" in cards.nth(0).inner_text()
    assert "rsi_reversion" in cards.nth(1).inner_text()
    assert page.locator("#equity canvas").count() > 0
    _shot(page, "compare.png")


def test_the_runs_list_links_and_a_form_launches_a_backtest(web_page: Any,
                                                            server: LiveServer) -> None:
    page = web_page
    page.goto(server.url + "/runs")
    page.wait_for_function("document.querySelectorAll('#runs tr').length == 2")
    page.fill("#token", TOKEN)
    page.locator("#token").dispatch_event("change")
    page.click("#launch button[type=submit]")
    link = page.locator("#job a")
    link.wait_for(timeout=30_000)
    link.click()
    page.wait_for_selector("body[data-ready='1']", timeout=15_000)
    assert page.locator("#price canvas").count() > 0
