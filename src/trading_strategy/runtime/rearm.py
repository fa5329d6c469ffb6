"""Operator requests to sessions: re-arm (``trading-strategy risk rearm``, the dashboard's
Re-arm), halt (the dashboard's kill switch) and strategy controls (pause, resume, stop,
start: ``trading-strategy strategy ...``, the dashboard's buttons).

Requests are JSON lines in ``DATA_DIR/risk/rearm-requests.jsonl``,
``DATA_DIR/risk/halt-requests.jsonl`` and ``DATA_DIR/risk/strategy-requests.jsonl``
(append-only). A session remembers how many of each it has applied (in its own folder) and
applies the new ones on start and periodically while running; halt and control requests
name their session.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from trading_strategy.core.errors import ConfigError
from trading_strategy.risk.commands import HaltRequest, RearmRequest, StrategyControl

#: where re-arm requests wait, relative to the data folder
REARM_REQUESTS = Path("risk") / "rearm-requests.jsonl"
#: where halt requests wait, relative to the data folder
HALT_REQUESTS = Path("risk") / "halt-requests.jsonl"
#: where strategy controls (pause, resume, stop, start) wait, relative to the data folder
CONTROL_REQUESTS = Path("risk") / "strategy-requests.jsonl"

#: each strategy's operator state, in the session's folder (what a restart restores and
#: what the status and the web app show)
STRATEGY_STATES = "strategy-states.json"

T = TypeVar("T")


def rearm_requests_path(data_dir: Path) -> Path:
    return data_dir / REARM_REQUESTS


def record_rearm_request(data_dir: Path, request: RearmRequest) -> Path:
    """Append ``request`` to the data folder's request file; returns the file's path."""
    return _append(rearm_requests_path(data_dir), request.to_json())


def read_rearm_requests(data_dir: Path) -> list[RearmRequest]:
    """Every recorded request, oldest first (for the runtime; it tracks which it applied)."""
    return _read(rearm_requests_path(data_dir), RearmRequest.from_json)


def record_halt_request(data_dir: Path, request: HaltRequest) -> Path:
    """Append ``request`` to the data folder's halt requests; returns the file's path."""
    return _append(data_dir / HALT_REQUESTS, request.to_json())


def read_halt_requests(data_dir: Path) -> list[HaltRequest]:
    """Every recorded halt request, oldest first (each session applies its own)."""
    return _read(data_dir / HALT_REQUESTS, HaltRequest.from_json)


def record_control_request(data_dir: Path, request: StrategyControl) -> Path:
    """Append ``request`` to the data folder's strategy controls; returns the file's path."""
    return _append(data_dir / CONTROL_REQUESTS, request.to_json())


def read_control_requests(data_dir: Path) -> list[StrategyControl]:
    """Every recorded strategy control, oldest first (each session applies its own)."""
    return _read(data_dir / CONTROL_REQUESTS, StrategyControl.from_json)


def read_strategy_states(session_root: Path) -> dict[str, dict[str, Any]]:
    """Strategy name → ``{"state": "running"|"paused"|"stopped", "actor", "ts_ns", "note"}``
    of the session whose folder is ``session_root`` (``{}`` before it first ran, or when the
    file is unreadable: every strategy then runs)."""
    try:
        data = json.loads((session_root / STRATEGY_STATES).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): v for k, v in data.items() if isinstance(v, dict)}


def write_strategy_states(session_root: Path, states: Mapping[str, Mapping[str, Any]]) -> None:
    """Replace the session's strategy states at once (readers never see half a file)."""
    path = session_root / STRATEGY_STATES
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(states, sort_keys=True), encoding="utf-8")
    tmp.replace(path)


def _append(path: Path, line: str) -> Path:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")
    except OSError as exc:
        raise ConfigError(f"data_dir: cannot write {path} ({exc.strerror})") from None
    return path


def _read(path: Path, decode: Callable[[str], T]) -> list[T]:
    if not path.exists():
        return []
    requests = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            requests.append(decode(line))
        except ValueError as exc:
            raise ConfigError(f"{path}:{number}: {exc}") from None
    return requests
