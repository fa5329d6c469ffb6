"""The risk engine gating a backtest: the same limits live trading runs under."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from trading_strategy.backtesting.report import build_report
from trading_strategy.backtesting.runner import run_backtest
from trading_strategy.backtesting.settings import BacktestSettings
from trading_strategy.cli import main
from trading_strategy.kernel import costs
from trading_strategy.kernel.sizing import SizeSpec
from trading_strategy.market_data.files import load_bars
from trading_strategy.risk import RiskSettings
from trading_strategy.strategies.context import Context
from trading_strategy.testing import make_bars, scripted


def _goog():  # type: ignore[no-untyped-def]
    return load_bars("GOOG").bars


def test_daily_loss_and_drawdown_halt_bind_on_goog() -> None:
    risk = RiskSettings(max_daily_loss_pct=2, max_drawdown_pct=15)
    result = run_backtest("sma_crossover", _goog(), BacktestSettings(), risk=risk)
    report = build_report(result)
    events = report["risk"]["halts"]
    reasons = {e["reason"] for e in events}
    assert {"daily_loss", "drawdown"} <= reasons
    halt = next(e for e in events if e["state"] == "halted")
    assert halt["reason"] == "drawdown" and halt["scope"] == "portfolio"
    # after the halt, no entry is ever filled again and the halted state is final
    assert all(t["entry_time"] <= halt["time"] for t in report["trades"])
    assert report["risk"]["final_state"] == "halted"
    # the drawdown when halting is at least the limit, and equity never traded past it
    reducing_days = [e["time"] for e in events if e["reason"] == "daily_loss"]
    assert reducing_days, "the daily loss limit never bound"


def test_daily_loss_allows_only_reducing_orders_until_next_day() -> None:
    # day 0 buy 1000 @10 (fills day 1 open 10, all the cash); day 1 closes at 9.7: equity
    # 9700, a 3% loss from 10000 >= 2% -> REDUCING; buying more on day 1 -> rejected:reducing;
    # day 2 is a new trading day -> ACTIVE again
    closes = [10, 9.7, 9.7, 9.7]
    opens = [10, 10, 9.7, 9.7]
    bars = make_bars(closes, open=opens)

    def on_bar(ctx: Context, i: int) -> None:
        if i in (0, 1, 2):
            ctx.buy(1000)

    risk = RiskSettings(max_daily_loss_pct=2, check_buying_power=False)
    result = run_backtest(scripted(on_bar), bars, BacktestSettings(size=SizeSpec.parse("1")),
                          risk=risk, allow_short_history=True)
    report = build_report(result)
    verdicts = report["risk"]["verdicts"]
    assert verdicts.get("rejected:reducing") == 1
    assert verdicts.get("accepted") == 2
    states = [(e["time"], e["state"]) for e in report["risk"]["halts"]]
    assert states == [("2020-01-02", "reducing"), ("2020-01-03", "active")]


def test_max_position_pct_from_the_environment_caps_entries(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TRADING_STRATEGY_RISK__MAX_POSITION_PCT", "10")
    assert main(["backtest", "--strategy", "sma_crossover", "--data", "GOOG", "--json", "-"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["risk"]["settings"]["max_position_pct"] == 10.0
    assert report["risk"]["verdicts"].get("resized:max_position", 0) > 0
    equity = {p["time"]: p["equity"] for p in report["equity_curve"]}
    times = [p["time"] for p in report["equity_curve"]]
    for trade in report["trades"]:
        # entered from flat (equity = the previous close's) and capped again at the fill
        # price: value <= 10 %, no allowance for the gap
        decided = times[times.index(trade["entry_time"]) - 1]
        assert trade["quantity"] * trade["entry_price"] <= 0.1 * equity[decided] * (1 + 1e-12)


def test_configured_stop_loss_is_attached_and_executed_intrabar() -> None:
    # buy at bar 1 open 100; stop_loss_pct 5 -> stop 95.00; bar 2 trades down to 90
    bars = make_bars([100, 100, 92, 92], open=[100, 100, 99, 92], high=[100, 100, 99, 92],
                     low=[100, 100, 90, 92])
    result = run_backtest(scripted(lambda ctx, i: ctx.buy(10) if i == 0 else None), bars,
                          BacktestSettings(), risk=RiskSettings(stop_loss_pct=5),
                          allow_short_history=True)
    fills = [(f.bar_index, f.side.value, f.lots, f.price_ticks) for f in result.engine.state.fills]
    assert fills == [(1, "buy", 10, 10000), (2, "sell", 10, 9500)]


def test_time_exit_closes_after_n_bars() -> None:
    bars = make_bars([10] * 10)
    result = run_backtest(scripted(lambda ctx, i: ctx.buy(1) if i == 0 else None), bars,
                          BacktestSettings(), risk=RiskSettings(time_exit_bars=3),
                          allow_short_history=True)
    fills = [(f.bar_index, f.side.value) for f in result.engine.state.fills]
    # entry fills on bar 1; held 3 bars at bar 4's close -> market exit fills on bar 5
    assert fills == [(1, "buy"), (5, "sell")]


def test_trailing_stop_follows_the_high() -> None:
    # entry 100 at bar 1; trailing 10%: after bar 2 (high 120) the stop is 108; bar 3 falls
    # through it from an open of 115 to a low of 100 -> filled at 108.00
    bars = make_bars([100, 100, 118, 101], open=[100, 100, 110, 115],
                     high=[100, 100, 120, 115], low=[100, 100, 110, 100])
    result = run_backtest(scripted(lambda ctx, i: ctx.buy(1) if i == 0 else None), bars,
                          BacktestSettings(), risk=RiskSettings(trailing_stop_pct=10),
                          allow_short_history=True)
    fills = [(f.bar_index, f.side.value, f.price_ticks) for f in result.engine.state.fills]
    assert fills == [(1, "buy", 10000), (3, "sell", 10800)]


def test_risk_config_file_and_bad_value(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "risk.toml"
    good.write_text("[risk]\nmax_drawdown_pct = 15\n")
    assert main(["backtest", "--strategy", "sma_crossover", "--data", "GOOG",
                 "--risk-config", str(good), "--quiet"]) == 0
    bad = tmp_path / "bad.toml"
    bad.write_text("[risk]\nmax_position_pct = 150\n")
    assert main(["backtest", "--strategy", "sma_crossover", "--data", "GOOG",
                 "--risk-config", str(bad), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "risk.max_position_pct" in err and "150" in err


def test_zero_lots_after_risk_sizing_is_a_rejection_not_an_order() -> None:
    bars = make_bars([10, 10, 10])
    risk = RiskSettings(sizing_method="fixed_fraction", fixed_fraction_pct=0.001)
    result = run_backtest(scripted(lambda ctx, i: ctx.buy() if i == 0 else None), bars,
                          BacktestSettings(initial_cash=Decimal(100)), risk=risk,
                          allow_short_history=True)
    assert result.engine.state.fills == []
    assert result.risk is not None
    assert result.risk.log.verdicts == {"rejected:zero_size": 1}


def _portfolio_run(on_bars: dict[str, Any], closes: list[float],
                   risk_settings: RiskSettings) -> tuple[list[Any], list[Any], Any]:
    """Engines sharing one risk engine, stepped in lockstep like a portfolio backtest: the
    driver feeds the portfolio's equity and hands each change to every gate's ``act``."""
    from trading_strategy.backtesting.engine import BacktestEngine
    from trading_strategy.backtesting.risk_gate import RiskGate
    from trading_strategy.risk import RiskEngine

    series = {sym: make_bars(closes, symbol=sym) for sym in on_bars}
    settings = BacktestSettings(initial_cash=Decimal(1000), size=SizeSpec.parse("1"),
                                commission=costs.PercentCommission(Decimal(0)),
                                slippage=costs.FixedBpsSlippage(Decimal(0)))
    shared = RiskEngine(risk_settings, {s: b.instrument for s, b in series.items()})
    engines: list[Any] = []
    gates: list[Any] = []
    total = [0]
    for sym, bars in series.items():
        engine = BacktestEngine(scripted(on_bars[sym], name=f"s_{sym}"), None, bars, settings)
        gate = RiskGate(risk_settings, strategy=f"s_{sym}", engine=engine, risk=shared,
                        equity=lambda: total[0], portfolio=True)
        engine.set_gate(gate)
        engines.append(engine)
        gates.append(gate)
    for engine in engines:
        engine.start()
    for i in range(len(closes)):
        for engine in engines:
            engine.step(i)
        total[0] = sum(e.equity_units(i) * shared.value_factor(e.instrument.symbol)
                       for e in engines)
        for change in shared.on_equity(int(engines[0].bars.ts[i]), None, total[0]):
            for gate, engine in zip(gates, engines, strict=True):
                gate.act(engine, change, i)
    for engine in engines:
        engine.finish()
    return engines, gates, shared


def test_a_portfolio_drawdown_halt_cancels_and_flattens_every_strategy() -> None:
    """Two engines share one risk engine (shared rule 6): the halt the portfolio's equity
    causes reaches both gates' ``act``."""
    from trading_strategy.core.enums import OrderStatus

    # each buys 100 with its 1 000 of cash at bar 1's open (10) and rests a limit buy far
    # below; bar 3 closes at 9.8: portfolio equity 2 × 980 = 1 960 from a peak of 2 000 is
    # 2 %; bar 4 at 9.7: 1 940, 3 % ≥ the 2.5 % limit → HALTED with flatten: both limits
    # cancelled, both positions closed by market orders at bar 5's open
    def on_bar(ctx: Context, i: int) -> None:
        if i == 0:
            ctx.buy(100)
            ctx.buy(10, limit=5)

    engines, gates, shared = _portfolio_run(
        {"AAA": on_bar, "BBB": on_bar}, [10, 10, 10, 9.8, 9.7, 9.7, 9.7],
        RiskSettings(max_drawdown_pct=2.5, check_buying_power=False))
    assert shared.state(None).value == "halted"
    for engine, gate in zip(engines, gates, strict=True):
        fills = [(f.bar_index, f.side.value, f.lots) for f in engine.state.fills]
        assert fills == [(1, "buy", 100), (5, "sell", 100)]
        assert engine.ledger.position == 0
        limits = [o for o in engine.state.closed_orders if o.limit_ticks == 500]
        assert [o.status for o in limits] == [OrderStatus.CANCELLED]
        assert [(c.current.value, bar) for c, bar in
                zip(gate.log.changes, gate.log.change_bars, strict=True)] == [("halted", 4)]


def test_portfolio_caps_see_the_other_strategies_fills() -> None:
    # AAA's 100 lots at 10 fill at bar 1's open (1 000 of exposure); BBB asks for 100 at
    # bar 2: the gross cap of 1 500 leaves 500, i.e. 50 lots at 10
    engines, gates, _ = _portfolio_run(
        {"AAA": lambda ctx, i: ctx.buy(100) if i == 0 else None,
         "BBB": lambda ctx, i: ctx.buy(100) if i == 2 else None},
        [10] * 5, RiskSettings(max_gross_exposure=1500, check_buying_power=False))
    assert [(f.bar_index, f.lots) for f in engines[0].state.fills] == [(1, 100)]
    assert [(f.bar_index, f.lots) for f in engines[1].state.fills] == [(3, 50)]
    # cut when decided (and so already within the cap at the fill)
    assert gates[1].log.verdicts == {"resized:max_gross_exposure": 1}
