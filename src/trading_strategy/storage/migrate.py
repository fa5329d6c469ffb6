"""Schema migrations run programmatically: no ``alembic.ini``, scripts shipped in the package.

Each upgrade or downgrade runs in ONE transaction (PostgreSQL and SQLite both have
transactional DDL), so a failed migration leaves the schema as it was. Concurrent
upgrades (two processes opening an empty database at once) are serialized: an advisory
lock on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite, then the revision is read again.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

from trading_strategy.core.errors import ConfigError
from trading_strategy.storage.engine import WRITE_OPTION, is_postgresql
from trading_strategy.storage.errors import translate_errors
from trading_strategy.storage.urls import redact_url

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

__all__ = ["current_revision", "downgrade", "ensure_schema", "head_revision", "upgrade"]

#: The newest shipped revision. Kept here (a test checks it against the scripts) so that
#: opening an up-to-date database needs neither alembic nor the migration scripts.
SCHEMA_HEAD = "0007_research_runs"

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_LOCK_KEY = 7_310_001  # pg_advisory_xact_lock key reserved for schema changes
_VERSION_TABLE = "alembic_version"


def _config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@cache
def _scripts() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    # The shipped scripts cannot change while the process runs.
    return ScriptDirectory.from_config(_config())


def head_revision() -> str:
    """The newest revision of the shipped migration scripts."""
    head = _scripts().get_current_head()
    assert head is not None, "no migration scripts shipped"
    return head


def _current(connection: Connection) -> str | None:
    if not inspect(connection).has_table(_VERSION_TABLE):
        return None
    return connection.execute(text(f"SELECT version_num FROM {_VERSION_TABLE}")).scalar()


def current_revision(engine: Engine) -> str | None:
    """The database's schema revision, ``None`` for an empty (never migrated) database."""
    with translate_errors(engine.url), engine.connect() as connection:
        return _current(connection)


def _locked(connection: Connection) -> None:
    if is_postgresql(connection):
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_LOCK_KEY})")


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Upgrade to ``revision`` (default: the newest); returns the revision reached."""
    with translate_errors(engine.url), engine.connect() as connection:
        connection = connection.execution_options(**{WRITE_OPTION: True})
        with connection.begin():
            _locked(connection)
            from alembic import command

            command.upgrade(_config(connection), revision)
            return _current(connection)


def downgrade(engine: Engine, revision: str = "-1") -> str | None:
    """Downgrade to ``revision`` (default: one step back); returns the revision reached.

    ``base`` drops every table this package created. Data in dropped tables is lost.
    """
    with translate_errors(engine.url), engine.connect() as connection:
        connection = connection.execution_options(**{WRITE_OPTION: True})
        with connection.begin():
            _locked(connection)
            if _current(connection) is None:
                raise ConfigError("the database has no schema to downgrade")
            from alembic import command

            command.downgrade(_config(connection), revision)
            return _current(connection)


def ensure_schema(engine: Engine, *, upgrade_older: bool = False) -> None:
    """Make the schema usable: create it in an empty database, else check it is current.

    An empty database is migrated automatically, and with ``upgrade_older`` one at an older
    revision too (the embedded SQLite file in the user's own data folder). Otherwise a
    database at an older revision is left alone (it may be shared with other deployments):
    the error says to run ``trading-strategy db upgrade``.
    """
    current = current_revision(engine)
    if current == SCHEMA_HEAD:
        return
    head = head_revision()
    if current == head:
        return
    where = redact_url(engine.url)
    if current is None:
        with translate_errors(engine.url), engine.connect() as connection:
            tables = set(inspect(connection).get_table_names()) - {_VERSION_TABLE}
        ours = tables & {"instruments", "bars", "backtest_runs"}
        if ours:
            raise ConfigError(
                f"the database {where} has tables ({', '.join(sorted(ours))}) but no schema "
                "revision; point TRADING_STRATEGY_DATABASE_URL at an empty database"
            )
        upgrade(engine)
        return
    known = {script.revision for script in _scripts().walk_revisions()}
    if current not in known:
        raise ConfigError(
            f"the database {where} is at schema revision {current}, which this version of "
            "trading-strategy does not know (written by a newer version?)"
        )
    if upgrade_older:
        upgrade(engine)
        return
    raise ConfigError(
        f"the database {where} is at schema revision {current}, this version needs {head}: "
        "run `trading-strategy db upgrade`"
    )
