"""Saving a report to the store: the run, and what the risk engine did as risk events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt


def save_report(store: Any, report: dict[str, Any],
                positions: npt.NDArray[np.int64] | None = None) -> int:
    """Store the run and, when the risk engine acted, its state changes as risk events;
    returns the run id. ``positions``: lots held after each bar (single backtests)."""
    from trading_strategy.core.bars import datetime_to_ns
    from trading_strategy.storage import RiskEventRecord

    run_id: int = store.runs.save_run(report, positions=positions)
    for change in report.get("risk", {}).get("halts", []):
        moment = datetime.fromisoformat(change["time"].replace("Z", "+00:00"))
        store.events.save_risk_event(RiskEventRecord(
            ts_event=datetime_to_ns(moment), strategy=report["strategy"],
            verdict=change["state"], reason=change["reason"],
            symbol=report["data"]["symbol"], trading_state=change["state"],
            detail={"run_id": run_id, "scope": change["scope"], "message": change["message"]},
        ))
    return run_id
