"""Operator commands to the risk engine, as plain data (pure: encoding only, no I/O).

A ``RearmRequest`` asks a running engine to lift a HALT, a ``HaltRequest`` to impose one
(the kill switch). The CLI and the web app record requests as JSON lines; the runtime that
drives a live engine reads them and calls ``RiskEngine.rearm`` / ``RiskEngine.halt``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class RearmRequest:
    """Re-arm ``strategy`` (``None``: the whole portfolio), asked by ``actor`` at ``ts_ns``."""

    strategy: str | None
    actor: str
    ts_ns: int
    note: str = ""

    @property
    def scope_label(self) -> str:
        return "portfolio" if self.strategy is None else f"strategy {self.strategy}"

    def to_json(self) -> str:
        return json.dumps({"command": "rearm", "strategy": self.strategy, "actor": self.actor,
                           "ts_ns": self.ts_ns, "note": self.note}, sort_keys=True)

    @classmethod
    def from_json(cls, line: str) -> RearmRequest:
        """Decode one line; raises ``ValueError`` naming what is wrong."""
        data, strategy, actor, ts_ns = _decode(line, "rearm")
        return cls(strategy, actor, ts_ns, str(data.get("note", "")))


@dataclass(frozen=True, slots=True)
class HaltRequest:
    """Halt ``strategy`` (``None``: the whole portfolio) of session ``session`` — the kill
    switch an operator pulls (the web dashboard's Halt) — asked by ``actor`` at ``ts_ns``.
    A running session applies it like a drawdown halt (entries cancelled; with
    ``flatten_on_halt`` exits cancelled and positions closed) until a re-arm."""

    session: str
    strategy: str | None
    actor: str
    ts_ns: int
    note: str = ""

    @property
    def scope_label(self) -> str:
        return "portfolio" if self.strategy is None else f"strategy {self.strategy}"

    def to_json(self) -> str:
        return json.dumps({"command": "halt", "session": self.session,
                           "strategy": self.strategy, "actor": self.actor,
                           "ts_ns": self.ts_ns, "note": self.note}, sort_keys=True)

    @classmethod
    def from_json(cls, line: str) -> HaltRequest:
        """Decode one line; raises ``ValueError`` naming what is wrong."""
        data, strategy, actor, ts_ns = _decode(line, "halt")
        session = data.get("session")
        if not isinstance(session, str) or not session:
            raise ValueError("session must be a non-empty string")
        return cls(session, strategy, actor, ts_ns, str(data.get("note", "")))


def _decode(line: str, command: str) -> tuple[dict[str, Any], str | None, str, int]:
    """One request line's JSON object and its common fields (strategy, actor, time);
    ``ValueError`` naming what is wrong."""
    data = json.loads(line)
    if not isinstance(data, dict) or data.get("command") != command:
        raise ValueError(f"not a {command} request")
    strategy, actor, ts_ns = data.get("strategy"), data.get("actor"), data.get("ts_ns")
    if strategy is not None and not isinstance(strategy, str):
        raise ValueError("strategy must be a string or null")
    if not isinstance(actor, str) or not actor:
        raise ValueError("actor must be a non-empty string")
    if not isinstance(ts_ns, int) or isinstance(ts_ns, bool):
        raise ValueError("ts_ns must be an integer")
    return data, strategy, actor, ts_ns
