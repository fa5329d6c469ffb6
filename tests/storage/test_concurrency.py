"""Two processes read while a third imports: readers see before or after, never a part."""

from __future__ import annotations

import json
import subprocess
import sys
from types import SimpleNamespace

from trading_strategy.storage import Store

_BEFORE, _ADDED = 1_000, 300_000
_READER = """
import json, sys, time
from trading_strategy.storage import open_store
url, target = sys.argv[1], int(sys.argv[2])
seen = []
with open_store(url=url) as store:
    print("ready", flush=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        n = len(store.bars.read_bars("CONC", "1m"))
        seen.append([time.time(), n])
        if n == target:
            break
print(json.dumps(seen))
"""
_WRITER = """
import sys, time
import numpy as np
from decimal import Decimal
from trading_strategy.core.bars import BarSeries
from trading_strategy.core.instrument import Instrument
from trading_strategy.core.timeframe import Timeframe
from trading_strategy.storage import open_store
url, start, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ts = start + np.arange(n, dtype=np.int64) * 60_000_000_000
price = np.round(100 + np.sin(np.arange(n) / 50), 2)
inst = Instrument("CONC", tick_size=Decimal("0.01"))
bars = BarSeries(inst, Timeframe.parse("1m"), ts, price, price + 0.01, price - 0.01, price,
                 np.ones(n))
with open_store(url=url) as store:
    started = time.time()
    inserted = store.bars.write_bars(inst, "1m", bars).inserted
    print(started, time.time(), inserted)
"""


def test_readers_see_a_whole_import_or_none(kit: SimpleNamespace, store: Store,
                                            db_url: str) -> None:
    first = kit.random_bars(_BEFORE, symbol="CONC", start="2023-01-01T00:00:00Z")
    store.bars.write_bars(first.instrument, "1m", first)
    target = _BEFORE + _ADDED
    readers = [subprocess.Popen([sys.executable, "-c", _READER, db_url, str(target)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(2)]
    for reader in readers:
        assert reader.stdout is not None and reader.stdout.readline().strip() == "ready"
    writer = subprocess.run(
        [sys.executable, "-c", _WRITER, db_url, str(kit.ns("2024-01-01T00:00:00Z")),
         str(_ADDED)], capture_output=True, text=True, timeout=120)
    assert writer.returncode == 0, writer.stderr
    started, finished, inserted = writer.stdout.split()
    assert int(inserted) == _ADDED
    during = 0
    for reader in readers:
        out, err = reader.communicate(timeout=120)
        assert reader.returncode == 0, err
        seen = json.loads(out)
        assert {n for _, n in seen} <= {_BEFORE, target}, seen
        assert seen[-1][1] == target
        during += sum(float(started) < t < float(finished) for t, _ in seen)
    assert during > 0, "no read completed while the import was running"
