"""``trading-strategy strategies``: list strategies and their parameters."""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("strategies", help="list strategies and their parameters",
                                   description="List the strategies found (built-in and "
                                   "installed plug-ins) with their parameters.")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from trading_strategy.strategies import registry
    from trading_strategy.strategies.base import param_table

    listing: list[dict[str, Any]] = []
    for name in registry.available():
        cls = registry.get(name)
        listing.append({
            "name": name,
            "description": cls.description(),
            "params": [{"name": n, "type": t, "default": d, "description": desc}
                       for n, t, d, desc in param_table(cls.Params)],
        })
    if args.json:
        print(json.dumps(listing, indent=2))
        return 0
    for entry in listing:
        print(f"{entry['name']}: {entry['description']}")
        for p in entry["params"]:
            print(f"    {p['name']:<14} {p['type']:<6} default {p['default']:<8} "
                  f"{p['description']}")
        print()
    return 0
