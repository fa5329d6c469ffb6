"""Live protections (issue 10): ATR stops, trailing stops, time exits and volatility-target
sizing with an ATR stop protect a paper session's entries at the same prices and bars as the
backtest of the same bars and settings — both run the kernel's gate and protections."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from trading_strategy.backtesting.runner import BacktestResult, run_backtest
from trading_strategy.backtesting.settings import BacktestSettings
from trading_strategy.core.bars import BarSeries
from trading_strategy.core.enums import OrderStatus, OrderType
from trading_strategy.kernel import costs
from trading_strategy.kernel.sizing import SizeSpec
from trading_strategy.orders.journal import InMemoryJournal
from trading_strategy.risk import RiskSettings
from trading_strategy.runtime.portfolio_config import parse_portfolio
from trading_strategy.runtime.session import PaperSession
from trading_strategy.strategies import registry
from trading_strategy.strategies.context import Context
from trading_strategy.testing import make_bars, scripted

# a quiet start (the ATR warms up), a rise a trailing stop follows, a slide through it,
# then a second entry that is held flat until a time exit or falls through an ATR stop
_CLOSE = [100, 101, 100, 101, 102, 104, 107, 110, 113, 115, 114, 111, 107, 103, 100, 99,
          100, 101, 100, 101, 101, 100, 98, 95, 92, 90, 91, 92, 93, 94]
_BARS = make_bars(_CLOSE, high=[c + 1.5 for c in _CLOSE], low=[c - 1.5 for c in _CLOSE],
                  symbol="PROT")
_CAPITAL = 100_000


def _on_bar(ctx: Context, i: int) -> None:
    if i in (3, 18) and ctx.position_lots == 0:
        ctx.buy(10)


_STRATEGY = registry.register(scripted(_on_bar, name="protections_probe"))


def _session(tmp: Path, risk: dict[str, Any]) -> PaperSession:
    raw = {"session": {"name": "prot"}, "venue": {"commission": 0, "slippage_bps": 0},
           "strategies": [{"name": "probe", "strategy": "protections_probe",
                           "symbol": "PROT", "capital": _CAPITAL}],
           "risk": risk}

    def bars(symbol: str, timeframe: str | None) -> BarSeries:
        return _BARS

    session = PaperSession(parse_portfolio(raw), data_dir=tmp, bar_source=bars,
                           journal_factory=lambda root: InMemoryJournal())
    asyncio.run(session.run())
    return session


def _backtest(risk: dict[str, Any]) -> BacktestResult:
    settings = BacktestSettings(initial_cash=Decimal(_CAPITAL),
                                commission=costs.PercentCommission(Decimal(0)),
                                slippage=costs.FixedBpsSlippage(Decimal(0)),
                                size=SizeSpec.parse("1"))
    return run_backtest(_STRATEGY, _BARS, settings, risk=RiskSettings(**risk),
                        allow_short_history=True)


def _trades(trades: list[Any]) -> list[tuple[Any, ...]]:
    return [(t.direction, t.entry_ts, t.entry_lots, t.entry_value, t.exit_ts, t.exit_lots,
             t.exit_value) for t in trades]


def _compare(tmp: Path, risk: dict[str, Any], *,
             protected: bool = True) -> tuple[PaperSession, BacktestResult]:
    session = _session(tmp, risk)
    bt = _backtest(risk)
    live = session.execution.ledgers["probe"]
    assert _trades(live.trades) == _trades(bt.engine.ledger.trades)
    assert live.cash == bt.engine.ledger.cash and live.position == bt.engine.ledger.position
    if protected:
        # the strategy never sells: every closed trade was closed by a protection
        assert any(t.exit_ts is not None for t in bt.engine.ledger.trades)
    return session, bt


def _orders(session: PaperSession) -> list[Any]:
    return list(session.execution.manager.orders())


def test_a_trailing_stop_is_moved_at_the_venue_and_fills_where_the_backtest_does(
        tmp_path: Path) -> None:
    session, bt = _compare(tmp_path, {"trailing_stop_pct": 5})
    stops = [o for o in _orders(session) if "-sl" in o.id and o.id.startswith("probe")]
    first_entry = stops[0].id.removesuffix("-sl")
    chain = [o for o in stops if o.id.startswith(first_entry + "-sl")]
    # moved up bar after bar as a new order each time: every old one cancelled, the last hit
    assert len(chain) > 3
    assert [o.id for o in chain[:3]] == [f"{first_entry}-sl", f"{first_entry}-sl2",
                                         f"{first_entry}-sl3"]
    assert all(o.status is OrderStatus.CANCELLED for o in chain[:-1])
    assert chain[-1].status is OrderStatus.FILLED
    # entry filled at bar 4's open, 101.00: stop 10100 - floor(505) = 95.95; not moved on
    # bar 4 itself (its high may predate the fill), then 5 % under each new high (bars 5-9:
    # 105.5, 108.5, 111.5, 114.5, 116.5), e.g. 10550 - floor(527.5) = 100.23; bar 10's
    # high 115.5 would give 109.73 < 110.68: no move; bar 11 (low 109.5) hits 110.68
    assert [str(o.stop_price) for o in chain] == ["95.95", "100.23", "103.08", "105.93",
                                                  "108.78", "110.68"]
    assert all(o.reduce_only and o.order_type is OrderType.STOP for o in chain)
    # the trade ended at its trailing stop, not at a strategy exit
    exit_ticks = bt.engine.ledger.trades[0].exit_value // 10
    assert chain[-1].avg_price == _BARS.instrument.price(exit_ticks)


def test_an_atr_trailing_stop_matches_the_backtest(tmp_path: Path) -> None:
    session, _ = _compare(tmp_path, {"trailing_stop_atr_multiple": 2, "atr_period": 3})
    assert any(o.id.endswith("-sl2") for o in _orders(session))


def test_an_atr_stop_and_target_are_placed_at_the_fill_like_the_backtest(
        tmp_path: Path) -> None:
    session, bt = _compare(tmp_path, {"stop_loss_atr_multiple": 1.5,
                                      "take_profit_atr_multiple": 3, "atr_period": 3})
    legs = {o.id.rsplit("-", 1)[1]: o for o in _orders(session) if "-sl" in o.id
            or o.id.endswith("-tp")}
    assert legs, "no protective exits were placed"
    filled = [o for o in _orders(session) if o.reduce_only and o.status is OrderStatus.FILLED]
    assert filled  # a trade ended at its ATR stop or target
    assert len(bt.engine.ledger.trades) == 2


def test_a_time_exit_closes_the_live_position_on_the_backtest_bar(tmp_path: Path) -> None:
    session, bt = _compare(tmp_path, {"time_exit_bars": 4})
    exits = [o for o in _orders(session) if o.id.rsplit("-", 1)[1].startswith("t")]
    assert len(exits) == 2
    assert all(o.reduce_only and o.order_type is OrderType.MARKET
               and o.status is OrderStatus.FILLED for o in exits)
    ts = list(_BARS.ts)
    assert [ts.index(t.exit_ts) - ts.index(t.entry_ts) for t in bt.engine.ledger.trades] \
        == [5, 5]  # held 4 bars at a close, out at the next open


def test_a_time_exit_by_duration_matches_the_backtest(tmp_path: Path) -> None:
    _compare(tmp_path, {"time_exit_after": "3d"})


def test_volatility_target_sizing_with_an_atr_stop_sizes_like_the_backtest(
        tmp_path: Path) -> None:
    risk = {"sizing_method": "volatility_target", "risk_per_trade_pct": 1,
            "stop_loss_atr_multiple": 2, "atr_period": 3}
    _, bt = _compare(tmp_path, risk)
    lots = [t.entry_lots for t in bt.engine.ledger.trades]
    assert lots and all(n != 10 for n in lots)  # the method, not the strategy, sized them


@pytest.mark.parametrize("risk", [
    {"stop_loss_pct": 3, "trailing_stop_atr_multiple": 1, "atr_period": 5},
    {"take_profit_pct": 4, "trailing_stop_pct": 3, "time_exit_bars": 6},
    {"sizing_method": "fixed_fraction", "fixed_fraction_pct": 20,
     "stop_loss_atr_multiple": 1, "atr_period": 4},
])
def test_combined_protections_match_the_backtest(tmp_path: Path,
                                                  risk: dict[str, Any]) -> None:
    _compare(tmp_path, risk)


def test_an_entry_before_the_atr_is_known_is_denied_in_both_modes(tmp_path: Path) -> None:
    # period 10: the entry decided on bar 3 has no ATR yet; the one on bar 18 has
    risk = {"stop_loss_atr_multiple": 2, "atr_period": 10}
    session, bt = _compare(tmp_path, risk)
    assert bt.risk is not None and bt.risk.log.verdicts.get("rejected:atr_warmup") == 1
    assert len(bt.engine.ledger.trades) == 1
    # the session denied it before any venue: its only entry order is the second one
    entries = [o for o in _orders(session) if not o.reduce_only]
    assert [o.id.rsplit("-", 2)[1] for o in entries] == ["00000018"]


# --- every sizing method × every stop kind, generated -------------------------------------
_SIZING: dict[str, dict[str, Any]] = {
    "strategy": {},
    "fixed_quantity": {"sizing_method": "fixed_quantity", "fixed_quantity": 7},
    "fixed_fraction": {"sizing_method": "fixed_fraction", "fixed_fraction_pct": 20},
    "volatility_target": {"sizing_method": "volatility_target", "risk_per_trade_pct": 1},
    "kelly": {"sizing_method": "kelly", "kelly_fraction": 0.5, "kelly_max_pct": 20,
              "kelly_win_rate": 0.6, "kelly_payoff_ratio": 1.5},
}
_STOPS: dict[str, dict[str, Any]] = {
    "none": {},
    "stop_pct": {"stop_loss_pct": 3},
    "stop_atr": {"stop_loss_atr_multiple": 1.5, "atr_period": 3},
    "target_pct": {"take_profit_pct": 4},
    "target_atr": {"take_profit_atr_multiple": 2, "atr_period": 3},
    "trailing_pct": {"trailing_stop_pct": 5},
    "trailing_atr": {"trailing_stop_atr_multiple": 2, "atr_period": 3},
    "time_bars": {"time_exit_bars": 4},
    "time_after": {"time_exit_after": "3d"},
}


def _matrix() -> list[Any]:
    cases = []
    for sizing, sized in _SIZING.items():
        for kind, stops in _STOPS.items():
            risk = {**sized, **stops}
            if sizing == "volatility_target" and "stop_loss_atr_multiple" not in stops \
                    and "stop_loss_pct" not in stops:
                risk["stop_loss_pct"] = 3  # the method needs a stop distance
            cases.append(pytest.param(risk, id=f"{sizing}-{kind}"))
    return cases


@pytest.mark.parametrize("risk", _matrix())
def test_every_sizing_method_with_every_stop_kind_trades_alike_live(
        tmp_path: Path, risk: dict[str, Any]) -> None:
    _compare(tmp_path, risk, protected=False)


def test_exits_grow_with_a_partly_filled_entry_like_the_backtest(tmp_path: Path) -> None:
    """A volume cap fills the entry over several bars: the backtest grows its exits with
    each fill; the venue has no amend, so a session replaces them by larger orders."""
    from trading_strategy.orders.venues.paper import PaperVenue, PaperVenueConfig

    # 4 lots a bar: the 10-lot entry fills 4 + 4 + 2 over bars 4-6
    bars = make_bars(_CLOSE, high=[c + 1.5 for c in _CLOSE], low=[c - 1.5 for c in _CLOSE],
                     volume=[4] * len(_CLOSE), symbol="PROT")
    risk = {"stop_loss_pct": 8, "take_profit_pct": 12}

    def venue(instruments: dict[str, Any], capital: Decimal) -> PaperVenue:
        cfg = PaperVenueConfig(initial_cash={"USD": Decimal(_CAPITAL)},
                               volume_participation=Decimal(1))
        return PaperVenue(instruments.values(), config=cfg)

    raw = {"session": {"name": "grow"}, "venue": {"commission": 0, "slippage_bps": 0},
           "strategies": [{"name": "probe", "strategy": "protections_probe",
                           "symbol": "PROT", "capital": _CAPITAL}], "risk": risk}
    session = PaperSession(parse_portfolio(raw), data_dir=tmp_path, venue_factory=venue,
                           bar_source=lambda symbol, timeframe: bars,
                           journal_factory=lambda root: InMemoryJournal())
    asyncio.run(session.run())
    settings = BacktestSettings(initial_cash=Decimal(_CAPITAL),
                                commission=costs.PercentCommission(Decimal(0)),
                                slippage=costs.FixedBpsSlippage(Decimal(0)),
                                size=SizeSpec.parse("1"), volume_participation=Decimal(1))
    bt = run_backtest(_STRATEGY, bars, settings, risk=RiskSettings(**risk),
                      allow_short_history=True)
    live = session.execution.ledgers["probe"]
    assert _trades(live.trades) == _trades(bt.engine.ledger.trades)
    assert live.cash == bt.engine.ledger.cash
    first = bt.engine.ledger.trades[0]
    assert first.exit_ts is not None and first.exit_lots == 10  # the grown exit closed all
    entry = _orders(session)[0].id
    legs = {o.id.rsplit("-", 1)[1]: o for o in _orders(session)
            if o.id.startswith(entry + "-")}
    # first fill: -sl/-tp for 4 lots; then replaced by 8, then by 10 lots
    assert [str(legs[k].quantity) for k in ("sl", "sl2", "sl3")] == ["4", "8", "10"]
    assert [str(legs[k].quantity) for k in ("tp", "tp2", "tp3")] == ["4", "8", "10"]
