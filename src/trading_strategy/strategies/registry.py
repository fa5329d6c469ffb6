"""Strategy discovery by name.

Built-in strategies and third-party packages register the same way: an entry point in the
``trading_strategy.strategies`` group whose value is the ``Strategy`` subclass, e.g. in a
plug-in's ``pyproject.toml``::

    [project.entry-points."trading_strategy.strategies"]
    my_strategy = "my_package.strategy:MyStrategy"

``register()`` adds a class at run time (tests, notebooks).

A broken plug-in breaks only itself: an entry point whose module fails to import (whatever
it raises) or whose object is not a ``Strategy`` subclass is skipped by ``discover()`` with a
``BrokenStrategyWarning`` naming the entry point and the error, so ``trading-strategy
strategies`` lists the others and shows that one as broken; selecting it by name raises
``BrokenStrategyError``, a one-line user error with the same text.
"""

from __future__ import annotations

import importlib
import warnings
from dataclasses import dataclass
from importlib.metadata import entry_points

from trading_strategy.core.errors import ParameterError, UserError
from trading_strategy.strategies.base import Strategy

ENTRY_POINT_GROUP = "trading_strategy.strategies"

#: Built-ins by module, so the registry works from a source checkout without metadata.
_BUILTINS = {
    "sma_crossover": "trading_strategy.strategies.sma_crossover:SmaCrossover",
    "rsi_reversion": "trading_strategy.strategies.rsi_reversion:RsiReversion",
    "donchian_breakout": "trading_strategy.strategies.donchian_breakout:DonchianBreakout",
}

_extra: dict[str, type[Strategy]] = {}


class UnknownStrategyError(UserError):
    """No strategy has that name."""


class BrokenStrategyError(UnknownStrategyError):
    """The name's entry point cannot give a ``Strategy`` subclass: its module raised on
    import, or its object is missing or not a ``Strategy`` subclass."""


class BrokenStrategyWarning(UserWarning):
    """An installed plug-in's strategy could not be loaded and was skipped."""


@dataclass(frozen=True, slots=True)
class Found:
    """One strategy ``discover`` found: its class, or why it could not be loaded."""

    name: str
    target: str
    """Where it comes from: ``module:Class`` (``register``-ed: the class's module)."""
    cls: type[Strategy] | None
    error: str | None
    """The one-line reason it is broken (``None`` when ``cls`` is set)."""


def register(cls: type[Strategy]) -> type[Strategy]:
    """Make ``cls`` available under ``cls.name`` in this process (``get``, ``available``
    and whatever looks a strategy up by name), ahead of a built-in or entry point of the
    same name; returns ``cls``, so it works as a class decorator. Raises
    ``ParameterError`` when ``cls.name`` is empty. Registering a name again replaces the
    class. Installed packages need no call: their entry point registers them.

    ```python
    @register
    class Momentum(Strategy):
        name = "momentum"
    ```
    """
    if not cls.name:
        raise ParameterError(f"{cls.__qualname__} must set a class attribute 'name'")
    _extra[cls.name] = cls
    return cls


def _targets() -> dict[str, str]:
    targets = dict(_BUILTINS)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        targets.setdefault(ep.name, ep.value)
    return targets


def _load(name: str, target: str) -> type[Strategy]:
    module_name, _, attr = target.partition(":")
    try:
        obj = getattr(importlib.import_module(module_name), attr)
    except Exception as exc:  # a plug-in's module may raise anything while importing
        raise BrokenStrategyError(
            f"strategy {name!r} could not be loaded from {target}: "
            f"{type(exc).__name__}: {_one_line(exc)}"
        ) from exc
    if not (isinstance(obj, type) and issubclass(obj, Strategy)):
        raise BrokenStrategyError(f"entry point {name!r} ({target}) is not a Strategy subclass")
    return obj


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or repr(exc)


def available() -> list[str]:
    """Every strategy name: built-ins, entry points (broken ones included: ``discover``
    tells them apart) and ``register``-ed classes, sorted."""
    return sorted(set(_targets()) | set(_extra))


def get(name: str) -> type[Strategy]:
    """The strategy class called ``name``; ``UnknownStrategyError`` (a one-line user error)
    for an unknown name, ``BrokenStrategyError`` for a plug-in that cannot be loaded."""
    if name in _extra:
        return _extra[name]
    targets = _targets()
    if name not in targets:
        raise UnknownStrategyError(
            f"unknown strategy {name!r}; available: {', '.join(available())}"
        )
    return _load(name, targets[name])


def discover() -> list[Found]:
    """Load every strategy, sorted by name, isolating broken plug-ins: each one that cannot
    be loaded is listed with its error and reported by a ``BrokenStrategyWarning``."""
    targets = _targets()
    found = []
    for name in available():
        if name in _extra:
            cls = _extra[name]
            found.append(Found(name, f"{cls.__module__}:{cls.__qualname__}", cls, None))
            continue
        try:
            found.append(Found(name, targets[name], _load(name, targets[name]), None))
        except BrokenStrategyError as exc:
            warnings.warn(f"skipped a broken strategy plug-in: {exc}", BrokenStrategyWarning,
                          stacklevel=2)
            found.append(Found(name, targets[name], None, str(exc)))
    return found
