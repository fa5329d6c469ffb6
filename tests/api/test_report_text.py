"""The report's equity curve is written in array operations, byte for byte what
``json.dumps`` makes of one dict per bar (the JSON report's contract)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from trading_strategy.backtesting.report import EquityCurve, dumps, format_ts_array
from trading_strategy.core.bars import format_ts
from trading_strategy.core.timeframe import Timeframe

RNG = np.random.default_rng(11)
MINUTE = 60 * 10**9


def _times() -> list[np.ndarray]:
    spread = np.sort(RNG.integers(-2 * 10**18, 4 * 10**18, 3000)).astype(np.int64)
    whole = spread - spread % 10**9
    regular = np.int64(1_577_836_800 * 10**9) + np.arange(3000, dtype=np.int64) * MINUTE
    return [spread, whole, whole - whole % (86_400 * 10**9), regular, np.zeros(0, np.int64)]


@pytest.mark.parametrize("timeframe", ["1m", "1h", "1d", "1w"])
def test_times_are_format_ts_of_each_bar(timeframe: str) -> None:
    tf = Timeframe.parse(timeframe)
    for ts in _times():
        assert format_ts_array(ts, tf).tolist() == [format_ts(int(t), tf) for t in ts]


@pytest.mark.parametrize("decimals", [None, 0, 2, 4, 8])
def test_json_text_is_json_dumps_of_the_points(decimals: int | None) -> None:
    scale = float(10 ** (decimals or 0))
    units = np.concatenate([RNG.integers(-10**16, 10**16, 2000),
                            RNG.integers(-10**6, 10**6, 2000), [0, 1, -1, 10**15 - 1, 10**15]])
    equity = np.concatenate([units / scale, RNG.lognormal(5, 6, 1000),
                             [-0.0, 1e-5, 1e-4, 1e16, 9.999e15, 0.1 + 0.2]])
    ts = np.int64(1_577_836_800 * 10**9) + np.arange(equity.size, dtype=np.int64) * MINUTE
    for tf in ("1m", "1d"):
        curve = EquityCurve(ts, Timeframe.parse(tf), equity, decimals=decimals)
        points = [{"time": format_ts(int(t), Timeframe.parse(tf)), "equity": float(e)}
                  for t, e in zip(ts, equity, strict=True)]
        assert curve.json_text() == json.dumps(points, separators=(",", ":"))
        assert curve == points and curve[3] == points[3] and curve[-2:] == points[-2:]


def test_dumps_places_every_curve_of_a_report() -> None:
    ts = np.int64(1_577_836_800 * 10**9) + np.arange(4, dtype=np.int64) * MINUTE
    a = EquityCurve(ts, Timeframe.parse("1m"), np.array([1.0, 2.5, 3.25, 4.0]), decimals=2)
    b = EquityCurve(ts[:2], Timeframe.parse("1d"), np.array([7.0, 8.0]))
    report = {"x": "\u0000curve0\u0000", "equity_curve": a, "sleeves": [{"equity_curve": b}]}
    expected = json.dumps({"x": "\u0000curve0\u0000", "equity_curve": list(a),
                           "sleeves": [{"equity_curve": list(b)}]},
                          separators=(",", ":")) + "\n"
    assert dumps(report) == expected


def test_a_curve_that_is_not_finite_is_refused() -> None:
    curve = EquityCurve(np.arange(2, dtype=np.int64), None, np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="not JSON compliant"):
        dumps({"equity_curve": curve})


def test_the_text_is_the_same_written_in_slices(monkeypatch: pytest.MonkeyPatch) -> None:
    import trading_strategy.backtesting.report as report

    ts = np.int64(1_577_836_800 * 10**9) + np.arange(1000, dtype=np.int64) * MINUTE
    curve = EquityCurve(ts, Timeframe.parse("1m"), RNG.integers(0, 10**7, 1000) / 100.0,
                        decimals=2)
    whole = curve.json_text()
    monkeypatch.setattr(report, "_JSON_ROWS", 7)
    assert curve.json_text() == whole == json.dumps(list(curve), separators=(",", ":"))


def test_a_report_is_still_plain_json_and_copies() -> None:
    import copy
    import pickle

    ts = np.int64(1_577_836_800 * 10**9) + np.arange(5, dtype=np.int64) * MINUTE
    curve = EquityCurve(ts, Timeframe.parse("1m"), np.array([1.0, 2.5, 3.25, 4.0, 5.0]))
    report = {"equity_curve": curve, "n": 1}
    assert json.dumps(report, separators=(",", ":")) + "\n" == dumps(report)
    assert copy.deepcopy(curve) == curve == pickle.loads(pickle.dumps(curve))
    assert next(reversed(curve)) == curve[4] and curve[1] in curve and len(curve) == 5
