"""Portfolio files: nonsense is one clear error line, never a traceback or a silent guess
(issue 9, items 8, 9 and 11)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from trading_strategy.cli import main
from trading_strategy.config import load_portfolio
from trading_strategy.core.errors import ConfigError
from trading_strategy.runtime.portfolio_config import (
    parse_portfolio,
    require_name,
    with_speed,
)


def raw(**sections: dict[str, Any]) -> dict[str, Any]:
    strategy = {"name": "sma_goog", "strategy": "sma_crossover", "symbol": "GOOG",
                "capital": 50000, **sections.pop("strategy", {})}
    return {"strategies": [strategy], **sections}


def error(data: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as info:
        parse_portfolio(data)
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    return message


@pytest.mark.parametrize(("data", "key"), [
    # item 9: silently accepted before
    (raw(session={"speed": float("inf")}), "session.speed"),
    (raw(session={"speed": float("nan")}), "session.speed"),
    (raw(session={"speed": True}), "session.speed"),
    (raw(session={"speed": "fast"}), "session.speed"),
    (raw(session={"speed": 1e300}), "session.speed"),
    (raw(session={"speed": 1e-9}), "session.speed"),  # a bar a few decades
    (raw(strategy={"capital": 1e308}), "strategies.0.capital"),
    (raw(strategy={"capital": 1e-30}), "strategies.0.capital"),
    (raw(strategy={"capital": "50000"}), "strategies.0.capital"),
    (raw(strategy={"capital": True}), "strategies.0.capital"),
    (raw(venue={"slippage_bps": 1e308}), "venue.slippage_bps"),
    (raw(venue={"commission": "0.001"}), "venue.commission"),
    (raw(venue={"commission": float("nan")}), "venue.commission"),
    (raw(venue={"commission": 1}), "venue.commission"),
    (raw(venue={"commission_model": "per-share", "commission": 1}), "venue.commission_model"),
    (raw(venue={"commission_model": "fixed", "commission": 2, "commission_min": 1}),
     "venue.commission_min"),
    (raw(venue={"commission_model": "per-unit", "commission": 0.01, "commission_min": -1}),
     "venue.commission_min"),
    (raw(venue={"commission_model": "fixed", "commission": 1e300}), "venue.commission"),
    (raw(session={"metrics_port": True}), "session.metrics_port"),
    (raw(session={"metrics_port": 8080.5}), "session.metrics_port"),
    (raw(session={"start": "9999-01-01"}), "session.start"),
    (raw(session={"start": "2012-01-01", "end": "2011-01-01"}), "session.end"),
    (raw(session={"start": "2012-01-01", "end": "2012-01-01"}), "session.end"),
    # item 8: tracebacks before
    (raw(session={"start": "2013-02-30"}), "session.start"),
    (raw(session={"start": "garbage"}), "session.start"),
    (raw(session={"end": 20130101}), "session.end"),
    (raw(venue={"latency_ms": 1e20}), "venue.latency_ms"),
    (raw(venue={"latency_ms": 10**20}), "venue.latency_ms"),
    (raw(venue={"url": "http://[::1"}), "venue.url"),
    (raw(venue={"url": "ftp://host"}), "venue.url"),
    (raw(strategy={"timeframe": "1x"}), "strategies.0.timeframe"),
    (raw(strategy={"size": "lots"}), "strategies.0.size"),
    # item 11: names that are not one safe path component
    (raw(session={"name": ".."}), "session.name"),
    (raw(session={"name": "."}), "session.name"),
    (raw(session={"name": "a/b"}), "session.name"),
    (raw(session={"name": ""}), "session.name"),
    (raw(session={"name": "x" * 65}), "session.name"),
    (raw(strategy={"name": ".."}), "strategies.0.name"),
])
def test_nonsense_is_one_error_naming_the_key(data: dict[str, Any], key: str) -> None:
    assert f": {key}: " in error(data) or error(data).startswith(f"portfolio: {key}: ")


@pytest.mark.parametrize("db", ["{folder}", "{text_file}", "/etc/hostname/venue.sqlite3", ""])
def test_an_unusable_venue_database_is_refused_at_load(tmp_path: Path, db: str) -> None:
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not a database\n")
    path = db.format(folder=tmp_path, text_file=text_file)
    assert "venue.db: " in error(raw(venue={"db": path}))


def test_a_usable_venue_database_path_is_accepted(tmp_path: Path) -> None:
    config = parse_portfolio(raw(venue={"db": str(tmp_path / "new" / "venue.sqlite3")}))
    assert config.venue.db is not None


def test_sensible_values_are_kept_exact() -> None:
    config = parse_portfolio(raw(session={"speed": 60, "start": "2010-01-04",
                                          "end": "2011-06-30T12:00:00+02:00"},
                                 venue={"commission": 0.001, "slippage_bps": 2,
                                        "latency_ms": 250}))
    assert str(config.venue.commission) == "0.001"  # no float noise
    assert config.session.start == "2010-01-04"
    assert config.session.end == "2011-06-30T10:00:00"  # UTC
    assert config.strategies[0].capital == 50000


def test_the_venue_names_the_backtests_commission_models() -> None:
    from decimal import Decimal

    from trading_strategy.kernel.costs import (
        FixedCommission,
        PercentCommission,
        PerUnitCommission,
    )

    def costs(**venue: Any) -> object:
        return parse_portfolio(raw(venue=venue)).venue.commission_costs()

    assert costs(commission=0.001) == PercentCommission(Decimal("0.001"))
    assert costs(commission_model="per-unit", commission=0.01, commission_min=1) == \
        PerUnitCommission(Decimal("0.01"), Decimal(1))
    assert costs(commission_model="per-unit", commission=0.01) == \
        PerUnitCommission(Decimal("0.01"), Decimal(0))
    # money, not a rate: 2 per order is a fee, where a percent commission of 2 is refused
    assert costs(commission_model="fixed", commission=2) == FixedCommission(Decimal(2))


def test_toml_dates_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text('[session]\nstart = 2010-01-04\nend = 2011-01-01T00:00:00Z\n'
                    '[[strategies]]\nname = "a"\nstrategy = "sma_crossover"\n'
                    'symbol = "GOOG"\ncapital = 1000\n', encoding="utf-8")
    config = load_portfolio(path)
    assert (config.session.start, config.session.end) == ("2010-01-04", "2011-01-01T00:00:00")


def test_a_non_utf8_byte_is_one_error_with_its_line(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'[session]\nname = "caf\xe9"\n')
    with pytest.raises(ConfigError, match=r"line 2: not UTF-8 \(byte 0xe9\)"):
        load_portfolio(path)
    for command in (["run", "--config", str(path)], ["config", "show", "--config", str(path)]):
        assert main(command) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1


def test_a_session_named_dot_dot_cannot_reach_the_data_folder(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "p.toml"
    path.write_text('[session]\nname = ".."\n[[strategies]]\nname = "a"\n'
                    'strategy = "sma_crossover"\nsymbol = "GOOG"\ncapital = 1000\n',
                    encoding="utf-8")
    assert main(["run", "--config", str(path)]) == 2
    assert "session.name: session name must be" in capsys.readouterr().err


@pytest.mark.parametrize("speed", [float("inf"), float("nan"), -1.0, 1e-9])
def test_a_speed_override_is_checked_like_the_files(speed: float) -> None:
    config = parse_portfolio(raw())
    with pytest.raises(ConfigError, match=r"^--speed: "):
        with_speed(config, speed)
    assert with_speed(config, 60).session.speed == 60


@pytest.mark.parametrize("name", ["..", ".", "../../etc", "a/b", ""])
def test_a_session_name_from_the_command_line_is_one_path_component(name: str) -> None:
    with pytest.raises(ConfigError, match="--session must be"):
        require_name(name)
    assert require_name("demo.2") == "demo.2"


def test_names_that_would_overflow_an_order_id_are_refused() -> None:
    from trading_strategy.runtime.portfolio_config import MAX_NAMES_IN_ORDER_ID, parse_portfolio

    def portfolio(session: str, strategy: str) -> dict[str, object]:
        return {"session": {"name": session},
                "strategies": [{"name": strategy, "strategy": "sma_crossover",
                                "symbol": "GOOG", "capital": 1000}]}

    fits = "s" * (MAX_NAMES_IN_ORDER_ID - 10)
    parse_portfolio(portfolio(fits, "a" * 10))
    with pytest.raises(ConfigError, match="at most 41: both go into every order id"):
        parse_portfolio(portfolio(fits, "a" * 11))
    # the longest id a session can make fits the journal's column
    longest = f"{'a' * 10}-{fits}.abcdef-{99_999_999:08d}-99-sl"
    assert len(longest) == 64
