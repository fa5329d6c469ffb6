"""The web app's own settings, from ``TRADING_STRATEGY_WEB__*`` variables.

Kept apart from ``config.Settings`` until that class grows a ``web`` section (the variable
names are already the ones it will read then).
"""

from __future__ import annotations

import os
from typing import Any

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["WebSettings", "load_core_settings"]


class WebSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRADING_STRATEGY_WEB__", extra="ignore")

    #: a bearer token that authorises every action (compared in constant time)
    token: SecretStr | None = None
    #: the login's user name and Argon2 hash of its password (``argon2`` PHC string)
    user: str = "admin"
    password_hash: SecretStr | None = None
    #: lifetime of a token issued by a login, in seconds
    token_ttl_seconds: int = Field(default=900, ge=30, le=86_400)
    #: how often the live stream polls the journal, in seconds
    poll_seconds: float = Field(default=0.05, gt=0, le=10)

    @property
    def auth_configured(self) -> bool:
        return self.token is not None or self.password_hash is not None


_PREFIX = "TRADING_STRATEGY_WEB__"


def load_core_settings() -> Any:
    """``config.load_settings()`` with the ``TRADING_STRATEGY_WEB__*`` variables hidden
    from it: ``config.Settings`` has no ``web`` section yet and refuses unknown variables
    (remove this once it has one)."""
    from trading_strategy.config import load_settings

    hidden = {k: os.environ.pop(k) for k in list(os.environ) if k.upper().startswith(_PREFIX)}
    try:
        return load_settings()
    finally:
        os.environ.update(hidden)
