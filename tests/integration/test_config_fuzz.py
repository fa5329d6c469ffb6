"""A seeded sample of the config fuzz campaign (bench/fuzz_config.py): mutated settings
files, environment variables, portfolio files and encodings through the real command line.
Any traceback, nonsense accepted with exit 0, or leaked secret fails the test; the full
campaign (600 cases) is ``.venv/bin/python bench/fuzz_config.py``."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

_BENCH = Path(__file__).resolve().parents[2] / "bench" / "fuzz_config.py"


def _campaign() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fuzz_config", _BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


fuzz = _campaign()
# runs are the slow cases (~1 s each): the sample keeps a few, the rest are cheap
_CASES = [c for c in fuzz.generate(400, seed=20261130) if c.target != "run"][:52] + \
    [c for c in fuzz.generate(400, seed=20261130) if c.target == "run"][:8]


def test_the_sample_covers_every_family_and_target() -> None:
    assert {c.family for c in _CASES} == {"settings-file", "env", "portfolio", "encoding"}
    assert {c.target for c in _CASES} == set(fuzz.TARGETS)
    assert sum(c.nonsense is True for c in _CASES) >= 30


@pytest.mark.parametrize("case", _CASES, ids=lambda c: f"{c.n}-{c.target}-{c.family}")
def test_fuzz_case(case: object, tmp_path: Path) -> None:
    outcome = fuzz.run_in_process(case, tmp_path)
    shown = f"{outcome.case.label} -> {outcome.code}\n{outcome.trace or outcome.err}"
    assert not outcome.crashed, shown
    assert not outcome.silently_accepted, shown
    assert not outcome.leaked, shown
    if outcome.code in (1, 2):
        # refused with one error line (a settings error may list several problems, one each)
        assert outcome.err.startswith("error: "), shown


def test_a_subprocess_sample_agrees(tmp_path: Path) -> None:
    for case in (_CASES[0], _CASES[-1]):
        outcome = fuzz.run_subprocess(case, tmp_path)
        assert not outcome.crashed and not outcome.leaked, outcome.err
        assert outcome.code == fuzz.run_in_process(case, tmp_path / "again").code
