"""``trading-strategy paper-venue``: run the paper venue as a local HTTP + WebSocket server.

::

    trading-strategy paper-venue --symbols GOOG,BTCUSD:0.01:0.0001 --cash 100000

Each symbol is ``SYMBOL[:TICK[:LOT]]`` (tick 0.01 and lot 1 by default). The venue keeps its
state in its own SQLite file (``--db``, default ``<data_dir>/paper-venue.sqlite3``) and
resumes from it on restart; ``--cash`` seeds a new file only. Fill models follow the
backtester's (``--commission-rate``, ``--slippage-bps``, ``--latency-ms``,
``--volume-participation``). The API has no authentication: keep it on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import errno
import socket
import sys
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from trading_strategy.core.errors import ConfigError

DEFAULT_PORT = 8765


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "paper-venue", help="run the paper venue (simulated exchange) over HTTP + WebSocket",
        description=__doc__.split("\n\n")[0] if __doc__ else None)
    add_arguments(parser)
    parser.set_defaults(handler=run)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default "
                        "127.0.0.1; the API has no authentication)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"TCP port (default {DEFAULT_PORT})")
    parser.add_argument("--db", type=Path, default=None,
                        help="the venue's SQLite file (default <data_dir>/paper-venue.sqlite3)")
    parser.add_argument("--cash", default="100000", help="starting cash of a new venue")
    parser.add_argument("--currency", default="USD", help="currency of the cash and symbols")
    parser.add_argument("--symbols", default="GOOG",
                        help="comma-separated SYMBOL[:TICK[:LOT]] (default GOOG)")
    parser.add_argument("--commission-rate", default="0",
                        help="commission as a fraction of notional (0.001 = 0.1%%)")
    parser.add_argument("--slippage-bps", default="0", help="fixed slippage in basis points")
    parser.add_argument("--latency-ms", type=int, default=0,
                        help="market-time delay before an order is active (default 0)")
    parser.add_argument("--volume-participation", default=None,
                        help="at most this fraction of a bar's volume fills (0-1]")


def _decimal(name: str, text: str, *, positive: bool = False) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ConfigError(f"--{name}: not a number: {text!r}") from None
    if not value.is_finite() or value < 0 or (positive and value == 0):
        raise ConfigError(f"--{name}: must be {'> 0' if positive else '>= 0'}, got {text!r}")
    return value


def parse_instruments(spec: str, currency: str) -> list[Any]:
    """``GOOG,BTCUSD:0.01:0.0001`` → instruments (tick 0.01, lot 1 unless given)."""
    from trading_strategy.core.instrument import Instrument

    instruments = []
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        symbol, *rest = item.split(":")
        if len(rest) > 2 or not symbol:
            raise ConfigError(f"--symbols: {item!r} is not SYMBOL[:TICK[:LOT]]")
        tick = _decimal("symbols tick", rest[0], positive=True) if rest else Decimal("0.01")
        lot = _decimal("symbols lot", rest[1], positive=True) if len(rest) > 1 else Decimal(1)
        instruments.append(Instrument(symbol, tick_size=tick, lot_size=lot, currency=currency))
    if not instruments:
        raise ConfigError("--symbols: name at least one symbol, e.g. --symbols GOOG")
    return instruments


def _check_port(host: str, port: int) -> None:
    if not 0 < port < 65536:
        raise ConfigError(f"--port: must be 1-65535, got {port}")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            why = "is in use" if exc.errno == errno.EADDRINUSE else f"cannot be bound ({exc})"
            raise ConfigError(f"--port: {host}:{port} {why}; choose another --port") from None


def run(args: argparse.Namespace) -> int:
    import uvicorn
    from sqlalchemy.exc import SQLAlchemyError

    from trading_strategy.config import load_settings
    from trading_strategy.kernel.costs import FixedBpsSlippage, PercentCommission
    from trading_strategy.orders.venues.paper import PaperVenue, PaperVenueConfig
    from trading_strategy.orders.venues.paper_server import create_app
    from trading_strategy.orders.venues.paper_store import PaperStore, default_path

    instruments = parse_instruments(args.symbols, args.currency)
    vp = (None if args.volume_participation is None
          else _decimal("volume-participation", args.volume_participation, positive=True))
    config = PaperVenueConfig(
        initial_cash={args.currency: _decimal("cash", args.cash)},
        commission=PercentCommission(_decimal("commission-rate", args.commission_rate)),
        slippage=FixedBpsSlippage(_decimal("slippage-bps", args.slippage_bps)),
        latency_ms=args.latency_ms, volume_participation=vp)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: binding {args.host}: the paper venue API has no authentication",
              file=sys.stderr)
    _check_port(args.host, args.port)
    path = args.db or default_path(load_settings().data_dir)
    try:
        store = PaperStore(path)
        venue = PaperVenue(instruments, config=config, store=store)
    except (OSError, SQLAlchemyError) as exc:
        raise ConfigError(f"--db {path}: cannot be opened ({exc})") from None
    balances = ", ".join(f"{c} {a}" for c, a in venue.balances.items())
    print(f"paper venue on http://{args.host}:{args.port} state {path} "
          f"symbols {', '.join(venue.instruments)} cash {balances}", file=sys.stderr)
    uvicorn.run(create_app(venue), host=args.host, port=args.port, log_level="warning",
                ws="websockets-sansio")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command on its own (``python -m trading_strategy.cli.paper_venue_cmd``)."""
    from trading_strategy.core.errors import UserError

    parser = argparse.ArgumentParser(prog="trading-strategy paper-venue")
    add_arguments(parser)
    try:
        return run(parser.parse_args(argv))
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
