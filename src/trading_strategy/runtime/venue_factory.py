"""The venue a portfolio file's ``[venue]`` section names: paper, paper-http or ccxt.

``build_venue`` is the one place a session turns the section into a ``Venue``:

* ``paper``: the in-process paper venue, filling with the kernel's models (the section's
  commission, its slippage model — ``bps``, ``range`` or ``atr`` — and latency), its state in
  ``db`` or the session folder;
* ``paper-http``: a client of ``trading-strategy paper-venue`` at ``url``;
* ``ccxt``: a real exchange account (``sandbox = true``: its testnet), keys from
  ``TRADING_STRATEGY_EXCHANGE__API_KEY`` / ``__SECRET`` only, ``url`` (when given) replacing
  its REST base. It refuses at start-up what it cannot do rather than failing on the first
  order: ``check_venue_can_trade`` names the strategy and the way out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path

from trading_strategy.core.errors import ConfigError
from trading_strategy.core.instrument import Instrument
from trading_strategy.kernel.sizing import SizeKind, SizeSpec
from trading_strategy.orders.venues.base import Venue
from trading_strategy.runtime.portfolio_config import StrategyEntry, VenueSection

__all__ = ["build_venue", "check_venue_can_trade"]


def check_venue_can_trade(section: VenueSection, strategies: Sequence[StrategyEntry]) -> None:
    """``ConfigError`` naming the first strategy the venue cannot serve.

    An all-in size is decided at the fill price from the cash available (a quote-quantity
    market buy at an exchange); the ccxt venue places base quantities only, so an all-in
    strategy would be sized on a price the exchange never fills at."""
    if section.kind != "ccxt":
        return
    for entry in strategies:
        if SizeSpec.parse(entry.size).kind is SizeKind.ALL_IN:
            raise ConfigError(
                f"strategy {entry.name}: size \"all-in\" needs a quote-quantity market buy, "
                f"which the ccxt venue ({section.exchange}) does not place; give it a fixed "
                "size (size = \"0.01\") or a share of equity (size = \"25%\")")


def build_venue(section: VenueSection, instruments: Mapping[str, Instrument], *,
                initial_cash: Mapping[str, Decimal], state_dir: Path,
                strategies: Sequence[StrategyEntry] = (),
                environ: Mapping[str, str] | None = None) -> Venue:
    """The section's venue for ``instruments`` (see the module docstring). ``initial_cash``:
    the paper venue's starting cash per currency; ``state_dir``: where it keeps its store
    unless ``db`` says otherwise; ``environ``: where a ccxt venue reads its keys (default:
    the process environment)."""
    check_venue_can_trade(section, strategies)
    if section.kind == "paper-http":
        from trading_strategy.orders.venues.paper_client import PaperVenueClient

        return PaperVenueClient(section.url)
    if section.kind == "ccxt":
        from trading_strategy.orders.venues.ccxt_venue import CcxtVenue, ExchangeCredentials

        credentials = ExchangeCredentials.from_env(environ)
        return CcxtVenue(list(instruments), credentials=credentials, sandbox=section.sandbox,
                         api_url=section.rest_url, name=section.exchange or "ccxt")
    from trading_strategy.orders.venues.paper import PaperVenue, PaperVenueConfig
    from trading_strategy.orders.venues.paper_store import PaperStore

    config = PaperVenueConfig(initial_cash=dict(initial_cash),
                              commission=section.commission_costs(),
                              slippage=section.slippage_model(),
                              latency_ms=section.latency_ms)
    store = PaperStore(Path(section.db) if section.db else state_dir / "paper-venue.sqlite3")
    return PaperVenue(instruments.values(), config=config, store=store)
