"""Who may act: a bearer token from the environment, or a login giving a short-lived token.

Tokens travel in the ``Authorization`` header only (never a cookie), so a page of another
site cannot make a browser send one: that is the CSRF defence.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time

from trading_strategy.web.settings import WebSettings

__all__ = ["Authenticator"]


class Authenticator:
    def __init__(self, settings: WebSettings) -> None:
        self._settings = settings
        self._issued: dict[str, tuple[str, float]] = {}  # token → (user, expiry, monotonic)
        self._lock = threading.Lock()

    @property
    def configured(self) -> bool:
        return self._settings.auth_configured

    def actor(self, token: str) -> str | None:
        """Who ``token`` speaks for, or ``None`` (unknown or expired)."""
        env = self._settings.token
        if env is not None and hmac.compare_digest(token.encode(),
                                                   env.get_secret_value().encode()):
            return "token"
        now = time.monotonic()
        with self._lock:
            for known in list(self._issued):
                if self._issued[known][1] <= now:
                    del self._issued[known]
            # every issued token is compared, in constant time each, so timing says nothing
            found = None
            for known, (user, _) in self._issued.items():
                if hmac.compare_digest(token.encode(), known.encode()):
                    found = user
        return found

    def login(self, user: str, password: str) -> str | None:
        """A new token for ``user`` when the password matches its Argon2 hash."""
        stored = self._settings.password_hash
        if stored is None:
            return None
        from argon2 import PasswordHasher
        from argon2.exceptions import InvalidHashError, VerificationError

        user_ok = hmac.compare_digest(user.encode(), self._settings.user.encode())
        try:
            PasswordHasher().verify(stored.get_secret_value(), password)
        except (VerificationError, InvalidHashError):
            return None
        if not user_ok:
            return None
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._issued[token] = (f"user:{user}",
                                   time.monotonic() + self._settings.token_ttl_seconds)
        return token
