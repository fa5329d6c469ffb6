"""``trading-strategy strategy pause|resume|stop|start``: an operator's control of one
strategy of a paper or live session.

The command appends a ``StrategyControl`` to ``DATA_DIR/risk/strategy-requests.jsonl``
(``runtime.rearm``, beside halt and re-arm requests); the session applies it within a bar
while it runs, or when it next starts, journals it as the strategy's state transition with
the actor, and keeps the state across restarts.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from trading_strategy.cli.operator_args import actor, usage
from trading_strategy.core.errors import UserError

__all__ = ["register", "run_control"]

#: each action and what it does, for the help
_ACTIONS = {
    "pause": "no more on_bar decisions; resting orders and protective exits stay live, "
             "risk still applies",
    "resume": "decisions again from the next bar",
    "stop": "on_stop called, open entry orders cancelled (protective exits of an open "
            "position kept), no more events until start",
    "start": "on_start called again; decisions from the next bar",
}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "strategy", help="pause, resume, stop or start a strategy of a running session",
        description="Operator controls of one strategy of a paper or live session. The "
        "request is appended to DATA_DIR/risk/strategy-requests.jsonl; the session applies "
        "it within a bar while it runs (or when it next starts) and keeps the state across "
        "restarts.")
    actions = parser.add_subparsers(dest="strategy_action", metavar="ACTION",
                                    parser_class=type(parser))
    for action, effect in _ACTIONS.items():
        sub = actions.add_parser(action, help=effect,
                                 description=f"{action.capitalize()} a strategy: {effect}.")
        sub.add_argument("--session", required=True, metavar="NAME",
                         help="the session's name ([session] name of its portfolio file)")
        sub.add_argument("--strategy", required=True, metavar="NAME",
                         help="the strategy's name in that session")
        sub.add_argument("--actor", default=None,
                         help="who asks (default: the login name); recorded in the audit "
                              "trail")
        sub.add_argument("--note", default="", help="why, for the audit trail")
        sub.add_argument("--config", type=Path, default=None, metavar="FILE",
                         help="settings file (TOML), for data_dir")
        sub.set_defaults(handler=run_control, control=action)
    parser.set_defaults(handler=lambda _args: usage(parser))


def run_control(args: argparse.Namespace) -> int:
    # imported here: `--help` and the other commands must not pay for the runtime
    from trading_strategy.config import load_settings
    from trading_strategy.risk.commands import StrategyControl
    from trading_strategy.runtime.portfolio_config import require_name
    from trading_strategy.runtime.rearm import read_strategy_states, record_control_request
    from trading_strategy.runtime.session import session_dir

    session = require_name(args.session)  # a ConfigError naming --session
    settings = load_settings(args.config)
    root = session_dir(settings.data_dir, session)
    if not (root / "session.json").is_file():
        raise UserError(f"--session: no session named {session!r} in {settings.data_dir} "
                        "(start it with `trading-strategy run --config FILE`)")
    known = read_strategy_states(root)
    if known and args.strategy not in known:
        raise UserError(f"--strategy: session {session} has no strategy {args.strategy!r} "
                        f"(it has {', '.join(sorted(known))})")
    # the wall clock is read here, at the edge; the session itself runs on market time
    request = StrategyControl(session, args.strategy, args.control, actor(args.actor),
                              time.time_ns(), args.note)
    path = record_control_request(settings.data_dir, request)
    print(f"recorded: {request.action} strategy {request.strategy} of session {session}, "
          f"requested by {request.actor}, in {path}")
    print(f"effect: {_ACTIONS[request.action]}. A running session applies it within a bar; "
          "a stopped one when it next starts.")
    return 0
