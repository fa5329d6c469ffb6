"""Operator commands to the risk engine, as plain data (pure: encoding only, no I/O).

A ``RearmRequest`` asks a running engine to lift a HALT. The CLI records requests as JSON
lines; the runtime that drives a live engine reads them and calls ``RiskEngine.rearm``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass


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
        data = json.loads(line)
        if not isinstance(data, dict) or data.get("command") != "rearm":
            raise ValueError("not a rearm request")
        strategy, actor, ts_ns = data.get("strategy"), data.get("actor"), data.get("ts_ns")
        if strategy is not None and not isinstance(strategy, str):
            raise ValueError("strategy must be a string or null")
        if not isinstance(actor, str) or not actor:
            raise ValueError("actor must be a non-empty string")
        if not isinstance(ts_ns, int) or isinstance(ts_ns, bool):
            raise ValueError("ts_ns must be an integer")
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
        data = json.loads(line)
        if not isinstance(data, dict) or data.get("command") != "halt":
            raise ValueError("not a halt request")
        session, strategy = data.get("session"), data.get("strategy")
        actor, ts_ns = data.get("actor"), data.get("ts_ns")
        if not isinstance(session, str) or not session:
            raise ValueError("session must be a non-empty string")
        if strategy is not None and not isinstance(strategy, str):
            raise ValueError("strategy must be a string or null")
        if not isinstance(actor, str) or not actor:
            raise ValueError("actor must be a non-empty string")
        if not isinstance(ts_ns, int) or isinstance(ts_ns, bool):
            raise ValueError("ts_ns must be an integer")
        return cls(session, strategy, actor, ts_ns, str(data.get("note", "")))
