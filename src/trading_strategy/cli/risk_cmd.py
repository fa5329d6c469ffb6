"""``trading-strategy risk rearm``: an operator's request to lift a risk HALT.

No live runtime exists yet, so nothing can be re-armed directly: the command appends a
``RearmRequest`` to ``DATA_DIR/risk/rearm-requests.jsonl``, which the runtime will read and
apply with ``RiskEngine.rearm`` (``read_rearm_requests`` decodes the file). Backtests never
need it: a halt in a backtest lasts to the end of the run.
"""

from __future__ import annotations

import argparse
import getpass
import re
import time
from pathlib import Path
from typing import Any

from trading_strategy.core.errors import ConfigError, UserError
from trading_strategy.risk.commands import RearmRequest

#: where re-arm requests wait, relative to the data folder
REARM_REQUESTS = Path("risk") / "rearm-requests.jsonl"
_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "risk", help="operator actions on the risk engine",
        description="Operator actions on the risk engine's trading state.")
    actions = parser.add_subparsers(dest="risk_action", metavar="ACTION",
                                    parser_class=type(parser))
    rearm = actions.add_parser(
        "rearm", help="request lifting a HALT (recorded for the live runtime)",
        description="Record an operator's request to re-arm a strategy or the portfolio "
        "after a max-drawdown HALT. There is no live runtime yet: the request is appended to "
        "DATA_DIR/risk/rearm-requests.jsonl and takes effect only when a running engine "
        "reads it. Backtests need no re-arm: a halt lasts to the end of the run.")
    scope = rearm.add_mutually_exclusive_group(required=True)
    scope.add_argument("--strategy", metavar="NAME", help="re-arm this strategy")
    scope.add_argument("--portfolio", action="store_true", help="re-arm the whole portfolio")
    rearm.add_argument("--actor", default=None,
                       help="who asks (default: the login name); recorded in the audit trail")
    rearm.add_argument("--note", default="", help="why, for the audit trail")
    rearm.add_argument("--config", type=Path, default=None, metavar="FILE",
                       help="settings file (TOML), for data_dir")
    rearm.set_defaults(handler=run_rearm)
    parser.set_defaults(handler=lambda _args: _usage(parser))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def rearm_requests_path(data_dir: Path) -> Path:
    return data_dir / REARM_REQUESTS


def record_rearm_request(data_dir: Path, request: RearmRequest) -> Path:
    """Append ``request`` to the data folder's request file; returns the file's path."""
    path = rearm_requests_path(data_dir)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(request.to_json() + "\n")
    except OSError as exc:
        raise ConfigError(f"data_dir: cannot write {path} ({exc.strerror})") from None
    return path


def read_rearm_requests(data_dir: Path) -> list[RearmRequest]:
    """Every recorded request, oldest first (for the runtime; it tracks which it applied)."""
    path = rearm_requests_path(data_dir)
    if not path.exists():
        return []
    requests = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            requests.append(RearmRequest.from_json(line))
        except ValueError as exc:
            raise ConfigError(f"{path}:{number}: {exc}") from None
    return requests


def _actor(given: str | None) -> str:
    if given:
        return given
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in containers without a passwd entry
        return "operator"


def run_rearm(args: argparse.Namespace) -> int:
    from trading_strategy.config import load_settings

    strategy: str | None = None if args.portfolio else args.strategy
    if strategy is not None and not _NAME.match(strategy):
        raise UserError(f"--strategy: {strategy!r} is not a strategy name (letters, digits, "
                        "'_', '.', '-')")
    settings = load_settings(args.config)
    # the wall clock is read here, at the edge; the engine itself never reads it
    request = RearmRequest(strategy, _actor(args.actor), time.time_ns(), args.note)
    path = record_rearm_request(settings.data_dir, request)
    print(f"recorded: re-arm {request.scope_label}, requested by {request.actor}, in {path}")
    print("note: no live runtime exists yet; a running engine will apply the request when "
          "it reads that file. Backtests need no re-arm.")
    return 0
