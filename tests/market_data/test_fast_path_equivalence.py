"""The loader's quick paths agree with the plain definitions they replace: price decimals
taken in slices, ISO shapes checked on the text bytes, Arrow columns read as numpy views
(without importing pandas)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pytest

from trading_strategy.market_data import validation
from trading_strategy.market_data._arrow_csv import (
    _ISO,
    _ISO_NAIVE,
    _iso_ns,
    _same_shape,
    _shaped_rows,
)


def _reference_decimals(*columns: np.ndarray, max_decimals: int = 8) -> int:
    """price_decimals as first written: one pass over all the values laid end to end."""
    values = np.concatenate([np.asarray(c, dtype=np.float64) for c in columns])
    values = np.abs(values[np.isfinite(values)])
    if values.size == 0:
        return 0
    start = 0
    if values.size > 4 * validation._DECIMALS_SAMPLE:
        start = validation._decimals_from(
            values[:: values.size // validation._DECIMALS_SAMPLE], 0, max_decimals)
    return validation._decimals_from(values, start, max_decimals)


def test_price_decimals_in_slices_equal_the_whole_pass() -> None:
    rng = np.random.default_rng(7)
    for trial in range(120):
        n = int(rng.integers(0, 150_000))
        digits = int(rng.integers(0, 10))
        columns = [np.round(rng.random(n) * 10.0 ** int(rng.integers(0, 6)), digits)
                   for _ in range(int(rng.integers(1, 5)))]
        if trial % 3 == 0 and n:  # one finer price somewhere past the sample
            columns[-1][int(rng.integers(0, n))] = 1.000000123
        if trial % 5 == 0 and n:
            columns[0][int(rng.integers(0, n))] = np.nan
        if trial % 7 == 0 and n:
            columns[0][int(rng.integers(0, n))] = -np.inf
        assert validation.price_decimals(*columns) == _reference_decimals(*columns), trial


def test_price_decimals_edge_cases() -> None:
    assert validation.price_decimals() == 0
    assert validation.price_decimals(np.array([np.nan, np.inf])) == 0
    assert validation.price_decimals(np.array([1.5, 2.25]), np.array([3.125])) == 3
    assert validation.price_decimals(np.full(300_000, 1 / 3)) == 8


@pytest.mark.parametrize("texts", [
    ["2020-01-01T00:00:00Z", "2020-01-01T00:01:00Z"],
    ["2020-01-01", "2021-12-31"],
    ["2020-01-01 09:30:00.123456", "2020-01-01 09:31:00.000001"],
    ["2020-01-01T09:30:00+02:00", "2020-01-01T09:31:00-05:00"],
    ["2020-01-01T00:00:00Z", "2020-01-01T00:01:0xZ"],
    ["2020-01-01T00:00:00Z", "2020-01-01 00:01:00Z"],
    ["2020-01-01T00:00:00Z", "2020-01-01T00:01:00"],
    ["2020-01-01T00:00", "2020-01-01T00:0１"],
    ["20200101", "20200102"],
    ["2020-01-01T00:00:00.1234567Z", "2020-01-01T00:00:00.1234568Z"],
    ["", ""],
])
def test_same_shape_implies_the_regular_expression(texts: list[str]) -> None:
    column = pa.array(texts)
    for pattern in (_ISO, _ISO_NAIVE):
        by_regex = all(re.fullmatch(pattern.strip("^$"), text) for text in texts)
        if _same_shape(column, pattern):
            assert by_regex
        if _same_shape(column.slice(1), pattern):
            assert re.fullmatch(pattern.strip("^$"), texts[1])


def test_same_shape_of_random_columns() -> None:
    rng = np.random.default_rng(3)
    alphabet = list("0123456789-T:Z .+")
    for _ in range(400):
        base = "2020-01-01T00:00:00Z"
        texts = []
        for _ in range(5):
            chars = list(base)
            for _ in range(int(rng.integers(0, 2))):
                chars[int(rng.integers(0, len(chars)))] = str(rng.choice(alphabet))
            texts.append("".join(chars))
        if _same_shape(pa.array(texts), _ISO):
            assert all(re.fullmatch(_ISO.strip("^$"), t) for t in texts), texts


def test_reading_a_csv_imports_neither_pandas_nor_arrow_compute(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    rows = ["timestamp,open,high,low,close,volume"]
    rows += [f"2020-01-01T{k // 60 % 24:02d}:{k % 60:02d}:00Z,1.5,2,1,1.75,10"
             for k in range(1440)]
    path.write_text("\n".join(rows) + "\n", encoding="ascii")
    code = ("import sys, pathlib, pyarrow\n"
            "from trading_strategy.market_data._arrow_csv import read_csv_fast\n"
            "from trading_strategy.market_data.formats import FileFormat\n"
            f"path = pathlib.Path({str(path)!r})\n"
            "columns = read_csv_fast(path, str(path), FileFormat())\n"
            "assert columns is not None and columns.close[0] == 1.75\n"
            "print('pandas' in sys.modules, 'pyarrow.compute' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "False False"  # neither pandas nor pyarrow's compute


def _cast_ns(texts: list[str]) -> list[int] | None:
    import pyarrow.compute as pc  # type: ignore[import-untyped]

    zoned = texts[0].endswith("Z")
    kind = pa.timestamp("ns", tz="UTC") if zoned else pa.timestamp("ns")
    try:
        return [int(v) for v in pc.cast(pc.cast(pa.array(texts), kind), pa.int64())
                .to_pylist()]
    except pa.ArrowInvalid:
        return None


def test_iso_text_read_from_its_bytes_is_pyarrows_cast() -> None:
    rng = np.random.default_rng(11)
    shapes = ["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%SZ",
              "%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%d %H:%M:%S.%f"]
    for shape in shapes:
        for _ in range(40):
            seconds = rng.integers(-2_000_000_000, 4_000_000_000, size=50)
            texts = [np.datetime64(int(s), "s").astype(object).strftime(shape)
                     for s in seconds]
            if "%f" in shape:  # 1 to 6 fraction digits, alike in one column
                cut = int(rng.integers(1, 7))
                texts = [t[: t.index(".") + 1 + cut] + ("Z" if t.endswith("Z") else "")
                         for t in texts]
            shaped = _shaped_rows(pa.array(texts), _ISO)
            assert shaped is not None, texts[:2]
            quick = _iso_ns(*shaped)
            assert quick is not None
            assert quick.tolist() == _cast_ns(texts), texts[:2]


@pytest.mark.parametrize("texts", [
    ["2021-02-29", "2021-03-01"],  # no such day: the cast decides
    ["2020-01-01T24:00", "2020-01-01T23:00"],
    ["2020-13-01", "2020-12-01"],
    ["2020-01-01T00:00:60", "2020-01-01T00:00:59"],
    ["1600-01-01", "1601-01-01"],
    ["2020-01-01T00:00:00+02:00", "2020-01-01T00:00:00+03:00"],
    ["2020-01-01T00:00:00-02:00", "2020-01-01T00:00:00-03:00"],
])
def test_iso_text_outside_the_quick_path_is_left_to_the_cast(texts: list[str]) -> None:
    shaped = _shaped_rows(pa.array(texts), _ISO)
    assert shaped is None or _iso_ns(*shaped) is None
