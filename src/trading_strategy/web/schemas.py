"""Pydantic schemas of the API (``/api/v1``): what the OpenAPI docs show and clients get."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

__all__ = [
    "ActionResult", "BacktestJob", "BacktestLaunch", "CandlePoint", "EquityPoint", "ErrorBody",
    "LoginRequest", "RunDetailOut", "RunList", "RunSummaryOut", "SessionDetail",
    "SessionList", "SessionPositions", "SessionSummary", "StreamMessage", "TokenOut", "TradeOut",
]

API_VERSION = "v1"


class ErrorBody(BaseModel):
    """Every refused request: a status and one clear sentence, never a traceback."""

    error: str
    detail: str
    status: int


class RunSummaryOut(BaseModel):
    id: int
    created_at: datetime
    status: str
    strategy: str
    symbol: str | None
    timeframe: str | None
    data_start: datetime | None
    data_end: datetime | None
    bars: int | None
    total_return: float | None
    cagr: float | None
    sharpe: float | None
    sortino: float | None
    max_drawdown: float | None
    win_rate: float | None
    profit_factor: float | None
    trade_count: int | None
    code_version: str


class RunList(BaseModel):
    runs: list[RunSummaryOut]
    total: int
    limit: int
    offset: int


class TradeOut(BaseModel):
    side: str
    quantity: str
    entry_time: datetime
    entry_price: str
    exit_time: datetime | None
    exit_price: str | None
    pnl: str | None
    trade_return: float | None
    commission: str | None


class EquityPoint(BaseModel):
    #: UTC seconds (what the charts take)
    time: int
    equity: float
    drawdown: float


class CandlePoint(BaseModel):
    time: int
    open: float
    high: float
    low: float
    close: float


class RunDetailOut(BaseModel):
    summary: RunSummaryOut
    params: dict[str, Any]
    settings: dict[str, Any]
    metrics: dict[str, Any]
    risk: dict[str, Any] | None
    trades: list[TradeOut]
    #: equity points served (downsampled unless a window is asked for)
    equity: list[EquityPoint]
    equity_points_total: int
    downsampled: bool


class SessionSummary(BaseModel):
    name: str
    session_id: str | None
    strategies: list[str]
    halted: dict[str, Any]
    last_bar: dict[str, str]
    orders_sent: int
    fills: int


class SessionList(BaseModel):
    sessions: list[SessionSummary]


class SessionDetail(BaseModel):
    name: str
    session_id: str
    status: dict[str, Any] = Field(description="what `trading-strategy status --json` prints")
    strategies: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="strategy → its operator state: running, paused or stopped, with the "
                    "actor and market time of the last change")
    positions: list[dict[str, Any]]
    open_orders: list[dict[str, Any]]
    recent_fills: list[dict[str, Any]]
    pnl: dict[str, Any]
    risk: dict[str, Any]
    last_seq: int


class SessionPositions(BaseModel):
    name: str
    positions: list[dict[str, Any]]
    last_seq: int


class StreamMessage(BaseModel):
    """One message of ``/api/v1/stream``. ``seq`` orders events; a client reconnecting with
    ``?after=SEQ`` gets a ``snapshot`` (seq = the position it resumes from) and then every
    event after SEQ, none missed and none twice. ``equity`` messages (``data.points``: the
    points a session appended to its equity curve, as ``/sessions/{name}/equity`` gives
    them), ``health`` (a feed's stale / restored / provider switch), ``risk`` (a
    trading-state change: halt, re-arm), ``strategy`` (a strategy's state transition, e.g.
    an operator's pause; ``data`` is the session's event record) and ``heartbeat`` carry
    the current seq without advancing it: after a reconnect a client reloads the session's
    views from the REST endpoints."""

    seq: int
    kind: Literal["snapshot", "order", "fill", "equity", "health", "risk", "strategy",
                  "heartbeat"]
    session: str | None = None
    ts: datetime | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class LoginRequest(BaseModel):
    user: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class TokenOut(BaseModel):
    token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class ActionResult(BaseModel):
    action: str
    target: str
    actor: str
    ts: datetime
    detail: str


class BacktestLaunch(BaseModel):
    strategy: str = Field(min_length=1, max_length=200, examples=["sma_crossover"])
    data: str = Field(min_length=1, max_length=500, examples=["GOOG"])
    params: dict[str, Any] = Field(default_factory=dict)
    cash: float = Field(default=10_000, gt=0)
    commission: float = Field(default=0.0, ge=0, lt=1)
    slippage_bps: float | None = Field(default=None, ge=0)
    size: str = "all-in"
    start: str | None = None
    end: str | None = None
    risk: dict[str, Any] | None = None


class BacktestJob(BaseModel):
    job: str
    state: Literal["queued", "running", "done", "failed"]
    done: int
    total: int
    run_id: int | None = None
    error: str | None = None


class FeedInstrument(BaseModel):
    symbol: str
    state: Literal["healthy", "stale", "failed-over", "replay"]
    provider: str | None
    primary: str | None
    last_bar: str | None
    last_bar_age_s: float | None
    stale_since: str | None
    switches: int
    stale_spells: int
    counters: dict[str, int]


class SessionHealth(BaseModel):
    """The feed's health per instrument of one session."""

    name: str
    live: bool = Field(description="false for a historical replay (no provider to watch)")
    running: bool = Field(description="the session's folder changed in the last seconds")
    updated_age_s: float | None = Field(description="seconds since the session last "
                                                    "checkpointed (wall clock)")
    instruments: list[FeedInstrument]


class EquityOut(BaseModel):
    time: int = Field(description="market time of the bar, UTC seconds")
    total: str | None = Field(description="the strategies' equity summed (exact); null when "
                                          "they count in different currencies")
    equity: dict[str, str] = Field(description="strategy → its equity (exact)")


class SessionEquity(BaseModel):
    name: str
    points: list[EquityOut]
    points_total: int
    downsampled: bool
    offset: int = Field(description="bytes of the equity file read: the stream's "
                                    "``equity`` messages carry what comes after")
