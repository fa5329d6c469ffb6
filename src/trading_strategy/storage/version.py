"""The code version recorded with each backtest run: package version plus git commit.

The commit is read from the ``.git`` folder of a source checkout (no subprocess, a few
file reads); installed wheels have none and record the package version alone.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from trading_strategy import _version

__all__ = ["code_version"]


def _git_dir() -> Path | None:
    # Only a source checkout (src/trading_strategy or trading_strategy at the repo root):
    # an installed package must not report the commit of whatever repo holds its venv.
    package = Path(_version.__file__).resolve().parent
    if "site-packages" in package.parts:
        return None
    for folder in (package.parent, package.parent.parent):
        if (folder / ".git").is_dir():
            return folder / ".git"
    return None


def _git_commit(git: Path) -> str | None:
    try:
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref: "):
            return head[:12] or None
        ref = head[5:]
        ref_file = git / ref
        if ref_file.is_file():
            return ref_file.read_text().strip()[:12] or None
        packed = git / "packed-refs"
        if packed.is_file():
            for line in packed.read_text().splitlines():
                sha, _, name = line.partition(" ")
                if name == ref:
                    return sha[:12]
    except OSError:
        return None
    return None


@cache
def code_version() -> str:
    """``0.1.0`` or, in a git checkout, ``0.1.0+g5693d84abcde``."""
    version = _version.__version__
    git = _git_dir()
    commit = _git_commit(git) if git is not None else None
    return f"{version}+g{commit}" if commit else version
