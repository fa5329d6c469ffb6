"""Config fuzz campaign: mutated settings files, environment variables, portfolio files and
file encodings through the real command line, counting what must never happen.

Run: ``.venv/bin/python bench/fuzz_config.py [--cases 600] [--seed 1] [--subprocess 24]
[--budget 600]``

Each case writes its files into a fresh folder and runs one command —
``config show``, ``backtest --risk-config``, ``run --config`` (a tiny GOOG portfolio of
about 40 bars) or ``db current`` — in-process through ``trading_strategy.cli.main`` (a
subprocess costs ~0.7 s of start-up), with the environment and working folder swapped for
the case. A seeded sample is run again as real subprocesses. Counted:

* **tracebacks**: an exception escaping ``main`` (in-process) or "Traceback" on stderr, an
  exit code other than 0/1/2, or a case exceeding its time limit;
* **silently accepted**: a value a correct program must refuse (drawn from the "nonsense"
  pool of its key) that exits 0;
* **rejected sane**: a sensible value refused (a false alarm; informative);
* **secret leaks**: a password or exchange secret of the case found in any output.

Nonsense is decided by the pools below, independently of the code under test. The last
line is one JSON object with the figures (target: 0 tracebacks, 0 silently accepted,
0 leaks).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SECRET = "Fz-s3cret-Pw"
INF, NAN = math.inf, math.nan
_ENV_PREFIX = "TRADING_STRATEGY_"
CASE_TIMEOUT_S = 60
TARGETS = ("config-show", "backtest", "run", "db-current")

# --- value pools: (sane values, nonsense values); a nonsense value may be limited to the
# targets it is nonsense for, as (value, {targets}) -------------------------------------
NUM_BAD: list[Any] = ["", "garbage", True, INF, -INF, NAN, 1e308, -1e308, [], {"a": 1}]
PCT = ([10, 50.5, 100], [*NUM_BAD, -5, 101])
MONEY = ([10_000, 2.5e5], ["garbage", True, -1, INF, NAN, [], {}])
COUNT = ([10, 100], [0.5, -1, True, "garbage", INF, 1e308, 10**30])

RISK_KEYS: dict[str, tuple[list[Any], list[Any]]] = {
    "max_position_pct": PCT, "max_drawdown_pct": PCT, "max_daily_loss_pct": PCT,
    "stop_loss_pct": ([2, 5], [*NUM_BAD, 0, -5, 101]),
    "price_collar_pct": ([5], [*NUM_BAD, -5]),
    "max_order_notional": MONEY, "max_gross_exposure": MONEY, "max_daily_loss": MONEY,
    "max_open_orders": COUNT, "max_orders_per_minute": COUNT,
    "atr_period": ([14, 20], [0, -3, 1.5, True, 10**30, "x"]),
    "max_leverage": ([1, 2.5], [0, -1, INF, NAN, "x", True]),
    "blocked_symbols": ([["MSFT"], "MSFT,AAPL"], [5, [1, 2], True, {}]),
    "tradable_symbols": ([["GOOG", "MSFT"]], [5, True, {}]),
    "day_calendar": (["XNYS", "24/7"], ["MARS", 5, ""]),
    "sizing_method": (["strategy"], ["yolo", 3]),
    "flatten_on_halt": ([True, False], ["maybe", 2, []]),
    "time_exit_after": (["3d"], ["soon", 5, "0d"]),
    "bogus_key": ([], [1]),
}

SETTINGS_KEYS: dict[str, tuple[list[Any], list[Any]]] = {
    "data_dir": (["{dir}/data2"], ["", "  ", 5, True, [], "x\u0000y"]),
    "database_url": ([""], ["mysql://u@h/db", "garbage", 5,
                            f"postgresql://u:{SECRET}@127.0.0.1:1/db"]),
    "log_format": (["json", "console"], ["xml", "", 1, True]),
    "timescale_compress_after": (["7 days"], ["soon", "", -1, "9999999 days"]),
    "exchange.sandbox": ([True], ["maybe", 2, []]),
    "exchange.api_url": (["https://api.example.com"], ["nope", 5]),
    "exchange.api_key": ([], [SECRET]),
    "bogus": ([], [1]),
    **{f"risk.{k}": v for k, v in RISK_KEYS.items()},
    "risk.strategies.sma_goog.max_position_pct": ([5], [INF, "garbage", -1]),
}

_DB = {"backtest", "run", "db-current"}  # targets that open the database
ENV_KEYS: dict[str, tuple[list[Any], list[Any]]] = {
    "DATA_DIR": (["{dir}/d"], ["", "   "]),
    "DATABASE_URL": (["", "sqlite:///{dir}/x.sqlite3"], [
        "garbage", f"mysql://u:{SECRET}@h/db", f"host=h password={SECRET}",
        (f"postgresql+psycopg://u:{SECRET}@127.0.0.1:1/db", _DB),
        (f"postgresql+psycopg://u@127.0.0.1:1/db?password={SECRET}", _DB),
        (f"postgresql://u:{SECRET}%40x@127.0.0.1:1/db", _DB),
        ("sqlite:///{dir}", _DB)]),
    "LOG_FORMAT": (["json"], ["xml", ""]),
    "RISK__MAX_POSITION_PCT": (["10", "60"], ["", "garbage", "inf", "nan", "1e308", "-5",
                                               "101", "true"]),
    "RISK__MAX_DRAWDOWN_PCT": (["40"], ["0x10", "NaN", "1e400", "-0.5"]),
    "RISK__BLOCKED_SYMBOLS": (["MSFT,AAPL", '["MSFT"]'], ["[1,", "{}", "[1, 2]"]),
    "RISK__ATR_PERIOD": (["14"], ["0", "1.5", "1e30", "x"]),
    "RISK__MAX_ORDER_NOTIONAL": (["100000"], ["-1", "NaN", "Infinity", "x"]),
    "RISK": ([], ["garbage", "{", "[]", "5"]),
    "RISK__STRATEGIES": ([], ["x", "[]"]),
    "RISK__STRATEGIES__SMA_GOOG__MAX_POSITION_PCT": (["5"], ["abc", "-1"]),
    "BOGUS": ([], ["1"]),
    "RISK_MAX_POSITION_PCT": ([], ["5"]),
    "CONFIG_FILE": ([], ["{dir}/missing.toml", "{dir}", "{dir}/binary.bin"]),
    "EXCHANGE__SANDBOX": (["false"], ["maybe"]),
    "EXCHANGE__API_URL": ([], ["x"]),
    "TIMESCALE_COMPRESS_AFTER": (["30 days"], ["soon"]),
}

_RUN = {"run"}
PORTFOLIO_KEYS: dict[str, tuple[list[Any], list[Any]]] = {
    "session.name": (["fz_{n}"], ["..", ".", "a/b", "", 5, "x" * 100, "../../etc"]),
    "session.speed": ([0, 1e6], [INF, NAN, -1, True, "fast", 1e-9, 1e308]),
    "session.start": (["2012-06-01"], ["2013-02-30", "garbage", "9999-01-01", 20120101,
                                       True]),
    "session.end": (["2012-09-01"], ["2012-01-01", "2012-13-01", "x"]),
    "session.window": ([], [(("2014-01-01", "2015-01-01"), _RUN)]),  # no GOOG bars then
    "session.metrics_port": ([0], [-1, 70000, True, 1.5, "80"]),
    "venue.kind": (["paper"], ["exchange", 1]),
    "venue.url": (["http://127.0.0.1:8765"], ["ftp://x", "http://[::1", 5]),
    "venue.commission": ([0.001, 0], [-0.1, 1, 5, INF, NAN, "0.1", True]),
    "venue.slippage_bps": ([2], [1e308, -1, INF, "2", True]),
    "venue.latency_ms": ([100], [1e20, 10**20, -1, 1.5, True, "5"]),
    "venue.db": (["{dir}/venue.sqlite3"], ["{dir}", "/etc/hostname/x.db", "",
                                            "{dir}/binary.bin"]),
    "strategies.0.name": (["sma_goog"], ["..", "", "a b"]),
    "strategies.0.strategy": (["sma_crossover"], [("nope", _RUN), "", 5]),
    "strategies.0.symbol": (["GOOG"], ["", ("NOPE_SYMBOL", _RUN), 5]),
    "strategies.0.capital": ([1000, 2.5e5], [1e308, 1e-30, 0, -5, "50000", True, INF, NAN]),
    "strategies.0.size": (["10", "all-in", "25%"], ["lots", "-5", "0", "150%", 5]),
    "strategies.0.timeframe": (["1d"], ["1x", 5, "0d"]),
    "strategies.0.params": ([{"fast": 5, "slow": 20}], [({"fast": "x"}, _RUN),
                                                         ({"bogus": 1}, _RUN)]),
    "strategies": ([], [[], "x", 5]),
    "bogus": ([], [1]),
    **{f"risk.{k}": v for k, v in RISK_KEYS.items()},
}

SETTINGS_BASE = {"log_format": "console", "risk": {"max_position_pct": 60}}


def portfolio_base(n: int) -> dict[str, Any]:
    return {
        "session": {"name": f"fz_{n}", "speed": 0, "start": "2012-06-01",
                    "end": "2012-08-01"},
        "venue": {"kind": "paper", "commission": 0.001, "slippage_bps": 2},
        "strategies": [{"name": "sma_goog", "strategy": "sma_crossover", "symbol": "GOOG",
                        "capital": 50000, "size": "10", "params": {"fast": 5, "slow": 20}}],
        "risk": {"max_position_pct": 60, "max_drawdown_pct": 40},
    }


# --- TOML writing (the fuzz must be able to write any value, valid or not) ---------------
def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def to_toml(data: dict[str, Any], prefix: str = "") -> str:
    lines, tables, arrays = [], [], []
    for key, value in data.items():
        if isinstance(value, dict) and value:
            tables.append((key, value))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            arrays.append((key, value))
        else:
            lines.append(f"{_key(key)} = {_toml_value(value)}")
    text = "\n".join(lines) + "\n"
    for key, value in tables:
        text += f"\n[{prefix}{_key(key)}]\n" + to_toml(value, f"{prefix}{_key(key)}.")
    for key, items in arrays:
        for item in items:
            text += f"\n[[{prefix}{_key(key)}]]\n" + to_toml(item, f"{prefix}{_key(key)}.")
    return text


def _set(data: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node: Any = data
    for part in parts[:-1]:
        if isinstance(node, list):
            node = node[int(part)]
        else:
            node = node.setdefault(part, {})
            if not isinstance(node, dict | list):
                return
    if isinstance(node, dict):
        node[parts[-1]] = value


# --- cases --------------------------------------------------------------------------------
@dataclass
class Case:
    n: int
    target: str
    family: str
    label: str
    #: True: must be refused; False: must be accepted; None: either is fine
    nonsense: bool | None
    env: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    argv: list[str] = field(default_factory=list)
    #: the case sets data_dir itself (else the campaign's folder is set by the environment,
    #: which would override the file's value)
    own_data_dir: bool = False


@dataclass
class Outcome:
    case: Case
    code: int | str  # exit code, "traceback" or "timeout"
    out: str
    err: str
    seconds: float
    trace: str = ""

    @property
    def crashed(self) -> bool:
        return self.code in ("traceback", "timeout") or self.code not in (0, 1, 2) \
            or "Traceback" in self.err

    @property
    def silently_accepted(self) -> bool:
        return self.case.nonsense is True and self.code == 0

    @property
    def rejected_sane(self) -> bool:
        return self.case.nonsense is False and self.code in (1, 2)

    @property
    def leaked(self) -> bool:
        text = self.out + self.err + self.trace
        return SECRET in text or SECRET.replace("-", "%2D") in text


def _pick(rng: random.Random, pools: tuple[list[Any], list[Any]],
          target: str) -> tuple[Any, bool]:
    sane, bad = pools
    if sane and (not bad or rng.random() < 0.3):
        return rng.choice(sane), False
    choice = rng.choice(bad)
    if isinstance(choice, tuple) and len(choice) == 2 and isinstance(choice[1], set):
        value, scope = choice
        return value, target in scope
    return choice, True


def _fill(value: Any, n: int) -> Any:
    if isinstance(value, str):
        return value.replace("{n}", str(n))
    return value


def _argv(target: str, config: str | None) -> list[str]:
    if target == "config-show":
        return ["config", "show", *(["--config", config] if config else [])]
    if target == "backtest":
        return ["backtest", "--strategy", "sma_crossover", "--data", "GOOG", "--quiet",
                "--allow-short-history", *(["--risk-config", config] if config else [])]
    if target == "run":
        return ["run", "--config", config or "{dir}/portfolio.toml", "--speed", "0",
                "--quiet"]
    return ["db", "current"]


def _corrupt(rng: random.Random, text: bytes) -> tuple[bytes, str, bool | None]:
    how = rng.choice(["latin1", "byte", "utf16", "bom", "truncate", "binary", "empty", "nul"])
    if how == "latin1":
        return text.replace(b'"', b'"caf\xe9', 1), how, True
    if how == "byte":
        at = rng.randrange(len(text) + 1)
        return text[:at] + bytes([rng.choice([0x80, 0xC3, 0xFF, 0xFE, 0x00])]) + text[at:], \
            how, True
    if how == "utf16":
        return text.decode().encode("utf-16"), how, True
    if how == "bom":
        return b"\xef\xbb\xbf" + text, how, None
    if how == "truncate":
        return text[: rng.randrange(len(text))], how, None
    if how == "binary":
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200))), how, True
    if how == "empty":
        return b"", how, None
    return text.replace(b"\n", b"\x00\n", 1), how, True


def generate(count: int, seed: int) -> list[Case]:
    """``count`` cases; the same seed gives the same cases."""
    rng = random.Random(seed)
    cases = []
    for n in range(count):
        family = rng.choices(["settings-file", "env", "portfolio", "encoding"],
                             weights=[3, 3, 4, 1])[0]
        portfolio = portfolio_base(n)
        files = {"portfolio.toml": to_toml(portfolio).encode(),
                 "binary.bin": bytes(range(256))}
        env: dict[str, str] = {"EXCHANGE__SECRET": SECRET}
        own_data_dir = False
        nonsense: bool | None
        if family == "settings-file":
            target = rng.choice(TARGETS)
            key = rng.choice(list(SETTINGS_KEYS))
            value, nonsense = _pick(rng, SETTINGS_KEYS[key], target)
            data = json.loads(json.dumps(SETTINGS_BASE))
            _set(data, key, value)
            files["settings.toml"] = to_toml(data).encode()
            if target in ("config-show", "backtest"):
                argv = _argv(target, "{dir}/settings.toml")
            else:
                env["CONFIG_FILE"] = "{dir}/settings.toml"
                argv = _argv(target, None)
            label = f"{key} = {_toml_value(value)[:40]}"
            own_data_dir = key == "data_dir"
        elif family == "env":
            target = rng.choice(TARGETS)
            key = rng.choice(list(ENV_KEYS))
            value, nonsense = _pick(rng, ENV_KEYS[key], target)
            env[key] = value
            argv = _argv(target, None)
            label = f"{_ENV_PREFIX}{key}={value!r}"[:70]
        elif family == "portfolio":
            target = rng.choice(["run", "run", "config-show", "backtest"])
            key = rng.choice(list(PORTFOLIO_KEYS))
            value, nonsense = _pick(rng, PORTFOLIO_KEYS[key], target)
            value = _fill(value, n)
            if key == "session.window":
                portfolio["session"]["start"], portfolio["session"]["end"] = value
            elif key == "strategies":
                portfolio["strategies"] = value
            else:
                _set(portfolio, key, value)
            files["portfolio.toml"] = to_toml(portfolio).encode()
            argv = _argv(target, "{dir}/portfolio.toml")
            label = f"portfolio {key} = {_toml_value(value)[:40]}"
        else:
            target = rng.choice(["run", "config-show", "backtest"])
            name = rng.choice(["portfolio.toml", "settings.toml"])
            base = files["portfolio.toml"] if name == "portfolio.toml" else \
                to_toml(SETTINGS_BASE).encode()
            files[name], how, nonsense = _corrupt(rng, base)
            if target == "run" and name == "settings.toml":
                env["CONFIG_FILE"] = "{dir}/settings.toml"
                argv = _argv(target, None)
            else:
                argv = _argv(target, f"{{dir}}/{name}")
            label = f"{name} {how}"
        cases.append(Case(n, target, family, label, nonsense,
                          {f"{_ENV_PREFIX}{k}": v for k, v in env.items()}, files, argv,
                          own_data_dir))
    return cases


# --- running ------------------------------------------------------------------------------
class _CaseTimeout(BaseException):
    """Raised by the alarm; a BaseException so no ``except Exception`` swallows it."""


def _alarm(_signum: int, _frame: Any) -> None:
    raise _CaseTimeout


def _materialise(case: Case, root: Path) -> tuple[Path, dict[str, str], list[str]]:
    folder = root / f"case{case.n:05d}"
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in case.files.items():
        (folder / name).write_bytes(content.replace(b"{dir}", os.fsencode(folder)))

    def fill(text: str) -> str:
        return text.replace("{dir}", str(folder)).replace("{n}", str(case.n))

    # the default data folder (XDG) stays inside the campaign's folder too
    env = {"XDG_DATA_HOME": str(root / "xdg"),
           **({} if case.own_data_dir else {f"{_ENV_PREFIX}DATA_DIR": str(root / "data")}),
           **{k: fill(v) for k, v in case.env.items()}}
    return folder, env, [fill(a) for a in case.argv]


@contextlib.contextmanager
def _swapped(env: dict[str, str], cwd: Path) -> Iterator[None]:
    saved, here = dict(os.environ), os.getcwd()
    for name in [n for n in os.environ if n.upper().startswith(_ENV_PREFIX)] + \
            ["XDG_DATA_HOME"]:
        os.environ.pop(name, None)
    os.environ.update(env)
    os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(here)
        os.environ.clear()
        os.environ.update(saved)


def run_in_process(case: Case, root: Path) -> Outcome:
    from trading_strategy.cli import main

    folder, env, argv = _materialise(case, root)
    out, err = io.StringIO(), io.StringIO()
    code: int | str
    trace = ""
    start = time.perf_counter()
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, CASE_TIMEOUT_S)
    try:
        with _swapped(env, folder), contextlib.redirect_stdout(out), \
                contextlib.redirect_stderr(err):
            code = main(argv)
    except SystemExit as exc:  # argparse
        code = exc.code if isinstance(exc.code, int) else 2
    except _CaseTimeout:
        code = "timeout"
    except BaseException:  # the very thing counted: anything escaping main
        code, trace = "traceback", traceback.format_exc()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return Outcome(case, code, out.getvalue(), err.getvalue(), time.perf_counter() - start,
                   trace)


def run_subprocess(case: Case, root: Path) -> Outcome:
    folder, env, argv = _materialise(case, root)
    full_env = {k: v for k, v in os.environ.items() if not k.upper().startswith(_ENV_PREFIX)}
    start = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, "-m", "trading_strategy.cli", *argv],
                              capture_output=True, text=True, errors="backslashreplace",
                              env={**full_env, **env}, cwd=folder, timeout=CASE_TIMEOUT_S,
                              check=False)
    except subprocess.TimeoutExpired:
        return Outcome(case, "timeout", "", "", time.perf_counter() - start)
    return Outcome(case, done.returncode, done.stdout, done.stderr,
                   time.perf_counter() - start)


# --- report -------------------------------------------------------------------------------
def _first_line(outcome: Outcome) -> str:
    if outcome.trace:
        return outcome.trace.strip().splitlines()[-1][:120]
    return (outcome.err.strip().splitlines() or [""])[-1][:120]


def summarise(outcomes: list[Outcome], sub: list[Outcome], seconds: float,
              seed: int) -> dict[str, Any]:
    everything = outcomes + sub
    by_target: dict[str, Counter[str]] = {}
    for o in outcomes:
        row = by_target.setdefault(o.case.target, Counter())
        row["cases"] += 1
        row["exit_0"] += o.code == 0
        row["refused"] += o.code in (1, 2)
        row["tracebacks"] += o.crashed
        row["silently_accepted"] += o.silently_accepted
    return {
        "benchmark": "fuzz_config",
        "seed": seed,
        "cases": len(everything),
        "in_process": len(outcomes),
        "subprocess": len(sub),
        "tracebacks": sum(o.crashed for o in everything),
        "timeouts": sum(o.code == "timeout" for o in everything),
        "silently_accepted": sum(o.silently_accepted for o in everything),
        "rejected_sane": sum(o.rejected_sane for o in everything),
        "secret_leaks": sum(o.leaked for o in everything),
        "subprocess_disagreements": 0,
        "seconds": round(seconds, 1),
        "by_target": {k: dict(v) for k, v in sorted(by_target.items())},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=600, help="in-process cases (600)")
    parser.add_argument("--subprocess", type=int, default=24,
                        help="of them, re-run as real subprocesses (24)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--budget", type=float, default=900,
                        help="stop starting new cases after this many seconds (900)")
    parser.add_argument("--show", type=int, default=8, help="examples shown per problem")
    args = parser.parse_args(argv)

    cases = generate(args.cases, args.seed)
    started = time.perf_counter()
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="fuzz-config-") as tmp:
        root = Path(tmp)
        for case in cases:
            if time.perf_counter() - started > args.budget:
                print(f"budget of {args.budget:.0f} s spent after {len(outcomes)} cases")
                break
            outcomes.append(run_in_process(case, root))
        rng = random.Random(args.seed + 1)
        sample = rng.sample(outcomes, min(args.subprocess, len(outcomes)))
        sub = [run_subprocess(o.case, root / "sub") for o in sample]
        disagreements = [(o, s) for o, s in zip(sample, sub, strict=True)
                         if o.code != s.code]
    seconds = time.perf_counter() - started
    figures = summarise(outcomes, sub, seconds, args.seed)
    figures["subprocess_disagreements"] = len(disagreements)

    print(f"config fuzz: {figures['cases']} cases ({figures['in_process']} in-process, "
          f"{figures['subprocess']} as subprocesses), seed {args.seed}, {seconds:.0f} s")
    print(f"{'target':<12} {'cases':>6} {'exit 0':>7} {'refused':>8} {'tracebacks':>11} "
          f"{'silently accepted':>18}")
    for target, row in figures["by_target"].items():
        print(f"{target:<12} {row.get('cases', 0):>6} {row.get('exit_0', 0):>7} "
              f"{row.get('refused', 0):>8} {row.get('tracebacks', 0):>11} "
              f"{row.get('silently_accepted', 0):>18}")
    families = Counter(o.case.family for o in outcomes)
    print("families: " + ", ".join(f"{k} {v}" for k, v in sorted(families.items())))
    problems: tuple[tuple[str, Callable[[Outcome], bool]], ...] = (
        ("tracebacks", lambda o: o.crashed),
        ("silently accepted nonsense", lambda o: o.silently_accepted),
        ("secret leaks", lambda o: o.leaked),
        ("sane values refused", lambda o: o.rejected_sane))
    for title, pick in problems:
        hits = [o for o in outcomes + sub if pick(o)]
        print(f"{title}: {len(hits)}")
        seen: set[str] = set()
        for o in hits:
            key = f"{o.case.target} {o.case.label}"
            if key in seen or len(seen) >= args.show:
                continue
            seen.add(key)
            print(f"  #{o.case.n} {key} -> {o.code}: {_first_line(o)}")
    for o, s in disagreements[: args.show]:
        print(f"  subprocess disagrees: #{o.case.n} {o.case.label}: in-process {o.code}, "
              f"subprocess {s.code}")
    print(json.dumps(figures, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
