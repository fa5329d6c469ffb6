"""Operator actions from the web: re-arm, halt and strategy control requests, and the
journal of who did what.

A re-arm is recorded exactly as ``trading-strategy risk rearm`` records it
(``runtime.rearm``). Halt and strategy control (pause, resume, stop, start) requests are
written the same way beside it, in ``DATA_DIR/risk/``, for a running session to apply.
Every action is appended to ``DATA_DIR/web/actions.jsonl`` with its actor.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from trading_strategy.core.errors import ConfigError
from trading_strategy.risk.commands import ControlAction, HaltRequest, RearmRequest, StrategyControl
from trading_strategy.runtime.rearm import (
    HALT_REQUESTS,
    record_control_request,
    record_halt_request,
    record_rearm_request,
)

__all__ = ["HALT_REQUESTS", "WEB_ACTIONS", "audit_action", "read_actions", "request_control",
           "request_halt", "request_rearm"]

WEB_ACTIONS = Path("web") / "actions.jsonl"


def _append(path: Path, line: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")
    except OSError as exc:
        raise ConfigError(f"data_dir: cannot write {path} ({exc.strerror})") from None


def audit_action(data_dir: Path, *, actor: str, action: str, target: str,
                 detail: str = "") -> dict[str, Any]:
    record = {"ts": datetime.now(UTC).isoformat(), "actor": actor, "action": action,
              "target": target, "detail": detail}
    _append(data_dir / WEB_ACTIONS, json.dumps(record, sort_keys=True))
    return record


def read_actions(data_dir: Path) -> list[dict[str, Any]]:
    path = data_dir / WEB_ACTIONS
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def request_rearm(data_dir: Path, *, session: str, strategy: str, actor: str,
                  note: str) -> Path:
    return record_rearm_request(data_dir, RearmRequest(
        strategy, f"web:{actor}", time.time_ns(), note or f"from the web, session {session}"))


def request_halt(data_dir: Path, *, session: str, strategy: str, actor: str,
                 note: str) -> Path:
    """Ask ``session`` to halt ``strategy`` (the kill switch), the way ``runtime.rearm``
    records it; the session applies it within a bar."""
    return record_halt_request(data_dir, HaltRequest(
        session, strategy, f"web:{actor}", time.time_ns(), note))


def request_control(data_dir: Path, *, session: str, strategy: str, action: ControlAction,
                    actor: str, note: str) -> Path:
    """Ask ``session`` to pause, resume, stop or start ``strategy`` (``StrategyControl``
    says what each means); the session applies it within a bar."""
    return record_control_request(data_dir, StrategyControl(
        session, strategy, action, f"web:{actor}", time.time_ns(), note))
