"""The project's one exception tree.

::

    TradingStrategyError
    ├── UserError                 input a person can fix; the CLI prints its message on one line
    │   ├── ConfigError           settings file, environment variable or CLI option
    │   ├── ParameterError        a strategy parameter (names the valid ones)
    │   └── DataError             market data file or rows (names file, line and reason)
    ├── StrategyError             user strategy code raised; other strategies keep running
    ├── RetryableError            transient (network, venue busy): retry with backoff
    └── OperatorActionRequired    state only a person may resolve (halt, reconciliation mismatch)

Vendor and network errors are translated into this tree at the adapter edge. Messages must
never carry a secret: ``redact_secrets`` is the one scrubber for passwords in URLs and
``key=value`` strings (``redact_url`` for a database URL alone), used by the storage
errors, the settings report and the command line's error printer.
"""

from __future__ import annotations

import functools
import os
import re
from types import TracebackType

_MASK = "***"
# key=value pairs whose key names a secret: URL query strings (?password=...), libpq
# connection strings (password=... sslpassword=...), ccxt-style api_key=... in messages.
_SECRET_PAIR = re.compile(
    r"(?i)(\b[\w.-]*(?:pass(?:word|wd)?|pwd|secret|token|api[_-]?key)[\w.-]*\s*=\s*)"
    r"('[^']*'|\"[^\"]*\"|[^\s&;,'\"]*)")
# scheme://... up to whitespace or a quote: one URL inside a longer text
_URL = re.compile(r"(?i)\b[a-z][a-z0-9+.-]*://[^\s'\"<>]*")


def redact_secrets(text: str) -> str:
    """``text`` with every password it carries replaced by ``***``; safe to print or log.

    Covers ``scheme://user:secret@host`` (the secret may contain ``@`` or ``/``, as typed by
    hand, or be %-encoded), ``?password=secret`` and other secret-named query keys
    (``sslpassword``, ``token``, ``api_key``, ...), and libpq ``password=secret``, anywhere
    in ``text``. It cannot know secrets that appear with no such marker: callers who hold
    the secret value itself also replace it (see ``cli.main``).
    """
    # a value already masked keeps what follows it: scrubbing twice changes nothing
    text = _SECRET_PAIR.sub(
        lambda m: m.group(1) + _MASK + m.group(2).removeprefix(_MASK)
        if m.group(2).startswith(_MASK) else m.group(1) + _MASK, text)
    return _URL.sub(lambda m: _redact_userinfo(m.group(0)), text)


def redact_url(url: str) -> str:
    """A database URL (or libpq connection string) with its password replaced by ``***``.

    Like ``redact_secrets``; a string that is not a URL cannot have its user-info told
    apart from the host, so everything before its last ``@`` is hidden as well.
    """
    text = redact_secrets(url)
    at = text.rfind("@")
    if "://" in text or at < 0 or text != url:
        return text
    return _MASK + text[at:]


def _redact_userinfo(url: str) -> str:
    rest_start = url.find("://") + 3
    # The user-info ends at the last "@" before the query string: passwords typed by hand
    # may contain "/" or "@", which a strict parser would misread as the host.
    query = url.find("?", rest_start)
    at = url.rfind("@", rest_start, len(url) if query < 0 else query)
    colon = url.find(":", rest_start, at) if at >= 0 else -1
    if colon < 0:
        return url
    return f"{url[: colon + 1]}{_MASK}{url[at:]}"


class TradingStrategyError(Exception):
    """Base of every error this package raises on purpose."""


class UserError(TradingStrategyError):
    """Bad input that the user can fix; the message says what and how."""


class ConfigError(UserError):
    """Invalid or missing configuration value."""


class ParameterError(UserError):
    """Invalid strategy parameter."""


class DataError(UserError):
    """Invalid market data. ``path`` and ``line`` locate the problem when known."""

    def __init__(self, reason: str, *, path: str | None = None, line: int | None = None) -> None:
        self.reason = reason
        self.path = path
        self.line = line
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(f"{where}{reason}")


class StrategyError(TradingStrategyError):
    """A strategy's own code raised; carries the strategy name, the callback and where.

    The message is one line that starts, like a ``DataError``, with the place to fix: the
    file and line of the innermost frame of the traceback that is the strategy's code, not
    this framework's nor a library's (``ValueError`` raised by ``ctx.buy`` names the line
    of the strategy that called ``buy``)::

        my_strategy.py:42: strategy 'breakout' raised in on_bar at bar 17: ZeroDivisionError(...)

    ``path``, ``line`` and ``function`` hold that place (``None`` when the traceback has no
    such frame); the CLI's ``--debug`` prints the whole traceback (``cause`` keeps it).
    """

    def __init__(self, strategy: str, callback: str, cause: BaseException) -> None:
        self.strategy = strategy
        self.callback = callback
        self.cause = cause
        where = strategy_frame(cause.__traceback__)
        self.path: str | None = where[0] if where else None
        self.line: int | None = where[1] if where else None
        self.function: str | None = where[2] if where else None
        place = f"{_display_path(where[0])}:{where[1]}: " if where else ""
        super().__init__(f"{place}strategy {strategy!r} raised in {callback}: {cause!r}")


# what is not the user's strategy code: this package (its built-in strategies excepted: they
# are strategies like a user's), the standard library and installed libraries
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_BUILTIN_STRATEGIES = os.path.join(_PACKAGE_DIR, "strategies") + os.sep


@functools.cache
def _library_dirs() -> tuple[str, ...]:
    # looked up on the first strategy error, not at import: the CLI imports this module
    import sysconfig

    paths = sysconfig.get_paths()
    return tuple(sorted({os.path.join(os.path.abspath(paths[key]), "")
                         for key in ("stdlib", "platstdlib", "purelib", "platlib")
                         if paths.get(key)}))


def _is_framework(path: str) -> bool:
    path = os.path.abspath(path)
    if not path.startswith(_PACKAGE_DIR + os.sep):
        return False
    # trading_strategy/strategies/<name>/...: a built-in strategy, user-level code
    return not (path.startswith(_BUILTIN_STRATEGIES)
                and os.sep in path[len(_BUILTIN_STRATEGIES):])


def _is_library(path: str) -> bool:
    return path.startswith("<frozen") or os.path.abspath(path).startswith(_library_dirs())


def strategy_frame(tb: TracebackType | None) -> tuple[str, int, str] | None:
    """(file, line, function) of the innermost frame of ``tb`` in the strategy's code.

    The strategy's code is every frame outside this package and outside installed
    libraries and the standard library; the file of the first such frame (the callback the
    driver called) counts even when it is an installed plug-in's. ``None`` when no frame
    qualifies.
    """
    entry: str | None = None
    found: tuple[str, int, str] | None = None
    while tb is not None:
        code = tb.tb_frame.f_code
        path = code.co_filename
        if not _is_framework(path):
            if entry is None and not path.startswith("<frozen"):
                entry = path
            if path == entry or not _is_library(path):
                found = (path, tb.tb_lineno, code.co_name)
        tb = tb.tb_next
    return found


def _display_path(path: str) -> str:
    """``path`` relative to the working directory when it lies under it (shorter, and what
    the user typed in ``--strategy file.py:Class``), else as it is."""
    try:
        relative = os.path.relpath(path)
    except (ValueError, OSError):  # another drive (Windows); no working directory
        return path
    return path if relative.startswith(os.pardir) else relative


class RetryableError(TradingStrategyError):
    """A transient failure: the same call may succeed later."""


class OperatorActionRequired(TradingStrategyError):
    """A state that must not be resolved automatically."""
