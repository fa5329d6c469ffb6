"""``data``, ``db`` and ``runs`` commands through ``trading_strategy.cli.main``."""

from __future__ import annotations

import csv
import json
import socket
from pathlib import Path

import pytest
from sqlalchemy import text

from trading_strategy.cli import main
from trading_strategy.storage import open_store

_HEADER = "timestamp,open,high,low,close,volume\n"
_SECRET = "n0t-for-your-eyes"


def _csv(path: Path, rows: int, *, bad_last: bool = False) -> Path:
    lines = [_HEADER]
    minute = 60
    for i in range(rows):
        price = 100 + (i % 50) / 100
        lines.append(f"{1_600_000_000 + i * minute},{price:.2f},{price + 0.05:.2f},"
                     f"{price - 0.05:.2f},{price:.2f},{i % 7}\n")
    if bad_last:  # the high of the very last row
        fields = lines[-1].rstrip("\n").split(",")
        fields[2] = "not-a-price"
        lines[-1] = ",".join(fields) + "\n"
    path.write_text("".join(lines))
    return path


@pytest.fixture
def cli_db(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("TRADING_STRATEGY_DATABASE_URL", db_url)
    return db_url


def _bar_count(url: str) -> int:
    with open_store(url=url) as store, store.engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM bars")).scalar_one())


def test_import_list_export(cli_db: str, tmp_path: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    source = _csv(tmp_path / "btc_1m.csv", 500)
    assert main(["data", "import", str(source), "--symbol", "BTCUSD", "--timeframe", "1m"]) == 0
    assert "500 inserted, 0 updated, 0 unchanged" in capsys.readouterr().out
    assert main(["data", "import", str(source), "--symbol", "BTCUSD", "--timeframe", "1m"]) == 0
    assert "0 inserted, 0 updated, 500 unchanged" in capsys.readouterr().out

    assert main(["data", "list"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing[0].split() == ["SYMBOL", "TIMEFRAME", "BARS", "FIRST", "LAST"]
    assert listing[1].split()[:3] == ["BTCUSD", "1m", "500"]

    out = tmp_path / "out.csv"
    assert main(["data", "export", "--symbol", "btcusd", "--out", str(out)]) == 0
    with source.open() as a, out.open() as b:
        original, exported = list(csv.reader(a)), list(csv.reader(b))
    assert len(exported) == 501 and exported[0] == original[0]
    assert [row[1:] for row in exported[1:]] == [row[1:] for row in original[1:]]
    assert exported[1][0] == "2020-09-13T12:26:40Z"

    assert main(["data", "export", "--symbol", "BTCUSD", "--start", "2020-09-13T12:30:00Z",
                 "--end", "2020-09-13T12:31:40"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1 + 2


def test_bad_row_at_the_end_of_a_big_file_changes_nothing(
        cli_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = _csv(tmp_path / "good.csv", 1000)
    assert main(["data", "import", str(good), "--symbol", "X", "--timeframe", "1m"]) == 0
    rows = 200_000
    bad = _csv(tmp_path / "big.csv", rows, bad_last=True)
    capsys.readouterr()
    assert main(["data", "import", str(bad), "--symbol", "X", "--timeframe", "1m"]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:{rows + 1}:" in err and "not-a-price" in err
    assert _bar_count(cli_db) == 1000


def test_a_price_that_rounds_to_zero_is_refused_and_changes_nothing(
        cli_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Regression: a bar at 1e-9 made the tick 1e-8 and was imported at price 0 (exit 0).
    good = _csv(tmp_path / "good.csv", 100)
    assert main(["data", "import", str(good), "--symbol", "X", "--timeframe", "1m"]) == 0
    lines = good.read_text().splitlines(keepends=True)
    fields = lines[50].split(",")
    fields[1:5] = ["1e-9"] * 4
    lines[50] = ",".join(fields)
    tiny = tmp_path / "tiny.csv"
    tiny.write_text("".join(lines))
    capsys.readouterr()
    assert main(["data", "import", str(tiny), "--symbol", "X", "--timeframe", "1m"]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {tiny}:51: open 1e-09 rounds to 0 at tick size 0.00000001; every " \
                  "price must round to at least one tick\n"
    assert _bar_count(cli_db) == 100


def test_a_yahoo_export_is_imported_adjusted(
        cli_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Real AAPL bars around the 2000-06-21 2:1 split; Adj Close as Yahoo writes it.
    source = tmp_path / "AAPL_1d.csv"
    source.write_text("Date,Open,High,Low,Close,Adj Close,Volume\n"
                      "2000-06-20,98.5,103.94,98.37,101.25,3.253,4476700\n"
                      "2000-06-21,50.5,56.94,50.31,55.63,3.5746,4375000\n")
    assert main(["data", "import", str(source)]) == 0
    captured = capsys.readouterr()
    assert "warning: adjusted prices: open, high, low and close scaled by Adj Close / Close" \
        in captured.err
    assert main(["data", "export", "--symbol", "AAPL"]) == 0
    exported = capsys.readouterr().out.splitlines()
    # Decimal(price) * Decimal(adj close) / Decimal(close) to 4 decimals (the adjusted
    # close's), computed independently: 98.5 * 3.253 / 101.25 = 3.16463... -> 3.1646.
    assert exported[1:] == ["2000-06-20,3.1646,3.3394,3.1605,3.2530,4476700",
                            "2000-06-21,3.2450,3.6588,3.2328,3.5746,4375000"]


def test_unknown_symbol_and_bad_times_are_user_errors(
        cli_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "export", "--symbol", "NOPE"]) == 2
    assert "no data stored for symbol 'NOPE'" in capsys.readouterr().err
    assert main(["data", "export", "--symbol", "NOPE", "--start", "yesterday"]) == 2
    assert "invalid time 'yesterday'" in capsys.readouterr().err


def test_db_commands(empty_db_url: str, monkeypatch: pytest.MonkeyPatch,
                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TRADING_STRATEGY_DATABASE_URL", empty_db_url)
    assert main(["db", "current"]) == 0
    assert "schema (empty)" in capsys.readouterr().out
    assert main(["db", "upgrade"]) == 0
    assert "(empty) -> 0007_research_runs" in capsys.readouterr().out
    assert main(["db", "downgrade"]) == 0
    assert "0007_research_runs -> 0006_bar_source" in capsys.readouterr().out
    assert main(["db", "current"]) == 0
    assert "run `db upgrade`" in capsys.readouterr().out
    assert main(["data", "list"]) == 2  # an outdated schema is not upgraded behind your back
    assert "db upgrade" in capsys.readouterr().err
    assert main(["db", "downgrade", "nonsense"]) == 2
    assert "unknown revision 'nonsense'" in capsys.readouterr().err
    assert main(["db", "upgrade", "head"]) == 0


def test_default_database_lives_in_the_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TRADING_STRATEGY_DATA_DIR", str(tmp_path / "data"))
    assert main(["data", "list"]) == 0
    assert "no market data" in capsys.readouterr().out
    assert (tmp_path / "data" / "trading-strategy.sqlite3").exists()


def test_runs_list_and_show(cli_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", "list"]) == 0
    assert "no saved runs" in capsys.readouterr().out
    report = {"strategy": "sma_crossover", "params": {"fast": 5},
              "data": {"symbol": "GOOG", "timeframe": "1d", "start": "2010-01-04",
                       "end": "2010-12-31", "bars": 252},
              "metrics": {"total_return": 0.25, "sharpe": 1.1, "max_drawdown": -0.1,
                          "trades": 1},
              "trades": [{"side": "long", "quantity": 3, "entry_time": "2010-02-01",
                          "entry_price": 265.5, "exit_time": "2010-06-01",
                          "exit_price": 290.25, "pnl": 74.25, "return": 0.093,
                          "commission": 0}],
              "equity_curve": [{"time": "2010-01-04", "equity": 10000}]}
    with open_store(url=cli_db) as store:
        run_id = store.runs.save_run(report)
    assert main(["runs", "list"]) == 0
    listing = capsys.readouterr().out
    assert "sma_crossover" in listing and "25.00%" in listing and str(run_id) in listing
    assert main(["runs", "show", str(run_id)]) == 0
    shown = capsys.readouterr().out
    assert "fast=5" in shown and "2010-02-01 @ 265.5" in shown
    # the metric counts closed trades, the list shows every trade: each says which
    assert "closed_trades" in shown and "trades listed: 1 (0 open)" in shown
    assert main(["runs", "show", str(run_id), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["id"] == run_id and data["trades"][0]["exit_price"] == 290.25
    assert main(["runs", "show", "99999"]) == 2
    assert "no backtest run with id 99999" in capsys.readouterr().err


def test_unreachable_database_never_shows_the_password(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("TRADING_STRATEGY_DATABASE_URL",
                       f"postgresql://trader:{_SECRET}@127.0.0.1:{port}/db")
    for command in (["data", "list"], ["db", "current"], ["runs", "list"]):
        assert main(command) == 2
        captured = capsys.readouterr()
        assert "cannot connect" in captured.err and "trader:***@" in captured.err
        assert _SECRET not in captured.err + captured.out


def test_the_embedded_database_is_brought_up_to_date_on_open(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The SQLite file in the user's own data folder (no database URL configured) is theirs
    alone: an older one is migrated when a command opens it — a configured database is
    not (test_db_commands)."""
    from trading_strategy.storage.engine import make_engine
    from trading_strategy.storage.migrate import SCHEMA_HEAD, current_revision, upgrade

    monkeypatch.delenv("TRADING_STRATEGY_DATABASE_URL", raising=False)
    monkeypatch.setenv("TRADING_STRATEGY_DATA_DIR", str(tmp_path))
    engine = make_engine(f"sqlite:///{tmp_path / 'trading-strategy.sqlite3'}")
    try:
        upgrade(engine, "0004_timescale")
        assert main(["runs", "list"]) == 0
        assert current_revision(engine) == SCHEMA_HEAD
    finally:
        engine.dispose()
