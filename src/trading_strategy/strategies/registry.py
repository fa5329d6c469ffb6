"""Strategy discovery by name.

Built-in strategies and third-party packages register the same way: an entry point in the
``trading_strategy.strategies`` group whose value is the ``Strategy`` subclass, e.g. in a
plug-in's ``pyproject.toml``::

    [project.entry-points."trading_strategy.strategies"]
    my_strategy = "my_package.strategy:MyStrategy"

``register()`` adds a class at run time (tests, notebooks).
"""

from __future__ import annotations

import importlib
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
    pass


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
    except (ImportError, AttributeError) as exc:
        raise UnknownStrategyError(
            f"strategy {name!r} could not be loaded from {target}: {exc}"
        ) from exc
    if not (isinstance(obj, type) and issubclass(obj, Strategy)):
        raise UnknownStrategyError(f"entry point {name!r} ({target}) is not a Strategy subclass")
    return obj


def available() -> list[str]:
    return sorted(set(_targets()) | set(_extra))


def get(name: str) -> type[Strategy]:
    if name in _extra:
        return _extra[name]
    targets = _targets()
    if name not in targets:
        raise UnknownStrategyError(
            f"unknown strategy {name!r}; available: {', '.join(available())}"
        )
    return _load(name, targets[name])
