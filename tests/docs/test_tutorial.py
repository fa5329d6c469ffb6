"""docs/tutorial.md runs as written, and prints what it shows.

The page's fenced blocks run in order in one folder, as a reader would follow it:

- a ```python block after ``<!-- file: NAME -->`` is written to NAME (the reader saves it);
- any other ```python block runs in one namespace, as notebook cells, with the folder on
  ``sys.path`` (a notebook imports from its own folder);
- a ```text block right after a ```python block is what that block prints, exactly;
- a ```sh block's ``trading-strategy ...`` command runs through the CLI's ``main`` (other
  shell lines, such as the install, are the reader's to run).
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shlex
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from trading_strategy.cli import main as cli_main

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "tutorial.md"
_FENCE = re.compile(r"(?:<!-- file: (?P<file>[\w.]+) -->\n)?```(?P<lang>\w*)\n(?P<body>.*?)^```$",
                    re.S | re.M)


@dataclass(frozen=True)
class Block:
    lang: str
    body: str
    line: int
    file: str | None
    output: str | None  # the ```text block that follows a ```python block


def blocks(text: str) -> list[Block]:
    found = list(_FENCE.finditer(text))
    result = []
    for k, match in enumerate(found):
        if match.group("lang") == "text":
            continue
        output = None
        following = found[k + 1] if k + 1 < len(found) else None
        if (following is not None and following.group("lang") == "text"
                and not text[match.end():following.start()].strip()):
            output = following.group("body")
        result.append(Block(match.group("lang"), match.group("body"),
                            text.count("\n", 0, match.start()) + 1, match.group("file"), output))
    return result


def commands(body: str) -> Iterator[list[str]]:
    """The ``trading-strategy`` commands of a shell block, continuation lines joined."""
    for line in body.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        if words[:1] == ["trading-strategy"]:
            yield words[1:]


@dataclass(frozen=True)
class Followed:
    namespace: dict[str, Any]  # the notebook's
    folder: Path  # where the reader saved trend.py and the reports
    commands: list[tuple[str, list[str]]]  # the page's CLI commands, to run in that folder


def follow(text: str, folder: Path) -> Followed:
    """Follow the page's Python in ``folder`` (the current directory, on ``sys.path``).
    Fails naming the line of the first block whose output differs from the page."""
    namespace: dict[str, Any] = {"__name__": "__tutorial__"}
    cli: list[tuple[str, list[str]]] = []
    for block in blocks(text):
        where = f"{PAGE.name}:{block.line}"
        if block.lang == "sh":
            cli += [(where, args) for args in commands(block.body)]
        if block.lang != "python":
            continue
        if block.file is not None:
            (folder / block.file).write_text(block.body, encoding="utf-8")
            continue
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(block.body, where, "exec"), namespace)
        if block.output is not None:
            assert out.getvalue().rstrip() == block.output.rstrip(), \
                f"{where}: the block prints something else than the page shows"
    return Followed(namespace, folder, cli)


def follow_in(folder: Path, text: str) -> Followed:
    pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        patch.syspath_prepend(str(folder))  # a notebook imports from its own folder
        try:
            return follow(text, folder)
        finally:
            sys.modules.pop("trend", None)  # another run writes its own trend.py


@pytest.fixture(scope="module")
def followed(tmp_path_factory: pytest.TempPathFactory) -> Followed:
    return follow_in(tmp_path_factory.mktemp("reader"), PAGE.read_text(encoding="utf-8"))


def test_the_page_has_what_the_tests_rely_on() -> None:
    found = blocks(PAGE.read_text(encoding="utf-8"))
    assert [b.file for b in found if b.file] == ["trend.py"]
    assert sum(b.output is not None for b in found) >= 6
    assert any("--strategy trend.py:TrendFollower" in " ".join(args)
               for b in found if b.lang == "sh" for args in commands(b.body))


def test_the_notebook_steps_run_and_print_what_the_page_shows(followed: Followed) -> None:
    # the strategy the page writes, backtested on the bundled GOOG sample
    result = followed.namespace["result"]
    assert result.report["strategy"] == "trend_follower"
    assert result.stats["trades"] == 44
    assert result.stats["total_return"] == pytest.approx(0.84508, abs=1e-5)
    assert (followed.folder / "trend.html").read_text(encoding="utf-8").startswith(
        "<!DOCTYPE html>")


def test_the_cli_step_gives_the_notebook_numbers(followed: Followed,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(followed.folder)
    assert followed.commands
    for where, args in followed.commands:
        assert cli_main(args) == 0, f"{where}: trading-strategy {shlex.join(args)}"
    cli = json.loads((followed.folder / "trend-cli.json").read_text(encoding="utf-8"))
    notebook = json.loads(followed.namespace["result"].to_json())
    assert cli["strategy"] == "trend_follower"
    assert cli == notebook, f"differ: {[key for key in cli if cli[key] != notebook.get(key)]}"
    assert (followed.folder / "trend-cli.html").is_file()


def test_a_wrong_output_on_the_page_fails(tmp_path: Path) -> None:
    """The output check can fail: a page whose shown output is off by one trade."""
    text = PAGE.read_text(encoding="utf-8").replace("44 trades>", "45 trades>", 1)
    with pytest.raises(AssertionError, match=r"tutorial\.md:\d+: the block prints something else"):
        follow_in(tmp_path, text)
