"""docs/python-api.md and examples/notebook_quickstart.py run as written.

The page's ```python blocks run in order in one namespace, as in a notebook. A block after
``<!-- needs: pandas -->`` is skipped where pandas is not installed; the blocks without it
must then still run on their own.
"""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "python-api.md"
EXAMPLE = ROOT / "examples" / "notebook_quickstart.py"
_BLOCK = re.compile(r"(<!-- needs: (?P<needs>\w+) -->\n)?```python\n(?P<code>.*?)```", re.S)


def blocks() -> list[tuple[str | None, str, int]]:
    text = PAGE.read_text(encoding="utf-8")
    return [(m.group("needs"), m.group("code"), text.count("\n", 0, m.start()) + 1)
            for m in _BLOCK.finditer(text)]


def test_the_page_has_examples() -> None:
    found = blocks()
    assert len(found) >= 5
    assert sum(needs is None for needs, _, _ in found) >= 4  # most run without pandas


def run_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, with_pandas: bool) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__docs__"}
    for needs, code, line in blocks():
        if needs is None or with_pandas:
            exec(compile(code, f"{PAGE}:{line}", "exec"), namespace)


def test_the_page_runs_without_pandas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    run_page(tmp_path, monkeypatch, with_pandas=False)
    out = capsys.readouterr().out
    assert "<BacktestResult sma_crossover on GOOG 1d" in out
    assert "data (in-memory table): row 3: " in out  # the data error example
    assert "size 0.5 is not a whole number of lots" in out
    assert "<!DOCTYPE html>" in out


def test_the_whole_page_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    run_page(tmp_path, monkeypatch, with_pandas=True)
    assert "total_return" in capsys.readouterr().out


def test_the_notebook_quickstart_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("pandas")
    monkeypatch.chdir(tmp_path)
    runpy.run_path(str(EXAMPLE), run_name="__main__")
    out = capsys.readouterr().out
    assert "sharpe" in out
    assert (tmp_path / "quickstart_report.html").is_file()
