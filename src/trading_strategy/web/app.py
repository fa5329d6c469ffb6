"""``create_app(settings)``: the FastAPI app (API under ``/api/v1``, pages, static files)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from trading_strategy.core.errors import UserError
from trading_strategy.web.deps import AppState
from trading_strategy.web.routes import actions, controls, pages, research, runs, sessions, stream
from trading_strategy.web.services.auth import Authenticator
from trading_strategy.web.services.backtests import JobRunner
from trading_strategy.web.services.snapshot import SessionSnapshots
from trading_strategy.web.settings import WebSettings

__all__ = ["create_app"]

_STATIC = Path(__file__).resolve().parent / "static"
_log = logging.getLogger(__name__)


def _error(status: int, error: str, detail: str) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail, "status": status}, status_code=status)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ())
                         if p not in ("body", "query", "path")) or "request"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        response = _error(exc.status_code, "http_error" if exc.status_code != 401
                          else "unauthorized", str(exc.detail))
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response

    @app.exception_handler(RequestValidationError)
    async def bad_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(422, "invalid_request", _validation_message(exc))

    @app.exception_handler(UserError)
    async def user_error(_: Request, exc: UserError) -> JSONResponse:
        return _error(400, "bad_request", str(exc).splitlines()[0] if str(exc) else "bad request")

    @app.exception_handler(Exception)
    async def internal(_: Request, exc: Exception) -> JSONResponse:
        # logged in full here; the client gets one line and never a traceback
        _log.exception("web request failed")
        return _error(500, "internal_error", f"the server failed ({type(exc).__name__}); "
                                             "see its log")


def create_app(settings: Any = None, *, web: WebSettings | None = None,
               store: Any = None) -> FastAPI:
    """The app over ``settings`` (``config.load_settings()`` when ``None``): its database
    and data folder. ``store``: an open ``storage.Store`` to use instead of opening one
    (left open at shutdown)."""
    if settings is None:
        from trading_strategy.config import load_settings

        settings = load_settings()
    web = web or settings.web

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = store is None
        opened = settings.open_store() if owned else store
        jobs = JobRunner(opened)
        # the sessions' views, re-checked as often as the stream polls the journal
        snapshots = SessionSnapshots(opened, Path(settings.data_dir),
                                     interval=web.poll_seconds)
        app.state.web = AppState(store=opened, data_dir=Path(settings.data_dir), web=web,
                                 auth=Authenticator(web), jobs=jobs,
                                 snapshots=snapshots)
        refresher = asyncio.create_task(snapshots.run())
        try:
            yield
        finally:
            refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await refresher
            jobs.close()
            if owned:
                opened.close()

    app = FastAPI(title="trading-strategy", version="v1", lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url="/api/v1/openapi.json",
                  description="Backtest runs, paper and live sessions, and their live stream.")
    _install_errors(app)
    # controls after sessions: its /strategies/{strategy}/{action} must not shadow /halt
    for module in (runs, sessions, controls, stream, actions, pages):
        app.include_router(module.router)
    app.include_router(research.router)
    app.mount("/static", StaticFiles(directory=_STATIC), name="static")

    @app.get("/api/docs", include_in_schema=False)
    async def api_docs() -> HTMLResponse:
        # Swagger UI from our own static folder (npm's swagger-ui-dist): works offline
        return get_swagger_ui_html(openapi_url="/api/v1/openapi.json",
                                   title="trading-strategy API",
                                   swagger_js_url="/static/vendor/swagger-ui-bundle.js",
                                   swagger_css_url="/static/vendor/swagger-ui.css",
                                   swagger_favicon_url="/static/favicon.svg")

    return app
