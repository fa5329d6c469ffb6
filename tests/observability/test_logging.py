"""structlog configuration: JSON shape, console output, redaction, decision events."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import logging
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import structlog

from trading_strategy.core.errors import ConfigError
from trading_strategy.observability.logging import (
    configure_logging,
    decision_logger,
    redact_secrets,
    utc_iso,
)


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    structlog.reset_defaults()
    root.handlers[:] = handlers
    root.setLevel(level)


def json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def setup_json(level: str = "info") -> io.StringIO:
    stream = io.StringIO()
    configure_logging("json", level, stream=stream, cache_loggers=False)
    return stream


def test_json_is_one_object_per_line_with_utc_timestamp() -> None:
    stream = setup_json()
    log = structlog.get_logger("trading_strategy.runtime")
    log.info("session.started", mode="paper", capital=Decimal("1000.50"))
    log.debug("hidden")
    log.warning("feed.stale", symbol="BTCUSDT")
    first, second = json_lines(stream)
    assert first["event"] == "session.started" and first["level"] == "info"
    assert first["logger"] == "trading_strategy.runtime"
    assert first["mode"] == "paper" and first["capital"] == "1000.50"
    assert first["timestamp"].endswith("Z")
    ts = dt.datetime.fromisoformat(first["timestamp"])
    assert ts.utcoffset() == dt.timedelta(0)
    assert abs((dt.datetime.now(dt.UTC) - ts).total_seconds()) < 60
    assert second["level"] == "warning"


def test_json_exceptions_are_structured() -> None:
    stream = setup_json()
    try:
        raise ValueError("bad bar")
    except ValueError:
        structlog.get_logger("x").exception("strategy.crashed")
    (line,) = json_lines(stream)
    assert line["level"] == "error"
    assert line["exception"][0]["exc_type"] == "ValueError"
    assert line["exception"][0]["exc_value"] == "bad bar"


def test_stdlib_records_share_the_format() -> None:
    stream = setup_json("warning")
    logging.getLogger("ccxt.base").warning("rate limited %s", "binance")
    logging.getLogger("ccxt.base").info("not shown")
    (line,) = json_lines(stream)
    assert line["event"] == "rate limited binance"
    assert line["logger"] == "ccxt.base" and line["level"] == "warning"
    assert line["timestamp"].endswith("Z")


def test_console_format_is_readable() -> None:
    stream = io.StringIO()
    configure_logging("console", "info", stream=stream, cache_loggers=False)
    structlog.get_logger("cli").info("backtest.done", trades=12, password="hunter2")
    out = stream.getvalue()
    assert "backtest.done" in out and "trades=12" in out
    assert "hunter2" not in out and "\x1b[" not in out      # no colours off a terminal
    with pytest.raises(json.JSONDecodeError):
        json.loads(out)


def test_auto_picks_json_off_a_terminal() -> None:
    stream = io.StringIO()
    configure_logging("auto", stream=stream, cache_loggers=False)
    structlog.get_logger().info("x")
    assert json.loads(stream.getvalue())["event"] == "x"


def test_secrets_are_redacted() -> None:
    stream = setup_json()
    nested: dict[str, Any] = {
        "exchange": {"apiKey": "AKIA123", "secret": "s3cr3t", "name": "binance"},
        "headers": [("Authorization", "Bearer abc.def.ghi")],
    }
    structlog.get_logger("venue").info(
        "venue.connect",
        password="hunter2", api_key="k-123", API_SECRET="x", access_token="t-1",
        db_url="postgresql://trader:pa55word@db.local:5432/trading",
        endpoint="https://api.exchange.test/v3/order?symbol=BTCUSDT&apiKey=k-9&signature=f00",
        header="Authorization: Bearer abc.def.ghi",
        config=nested, symbol="BTCUSDT", token_count=None,
    )
    raw = stream.getvalue()
    for secret in ("hunter2", "k-123", "t-1", "pa55word", "k-9", "f00", "abc.def.ghi",
                   "AKIA123", "s3cr3t"):
        assert secret not in raw, secret
    (line,) = json_lines(stream)
    assert line["password"] == line["api_key"] == line["API_SECRET"] == "***"
    assert line["db_url"] == "postgresql://trader:***@db.local:5432/trading"
    assert line["endpoint"] == ("https://api.exchange.test/v3/order?symbol=BTCUSDT"
                                "&apiKey=***&signature=***")
    assert line["header"] == "Authorization: Bearer ***"
    assert line["config"]["exchange"] == {"apiKey": "***", "secret": "***", "name": "binance"}
    assert line["symbol"] == "BTCUSDT" and line["token_count"] is None
    assert nested["exchange"]["secret"] == "s3cr3t"          # the caller's dict is untouched


def test_redaction_processor_alone() -> None:
    event = {"event": "login to https://u:p@host/x", "user": "bob", "passwd": 1234}
    out = redact_secrets(None, "info", event)
    assert out == {"event": "login to https://u:***@host/x", "user": "bob", "passwd": "***"}


def test_decision_logger_writes_one_decision_event() -> None:
    @dataclasses.dataclass(frozen=True)
    class Intent:
        side: str
        quantity: Decimal

    stream = setup_json()
    log = decision_logger("sma_crossover", session="s-1")
    log.decision(instrument="BTCUSDT", inputs={"close": 101.5, "fast": 100.2, "slow": 99.8},
                 intent=Intent("buy", Decimal("0.010")), verdict="approved",
                 order_id="sma-000042")
    log.bind(mode="paper").decision(instrument="BTCUSDT", inputs={}, intent=None,
                                    verdict="denied: max_exposure")
    first, second = json_lines(stream)
    assert first["logger"] == "trading_strategy.decisions" and first["event"] == "decision"
    assert first["strategy"] == "sma_crossover" and first["session"] == "s-1"
    assert first["intent"] == {"side": "buy", "quantity": "0.010"}
    assert first["inputs"]["fast"] == 100.2 and first["order_id"] == "sma-000042"
    assert second["order_id"] is None and second["mode"] == "paper"


@pytest.mark.parametrize(("fmt", "level"), [("xml", "info"), ("json", "loud")])
def test_bad_settings_are_config_errors(fmt: Any, level: str) -> None:
    with pytest.raises(ConfigError):
        configure_logging(fmt, level, stream=io.StringIO())


def test_reconfiguring_replaces_the_stdlib_handler() -> None:
    setup_json()
    stream = setup_json()
    logging.getLogger("lib").warning("once")
    assert len(json_lines(stream)) == 1


def test_decision_logs_show_readable_utc_times() -> None:
    """Issue 8 item 10: decision logs printed nanosecond epochs."""
    stream = setup_json()
    inputs = {"bar_ts": 1_362_096_000_000_000_000, "close": 801.2, "position": 50}
    # the runtime's decision event, as runtime/runner.py logs it
    structlog.get_logger("trading_strategy.decisions").info(
        "decision", strategy="sma", instrument="GOOG", inputs=inputs,
        intent={"side": "buy", "lots": 50}, verdict="accepted",
        ts_event=1_796_038_553_398_720_525, latency_ns=250_000, ts_ns=None)
    (line,) = json_lines(stream)
    assert line["inputs"]["bar_ts"] == "2013-03-01T00:00:00Z"
    assert line["ts_event"] == "2026-11-30T11:35:53.398720525Z"     # exact nanoseconds
    assert line["latency_ns"] == 250_000 and line["inputs"]["position"] == 50
    assert line["ts_ns"] is None
    assert inputs["bar_ts"] == 1_362_096_000_000_000_000            # caller's dict untouched


def test_console_logs_show_readable_utc_times() -> None:
    stream = io.StringIO()
    configure_logging("console", "info", stream=stream, cache_loggers=False)
    structlog.get_logger("x").info("runner_timeout", bar_ts=1_362_096_000_500_000_000)
    assert "bar_ts=2013-03-01T00:00:00.5Z" in stream.getvalue()
    assert "1362096000500000000" not in stream.getvalue()


@pytest.mark.parametrize(("ns", "text"), [
    (10**17, "1973-03-03T09:46:40Z"),
    (1_700_000_000_000_000_001, "2023-11-14T22:13:20.000000001Z"),
])
def test_utc_iso_is_exact(ns: int, text: str) -> None:
    assert utc_iso(ns) == text  # expected values from `date -u -d @SECONDS`
