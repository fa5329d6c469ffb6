"""Shared pieces of the pure wire modules: the typed parse error, exact numbers, UTC times.

Wire modules never raise on input: a message they cannot read becomes a ``WireError`` the
adapter counts and logs, so a malformed message can never end a session.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, NamedTuple

from trading_strategy.market_data.providers.base import MarketEvent

_ISO = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]00:00)$")
_EXCERPT = 200


class WireErrorKind(StrEnum):
    MALFORMED = "malformed"  # not JSON, or not the documented shape
    UNKNOWN = "unknown"  # valid JSON of a type we do not handle
    VENUE_ERROR = "venue_error"  # the source said something went wrong (e.g. a bad subscribe)


@dataclass(frozen=True, slots=True)
class WireError:
    """A message the adapter could not turn into events (counted, logged, dropped)."""

    kind: WireErrorKind
    reason: str
    excerpt: str

    @classmethod
    def of(cls, kind: WireErrorKind, reason: str, text: str) -> WireError:
        return cls(kind, reason, text[:_EXCERPT])


class Decoded(NamedTuple):
    """What one wire message meant: events, an acknowledgement, or an error (a tuple: made
    once per message, it must be cheap)."""

    events: tuple[MarketEvent, ...] = ()
    error: WireError | None = None
    #: the source's own clock from a message that is not an event (a heartbeat), if any
    source_ts: int | None = None
    #: "duplicate" or "out_of_order": a message already superseded, dropped and counted
    dropped: str | None = None
    #: data the source numbered but never delivered (a trade-id gap): health degrades
    gap: str | None = None
    #: the source acknowledged a (un)subscribe request
    ack: bool = False


def order_check(last: int | None, current: int) -> str | None:
    """``"duplicate"``/``"out_of_order"`` when ``current`` does not advance past ``last``."""
    if last is None or current > last:
        return None
    return "duplicate" if current == last else "out_of_order"


class BadMessage(Exception):
    """Raised inside a wire module only; turned into a ``WireError`` before returning."""


def field(obj: Any, key: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise BadMessage(f"missing field {key!r}")
    return obj[key]


def decimal(obj: Any, key: str) -> Decimal:
    raw = field(obj, key)
    if not isinstance(raw, str):
        raise BadMessage(f"field {key!r} must be a decimal string, got {raw!r}")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise BadMessage(f"field {key!r} is not a number: {raw!r}") from None
    if not value.is_finite() or value < 0:
        raise BadMessage(f"field {key!r} must be finite and >= 0: {raw!r}")
    return value


def integer(obj: Any, key: str) -> int:
    raw = field(obj, key)
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise BadMessage(f"field {key!r} must be an integer, got {raw!r}")
    return raw


def text(obj: Any, key: str) -> str:
    raw = field(obj, key)
    if not isinstance(raw, str) or not raw:
        raise BadMessage(f"field {key!r} must be a non-empty string, got {raw!r}")
    return raw


def ms_to_ns(ms: int) -> int:
    return ms * 1_000_000


def iso_to_ns(value: str) -> int:
    """An RFC 3339 UTC time with up to nanosecond digits, exactly (no float on the way)."""
    match = _ISO.match(value)
    if match is None:
        raise BadMessage(f"not a UTC RFC 3339 time: {value!r}")
    whole = datetime.fromisoformat(match.group(1)).replace(tzinfo=UTC)
    fraction = (match.group(2) or "").ljust(9, "0")
    return int(whole.timestamp()) * 1_000_000_000 + int(fraction or "0")
