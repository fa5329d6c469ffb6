"""Database URLs without their secrets, for logs and error messages.

Pure string work (no SQLAlchemy import), so any layer may use it cheaply. The scrubbing is
``core.errors.redact_url``, the project's one URL redaction; this adds SQLAlchemy ``URL``
objects, whose rendering hides the user-info password but not a ``?password=`` query key.
"""

from __future__ import annotations

from typing import Protocol

from trading_strategy.core.errors import redact_url as _redact_text

__all__ = ["redact_url"]


class _RendersUrl(Protocol):
    def render_as_string(self, hide_password: bool = ...) -> str: ...


def redact_url(url: str | _RendersUrl) -> str:
    """``url`` with any password replaced by ``***``; safe to print or log.

    Accepts a URL string (parsable or not: malformed URLs are what end up in error
    messages) or a SQLAlchemy ``URL``. Handles ``scheme://user:secret@host/db``,
    ``?password=secret`` (and other secret-named query keys) and libpq ``password=secret``.
    """
    if not isinstance(url, str):
        return _redact_text(url.render_as_string(hide_password=True))
    return _redact_text(url)
