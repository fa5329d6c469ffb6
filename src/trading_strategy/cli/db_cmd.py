"""``trading-strategy db``: apply, roll back and show database schema migrations.

SQLAlchemy and alembic are imported inside the handlers (fast CLI start-up).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "db", help="database schema migrations (upgrade, downgrade, current)",
        description="Schema migrations of the database named by TRADING_STRATEGY_DATABASE_URL "
        "(default: a SQLite file in the data folder). Each runs in one transaction.")
    actions = parser.add_subparsers(dest="db_action", metavar="ACTION")
    parser.set_defaults(handler=lambda _args: _usage(parser))

    up = actions.add_parser("upgrade", help="upgrade the schema (default: to the newest)")
    up.add_argument("revision", nargs="?", default="head", metavar="REVISION")
    up.set_defaults(handler=_upgrade)

    down = actions.add_parser(
        "downgrade", help="downgrade the schema (default: one step; 'base' drops everything)")
    down.add_argument("revision", nargs="?", default="-1", metavar="REVISION")
    down.set_defaults(handler=_downgrade)

    current = actions.add_parser("current", help="show the schema revision")
    current.set_defaults(handler=_current)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _engine() -> Any:
    # the one settings path of every command: defaults, $TRADING_STRATEGY_CONFIG_FILE,
    # environment, with every problem reported
    from trading_strategy.config import load_settings
    from trading_strategy.storage import make_engine

    return make_engine(load_settings().effective_database_url())


def _upgrade(args: argparse.Namespace) -> int:
    from trading_strategy.storage import current_revision, redact_url, upgrade

    engine = _engine()
    try:
        before = current_revision(engine)
        after = upgrade(engine, _revision(args.revision))
    finally:
        engine.dispose()
    print(f"{redact_url(engine.url)}: schema {before or '(empty)'} -> {after}")
    return 0


def _downgrade(args: argparse.Namespace) -> int:
    from trading_strategy.storage import current_revision, downgrade, redact_url

    engine = _engine()
    try:
        before = current_revision(engine)
        after = downgrade(engine, _revision(args.revision))
    finally:
        engine.dispose()
    print(f"{redact_url(engine.url)}: schema {before} -> {after or '(empty)'}")
    return 0


def _current(_args: argparse.Namespace) -> int:
    from trading_strategy.storage import current_revision, head_revision, redact_url

    engine = _engine()
    try:
        current = current_revision(engine)
    finally:
        engine.dispose()
    head = head_revision()
    state = "up to date" if current == head else f"newest is {head}: run `db upgrade`"
    print(f"{redact_url(engine.url)}: schema {current or '(empty)'} ({state})")
    return 0


def _revision(text: str) -> str:
    """Alembic's own 'unknown revision' error is a traceback-shaped message: check first."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    from trading_strategy.core.errors import ConfigError
    from trading_strategy.storage.migrate import MIGRATIONS_DIR

    if text in ("head", "base") or text.lstrip("+-").isdigit():
        return text
    scripts = ScriptDirectory(str(MIGRATIONS_DIR))
    try:
        scripts.get_revision(text)
    except CommandError:
        known = ", ".join(s.revision for s in reversed(list(scripts.walk_revisions())))
        raise ConfigError(f"unknown revision {text!r}; revisions: {known}, head, base") from None
    return text
