"""Operator commands to the risk engine, as plain data (pure: encoding only, no I/O).

A ``RearmRequest`` asks a running engine to lift a HALT, a ``HaltRequest`` to impose one
(the kill switch), a ``StrategyControl`` to pause, resume, stop or start one strategy. The
CLI and the web app record requests as JSON lines; the runtime that drives a live engine
reads them and calls ``RiskEngine.rearm`` / ``RiskEngine.halt`` or acts on the strategy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal, get_args

#: what an operator may ask of one strategy of a running session
ControlAction = Literal["pause", "resume", "stop", "start"]
CONTROL_ACTIONS: tuple[str, ...] = get_args(ControlAction)


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


@dataclass(frozen=True, slots=True)
class StrategyControl:
    """Pause, resume, stop or start strategy ``strategy`` of session ``session``, asked by
    ``actor`` at ``ts_ns`` (the dashboard's buttons, ``trading-strategy strategy ...``).

    * ``pause``: no more ``on_bar`` decisions; its resting orders and protective exits stay
      live and the risk engine still watches it;
    * ``resume``: decisions again from the next bar;
    * ``stop``: ``on_stop`` called, its open entry orders cancelled (the protective exits of
      an open position stay), no more events until ``start``;
    * ``start``: ``on_start`` called again, decisions from the next bar.
    """

    session: str
    strategy: str
    action: ControlAction
    actor: str
    ts_ns: int
    note: str = ""

    def to_json(self) -> str:
        return json.dumps({"command": "strategy", "session": self.session,
                           "strategy": self.strategy, "action": self.action,
                           "actor": self.actor, "ts_ns": self.ts_ns, "note": self.note},
                          sort_keys=True)

    @classmethod
    def from_json(cls, line: str) -> StrategyControl:
        """Decode one line; raises ``ValueError`` naming what is wrong."""
        data, strategy, actor, ts_ns = _decode(line, "strategy")
        session, action = data.get("session"), data.get("action")
        if not isinstance(session, str) or not session:
            raise ValueError("session must be a non-empty string")
        if not strategy:
            raise ValueError("strategy must be a non-empty string")
        if action not in CONTROL_ACTIONS:
            raise ValueError(f"action must be one of {', '.join(CONTROL_ACTIONS)}")
        return cls(session, strategy, action, actor, ts_ns, str(data.get("note", "")))


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
