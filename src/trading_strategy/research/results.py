"""``SweepResult``: the trials of a search, the best one, the diagnostics and a verdict."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from trading_strategy.research import diagnostics as dg
from trading_strategy.research.grid import Constraint, Objective, ParamSpace
from trading_strategy.research.trial import Trial


def pbo_splits(rows: int, wanted: int = 16) -> int:
    """The largest even S <= ``wanted`` leaving at least 4 rows a block (2 when too few)."""
    s = wanted
    while s > 2 and rows // s < 4:
        s -= 2
    return s


class SweepResult:
    """What ``optimize`` returns: ``frame`` (a DataFrame, one row a trial), ``best``,
    ``heatmap(x, y)``, ``diagnostics`` and ``verdicts``, ``to_json``, ``to_html``."""

    def __init__(self, trials: Sequence[Trial], space: ParamSpace, objective: Objective,
                 constraints: Sequence[Constraint], *, method: str = "grid",
                 periods_per_year: float = 252.0) -> None:
        self.trials = list(trials)
        self.space = space
        self.objective = objective
        self.constraints = list(constraints)
        self.method = method
        self.periods_per_year = periods_per_year

    # --- scoring ------------------------------------------------------------------------
    def score(self, trial: Trial) -> float | None:
        """The objective of a trial that ran and meets every constraint, else None."""
        if trial.status != "ok" or not all(c.holds(trial.stats) for c in self.constraints):
            return None
        return self.objective.score(trial.stats)

    @cached_property
    def scored(self) -> list[tuple[Trial, float]]:
        out = []
        for trial in self.trials:
            value = self.score(trial)
            if value is not None:
                out.append((trial, value))
        return out

    @property
    def best(self) -> Trial | None:
        best: tuple[Trial, float] | None = None
        for trial, value in self.scored:
            if best is None or self.objective.better(value, best[1]):
                best = (trial, value)
        return best[0] if best else None

    @property
    def best_params(self) -> dict[str, Any] | None:
        best = self.best
        return dict(best.params) if best else None

    @property
    def counts(self) -> dict[str, int]:
        ok = [t for t in self.trials if t.status == "ok"]
        rejected = sum(1 for t in ok if not all(c.holds(t.stats) for c in self.constraints))
        return {"trials": len(self.trials), "ok": len(ok),
                "invalid": sum(1 for t in self.trials if t.status == "invalid"),
                "error": sum(1 for t in self.trials if t.status == "error"),
                "rejected": rejected, "scored": len(self.scored)}

    # --- tables -------------------------------------------------------------------------
    @cached_property
    def frame(self) -> Any:
        """One row a trial: the parameters, ``status``, ``score`` (None: not eligible),
        then every metric, then ``message``; best first."""
        import pandas as pd  # type: ignore[import-untyped, import-not-found, unused-ignore]

        rows = []
        for trial in self.trials:
            row: dict[str, Any] = dict(trial.params)
            row["status"] = trial.status
            row["score"] = self.score(trial)
            row.update(trial.stats)
            row["message"] = trial.message
            rows.append(row)
        frame = pd.DataFrame(rows)
        if not frame.empty:
            frame = frame.sort_values("score", ascending=not self.objective.maximize,
                                      na_position="last", kind="stable")
        return frame.reset_index(drop=True)

    def score_grid(self) -> np.ndarray[Any, Any]:
        """Scores on the space's grid (NaN where no eligible trial landed)."""
        dims = self.space.dimensions
        grid = np.full(tuple(len(d.values) for d in dims), np.nan)
        for trial, value in self.scored:
            at = []
            for d in dims:
                v = trial.params.get(d.name)
                if v in d.values:
                    at.append(d.values.index(v))
                elif isinstance(v, int | float) and all(isinstance(x, int | float)
                                                        for x in d.values):
                    at.append(int(np.argmin([abs(float(x) - float(v)) for x in d.values])))
                else:
                    break
            else:
                index = tuple(at)
                old = grid[index]
                if math.isnan(old) or self.objective.better(value, old):
                    grid[index] = value
        return grid

    def heatmap(self, x: str | None = None, y: str | None = None) -> Any:
        """A DataFrame of the objective over two parameters (``y`` rows, ``x`` columns),
        the best over any other parameter; NaN where no eligible trial."""
        import pandas as pd  # type: ignore[import-untyped, import-not-found, unused-ignore]

        names = list(self.space.names)
        if len(names) < 2:
            x, y = names[0], None
        x = x or names[0]
        y = y if y is not None or len(names) < 2 else next(n for n in names if n != x)
        frame = pd.DataFrame([{**t.params, "score": v} for t, v in self.scored],
                             columns=[*names, "score"])
        agg = "max" if self.objective.maximize else "min"
        if y is None:
            return frame.groupby(x)["score"].agg(agg).to_frame().T
        return frame.pivot_table(index=y, columns=x, values="score", aggfunc=agg)

    # --- diagnostics --------------------------------------------------------------------
    @cached_property
    def diagnostics(self) -> dict[str, Any]:
        """``dsr``, ``pbo``, ``bootstrap``, ``stability`` (each None when undefined)."""
        best = self.best
        out: dict[str, Any] = {"dsr": None, "pbo": None, "bootstrap": None,
                               "stability": dg.stability(self.score_grid(),
                                                         self.objective.maximize)}
        ran = [t for t in self.trials if t.status == "ok" and t.bar_moments]
        if best is not None and best.bar_moments and len(ran) >= 1:
            srs = np.array([t.bar_moments["sharpe"] for t in ran])
            m = best.bar_moments
            out["dsr"] = dg.deflated_sharpe_ratio(
                m["sharpe"], int(m["n"]), m["skew"], m["kurtosis"], n_trials=len(ran),
                sr_variance=float(srs.var(ddof=1)) if srs.size > 1 else 0.0)
        columns = [t.returns for t in self.trials if t.status == "ok" and t.returns]
        if len(columns) >= 2 and len({len(c) for c in columns}) == 1:
            matrix = np.array(columns, dtype=np.float64).T
            out["pbo"] = dg.pbo_cscv(matrix, pbo_splits(matrix.shape[0]))
        if best is not None:
            out["bootstrap"] = dg.bootstrap_trades(best.trade_returns)
        return out

    @property
    def verdicts(self) -> list[str]:
        """One plain sentence per diagnostic, then an overall one."""
        d = self.diagnostics
        if self.best is None:
            c = self.counts
            if c["ok"] == 0:
                first = next((t.message for t in self.trials if t.message), "")
                return [f"no trial ran ({c['invalid']} refused by the strategy's validation, "
                        f"{c['error']} failed{': ' + first if first else ''}): nothing to judge"]
            return ["no trial met the constraints: nothing to judge"]
        lines = [item.verdict() for item in (d["dsr"], d["pbo"], d["bootstrap"],
                                             d["stability"]) if item is not None]
        warn = []
        if d["dsr"] is not None and not (d["dsr"].dsr >= 0.95):
            warn.append("not significant after the number of trials")
        if d["pbo"] is not None and d["pbo"].pbo >= 0.5:
            warn.append("likely overfit (PBO >= 50%)")
        if d["bootstrap"] is not None and d["bootstrap"].total_return.low <= 0:
            warn.append("a loss is within the bootstrap interval")
        if d["stability"].verdict_word == "spike":
            warn.append("the optimum is a spike")
        lines.append("overall: " + ("treat the best parameters with suspicion: "
                                    + "; ".join(warn) if warn else
                                    "no sign of overfitting in these diagnostics"))
        return lines

    # --- outputs ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = self.diagnostics
        best = self.best
        return {
            "method": self.method, "objective": str(self.objective),
            "constraints": [str(c) for c in self.constraints],
            "params": {dim.name: list(dim.values) for dim in self.space.dimensions},
            "counts": self.counts,
            "best": None if best is None else {"params": best.params,
                                               "score": self.score(best),
                                               "stats": best.stats},
            "diagnostics": {
                "deflated_sharpe": None if d["dsr"] is None else {
                    "dsr": _num(d["dsr"].dsr), "sharpe_per_bar": d["dsr"].sr,
                    "expected_max_sharpe": d["dsr"].sr0, "trials": d["dsr"].n_trials,
                    "observations": d["dsr"].n_obs},
                "pbo": None if d["pbo"] is None else {"pbo": _num(d["pbo"].pbo),
                                                      "splits": d["pbo"].splits,
                                                      "combinations": len(d["pbo"].logits)},
                "bootstrap": None if d["bootstrap"] is None else d["bootstrap"].as_dict(),
                "stability": {"verdict": d["stability"].verdict_word,
                              "ratio": _num(d["stability"].ratio),
                              "neighbours": d["stability"].neighbours},
            },
            "verdicts": self.verdicts,
            "trials": [{"params": t.params, "status": t.status, "score": self.score(t),
                        "stats": t.stats, "message": t.message} for t in self.trials],
        }

    def to_json(self, path: str | os.PathLike[str] | None = None) -> str:
        text = json.dumps(clean(self.to_dict()), indent=2, default=str, allow_nan=False)
        if path is not None:
            Path(path).write_text(text + "\n", encoding="utf-8")
        return text

    def html(self, title: str = "Parameter search") -> str:
        from trading_strategy.research.report import render_sweep

        return render_sweep(self, title)

    def to_html(self, path: str | os.PathLike[str], title: str = "Parameter search") -> Path:
        target = Path(path)
        target.write_text(self.html(title), encoding="utf-8")
        return target

    def __repr__(self) -> str:
        c = self.counts
        return (f"<SweepResult {self.method} {self.objective}: {c['trials']} trials, "
                f"{c['scored']} scored, best {self.best_params}>")


def clean(value: Any) -> Any:
    """``value`` with every non-finite float as None (JSON has no NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    return value


def _num(value: float) -> float | None:
    return value if math.isfinite(value) else None
