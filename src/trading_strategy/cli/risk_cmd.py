"""``trading-strategy risk rearm``: an operator's request to lift a risk HALT.

The command appends a ``RearmRequest`` to ``DATA_DIR/risk/rearm-requests.jsonl``; a paper or
live session applies new requests when it starts and while it runs (``runtime.rearm``).
Backtests never need it: a halt in a backtest lasts to the end of the run.
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path
from typing import Any

from trading_strategy.cli.operator_args import actor, usage
from trading_strategy.core.errors import UserError

__all__ = ["register", "run_rearm"]

_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "risk", help="operator actions on the risk engine",
        description="Operator actions on the risk engine's trading state.")
    actions = parser.add_subparsers(dest="risk_action", metavar="ACTION",
                                    parser_class=type(parser))
    rearm = actions.add_parser(
        "rearm", help="lift a HALT of a paper or live session",
        description="Record an operator's request to re-arm a strategy or the portfolio "
        "after a max-drawdown HALT (or a reconciliation stop). The request is appended to "
        "DATA_DIR/risk/rearm-requests.jsonl; a session applies it when it starts and within "
        "a few hundred bars while it runs. Backtests need no re-arm: a halt lasts to the end "
        "of the run.")
    scope = rearm.add_mutually_exclusive_group(required=True)
    scope.add_argument("--strategy", metavar="NAME", help="re-arm this strategy")
    scope.add_argument("--portfolio", action="store_true", help="re-arm the whole portfolio")
    rearm.add_argument("--actor", default=None,
                       help="who asks (default: the login name); recorded in the audit trail")
    rearm.add_argument("--note", default="", help="why, for the audit trail")
    rearm.add_argument("--config", type=Path, default=None, metavar="FILE",
                       help="settings file (TOML), for data_dir")
    rearm.set_defaults(handler=run_rearm)
    parser.set_defaults(handler=lambda _args: usage(parser))


def run_rearm(args: argparse.Namespace) -> int:
    # imported here: `--help` and the other commands must not pay for the runtime
    from trading_strategy.config import load_settings
    from trading_strategy.risk.commands import RearmRequest
    from trading_strategy.runtime.rearm import record_rearm_request

    strategy: str | None = None if args.portfolio else args.strategy
    if strategy is not None and not _NAME.match(strategy):
        raise UserError(f"--strategy: {strategy!r} is not a strategy name (letters, digits, "
                        "'_', '.', '-')")
    settings = load_settings(args.config)
    # the wall clock is read here, at the edge; the engine itself never reads it
    request = RearmRequest(strategy, actor(args.actor), time.time_ns(), args.note)
    path = record_rearm_request(settings.data_dir, request)
    print(f"recorded: re-arm {request.scope_label}, requested by {request.actor}, in {path}")
    print("paper and live sessions apply it when they start, and within a few hundred bars "
          "while running. Backtests need no re-arm.")
    return 0
