"""Parameter spaces, objectives and constraints as the CLI and ``optimize`` take them.

``fast=5:50:5`` is the range 5, 10, ..., 50 (the stop is included, as a user reads it);
``mode=a,b,c`` a list; ``fast=10`` a single value. A value stays a string unless every
element reads as a number, so the strategy's own model (pydantic) coerces and validates.
"""

from __future__ import annotations

import itertools
import math
import operator
import random
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from trading_strategy.core.errors import ConfigError

Value = int | float | str | bool


@dataclass(frozen=True, slots=True)
class Dimension:
    """One parameter's candidate values; ``low``/``high``/``step`` are set for a range
    (Optuna then samples the range itself rather than a list)."""

    name: str
    values: tuple[Value, ...]
    low: float | None = None
    high: float | None = None
    step: float | None = None

    @property
    def is_int_range(self) -> bool:
        return self.low is not None and all(isinstance(v, int) for v in self.values)


def _number(text: str) -> int | float | None:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def parse_dimension(spec: str) -> Dimension:
    """``name=start:stop:step``, ``name=a,b,c`` or ``name=value``."""
    name, sep, body = spec.partition("=")
    name, body = name.strip(), body.strip()
    if not sep or not name or not body:
        raise ConfigError(f"--param expects NAME=START:STOP:STEP, NAME=A,B,C or NAME=VALUE, "
                          f"got {spec!r}")
    if ":" in body:
        parts = body.split(":")
        numbers = [_number(p.strip()) for p in parts]
        if len(parts) not in (2, 3) or any(n is None for n in numbers):
            raise ConfigError(f"--param {name}: a range is START:STOP[:STEP] in numbers, "
                              f"got {body!r}")
        start, stop = numbers[0], numbers[1]
        step = numbers[2] if len(parts) == 3 else 1
        assert start is not None and stop is not None and step is not None
        if step <= 0 or stop < start:
            raise ConfigError(f"--param {name}: a range needs START <= STOP and STEP > 0, "
                              f"got {body!r}")
        count = math.floor((stop - start) / step + 1e-9) + 1
        if count > 100_000:
            raise ConfigError(f"--param {name}: {count} values is too many; widen STEP")
        integral = all(isinstance(n, int) for n in (start, stop, step))
        values: tuple[Value, ...] = tuple(
            int(start + i * step) if integral else round(start + i * step, 12)
            for i in range(count))
        return Dimension(name, values, float(start), float(values[-1]), float(step))
    items = [item.strip() for item in body.split(",")]
    if any(not item for item in items):
        raise ConfigError(f"--param {name}: empty value in {body!r}")
    parsed = [_number(item) for item in items]
    chosen: list[Value] = ([p for p in parsed if p is not None]
                           if all(p is not None for p in parsed) else list(items))
    return Dimension(name, tuple(dict.fromkeys(chosen)))


@dataclass(frozen=True, slots=True)
class ParamSpace:
    """The product of its dimensions."""

    dimensions: tuple[Dimension, ...]

    @classmethod
    def parse(cls, specs: Iterable[str] | Mapping[str, Any]) -> ParamSpace:
        """From ``--param`` strings or a mapping ``{name: spec string | sequence | value}``."""
        dims: list[Dimension] = []
        if isinstance(specs, Mapping):
            for name, spec in specs.items():
                if isinstance(spec, range):
                    dims.append(Dimension(name, tuple(spec), float(spec.start),
                                          float(spec[-1]), float(spec.step)) if len(spec)
                                else parse_dimension(f"{name}="))
                elif isinstance(spec, str):
                    dims.append(parse_dimension(f"{name}={spec}"))
                elif isinstance(spec, Sequence):
                    if not spec:
                        raise ConfigError(f"param {name}: no values")
                    dims.append(Dimension(name, tuple(dict.fromkeys(spec))))
                else:
                    dims.append(Dimension(name, (spec,)))
        else:
            dims = [parse_dimension(s) for s in specs]
        names = [d.name for d in dims]
        if not dims:
            raise ConfigError("give at least one --param NAME=START:STOP:STEP to sweep")
        if len(set(names)) != len(names):
            raise ConfigError(f"a parameter is given twice: {names}")
        return cls(tuple(dims))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.dimensions)

    @property
    def size(self) -> int:
        return math.prod(len(d.values) for d in self.dimensions)

    def grid(self) -> Iterator[dict[str, Value]]:
        for combo in itertools.product(*(d.values for d in self.dimensions)):
            yield dict(zip(self.names, combo, strict=True))

    def sample(self, n: int, seed: int | None = 0) -> list[dict[str, Value]]:
        """``n`` distinct points drawn uniformly from the grid (all of it when smaller)."""
        total = self.size
        if n >= total:
            return list(self.grid())
        rng = random.Random(seed)
        picks = rng.sample(range(total), n)
        sizes = [len(d.values) for d in self.dimensions]
        out = []
        for flat in picks:
            point: dict[str, Value] = {}
            for dim, size in zip(reversed(self.dimensions), reversed(sizes), strict=True):
                flat, index = divmod(flat, size)
                point[dim.name] = dim.values[index]
            out.append({name: point[name] for name in self.names})
        return out


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt,
    "==": operator.eq, "!=": operator.ne}
_CONSTRAINT = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|==|!=|<|>)\s*(\S+)\s*$")


@dataclass(frozen=True, slots=True)
class Constraint:
    """``metric OP number`` on a run's stats, e.g. ``max_drawdown<=0.2``, ``trades>=20``."""

    metric: str
    op: str
    value: float

    @classmethod
    def parse(cls, text: str) -> Constraint:
        match = _CONSTRAINT.match(text)
        number = _number(match.group(3)) if match else None
        if match is None or number is None:
            raise ConfigError(f"--constraint expects METRIC OP NUMBER such as "
                              f"'max_drawdown<=0.2' or 'trades>=20', got {text!r}")
        return cls(match.group(1), match.group(2), float(number))

    def holds(self, stats: Mapping[str, Any]) -> bool:
        value = stats.get(self.metric)
        if not isinstance(value, int | float) or isinstance(value, bool):
            return False  # an undefined metric (no trades: no Sharpe) cannot satisfy it
        return bool(_OPS[self.op](float(value), self.value))

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{self.value:g}"


@dataclass(frozen=True, slots=True)
class Objective:
    """The metric to optimise and its direction."""

    metric: str
    maximize: bool = True

    def score(self, stats: Mapping[str, Any]) -> float | None:
        """The metric as a float, or None when the run leaves it undefined."""
        value = stats.get(self.metric)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        value = float(value)
        return value if math.isfinite(value) else None

    def better(self, a: float, b: float) -> bool:
        return a > b if self.maximize else a < b

    def __str__(self) -> str:
        return f"{'maximize' if self.maximize else 'minimize'} {self.metric}"


def check_metric(metric: str, known: Iterable[str]) -> None:
    names = sorted(known)
    if metric not in names:
        raise ConfigError(f"unknown metric {metric!r}; known metrics: {', '.join(names)}")
