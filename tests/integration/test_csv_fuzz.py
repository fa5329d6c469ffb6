"""A small seeded run of the CSV fuzz campaign (bench/fuzz_csv.py): zero tracebacks, zero
silently wrong results, zero partial writes.

Several hundred mutated files go through the loader in-process and about twenty through the
real CLI (backtest, data import on SQLite and, when 127.0.0.1:5432 answers, PostgreSQL).
The full campaign (2,000 files and more CLI runs) is ``python bench/fuzz_csv.py``; what
"silently wrong" means is defined in its docstring and in docs/data.md.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

_BENCH = Path(__file__).resolve().parents[2] / "bench" / "fuzz_csv.py"


def _fuzz() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fuzz_csv", _BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fuzz_csv"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def fuzz() -> ModuleType:
    return _fuzz()


def test_the_reference_reading_has_teeth(fuzz: ModuleType) -> None:
    """The judge itself: what the issue reported must count as invalid."""
    header = "timestamp,open,high,low,close,volume\n"
    good = header + "2024-01-02,10,11,9,10.5,100\n2024-01-03,10.5,12,10,11,200\n"
    assert len(fuzz.reference(good.encode()).ts) == 2
    for bad_row in ("2024-01-03,1e-9,1e-9,1e-9,1e-9,1\n", "2024-01-03,1e308,1e308,1e308,1e308,1\n",
                    "2024-01-03,10.5,12,10,11,1e300\n", "2024-01\n"):
        with pytest.raises(fuzz.Invalid):
            fuzz.reference((header + "2024-01-02,10,11,9,10.5,100\n" + bad_row).encode())


def test_mutated_csv_files_are_rejected_clearly_or_loaded_exactly(
        fuzz: ModuleType, tmp_path: Path) -> None:
    figures = fuzz.campaign(files=300, cli=7, seed=20261130, postgres=True,
                            time_limit=600.0, folder=tmp_path)
    summary = {key: figures[key] for key in ("tracebacks", "silently_wrong", "partial_writes")}
    assert summary == {"tracebacks": 0, "silently_wrong": 0, "partial_writes": 0}, \
        figures["examples"]
    assert figures["loader"]["runs"] == 300
    assert figures["loader"]["accepted"] > 30 and figures["loader"]["rejected"] > 100
    # Each sampled file ran through backtest and through data import on each database.
    assert figures["backtest"]["runs"] == 7
    assert figures["import_sqlite"]["runs"] == 7
    assert figures["cli_runs"] >= 14
