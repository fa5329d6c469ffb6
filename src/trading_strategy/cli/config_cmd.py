"""``trading-strategy config show``: the effective settings and where each value came from."""

from __future__ import annotations

import argparse
import json
from decimal import Decimal
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "config", help="show the effective settings",
        description="Inspect the settings: defaults, overridden by the TOML file, overridden "
        "by TRADING_STRATEGY_* environment variables.")
    actions = parser.add_subparsers(dest="config_action", metavar="ACTION",
                                    parser_class=type(parser))
    show = actions.add_parser(
        "show", help="effective risk settings and the source of each value",
        description="Print every risk limit in effect (per-strategy overrides included) and "
        "whether it is the default, comes from the file or from an environment variable. "
        "A database password is shown as ***.")
    show.add_argument("--config", type=Path, default=None, metavar="FILE",
                      help="settings file (TOML; default: $TRADING_STRATEGY_CONFIG_FILE)")
    show.add_argument("--json", action="store_true", help="machine-readable output")
    show.set_defaults(handler=run_show)
    parser.set_defaults(handler=lambda _args: _usage(parser))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _plain(value: Any) -> Any:
    """A JSON-friendly value: exact decimals as strings, paths as strings."""
    if isinstance(value, Decimal | Path):
        return str(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _text(value: Any) -> str:
    if value is None:
        return "off"
    if value == "":
        return '""'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "(none)"
    return str(value)


def run_show(args: argparse.Namespace) -> int:
    from trading_strategy.config import load_settings_report

    loaded = load_settings_report(args.config)
    portfolio = loaded.portfolio_file
    if args.json:
        print(json.dumps({
            "config_file": None if loaded.config_file is None else str(loaded.config_file),
            "portfolio_file": None if portfolio is None else str(portfolio),
            "values": [{"key": v.key, "value": _plain(v.value), "source": v.source.value,
                        "origin": v.origin or None} for v in loaded.values],
        }, indent=2))
        return 0
    print(f"config file: {loaded.config_file or '(none)'}")
    if portfolio is not None:
        print(f"portfolio file: {portfolio} (what `run --config {portfolio}` will use)")
    width = max(len(v.key) for v in loaded.values)
    texts = [_text(v.value) for v in loaded.values]
    value_width = min(max(len(t) for t in texts), 40)
    for item, text in zip(loaded.values, texts, strict=True):
        origin = f" ({item.origin})" if item.origin else ""
        print(f"{item.key:<{width}}  {text:<{value_width}}  {item.source.value}{origin}")
    return 0
