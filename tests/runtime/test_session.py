"""Paper sessions: the backtested strategy code, run live against the paper venue."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import pytest

from trading_strategy.backtesting.runner import run_backtest
from trading_strategy.backtesting.settings import BacktestSettings
from trading_strategy.cli import main
from trading_strategy.core.errors import ConfigError
from trading_strategy.kernel import costs
from trading_strategy.kernel.sizing import SizeSpec
from trading_strategy.market_data.files import load_bars
from trading_strategy.orders.journal import InMemoryJournal
from trading_strategy.runtime.lifecycle import Backoff, RestartIntensity
from trading_strategy.runtime.portfolio_config import parse_portfolio
from trading_strategy.runtime.session import PaperSession
from trading_strategy.strategies import registry
from trading_strategy.strategies.base import Strategy, StrategyParams


def _portfolio(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "session": {"name": name},
        "venue": {"commission": 0.001, "slippage_bps": 2},
        "strategies": [
            {"name": "sma_goog", "strategy": "sma_crossover", "symbol": "GOOG",
             "capital": 50000, "size": "10"},
            {"name": "rsi_msft", "strategy": "rsi_reversion", "symbol": "MSFT",
             "capital": 50000, "size": "100"},
        ],
        **extra,
    }


def _run(raw: dict[str, Any], data_dir: Path) -> Any:
    session = PaperSession(parse_portfolio(raw), data_dir=data_dir,
                           journal_factory=lambda root: InMemoryJournal())
    return session, asyncio.run(session.run())


def _backtest(strategy: str, symbol: str, size: str) -> Any:
    settings = BacktestSettings(initial_cash=Decimal(50000),
                                commission=costs.PercentCommission(Decimal("0.001")),
                                slippage=costs.FixedBpsSlippage(Decimal(2)),
                                size=SizeSpec.parse(size))
    return run_backtest(strategy, load_bars(symbol).bars, settings)


def test_a_paper_session_trades_exactly_like_the_backtest(tmp_path: Path) -> None:
    session, result = _run(_portfolio("parity"), tmp_path)
    assert result.failed == []
    assert result.reconciliation.clean
    for name, strategy, symbol, size in (("sma_goog", "sma_crossover", "GOOG", "10"),
                                         ("rsi_msft", "rsi_reversion", "MSFT", "100")):
        bt = _backtest(strategy, symbol, size)
        inst = bt.bars.instrument
        live = session.execution.ledgers[name]
        assert live.position == bt.engine.ledger.position
        assert live.cash == bt.engine.ledger.cash  # exact, in money units
        assert [(t.entry_ts, t.entry_value, t.exit_value) for t in live.trades] == \
            [(t.entry_ts, t.entry_value, t.exit_value) for t in bt.engine.ledger.trades]
        assert result.strategies[name]["equity"] == str(inst.money(int(bt.equity_units[-1])))


def test_restarting_a_finished_session_places_no_new_order(tmp_path: Path) -> None:
    from trading_strategy.config import Settings
    from trading_strategy.runtime.wiring import open_session_store, stored_journal_factory

    config = parse_portfolio(_portfolio("resume"))
    store = open_session_store(Settings(data_dir=tmp_path).effective_database_url())

    def run_once() -> Any:
        session = PaperSession(config, data_dir=tmp_path,
                               journal_factory=stored_journal_factory(store),
                               event_repository=store.events)
        return session, asyncio.run(session.run())

    first, r1 = run_once()
    orders = len(first.execution.manager.orders())
    second, r2 = run_once()
    assert orders > 10
    assert len(second.execution.manager.orders()) == orders
    assert r2.reconciliation.clean
    assert r2.strategies == r1.strategies


class _Flaky(Strategy):
    """Raises on every bar after the fifth (for the supervisor tests)."""

    name = "flaky_test"
    Params: ClassVar[type[StrategyParams]] = StrategyParams

    def on_bar(self) -> None:
        if self.ctx.bar_index >= 5:
            raise RuntimeError("boom")


def test_a_failing_strategy_is_restarted_then_flagged_without_disturbing_others(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    registry.register(_Flaky)
    import trading_strategy.runtime.session as session_module

    original = session_module.Supervisor

    def fast_supervisor(**kwargs: Any) -> Any:
        return original(backoff=Backoff(initial=0.001, factor=1.0, max=0.001),
                        intensity=RestartIntensity(max_restarts=3, within=60.0), **kwargs)

    monkeypatch.setattr(session_module, "Supervisor", fast_supervisor)
    raw = _portfolio("flaky")
    raw["strategies"].append({"name": "flaky", "strategy": "flaky_test", "symbol": "GOOG",
                              "capital": 1000})
    raw["session"]["end"] = "2006-12-31"
    session, result = _run(raw, tmp_path)
    assert result.failed == ["flaky"]
    events = [json.loads(line) for line in
              (tmp_path / "sessions" / "flaky" / "events.jsonl").read_text().splitlines()]
    flaky = [e for e in events if e.get("component") == "flaky"]
    assert [e["to"] for e in flaky].count("running") == 4  # started, then 3 restarts
    assert flaky[-1]["to"] == "failed"
    # the healthy strategy traded through the whole window regardless
    assert result.strategies["sma_goog"]["trades"] > 0
    assert session.supervisor.restart_counts()["flaky"] == 3


def test_portfolio_config_errors_name_the_field() -> None:
    with pytest.raises(ConfigError, match=r"strategies.0.capital"):
        parse_portfolio({"strategies": [{"name": "a", "strategy": "sma_crossover",
                                         "symbol": "GOOG", "capital": -1}]})
    with pytest.raises(ConfigError, match="repeated: a"):
        parse_portfolio({"strategies": [
            {"name": "a", "strategy": "sma_crossover", "symbol": "GOOG", "capital": 1},
            {"name": "a", "strategy": "rsi_reversion", "symbol": "MSFT", "capital": 1}]})
    with pytest.raises(ConfigError, match=r"venue\.nonsense"):
        parse_portfolio({"venue": {"nonsense": 1}, "strategies": [
            {"name": "a", "strategy": "sma_crossover", "symbol": "GOOG", "capital": 1}]})


def test_cli_run_status_audit_and_reconcile(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "p.toml"
    config.write_text("""
[session]
name = "cli"
end = "2007-06-30"
[venue]
commission = 0.001
[[strategies]]
name = "sma_goog"
strategy = "sma_crossover"
symbol = "GOOG"
capital = 50000
size = "10"
""")
    assert main(["run", "--config", str(config), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "reconciliation: clean" in out and "sma_goog" in out
    assert main(["status", "--session", "cli", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["totals"]["sent"] > 0  # the status report reads the journal
    assert main(["audit", "--session", "cli", "--strategy", "sma_goog"]) == 0
    audit = capsys.readouterr().out
    assert "created → submitted" in audit and "accepted → filled" in audit
    assert "position sma_goog GOOG → 10" in audit
    first = next(line.split()[1] for line in audit.splitlines() if line.startswith("order "))
    assert main(["audit", first, "--session", "cli"]) == 0
    assert first in capsys.readouterr().out
    assert main(["reconcile", "--config", str(config)]) == 0
    assert "clean" in capsys.readouterr().out
    assert main(["audit", "nope", "--session", "cli"]) == 2


def test_a_drawdown_halt_survives_a_restart_until_an_operator_rearms(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from trading_strategy.config import Settings
    from trading_strategy.runtime.wiring import open_session_store, stored_journal_factory

    monkeypatch.setenv("TRADING_STRATEGY_DATA_DIR", str(tmp_path))
    raw = _portfolio("halting", risk={"max_drawdown_pct": 2})
    raw["strategies"][0]["size"] = "200"
    raw["strategies"][1]["size"] = "1500"
    raw["session"]["end"] = "2006-06-30"
    config = parse_portfolio(raw)
    store = open_session_store(Settings(data_dir=tmp_path).effective_database_url())

    def run_once() -> Any:
        session = PaperSession(config, data_dir=tmp_path,
                               journal_factory=stored_journal_factory(store),
                               event_repository=store.events)
        asyncio.run(session.run())
        return session

    first = run_once()
    assert first.execution.risk.state(None).value == "halted"
    stored = store.events.list_risk_events()
    assert any(e.trading_state == "halted" for e in stored)
    assert any(e.verdict == "accepted" for e in stored)  # every verdict is stored
    # a restart does not lift the kill switch ...
    second = run_once()
    assert second.execution.risk.state(None).value == "halted"
    # ... an operator does
    assert main(["risk", "rearm", "--portfolio", "--actor", "alice"]) == 0
    third = run_once()
    assert third.execution.risk.state(None).value == "active"
    assert not (tmp_path / "sessions" / "halting" / "halts.json").read_text().count("portfolio")


def test_bracket_stops_are_placed_at_the_venue_and_match_the_backtest(tmp_path: Path) -> None:
    raw = {"session": {"name": "brackets"}, "venue": {"commission": 0.001},
           "strategies": [{"name": "don_goog", "strategy": "donchian_breakout",
                           "symbol": "GOOG", "capital": 50000, "size": "10"}]}
    session, result = _run(raw, tmp_path)
    stops = [o for o in session.execution.manager.orders() if o.id.endswith("-sl")]
    assert stops and all(o.reduce_only and o.order_type.value == "stop" for o in stops)
    assert any(o.status.value == "filled" for o in stops)  # some trades ended at their stop
    assert sum(o.is_open for o in stops) <= 1  # only the open position's stop is live
    settings = BacktestSettings(initial_cash=Decimal(50000),
                                commission=costs.PercentCommission(Decimal("0.001")),
                                size=SizeSpec.parse("10"))
    bt = run_backtest("donchian_breakout", load_bars("GOOG").bars, settings)
    assert session.execution.ledgers["don_goog"].cash == bt.engine.ledger.cash
    assert result.strategies["don_goog"]["trades"] == len(bt.engine.ledger.trades)


def test_risk_percentage_stops_protect_live_entries(tmp_path: Path) -> None:
    raw = _portfolio("riskstops", risk={"stop_loss_pct": 5})
    session, _ = _run(raw, tmp_path)
    stops = [o for o in session.execution.manager.orders() if o.id.endswith("-sl")]
    assert stops
    first = stops[0]
    entry = session.execution.manager.get(first.id.removesuffix("-sl"))
    # 5% below the entry's fill price, rounded toward the entry to a tick
    assert entry.avg_price is not None and first.stop_price is not None
    assert first.stop_price >= entry.avg_price * Decimal("0.95")
    assert first.stop_price < entry.avg_price


def test_one_session_cannot_be_driven_by_two_processes(tmp_path: Path) -> None:
    config = parse_portfolio(_portfolio("locked"))
    first = PaperSession(config, data_dir=tmp_path, journal_factory=lambda r: InMemoryJournal())
    with pytest.raises(ConfigError, match="in use by another process"):
        PaperSession(config, data_dir=tmp_path, journal_factory=lambda r: InMemoryJournal())
    first.files.release()
    PaperSession(config, data_dir=tmp_path,
                 journal_factory=lambda r: InMemoryJournal()).files.release()


def test_live_strategies_get_fill_and_order_callbacks_like_in_a_backtest(
        tmp_path: Path) -> None:
    seen: list[str] = []

    class Recorder(Strategy):
        name = "callback_recorder"
        Params: ClassVar[type[StrategyParams]] = StrategyParams

        def on_bar(self) -> None:
            if self.ctx.bar_index == 0:
                self.ctx.buy(1)

        def on_fill(self, fill: Any) -> None:
            seen.append(f"fill {fill.quantity}")

        def on_order_event(self, event: Any) -> None:
            seen.append(f"event {event.status.value}")

    registry.register(Recorder)
    raw = {"session": {"name": "callbacks", "end": "2004-09-30"},
           "strategies": [{"name": "rec", "strategy": "callback_recorder", "symbol": "GOOG",
                           "capital": 10000}]}
    _run(raw, tmp_path)
    assert seen == ["event accepted", "fill 1", "event filled"]


def test_reduce_only_exits_belong_to_their_own_strategy(tmp_path: Path) -> None:
    # two strategies on one symbol: one's close never touches the other's position
    raw = {"session": {"name": "shared", "end": "2006-12-31"},
           "venue": {"commission": 0.001},
           "strategies": [
               {"name": "fast", "strategy": "sma_crossover", "symbol": "GOOG",
                "capital": 50000, "size": "10", "params": {"fast": 5, "slow": 20}},
               {"name": "slow", "strategy": "sma_crossover", "symbol": "GOOG",
                "capital": 50000, "size": "10", "params": {"fast": 20, "slow": 60}}]}
    session, result = _run(raw, tmp_path)
    assert result.reconciliation.clean
    ledgers = session.execution.ledgers
    assert result.strategies["fast"]["trades"] != result.strategies["slow"]["trades"]
    for name in ("fast", "slow"):
        assert ledgers[name].position in (0, 10)
    net = sum(ledger.position for ledger in ledgers.values())
    venue = asyncio.run(session.venue.fetch_positions())
    assert venue.get("GOOG", Decimal(0)) == net


def test_a_resumed_session_keeps_its_drawdown_peak(tmp_path: Path) -> None:
    from trading_strategy.config import Settings
    from trading_strategy.runtime.wiring import open_session_store, stored_journal_factory

    store = open_session_store(Settings(data_dir=tmp_path).effective_database_url())

    def raw(name: str, end: str) -> dict[str, Any]:
        portfolio = _portfolio(name, risk={"max_drawdown_pct": 2})
        portfolio["strategies"][0]["size"] = "200"
        portfolio["strategies"][1]["size"] = "1500"
        portfolio["session"]["end"] = end
        return portfolio

    def run(portfolio: dict[str, Any]) -> None:
        session = PaperSession(parse_portfolio(portfolio), data_dir=tmp_path,
                               journal_factory=stored_journal_factory(store),
                               event_repository=store.events)
        asyncio.run(session.run())

    def halts(name: str) -> list[int]:
        lines = (tmp_path / "sessions" / name / "events.jsonl").read_text().splitlines()
        events = [json.loads(line) for line in lines]
        return [e["ts_ns"] for e in events
                if e["kind"] == "risk_state" and e.get("current") == "halted"]

    run(raw("reference", "2000-12-31"))
    run(raw("resumed", "2000-05-03"))  # stopped before the halt ...
    run(raw("resumed", "2000-12-31"))  # ... and resumed: the peak is remembered
    assert halts("reference")
    assert halts("resumed") == halts("reference")


def test_a_session_replays_bars_imported_into_the_database(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import numpy as np

    days = np.arange(np.datetime64("2019-01-01"), np.datetime64("2021-01-01"))
    close = 100 + np.cumsum(np.sin(np.arange(len(days)) / 7.0))
    lines = ["timestamp,open,high,low,close,volume"] + [
        f"{d},{c:.2f},{c + 1:.2f},{c - 1:.2f},{c:.2f},100"
        for d, c in zip(days.astype(str), close, strict=True)]
    csv = tmp_path / "wave.csv"
    csv.write_text("\n".join(lines) + "\n")
    assert main(["data", "import", str(csv), "--symbol", "WAVE", "--timeframe", "1d"]) == 0
    config = tmp_path / "p.toml"
    config.write_text('[session]\nname = "stored"\n[[strategies]]\nname = "w"\n'
                      'strategy = "sma_crossover"\nsymbol = "WAVE"\ncapital = 10000\n'
                      'size = "10"\n')
    capsys.readouterr()
    assert main(["run", "--config", str(config), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert f"{len(days)} bars processed" in out
    assert "w                WAVE" in out
