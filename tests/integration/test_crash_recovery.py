"""kill -9 a paper session, restart it, and prove it ends exactly as an uninterrupted run.

The session journals every order event before acting on it and its paper venue keeps its own
durable state, so after each SIGKILL a restart rebuilds orders and positions from the journal,
reconciles with the venue (acknowledgements journaled, obligations carried out, missed fills
applied, unsent orders re-sent under the same client id once the replay passes their
decision) and resumes the replay.

"Exactly" is ``bench/crash_campaign.py``'s comparison, shared here: orders with their prices
and statuses, every order's complete journal event sequence, each strategy's timeline, fill
prices, cash and positions (ours and the venue's), every stop-loss/take-profit leg, acks with
venue order ids, no fill before its decision, and nothing left for ``reconcile`` to repair.
The campaign runs the same comparison over 50+ killed runs on SQLite and PostgreSQL; this test
keeps every injected window and a couple of random kills.
"""

from __future__ import annotations

import importlib.util
import os
import random
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest


def _campaign() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "bench" / "crash_campaign.py"
    spec = importlib.util.spec_from_file_location("crash_campaign", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("crash_campaign", module)
    spec.loader.exec_module(module)
    return module


cc = _campaign()

# windows in the reference run (see crash_campaign.default_windows): the 5th submit is an
# entry the venue had not seen; the 3rd ack a take-profit leg; fill 1 an entry whose
# stop-loss/take-profit must be placed, fills 2 and 5 exits whose sibling must be cancelled
WINDOWS = ["before_venue_submit:5", "after_venue_ack:3", "before_fill_journal:4",
           "after_fill_journal:1", "after_fill_journal:2", "after_fill_journal:5"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path, dict[str, Any]]:
    """One uninterrupted run to compare against (module-wide: it takes seconds)."""
    folder = tmp_path_factory.mktemp("crash")
    backend = cc.Backend("sqlite", folder / "data")
    config = cc.write_config(folder, "clean")
    printed = cc.run_to_end(config, backend)
    snap = cc.snapshot(backend, "clean", printed)
    assert snap["orders"], "the reference run placed no orders"
    assert any(o.endswith("-sl") for o in snap["orders"]), "no protective legs to test"
    return backend, folder, snap


def _assert_identical(backend: Any, config: Path, ref: dict[str, Any], printed: str) -> None:
    run = cc.snapshot(backend, config.stem, printed)
    assert cc.compare(ref, run) == []
    rec = cc.reconcile_json(config, backend)
    assert rec["clean"] is True and rec["repaired"] == 0, rec


@pytest.mark.slow
@pytest.mark.parametrize("crash_at", WINDOWS)
def test_a_kill_in_each_window_ends_exactly_as_an_uninterrupted_run(
        reference: tuple[Any, Path, dict[str, Any]], crash_at: str) -> None:
    backend, folder, ref = reference
    config = cc.write_config(folder, "w_" + crash_at.replace(":", "_"))
    assert cc.run_crashing_at(config, backend, crash_at), f"{crash_at} was never reached"
    printed = cc.run_to_end(config, backend)
    _assert_identical(backend, config, ref, printed)


@pytest.mark.slow
def test_kills_at_random_moments_end_exactly_as_an_uninterrupted_run(
        reference: tuple[Any, Path, dict[str, Any]]) -> None:
    backend, folder, ref = reference
    seed = int(os.environ.get("CRASH_TEST_SEED", "20261125"))
    rng = random.Random(seed)
    # kill moments inside a run: as long as a whole run takes here (start-up included), so
    # a faster runtime is still killed mid-session
    started = time.monotonic()
    cc.run_to_end(cc.write_config(folder, "timing"), backend)
    duration = time.monotonic() - started
    kills = 0
    for k in range(2):
        config = cc.write_config(folder, f"random_{k}")
        for _ in range(2):
            kills += cc.run_killed_after(config, backend, rng.uniform(0.2, 0.9 * duration))
        printed = cc.run_to_end(config, backend)
        _assert_identical(backend, config, ref, printed)
    assert kills >= 1, f"no run was killed mid-session (seed {seed})"


@pytest.fixture(scope="module")
def pg_reference(tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[tuple[Any, Path, dict[str, Any]]]:
    """The reference run on PostgreSQL (127.0.0.1:5432, a database of its own, dropped)."""
    import psycopg

    try:
        psycopg.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres",
                        connect_timeout=3).close()
    except psycopg.Error:
        pytest.skip("no PostgreSQL on 127.0.0.1:5432")
    folder = tmp_path_factory.mktemp("crash_pg")
    with cc.pg_database(cc._PG_DEFAULT) as url:
        backend = cc.Backend("postgresql", folder / "data", url)
        config = cc.write_config(folder, "clean")
        printed = cc.run_to_end(config, backend)
        yield backend, folder, cc.snapshot(backend, "clean", printed)


@pytest.mark.slow
@pytest.mark.parametrize("crash_at", ["before_venue_submit:5", "after_fill_journal:1"])
def test_on_postgresql_a_kill_ends_exactly_as_an_uninterrupted_run(
        pg_reference: tuple[Any, Path, dict[str, Any]], crash_at: str) -> None:
    backend, folder, ref = pg_reference
    config = cc.write_config(folder, "pg_" + crash_at.replace(":", "_"))
    assert cc.run_crashing_at(config, backend, crash_at), f"{crash_at} was never reached"
    printed = cc.run_to_end(config, backend)
    _assert_identical(backend, config, ref, printed)
