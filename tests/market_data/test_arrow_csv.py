"""The fast CSV path (pyarrow) reads exactly as the strict reader, or hands the file over.

The property tests generate CSV files in the shapes users have (delimiters, headers or none,
ISO, epoch and formatted timestamps, ``--tz``, prices of any precision) with occasional bad
cells, blank lines, quotes and CRLF endings, and compare: the fast path either returns None
or the strict reader's columns bit for bit; and ``load_bars`` gives the same bars, notes and
warnings, or the same one-line error, with the fast path on or off.
"""

from __future__ import annotations

from dataclasses import fields
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from trading_strategy.core.errors import UserError
from trading_strategy.market_data import _arrow_csv, files
from trading_strategy.market_data._arrow_csv import read_csv_fast
from trading_strategy.market_data._columns import _Columns
from trading_strategy.market_data._csv import _read_csv_file
from trading_strategy.market_data.files import LoadResult, load_bars
from trading_strategy.market_data.formats import FileFormat, file_format

_START = 1_704_067_200  # 2024-01-01T00:00:00Z
_BAD_CELLS = ("", "abc", "nan", "nan(1)", "inf", "-1", "1e400", "0x10", " 1.5", "1_0",
              '"1.5"', "1,5", "1.5.5", "+2", "١")


def _same_array(a: Any, b: Any) -> bool:
    return bool(a.dtype == b.dtype and a.shape == b.shape
                and np.array_equal(a.view(np.uint8), b.view(np.uint8)))


def _assert_same_columns(fast: _Columns, strict: _Columns) -> None:
    for name in ("ts", "open", "high", "low", "close", "volume", "lines"):
        assert _same_array(getattr(fast, name), getattr(strict, name)), name
    assert fast.adjusted.keys() == strict.adjusted.keys()
    for role in fast.adjusted:
        assert _same_array(fast.adjusted[role], strict.adjusted[role]), role
    assert (fast.header, fast.notes) == (strict.header, strict.notes)


def _load(path: Path, fmt: FileFormat | None, *, fast: bool,
          monkeypatch: pytest.MonkeyPatch) -> LoadResult | str:
    with monkeypatch.context() as patch:
        if not fast:
            patch.setattr(files, "read_csv_fast", lambda *args: None)
        try:
            return load_bars(path, fmt=fmt, symbol="X")
        except UserError as exc:
            return f"{type(exc).__name__}: {exc}"


def _assert_same_load(path: Path, fmt: FileFormat | None,
                      monkeypatch: pytest.MonkeyPatch) -> None:
    fast = _load(path, fmt, fast=True, monkeypatch=monkeypatch)
    strict = _load(path, fmt, fast=False, monkeypatch=monkeypatch)
    if isinstance(strict, str) or isinstance(fast, str):
        assert fast == strict
        return
    assert (fast.warnings, fast.format, fast.source) == (strict.warnings, strict.format,
                                                         strict.source)
    assert fast.bars.instrument == strict.bars.instrument
    assert fast.bars.timeframe == strict.bars.timeframe
    for name in ("ts", "open", "high", "low", "close", "volume"):
        assert _same_array(getattr(fast.bars, name), getattr(strict.bars, name)), name


def _compare(path: Path, fmt: FileFormat | None, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Both readers on one file; True when the fast path read it."""
    fast = read_csv_fast(path, str(path), fmt or FileFormat())
    if fast is not None:
        # Whatever the fast path reads, the strict reader reads the same, without error.
        _assert_same_columns(fast, _read_csv_file(path, str(path), fmt))
    _assert_same_load(path, fmt, monkeypatch)
    return fast is not None


# --- generated files -----------------------------------------------------------------

_ROLE_NAMES = ("timestamp", "open", "high", "low", "close", "volume", "Timestamp", "Open",
               "High", "Low", "Close", "Volume")
_SHAPES = ("iso_z", "iso_naive", "iso_offset", "iso_date", "iso_space_frac", "epoch_s",
           "epoch_ms", "dotted", "us_slash", "mt4", "binance", "tz")


def _stamp(shape: str, seconds: int) -> str:
    moment = np.datetime64(seconds, "s")
    text = str(moment)  # 2024-01-01T00:00:00
    if shape == "iso_z":
        return text + "Z"
    if shape in ("iso_naive", "tz"):
        return text
    if shape == "iso_offset":
        return str(np.datetime64(seconds + 7200, "s")) + "+02:00"
    if shape == "iso_date":
        return text[:10]
    if shape == "iso_space_frac":
        return text.replace("T", " ") + ".25"
    if shape == "epoch_s":
        return str(seconds)
    if shape == "epoch_ms":
        return str(seconds * 1000)
    day = text[:10]
    if shape == "dotted":
        return f"{day[8:10]}.{day[5:7]}.{day[:4]}"
    if shape == "us_slash":
        return f"{day[5:7]}/{day[8:10]}/{day[:4]}"
    raise AssertionError(shape)


def _price(draw: Any, decimals: int) -> str:
    ticks = draw(st.integers(1, 10**7))
    text = str(Decimal(ticks).scaleb(-decimals))
    return draw(st.sampled_from((text, text, text, f"{float(text)!r}", f"{float(text):e}")))


@st.composite
def csv_files(draw: Any) -> tuple[str, FileFormat | None]:
    shape = draw(st.sampled_from(_SHAPES))
    rows = draw(st.integers(1, 40))
    daily = shape in ("iso_date", "dotted", "us_slash")
    step = 86_400 if daily else draw(st.sampled_from((60, 3600, 86_400)))
    decimals = draw(st.integers(0, 9))
    delimiter = draw(st.sampled_from((",", ",", ";", "\t")))
    with_volume = draw(st.booleans())
    fmt: FileFormat | None = None
    lines: list[list[str]] = []
    for k in range(rows):
        seconds = _START + k * step
        low = _price(draw, decimals)
        prices = sorted((Decimal(low), Decimal(_price(draw, decimals)),
                         Decimal(_price(draw, decimals))))
        o, c = draw(st.permutations((prices[1], prices[1])))
        cells = [str(o), str(prices[2]), str(prices[0]), str(c)]
        volume = [str(draw(st.integers(0, 10**6)))] if with_volume else []
        if shape == "mt4":
            moment = str(np.datetime64(seconds, "s"))
            lines.append([moment[:10].replace("-", "."), moment[11:16], *cells,
                          *(volume or ["0"])])
        elif shape == "binance":
            lines.append([str(seconds * 1000), *cells, volume[0] if volume else "1",
                          str(seconds * 1000 + 59_999), "1", "2", "3", "4", "0"])
        else:
            lines.append([_stamp(shape, seconds), *cells, *volume])
    if shape == "mt4":
        delimiter = draw(st.sampled_from((",", "\t")))
        fmt = draw(st.sampled_from((None, file_format(preset="mt4"))))
    elif shape == "binance":
        delimiter = ","
        fmt = draw(st.sampled_from((None, file_format(preset="binance"))))
    else:
        header = ["timestamp", "open", "high", "low", "close", *(["volume"] if volume else [])]
        if draw(st.booleans()):
            header = [name.title() for name in header]
        if draw(st.booleans()):  # an ignored column
            header.append(draw(st.sampled_from(("note", "Notiz über", "注"))))
            for line in lines:
                line.append(draw(st.sampled_from(("x", "", "a b", "1e999", "€", "é\r"))))
        lines.insert(0, header)
        if shape == "tz":
            fmt = file_format(tz=draw(st.sampled_from(("Europe/London", "America/New_York"))))
        elif shape == "us_slash":
            fmt = file_format(preset="us-dates")
        elif shape == "dotted" and draw(st.booleans()):
            fmt = file_format(date_format="%d.%m.%Y")
        if fmt is None and draw(st.integers(0, 4)) == 0:  # roles by position, no header
            names = ",".join(name.lower() if name in _ROLE_NAMES else "-"
                             for name in lines.pop(0))
            fmt = file_format(columns=names)
    if delimiter != "," and fmt is None and draw(st.integers(0, 2)) == 0:
        fmt = FileFormat(decimal_comma=draw(st.booleans()))
    if delimiter != "," and draw(st.integers(0, 2)) == 0:  # decimal commas
        for line in lines[1:]:
            line[1:5] = [cell.replace(".", ",") for cell in line[1:5]]
    if draw(st.integers(0, 3)) == 0:  # one bad cell
        line = draw(st.sampled_from(lines[1:] if len(lines) > 1 else lines))
        line[draw(st.integers(0, len(line) - 1))] = draw(st.sampled_from(_BAD_CELLS))
    text_lines = [delimiter.join(line) for line in lines]
    if draw(st.integers(0, 5)) == 0:
        text_lines.insert(draw(st.integers(0, len(text_lines))), "")
    newline = draw(st.sampled_from(("\n", "\n", "\r\n")))
    text = newline.join(text_lines) + draw(st.sampled_from((newline, "", newline * 2)))
    if draw(st.integers(0, 9)) == 0:
        text = "\ufeff" + text
    return text, fmt


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=csv_files(), gz=st.booleans(), head=st.sampled_from((1 << 16, 300, 40)),
       piece=st.sampled_from((1 << 23, 1, 2, 3, 16)))
def test_generated_files_read_alike(case: tuple[str, FileFormat | None], gz: bool,
                                    head: int, piece: int, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import gzip

    text, fmt = case
    path = tmp_path / ("x_1.csv.gz" if gz else "x_1.csv")
    data = text.encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    with monkeypatch.context() as patch:
        # small pieces: line feeds, carriage returns and characters split between pieces
        patch.setattr(_arrow_csv, "_HEAD_BYTES", head)
        patch.setattr(_arrow_csv, "_READ_BYTES", piece)
        _compare(path, fmt, monkeypatch)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cell=st.text(alphabet="0123456789.+-eEnaifNIty_x ,\t", max_size=10))
@example(cell="nan(1)")
@example(cell="0x10")
def test_any_number_cell_reads_alike(cell: str, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "x_1.csv"
    path.write_text(f"timestamp,open,high,low,close,volume\n"
                    f"2024-01-01,10,11,9,10,5\n2024-01-02,10,11,9,{cell},5\n")
    _compare(path, None, monkeypatch)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stamp=st.from_regex(
    r"\A[0-9]{4}-(0[0-9]|1[0-3])-[0-3][0-9]([T ][0-2][0-9]:[0-6][0-9](:[0-6][0-9](\.[0-9]{1,7})?)?"
    r"(Z|[+-][0-2][0-9]:[0-7][0-9])?)?\Z"))
@example(stamp="0001-01-01T00:00+05:00")
@example(stamp="9999-12-31T23:00-05:00")
def test_any_iso_stamp_reads_alike(stamp: str, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "x_1.csv"
    path.write_text(f"timestamp,open,high,low,close\n{stamp},10,11,9,10\n")
    _compare(path, None, monkeypatch)


# --- what the fast path takes, and what it leaves --------------------------------------

_PLAIN = ("timestamp,open,high,low,close,volume\n"
          "2024-01-02T00:00:00Z,10.5,11,9.25,10.75,100\n"
          "2024-01-02T00:01:00Z,10.75,11.5,10,11,200\n")


@pytest.mark.parametrize(("text", "fmt"), [
    (_PLAIN, None),
    (_PLAIN.replace("Z", "+01:00"), None),
    (_PLAIN.replace("Z", ""), file_format(tz="Europe/Berlin")),
    ("Date;Open;High;Low;Close\n02.01.2024;10;11;9;10\n03.01.2024;10;11;9;10\n", None),
    ("1704153600000,10,11,9,10,5,1704153659999,1,2,3,4,0\n"
     "1704153660000,10,11,9,10,5,1704153719999,1,2,3,4,0\n", None),
    ("2024.01.02\t09:30\t1.1\t1.2\t1.0\t1.1\t10\n"
     "2024.01.02\t09:31\t1.1\t1.2\t1.0\t1.1\t10\n", None),
    (_PLAIN.replace("\n", "\r\n"), None),
])
def test_usual_shapes_take_the_fast_path(text: str, fmt: FileFormat | None, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "x_1.csv"
    path.write_bytes(text.encode())
    assert _compare(path, fmt, monkeypatch)


@pytest.mark.parametrize("text", [
    _PLAIN + "\n2024-01-02T00:02:00Z,11,12,10,11,5\n",  # a blank line
    _PLAIN.replace("10.5,", '"10.5",'),  # quotes
    _PLAIN.replace("10.5,", "nan(1),"),  # pyarrow reads NaN, float() refuses
    _PLAIN.replace("10.5,", "1_0.5,"),
    _PLAIN.replace(",100", ",100,7"),  # a ragged row
    _PLAIN.replace("2024-01-02T00:01:00Z", "2024-01-02T00:01:00.1234567Z"),
    "timestamp,open,high,low,close\n0x10,10,11,9,10\n",
    "timestamp,open,high,low,close\n1704153600,10,11,9,10\n0x10,10,11,9,10\n",
])
def test_what_the_fast_path_cannot_judge_goes_to_the_strict_reader(
        text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "x_1.csv"
    path.write_text(text)
    assert read_csv_fast(path, str(path), FileFormat()) is None
    _assert_same_load(path, None, monkeypatch)


@pytest.mark.parametrize("piece", [1 << 23, 1, 3])
def test_text_that_is_not_utf8_goes_to_the_strict_reader(
        piece: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # In a column nobody reads, pyarrow would not look at it; the strict reader refuses it.
    path = tmp_path / "x_1.csv"
    path.write_bytes(b"timestamp,open,high,low,close,note\n2024-01-02,10,11,9,10,x\n"
                     b"2024-01-03,10,11,9,10,\xe2\x82\xac\n2024-01-04,10,11,9,10,\xe2\x82\n")
    monkeypatch.setattr(_arrow_csv, "_HEAD_BYTES", 64)  # the bad bytes are after the head
    monkeypatch.setattr(_arrow_csv, "_READ_BYTES", piece)
    assert read_csv_fast(path, str(path), FileFormat()) is None
    _assert_same_load(path, None, monkeypatch)
    assert "not UTF-8" in str(_load(path, None, fast=True, monkeypatch=monkeypatch))


def test_a_small_file_skips_the_fast_path_unless_pyarrow_is_loaded(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "x_1.csv"
    path.write_text(_PLAIN)
    monkeypatch.setattr(_arrow_csv, "MIN_BYTES", len(_PLAIN) + 1)
    monkeypatch.delitem(__import__("sys").modules, "pyarrow", raising=False)
    assert read_csv_fast(path, str(path), FileFormat()) is None


def test_an_offset_before_year_one_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "x_1.csv"
    path.write_text("timestamp,open,high,low,close\n0001-01-01T00:00+05:00,10,11,9,10\n")
    with pytest.raises(UserError, match=r"x_1.csv:2: bad timestamp .*out of range"):
        load_bars(path)


def test_the_columns_compared_are_all_of_them() -> None:
    # _assert_same_columns must grow with _Columns.
    assert {f.name for f in fields(_Columns)} == {
        "ts", "open", "high", "low", "close", "volume", "lines", "adjusted", "header",
        "notes"}


_FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize(("name", "preset", "fast"), [
    ("binance_BTCUSDT-1h.csv", None, True),
    ("binance_header_ETHUSDT-1d.csv", "binance", True),
    ("mt4_EURUSD60.csv", "mt4", True),
    ("mt4_tab_EURUSD60.csv", None, True),
    ("mt5_EURUSD_H1.csv", "mt5", True),
    ("mt5_EURUSD_Daily.csv", None, True),
    ("us_dates_SPY.csv", "us-dates", True),
    ("us_dates_ambiguous_SPY.csv", None, False),  # refused: day or month first?
    ("yahoo_AAPL.csv", "yahoo", True),
    ("semicolon_DAX.csv", "semicolon", False),  # decimal commas
])
def test_real_world_exports_read_alike(name: str, preset: str | None, fast: bool,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    fmt = file_format(preset=preset) if preset else None
    assert _compare(_FIXTURES / name, fmt, monkeypatch) is fast
