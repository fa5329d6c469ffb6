"""The stream never moves a client past a journal row that may still appear."""

from __future__ import annotations

from trading_strategy.web.services.stream import GAP_WAIT_SECONDS, releasable


def _batch(*seqs: int) -> list[dict[str, int]]:
    return [{"seq": s} for s in seqs]


def test_contiguous_rows_are_all_sent() -> None:
    ready, gap = releasable(_batch(11, 12, 13), 10, None, now=0.0)  # type: ignore[arg-type]
    assert [m["seq"] for m in ready] == [11, 12, 13] and gap is None


def test_a_hole_holds_the_rows_after_it_until_filled() -> None:
    ready, gap = releasable(_batch(11, 13), 10, None, now=5.0)  # type: ignore[arg-type]
    assert [m["seq"] for m in ready] == [11] and gap == 5.0
    # row 12 commits: everything goes, in order
    ready, gap = releasable(_batch(12, 13), 11, gap, now=5.5)  # type: ignore[arg-type]
    assert [m["seq"] for m in ready] == [12, 13] and gap is None


def test_a_hole_that_stays_is_passed_after_the_wait() -> None:
    ready, gap = releasable(_batch(13), 11, None, now=1.0)  # type: ignore[arg-type]
    assert ready == [] and gap == 1.0
    ready, gap = releasable(_batch(13), 11, gap, now=1.0 + GAP_WAIT_SECONDS / 2)  # type: ignore[arg-type]
    assert ready == []
    ready, gap = releasable(_batch(13, 14), 11, gap, now=1.0 + GAP_WAIT_SECONDS)  # type: ignore[arg-type]
    assert [m["seq"] for m in ready] == [13, 14] and gap is None
