"""Turn what a user names as a strategy into a ``Strategy`` subclass.

Accepted: the class itself, a registered name (``"sma_crossover"``, built-in or plug-in),
``"package.module:Class"`` or ``"path/to/file.py:Class"``.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
import weakref
from pathlib import Path

from trading_strategy.api.errors import ArgumentError
from trading_strategy.core.errors import strategy_frame
from trading_strategy.strategies import registry
from trading_strategy.strategies.base import Strategy

_FORMS = ("a Strategy subclass, a registered name (see `trading-strategy strategies`), "
          "'package.module:Class' or 'path/to/file.py:Class'")


def resolve_strategy(ref: object) -> type[Strategy]:
    """The ``Strategy`` subclass ``ref`` names; ``ArgumentError`` says which forms work."""
    if isinstance(ref, type):
        if not issubclass(ref, Strategy):
            raise ArgumentError(f"strategy: {ref.__qualname__} is not a Strategy subclass; "
                                f"give {_FORMS}")
        return _named(ref)
    if isinstance(ref, Strategy):
        raise ArgumentError(f"strategy: pass the class {type(ref).__qualname__}, not an "
                            "instance (the backtest creates it with its context)")
    if not isinstance(ref, str) or not ref.strip():
        raise ArgumentError(f"strategy: got {ref!r}; give {_FORMS}")
    text = ref.strip()
    target, sep, attr = text.rpartition(":")
    if not sep:
        return registry.get(text)
    if not attr.isidentifier():
        raise ArgumentError(f"strategy: {text!r} must end with ':ClassName'")
    module = _module_of_file(target) if _is_file_ref(target) else _import(target, text)
    obj = getattr(module, attr, None)
    if obj is None:
        raise ArgumentError(f"strategy: {target} has no attribute {attr!r}")
    if not (isinstance(obj, type) and issubclass(obj, Strategy)):
        raise ArgumentError(f"strategy: {text} is not a Strategy subclass")
    return _named(obj)


def _is_file_ref(target: str) -> bool:
    return target.endswith(".py") or "/" in target or "\\" in target


def _import(module_name: str, text: str) -> object:
    try:
        return importlib.import_module(module_name)
    except ImportError as exc:
        raise ArgumentError(f"strategy: cannot import {module_name!r} for {text!r}: {exc}; "
                            "is the package installed or on sys.path?") from None
    except Exception as exc:  # the user's module raised while importing
        raise _import_error(text, exc) from exc


def _import_error(text: str, exc: Exception) -> ArgumentError:
    """A strategy module that raised while importing, as one line naming where."""
    if isinstance(exc, SyntaxError) and exc.filename:
        where = f"{exc.filename}:{exc.lineno}: "
    else:
        frame = strategy_frame(exc.__traceback__)
        where = f"{frame[0]}:{frame[1]}: " if frame else ""
    return ArgumentError(f"{where}strategy: importing {text!r} raised "
                         f"{type(exc).__name__}: {exc}")


def _module_of_file(target: str) -> object:
    path = Path(target).expanduser().resolve()
    if not path.is_file():
        raise ArgumentError(f"strategy: file {target!r} not found")
    # One module per file path, so loading the same file twice gives the same classes.
    name = "_trading_strategy_user_" + re.sub(r"\W", "_", str(path))
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ArgumentError(f"strategy: cannot load {target!r} as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:
        del sys.modules[name]
        if isinstance(exc, Exception):
            raise _import_error(target, exc) from exc
        raise
    return module


def _named(cls: type[Strategy]) -> type[Strategy]:
    """``cls``, or for a class without ``name`` (common in a notebook) a subclass named
    after it in snake case: order ids, reports and risk overrides need a name."""
    if cls.name:
        return cls
    named = _NAMED.get(cls)
    if named is None:
        snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", cls.__name__).lower()
        named = type(cls.__name__, (cls,), {"name": snake, "__module__": cls.__module__,
                                            "__qualname__": cls.__qualname__,
                                            "__doc__": cls.__doc__})
        _NAMED[cls] = named
    return named


# one named subclass per user class, so resolving it twice gives the same class
_NAMED: weakref.WeakKeyDictionary[type[Strategy], type[Strategy]] = weakref.WeakKeyDictionary()
