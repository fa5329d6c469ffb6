"""Browser tests: Playwright drives Debian's chromium against the app served by uvicorn.

Run them in their own pytest invocation (sync Playwright and pytest-asyncio clash in one
process); they skip when Playwright or ``/usr/bin/chromium`` is missing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from tests.web.conftest import LiveServer, make_app

CHROMIUM = os.environ.get("TS_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update",
               "--disable-sync"]


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """The embedded database only: the API tests cover PostgreSQL."""
    return f"sqlite:///{tmp_path / 'web.sqlite3'}"


@pytest.fixture(scope="session")
def chromium_browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no chromium at {CHROMIUM} (apt-get install -y chromium)")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=LAUNCH_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def server(seeded: SimpleNamespace) -> Iterator[LiveServer]:
    with LiveServer(make_app()) as live:
        yield live


@pytest.fixture
def web_page(chromium_browser: Any) -> Iterator[Any]:
    context = chromium_browser.new_context(viewport={"width": 1400, "height": 1000})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    opened.errors = errors
    yield opened
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
