"""A small transition-table state machine: declared edges only, anything else raises."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import Generic, TypeVar

from trading_strategy.core.errors import TradingStrategyError

S = TypeVar("S", bound=Hashable)


class IllegalTransition(TradingStrategyError):
    pass


class TransitionTable(Generic[S]):
    def __init__(self, edges: Mapping[S, Iterable[S]]) -> None:
        self._edges: dict[S, frozenset[S]] = {k: frozenset(v) for k, v in edges.items()}

    def allowed(self, current: S, target: S) -> bool:
        return target in self._edges.get(current, frozenset())

    def check(self, current: S, target: S) -> S:
        if not self.allowed(current, target):
            raise IllegalTransition(f"illegal transition {current!s} -> {target!s}")
        return target

    def targets(self, current: S) -> frozenset[S]:
        return self._edges.get(current, frozenset())
