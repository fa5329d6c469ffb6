"""The parity matrix: a backtest and a paper session replayed over the same bars, with the
same settings, must produce the same orders, fills, cash and equity after every bar, and the
same strategy callbacks, to the smallest unit; a combination one refuses, both refuse.

The rows are generated (all pairs of: strategy × default size × commission model × slippage
model × risk setting × latency × data; see ``combos``), not hand-picked. Run
``python -m tests.integration.parity.summary`` for the failures grouped by first cause.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .combos import Combo, matrix, refusals
from .harness import DataSet, Problem, compare, run_both

COMBOS = matrix()


def _explain(combo: Combo, problems: list[Problem], data: DataSet) -> str:
    return (f"{combo.id}: the backtest and the paper session differ "
            f"({data.symbol} {data.start}..{data.end}; orders are labelled o0, o1, ... by the "
            "bar they were created on, then content; bars are indices into the window)\n"
            + "\n".join(p.text for p in problems))


@pytest.mark.parametrize("combo", COMBOS, ids=[c.id for c in COMBOS])
def test_a_paper_session_trades_exactly_like_the_backtest(
        combo: Combo, datasets: dict[str, DataSet], tmp_path: Path) -> None:
    data = datasets[combo.data]
    backtest, paper = run_both(combo, data, tmp_path)
    problems = compare(backtest, paper)
    if problems:
        pytest.fail(_explain(combo, problems, data), pytrace=False)


@pytest.mark.parametrize("combo", refusals(), ids=[c.id for c in refusals()])
def test_what_neither_mode_can_run_both_refuse_at_start_up(
        combo: Combo, datasets: dict[str, DataSet], tmp_path: Path) -> None:
    data = datasets[combo.data]
    backtest, paper = run_both(combo, data, tmp_path)
    problems = compare(backtest, paper)
    if problems:
        pytest.fail(_explain(combo, problems, data), pytrace=False)
    assert backtest.refused is not None and paper.refused is not None, \
        f"{combo.id} should be refused: backtest {backtest.summary()}, paper {paper.summary()}"
