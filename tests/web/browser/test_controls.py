"""The operator's controls in a real browser, on a paper session replaying while the page is
open: the kill switch halts a strategy and re-arm lifts it; pause and resume. Each time the
page shows what the session itself applied (its own files say so), not what was asked."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from tests.web.browser.conftest import ARTIFACTS
from tests.web.conftest import ROOT, TOKEN, LiveServer

from trading_strategy.cli import main as cli

#: a day of bars in 1/30 s: the two years below replay in about 25 s
SPEED = 2_592_000


class Running:
    """A paper session (``examples/portfolio.toml`` renamed, two years of bars, replayed at
    ``SPEED``) run by the command line in a thread."""

    def __init__(self, data_dir: Path, name: str, tmp_path: Path) -> None:
        self.name = name
        self.root = data_dir / "sessions" / name
        config = tmp_path / f"{name}.toml"
        config.write_text((ROOT / "examples" / "portfolio.toml").read_text().replace(
            'name = "demo"', f'name = "{name}"\nstart = "2005-01-01"\nend = "2006-12-31"'))
        self.codes: list[int] = []
        self.thread = threading.Thread(target=lambda: self.codes.append(cli(
            ["run", "--config", str(config), "--quiet", "--speed", str(SPEED)])), daemon=True)

    def start(self) -> Running:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not (self.root / "strategy-states.json").exists():  # written as it starts
            assert time.monotonic() < deadline and self.thread.is_alive(), "no session"
            time.sleep(0.05)
        return self

    @property
    def alive(self) -> bool:
        return self.thread.is_alive()

    def events(self) -> list[dict[str, Any]]:
        path = self.root / "events.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def halts(self) -> dict[str, Any]:
        path = self.root / "halts.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def join(self) -> None:
        self.thread.join(timeout=120)
        assert self.codes == [0]


@pytest.fixture
def running(seeded: SimpleNamespace, tmp_path: Path, request: pytest.FixtureRequest
            ) -> Iterator[Running]:
    session = Running(seeded.data_dir, request.node.name.split("[")[0][-12:], tmp_path)
    yield session.start()
    session.join()


def _open(page: Any, server: LiveServer, session: Running) -> Any:
    page.goto(server.url + "/")
    page.fill("#token", TOKEN)
    page.locator("#token").dispatch_event("change")
    row = page.locator(f'section.session[data-session="{session.name}"] '
                       'tr[data-strategy="sma_goog"]')
    row.wait_for(timeout=15_000)
    return row


def test_the_kill_switch_halts_the_running_strategy_and_re_arm_lifts_it(
        web_page: Any, server: LiveServer, running: Running) -> None:
    page = web_page
    row = _open(page, server, running)
    assert row.locator(".badge.ok").count() == 1
    row.locator('button[data-act="halt"]').click()
    row.locator(".badge.halted").wait_for(timeout=15_000)
    assert running.alive, "the session ended before the halt could be seen live"
    # the session applied it: its risk engine's state change, with who pulled the switch
    halted = [e for e in running.events() if e["kind"] == "risk_state"
              and e.get("scope") == "sma_goog" and e.get("current") == "halted"]
    assert halted and "sma_goog" in running.halts()
    # and its risk engine's state, checkpointed with the bar that applied it, says so
    from trading_strategy.runtime.session import read_risk_state

    assert read_risk_state(running.root)["sma_goog"]["state"] == "halted"
    assert "halt of sma_goog requested by token" in page.locator("#message").inner_text()
    # the equity chart drew points while the session ran, and grows
    chart = page.locator(f'section.session[data-session="{running.name}"] .equity')
    assert chart.locator("canvas").count() > 0
    before = int(chart.get_attribute("data-points") or 0)
    page.wait_for_function(
        f"Number(document.querySelector('section.session[data-session=\"{running.name}\"] "
        f".equity').dataset.points) > {before}", timeout=15_000)
    row.locator('button[data-act="rearm"]').click()
    row.locator(".badge.ok").wait_for(timeout=15_000)
    assert "sma_goog" not in running.halts()
    rearmed = [e for e in running.events() if e["kind"] == "risk_state"
               and e.get("scope") == "sma_goog" and e.get("previous") == "halted"]
    assert rearmed
    # the feed-health panel lists each instrument of the replay, updated without a reload
    health = page.locator(f'section.session[data-session="{running.name}"] .health')
    health.locator('tr[data-symbol="GOOG"]').wait_for()
    assert "replay" in health.inner_text()
    page.screenshot(path=str(ARTIFACTS / "dashboard-kill-switch.png"), full_page=True)


def test_pause_then_resume_in_the_browser(web_page: Any, server: LiveServer,
                                          running: Running) -> None:
    page = web_page
    row = _open(page, server, running)
    row.locator('button[data-act="pause"]').click()
    row.locator(".badge.paused").wait_for(timeout=15_000)
    assert running.alive
    paused = [e for e in running.events() if e["kind"] == "strategy_event"
              and e.get("component") == "sma_goog" and e.get("to") == "paused"]
    assert paused and paused[0]["actor"] == "web:token"
    assert row.get_attribute("data-state") == "paused"
    row.locator('button[data-act="resume"]').click()
    row.locator(".badge.ok").wait_for(timeout=15_000)
    resumed = [e for e in running.events() if e["kind"] == "strategy_event"
               and e.get("component") == "sma_goog" and e.get("from") == "paused"]
    assert resumed and resumed[0]["to"] == "running"
