"""Settings in one place: a TOML file and environment variables with one prefix.

Environment variables use the prefix ``TRADING_STRATEGY_`` and ``__`` between nested keys,
e.g. ``TRADING_STRATEGY_DATABASE_URL`` or ``TRADING_STRATEGY_RISK__MAX_POSITION_PCT=10``.
Secrets come only from the environment and are never logged (see ``redact_url``).
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "TRADING_STRATEGY_"


def default_data_dir() -> Path:
    """Per-user data folder (XDG data home), overridable by TRADING_STRATEGY_DATA_DIR."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "trading-strategy"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
    )

    data_dir: Path = default_data_dir()
    #: SQLAlchemy URL; empty means the embedded SQLite file in ``data_dir``.
    database_url: str = ""
    log_format: str = "console"

    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'trading-strategy.sqlite3'}"
