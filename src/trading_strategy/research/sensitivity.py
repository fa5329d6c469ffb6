"""Fill-sensitivity: one backtest under optimistic, neutral and pessimistic execution.

A backtest's edge is believable only if it survives worse fills than the ones assumed. The
three scenarios change nothing but the execution knobs of ``BacktestSettings`` (the
strategy, its parameters, the data, the sizing and the risk settings stay as given):

* **optimistic** — frictionless: no commission, no slippage, no volume cap, and the
  shortest latency the engine allows (an order decided on a bar's close fills at the next
  bar's open: ``latency_bars=1``, ``latency_ms`` unset).
* **neutral** — the settings as given (the run the report shows).
* **pessimistic** — commission × 2 (every model: rate, per-unit fee and its minimum, fixed
  fee); slippage × 3 and at least 5 basis points (no slippage becomes 5 bps fixed; a fixed
  bps model takes the larger of 3 × and 5 bps; range and ATR models scale their fraction or
  multiple by 3); one more bar of latency (``latency_ms``, when set, grows by one bar's
  length instead); the volume cap as given.

An *edge* is a positive total return with a positive Sharpe ratio (or no Sharpe at all).
The verdict warns when the edge exists only under optimistic fills, and when the neutral
edge vanishes under pessimistic ones. The multiples are ``Assumptions`` fields.

Fills at the worse of a bar's open and close are not a scenario: the engine's market
orders fill at the open by one rule everywhere, and the extra bar of latency is the
pessimistic timing instead.
"""

from __future__ import annotations

import copy
import html
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from trading_strategy.backtesting.settings import BacktestSettings
from trading_strategy.core.errors import ConfigError
from trading_strategy.kernel.costs import (
    AtrSlippage,
    CommissionModel,
    FixedBpsSlippage,
    FixedCommission,
    NoSlippage,
    PercentCommission,
    PerUnitCommission,
    RangeSlippage,
    SlippageModel,
)
from trading_strategy.research import executors
from trading_strategy.research.trial import Trial

if TYPE_CHECKING:
    from trading_strategy.research.target import BacktestLike

SCENARIOS = ("optimistic", "neutral", "pessimistic")
#: the task parameter that names a scenario (no strategy parameter starts with "__")
_SCENARIO_KEY = "__scenario__"
#: from this many bars the three runs go to a process pool by default: below it a pool's
#: start-up and its copies of the data cost about what the second core saves (1M bars:
#: 3.1 s in this process, 3.5 s on two workers, on the shared 2-core machine)
_POOL_FROM_BARS = 2_000_000
#: the metrics each scenario reports, in the order of the summary's columns
METRICS = ("total_return", "sharpe", "max_drawdown", "trades", "win_rate")

CODES = ("robust", "fragile", "optimistic_only", "no_edge", "mixed", "error")


@dataclass(frozen=True, slots=True)
class Assumptions:
    """How far the pessimistic scenario moves from the settings as given."""

    commission_multiple: Decimal = Decimal(2)
    slippage_multiple: Decimal = Decimal(3)
    slippage_floor_bps: Decimal = Decimal(5)
    extra_latency_bars: int = 1

    def __post_init__(self) -> None:
        for name in ("commission_multiple", "slippage_multiple"):
            if Decimal(getattr(self, name)) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if Decimal(self.slippage_floor_bps) < 0:
            raise ConfigError(f"slippage_floor_bps must be >= 0, got {self.slippage_floor_bps}")
        if self.extra_latency_bars < 0:
            raise ConfigError(f"extra_latency_bars must be >= 0, got {self.extra_latency_bars}")

    def describe(self) -> dict[str, Any]:
        return {"optimistic": "no commission, no slippage, no volume cap, next-bar fills",
                "neutral": "the settings as given",
                "pessimistic": f"commission x{self.commission_multiple}, slippage "
                               f"x{self.slippage_multiple} (at least "
                               f"{self.slippage_floor_bps} bps), +{self.extra_latency_bars} "
                               f"bar latency"}


def _scaled_commission(model: CommissionModel, k: Decimal) -> CommissionModel:
    if isinstance(model, PercentCommission):
        # a rate must stay below 1 (100 % of notional): cap it just under
        return PercentCommission(min(model.rate * k, Decimal("0.5")))
    if isinstance(model, PerUnitCommission):
        return PerUnitCommission(model.per_unit * k, model.minimum * k)
    if isinstance(model, FixedCommission):
        return FixedCommission(model.per_order * k)
    raise ConfigError(f"fill sensitivity cannot scale the commission model {model!r}")


def _scaled_slippage(model: SlippageModel, k: Decimal, floor_bps: Decimal) -> SlippageModel:
    if isinstance(model, NoSlippage):
        return FixedBpsSlippage(floor_bps) if floor_bps > 0 else model
    if isinstance(model, FixedBpsSlippage):
        return FixedBpsSlippage(max(model.bps * k, floor_bps))
    if isinstance(model, RangeSlippage):
        return RangeSlippage(model.fraction * k)
    if isinstance(model, AtrSlippage):
        return AtrSlippage(model.multiple * k, model.period)
    raise ConfigError(f"fill sensitivity cannot scale the slippage model {model!r}")


def scenario_settings(settings: BacktestSettings, bar_ns: int,
                      assumptions: Assumptions = Assumptions()) -> dict[str, BacktestSettings]:
    """The three scenarios' settings; ``bar_ns`` is one bar's length in nanoseconds (the
    pessimistic extra latency when the latency is given in milliseconds)."""
    optimistic = replace(settings, commission=PercentCommission(Decimal(0)),
                         slippage=NoSlippage(), latency_bars=1, latency_ms=None,
                         volume_participation=None)
    extra = assumptions.extra_latency_bars
    latency: dict[str, Any] = (
        {"latency_bars": settings.latency_bars + extra} if settings.latency_ms is None
        else {"latency_ms": settings.latency_ms + extra * max(bar_ns // 1_000_000, 1)})
    pessimistic = replace(
        settings,
        commission=_scaled_commission(settings.commission,
                                      Decimal(assumptions.commission_multiple)),
        slippage=_scaled_slippage(settings.slippage, Decimal(assumptions.slippage_multiple),
                                  Decimal(assumptions.slippage_floor_bps)),
        **latency)
    return {"optimistic": optimistic, "neutral": settings, "pessimistic": pessimistic}


def describe_settings(settings: BacktestSettings) -> dict[str, Any]:
    """The execution knobs of ``settings`` as the JSON report states them."""
    vp = settings.volume_participation
    return {"commission": settings.commission.describe(),
            "slippage": settings.slippage.describe(),
            "latency_bars": settings.latency_bars, "latency_ms": settings.latency_ms,
            "volume_participation": None if vp is None else float(vp)}


class _Scenarios:
    """The backtest as the executors take it: one object shipped once to each worker,
    whose ``run`` picks the scenario's settings from a task parameter."""

    def __init__(self, backtest: BacktestLike, settings: Mapping[str, BacktestSettings]) -> None:
        self.backtest = backtest
        self.by_name = dict(settings)
        self.strategy = backtest.strategy
        self.settings = backtest.settings
        self.bars = backtest.bars
        self.allow_short_history = backtest.allow_short_history

    def run(self, **params: Any) -> Any:
        name = params.pop(_SCENARIO_KEY)
        part = copy.copy(self.backtest)
        part.settings = self.by_name[name]
        return part.run(**params)


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    settings: dict[str, Any]
    status: str  # a trial's: ok, invalid, error
    metrics: dict[str, float | int | None] = field(default_factory=dict)
    message: str = ""

    @property
    def has_edge(self) -> bool:
        if self.status != "ok":
            return False
        total, sharpe = self.metrics.get("total_return"), self.metrics.get("sharpe")
        return (isinstance(total, int | float) and total > 0
                and (sharpe is None or sharpe > 0))


@dataclass(frozen=True, slots=True)
class SensitivityResult:
    """The three scenarios, the verdict (``code``, ``warning``, ``message``) and their
    renderings: ``text()`` for a summary, ``to_dict()`` for the JSON report's
    ``sensitivity`` key, ``html()`` for a report section."""

    scenarios: dict[str, Scenario]
    assumptions: Assumptions
    code: str
    message: str

    @property
    def warning(self) -> bool:
        return self.code in ("fragile", "optimistic_only", "mixed", "error")

    def to_dict(self) -> dict[str, Any]:
        from trading_strategy.research.results import clean

        out: dict[str, Any] = clean({
            "assumptions": self.assumptions.describe(),
            "scenarios": {name: {"settings": s.settings, "status": s.status,
                                 "metrics": s.metrics, "message": s.message or None}
                          for name, s in self.scenarios.items()},
            "verdict": {"code": self.code, "warning": self.warning, "message": self.message},
        })
        return out

    def text(self) -> str:
        return text_block(self.to_dict())

    def html(self) -> str:
        return html_section(self.to_dict())


def _verdict(scenarios: Mapping[str, Scenario]) -> tuple[str, str]:
    opt, neu, pes = (scenarios[name] for name in SCENARIOS)
    failed = [s for s in (opt, neu, pes) if s.status != "ok"]
    if failed:
        return "error", "; ".join(f"the {s.name} run failed: {s.message or s.status}"
                                  for s in failed)

    def ret(s: Scenario) -> str:
        total = s.metrics.get("total_return")
        return f"{total:+.1%}" if isinstance(total, int | float) else "–"

    if neu.has_edge and pes.has_edge:
        return "robust", (f"the edge survives pessimistic fills: total return {ret(neu)} "
                          f"as given, {ret(pes)} pessimistic")
    if neu.has_edge:
        return "fragile", (f"the edge vanishes under pessimistic fills: total return "
                           f"{ret(neu)} as given, {ret(pes)} with worse costs and latency")
    if opt.has_edge and not pes.has_edge:
        return "optimistic_only", (f"the edge exists only under optimistic fills: total "
                                   f"return {ret(opt)} without costs, {ret(neu)} as given, "
                                   f"{ret(pes)} pessimistic")
    if opt.has_edge or pes.has_edge:
        return "mixed", (f"the result does not worsen with costs as expected (optimistic "
                         f"{ret(opt)}, as given {ret(neu)}, pessimistic {ret(pes)}): check "
                         f"the strategy's sensitivity to timing")
    return "no_edge", (f"no edge under any fill assumption (optimistic {ret(opt)}, as "
                       f"given {ret(neu)}, pessimistic {ret(pes)})")


def _stream(target: _Scenarios, tasks: list[tuple[int, dict[str, Any]]], workers: int | None,
            dask_scheduler: str | None) -> Iterator[Trial]:
    if dask_scheduler:
        return executors.run_dask(target, tasks, dask_scheduler)
    if workers is None:
        workers = (min(executors.default_workers(), len(tasks))
                   if len(target.bars) >= _POOL_FROM_BARS else 0)
    if workers < 0:
        raise ConfigError(f"workers must be at least 0, got {workers}")
    if workers <= 1:  # one worker process would only add its start-up
        return executors.run_inline(target, tasks)
    return executors.run_pool(target, tasks, min(workers, len(tasks)))


def fill_sensitivity(backtest: BacktestLike, params: Mapping[str, Any] | None = None, *,
                     assumptions: Assumptions = Assumptions(), workers: int | None = None,
                     dask_scheduler: str | None = None) -> SensitivityResult:
    """Run ``backtest`` at ``params`` under the three scenarios (see the module docstring).

    ``workers``: 0 or 1 runs them in this process, 2 or more in a process pool; None (the
    default) uses a pool of every core from 2,000,000 bars up. ``dask_scheduler``: a Dask
    cluster's address instead."""
    by_name = scenario_settings(backtest.settings, int(backtest.bars.timeframe.nanoseconds),
                                assumptions)
    target = _Scenarios(backtest, by_name)
    base = dict(params or {})
    tasks = [(i, {_SCENARIO_KEY: name, **base}) for i, name in enumerate(SCENARIOS)]
    trials = {SCENARIOS[t.index]: t for t in _stream(target, tasks, workers, dask_scheduler)}
    scenarios = {}
    for name in SCENARIOS:
        trial = trials[name]
        scenarios[name] = Scenario(
            name, describe_settings(by_name[name]), trial.status,
            {k: trial.stats.get(k) for k in METRICS} if trial.status == "ok" else {},
            trial.message)
    code, message = _verdict(scenarios)
    return SensitivityResult(scenarios, assumptions, code, message)


# --- renderings (of the JSON form, so a stored report renders without the run) ---------------
def _pct(value: Any) -> str:
    return f"{value:+.2%}" if isinstance(value, int | float) and math.isfinite(value) else "–"


def _cells(metrics: Mapping[str, Any]) -> list[str]:
    sharpe, dd = metrics.get("sharpe"), metrics.get("max_drawdown")
    win, trades = metrics.get("win_rate"), metrics.get("trades")
    return [_pct(metrics.get("total_return")),
            f"{sharpe:.2f}" if isinstance(sharpe, int | float) else "–",
            f"{-dd:.2%}" if isinstance(dd, int | float) else "–",
            str(trades) if trades is not None else "–",
            f"{win:.1%}" if isinstance(win, int | float) else "–"]


_HEAD = ("scenario", "total return", "Sharpe", "max drawdown", "trades", "win rate")


def text_block(data: Mapping[str, Any]) -> str:
    """The summary's block: a table of the scenarios, then the verdict."""
    rows = [list(_HEAD)]
    for name, s in data["scenarios"].items():
        rows.append([name, *_cells(s.get("metrics") or {})] if s.get("status") == "ok"
                    else [name, f"{s.get('status')}: {s.get('message') or ''}"])
    widths = [max(len(r[i]) for r in rows if i < len(r)) for i in range(len(_HEAD))]
    lines = ["Fill sensitivity:"]
    for r in rows:
        lines.append("  " + "  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i])
                                      for i, c in enumerate(r)).rstrip())
    for name, text in data["assumptions"].items():
        lines.append(f"  {name}: {text}")
    verdict = data["verdict"]
    lines.append(("  WARNING: " if verdict["warning"] else "  ") + verdict["message"])
    return "\n".join(lines)


def html_section(data: Mapping[str, Any]) -> str:
    """A ``<section>`` for the HTML report (its page's table, ``pos``/``neg`` and ``note``
    classes; inline style for the warning, so it also reads on a bare page)."""
    esc = html.escape
    head = "".join(f"<th>{esc(h)}</th>" for h in _HEAD)
    body = []
    for name, s in data["scenarios"].items():
        metrics = s.get("metrics") or {}
        if s.get("status") == "ok":
            total = metrics.get("total_return")
            sign = "pos" if isinstance(total, int | float) and total > 0 else "neg"
            cells = _cells(metrics)
            tds = (f'<td class="{sign}">{esc(cells[0])}</td>'
                   + "".join(f"<td>{esc(c)}</td>" for c in cells[1:]))
        else:
            tds = (f'<td colspan="{len(_HEAD) - 1}">{esc(str(s.get("status")))}: '
                   f"{esc(s.get('message') or '')}</td>")
        body.append(f"<tr><th>{esc(name)}</th>{tds}</tr>")
    notes = "".join(f"<li><b>{esc(k)}</b>: {esc(v)}</li>" for k, v in data["assumptions"].items())
    verdict = data["verdict"]
    style = ("border-left:4px solid #dc2626;padding:6px 10px;background:#fef2f2"
             if verdict["warning"] else "border-left:4px solid #15803d;padding:6px 10px")
    label = "Warning: " if verdict["warning"] else ""
    return (f'<section class="sensitivity"><h2>Fill sensitivity</h2>'
            f'<p style="{style}">{esc(label + verdict["message"])}</p>'
            f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
            f'<ul class="note">{notes}</ul></section>')
