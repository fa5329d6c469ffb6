"""The ``trading-strategy`` command line.

Each sub-command lives in its own module exposing ``register(subparsers)``, which adds a
parser whose ``handler`` default is a function ``(args) -> int``. User errors
(``core.errors.UserError``) print one line on stderr and exit 2; no traceback reaches the user.
Other errors of the package's tree print one line too and exit 1: a strategy's own exception
(``StrategyError``) names the file and line of the strategy's code that raised it. The global
``--debug`` option (before the command: ``trading-strategy --debug backtest ...``) prints the
full traceback above that line. Every error message is scrubbed of secrets on the way out
(``_scrub``), whatever raised it, the traceback included.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

from trading_strategy.core.errors import TradingStrategyError, UserError, redact_secrets

#: sub-command modules, in help order; each must define ``register``.
COMMAND_MODULES = (
    "trading_strategy.cli.strategies_cmd",
    "trading_strategy.cli.backtest_cmd",
    "trading_strategy.cli.optimize_cmd",
    "trading_strategy.cli.walk_forward_cmd",
    "trading_strategy.cli.data_cmd",
    "trading_strategy.cli.runs_cmd",
    "trading_strategy.cli.db_cmd",
    "trading_strategy.cli.config_cmd",
    "trading_strategy.cli.risk_cmd",
    "trading_strategy.cli.strategy_ctl_cmd",
    "trading_strategy.cli.live_cmd",
    "trading_strategy.cli.paper_venue_cmd",
    "trading_strategy.cli.serve_cmd",
)


#: the module of each command, so that running one imports only its module (the others
#: may import heavy packages at their top); help and unknown commands import them all
_MODULE_OF = {
    "strategies": "trading_strategy.cli.strategies_cmd",
    "backtest": "trading_strategy.cli.backtest_cmd",
    "data": "trading_strategy.cli.data_cmd",
    "runs": "trading_strategy.cli.runs_cmd",
    "db": "trading_strategy.cli.db_cmd",
    "config": "trading_strategy.cli.config_cmd",
    "risk": "trading_strategy.cli.risk_cmd",
    "strategy": "trading_strategy.cli.strategy_ctl_cmd",
    "run": "trading_strategy.cli.live_cmd",
    "reconcile": "trading_strategy.cli.live_cmd",
    "status": "trading_strategy.cli.live_cmd",
    "audit": "trading_strategy.cli.live_cmd",
    "paper-venue": "trading_strategy.cli.paper_venue_cmd",
    "serve": "trading_strategy.cli.serve_cmd",
}


#: the top level's options without a value, skipped to find the command
_GLOBAL_FLAGS = ("--debug",)


def _command_modules(argv: Sequence[str] | None) -> tuple[str, ...]:
    """The command modules the parser needs for ``argv``: the named command's alone when
    the first argument names one (options of the top level come before it)."""
    args = sys.argv[1:] if argv is None else list(argv)
    # global options that take no value may come before the command
    while args and args[0] in _GLOBAL_FLAGS:
        args = args[1:]
    first = args[0] if args else ""
    module = _MODULE_OF.get(first)
    return (module,) if module in COMMAND_MODULES else COMMAND_MODULES


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser(argv: Sequence[str] | None = ()) -> argparse.ArgumentParser:
    """The parser; for ``argv`` naming a command, with that command's sub-parser only
    (``()``, the default: every command)."""
    modules = COMMAND_MODULES if argv == () else _command_modules(argv)
    parser = _Parser(
        prog="trading-strategy",
        description="Develop, backtest and run algorithmic trading strategies.",
    )
    parser.add_argument("--debug", action="store_true",
                        help="on an error, print the full traceback above the one-line "
                        "message (e.g. where in a strategy it raised)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # not written yet in this checkout
                continue
            raise
        module.register(subparsers)
    return parser


def _scrub(message: str) -> str:
    """``message`` without secrets: URL and ``password=`` forms masked, and any secret value
    the environment holds replaced wherever it appears (a driver may echo it bare)."""
    from trading_strategy.config import secret_values

    message = redact_secrets(message)
    for secret in secret_values():
        message = message.replace(secret, "***")
    return message


def _say_error(exc: BaseException, *, debug: bool = False) -> None:
    text = f"error: {_scrub(str(exc))}\n"
    if debug:
        import traceback

        text = _scrub("".join(traceback.format_exception(exc))) + text
    # a file name or variable may hold bytes that are not valid in the terminal's encoding
    encoding = getattr(sys.stderr, "encoding", None) or "utf-8"
    sys.stderr.write(text.encode(encoding, "backslashreplace").decode(encoding))


def _tolerant_output() -> None:
    """Paths and values from the environment may hold undecodable bytes (surrogates):
    print them escaped rather than fail half-way through the output."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser(sys.argv[1:] if argv is None else argv)
    return _run(parser, parser.parse_args(argv))


def console() -> NoReturn:
    """The ``trading-strategy`` program: ``main`` on the process's arguments, then the exit;
    a one-shot command (``quick_exit``) ends without the interpreter's teardown
    (``process_end``). Tests and notebooks call ``main``, which never exits."""
    parser = build_parser(sys.argv[1:])
    args = parser.parse_args()
    args.own_process = True  # the process is this command's alone (cli.store_process)
    code = _run(parser, args)
    if getattr(args, "quick_exit", False):
        from trading_strategy.cli.process_end import end_process

        end_process(code)
    sys.exit(code)


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    _tolerant_output()
    debug = bool(getattr(args, "debug", False))
    try:
        return int(handler(args))
    except UserError as exc:
        _say_error(exc, debug=debug)
        return 2
    except TradingStrategyError as exc:
        _say_error(exc, debug=debug)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    console()
