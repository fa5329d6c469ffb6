"""What the operator commands (``risk rearm``, ``strategy pause|resume|stop|start``) share:
who is acting, and a command group called without its sub-command."""

from __future__ import annotations

import argparse
import getpass

__all__ = ["actor", "usage"]


def usage(parser: argparse.ArgumentParser) -> int:
    """A command group without its sub-command: its help, and exit code 2."""
    parser.print_help()
    return 2


def actor(given: str | None) -> str:
    """``--actor`` when given, else the login name (``operator`` when there is none)."""
    if given:
        return given
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in containers without a passwd entry
        return "operator"
