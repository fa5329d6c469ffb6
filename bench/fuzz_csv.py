"""CSV fuzz campaign: mutated market data files must be rejected clearly or loaded exactly.

Seeded mutations (values, timestamps, rows, header, bytes; one to three per file) of real
bars (bundled GOOG daily and EURUSD hourly excerpts, and a real AAPL Yahoo export excerpt
with Adj Close) go through the loader in-process, and a sample of them through the real
CLI: ``backtest --data FILE --json -``, and ``data import`` on SQLite and on PostgreSQL
(127.0.0.1:5432, a uniquely named database created and dropped here).

Every outcome is judged against an independent reference reading of the same bytes (the
documented rules of docs/data.md, in Decimal arithmetic, with Python's csv module and
``datetime.fromisoformat``):

* **traceback**: an exception that is not one of our ``UserError``s in-process, or a CLI
  run whose stderr is not exactly our one ``error:`` line (plus ``warning:`` lines), or
  that exits with anything but 0 or 2;
* **silently wrong**: accepted although the reference finds a rule broken, or accepted with
  bars that differ from what the file says after rounding to the tick (timestamps, a
  price, a volume, the number of bars); for an import, the stored bars are compared; for
  a backtest, the report's bar count and range;
* **partial write**: a rejected import that changed the stored bars (every import goes
  on top of the unmutated file already stored under the same symbol);
* a **false rejection** (the reference accepts, the platform refuses) is reported but is
  not a failure of the target: refusing is never silently wrong.

    .venv/bin/python bench/fuzz_csv.py [--files 2000] [--cli 30] [--seed 7] [--no-pg]

Prints readable figures; the last line is one JSON object. Exit status 1 if any of
tracebacks / silently wrong / partial writes is not zero.
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import json
import math
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation, localcontext
from importlib import resources
from pathlib import Path
from typing import Any

Lines = list[str]
_LIMIT = 2**53
_MAX_DECIMALS = 8
_NS_LIMIT = 2**63 - 1
_TS_ALIASES = ("timestamp", "datetime", "date", "time")
_PRICES = ("open", "high", "low", "close")
_CLI = str(Path(sys.executable).with_name("trading-strategy"))

# Real AAPL bars around the 2000-06-21 2:1 split, as a Yahoo export writes them.
_YAHOO = """Date,Open,High,Low,Close,Adj Close,Volume
2000-06-12,92.5,93.0,87.06,88.25,2.8353,1948000
2000-06-13,88.94,93.06,87.0,92.0,2.9558,2266700
2000-06-14,92.87,93.5,87.37,87.5,2.8112,2150500
2000-06-15,91.25,93.37,89.0,92.37,2.9677,2219400
2000-06-16,93.5,93.75,89.06,91.19,2.9298,2710400
2000-06-19,90.56,97.87,89.81,96.62,3.1043,3517900
2000-06-20,98.5,103.94,98.37,101.25,3.253,4476700
2000-06-21,50.5,56.94,50.31,55.63,3.5746,4375000
2000-06-22,55.75,57.63,53.56,53.75,3.4538,8352000
2000-06-23,53.78,54.63,50.81,51.69,3.3214,3660100
2000-06-26,52.5,54.75,52.13,54.13,3.4782,3309900
2000-06-27,53.78,55.5,51.63,51.75,3.3253,3633400
2000-06-28,53.31,55.38,51.5,54.44,3.4981,5114800
2000-06-29,53.06,53.94,51.06,51.25,3.2932,3636800
"""


def base_files() -> dict[str, str]:
    """The unmutated files: name -> text (real bars only)."""
    samples = resources.files("trading_strategy.data.samples")
    goog = samples.joinpath("GOOG_1d.csv").read_text(encoding="utf-8").splitlines()
    eur = samples.joinpath("EURUSD_1h.csv").read_text(encoding="utf-8").splitlines()
    return {
        "GOOG_1d.csv": "\n".join(goog[:121]) + "\n",  # 120 daily bars from 2004-08-19
        "EURUSD_1h.csv": "\n".join(eur[:121]) + "\n",
        "AAPL_1d.csv": _YAHOO,
    }


# --- mutations ------------------------------------------------------------------------

_NUMBERS = ["0", "-0", "-1", "1e-9", "1e-300", "1e308", "1e309", "-1e308", "inf", "-inf",
            "nan", "NaN", "", " ", "abc", "1e17", "1e12", "0.00001", "0x1A", "1_000",
            " 12.5 ", "1.2.3", "+5", "5e", "0.000000005", "0.000000015", "9007199254740993",
            "123456789012345678901234567890", "1e-20", "\u0661\u0662", "12,5", '"7"']
_STAMPS = ["", "garbage", "2024-13-01", "2004-02-30", "now", "today", "NaT", "0",
           "20240131", "1700000000", "2004-08-19T25:00:00", "2004/08/19", "19.08.2004",
           "2004-08-19 00:00:00", "2004-08-19T00:00:00+05:00", "2004-08-19Z", "99999-01-01",
           "-2004-08-19", "2004-8-19", "2004-08-19T00:00:00.123456789Z", "1e9",
           "2004-08-19T00:00:00-00:30", "2262-04-12", "1677-09-21", "0001-01-01"]
_HEADER_NAMES = ["Adj Close", "adj_close", "cls", "Close", "OPEN", "date", "Date", "time",
                 "vol", "volume", "Adj Factor", "adjusted close", "", "Adj Open", "high"]


def _cells(line: str) -> list[str]:
    return next(csv.reader([line]), [])


def _join(cells: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(cells)
    return buffer.getvalue()


def _data_index(rng: random.Random, lines: Lines) -> int:
    return rng.randrange(1, len(lines)) if len(lines) > 1 else 0


def _tweak_number(rng: random.Random, text: str) -> str:
    choice = rng.randrange(6)
    if choice == 0 or not text:
        return rng.choice(_NUMBERS)
    if choice == 1:
        try:
            return repr(float(text) * 10.0 ** rng.randint(-9, 9))
        except ValueError:
            return text + "0"
    if choice == 2:  # one digit changed
        spots = [i for i, ch in enumerate(text) if ch.isdigit()]
        if spots:
            i = rng.choice(spots)
            return text[:i] + str(rng.randrange(10)) + text[i + 1:]
    if choice == 3:  # a character dropped or doubled
        i = rng.randrange(len(text))
        return text[:i] + text[i + 1:] if rng.random() < 0.5 else text[:i] + text[i] + text[i:]
    if choice == 4:
        return "-" + text
    return text + ("" if "." in text else ".") + str(rng.randrange(10**9))


def _tweak_stamp(rng: random.Random, text: str, previous: str) -> str:
    choice = rng.randrange(4)
    if choice == 0:
        return rng.choice(_STAMPS)
    if choice == 1:
        return previous  # duplicate timestamp
    if choice == 2:
        spots = [i for i, ch in enumerate(text) if ch.isdigit()]
        if spots:
            i = rng.choice(spots)
            return text[:i] + str(rng.randrange(10)) + text[i + 1:]
    return text[: rng.randrange(len(text) + 1)]


def m_value(rng: random.Random, lines: Lines) -> Lines:
    i = _data_index(rng, lines)
    cells = _cells(lines[i])
    if len(cells) > 1:
        k = rng.randrange(1, len(cells))
        cells[k] = _tweak_number(rng, cells[k])
        lines[i] = _join(cells)
    return lines


def m_bar_value(rng: random.Random, lines: Lines) -> Lines:
    """All four prices of a bar set to one value: the 'price at 1e-9' family."""
    i = _data_index(rng, lines)
    cells = _cells(lines[i])
    value = rng.choice(["1e-9", "1e-300", "1e308", "1e17", "0.000000005", "0.00001",
                        "0.004", "1e12", "9e15"])
    for k in range(1, min(5, len(cells))):
        cells[k] = value
    lines[i] = _join(cells)
    return lines


def m_stamp(rng: random.Random, lines: Lines) -> Lines:
    i = _data_index(rng, lines)
    cells = _cells(lines[i])
    if cells:
        previous = _cells(lines[i - 1])[0] if i > 1 and _cells(lines[i - 1]) else cells[0]
        cells[0] = _tweak_stamp(rng, cells[0], previous)
        lines[i] = _join(cells)
    return lines


def m_rows(rng: random.Random, lines: Lines) -> Lines:
    i = _data_index(rng, lines)
    choice = rng.randrange(9)
    if choice == 0 and len(lines) > 2:
        del lines[i]
    elif choice == 1:
        lines.insert(i, lines[i])
    elif choice == 2 and len(lines) > 2:
        j = _data_index(rng, lines)
        lines[i], lines[j] = lines[j], lines[i]
    elif choice == 3:
        lines.insert(i, "" if rng.random() < 0.5 else "   ")
    elif choice == 4:
        lines.insert(i, rng.choice(["x,y", "garbage", ",,,,,", "#comment", "1,2,3,4,5,6"]))
    elif choice == 5:
        cells = _cells(lines[i])
        if cells:
            del cells[rng.randrange(len(cells))]
            lines[i] = _join(cells)
    elif choice == 6:
        lines[i] = lines[i] + "," + rng.choice(["", "1", "x"])
    elif choice == 7:
        lines[i] = lines[i][: rng.randrange(len(lines[i]) + 1)]
    else:
        del lines[i + 1:]
        lines[-1] = lines[-1][: rng.randrange(len(lines[-1]) + 1)]
    return lines


def m_header(rng: random.Random, lines: Lines) -> Lines:
    cells = _cells(lines[0])
    choice = rng.randrange(5)
    if choice == 0 and cells:
        cells[rng.randrange(len(cells))] = rng.choice(_HEADER_NAMES)
        lines[0] = _join(cells)
    elif choice == 1 and len(cells) > 1:
        a, b = rng.sample(range(len(cells)), 2)
        cells[a], cells[b] = cells[b], cells[a]
        lines[0] = _join(cells)
    elif choice == 2:
        del lines[0]
    elif choice == 3:  # an adjusted close column, real-looking or not
        factor = rng.choice([0.5, 0.031, 1.0, 2.0, 0.0, -1.0])
        close_at = _role_index(cells, "close")
        lines[0] = lines[0] + ",Adj Close"
        for k in range(1, len(lines)):
            row = _cells(lines[k])
            try:
                value = repr(round(float(row[close_at or 0]) * factor, 4))
            except (ValueError, IndexError):
                value = "x"
            lines[k] = lines[k] + "," + value
    else:
        lines.insert(0, lines[0])
    return lines


def _role_index(cells: list[str], role: str) -> int | None:
    for k, name in enumerate(cells):
        if _normalized(name) == role:
            return k
    return None


def m_bytes(rng: random.Random, data: bytes) -> bytes:
    choice = rng.randrange(6)
    i = rng.randrange(len(data) + 1)
    if choice == 0 and data:
        i = min(i, len(data) - 1)
        return data[:i] + bytes([data[i] ^ (1 << rng.randrange(8))]) + data[i + 1:]
    if choice == 1:
        return data[:i] + b"\x00" + data[i:]
    if choice == 2:
        return data[:i] + b"\xff\xfe" + data[i:]
    if choice == 3:
        return b"\xef\xbb\xbf" + data
    if choice == 4:
        return data.replace(b"\n", b"\r\n")
    return data[:i] + b'"' + data[i:]


_LINE_MUTATIONS: list[Callable[[random.Random, Lines], Lines]] = [
    m_value, m_value, m_value, m_bar_value, m_stamp, m_stamp, m_rows, m_rows, m_header]


def mutate(rng: random.Random, text: str) -> bytes:
    lines = text.splitlines()
    for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
        if rng.random() < 0.1:
            return m_bytes(rng, ("\n".join(lines) + "\n").encode("utf-8"))
        if lines:
            lines = rng.choice(_LINE_MUTATIONS)(rng, lines)
    return ("\n".join(lines) + "\n").encode("utf-8")


# --- the reference reading ----------------------------------------------------------


class Invalid(Exception):
    """The reference finds a documented rule broken."""


@dataclass
class Expected:
    ts: list[int]
    prices: dict[str, list[Decimal]]  # open/high/low/close as the platform should hold them
    volume: list[float]
    tick: Decimal
    spacing: int = 0  # the lower median gap in ns: the timeframe the platform infers
    ties: set[tuple[str, int]] = field(default_factory=set)  # exact half-tick cases
    may_reject: bool = False  # a price exactly half a tick: 0 ticks in Decimal, maybe 1 in float


def _normalized(name: str) -> str:
    return re.sub(r"[\s._*-]", "", name).lower()


def _number(text: str) -> Decimal:
    try:
        as_float = float(text)  # the documented rule: what Python's float() reads is a number
    except ValueError:
        raise Invalid(f"bad number {text!r}") from None
    if not math.isfinite(as_float) or as_float == 0:
        return Decimal(as_float)  # "1e400" is infinite and "1e-400" zero in float64
    try:
        return Decimal(text.strip().replace("_", ""))
    except InvalidOperation:
        raise Invalid(f"number {text!r} the reference cannot read") from None


def _decimals(value: Decimal) -> int:
    # Decimals of the value as a float64 holds it (how the tick is inferred).
    if not value.is_finite():
        return 0
    exponent = Decimal(repr(float(value))).normalize().as_tuple().exponent
    return max(0, -int(exponent))


def _timestamps(values: list[str]) -> list[int]:
    integer = re.compile(r"\s*[+-]?\d+\s*")
    first = values[0]
    if integer.fullmatch(first) and len(first.strip().lstrip("+-")) != 8:
        if not all(integer.fullmatch(value) for value in values):
            raise Invalid("mixed epoch and text timestamps")
        raw = [int(value) for value in values]
        biggest = max(abs(value) for value in raw)
        scale = (10**9 if biggest < 10**11 else 10**6 if biggest < 10**14
                 else 10**3 if biggest < 10**17 else 1)
        out = [value * scale for value in raw]
    else:
        out = []
        for value in values:
            try:
                moment = datetime.fromisoformat(value.strip())
            except ValueError:
                raise Invalid(f"bad timestamp {value!r}") from None
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
            out.append((delta.days * 86_400 + delta.seconds) * 10**9
                       + delta.microseconds * 1000)
    if any(abs(value) > _NS_LIMIT for value in out):
        raise Invalid("timestamp out of range")
    return out


def _quantize(value: Decimal, tick: Decimal) -> tuple[Decimal, bool]:
    """``value`` rounded half-even to ``tick``, and whether it was an exact half-tick."""
    units = value / tick
    rounded = units.to_integral_value(rounding=ROUND_HALF_EVEN)
    return rounded * tick, abs(units - units.to_integral_value(rounding="ROUND_FLOOR")) == \
        Decimal("0.5")


def reference(data: bytes) -> Expected:
    """The file as the documented rules read it; raises ``Invalid`` when a rule is broken."""
    with localcontext() as context:
        # Exact arithmetic for any float64 value: 1e308 to 8 decimals needs ~320 digits.
        context.prec = 1000
        context.Emax, context.Emin = 10_000, -10_000
        return _reference(data)


def _reference(data: bytes) -> Expected:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid("not UTF-8") from None
    try:
        rows = [row for row in csv.reader(io.StringIO(text, newline=""))
                if row and not (len(row) == 1 and not row[0].strip())]
    except csv.Error:
        raise Invalid("malformed CSV") from None
    if len(rows) < 2:
        raise Invalid("no header or no data rows")
    header = [_normalized(name) for name in rows[0]]
    roles: dict[str, int] = {}
    for k, name in enumerate(header):
        roles.setdefault(name, k)
    layout = {role: roles[role] for role in (*_PRICES, "volume") if role in roles}
    stamp = next((roles[a] for a in _TS_ALIASES if a in roles), None)
    adjusted: dict[str, int] = {}
    for name, k in roles.items():
        if name.startswith("adj"):
            role = re.sub(r"^(adjusted|adj)", "", name)
            if role not in (*_PRICES, "volume"):
                raise Invalid(f"unknown adjustment column {name!r}")
            adjusted.setdefault(role, k)
    if adjusted and "close" not in adjusted:
        raise Invalid("adjusted columns without an adjusted close")
    if stamp is None or any(role not in layout for role in _PRICES):
        raise Invalid("missing columns")
    body = rows[1:]
    if any(len(row) != len(header) for row in body):
        raise Invalid("wrong number of fields")

    def column(k: int | None) -> list[Decimal]:
        return [Decimal(0)] * len(body) if k is None else [_number(row[k]) for row in body]

    ts = _timestamps([row[stamp] for row in body])
    raw = {role: column(layout[role]) for role in _PRICES}
    volume = column(layout.get("volume"))
    _check_rows(raw, volume)
    if any(later <= earlier for earlier, later in itertools.pairwise(ts)):
        raise Invalid("duplicate or out-of-order timestamp")
    prices, volume, near_ties = _adjusted(raw, volume, adjusted, body)
    spacing = _check_spacing(ts)
    places = min(_MAX_DECIMALS, max(_decimals(v) for col in prices.values() for v in col))
    tick = Decimal(1).scaleb(-places)
    expected = Expected(ts, {}, [float(v) for v in volume], tick, spacing, near_ties)
    for role, col in prices.items():
        held = []
        for i, value in enumerate(col):
            rounded, tie = _quantize(value, tick)
            if tie:
                expected.ties.add((role, i))
            if rounded < tick:
                if not tie:
                    raise Invalid(f"{role} rounds to zero ticks")
                expected.may_reject = True
            if value * Decimal(10) ** places >= _LIMIT:
                raise Invalid(f"{role} too large")
            held.append(rounded)
        expected.prices[role] = held
    return expected


def _check_rows(prices: dict[str, list[Decimal]], volume: list[Decimal]) -> None:
    for col in prices.values():
        if any(not v.is_finite() or v <= 0 for v in col):
            raise Invalid("non-positive or non-finite price")
    if any(not v.is_finite() or v < 0 or v >= _LIMIT for v in volume):
        raise Invalid("bad volume")
    o, h, lo, c = (prices[role] for role in _PRICES)
    for i in range(len(o)):
        if h[i] < lo[i] or h[i] < max(o[i], c[i]) or lo[i] > min(o[i], c[i]):
            raise Invalid("high/low do not enclose open and close")


def _adjusted(raw: dict[str, list[Decimal]], volume: list[Decimal], adjusted: dict[str, int],
              body: list[list[str]]
              ) -> tuple[dict[str, list[Decimal]], list[Decimal], set[tuple[str, int]]]:
    """Adjusted prices and volume, and the (role, row) whose exact value lies within float
    error of a half unit (the platform computes in float64: either rounding is right)."""
    ties: set[tuple[str, int]] = set()
    if not adjusted:
        return raw, volume, ties
    adj = {role: [_number(row[k]) for row in body] for role, k in adjusted.items()}
    for role, col in adj.items():
        if role == "volume":
            if any(not v.is_finite() or v < 0 or v >= _LIMIT for v in col):
                raise Invalid("bad adjusted volume")
        elif any(not v.is_finite() or v <= 0 for v in col):
            raise Invalid("bad adjusted price")
    if all(role in adj for role in _PRICES):
        _check_rows({role: adj[role] for role in _PRICES}, [Decimal(0)] * len(body))
        prices = {role: adj[role] for role in _PRICES}
    else:
        places = max(_decimals(v) for col in (*raw.values(), adj["close"]) for v in col)
        quantum = Decimal(1).scaleb(-min(places, _MAX_DECIMALS))
        exact = {role: [v * a / c for v, a, c in zip(raw[role], adj["close"], raw["close"],
                                                     strict=True)]
                 for role in ("open", "high", "low")}
        exact["close"] = adj["close"]
        prices = {}
        for role, col in exact.items():
            prices[role] = [v.quantize(quantum, rounding=ROUND_HALF_EVEN) for v in col]
            for i, v in enumerate(col):
                units = v / quantum
                if abs(units - units.to_integral_value("ROUND_FLOOR") - Decimal("0.5")) \
                        <= abs(units) * Decimal("1e-13"):
                    ties.add((role, i))
        _check_rows(prices, [Decimal(0)] * len(body))
    return prices, adj.get("volume", volume), ties


def _check_spacing(ts: list[int]) -> int:
    if len(ts) < 2:
        raise Invalid("a single bar: no timeframe")
    gaps = sorted(later - earlier for earlier, later in itertools.pairwise(ts))
    median = gaps[(len(gaps) - 1) // 2]
    if median <= 0 or median % 10**9:
        raise Invalid("spacing not a whole number of seconds")
    return median


# --- judging ------------------------------------------------------------------------


def differences(expected: Expected, ts: Any, columns: dict[str, Any], volume: Any,
                tick: Decimal, *, stored: bool = False) -> str | None:
    """Why bars (numpy columns held at ``tick``) differ from the reference, or None.

    ``stored``: the bars come from the database, which holds volumes to at most 8 decimals
    (fewer where float64 has fewer to give): the volume tick.
    """
    if len(ts) != len(expected.ts):
        return f"{len(ts)} bars, the file has {len(expected.ts)}"
    if [int(v) for v in ts] != expected.ts:
        return "timestamps differ"
    for role in _PRICES:
        for i, value in enumerate(columns[role].tolist()):
            held, _ = _quantize(Decimal(repr(value)), tick)
            want, _ = _quantize(expected.prices[role][i], tick)
            tie = (role, i) in expected.ties and abs(held - want) <= tick
            if held != want and not tie:
                return f"{role} of bar {i + 1}: {held} instead of {want}"
    for i, (amount, wanted) in enumerate(zip(volume.tolist(), expected.volume, strict=True)):
        allowed = 5e-9 + 2 * math.ulp(wanted) if stored else 0.0
        if abs(amount - wanted) > allowed:
            return f"volume of bar {i + 1}: {amount!r} instead of {wanted!r}"
    return None


@dataclass
class Tally:
    runs: int = 0
    accepted: int = 0
    rejected: int = 0
    tracebacks: int = 0
    silently_wrong: int = 0
    false_rejections: int = 0
    partial_writes: int = 0
    examples: list[str] = field(default_factory=list)

    def note(self, kind: str, detail: str) -> None:
        setattr(self, kind, getattr(self, kind) + 1)
        if len(self.examples) < 8:
            self.examples.append(f"{kind}: {detail}")

    def figures(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "examples"}


def judge_loader(path: Path, data: bytes, tally: Tally) -> tuple[Expected | None, bool]:
    """Load in-process; returns (the reference's reading or None, loader accepted)."""
    from trading_strategy.core.errors import UserError
    from trading_strategy.market_data.files import load_bars

    tally.runs += 1
    try:
        expected: Expected | None = reference(data)
        why_invalid = ""
    except Invalid as exc:
        expected, why_invalid = None, str(exc)
    try:
        bars = load_bars(path).bars
    except UserError as exc:
        tally.rejected += 1
        if expected is not None and not expected.may_reject:
            tally.note("false_rejections", f"{path.name}: {exc}")
        return expected, False
    except Exception as exc:  # counting crashes is the point
        tally.note("tracebacks", f"{path.name}: {type(exc).__name__}: {exc}")
        return expected, False
    tally.accepted += 1
    if expected is None:
        tally.note("silently_wrong", f"{path.name}: accepted, but {why_invalid}")
        return None, True
    columns = {role: getattr(bars, role) for role in _PRICES}
    why = differences(expected, bars.ts, columns, bars.volume, bars.instrument.tick_size)
    if why is not None:
        tally.note("silently_wrong", f"{path.name}: {why}")
    return expected, True


def _clean_stderr(stderr: str) -> bool:
    lines = [line for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    others = [line for line in lines if not line.startswith(("error: ", "warning: "))]
    return not others and len(errors) <= 1


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_CLI, *args], capture_output=True, text=True, env=env, timeout=300,
                          check=False)


def judge_backtest(path: Path, expected: Expected | None, env: dict[str, str],
                   tally: Tally) -> None:
    tally.runs += 1
    done = _cli(["backtest", "--strategy", "sma_crossover", "--data", str(path), "--no-store",
                 "--allow-short-history", "--json", "-"], env)
    if done.returncode not in (0, 2) or not _clean_stderr(done.stderr):
        tally.note("tracebacks", f"{path.name}: exit {done.returncode}: {done.stderr[-300:]}")
        return
    if done.returncode == 2:
        tally.rejected += 1
        if expected is not None and not expected.may_reject:
            tally.note("false_rejections", f"{path.name}: {done.stderr.strip()}")
        return
    tally.accepted += 1
    try:
        report = json.loads(done.stdout)
    except ValueError:
        tally.note("tracebacks", f"{path.name}: --json - wrote no JSON")
        return
    if expected is None:
        tally.note("silently_wrong", f"{path.name}: backtest ran on an invalid file")
        return
    from trading_strategy.core.bars import format_ts

    frame = _frame(expected)
    seen = (report["data"]["bars"], report["data"]["start"], report["data"]["end"])
    want = (len(expected.ts), format_ts(expected.ts[0], frame), format_ts(expected.ts[-1], frame))
    if seen != want:
        tally.note("silently_wrong", f"{path.name}: backtest saw bars {seen}, the file has "
                                     f"{want}")


def judge_import(path: Path, base: Expected, expected: Expected | None, symbol: str,
                 url: str, env: dict[str, str], tally: Tally) -> None:
    """Import on top of the stored base file; compare what is stored afterwards."""
    from trading_strategy.core.timeframe import Timeframe
    from trading_strategy.market_data.validation import timeframe_for_spacing
    from trading_strategy.storage import open_store

    tally.runs += 1
    done = _cli(["data", "import", str(path), "--symbol", symbol], env)
    if done.returncode not in (0, 2) or not _clean_stderr(done.stderr):
        tally.note("tracebacks", f"{path.name}: exit {done.returncode}: {done.stderr[-300:]}")
    # (series timeframe, what it must hold)
    checks: list[tuple[Timeframe | None, Expected]] = [(_frame(base), base)]
    if done.returncode == 0:
        tally.accepted += 1
        if expected is None:
            tally.note("silently_wrong", f"{path.name}: imported an invalid file")
            return
        if expected.spacing == base.spacing:
            checks = [(_frame(base), _merged(base, expected))]
        else:  # another timeframe: a series of its own next to the untouched base
            checks.append((timeframe_for_spacing(expected.spacing), expected))
    else:
        tally.rejected += 1
        if done.returncode == 2 and expected is not None and not expected.may_reject:
            tally.note("false_rejections", f"{path.name}: {done.stderr.strip()}")
    with open_store(url=url) as store:
        stored_frames = store.bars.timeframes(symbol)
        for frame, want in checks:
            stored = store.bars.read_bars(symbol, frame)
            columns = {role: getattr(stored, role) for role in _PRICES}
            why = differences(want, stored.ts, columns, stored.volume,
                              stored.instrument.tick_size, stored=True)
            if why is not None:
                kind = "silently_wrong" if done.returncode == 0 else "partial_writes"
                tally.note(kind, f"{path.name} ({url.split(':')[0]}): {why}")
    if len(stored_frames) != len(checks):
        kind = "silently_wrong" if done.returncode == 0 else "partial_writes"
        tally.note(kind, f"{path.name}: stored timeframes {stored_frames}")


def _frame(expected: Expected) -> Any:
    from trading_strategy.market_data.validation import timeframe_for_spacing

    return timeframe_for_spacing(expected.spacing)


def _merged(base: Expected, new: Expected) -> Expected:
    rows = {t: (tuple(base.prices[r][i] for r in _PRICES), base.volume[i])
            for i, t in enumerate(base.ts)}
    ties = set()
    for i, t in enumerate(new.ts):
        rows[t] = (tuple(new.prices[r][i] for r in _PRICES), new.volume[i])
    order = sorted(rows)
    where = {t: k for k, t in enumerate(order)}
    for role, i in new.ties:
        ties.add((role, where[new.ts[i]]))
    return Expected(order, {r: [rows[t][0][k] for t in order] for k, r in enumerate(_PRICES)},
                    [rows[t][1] for t in order], min(base.tick, new.tick), base.spacing, ties)


# --- the campaign -------------------------------------------------------------------


def _postgres_database() -> tuple[str, Callable[[], None]] | None:
    try:
        import psycopg
    except ImportError:
        return None
    name = f"fuzz_csv_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres",
                             autocommit=True, connect_timeout=3) as admin:
            admin.execute(f"CREATE DATABASE {name}".encode())
    except psycopg.Error:
        return None

    def drop() -> None:
        with psycopg.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres",
                             autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)".encode())

    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", drop


def campaign(*, files: int, cli: int, seed: int, postgres: bool, time_limit: float,
             folder: Path) -> dict[str, Any]:
    from trading_strategy.market_data.files import load_bars
    from trading_strategy.storage import open_store

    started = time.perf_counter()
    rng = random.Random(seed)
    bases = base_files()
    base_expected = {name: reference(text.encode()) for name, text in bases.items()}
    loader = Tally()
    kinds: Counter[str] = Counter()
    cases: list[tuple[Path, str, Expected | None, bool]] = []
    for n in range(files):
        name = rng.choice(sorted(bases))
        data = mutate(rng, bases[name])
        path = folder / f"case{n:05d}_{name}"
        path.write_bytes(data)
        expected, accepted = judge_loader(path, data, loader)
        kinds["accepted" if accepted else "rejected"] += 1
        cases.append((path, name, expected, accepted))
    loader_seconds = time.perf_counter() - started

    # The CLI sample: half files the loader accepted (they reach the engine and the
    # database), half it rejected (they must leave everything as it was).
    picked_rng = random.Random(seed + 1)
    accepted_cases = [c for c in cases if c[3]]
    rejected_cases = [c for c in cases if not c[3]]
    half = cli // 2
    sample = (picked_rng.sample(accepted_cases, min(half, len(accepted_cases)))
              + picked_rng.sample(rejected_cases, min(cli - half, len(rejected_cases))))
    picked_rng.shuffle(sample)

    targets: list[tuple[str, str, Callable[[], None] | None]] = [
        ("sqlite", f"sqlite:///{folder / 'fuzz.sqlite3'}", None)]
    if postgres:
        made = _postgres_database()
        if made is None:
            print("PostgreSQL on 127.0.0.1:5432 not reachable: import runs on SQLite only")
        else:
            targets.append(("postgresql", made[0], made[1]))
    tallies = {"backtest": Tally(), **{f"import_{kind}": Tally() for kind, _, _ in targets}}
    out_of_time = False
    try:
        for _kind, url, _ in targets:
            with open_store(url=url):
                pass  # creates the schema before the CLI runs share the database
        for k, (path, name, expected, _) in enumerate(sample):
            if time.perf_counter() - started > time_limit:
                out_of_time = True
                break
            env = dict(os.environ, TRADING_STRATEGY_DATA_DIR=str(folder / "data"))
            env.pop("TRADING_STRATEGY_DATABASE_URL", None)
            judge_backtest(path, expected, env, tallies["backtest"])
            for kind, url, _ in targets:
                symbol = f"FZ{k}"
                base = load_bars(_base_path(folder, name, bases)).bars
                with open_store(url=url) as store:  # the unmutated file, already stored
                    store.bars.write_bars(replace(base.instrument, symbol=symbol),
                                          base.timeframe, base)
                judge_import(path, base_expected[name], expected, symbol, url,
                             dict(env, TRADING_STRATEGY_DATABASE_URL=url),
                             tallies[f"import_{kind}"])
    finally:
        for _, _, drop in targets:
            if drop is not None:
                drop()

    everything = [loader, *tallies.values()]
    return {
        "seed": seed,
        "files": files,
        "loader": loader.figures(),
        "loader_seconds": round(loader_seconds, 2),
        **{name: tally.figures() for name, tally in tallies.items()},
        "cli_runs": sum(t.runs for t in tallies.values()),
        "tracebacks": sum(t.tracebacks for t in everything),
        "silently_wrong": sum(t.silently_wrong for t in everything),
        "partial_writes": sum(t.partial_writes for t in everything),
        "false_rejections": sum(t.false_rejections for t in everything),
        "out_of_time": out_of_time,
        "seconds": round(time.perf_counter() - started, 1),
        "examples": [e for t in everything for e in t.examples][:12],
    }


def _base_path(folder: Path, name: str, bases: dict[str, str]) -> Path:
    path = folder / "base" / name
    if not path.exists():
        path.parent.mkdir(exist_ok=True)
        path.write_text(bases[name], encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=2000, help="mutated files (in-process)")
    parser.add_argument("--cli", type=int, default=30,
                        help="of them, files also run through each CLI command")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-pg", action="store_true", help="skip PostgreSQL imports")
    parser.add_argument("--time-limit", type=float, default=900.0,
                        help="stop starting CLI runs after this many seconds")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="fuzz-csv-") as tmp:
        figures = campaign(files=args.files, cli=args.cli, seed=args.seed,
                           postgres=not args.no_pg, time_limit=args.time_limit,
                           folder=Path(tmp))
    loader = figures["loader"]
    print(f"seed {figures['seed']}: {figures['files']} mutated files in "
          f"{figures['loader_seconds']} s in-process: {loader['accepted']} accepted, "
          f"{loader['rejected']} rejected")
    for name in ("loader", "backtest", "import_sqlite", "import_postgresql"):
        if name in figures:
            t = figures[name]
            print(f"  {name:18} runs {t['runs']:5}  accepted {t['accepted']:5}  rejected "
                  f"{t['rejected']:5}  tracebacks {t['tracebacks']}  silently wrong "
                  f"{t['silently_wrong']}  partial writes {t['partial_writes']}  false "
                  f"rejections {t['false_rejections']}")
    for example in figures["examples"]:
        print(f"  e.g. {example}")
    print(f"totals: tracebacks {figures['tracebacks']}, silently wrong "
          f"{figures['silently_wrong']}, partial writes {figures['partial_writes']} "
          f"({figures['seconds']} s{', out of time' if figures['out_of_time'] else ''})")
    print(json.dumps(figures, sort_keys=True))
    bad = figures["tracebacks"] + figures["silently_wrong"] + figures["partial_writes"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
