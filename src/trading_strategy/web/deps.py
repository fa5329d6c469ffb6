"""Request dependencies: the app's state and the acting user."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from trading_strategy.web.services.auth import Authenticator
from trading_strategy.web.services.backtests import JobRunner
from trading_strategy.web.services.snapshot import SessionSnapshots
from trading_strategy.web.settings import WebSettings

__all__ = ["Actor", "AppState", "State", "actor"]


@dataclass
class AppState:
    store: Any
    data_dir: Path
    web: WebSettings
    auth: Authenticator
    jobs: JobRunner
    snapshots: SessionSnapshots


async def _state(request: Request) -> AppState:
    state: AppState = request.app.state.web
    return state


State = Annotated[AppState, Depends(_state)]
_bearer = HTTPBearer(auto_error=False, description="TRADING_STRATEGY_WEB__TOKEN or a login's")


def actor(state: State,
          credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
          ) -> str:
    """Who is acting; 401 with the reason otherwise."""
    if not state.auth.configured:
        raise HTTPException(401, "actions are disabled: set TRADING_STRATEGY_WEB__TOKEN or "
                                 "TRADING_STRATEGY_WEB__PASSWORD_HASH to enable them",
                            headers={"WWW-Authenticate": "Bearer"})
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(401, "authentication required: send 'Authorization: Bearer "
                                 "<token>'", headers={"WWW-Authenticate": "Bearer"})
    who = state.auth.actor(credentials.credentials)
    if who is None:
        raise HTTPException(401, "the token is unknown or expired; log in again",
                            headers={"WWW-Authenticate": "Bearer"})
    return who


Actor = Annotated[str, Depends(actor)]
