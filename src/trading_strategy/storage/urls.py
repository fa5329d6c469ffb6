"""Database URLs without their secrets, for logs and error messages.

Pure string work (no SQLAlchemy import), so any layer may use it cheaply, including the
command line before it has decided to touch a database.
"""

from __future__ import annotations

import re
from typing import Protocol

__all__ = ["redact_url"]

_MASK = "***"
# password=... in a query string or a libpq key/value connection string.
_KEY_VALUE = re.compile(r"(?i)(\bpass(?:word)?\s*=\s*)('[^']*'|[^\s&;]*)")


class _RendersUrl(Protocol):
    def render_as_string(self, hide_password: bool = ...) -> str: ...


def redact_url(url: str | _RendersUrl) -> str:
    """``url`` with any password replaced by ``***``; safe to print or log.

    Accepts a URL string (parsable or not: malformed URLs are what end up in error
    messages) or a SQLAlchemy ``URL``. Handles ``scheme://user:secret@host/db``,
    ``?password=secret`` and libpq ``password=secret`` forms.
    """
    if not isinstance(url, str):
        return url.render_as_string(hide_password=True)
    text = _KEY_VALUE.sub(lambda m: m.group(1) + _MASK, url)
    scheme_end = text.find("://")
    if scheme_end < 0:
        # Not a URL: user-info cannot be told apart, so hide everything before an "@".
        at = text.rfind("@")
        return text if at < 0 or "password=" in url.lower() else _MASK + text[at:]
    rest_start = scheme_end + 3
    # The user-info ends at the last "@" before the query string: passwords typed by
    # hand may contain "/" or "@", which a strict parser would misread as the host.
    query = text.find("?", rest_start)
    limit = len(text) if query < 0 else query
    at = text.rfind("@", rest_start, limit)
    if at < 0:
        return text
    userinfo = text[rest_start:at]
    colon = userinfo.find(":")
    if colon < 0:
        return text
    return f"{text[: rest_start + colon + 1]}{_MASK}{text[at:]}"
