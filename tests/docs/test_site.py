"""The documentation site builds strictly and its reference misses nothing.

``make docs`` builds the site for people; these tests build it once more in a temporary
folder and check what a strict build cannot: that the reference names every public
``Context`` member, every ``Strategy`` hook and every ``[risk]`` key, that no page loads
anything from the network, and that the example blocks of the pages no other test runs
(the home page and the reference pages) run.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from trading_strategy import Context, Strategy
from trading_strategy.risk.settings import RiskSettings

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
#: pages whose ```python blocks run here (python-api.md and tutorial.md have their own tests)
EXAMPLE_PAGES = ["index.md", "reference/api.md", "reference/strategy.md",
                 "reference/risk-settings.md"]
_PYTHON = re.compile(r"^```python\n(.*?)^```$", re.S | re.M)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    pytest.importorskip("mkdocstrings")
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    folder = tmp_path_factory.mktemp("site")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NO_MKDOCS_2_WARNING", "1")
        build(load_config(str(ROOT / "mkdocs.yml"), site_dir=str(folder), strict=True))
    yield folder


def _ids(page: Path) -> set[str]:
    return set(re.findall(r'id="([\w.]+)"', page.read_text(encoding="utf-8")))


def test_every_context_member_is_documented(site: Path) -> None:
    ids = _ids(site / "reference" / "strategy.html")
    public = [name for name in dir(Context) if not name.startswith("_")]
    assert len(public) > 20
    missing = [name for name in public if f"trading_strategy.Context.{name}" not in ids]
    assert not missing, f"Context members missing from the reference: {missing}"


def test_every_strategy_hook_is_documented(site: Path) -> None:
    ids = _ids(site / "reference" / "strategy.html")
    hooks = [name for name in vars(Strategy) if name.startswith("on_")]
    assert {"on_start", "on_bar", "on_fill", "on_order_event", "on_stop"} <= set(hooks)
    for name in [*hooks, "name", "Params", "parse_params"]:
        assert f"trading_strategy.Strategy.{name}" in ids, name


def test_every_risk_key_is_in_the_table(site: Path) -> None:
    text = (site / "reference" / "risk-settings.html").read_text(encoding="utf-8")
    for key in RiskSettings.model_fields:
        assert f"<td><code>{key}</code></td>" in text, key


def test_the_api_reference_shows_the_public_names(site: Path) -> None:
    ids = _ids(site / "reference" / "api.html")
    for name in ("Backtest", "Backtest.run", "BacktestResult", "BacktestResult.stats",
                 "BacktestResult.trades", "BacktestResult.equity", "BacktestResult.to_html",
                 "ArgumentError"):
        assert f"trading_strategy.{name}" in ids, name
    # docstrings' Sphinx roles (:meth:`run`) are dropped by docs/hooks.py
    assert ":meth:" not in (site / "reference" / "api.html").read_text(encoding="utf-8")


def test_no_page_loads_anything_from_the_network(site: Path) -> None:
    pages = list(site.rglob("*.html"))
    assert len(pages) >= 15
    remote = re.compile(r'<(?:link|script|img)\b[^>]*\b(?:href|src)="(?:https?:)?//', re.I)
    for page in pages:
        found = remote.search(page.read_text(encoding="utf-8"))
        assert found is None, f"{page.relative_to(site)} loads {found.group(0) if found else ''}"


@pytest.mark.parametrize("page", EXAMPLE_PAGES)
def test_the_examples_of_the_page_run(page: str, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("pandas")
    text = (DOCS / page).read_text(encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__docs__"}
    blocks = list(_PYTHON.finditer(text))
    assert blocks, f"{page} has no python example"
    for match in blocks:
        line = text.count("\n", 0, match.start()) + 1
        exec(compile(match.group(1), f"{DOCS / page}:{line}", "exec"), namespace)
