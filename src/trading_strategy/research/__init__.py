"""Research at scale: parameter searches (grid, random, Bayesian), walk-forward analysis
and the overfitting diagnostics every optimisation report shows. See docs/research.md."""

from trading_strategy.research.grid import Constraint, Objective, ParamSpace
from trading_strategy.research.results import SweepResult
from trading_strategy.research.sensitivity import SensitivityResult, fill_sensitivity
from trading_strategy.research.sweep import optimize
from trading_strategy.research.walk_forward import WalkForwardResult, walk_forward

__all__ = ["Constraint", "Objective", "ParamSpace", "SensitivityResult", "SweepResult",
           "WalkForwardResult", "fill_sensitivity", "optimize", "walk_forward"]
