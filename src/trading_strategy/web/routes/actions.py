"""Login and backtest jobs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException

from trading_strategy.web.deps import Actor, State
from trading_strategy.web.schemas import BacktestJob, BacktestLaunch, LoginRequest, TokenOut
from trading_strategy.web.services.actions import audit_action

router = APIRouter(prefix="/api/v1", tags=["actions"])


@router.post("/auth/login", response_model=TokenOut)
async def login(state: State, body: LoginRequest) -> Any:
    if state.web.password_hash is None:
        raise HTTPException(401, "login is disabled: set TRADING_STRATEGY_WEB__PASSWORD_HASH")
    token = state.auth.login(body.user, body.password)
    if token is None:
        raise HTTPException(401, "wrong user or password")
    audit_action(state.data_dir, actor=f"user:{body.user}", action="login", target="web")
    return {"token": token, "expires_in": state.web.token_ttl_seconds}


@router.post("/backtests", response_model=BacktestJob, status_code=202)
async def launch_backtest(state: State, who: Actor, body: BacktestLaunch) -> Any:
    spec: dict[str, Any] = {"strategy": body.strategy, "data": body.data,
                            "params": body.params, "cash": body.cash,
                            "commission": body.commission, "slippage": body.slippage_bps,
                            "size": body.size, "start": body.start, "end": body.end,
                            "risk": body.risk}
    job = state.jobs.submit(spec)
    audit_action(state.data_dir, actor=who, action="launch_backtest", target=job.job,
                 detail=f"{body.strategy} on {body.data}")
    return job.as_dict()


@router.get("/backtests/{job_id}", response_model=BacktestJob)
async def backtest_job(state: State, job_id: str) -> Any:
    job = state.jobs.get(job_id)
    if job is None:
        raise HTTPException(404, f"no backtest job {job_id!r}")
    return job.as_dict()
