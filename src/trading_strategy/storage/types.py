"""Column types that mean the same on SQLite and PostgreSQL.

``UtcTimestamp``: an aware UTC ``datetime`` in Python. PostgreSQL stores ``timestamptz``
(microseconds). SQLite stores INTEGER nanoseconds since the Unix epoch: the bar store
reads and writes millions of them, and integers need no parsing (ISO text would cost a
string parse and format per row, several times the whole 1M-row read budget), sort and
compare as numbers, and are what ``BarSeries`` holds anyway.

``ExactDecimal``: a ``Decimal`` in Python. PostgreSQL stores ``NUMERIC`` (exact, any
scale). SQLite has no decimal type (a NUMERIC column keeps REAL or INTEGER anyway), so it
stores the REAL nearest to the value, which for any value of up to 15 significant digits
(every price rounded to its tick) reads back as exactly that decimal through ``repr``.

``JsonDocument``: JSONB on PostgreSQL, JSON text on SQLite.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, Numeric
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TIMESTAMP, TypeDecorator, TypeEngine

from trading_strategy.core.bars import datetime_to_ns, ns_to_datetime

__all__ = ["ExactDecimal", "JsonDocument", "UtcTimestamp", "to_utc"]

JsonDocument = JSON().with_variant(JSONB(), "postgresql")


def to_utc(value: datetime | int) -> datetime:
    """Aware UTC datetime from a datetime (naive means UTC) or int nanoseconds."""
    if isinstance(value, int):
        return ns_to_datetime(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class UtcTimestamp(TypeDecorator[datetime]):
    """Aware UTC datetime; ``timestamptz`` on PostgreSQL, INTEGER ns on SQLite."""

    impl = TIMESTAMP(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(TIMESTAMP(timezone=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        moment = to_utc(value)
        return datetime_to_ns(moment) if dialect.name == "sqlite" else moment

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            return to_utc(value)
        return ns_to_datetime(int(value))


class ExactDecimal(TypeDecorator[Decimal]):
    """Exact decimal; ``NUMERIC`` on PostgreSQL, nearest REAL on SQLite (see module doc)."""

    impl = Numeric
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Float(asdecimal=False))
        return dialect.type_descriptor(Numeric(asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return float(value)
        if isinstance(value, float):
            return Decimal(repr(value))  # the shortest text that round-trips
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if isinstance(value, Decimal):
            return value
        if isinstance(value, float):
            return Decimal(repr(value))
        return Decimal(value)
