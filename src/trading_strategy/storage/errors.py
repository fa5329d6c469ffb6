"""Driver errors translated into the project's exception tree, at the storage edge.

Nothing raised out of ``storage`` is a SQLAlchemy, psycopg or sqlite3 exception, and no
message names a database password: every translated message carries the redacted URL and
only the first line of the driver's text, with the password scrubbed from it as well.
The original exception is dropped (``from None``) because its text and its own chained
causes are not under our control (libpq, for one, may echo the connection string).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, make_url

from trading_strategy.core.errors import (
    ConfigError,
    RetryableError,
    TradingStrategyError,
    redact_secrets,
)
from trading_strategy.storage.urls import redact_url

__all__ = ["DatabaseError", "translate_error", "translate_errors"]

_SCHEMA_HINT = "run `trading-strategy db upgrade`"
# SQLSTATE classes and codes (PostgreSQL appendix A).
_RETRY_CODES = {"40001", "40P01", "55P03", "57P01", "57P02", "57P03"}
_RETRY_CLASSES = ("08", "53")  # connection exception, insufficient resources
_CONFIG_CLASSES = ("28",)  # invalid authorization
_CONFIG_CODES = {"3D000"}  # database does not exist
_MISSING_TABLE_CODES = {"42P01"}
_CONNECT_WORDS = ("connection failed", "could not connect", "connection refused",
                  "unable to open database", "connection to server", "could not translate")


class DatabaseError(TradingStrategyError):
    """A database operation failed in a way the caller cannot fix by changing its input."""


def _passwords(url: str | URL) -> list[str]:
    """The URL's passwords as a driver might echo them: decoded and %-encoded, from the
    user-info and from a ``?password=`` query key."""
    try:
        parsed = url if isinstance(url, URL) else make_url(url)
    except (sa_exc.ArgumentError, ValueError):
        return []
    found = [parsed.password] if isinstance(parsed.password, str) else []
    for key, value in parsed.query.items():
        if "pass" in key.lower():
            found.extend([value] if isinstance(value, str) else value)
    variants = {v for secret in found if secret for v in (secret, quote(secret, safe=""))}
    # longest first, so a secret containing another is replaced whole
    return sorted(variants, key=len, reverse=True)


def _first_line(text: str, secrets: list[str]) -> str:
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    for secret in secrets:
        line = line.replace(secret, "***")
    return redact_secrets(line)[:300]


def translate_error(exc: BaseException, url: str | URL) -> TradingStrategyError | None:
    """The project error for a driver/SQLAlchemy error, or ``None`` if ``exc`` is not one."""
    if isinstance(exc, TradingStrategyError):
        return exc
    is_driver = isinstance(exc, sqlite3.Error) or type(exc).__module__.startswith("psycopg")
    if not (isinstance(exc, sa_exc.SQLAlchemyError) or is_driver):
        return None
    where = redact_url(url)
    orig = getattr(exc, "orig", None) or exc
    message = _first_line(str(orig), _passwords(url)) or type(orig).__name__
    code = getattr(orig, "sqlstate", None) or ""
    lowered = message.lower()
    # SQLAlchemy sets no statement when the failure happened while connecting.
    connecting = isinstance(exc, sa_exc.DBAPIError) and exc.statement is None
    if code in _CONFIG_CODES or code.startswith(_CONFIG_CLASSES) or (
        (connecting or not code) and any(word in lowered for word in _CONNECT_WORDS)
    ):
        return ConfigError(
            f"cannot connect to the database {where}: {message} "
            "(check TRADING_STRATEGY_DATABASE_URL)"
        )
    if code in _MISSING_TABLE_CODES or "no such table" in lowered:
        return ConfigError(f"the database {where} has no or an outdated schema ({message}): "
                           f"{_SCHEMA_HINT}")
    if (code in _RETRY_CODES or code.startswith(_RETRY_CLASSES)
            or "database is locked" in lowered or "database is busy" in lowered):
        return RetryableError(f"database {where} busy or unavailable, try again: {message}")
    return DatabaseError(f"database error on {where}: {message}")


@contextmanager
def translate_errors(url: str | URL) -> Iterator[None]:
    """Re-raise driver errors inside the block as project errors (see module doc)."""
    try:
        yield
    except Exception as exc:
        translated = translate_error(exc, url)
        if translated is None or translated is exc:
            raise
        raise translated from None
