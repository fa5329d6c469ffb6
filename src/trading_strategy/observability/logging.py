"""structlog set-up: JSON lines in production, readable console output on a terminal.

``configure_logging(fmt, level)`` is called once by the command line (or a test):

* ``"json"``: one JSON object per line with ``timestamp`` (UTC ISO 8601, microseconds,
  ``Z``), ``level``, ``logger`` (the name given to ``structlog.get_logger(name)``),
  ``event`` and the bound/keyword fields; exceptions as structured ``exception`` frames.
* ``"console"``: structlog's console renderer (colours only when the stream is a terminal).
* ``"auto"``: console if the stream is a terminal, JSON otherwise.

Records from the standard ``logging`` module (third-party libraries) go through the same
processors and renderer. Logs go to ``stderr`` unless another stream is given, so the
standard output of commands stays clean.

Timestamps (:func:`readable_times`, always on): integer nanosecond epochs under a
timestamp key — ``ts``, ``ts_<word>`` (``ts_event``, ``ts_init``, ``ts_ns``), ``<name>_ts``
or ``<name>_ts_ns`` (``bar_ts``), at any depth in dicts — are written as UTC ISO 8601 with
``Z`` and the exact nanoseconds as a fraction (``2013-03-01T00:00:00Z``,
``2026-11-30T11:35:40.123456789Z``). Other keys (durations such as ``latency_ns``) and
integers outside 1973–2262 are left alone.

Redaction (:func:`redact_secrets`, always on, before rendering): the value of any key whose
name contains password / passwd / pwd / passphrase / secret / api_key / apikey / api-key /
token / authorization / credential / private_key (case-insensitive, at any depth in dicts,
lists and tuples) becomes ``"***"``; inside every string value, the password of a URL
(``scheme://user:PASSWORD@host``), secret-looking query parameters (``?api_key=…``,
``&token=…``, ``&signature=…``) and ``Bearer …`` tokens become ``***``. Other objects are
rendered as they are: keep secrets out of domain objects (settings use ``SecretStr``).

:func:`decision_logger` returns the logger for trading decisions: one ``decision`` event per
decision with the fields the audit needs (strategy, instrument, inputs, intent, verdict,
order id).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import json
import logging
import re
import sys
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from trading_strategy.core.errors import ConfigError

__all__ = [
    "DECISION_LOGGER",
    "DecisionLogger",
    "configure_logging",
    "decision_logger",
    "readable_times",
    "redact_secrets",
    "utc_iso",
]

LogFormat = Literal["json", "console", "auto"]
DECISION_LOGGER = "trading_strategy.decisions"
REDACTED = "***"

_LEVELS = {"critical": logging.CRITICAL, "error": logging.ERROR, "warning": logging.WARNING,
           "info": logging.INFO, "debug": logging.DEBUG}
_SECRET_KEY = re.compile(
    r"passw(?:or)?d|pwd|passphrase|secret|api[-_]?key|token|authorization|credential"
    r"|private[-_]?key", re.IGNORECASE)
_URL_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]*:)[^/\s@]*(?=@)")
_QUERY_SECRET = re.compile(
    r"(?P<head>[?&;](?:[\w.-]*?(?:passw(?:or)?d|secret|api[-_]?key|token|signature)[\w.-]*)=)"
    r"[^&;#\s]+", re.IGNORECASE)
_BEARER = re.compile(r"(?P<head>\b[Bb]earer\s+)[A-Za-z0-9._~+/=-]+")
#: keys holding a point in time: ts, ts_event, ts_init, ts_ns, bar_ts, last_ts_ns …
_TIME_KEY = re.compile(r"^(?:ts|ts_[a-z]+|[a-z_]*_ts(?:_ns)?)$")
#: nanosecond epochs from 1973 to 2262 (smaller integers are not nanosecond times)
_NS_MIN, _NS_MAX = 10**17, 2**63 - 1


class _HandlerTag(logging.StreamHandler[TextIO]):
    """Marks the root handler installed here, so reconfiguring replaces it."""


class _NamedWriteLogger(structlog.WriteLogger):
    """A WriteLogger that remembers the name passed to ``structlog.get_logger(name)``."""

    def __init__(self, file: TextIO, name: str | None) -> None:
        super().__init__(file)
        self.name = name


class _NamedWriteLoggerFactory:
    def __init__(self, file: TextIO) -> None:
        self._file = file

    def __call__(self, *args: Any) -> _NamedWriteLogger:
        name = args[0] if args and isinstance(args[0], str) else None
        return _NamedWriteLogger(self._file, name)


def _add_logger_name(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    if "logger" not in event_dict:
        record = event_dict.get("_record")
        name = record.name if record is not None else getattr(logger, "name", None)
        if name:
            event_dict["logger"] = name
    return event_dict


def _redact_text(text: str) -> str:
    if "://" in text:
        text = _URL_PASSWORD.sub(rf"\g<head>{REDACTED}", text)
    if "=" in text:
        text = _QUERY_SECRET.sub(rf"\g<head>{REDACTED}", text)
    if "earer" in text:
        text = _BEARER.sub(rf"\g<head>{REDACTED}", text)
    return text


@functools.lru_cache(maxsize=4096)
def _is_secret_key(key: str) -> bool:
    return _SECRET_KEY.search(key) is not None


def _redact(value: Any) -> Any:
    if isinstance(value, str):
        return _redact_text(value)
    if isinstance(value, dict | Mapping):
        return {k: (REDACTED if v is not None and isinstance(k, str) and _is_secret_key(k)
                    else _redact(v)) for k, v in value.items()}
    if isinstance(value, list | tuple) and not hasattr(value, "_fields"):
        return [_redact(v) for v in value]
    return value


def redact_secrets(logger: WrappedLogger, method_name: str,
                   event_dict: EventDict) -> EventDict:
    """structlog processor: redact secrets as described in the module docstring.

    Nested containers are copied, never mutated (they may belong to the caller).
    """
    for key, value in event_dict.items():
        if value is None:
            continue
        if _is_secret_key(key):
            event_dict[key] = REDACTED
        elif isinstance(value, str | dict | list | tuple | Mapping):
            event_dict[key] = _redact(value)
    return event_dict


def utc_iso(ns: int) -> str:
    """A nanosecond epoch as UTC ISO 8601, exact: ``2013-03-01T00:00:00.5Z``."""
    seconds, fraction = divmod(ns, 1_000_000_000)
    text = dt.datetime.fromtimestamp(seconds, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if fraction:
        text += "." + f"{fraction:09d}".rstrip("0")
    return text + "Z"


def _is_time(key: object, value: object) -> bool:
    return (type(value) is int and _NS_MIN <= value <= _NS_MAX and isinstance(key, str)
            and _TIME_KEY.match(key) is not None)


def _times(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: utc_iso(v) if _is_time(k, v) else _times(v) for k, v in value.items()}
    return value


def readable_times(logger: WrappedLogger, method_name: str,
                   event_dict: EventDict) -> EventDict:
    """structlog processor: nanosecond timestamps as UTC ISO 8601 (module docstring).

    Nested dicts are copied, never mutated (they may belong to the caller)."""
    for key, value in event_dict.items():
        if _is_time(key, value):
            event_dict[key] = utc_iso(value)
        elif isinstance(value, dict):
            event_dict[key] = _times(value)
    return event_dict


def _json_default(obj: Any) -> Any:
    if isinstance(obj, Decimal | enum.Enum):
        return str(obj.value if isinstance(obj, enum.Enum) else obj)
    if isinstance(obj, dt.datetime | dt.date | dt.time):
        return obj.isoformat()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    if hasattr(obj, "_asdict"):
        return obj._asdict()
    if isinstance(obj, set | frozenset):
        return sorted(obj, key=repr)
    return repr(obj)


def _json_dumps(obj: Any, **kw: Any) -> str:
    return json.dumps(obj, default=_json_default, ensure_ascii=False, separators=(",", ":"))


def _parse_level(level: str | int) -> int:
    if isinstance(level, int):
        return level
    try:
        return _LEVELS[level.lower()]
    except KeyError:
        raise ConfigError(f"invalid log level {level!r}: use one of "
                          f"{', '.join(_LEVELS)}") from None


class _Stderr:
    """Whatever ``sys.stderr`` is at write time (test runners and daemons swap it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


def configure_logging(fmt: LogFormat = "auto", level: str | int = "info", *,
                      stream: TextIO | None = None, cache_loggers: bool = True) -> None:
    """Configure structlog and the standard library root logger (module docstring).

    ``cache_loggers=False`` keeps loggers re-reading the configuration (for tests that
    reconfigure); the default caches each logger on first use, which is faster.
    """
    out: TextIO = stream if stream is not None else _Stderr()  # type: ignore[assignment]
    if fmt not in ("json", "console", "auto"):
        raise ConfigError(f"invalid log format {fmt!r}: use json, console or auto")
    isatty = bool(getattr(out, "isatty", lambda: False)())
    as_json = fmt == "json" or (fmt == "auto" and not isatty)
    numeric = _parse_level(level)

    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        _add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        readable_times,
    ]
    renderer: Processor
    if as_json:
        shared += [structlog.processors.dict_tracebacks, redact_secrets]
        renderer = structlog.processors.JSONRenderer(serializer=_json_dumps)
    else:
        shared.append(redact_secrets)
        renderer = structlog.dev.ConsoleRenderer(colors=isatty)

    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=_NamedWriteLoggerFactory(out),
        cache_logger_on_first_use=cache_loggers,
    )

    handler = _HandlerTag(out)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    ))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _HandlerTag)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)


class DecisionLogger:
    """Writes one ``decision`` event per trading decision (info level)."""

    __slots__ = ("_log",)

    def __init__(self, log: Any) -> None:
        self._log = log

    def bind(self, **context: Any) -> DecisionLogger:
        return DecisionLogger(self._log.bind(**context))

    def decision(self, *, instrument: str, inputs: Any, intent: Any,
                 verdict: Any, order_id: str | None = None, strategy: str | None = None,
                 **extra: Any) -> None:
        """Log a decision: what the strategy saw (``inputs``), what it wanted (``intent``),
        what risk said (``verdict``) and the resulting ``order_id`` (None if denied)."""
        if strategy is not None:
            extra["strategy"] = strategy
        self._log.info("decision", instrument=instrument, inputs=inputs, intent=intent,
                       verdict=verdict, order_id=order_id, **extra)


def decision_logger(strategy: str | None = None, **context: Any) -> DecisionLogger:
    """The decision logger (logger name ``trading_strategy.decisions``), bound to
    ``strategy`` and any other context (``session``, ``mode``…)."""
    if strategy is not None:
        context["strategy"] = strategy
    return DecisionLogger(structlog.get_logger(DECISION_LOGGER).bind(**context))
