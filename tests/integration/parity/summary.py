"""Run the whole parity matrix and print the combinations that differ, grouped by the
first thing that differs (the table or the refusal), with each one's first differing rows.

    .venv/bin/python -m tests.integration.parity.summary [--only SUBSTRING] [--json PATH]
        [--mask STATUS ...]

``--mask accepted`` leaves ACCEPTED events out of the comparison (a known difference masked
to see the next one); ``--basic`` runs only the rows at the basic costs.

Run from the repository root. The last line is one JSON object of counts.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path

import structlog

from .combos import BASIC_COSTS, Combo, matrix, refusals
from .harness import DataSet, Problem, compare, dataset, run_both, write_gbm

BASIC = (BASIC_COSTS["commission"], BASIC_COSTS["slippage"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="run the combinations whose id has this")
    parser.add_argument("--json", type=Path, default=None, help="write every result here")
    parser.add_argument("--mask", action="append", default=[],
                        help="an order status whose events are not compared (repeatable)")
    parser.add_argument("--basic", action="store_true",
                        help="only the rows at the basic costs (percent commission, bps)")
    args = parser.parse_args(argv)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
    combos: list[Combo] = [c for c in [*matrix(), *refusals()] if args.only in c.id
                           and (not args.basic or (c.commission, c.slippage) == BASIC)]
    results: dict[str, list[Problem]] = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data: dict[str, DataSet] = {
            "goog": dataset("goog", "GOOG", after="2007-01-01"),
            "gbm": dataset("gbm", str(write_gbm(root / "gbm_1d.csv")))}
        for k, combo in enumerate(combos):
            backtest, paper = run_both(combo, data[combo.data], root / f"run{k}")
            results[combo.id] = compare(backtest, paper, mask=args.mask)
    elapsed = time.perf_counter() - started
    groups: dict[str, list[str]] = {}
    kinds: dict[str, int] = {}
    for cid, problems in results.items():
        if problems:
            groups.setdefault(problems[0].key, []).append(cid)
        for problem in problems:
            kinds[problem.key] = kinds.get(problem.key, 0) + 1
    print("# by the first difference (table[fields that differ in its first differing row])")
    for cause, ids in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        print(f"\n## {cause}: {len(ids)}")
        for cid in ids:
            print(f"- {cid}")
            for problem in results[cid]:
                print("    " + problem.text.replace("\n", "\n    "))
    print("\n# every difference, by kind (combinations showing it)")
    for key, count in sorted(kinds.items(), key=lambda kv: -kv[1]):
        print(f"{count:4d}  {key}")
    if args.json is not None:
        args.json.write_text(json.dumps({cid: [p.text for p in problems]
                                         for cid, problems in results.items()}, indent=1))
    failing = sum(1 for p in results.values() if p)
    print(json.dumps({"combinations": len(results), "agree": len(results) - failing,
                      "differ": failing, "seconds": round(elapsed, 1)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
