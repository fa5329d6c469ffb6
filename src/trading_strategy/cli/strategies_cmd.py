"""``trading-strategy strategies``: list strategies and their parameters.

A plug-in whose entry point cannot be loaded is listed as broken with its error (and a
``warning:`` line on stderr) while the others are listed as usual; the command still
succeeds.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("strategies", help="list strategies and their parameters",
                                   description="List the strategies found (built-in and "
                                   "installed plug-ins) with their parameters. A plug-in that "
                                   "cannot be loaded is listed as broken, with its error.")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from trading_strategy.strategies import registry
    from trading_strategy.strategies.base import param_table

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", registry.BrokenStrategyWarning)
        found = registry.discover()
    for warning in caught:
        if issubclass(warning.category, registry.BrokenStrategyWarning):
            print(f"warning: {warning.message}", file=sys.stderr)
        else:  # not ours to swallow
            warnings.warn_explicit(warning.message, warning.category, warning.filename,
                                   warning.lineno)
    listing: list[dict[str, Any]] = []
    for entry in found:
        if entry.cls is None:
            listing.append({"name": entry.name, "description": "", "params": [],
                            "broken": True, "error": entry.error})
            continue
        listing.append({
            "name": entry.name,
            "description": entry.cls.description(),
            "params": [{"name": n, "type": t, "default": d, "description": desc}
                       for n, t, d, desc in param_table(entry.cls.Params)],
        })
    if args.json:
        print(json.dumps(listing, indent=2))
        return 0
    for item in listing:
        if item.get("broken"):
            print(f"{item['name']}: BROKEN, not loaded: {item['error']}")
            print()
            continue
        print(f"{item['name']}: {item['description']}")
        for p in item["params"]:
            print(f"    {p['name']:<14} {p['type']:<6} default {p['default']:<8} "
                  f"{p['description']}")
        print()
    return 0
