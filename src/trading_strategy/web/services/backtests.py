"""Backtests launched from the web: run in a background thread through the Python API
(``trading_strategy.Backtest``), saved to the store, with progress to poll."""

from __future__ import annotations

import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from trading_strategy.core.errors import TradingStrategyError

__all__ = ["Job", "JobRunner"]


@dataclass
class Job:
    job: str
    state: str = "queued"
    done: int = 0
    total: int = 0
    run_id: int | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"job": self.job, "state": self.state, "done": self.done, "total": self.total,
                "run_id": self.run_id, "error": self.error}


class JobRunner:
    """One backtest at a time (the machine has few cores; the API stays responsive)."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="web-backtest")
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def submit(self, spec: dict[str, Any]) -> Job:
        job = Job(secrets.token_hex(8))
        with self._lock:
            self._jobs[job.job] = job
        self._pool.submit(self._run, job, spec)
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def _run(self, job: Job, spec: dict[str, Any]) -> None:
        from trading_strategy.api import Backtest

        job.state = "running"

        def progress(done: int, total: int) -> None:
            job.done, job.total = done, total

        try:
            params = spec.pop("params")
            result = Backtest(spec.pop("data"), spec.pop("strategy"), store=self._store,
                              **spec).run(progress=progress, **params)
            job.run_id = result.save(self._store)
            job.done = job.total = max(job.total, job.done)
            job.state = "done"
        except (TradingStrategyError, ValueError, TypeError) as exc:
            job.error, job.state = str(exc).splitlines()[0] if str(exc) else repr(exc), "failed"
        except Exception as exc:  # a strategy's own bug: the job fails, the app stays up
            job.error, job.state = f"{type(exc).__name__}: {exc}", "failed"

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
